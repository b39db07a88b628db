//! Tests of the generator: the rows it loads, read and checked by the job's own pipeline
//! (`source::read`, `LoadFile::build`, `validate`), pass every rule on SQLite and PostgreSQL,
//! and `--invalid` fails exactly the incidents it broke.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use ferry_job_ises_upload::codes;
use ferry_job_ises_upload::record::{Dtg, Header, LoadFile};
use ferry_job_ises_upload::source;
use ferry_job_ises_upload::validate::{Finding, Rules, validate};
use ferry_job_ises_upload::write::load_file_bytes;
use ferry_sis::Sis;

use super::*;
use crate::{Fill, load as load_database};

/// What the job's pipeline made of a database.
struct Checked {
    incidents: usize,
    removals: usize,
    schools: usize,
    findings: Vec<Finding>,
    lines: usize,
}

/// Reads, builds and validates as the job does (district file, collection YEAR 2008).
fn check(url: &str) -> Checked {
    let mut sis = Sis::connect(url, None).unwrap();
    let mut tx = sis.transaction().unwrap();
    let read = source::read(&mut tx, DISTRICT, source::ALL_SCHOOLS).unwrap();
    tx.rollback().unwrap();
    let (incidents, removals) = (read.incidents.len(), read.removals.len());
    let districts: Vec<_> = read
        .incidents
        .iter()
        .map(|i| (i.incident_key.clone(), DISTRICT.to_owned()))
        .collect();
    let header = Header {
        dtg: Dtg::from_utc(Utc::now()),
        seq_num: 1,
        district_code: DISTRICT.to_owned(),
    };
    let file = LoadFile::build(header, YEAR, &[], read.incidents, read.removals)
        .unwrap()
        .with_source_districts(districts);
    let findings = validate(
        &file,
        &Rules {
            year: YEAR,
            district_code: DISTRICT.to_owned(),
            next_term_start_date: NaiveDate::from_ymd_opt(YEAR, 9, 2),
        },
    );
    let lines = if findings.iter().any(Finding::is_error) {
        0
    } else {
        let bytes = load_file_bytes(&file).unwrap();
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    Checked {
        incidents,
        removals,
        schools: file.schools().len(),
        findings,
        lines,
    }
}

fn generated(incidents: usize, seed: u64, invalid: usize) -> Fill {
    Fill::Generated(Options {
        incidents,
        seed,
        invalid,
    })
}

fn assert_valid(url: &str, incidents: usize) {
    let summary = load_database(url, generated(incidents, 7, 0)).unwrap();
    assert_eq!(summary.incidents, incidents as u64);
    assert!(
        summary.removals >= summary.incidents && summary.removals <= 3 * summary.incidents,
        "{summary:?}"
    );
    let checked = check(url);
    let shown: Vec<_> = checked.findings.iter().take(5).collect();
    assert!(checked.findings.is_empty(), "findings: {shown:#?}");
    assert_eq!(checked.incidents as u64, summary.incidents);
    assert_eq!(checked.removals as u64, summary.removals);
    assert_eq!(checked.schools, SCHOOLS.len());
    // 01, a 02 per school, the 03s and 04s, then the 05,EOF trailer.
    assert_eq!(
        checked.lines,
        1 + checked.schools + checked.incidents + checked.removals + 1
    );
}

#[test]
fn generated_rows_pass_validation_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sis/ises.db", dir.path().display());
    assert_valid(&url, 2_000);
    // Loading again replaces the rows rather than adding to them.
    assert_valid(&url, 500);
}

/// A PostgreSQL schema of the test's own, dropped with the guard.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new(tag: &str) -> Schema {
        let base = std::env::var("FERRY_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("ises_source_{tag}_{}_{nanos}", std::process::id());
        let schema = Schema { base, name };
        schema.batch(&format!("CREATE SCHEMA {}", schema.name));
        schema
    }

    fn batch(&self, sql: &str) {
        let mut sis = Sis::connect(&self.base, None).unwrap();
        let mut tx = sis.transaction().unwrap();
        tx.batch(sql).unwrap();
        tx.commit().unwrap();
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

#[test]
fn generated_rows_pass_validation_on_postgres() {
    let schema = Schema::new("valid");
    assert_valid(&schema.url(), 2_000);
}

#[test]
fn invalid_rows_fail_exactly_the_broken_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ises.db", dir.path().display());
    let summary = load_database(&url, generated(600, 3, 12)).unwrap();
    assert_eq!(summary.invalid_keys.len(), 12);
    let checked = check(&url);
    let failed: BTreeSet<_> = checked
        .findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| f.incident_key.clone())
        .collect();
    let broken: BTreeSet<_> = summary.invalid_keys.iter().cloned().collect();
    assert_eq!(failed, broken);
    let rules: BTreeSet<_> = checked
        .findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| f.rule)
        .collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "B2-DAYS-REMOVED",
            "B2-REMOVAL-BEFORE-INCIDENT",
            "B2-WSN-ID",
            "D2-INCIDENT-TYPE",
            "D5-PRIM-DISAB",
            "D8-REMOVAL-TYPE",
        ])
    );
}

#[test]
fn invalid_rows_also_fail_on_postgres() {
    let schema = Schema::new("invalid");
    let summary = load_database(&schema.url(), generated(300, 5, 6)).unwrap();
    let errors: BTreeSet<_> = check(&schema.url())
        .findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| f.incident_key.clone())
        .collect();
    assert_eq!(errors, summary.invalid_keys.into_iter().collect());
}

#[test]
fn the_same_seed_gives_the_same_rows() {
    let options = Options {
        incidents: 300,
        seed: 42,
        invalid: 4,
    };
    assert_eq!(rows(&options), rows(&options));
    let other = rows(&Options {
        seed: 43,
        ..options
    });
    assert_ne!(rows(&options).incidents, other.incidents);
}

#[test]
fn rows_are_spread_like_a_district() {
    let rows = rows(&Options {
        incidents: 3_000,
        seed: 9,
        invalid: 0,
    });
    let schools: BTreeSet<_> = rows.incidents.iter().map(|i| i.school_code).collect();
    assert_eq!(schools.len(), SCHOOLS.len());
    let students: BTreeSet<_> = rows.incidents.iter().map(|i| &i.wsn_id).collect();
    assert!(
        students.len() < rows.incidents.len(),
        "some students have more than one incident"
    );
    let types: BTreeSet<_> = rows.removals.iter().map(|r| r.removal_type).collect();
    assert_eq!(types.len(), codes::REMOVAL_TYPE.entries.len(), "{types:?}");
    for r in &rows.removals {
        assert_eq!(r.days_removed_current_term * 2.0 % 1.0, 0.0);
        let ex = r.removal_type == "EX";
        assert_eq!(r.expulsion_return_year.is_some(), ex, "{r:?}");
        assert_eq!(r.modified_term.is_some(), ex, "{r:?}");
    }
    // Removals per incident: one to three, two on average.
    let mean = rows.removals.len() as f64 / rows.incidents.len() as f64;
    assert!((1.8..2.2).contains(&mean), "{mean}");
}

#[test]
fn weighted_codes_are_codes_of_their_tables() {
    for (table, weighted) in [
        (&codes::INCIDENT_TYPE, INCIDENT_TYPES),
        (&codes::REMOVAL_TYPE, REMOVAL_TYPES),
        (&codes::PRIMARY_DISABILITY, DISABILITIES),
        (&codes::ENGLISH_PROFICIENCY, ENGLISH_PROFICIENCY),
        (&codes::MODIFIED_TERM, MODIFIED_TERMS),
    ] {
        for (code, _) in weighted {
            assert!(table.is_valid(code), "{code} in {}", table.section);
        }
    }
}

#[test]
fn arguments_parse() {
    let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        crate::parse(&args("sqlite://x.db")).unwrap(),
        ("sqlite://x.db".to_owned(), Fill::Sample)
    );
    assert_eq!(
        crate::parse(&args("sqlite://x.db --incidents 10 --seed 4 --invalid 2")).unwrap(),
        ("sqlite://x.db".to_owned(), generated(10, 4, 2))
    );
    assert!(crate::parse(&args("sqlite://x.db --invalid 2")).is_err());
    assert!(crate::parse(&args("sqlite://x.db --incidents x")).is_err());
    assert!(crate::parse(&args("--incidents 3")).is_err());
}
