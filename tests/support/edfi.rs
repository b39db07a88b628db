//! The Ed-Fi resync's test setting: the Ed-Fi API emulator started on loopback and seeded with
//! what the state already holds for the job's sample district (`fixtures/lookups.json`), and a
//! SIS holding the sample district, with a job configured against both.

use ferry_edfi_emulator::{Config, Emulator, Mode, Request};
use serde_json::Value;

use crate::sis::SisDb;
use crate::{Backend, Sandbox};

const LOOKUPS: &str = include_str!("../../jobs/edfi-resync/fixtures/lookups.json");
const SCHEMA_SQLITE: &str = include_str!("../../jobs/edfi-resync/fixtures/source-sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../jobs/edfi-resync/fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../jobs/edfi-resync/fixtures/sample-data.sql");

/// The resources the job writes, in its write (dependency) order.
pub const WRITE_ORDER: [&str; 10] = [
    "locations",
    "classPeriods",
    "gradingPeriods",
    "sessions",
    "courseOfferings",
    "sections",
    "students",
    "studentSchoolAssociations",
    "studentSectionAssociations",
    "staffSectionAssociations",
];

/// The client the emulator knows.
pub const CLIENT_ID: &str = "ferry-district";
/// Its secret (written to a file the job's config names, never into the config).
pub const CLIENT_SECRET: &str = "s3cret-edfi-Key-9f2";

/// A sandbox with the sample district's SIS and an emulator holding the state's lookups.
#[derive(Debug)]
pub struct EdfiWorld {
    pub sb: Sandbox,
    pub sis: SisDb,
    pub api: Emulator,
    /// The job's settings lines beyond the basics, kept to rewrite the config.
    extra: String,
}

impl EdfiWorld {
    /// The sample district on `backend`, an emulator in `mode` (v2: school year 2026), and job
    /// `edfi` configured against both with `extra` settings lines.
    pub fn new(backend: Backend, mode: Mode, tune: impl FnOnce(&mut Config), extra: &str) -> Self {
        let sb = Sandbox::sqlite();
        let sis = SisDb::new(backend, &sb);
        sis.batch(match backend {
            Backend::Sqlite => SCHEMA_SQLITE,
            Backend::Postgres => SCHEMA_POSTGRES,
        });
        sis.batch(SAMPLE_DATA);
        let mut config = match mode {
            Mode::V3 => Config::v3(),
            Mode::V2 => Config::v2(2026),
        };
        config.client_id = CLIENT_ID.to_owned();
        config.client_secret = CLIENT_SECRET.to_owned();
        tune(&mut config);
        let api = Emulator::start(config).expect("start the Ed-Fi emulator");
        seed_lookups(&api);
        let world = EdfiWorld {
            sb,
            sis,
            api,
            extra: extra.to_owned(),
        };
        world.configure("");
        world
    }

    /// Rewrites the job's config with `more` settings lines added.
    pub fn configure(&self, more: &str) {
        let secret = self.sb.path().join("edfi-secret");
        std::fs::write(&secret, CLIENT_SECRET).expect("secret file");
        let api = match self.api.config().mode {
            Mode::V3 => "v3",
            Mode::V2 => "v2",
        };
        self.sb.config(&format!(
            "[jobs.edfi]\nplugin = \"edfi-resync\"\n\n[jobs.edfi.settings]\n\
             source_database = \"{}\"\napi = \"{api}\"\nschool_year = 2026\nactive_year = 2026\n\
             base_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n{}{more}",
            self.sis.url(),
            self.api.base_url(),
            secret.display(),
            self.extra
        ));
    }

    /// `ferry run edfi ARGS`: exit code, `ferry show --json`, and the output.
    pub fn run(&self, args: &[&str]) -> (Option<i32>, Value, String) {
        let mut all = vec!["run", "edfi"];
        all.extend_from_slice(args);
        let out = self.sb.ferry(&all);
        let id = self.sb.history()[0]["id"].as_i64().expect("run id");
        let show = self.sb.show(id);
        let logs = self.sb.ferry(&["logs", &id.to_string()]);
        (
            out.code(),
            show,
            format!(
                "--- stdout\n{}\n--- stderr\n{}\n--- logs\n{}{}",
                out.stdout(),
                out.stderr(),
                logs.stdout(),
                logs.stderr()
            ),
        )
    }

    /// The journal's writes (POST, PUT, DELETE) to data routes, in order.
    pub fn writes(&self) -> Vec<Request> {
        self.api
            .journal()
            .into_iter()
            .filter(|r| r.method != "GET" && r.resource.is_some() && !r.path.contains("oauth"))
            .collect()
    }
}

/// Seeds the state-owned records and descriptors of the job's `lookups.json`.
pub fn seed_lookups(api: &Emulator) {
    let lookups: Value = serde_json::from_str(LOOKUPS).expect("lookups.json");
    api.seed_state(&lookups);
}
