//! The edfi-resync job through the real binary against the Ed-Fi API emulator: the sample
//! district synced in dependency order, a second run that sends nothing, a delta, the seed's
//! section re-key choreography on a v2 host, token refresh mid-run, retries on 429 and 503,
//! per-record refusals that do not stop the rest, and a full reconcile from the host's own
//! collections.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_edfi_emulator::{Fault, Mode, Request};
use ferry_tests::Backend;
use ferry_tests::edfi::{CLIENT_SECRET, EdfiWorld};
use serde_json::Value;

use ferry_tests::edfi::WRITE_ORDER as ORDER;

fn rank(resource: &str) -> usize {
    ORDER
        .iter()
        .position(|r| *r == resource)
        .unwrap_or_else(|| panic!("{resource} is not in the write set"))
}

fn resource(r: &Request) -> &str {
    r.resource.as_deref().unwrap_or_default()
}

/// Rows of the run's table stats: (table, action) → rows.
fn tables(show: &Value) -> BTreeMap<(String, String), i64> {
    show["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                (
                    t["table"].as_str().expect("table").to_owned(),
                    t["action"].as_str().expect("action").to_owned(),
                ),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect()
}

fn total(show: &Value, action: &str) -> i64 {
    tables(show)
        .iter()
        .filter(|((_, a), _)| a == action)
        .map(|(_, n)| n)
        .sum()
}

fn first_sync(backend: Backend) {
    let w = EdfiWorld::new(backend, Mode::V3, |_| {}, "max_parallel = 4\n");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}\n{out}");

    let writes = w.writes();
    assert!(!writes.is_empty(), "{out}");
    assert!(
        writes.iter().all(|r| r.method == "POST" && r.status == 201),
        "{writes:#?}"
    );
    // Parents before children: the write set's order is never broken.
    for pair in writes.windows(2) {
        assert!(
            rank(resource(&pair[0])) <= rank(resource(&pair[1])),
            "{} after {}",
            resource(&pair[1]),
            resource(&pair[0])
        );
    }
    let posted = i64::try_from(writes.len()).expect("count");
    assert_eq!(total(&show, "inserted"), posted, "{show}");
    let on_host: usize = ORDER.iter().map(|r| w.api.items(r).len()).sum();
    assert_eq!(on_host, writes.len());
    assert!(w.api.max_in_flight() <= 4, "{}", w.api.max_in_flight());
    assert_eq!(w.api.tokens_issued(), 1, "one token for the whole run");
    // The secret is nowhere in what Ferry recorded.
    assert!(!show.to_string().contains(CLIENT_SECRET));
    assert!(!out.contains(CLIENT_SECRET));

    // Nothing changed: nothing is written.
    w.api.clear_journal();
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert!(w.writes().is_empty(), "{:#?}", w.writes());
    assert_eq!(total(&show, "unchanged"), posted, "{show}");
    assert_eq!(total(&show, "inserted") + total(&show, "updated"), 0);
}

#[test]
fn the_sample_district_syncs_in_order_and_a_second_run_sends_nothing_sqlite() {
    first_sync(Backend::Sqlite);
}

#[test]
fn the_sample_district_syncs_in_order_and_a_second_run_sends_nothing_postgres() {
    first_sync(Backend::Postgres);
}

#[test]
fn a_delta_sends_only_what_changed_and_deletes_what_disappeared() {
    let w = EdfiWorld::new(Backend::Sqlite, Mode::V3, |_| {}, "");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    w.api.clear_journal();

    w.sis.batch(
        "UPDATE edfi_students SET first_name = 'Avery' WHERE student_unique_id = '1000000001';
         DELETE FROM edfi_student_section_associations
          WHERE student_unique_id = '1000000002' AND local_course_code = 'ALG1'
            AND term_descriptor = '1st Semester';",
    );
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let writes: Vec<(String, String, u16)> = w
        .writes()
        .iter()
        .map(|r| (r.method.clone(), resource(r).to_owned(), r.status))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "DELETE".to_owned(),
                "studentSectionAssociations".to_owned(),
                204
            ),
            ("POST".to_owned(), "students".to_owned(), 200),
        ],
        "{out}"
    );
    let students = w.api.items("students");
    assert!(
        students
            .iter()
            .any(|s| s["studentUniqueId"] == "1000000001" && s["firstName"] == "Avery")
    );
    let t = tables(&show);
    assert_eq!(t.get(&("students".into(), "updated".into())), Some(&1));
    assert_eq!(
        t.get(&("studentSectionAssociations".into(), "deleted".into())),
        Some(&1)
    );

    // A student gone from the SIS stays on the host (never deleted), and is forgotten.
    w.api.clear_journal();
    w.sis.batch(
        "DELETE FROM edfi_student_section_associations WHERE student_unique_id = '1000000003';
         DELETE FROM edfi_student_school_associations WHERE student_unique_id = '1000000003';
         DELETE FROM edfi_students WHERE student_unique_id = '1000000003';",
    );
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert!(
        w.writes()
            .iter()
            .all(|r| r.method == "DELETE" && resource(r) != "students"),
        "{:#?}",
        w.writes()
    );
    assert!(
        w.api
            .items("students")
            .iter()
            .any(|s| s["studentUniqueId"] == "1000000003")
    );
    assert!(out.contains("never deleted"), "{out}");
}

#[test]
fn a_v2_section_rekey_deletes_children_then_the_section_then_posts_them_back() {
    let w = EdfiWorld::new(Backend::Sqlite, Mode::V2, |_| {}, "max_parallel = 1\n");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert!(
        w.writes().iter().all(|r| r.status == 201),
        "{:#?}",
        w.writes()
    );
    w.api.clear_journal();

    // The room is part of a v2 section's natural key.
    w.sis
        .batch("UPDATE edfi_sections SET room = '102' WHERE local_course_code = 'ALG1';");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let writes = w.writes();
    let steps: Vec<(String, String)> = writes
        .iter()
        .map(|r| (r.method.clone(), resource(r).to_owned()))
        .collect();
    let position = |method: &str, res: &str| {
        steps
            .iter()
            .position(|(m, r)| m == method && r == res)
            .unwrap_or_else(|| panic!("no {method} {res} in {steps:?}"))
    };
    let last = |method: &str, res: &str| {
        steps
            .iter()
            .rposition(|(m, r)| m == method && r == res)
            .unwrap_or_else(|| panic!("no {method} {res} in {steps:?}"))
    };
    // DELETE children → DELETE section → POST section → POST children.
    assert!(last("DELETE", "studentSectionAssociations") < position("DELETE", "sections"));
    assert!(last("DELETE", "staffSectionAssociations") < position("DELETE", "sections"));
    assert!(last("DELETE", "sections") < position("POST", "sections"));
    assert!(last("POST", "sections") < position("POST", "studentSectionAssociations"));
    assert!(
        writes.iter().all(|r| (200..300).contains(&r.status)),
        "{writes:#?}"
    );
    // The host now has only rooms 102 for ALG1.
    let sections = w.api.items("sections");
    let alg: Vec<&Value> = sections
        .iter()
        .filter(|s| s.to_string().contains("ALG1"))
        .collect();
    assert!(!alg.is_empty());
    assert!(
        alg.iter().all(|s| !s.to_string().contains("\"101\"")),
        "{alg:#?}"
    );
}

#[test]
fn a_token_that_expires_mid_run_is_refreshed_and_faults_are_retried() {
    let w = EdfiWorld::new(
        Backend::Sqlite,
        Mode::V3,
        |c| {
            c.token_ttl = Duration::from_secs(1);
            c.request_delay = Duration::from_millis(40);
        },
        "max_parallel = 2\n",
    );
    w.api.set_faults(vec![
        Fault::respond("POST", "students", 503).times(2),
        Fault::respond("POST", "sessions", 429)
            .retry_after(1)
            .times(1),
    ]);
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}\n{out}");
    assert!(
        w.api.tokens_issued() >= 2,
        "tokens: {}",
        w.api.tokens_issued()
    );
    let journal = w.api.journal();
    let statuses = |res: &str| -> Vec<u16> {
        journal
            .iter()
            .filter(|r| r.method == "POST" && r.resource.as_deref() == Some(res))
            .map(|r| r.status)
            .collect()
    };
    assert_eq!(
        statuses("students").iter().filter(|s| **s == 503).count(),
        2
    );
    assert_eq!(statuses("sessions").first(), Some(&429));
    // The 429's Retry-After was waited out before that record was sent again.
    let refused = journal
        .iter()
        .find(|r| r.status == 429)
        .expect("the 429 is in the journal");
    assert!(refused.body.is_some(), "{refused:#?}");
    let again = journal
        .iter()
        .find(|r| r.seq > refused.seq && r.method == "POST" && r.body == refused.body)
        .expect("the refused record was sent again");
    assert!(
        again.start_ms - refused.end_ms >= 900.0,
        "{refused:#?}\n{again:#?}"
    );
    // Every record made it.
    let on_host: usize = ORDER.iter().map(|r| w.api.items(r).len()).sum();
    assert_eq!(i64::try_from(on_host).expect("n"), total(&show, "inserted"));
}

#[test]
fn refused_records_are_reported_one_by_one_and_the_rest_goes_through() {
    let w = EdfiWorld::new(Backend::Sqlite, Mode::V3, |_| {}, "");
    // A first name longer than the host allows (400), and a room in a school the state does
    // not have (refused before sending).
    w.sis.batch(&format!(
        "UPDATE edfi_students SET first_name = '{}' WHERE student_unique_id = '1000000002';
         INSERT INTO edfi_locations (school_id, classroom_identification_code, maximum_number_of_seats)
         VALUES (255909999, 'GYM', 40);",
        "X".repeat(80)
    ));
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "warning", "{show}\n{out}");
    let problems = show["problems"].to_string();
    assert!(problems.contains("Validation (400)"), "{show}");
    assert!(problems.contains("1000000002"), "{show}");
    assert!(
        problems.to_ascii_lowercase().contains("firstname"),
        "{show}"
    );
    assert!(problems.contains("255909999"), "{show}");
    // Its enrolment and rosters were not sent: their student failed.
    assert!(problems.contains("Not sent"), "{show}");
    // Everyone else is on the host.
    let students = w.api.items("students");
    assert!(students.len() > 5);
    assert!(
        students
            .iter()
            .all(|s| s["studentUniqueId"] != "1000000002")
    );
    assert!(w.api.items("studentSchoolAssociations").len() > 5);
    assert!(total(&show, "failed") >= 3, "{show}");
    assert!(
        w.writes().iter().all(|r| r
            .body
            .as_ref()
            .is_none_or(|b| !b.to_string().contains("255909999"))),
        "the room of an unknown school is never sent"
    );

    // Corrected: only the refused student and what hangs on it go now.
    w.sis.batch(
        "UPDATE edfi_students SET first_name = 'Liam' WHERE student_unique_id = '1000000002';",
    );
    w.api.clear_journal();
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let writes = w.writes();
    assert!(
        writes
            .iter()
            .any(|r| resource(r) == "students" && r.status == 201),
        "{writes:#?}"
    );
    assert!(
        writes.iter().all(|r| r.status == 201
            && r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("1000000002"))),
        "{writes:#?}"
    );
}

#[test]
fn full_reconciles_from_the_hosts_collections() {
    let w = EdfiWorld::new(Backend::Sqlite, Mode::V3, |_| {}, "");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    // Forget everything the job knew, and put a room on the host the SIS does not have.
    w.sb.sql("DELETE FROM job_state");
    let mut stray = w.api.items("locations")[0].clone();
    stray["classroomIdentificationCode"] = Value::from("STRAY-9");
    for k in ["id", "_etag", "_lastModifiedDate"] {
        stray.as_object_mut().expect("object").remove(k);
    }
    w.api.seed("locations", vec![stray]);
    w.api.clear_journal();
    let (code, show, out) = w.run(&["--set", "full=true"]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let writes = w.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(
        (writes[0].method.as_str(), resource(&writes[0])),
        ("DELETE", "locations")
    );
    assert!(
        w.api
            .items("locations")
            .iter()
            .all(|l| l["classroomIdentificationCode"] != "STRAY-9")
    );
    // And the state is whole again: a normal run sends nothing.
    w.api.clear_journal();
    let (code, _, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(w.writes().is_empty(), "{:#?}", w.writes());
}

#[test]
fn a_delete_the_host_refuses_is_reported_and_tried_again() {
    let w = EdfiWorld::new(Backend::Sqlite, Mode::V3, |_| {}, "");
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    // Someone else rostered a student into the biology section on the host.
    let mut theirs = w
        .api
        .items("studentSectionAssociations")
        .into_iter()
        .find(|a| a["sectionReference"]["sectionIdentifier"] == "2001")
        .expect("a biology roster");
    theirs["beginDate"] = Value::from("2025-10-01");
    for k in ["id", "_etag", "_lastModifiedDate"] {
        theirs.as_object_mut().expect("object").remove(k);
    }
    w.api.seed("studentSectionAssociations", vec![theirs]);
    // The district drops the section.
    w.sis.batch(
        "DELETE FROM edfi_student_section_associations WHERE section_id = '2001';
         DELETE FROM edfi_staff_section_associations WHERE section_id = '2001';
         DELETE FROM edfi_sections WHERE section_id = '2001';",
    );
    w.api.clear_journal();
    let (code, show, out) = w.run(&[]);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "warning", "{show}\n{out}");
    let problems = show["problems"].to_string();
    assert!(problems.contains("Conflict (409)"), "{show}");
    assert!(problems.contains("DELETE sections"), "{show}");
    let deletes: Vec<(String, u16)> = w
        .writes()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| (resource(r).to_owned(), r.status))
        .collect();
    // Our own rosters and staff assignment went first, then the section was refused.
    assert_eq!(
        deletes.last(),
        Some(&("sections".to_owned(), 409)),
        "{deletes:?}"
    );
    assert!(
        deletes[..deletes.len() - 1].iter().all(|(_, s)| *s == 204),
        "{deletes:?}"
    );

    // The next run tries the section again (it is still on the host), and only that.
    w.api.clear_journal();
    let (_, show, out) = w.run(&[]);
    let writes: Vec<(String, String)> = w
        .writes()
        .iter()
        .map(|r| (r.method.clone(), resource(r).to_owned()))
        .collect();
    assert_eq!(
        writes,
        vec![("DELETE".to_owned(), "sections".to_owned())],
        "{show}\n{out}"
    );
}
