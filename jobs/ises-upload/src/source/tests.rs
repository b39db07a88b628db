//! Reading the shipped fixture and sample data back into records, on a SQLite file and in a
//! PostgreSQL schema alike, and every way a source row is refused.
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema, reaches it through
//! the URL's `options=-c search_path=...`, and drops it when done, passed or failed ([`TestDb`]).

use chrono::{NaiveDate, TimeZone, Utc};
use ferry_sis::Backend;
use ferry_sis::testing::TestDb;

use super::*;
use crate::record::{Dtg, Header, LoadFile};
use crate::test_records::{date, removal};
use crate::write::load_file_bytes;

const SQLITE_SCHEMA: &str = include_str!("../../fixtures/source-sqlite.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");

/// The spec's example Load File, a copy of `SPEC_EXAMPLE_LOAD_FILE` in `write/tests.rs` (private
/// there): Appendix B.2, the example right after Table B-2 (seed
/// `wisconsin-ises-discipline-csv.txt` lines 757–779), with ASCII quotes, without the
/// "example: …" captions and blank lines, and with CR LF line ends. Its header is district 0001;
/// the sample data is district 0130, so only that one field differs (see [`expected_file`]).
const SPEC_EXAMPLE_LOAD_FILE: &str = concat!(
    "\"01\",\"08-10-2008 13:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n",
    "\"02\",\"0002\",\"D\",\"2008\"\r\n",
    "\"03\",\"\",\"2008\",\"1234567890\",\"09/02/2003\",\"04/12/2008\",\"SR\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"\",\"\"\r\n",
    "\"03\",\"\",\"2008\",\"2345678901\",\"02/14/2005\",\"11/02/2007\",\"AE\",\"AL\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"12/04/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"7.0\",\"\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"EX\",\"12/14/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"45.0\",\"\",\"\"\r\n",
    "\"02\",\"0003\",\"D\",\"2008\"\r\n",
    "\"05\",\"EOF\"\r\n",
);

/// The spec's example with the sample data's district in the header.
fn expected_file() -> String {
    let header_end = "\"YED\",\"0001\"\r\n";
    assert!(SPEC_EXAMPLE_LOAD_FILE.contains(header_end));
    SPEC_EXAMPLE_LOAD_FILE.replacen(header_end, "\"YED\",\"0130\"\r\n", 1)
}

/// A fresh database on `backend` created from the fixture and sample data; dropping it removes
/// the SQLite file or the PostgreSQL schema.
fn fixture(backend: Backend) -> TestDb {
    let db = TestDb::new(backend, "ises_source_t");
    let schema = match backend {
        Backend::Sqlite => SQLITE_SCHEMA,
        Backend::Postgres => POSTGRES_SCHEMA,
    };
    db.run(&[schema, SAMPLE_DATA]);
    db
}

/// A fresh fixture database on each backend.
fn both() -> [TestDb; 2] {
    [fixture(Backend::Sqlite), fixture(Backend::Postgres)]
}

/// [`read`] in a transaction of its own on `db`.
fn read_db(db: &TestDb, district: &str, school: &str) -> Result<Source, IsesError> {
    let mut sis = db.connect();
    let mut tx = sis.transaction().expect("begin");
    read(&mut tx, district, school)
}

fn incident(key: &str, wsn: &str, enroll: NaiveDate, at: NaiveDate, types: [&str; 2]) -> Incident {
    let code = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Incident {
        incident_key: key.to_owned(),
        school_code: "0002".to_owned(),
        incident_id: None,
        year_incident: 2008,
        wsn_id: wsn.to_owned(),
        enroll_date: Some(enroll),
        incident_date: Some(at),
        incident_type_primary: code(types[0]),
        incident_type_secondary: code(types[1]),
    }
}

/// The sample data as records, in the order of [`sorted`].
fn sample_records() -> Source {
    Source {
        incidents: vec![
            incident(
                "2008-0002-0001",
                "1234567890",
                date(2003, 9, 2),
                date(2008, 4, 12),
                ["SR", ""],
            ),
            incident(
                "2008-0002-0002",
                "2345678901",
                date(2005, 2, 14),
                date(2007, 11, 2),
                ["AE", "AL"],
            ),
        ],
        removals: vec![
            removal("2008-0002-0001", "OS", date(2008, 4, 13), 4.0),
            removal("2008-0002-0002", "OS", date(2007, 12, 4), 7.0),
            removal("2008-0002-0002", "EX", date(2007, 12, 14), 45.0),
        ],
    }
}

/// Sorted copies, since the read's order is not part of its contract.
fn sorted(mut source: Source) -> Source {
    source
        .incidents
        .sort_by(|a, b| a.incident_key.cmp(&b.incident_key));
    source.removals.sort_by(|a, b| {
        (&a.incident_key, a.removal_start_date).cmp(&(&b.incident_key, b.removal_start_date))
    });
    source
}

/// The Load File the job would write from `source` with the spec example's header and its
/// listed school 0003.
fn load_file_text(source: Source) -> String {
    let header = Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 8, 10, 19, 0, 5)
                .single()
                .expect("valid instant"),
        ),
        seq_num: 1,
        district_code: "0130".to_owned(),
    };
    let file = LoadFile::build(
        header,
        2008,
        &["0003".to_owned()],
        source.incidents,
        source.removals,
    )
    .expect("the sample builds");
    String::from_utf8(load_file_bytes(&file).expect("writes")).expect("ascii")
}

#[test]
fn sample_data_reads_back_as_the_spec_example_records() {
    for db in both() {
        let source = read_db(&db, "0130", ALL_SCHOOLS).expect("reads");
        assert_eq!(sorted(source), sample_records(), "{}", db.backend());
    }
}

#[test]
fn sample_data_rebuilds_the_spec_example_load_file_exactly() {
    for db in both() {
        let source = read_db(&db, "0130", ALL_SCHOOLS).expect("reads");
        assert_eq!(load_file_text(source), expected_file(), "{}", db.backend());
        // The school file of school 0002 holds the same records.
        let source = read_db(&db, "130", "2").expect("reads");
        assert_eq!(load_file_text(source), expected_file(), "{}", db.backend());
    }
}

#[test]
fn one_school_reads_only_its_incidents_and_their_removals() {
    for db in both() {
        db.run(&[
            "INSERT INTO ises_incidents (incident_key, district_code, school_code, \
                  year_incident, wsn_id, incident_date) \
                  VALUES ('S4-1', '130', ' 0004 ', '2008', '3456789012', '2008-01-15'); \
                  INSERT INTO ises_removals (incident_key, removal_id, year_removal_type, \
                  removal_type, removal_start_date, days_removed_current_term) \
                  VALUES ('S4-1', 'R9', '2008', 'IS', '2008-01-16', 2.5)",
        ]);

        let school2 = sorted(read_db(&db, "0130", "0002").expect("reads school 0002"));
        assert_eq!(school2, sample_records(), "{}", db.backend());

        let school4 = read_db(&db, "0130", "4").expect("reads school 0004");
        assert_eq!(school4.incidents.len(), 1, "{}", db.backend());
        let only = &school4.incidents[0];
        assert_eq!(only.incident_key, "S4-1");
        assert_eq!(only.school_code, "0004", "trimmed");
        assert_eq!(only.enroll_date, None);
        assert_eq!(only.incident_date, Some(date(2008, 1, 15)));
        assert_eq!(school4.removals.len(), 1, "{}", db.backend());
        assert_eq!(school4.removals[0].removal_id.as_deref(), Some("R9"));
        assert_eq!(school4.removals[0].days_removed_current_term, 2.5);
        assert_eq!(school4.removals[0].prim_disab, None);

        let none = read_db(&db, "0130", "0005").expect("reads school 0005");
        assert_eq!(none, Source::default(), "{}", db.backend());

        let all = read_db(&db, "0130", ALL_SCHOOLS).expect("reads all");
        assert_eq!(all.incidents.len(), 3, "{}", db.backend());
        assert_eq!(all.removals.len(), 4, "{}", db.backend());
    }
}

#[test]
fn a_row_of_another_district_is_an_error_naming_it() {
    for db in both() {
        db.run(&[
            "INSERT INTO ises_incidents (incident_key, district_code, school_code, \
                  year_incident, wsn_id) VALUES ('X-1', '0131', '0002', '2008', '1')",
        ]);
        for school in [ALL_SCHOOLS, "0002", "0009"] {
            let err = read_db(&db, "0130", school).expect_err("another district");
            assert!(
                matches!(
                    &err,
                    IsesError::OtherDistrict { incident_key, district, expected }
                        if incident_key == "X-1" && district == "0131" && expected == "0130"
                ),
                "{}: {err:?}",
                db.backend()
            );
            let message = err.to_string();
            assert!(
                message.contains("X-1") && message.contains("0131"),
                "{message}"
            );
        }
    }
}

#[test]
fn a_removal_without_its_incident_is_an_error_naming_it() {
    for db in both() {
        db.run(&[
            "INSERT INTO ises_removals (incident_key, removal_id, year_removal_type, \
                  removal_type, removal_start_date, days_removed_current_term) \
                  VALUES ('GONE-7', 'R1', '2008', 'OS', '2008-02-01', 1.0)",
        ]);
        let err = read_db(&db, "0130", ALL_SCHOOLS).expect_err("orphan removal");
        assert!(
            matches!(
                &err,
                IsesError::OrphanRemoval { incident_key, removal_id }
                    if incident_key == "GONE-7" && removal_id.as_deref() == Some("R1")
            ),
            "{}: {err:?}",
            db.backend()
        );
        assert!(err.to_string().contains("GONE-7"));
    }
}

#[test]
fn a_malformed_year_is_an_error_naming_table_key_column_and_value() {
    for db in both() {
        db.run(&[
            "INSERT INTO ises_incidents (incident_key, district_code, school_code, \
                  year_incident, wsn_id) VALUES ('BAD-1', '0130', '0002', '20x8', '1')",
        ]);
        let err = read_db(&db, "0130", ALL_SCHOOLS).expect_err("bad year");
        assert!(
            matches!(
                &err,
                IsesError::Malformed { table: "ises_incidents", key, column: "year_incident", value, .. }
                    if key.contains("BAD-1") && value.contains("20x8")
            ),
            "{}: {err:?}",
            db.backend()
        );
        let message = err.to_string();
        for part in ["ises_incidents", "BAD-1", "year_incident", "20x8"] {
            assert!(message.contains(part), "{message} lacks {part}");
        }
        // Another school's file does not parse that row.
        let school = read_db(&db, "0130", "0003").expect("school 0003 is unaffected");
        assert_eq!(school, Source::default());
    }
}

#[test]
fn days_removed_as_text_are_read_and_malformed_days_named() {
    for db in both() {
        // A district whose mapping hands days removed over as text.
        db.run(&[
            "DROP TABLE ises_removals",
            "CREATE TABLE ises_removals (incident_key TEXT, removal_id TEXT, \
             year_removal_type TEXT, removal_type TEXT, removal_start_date DATE, \
             serious_bodily_injury TEXT, early_reinstate_conditions TEXT, \
             expulsion_return_year TEXT, modified_term TEXT, prim_disab TEXT, \
             eng_prof_code TEXT, days_removed_current_term TEXT, services_provided TEXT, \
             return_to_school TEXT)",
            "INSERT INTO ises_removals (incident_key, removal_id, year_removal_type, \
             removal_type, removal_start_date, expulsion_return_year, \
             days_removed_current_term) \
             VALUES ('2008-0002-0001', 'R1', '2008', 'EX', '2008-04-13', ' 2009 ', ' 45.5 ')",
        ]);
        let source = read_db(&db, "0130", ALL_SCHOOLS).expect("reads");
        assert_eq!(source.removals.len(), 1, "{}", db.backend());
        assert_eq!(source.removals[0].days_removed_current_term, 45.5);
        assert_eq!(source.removals[0].expulsion_return_year, Some(2009));

        db.run(&[
            "INSERT INTO ises_removals (incident_key, removal_id, year_removal_type, \
                  removal_type, removal_start_date, days_removed_current_term) \
                  VALUES ('2008-0002-0002', 'R2', '2008', 'OS', '2007-12-04', 'abc')",
        ]);
        let err = read_db(&db, "0130", ALL_SCHOOLS).expect_err("bad days");
        let message = err.to_string();
        for part in [
            "ises_removals",
            "2008-0002-0002",
            "R2",
            "days_removed_current_term",
            "abc",
        ] {
            assert!(
                message.contains(part),
                "{}: {message} lacks {part}",
                db.backend()
            );
        }
    }
}

#[test]
fn required_values_and_bad_settings_are_refused() {
    for db in both() {
        db.run(&[
            "INSERT INTO ises_removals (incident_key, removal_id, year_removal_type, \
                  removal_type, removal_start_date, days_removed_current_term) \
                  VALUES ('2008-0002-0001', 'R3', '2008', 'OS', NULL, 1.0)",
        ]);
        let err = read_db(&db, "0130", ALL_SCHOOLS).expect_err("no start date");
        assert!(
            matches!(
                &err,
                IsesError::Malformed { table: "ises_removals", column: "removal_start_date", value, .. }
                    if value == "NULL"
            ),
            "{}: {err:?}",
            db.backend()
        );
        assert!(matches!(
            read_db(&db, "13x", ALL_SCHOOLS),
            Err(IsesError::Setting {
                field: "district_code",
                ..
            })
        ));
        assert!(matches!(
            read_db(&db, "0130", "00002"),
            Err(IsesError::Setting {
                field: "school_code",
                ..
            })
        ));
    }
}
