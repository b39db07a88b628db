//! Reading the shipped schema and sample data on SQLite and in a PostgreSQL schema alike, then
//! building every record for both Data Standards: the expected counts, and every reference and
//! descriptor resolving against the shipped lookups (`fixtures/lookups.json`).
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema, reaches it through
//! the URL's `options=-c search_path=...`, and drops it when done ([`TestDb`]).

use std::collections::{BTreeMap, HashSet};

use ferry_sis::Backend;
use ferry_sis::testing::TestDb;
use serde_json::Value;

use super::*;
use crate::body::{self, BodyOptions, canonical_key};
use crate::model::{self, Resource, Standard};
use crate::transform::{self, Rules};

const SQLITE_SCHEMA: &str = include_str!("../../fixtures/source-sqlite.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");
const LOOKUPS: &str = include_str!("../../fixtures/lookups.json");

/// A fresh database on `backend` holding the shipped schema and sample data; dropping it removes
/// the SQLite file or the PostgreSQL schema.
fn fixture(backend: Backend) -> TestDb {
    let db = TestDb::new(backend, "edfi_source_t");
    let schema = match backend {
        Backend::Sqlite => SQLITE_SCHEMA,
        Backend::Postgres => POSTGRES_SCHEMA,
    };
    db.run(&[schema, SAMPLE_DATA]);
    db
}

fn rules() -> Rules {
    Rules {
        school_year: 2026,
        active_year: 2026,
        exclude_schools: Vec::new(),
        exclude_calendars: Vec::new(),
        course_education_organization_id: 48856,
    }
}

fn counts(records: &[body::Record]) -> BTreeMap<Resource, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.resource).or_insert(0) += 1;
    }
    out
}

/// The keys of every lookup in `fixtures/lookups.json` for `standard`, and its descriptors.
fn lookup_keys(standard: Standard) -> (HashSet<(Resource, String)>, Value) {
    let lookups: Value = serde_json::from_str(LOOKUPS).expect("lookups.json parses");
    let section = if standard == Standard::Ds5 {
        "ds5"
    } else {
        "v2"
    };
    let mut keys = HashSet::new();
    for spec in model::table(standard).lookups {
        let items = lookups[section][spec.resource.name()]
            .as_array()
            .unwrap_or_else(|| panic!("lookups.json has {section}.{}", spec.resource));
        for item in items {
            let record =
                body::record(standard, spec.resource, item.clone()).expect("lookup has its key");
            keys.insert((spec.resource, record.key()));
        }
    }
    (keys, lookups)
}

/// Builds all records and checks that every reference resolves to a record built before it
/// or to a lookup, and every descriptor or type value exists in the lookups.
fn build_and_check(source: &Source, standard: Standard) -> Vec<body::Record> {
    let plan = transform::plan(source, &rules());
    assert_eq!(plan.rejected, [], "{standard:?}: no row is rejected");
    let options = BodyOptions {
        standard,
        descriptor_namespace: "uri://ed-fi.org".into(),
    };
    let records = body::build(&plan, &options).expect("bodies build");
    let (mut known, lookups) = lookup_keys(standard);
    let table = model::table(standard);
    for record in &records {
        let spec = table.spec(record.resource).expect("declared");
        for reference in spec.references {
            let target = table.spec(reference.target).expect("target declared");
            for key in reference.target_keys(&record.body, target.natural_key) {
                let key = key.expect("the reference carries the target's whole key");
                assert!(
                    known.contains(&(reference.target, canonical_key(&key))),
                    "{standard:?} {} {}: {} {} does not resolve",
                    record.resource,
                    record.key(),
                    reference.path,
                    canonical_key(&key)
                );
            }
        }
        check_codes(&record.body, standard, &lookups);
        known.insert((record.resource, record.key()));
    }
    records
}

fn check_codes(value: &Value, standard: Standard, lookups: &Value) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            for v in items {
                check_codes(v, standard, lookups);
            }
        }
        return;
    };
    for (field, v) in map {
        if let Value::String(s) = v {
            let (name, code) = if let Some(rest) = s.strip_prefix("uri://ed-fi.org/") {
                let (name, code) = rest.split_once('#').expect("descriptor URI has #");
                ("descriptors", (name.to_owned(), code.to_owned()))
            } else if standard == Standard::V2 && field.ends_with("Descriptor") {
                let mut n = field.clone();
                if let Some(first) = n.get(..1) {
                    n = first.to_uppercase() + n.get(1..).unwrap_or("");
                }
                let n = n.replace("EntryGradeLevel", "GradeLevel");
                ("descriptors", (n, s.clone()))
            } else if standard == Standard::V2 && field.ends_with("Type") {
                let mut n = field.clone();
                if let Some(first) = n.get(..1) {
                    n = first.to_uppercase() + n.get(1..).unwrap_or("");
                }
                ("types", (n, s.clone()))
            } else {
                continue;
            };
            let list = lookups[name][&code.0]
                .as_array()
                .unwrap_or_else(|| panic!("lookups.json {name}.{} exists", code.0));
            assert!(
                list.iter().any(|c| c == &Value::String(code.1.clone())),
                "{name}.{} has {:?}",
                code.0,
                code.1
            );
        } else {
            check_codes(v, standard, lookups);
        }
    }
}

fn expected(standard: Standard) -> BTreeMap<Resource, usize> {
    let (sections, rosters, staff) = match standard {
        Standard::Ds5 => (8, 46, 8),
        Standard::V2 => (9, 52, 9),
    };
    BTreeMap::from([
        (Resource::Locations, 6),
        (Resource::ClassPeriods, 5),
        (Resource::GradingPeriods, 4),
        (Resource::Sessions, 4),
        (Resource::CourseOfferings, 7),
        (Resource::Sections, sections),
        (Resource::Students, 20),
        (Resource::StudentSchoolAssociations, 20),
        (Resource::StudentSectionAssociations, rosters),
        (Resource::StaffSectionAssociations, staff),
    ])
}

fn check_fixture(db: &TestDb) {
    let source = read_database(db.url(), None).expect("the fixture reads");
    let rows: Vec<usize> = source.counts().iter().map(|(_, n)| *n).collect();
    assert_eq!(
        rows,
        [5, 7, 6, 6, 10, 12, 22, 24, 51, 12],
        "rows per relation"
    );
    for standard in [Standard::Ds5, Standard::V2] {
        let records = build_and_check(&source, standard);
        assert_eq!(counts(&records), expected(standard), "{standard:?}");
    }
    // Read-only: the transaction was rolled back and nothing changed.
    let again = read_database(db.url(), None).expect("reads again");
    assert_eq!(again, source);
}

#[test]
fn sqlite_fixture_reads_and_builds_every_record() {
    check_fixture(&fixture(Backend::Sqlite));
}

#[test]
fn postgres_fixture_reads_and_builds_every_record() {
    check_fixture(&fixture(Backend::Postgres));
}

#[test]
fn both_backends_read_the_same_rows() {
    let a = read_database(fixture(Backend::Sqlite).url(), None).expect("sqlite");
    let b = read_database(fixture(Backend::Postgres).url(), None).expect("postgres");
    assert_eq!(a, b);
}

#[test]
fn bad_values_name_relation_row_column_and_value() {
    for db in [fixture(Backend::Sqlite), fixture(Backend::Postgres)] {
        db.run(&["UPDATE edfi_sessions SET structure_name = '  ' \
                  WHERE term_name = 'Term 2' AND school_id = 255901044"]);
        let err = read_database(db.url(), None).expect_err("blank structure name");
        let text = err.to_string();
        assert!(text.contains("edfi_sessions"), "{text}");
        assert!(text.contains("school_id=255901044"), "{text}");
        assert!(text.contains("structure_name = \"  \""), "{text}");
    }
    let db = fixture(Backend::Sqlite);
    db.run(&[
        "UPDATE edfi_students SET birth_date = '2010-13-45' WHERE student_unique_id = '1000000003'",
    ]);
    let err = read_database(db.url(), None).expect_err("bad date");
    match err {
        EdfiError::Malformed {
            relation,
            key,
            column,
            value,
            ..
        } => {
            assert_eq!((relation, column), (STUDENTS, "birth_date"));
            assert!(key.contains("1000000003"), "{key}");
            assert_eq!(value, "\"2010-13-45\"");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_relation_is_a_sis_error() {
    let db = fixture(Backend::Sqlite);
    db.run(&["DROP TABLE edfi_staff_section_associations"]);
    let err = read_database(db.url(), None).expect_err("missing relation");
    assert!(matches!(err, EdfiError::Sis { .. }), "{err:?}");
    assert!(
        err.to_string().contains("edfi_staff_section_associations"),
        "{err}"
    );
}
