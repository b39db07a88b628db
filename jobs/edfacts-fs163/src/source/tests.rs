//! Reading the shipped fixture and sample data back into units, on a SQLite file and in a
//! PostgreSQL schema alike: the level filter, the units left out, the order, a missing status
//! reported `NO`, the derivation from the ises-upload job's incidents, and every row the reader
//! refuses.
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema and drops it when
//! done ([`TestDb`]).

use ferry_sis::Backend;
use ferry_sis::testing::TestDb;

use super::*;
use crate::derive;

const UNITS_SQLITE: &str = include_str!("../../fixtures/source-sqlite.sql");
const UNITS_POSTGRES: &str = include_str!("../../fixtures/source-postgres.sql");
const INCIDENTS_SQLITE: &str = include_str!("../../../ises-upload/fixtures/source-sqlite.sql");
const INCIDENTS_POSTGRES: &str = include_str!("../../../ises-upload/fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");

/// A fresh database on `backend` with both relations and the sample rows.
fn fixture(backend: Backend) -> TestDb {
    let db = TestDb::new(backend, "fs163_source_t");
    let (units, incidents) = match backend {
        Backend::Sqlite => (UNITS_SQLITE, INCIDENTS_SQLITE),
        Backend::Postgres => (UNITS_POSTGRES, INCIDENTS_POSTGRES),
    };
    db.run(&[units, incidents, SAMPLE_DATA]);
    db
}

fn both() -> [TestDb; 2] {
    [fixture(Backend::Sqlite), fixture(Backend::Postgres)]
}

fn read_db(db: &TestDb, level: Level) -> Result<Source, Fs163Error> {
    let mut sis = db.connect();
    let mut tx = sis.transaction().expect("begin");
    read(&mut tx, level)
}

/// (label, status, explanation, missing) of each unit, in order.
fn summary(source: &Source) -> Vec<(String, String, Option<String>, bool)> {
    source
        .units
        .iter()
        .map(|u| {
            (
                u.unit.label(),
                u.unit.status.clone(),
                u.unit.explanation.clone(),
                u.status_missing,
            )
        })
        .collect()
}

fn row(
    label: &str,
    status: &str,
    explanation: Option<&str>,
    missing: bool,
) -> (String, String, Option<String>, bool) {
    (
        label.to_owned(),
        status.to_owned(),
        explanation.map(str::to_owned),
        missing,
    )
}

#[test]
fn reads_the_lea_level_of_the_sample_in_order() {
    for db in both() {
        let source = read_db(&db, Level::Lea).expect("read");
        assert_eq!(
            summary(&source),
            vec![
                row(
                    "LEA 00606EUPHORIA",
                    "YESWOREP",
                    Some("text for state use"),
                    false
                ),
                row("LEA 00707UTOPIA", "NO", None, false),
                row("LEA 0200", "NO", None, true),
                row("LEA 130", "NO", None, true),
            ],
            "{:?}",
            db.backend()
        );
        assert_eq!(source.not_operational, 1);
        assert_eq!(source.no_students, 1);
        assert_eq!(source.other_level, 7);
        let first = &source.units[0].unit;
        assert_eq!(
            (
                first.state_code.as_str(),
                first.state_agency_number.as_str()
            ),
            ("80", "01")
        );
        assert_eq!(first.school_id, None);
    }
}

#[test]
fn reads_the_school_level_of_the_sample_in_order() {
    for db in both() {
        let source = read_db(&db, Level::Sch).expect("read");
        assert_eq!(
            summary(&source),
            vec![
                row(
                    "school EU000001 of LEA 00606EUPHORIA",
                    "YESWOREP",
                    Some("text for state use"),
                    false
                ),
                row(
                    "school EU000002 of LEA 00606EUPHORIA",
                    "NA",
                    Some("virtual program"),
                    false
                ),
                row(
                    "school EU000701 of LEA 00707UTOPIA",
                    "YESWITHREP",
                    None,
                    false
                ),
                row("school 2 of LEA 130", "NO", None, true),
                row("school 3 of LEA 130", "NO", None, true),
            ],
            "{:?}",
            db.backend()
        );
        assert_eq!(source.not_operational, 1);
        assert_eq!(source.no_students, 1);
        assert_eq!(source.other_level, 6);
    }
}

#[test]
fn derives_from_firearm_incidents_of_the_period_only() {
    for db in both() {
        let mut sis = db.connect();
        let mut tx = sis.transaction().expect("begin");
        let incidents = derive::read_firearm_incidents(&mut tx, 2020).expect("incidents");
        // Only school 0002's HG (secondary type) of 2020: the OF of school 0003 is of 2019.
        assert_eq!(incidents.len(), 1, "{:?}", db.backend());

        let mut schools = read(&mut tx, Level::Sch).expect("read");
        let derived = derive::derive(&mut schools.units, Level::Sch, &incidents);
        assert_eq!(derived, vec![3]);
        assert_eq!(schools.units[3].unit.label(), "school 2 of LEA 130");
        assert_eq!(schools.units[3].unit.status, "YESWITHREP");
        assert_eq!(schools.units[4].unit.status, "NO");

        let mut leas = read(&mut tx, Level::Lea).expect("read");
        let derived = derive::derive(&mut leas.units, Level::Lea, &incidents);
        assert_eq!(derived, vec![3]);
        assert_eq!(leas.units[3].unit.label(), "LEA 130");
        assert_eq!(leas.units[2].unit.status, "NO", "0200 has no incident");

        // For 2018-2019 the OF of school 0003 (primary type) counts, lower case and padded.
        tx.execute(
            "UPDATE ises_incidents SET incident_type_primary = ' of ', school_code = '03' \
             WHERE incident_key = '2019-0003-0001'",
            &[],
        )
        .expect("update");
        let incidents = derive::read_firearm_incidents(&mut tx, 2019).expect("incidents");
        let mut schools = read(&mut tx, Level::Sch).expect("read");
        let derived = derive::derive(&mut schools.units, Level::Sch, &incidents);
        assert_eq!(derived, vec![4]);
        assert_eq!(schools.units[4].unit.label(), "school 3 of LEA 130");
    }
}

#[test]
fn a_missing_incidents_relation_is_an_error_naming_it() {
    let db = TestDb::new(Backend::Sqlite, "fs163_source_t");
    db.run(&[UNITS_SQLITE]);
    let mut sis = db.connect();
    let mut tx = sis.transaction().expect("begin");
    let err = derive::read_firearm_incidents(&mut tx, 2020)
        .expect_err("no relation")
        .to_string();
    assert!(err.contains("ises_incidents"), "{err}");
}

#[test]
fn refuses_rows_it_cannot_interpret_naming_row_and_column() {
    for (update, needles) in [
        (
            "UPDATE edfacts_units SET level = 'STATE' WHERE lea_id = '0200'",
            ["LEA 0200", "level", "STATE"],
        ),
        (
            "UPDATE edfacts_units SET operational = NULL WHERE lea_id = '0200'",
            ["LEA 0200", "operational", "NULL"],
        ),
        (
            "UPDATE edfacts_units SET had_students = 'maybe' WHERE school_id = 'EU000001'",
            [
                "school EU000001 of LEA 00606EUPHORIA",
                "had_students",
                "maybe",
            ],
        ),
    ] {
        // SQLite stores what it is given, so one database shows every kind of bad row.
        let db = TestDb::new(Backend::Sqlite, "fs163_source_t");
        db.run(&[UNITS_SQLITE, INCIDENTS_SQLITE, SAMPLE_DATA, update]);
        let level = if update.contains("school_id") {
            Level::Sch
        } else {
            Level::Lea
        };
        let err = read_db(&db, level).expect_err(update).to_string();
        for needle in needles {
            assert!(err.contains(needle), "{update}: {err}");
        }
    }
}

#[test]
fn passes_values_on_for_validation_and_accepts_text_flags() {
    let db = TestDb::new(Backend::Sqlite, "fs163_source_t");
    db.run(&[
        UNITS_SQLITE,
        INCIDENTS_SQLITE,
        SAMPLE_DATA,
        "UPDATE edfacts_units SET gfsa_status = ' yeswithrep ', explanation = '  ', \
         operational = 'yes', had_students = 't', level = ' lea ' WHERE lea_id = '00707UTOPIA' \
         AND level = 'LEA'",
    ]);
    let source = read_db(&db, Level::Lea).expect("read");
    let utopia = &source.units[1];
    assert_eq!(utopia.unit.lea_id, "00707UTOPIA");
    // Trimmed, but not upper-cased: validation reports a status as the source holds it.
    assert_eq!(utopia.unit.status, "yeswithrep");
    assert!(!utopia.status_missing);
    assert_eq!(utopia.unit.explanation, None);
}

#[test]
fn an_empty_status_is_missing_like_null() {
    let db = TestDb::new(Backend::Sqlite, "fs163_source_t");
    db.run(&[
        UNITS_SQLITE,
        INCIDENTS_SQLITE,
        SAMPLE_DATA,
        "UPDATE edfacts_units SET gfsa_status = '  ' WHERE lea_id = '00707UTOPIA'",
    ]);
    let source = read_db(&db, Level::Lea).expect("read");
    assert_eq!(source.units[1].unit.status, "NO");
    assert!(source.units[1].status_missing);
}
