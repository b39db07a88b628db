//! The `ises` section of `ferry-bench`: the Wisconsin ISES Discipline upload on a district of
//! about a hundred thousand generated incidents (two hundred thousand removals).
//!
//! The job reads two SIS relations, builds the Load File and checks every upload rule before
//! anything leaves the district. Its promise is that all of that costs little more than reading
//! the same rows out of the database at all, so each figure is printed beside that floor, in one
//! run, interleaved:
//!
//! - Generation: `ises-source DATABASE_URL --incidents N` (the real binary), which creates the
//!   relations and bulk-loads generated valid rows, on SQLite and PostgreSQL. Its time is shown,
//!   not compared.
//! - In-process: the job crate's own pipeline (`source::read` in a rolled-back transaction,
//!   `LoadFile::build`, `validate`, `load_file_bytes`), with its split and rows per second,
//!   timed inside `ferry-bench-ises` (a process of its own: two plugin crates cannot be linked
//!   into one binary).
//! - End to end: the whole `ferry run JOB --set validate_only=true` process in a sandbox, whose
//!   recorded table stats must show every generated incident and removal (a run that read
//!   nothing would otherwise look fast).
//! - Reference: `sqlite3 -csv DB "SELECT … JOIN …" > /dev/null` and `psql -c "\copy (SELECT …
//!   JOIN …) TO '/dev/null' CSV"`: the same rows (every removal with its incident) read out as
//!   CSV by the databases' own command-line tools, the floor of any tool that reads them.

use crate::peer::Schema;
use ferry_sis::{Sis, Value};
use ferry_tests::Sandbox;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DISTRICT: &str = "0130";
const YEAR: i32 = 2008;
/// The generator's seed: the same rows every run.
const SEED: u64 = 1;
/// Schools of the generated district (see `ises-source`'s generator).
const SCHOOLS: usize = 12;

/// The PostgreSQL server when `FERRY_TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Every removal with its incident: the rows the Load File is made of, read out in one query.
const JOINED: &str = "SELECT i.incident_key, i.district_code, i.school_code, i.incident_id, \
     i.year_incident, i.wsn_id, i.enroll_date, i.incident_date, i.incident_type_primary, \
     i.incident_type_secondary, r.removal_id, r.year_removal_type, r.removal_type, \
     r.removal_start_date, r.serious_bodily_injury, r.early_reinstate_conditions, \
     r.expulsion_return_year, r.modified_term, r.prim_disab, r.eng_prof_code, \
     r.days_removed_current_term, r.services_provided, r.return_to_school \
     FROM ises_incidents i JOIN ises_removals r ON r.incident_key = i.incident_key";

/// What was generated into one database.
#[derive(Debug, Clone, Copy)]
struct Counts {
    incidents: u64,
    removals: u64,
}

impl Counts {
    fn rows(self) -> u64 {
        self.incidents + self.removals
    }
}

/// The in-process pipeline, split.
#[derive(Debug, Clone, Copy, Default)]
struct Split {
    total: Duration,
    read: Duration,
    build: Duration,
    validate: Duration,
    serialize: Duration,
    bytes: usize,
}

/// One database to run against.
struct Source {
    name: &'static str,
    url: String,
    /// The reference export, one whole process.
    reference: Box<dyn Fn() -> Duration>,
    reference_name: &'static str,
}

/// Runs the section on `incidents` generated incidents.
pub fn ises(incidents: usize) {
    let work = tempfile::tempdir().expect("tempdir");
    let db = work.path().join("ises.db");
    let sqlite_url = format!("sqlite://{}", db.display());
    let mut sources = Vec::new();
    let mut loads = Vec::new();

    eprintln!("ises: generating {incidents} incidents into SQLite…");
    let (load, counts) = generate(&sqlite_url, incidents);
    loads.push(("SQLite", load, counts));
    let export_db = db.clone();
    sources.push(Source {
        name: "SQLite",
        url: sqlite_url,
        reference: Box::new(move || sqlite3_export(&export_db)),
        reference_name: "sqlite3 -csv (join) > /dev/null",
    });

    let base =
        std::env::var("FERRY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let schema = match Sis::connect(&base, None) {
        Ok(_) => Some(Schema::new(&base, "ises")),
        Err(e) => {
            println!("ISES: PostgreSQL skipped, {base} is not reachable ({e})");
            None
        }
    };
    if let Some(schema) = &schema {
        eprintln!("ises: generating {incidents} incidents into PostgreSQL…");
        let (load, counts) = generate(&schema.url, incidents);
        loads.push(("PostgreSQL", load, counts));
        let url = schema.url.clone();
        sources.push(Source {
            name: "PostgreSQL",
            url: schema.url.clone(),
            reference: Box::new(move || psql_export(&url)),
            reference_name: "psql \\copy (join) TO /dev/null CSV",
        });
    }

    let counts = loads[0].2;
    for (name, _, other) in &loads {
        assert_eq!(
            (other.incidents, other.removals),
            (counts.incidents, counts.removals),
            "{name} holds the same generated rows"
        );
    }
    println!(
        "ISES Discipline upload: {} incidents, {} removals, {SCHOOLS} schools (district {DISTRICT}, YEAR {YEAR}, seed {SEED})",
        thousands(counts.incidents),
        thousands(counts.removals)
    );
    println!(
        "\n  Generation: `ises-source URL --incidents {incidents}` (create, bulk load, commit; whole process)"
    );
    for (name, load, counts) in &loads {
        println!(
            "    {:<12} {:>7.2}s  {:>9.0} rows/s",
            name,
            secs(*load),
            counts.rows() as f64 / secs(*load)
        );
    }

    for source in &sources {
        in_process(source, counts, 5);
    }
    for source in &sources {
        end_to_end(source, counts, 3);
    }
}

/// Runs `ises-source URL --incidents N --seed SEED` and counts what it loaded.
fn generate(url: &str, incidents: usize) -> (Duration, Counts) {
    let bin = ferry_tests::target_dir().join("ises-source");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (scripts/bench does)",
        bin.display()
    );
    let started = Instant::now();
    let out = Command::new(&bin)
        .args([
            url,
            "--incidents",
            &incidents.to_string(),
            "--seed",
            &SEED.to_string(),
        ])
        .output()
        .expect("run ises-source");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "ises-source failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = Counts {
        incidents: count(url, "ises_incidents"),
        removals: count(url, "ises_removals"),
    };
    assert_eq!(counts.incidents, incidents as u64, "every incident loaded");
    assert!(
        counts.removals >= counts.incidents,
        "every incident has removals"
    );
    (elapsed, counts)
}

fn count(url: &str, table: &str) -> u64 {
    let mut sis = Sis::connect(url, None).expect("connect");
    let mut tx = sis.transaction().expect("begin");
    let rows = tx
        .query(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
    tx.rollback().expect("rollback");
    rows.first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64)
        .unwrap_or_default()
        .unsigned_abs()
}

/// The job's pipeline in-process, as `job.rs` runs it, in `ferry-bench-ises` (see there why a
/// process of its own): read (rolled back), build, validate, and the Load File's bytes, timed
/// inside that process. Every run must find no error and every row.
fn pipeline(url: &str, counts: Counts) -> Split {
    let bin = ferry_tests::target_dir().join("ferry-bench-ises");
    let out = Command::new(&bin)
        .args([url, DISTRICT, &YEAR.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "ferry-bench-ises failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("ferry-bench-ises prints JSON");
    let n = |field: &str| figures[field].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        (
            n("incidents_read"),
            n("removals_read"),
            n("incidents_written")
        ),
        (counts.incidents, counts.removals, counts.incidents),
        "the pipeline read and wrote every row"
    );
    assert_eq!(
        n("schools"),
        SCHOOLS as u64,
        "every school has its 02 record"
    );
    assert_eq!(
        n("errors"),
        0,
        "generated rows pass validation: {}",
        figures["first_finding"]
    );
    let d = |field: &str| Duration::from_secs_f64(figures[field].as_f64().unwrap_or(f64::NAN));
    Split {
        total: d("total"),
        read: d("read"),
        build: d("build"),
        validate: d("validate"),
        serialize: d("serialize"),
        bytes: n("bytes") as usize,
    }
}

fn in_process(source: &Source, counts: Counts, runs: usize) {
    eprintln!(
        "ises: in-process pipeline on {}, {runs} interleaved runs…",
        source.name
    );
    let (mut ferry, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ferry.push(pipeline(&source.url, counts));
        reference.push((source.reference)());
    }
    let reference = median(reference);
    ferry.sort_by_key(|s| s.total);
    let split = ferry[ferry.len() / 2];
    let rate = |d: Duration| counts.rows() as f64 / secs(d);
    println!(
        "\n  Read + build + validate + serialize in-process, {} (median of {runs}, interleaved)",
        source.name
    );
    println!(
        "    {:<52} {:>8} {:>12} {:>12}",
        "", "wall", "rows/s", "vs reference"
    );
    println!(
        "    {:<52} {:>7.2}s {:>12.0} {:>11.2}x",
        "ferry: source::read + build + validate + bytes",
        secs(split.total),
        rate(split.total),
        secs(split.total) / secs(reference)
    );
    println!(
        "    {:<52} {:>7.2}s {:>12.0} {:>11.2}x",
        format!("reference: {}", source.reference_name),
        secs(reference),
        rate(reference),
        1.0
    );
    println!(
        "    ferry's split: read {:.2}s, build {:.2}s, validate {:.2}s, serialize {:.2}s ({:.1} MiB Load File)",
        secs(split.read),
        secs(split.build),
        secs(split.validate),
        secs(split.serialize),
        split.bytes as f64 / f64::from(1 << 20)
    );
}

/// Rows of one table stat of `ferry show --json`.
fn table_rows(show: &serde_json::Value, table: &str) -> Option<u64> {
    show["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["table"] == table)
        .and_then(|t| t["rows"].as_u64())
}

fn end_to_end(source: &Source, counts: Counts, runs: usize) {
    eprintln!(
        "ises: end to end on {}, {runs} runs of `ferry run`…",
        source.name
    );
    let sb = Sandbox::sqlite();
    let dropbox = sb.path().join("dropbox");
    std::fs::create_dir_all(&dropbox).expect("drop folder");
    sb.config(&format!(
        "[connections.dropbox]\nkind = \"local\"\npath = \"{}\"\n\n\
         [jobs.ises]\nplugin = \"ises-upload\"\ntimeout = \"30m\"\n\n\
         [jobs.ises.settings]\nsource_database = \"{}\"\ndistrict_code = \"{DISTRICT}\"\n\
         school_code = \"0000\"\nyear = {YEAR}\nupload_connection = \"dropbox\"\n",
        dropbox.display(),
        source.url
    ));
    let (mut walls, mut reference) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs {
        let (wall, show) = crate::timed_run(&sb, "ises", &["--set", "validate_only=true"]);
        assert_eq!(
            show["status"], "succeeded",
            "the validate-only run succeeded: {show}"
        );
        let written = (
            table_rows(&show, "schools (02)"),
            table_rows(&show, "incidents (03)"),
            table_rows(&show, "removals (04)"),
        );
        assert_eq!(
            written,
            (
                Some(SCHOOLS as u64),
                Some(counts.incidents),
                Some(counts.removals)
            ),
            "the run's Load File holds every generated school, incident and removal"
        );
        walls.push(wall);
        last = Some(show);
        reference.push((source.reference)());
    }
    let (wall, reference) = (median(walls), median(reference));
    let recorded = last
        .as_ref()
        .and_then(|s| s["duration_seconds"].as_f64())
        .unwrap_or(f64::NAN);
    println!(
        "\n  End to end, {}: `ferry run --set validate_only=true` (whole process, median of {runs})",
        source.name
    );
    println!(
        "    {:<52} {:>8} {:>12} {:>12}",
        "", "wall", "rows/s", "vs reference"
    );
    println!(
        "    {:<52} {:>7.2}s {:>12.0} {:>11.2}x",
        "ferry run (read, build, validate, write the file)",
        secs(wall),
        counts.rows() as f64 / secs(wall),
        secs(wall) / secs(reference)
    );
    println!(
        "    {:<52} {:>7.2}s {:>12.0} {:>11.2}x",
        format!("reference: {}", source.reference_name),
        secs(reference),
        counts.rows() as f64 / secs(reference),
        1.0
    );
    println!("    the last run as recorded: {recorded:.2}s from start to finish");
}

/// `sqlite3 -csv DB "SELECT … JOIN …" > /dev/null`.
fn sqlite3_export(db: &Path) -> Duration {
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg("-csv")
        .arg(db)
        .arg(JOINED)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run sqlite3");
    let elapsed = started.elapsed();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// `psql -c "\copy (SELECT … JOIN …) TO '/dev/null' CSV"`.
fn psql_export(url: &str) -> Duration {
    let started = Instant::now();
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"])
        .arg(format!("\\copy ({JOINED}) TO '/dev/null' CSV"))
        .output()
        .expect("run psql");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
