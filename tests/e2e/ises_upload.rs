//! The ises-upload job through the real binary: the shipped fixture (the spec's own example
//! records) read from a SQLite or PostgreSQL SIS and uploaded to a local drop folder byte for
//! byte, sequence numbers across runs, `validate_only`, a bad row that fails the run with a
//! failure file and a report, and a remote file of the same name that is never overwritten.

use ferry_tests::sis::SisDb;
use ferry_tests::{Backend, Sandbox, file_names, run_files};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const SCHEMA_SQLITE: &str = include_str!("../../jobs/ises-upload/fixtures/source-sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../jobs/ises-upload/fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../jobs/ises-upload/fixtures/sample-data.sql");

/// The spec's example Load File (Appendix B.2, after Table B-2) with ASCII quotes, district
/// 0130 in the header and CR LF line ends; `{DTG}` and `{SEQ}` stand for the run's values.
const EXPECTED: &str = concat!(
    "\"01\",\"{DTG}\",\"{SEQ}\",\"YED\",\"0130\"\r\n",
    "\"02\",\"0002\",\"D\",\"2008\"\r\n",
    "\"03\",\"\",\"2008\",\"1234567890\",\"09/02/2003\",\"04/12/2008\",\"SR\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"\",\"\"\r\n",
    "\"03\",\"\",\"2008\",\"2345678901\",\"02/14/2005\",\"11/02/2007\",\"AE\",\"AL\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"12/04/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"7.0\",\"\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"EX\",\"12/14/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"45.0\",\"\",\"\"\r\n",
    "\"02\",\"0003\",\"D\",\"2008\"\r\n",
    "\"05\",\"EOF\"\r\n",
);

struct Ises {
    sb: Sandbox,
    sis: SisDb,
}

impl Ises {
    fn new(backend: Backend) -> Ises {
        let sb = Sandbox::sqlite();
        let sis = SisDb::new(backend, &sb);
        sis.batch(match backend {
            Backend::Sqlite => SCHEMA_SQLITE,
            Backend::Postgres => SCHEMA_POSTGRES,
        });
        sis.batch(SAMPLE_DATA);
        let drop = sb.path().join("dropbox");
        std::fs::create_dir_all(&drop).expect("drop folder");
        sb.config(&format!(
            "[connections.ises-drop]\nkind = \"local\"\npath = \"{}\"\n\n\
             [jobs.ises]\nplugin = \"ises-upload\"\n\n[jobs.ises.settings]\n\
             source_database = \"{}\"\ndistrict_code = \"0130\"\nschool_code = \"0000\"\n\
             year = 2008\nschools = [\"0003\"]\nupload_connection = \"ises-drop\"\n\
             upload_dir = \"incoming\"\n",
            drop.display(),
            sis.url()
        ));
        Ises { sb, sis }
    }

    fn incoming(&self) -> PathBuf {
        self.sb.path().join("dropbox/incoming")
    }

    /// The names in the upload folder, sorted (none when it does not exist yet).
    fn uploaded(&self) -> Vec<String> {
        file_names(&self.incoming())
    }

    /// `ferry run ises EXTRA`: exit code, `ferry show --json`, and stdout+stderr.
    fn run(&self, extra: &[&str]) -> (Option<i32>, Json, String) {
        let mut args = vec!["run", "ises"];
        args.extend_from_slice(extra);
        let out = self.sb.ferry(&args);
        let id = self.sb.history()[0]["id"].as_i64().expect("run id");
        let show = self.sb.show(id);
        assert_eq!(show["job"], "ises");
        let text = format!("--- stdout\n{}\n--- stderr\n{}", out.stdout(), out.stderr());
        (out.code(), show, text)
    }
}

/// The DTG of a header line, checked against `MM-DD-YYYY HH:MM:SS CST`.
fn dtg_of(first_line: &str) -> (String, chrono::NaiveDateTime) {
    let fields: Vec<&str> = first_line.split(',').collect();
    assert_eq!(fields.len(), 5, "{first_line}");
    let dtg = fields[1].trim_matches('"').to_owned();
    let at = chrono::NaiveDateTime::parse_from_str(&dtg, "%m-%d-%Y %H:%M:%S CST")
        .unwrap_or_else(|e| panic!("DTG {dtg:?} is not MM-DD-YYYY HH:MM:SS CST: {e}"));
    (dtg, at)
}

/// Checks the uploaded file `name` (sequence `seq`) against the spec's example.
fn assert_load_file(path: &Path, name: &str, seq: &str) {
    let bytes = std::fs::read(path).expect("uploaded file");
    let text = String::from_utf8(bytes).expect("ASCII");
    assert!(text.is_ascii());
    let first = text.split("\r\n").next().expect("header");
    let (dtg, at) = dtg_of(first);
    // The DTG is CST (UTC-6 all year) and recent.
    let cst_now = chrono::Utc::now().naive_utc() - chrono::Duration::hours(6);
    assert!(
        (cst_now - at).num_seconds().abs() < 300,
        "DTG {dtg} is not now in CST ({cst_now})"
    );
    let expected = EXPECTED.replace("{DTG}", &dtg).replace("{SEQ}", seq);
    assert_eq!(text, expected);
    assert_eq!(
        name,
        format!("S_0130_0000_{}_IDL_{seq}.csv", at.format("%m%d%Y")),
        "the name's date is the DTG's date"
    );
}

fn uploads_and_numbers(backend: Backend) {
    let t = Ises::new(backend);

    // validate_only first: nothing uploaded, no number used.
    let (code, show, out) = t.run(&["--set", "validate_only=true"]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}");
    assert!(t.uploaded().is_empty(), "{:?}", t.uploaded());

    let (code, show, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}");
    let first = t.uploaded();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].ends_with("_IDL_00001.csv"), "{first:?}");
    assert_load_file(&t.incoming().join(&first[0]), &first[0], "00001");
    let tables: Vec<(String, i64)> = show["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            assert!(t["seconds"].as_f64().is_some(), "{t}");
            (
                t["table"].as_str().expect("table").to_owned(),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            ("schools (02)".to_owned(), 2),
            ("incidents (03)".to_owned(), 2),
            ("removals (04)".to_owned(), 3)
        ]
    );
    let loads = run_files(&show, "load file");
    assert_eq!(loads.len(), 1, "{show}");
    assert_eq!(
        std::fs::read(&loads[0]).expect("local copy"),
        std::fs::read(t.incoming().join(&first[0])).expect("uploaded")
    );

    // A re-submission gets the next number.
    let (code, show, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let second: Vec<String> = t
        .uploaded()
        .into_iter()
        .filter(|n| !first.contains(n))
        .collect();
    assert_eq!(second.len(), 1, "{:?}", t.uploaded());
    assert!(second[0].ends_with("_IDL_00002.csv"), "{second:?}");
    assert_load_file(&t.incoming().join(&second[0]), &second[0], "00002");

    // validate_only after uploads: still no number used, nothing new uploaded.
    let (code, _, out) = t.run(&["--set", "validate_only=true"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(t.uploaded().len(), 2);
    let (code, _, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        t.uploaded().iter().any(|n| n.ends_with("_IDL_00003.csv")),
        "{:?}",
        t.uploaded()
    );
}

#[test]
fn uploads_the_spec_example_and_numbers_each_upload_sqlite() {
    uploads_and_numbers(Backend::Sqlite);
}

#[test]
fn uploads_the_spec_example_and_numbers_each_upload_postgres() {
    uploads_and_numbers(Backend::Postgres);
}

#[test]
fn a_bad_row_fails_the_run_with_a_failure_file_and_report_and_uploads_nothing() {
    let t = Ises::new(Backend::Sqlite);
    t.sis.batch(
        "UPDATE ises_removals SET removal_type = 'ZZ' WHERE incident_key = '2008-0002-0001'",
    );
    let (code, show, out) = t.run(&[]);
    assert_ne!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "failed", "{show}");
    assert!(t.uploaded().is_empty(), "{:?}", t.uploaded());
    let reports = run_files(&show, "report");
    assert_eq!(reports.len(), 2, "{show}");
    let failure = reports
        .iter()
        .find(|p| p.to_string_lossy().contains("_DLF_00001.csv"))
        .unwrap_or_else(|| panic!("no failure file in {reports:?}"));
    let failure_text = std::fs::read_to_string(failure).expect("failure file");
    assert!(failure_text.contains("ERROR"), "{failure_text}");
    assert!(failure_text.contains("D8-REMOVAL-TYPE"), "{failure_text}");
    assert!(
        failure_text.ends_with("\"04\",\"EOF\"\r\n"),
        "{failure_text}"
    );
    let report = reports
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".report.txt"))
        .unwrap_or_else(|| panic!("no report in {reports:?}"));
    let report_text = std::fs::read_to_string(report).expect("report");
    assert!(report_text.contains("D8-REMOVAL-TYPE"), "{report_text}");
    assert!(report_text.contains("ZZ"), "{report_text}");
    assert!(run_files(&show, "load file").is_empty(), "{show}");
    let problems = show["problems"]["first"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p.to_string().contains("D8-REMOVAL-TYPE")),
        "{show}"
    );

    // Fixed: the first upload still gets 00001.
    t.sis
        .batch("UPDATE ises_removals SET removal_type = 'OS' WHERE removal_type = 'ZZ'");
    let (code, show, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let names = t.uploaded();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with("_IDL_00001.csv"), "{names:?}");
}

#[test]
fn an_existing_remote_file_of_the_same_name_is_never_overwritten() {
    let t = Ises::new(Backend::Sqlite);
    std::fs::create_dir_all(t.incoming()).expect("incoming");
    // The names this run can produce (the CST date now, and a minute on, across midnight).
    let now = chrono::Utc::now().naive_utc() - chrono::Duration::hours(6);
    let mut planted = Vec::new();
    for at in [now, now + chrono::Duration::minutes(1)] {
        let name = format!("S_0130_0000_{}_IDL_00001.csv", at.format("%m%d%Y"));
        std::fs::write(t.incoming().join(&name), b"already here").expect("plant");
        planted.push(name);
    }
    let (code, show, out) = t.run(&[]);
    assert_ne!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "failed", "{show}");
    let message = show.to_string();
    assert!(message.contains("already exists"), "{show}\n{out}");
    for name in &planted {
        assert_eq!(
            std::fs::read(t.incoming().join(name)).expect("planted"),
            b"already here"
        );
    }
    // No number was used: once the old file is gone, the upload is 00001.
    for name in &planted {
        let _ = std::fs::remove_file(t.incoming().join(name));
    }
    let (code, show, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let names = t.uploaded();
    assert!(
        names.len() == 1 && names[0].ends_with("_IDL_00001.csv"),
        "{names:?}"
    );
}

#[test]
fn warnings_alone_upload_the_file_and_end_the_run_warning() {
    let t = Ises::new(Backend::Sqlite);
    // An expulsion-only field on an out-of-school suspension: kept, warned about.
    t.sis.batch(
        "UPDATE ises_removals SET services_provided = 'Y' WHERE incident_key = '2008-0002-0001'",
    );
    let (code, show, out) = t.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "warning", "{show}");
    let names = t.uploaded();
    assert!(
        names.len() == 1 && names[0].ends_with("_IDL_00001.csv"),
        "{names:?}"
    );
    let text = std::fs::read_to_string(t.incoming().join(&names[0])).expect("uploaded");
    assert!(
        text.contains("\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"Y\",\"\"\r\n"),
        "{text}"
    );
    let reports = run_files(&show, "report");
    assert_eq!(reports.len(), 1, "only the report, no failure file: {show}");
    let report = std::fs::read_to_string(&reports[0]).expect("report");
    assert!(
        report.contains("WARNING") || report.contains("warning"),
        "{report}"
    );
}
