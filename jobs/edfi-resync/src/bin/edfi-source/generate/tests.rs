//! A generated district of 500 students, loaded the way `edfi-source` loads it, on SQLite and in
//! a PostgreSQL schema: the job's own pipeline (`source::read`, `transform::plan`,
//! `body::build`, as `job.rs` runs it) builds every record with no rejected row, the counts the
//! generator promises, every reference resolving to a record built before it or to a lookup the
//! generator emits; and `change` alters exactly the records it reports.
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema, reaches it through
//! the URL's `options=-c search_path=...`, and drops it when done.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use ferry_job_edfi_resync::body::{self, BodyOptions, Record, canonical_key};
use ferry_job_edfi_resync::model::{self, Resource, Standard};
use ferry_job_edfi_resync::transform::{self, Rules};
use ferry_sis::Sis;
use serde_json::Value;

use super::*;

const DATABASE_URL_VAR: &str = "FERRY_TEST_DATABASE_URL";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database holding the contract's relations, empty.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("sis.db").display());
        let db = TestDb {
            url,
            _dir: Some(dir),
            schema: None,
        };
        db.batch(crate::SCHEMA_SQLITE);
        db
    }

    fn postgres() -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let schema = format!(
            "edfi_gen_t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let base = base_url();
        let mut admin = Sis::connect(&base, None)
            .unwrap_or_else(|e| panic!("PostgreSQL generator tests: {e} (set {DATABASE_URL_VAR})"));
        let mut tx = admin.transaction().expect("begin");
        tx.batch(&format!("CREATE SCHEMA {schema}"))
            .expect("create schema");
        tx.commit().expect("commit");
        let sep = if base.contains('?') { '&' } else { '?' };
        let db = TestDb {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            _dir: None,
            schema: Some(schema),
        };
        db.batch(crate::SCHEMA_POSTGRES);
        db
    }

    fn batch(&self, script: &str) {
        let mut sis = Sis::connect(&self.url, None).expect("connect");
        let mut tx = sis.transaction().expect("begin");
        tx.batch(script).expect("script runs");
        tx.commit().expect("commit");
    }

    fn load(&self, options: &Options) -> Summary {
        let mut sis = Sis::connect(&self.url, None).expect("connect");
        let mut tx = sis.transaction().expect("begin");
        let summary = load(&mut tx, options).expect("generated rows load");
        tx.commit().expect("commit");
        summary
    }

    fn change(&self, percent: f64, seed: u64) -> Changes {
        let mut sis = Sis::connect(&self.url, None).expect("connect");
        let mut tx = sis.transaction().expect("begin");
        let changes = change(&mut tx, percent, seed).expect("change");
        tx.commit().expect("commit");
        changes
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

/// The job's settings for the generated district: scope year 2026, nothing excluded.
fn rules() -> Rules {
    Rules {
        school_year: 2026,
        active_year: 2026,
        exclude_schools: Vec::new(),
        exclude_calendars: Vec::new(),
        course_education_organization_id: COURSE_EDORG,
    }
}

/// The job's pipeline as `job.rs` runs it: read, plan (no row rejected), build.
fn build(url: &str, standard: Standard) -> Vec<Record> {
    let source = source::read_database(url, None).expect("the generated district reads");
    let plan = transform::plan(&source, &rules());
    assert!(
        plan.rejected.is_empty(),
        "{standard:?}: no row is rejected, got {} (first: {})",
        plan.rejected.len(),
        plan.rejected[0]
    );
    body::build(
        &plan,
        &BodyOptions {
            standard,
            descriptor_namespace: "uri://ed-fi.org".into(),
        },
    )
    .expect("bodies build")
}

fn counts(records: &[Record]) -> Vec<(Resource, u64)> {
    let mut out: BTreeMap<Resource, u64> = BTreeMap::new();
    for r in records {
        *out.entry(r.resource).or_insert(0) += 1;
    }
    out.into_iter().collect()
}

/// Every reference of every record resolves to a record built before it or to a lookup of
/// `lookups`; every v3 descriptor is one the lookups list.
fn check_references(records: &[Record], standard: Standard, lookups: &Value) {
    let section = if standard == Standard::Ds5 {
        "ds5"
    } else {
        "v2"
    };
    let table = model::table(standard);
    let mut known: HashSet<(Resource, String)> = HashSet::new();
    for spec in table.lookups {
        let items = lookups[section][spec.resource.name()]
            .as_array()
            .unwrap_or_else(|| panic!("lookups have {section}.{}", spec.resource));
        for item in items {
            let record = body::record(standard, spec.resource, item.clone()).expect("lookup key");
            known.insert((spec.resource, record.key()));
        }
    }
    let descriptors: HashMap<String, Vec<Value>> = lookups["descriptors"]
        .as_object()
        .expect("descriptors")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
        .collect();
    for record in records {
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
        if standard == Standard::Ds5 {
            check_descriptors(&record.body, &descriptors);
        }
        known.insert((record.resource, record.key()));
    }
}

fn check_descriptors(value: &Value, descriptors: &HashMap<String, Vec<Value>>) {
    match value {
        Value::String(s) => {
            if let Some(rest) = s.strip_prefix("uri://ed-fi.org/") {
                let (name, code) = rest.split_once('#').expect("descriptor URI has #");
                let codes = descriptors
                    .get(name)
                    .unwrap_or_else(|| panic!("lookups list {name}"));
                assert!(
                    codes.contains(&Value::String(code.to_owned())),
                    "{name} has {code:?}"
                );
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_descriptors(v, descriptors)),
        Value::Object(map) => map.values().for_each(|v| check_descriptors(v, descriptors)),
        _ => {}
    }
}

/// Records keyed by (resource, key) with their content hash.
fn hashes(records: &[Record]) -> HashMap<(Resource, String), String> {
    records
        .iter()
        .map(|r| ((r.resource, r.key()), r.hash()))
        .collect()
}

fn check_district(db: &TestDb) {
    let options = Options {
        students: 500,
        seed: 7,
    };
    let summary = db.load(&options);
    let expected = summary.expected.clone();
    let by_resource: BTreeMap<Resource, u64> = expected.iter().copied().collect();
    assert_eq!(by_resource[&Resource::Students], 500);
    assert_eq!(by_resource[&Resource::StudentSchoolAssociations], 500);
    assert_eq!(by_resource[&Resource::StudentSectionAssociations], 3000);
    // Two schools of 250: ten groups of 25 each, six sections per group.
    assert_eq!(by_resource[&Resource::Sections], 120);
    assert_eq!(by_resource[&Resource::StaffSectionAssociations], 120);
    let rows: BTreeMap<&str, u64> = summary.rows.iter().copied().collect();
    assert_eq!(rows[source::STUDENT_SECTION_ASSOCIATIONS], 3000);
    assert_eq!(rows[source::STUDENTS], 500);

    let mut before = Vec::new();
    for standard in [Standard::Ds5, Standard::V2] {
        let records = build(&db.url, standard);
        assert_eq!(
            counts(&records),
            expected,
            "{standard:?}: records per resource"
        );
        check_references(&records, standard, &summary.lookups);
        before.push(records);
    }

    // The same seed gives the same district.
    let again = TestDb::sqlite();
    again.load(&options);
    let other = build(&again.url, Standard::Ds5);
    assert_eq!(hashes(&other), hashes(&before[0]), "deterministic");

    // 1% renamed: exactly five student records differ, nothing else.
    let changes = db.change(1.0, 3);
    assert_eq!(changes.records, vec![(Resource::Students, 5)]);
    assert_eq!(changes.total(), 5);
    let after = hashes(&build(&db.url, Standard::Ds5));
    let old = hashes(&before[0]);
    assert_eq!(after.len(), old.len(), "no record appears or goes");
    let changed: Vec<&(Resource, String)> = after
        .iter()
        .filter(|(k, h)| old.get(*k) != Some(*h))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed.len(), 5, "{changed:?}");
    assert!(changed.iter().all(|(r, _)| *r == Resource::Students));
}

#[test]
fn sqlite_generated_district_builds_every_record() {
    check_district(&TestDb::sqlite());
}

#[test]
fn postgres_generated_district_builds_every_record() {
    check_district(&TestDb::postgres());
}

#[test]
fn the_sample_district_changes_exactly_what_is_reported() {
    let db = TestDb::sqlite();
    db.batch(crate::SAMPLE_DATA);
    let old = hashes(&build(&db.url, Standard::Ds5));
    let changes = db.change(50.0, 1);
    // 19 of the sample's 22 students are sent under their common names: half is 10.
    assert_eq!(changes.records, vec![(Resource::Students, 10)]);
    let after = hashes(&build(&db.url, Standard::Ds5));
    let changed = after
        .iter()
        .filter(|(k, h)| old.get(*k) != Some(*h))
        .count();
    assert_eq!(changed as u64, changes.total());
}

#[test]
fn the_district_scales_sections_with_students() {
    let d = District::new(&Options {
        students: 50_000,
        seed: 1,
    });
    assert_eq!(d.schools.len(), 50);
    let expected: BTreeMap<Resource, u64> = d.expected().into_iter().collect();
    let rosters = expected[&Resource::StudentSectionAssociations];
    let sections = expected[&Resource::Sections];
    assert_eq!(rosters, 300_000);
    assert!(
        (24..=26).contains(&(rosters / sections)),
        "{rosters}/{sections}"
    );
    let lookups = lookups(&d, &(0..40).map(course).collect::<Vec<_>>());
    assert_eq!(
        lookups["ds5"]["staffs"].as_array().map(Vec::len),
        Some(50 * 40)
    );
}
