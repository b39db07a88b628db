//! Reading the shipped schema and sample data on SQLite and in a PostgreSQL schema alike, then
//! building every record for both Data Standards: the expected counts, and every reference and
//! descriptor resolving against the shipped lookups (`fixtures/lookups.json`).
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema, reaches it through
//! the URL's `options=-c search_path=...`, and drops it when done.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use ferry_sis::{Backend, Sis};
use serde_json::Value;

use super::*;
use crate::body::{self, BodyOptions, canonical_key};
use crate::model::{self, Resource, Standard};
use crate::transform::{self, Rules};

const DATABASE_URL_VAR: &str = "FERRY_TEST_DATABASE_URL";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const SQLITE_SCHEMA: &str = include_str!("../../fixtures/source-sqlite.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");
const LOOKUPS: &str = include_str!("../../fixtures/lookups.json");

struct TestDb {
    url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("sis.db").display());
        let db = TestDb {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            schema: None,
        };
        db.run(&[SQLITE_SCHEMA, SAMPLE_DATA]);
        db
    }

    fn postgres() -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let schema = format!(
            "edfi_source_t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let base = base_url();
        let mut admin = Sis::connect(&base, None)
            .unwrap_or_else(|e| panic!("PostgreSQL source tests: {e} (set {DATABASE_URL_VAR})"));
        let mut tx = admin.transaction().expect("begin");
        tx.batch(&format!("CREATE SCHEMA {schema}"))
            .expect("create schema");
        tx.commit().expect("commit");
        let sep = if base.contains('?') { '&' } else { '?' };
        let db = TestDb {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            backend: Backend::Postgres,
            _dir: None,
            schema: Some(schema),
        };
        db.run(&[POSTGRES_SCHEMA, SAMPLE_DATA]);
        db
    }

    fn run(&self, scripts: &[&str]) {
        let mut sis = Sis::connect(&self.url, None).expect("connect");
        assert_eq!(sis.backend(), self.backend);
        let mut tx = sis.transaction().expect("begin");
        for script in scripts {
            tx.batch(script).expect("script runs");
        }
        tx.commit().expect("commit");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema
            && let Ok(mut admin) = Sis::connect(&base_url(), None)
            && let Ok(mut tx) = admin.transaction()
        {
            let _ = tx.batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            let _ = tx.commit();
        }
    }
}

fn base_url() -> String {
    std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
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
            for value in model::values_at(&record.body, reference.path) {
                let target = table.spec(reference.target).expect("target declared");
                let key: Vec<(String, Value)> = target
                    .natural_key
                    .iter()
                    .map(|path| {
                        let field = reference
                            .keys
                            .iter()
                            .find(|(_, k)| k == path)
                            .map(|(f, _)| *f)
                            .expect("reference covers the key");
                        let v = value.get(field).cloned().unwrap_or(Value::Null);
                        ((*path).to_owned(), v)
                    })
                    .collect();
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
    let source = read_database(&db.url, None).expect("the fixture reads");
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
    let again = read_database(&db.url, None).expect("reads again");
    assert_eq!(again, source);
}

#[test]
fn sqlite_fixture_reads_and_builds_every_record() {
    check_fixture(&TestDb::sqlite());
}

#[test]
fn postgres_fixture_reads_and_builds_every_record() {
    check_fixture(&TestDb::postgres());
}

#[test]
fn both_backends_read_the_same_rows() {
    let a = read_database(&TestDb::sqlite().url, None).expect("sqlite");
    let b = read_database(&TestDb::postgres().url, None).expect("postgres");
    assert_eq!(a, b);
}

#[test]
fn bad_values_name_relation_row_column_and_value() {
    for db in [TestDb::sqlite(), TestDb::postgres()] {
        db.run(&["UPDATE edfi_sessions SET structure_name = '  ' \
                  WHERE term_name = 'Term 2' AND school_id = 255901044"]);
        let err = read_database(&db.url, None).expect_err("blank structure name");
        let text = err.to_string();
        assert!(text.contains("edfi_sessions"), "{text}");
        assert!(text.contains("school_id=255901044"), "{text}");
        assert!(text.contains("structure_name = \"  \""), "{text}");
    }
    let db = TestDb::sqlite();
    db.run(&[
        "UPDATE edfi_students SET birth_date = '2010-13-45' WHERE student_unique_id = '1000000003'",
    ]);
    let err = read_database(&db.url, None).expect_err("bad date");
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
    let db = TestDb::sqlite();
    db.run(&["DROP TABLE edfi_staff_section_associations"]);
    let err = read_database(&db.url, None).expect_err("missing relation");
    assert!(matches!(err, EdfiError::Sis { .. }), "{err:?}");
    assert!(
        err.to_string().contains("edfi_staff_section_associations"),
        "{err}"
    );
}
