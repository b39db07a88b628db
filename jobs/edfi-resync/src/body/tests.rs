//! Bodies in both standards against the notes' example shapes, keys and hashes.

use chrono::NaiveDate;
use serde_json::json;

use super::*;
use crate::source::SectionId;
use crate::transform::{ClassPeriod, Plan, Section, SectionAssociation};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

fn options(standard: Standard) -> BodyOptions {
    BodyOptions {
        standard,
        descriptor_namespace: "uri://ed-fi.org".into(),
    }
}

fn plan() -> Plan {
    Plan {
        class_periods: vec![
            ClassPeriod {
                school_id: 1234,
                name: "Main P1 S1".into(),
            },
            ClassPeriod {
                school_id: 1234,
                name: "Main P2 S1".into(),
            },
        ],
        sections: vec![Section {
            id: SectionId {
                school_id: 1234,
                school_year: 2019,
                term_descriptor: "1S".into(),
                local_course_code: "MATH101".into(),
                section_id: "55123".into(),
            },
            session_name: "Main - Term 1".into(),
            sequence_of_course: 1,
            class_periods: vec!["Main P1 S1".into(), "Main P2 S1".into()],
            location: "101".into(),
            medium_of_instruction: Some("4".into()),
            section_name: None,
            begin_date: d(2018, 9, 4),
            end_date: d(2019, 1, 18),
        }],
        staff: vec![SectionAssociation {
            person: "S1".into(),
            section: 0,
            classroom_position: Some("05971".into()),
            begin_date: d(2018, 9, 4),
            end_date: d(2019, 1, 18),
        }],
        ..Plan::default()
    }
}

#[test]
fn v2_bodies_match_the_notes_shapes() {
    let records = build(&plan(), &options(Standard::V2)).expect("builds");
    let sections: Vec<&Record> = records
        .iter()
        .filter(|r| r.resource == Resource::Sections)
        .collect();
    assert_eq!(sections.len(), 2, "one v2 section per class period");
    assert_eq!(
        sections[0].body,
        json!({"classPeriodReference":{"schoolId":1234,"name":"Main P1 S1"},
               "courseOfferingReference":{"localCourseCode":"MATH101","schoolId":1234,"schoolYear":2019,"termDescriptor":"1S"},
               "locationReference":{"schoolId":1234,"classroomIdentificationCode":"101"},
               "schoolReference":{"schoolId":1234},"uniqueSectionCode":"55123","sequenceOfCourse":1,
               "mediumOfInstructionType":"Face-to-face instruction"})
    );
    let staff: Vec<&Record> = records
        .iter()
        .filter(|r| r.resource == Resource::StaffSectionAssociations)
        .collect();
    assert_eq!(staff.len(), 2);
    assert_eq!(
        staff[0].body,
        json!({"sectionReference":{"schoolId":1234,"classPeriodName":"Main P1 S1","classroomIdentificationCode":"101",
                 "localCourseCode":"MATH101","termDescriptor":"1S","schoolYear":2019,"uniqueSectionCode":"55123","sequenceOfCourse":1},
               "staffReference":{"staffUniqueId":"S1"},"classroomPositionDescriptor":"05971",
               "beginDate":"2018-09-04","endDate":"2019-01-18"})
    );
    let cp = records
        .iter()
        .find(|r| r.resource == Resource::ClassPeriods)
        .expect("class period");
    assert_eq!(
        cp.body,
        json!({"schoolReference":{"schoolId":1234},"name":"Main P1 S1"})
    );
}

#[test]
fn ds5_bodies_match_the_notes_shapes() {
    let records = build(&plan(), &options(Standard::Ds5)).expect("builds");
    let section = records
        .iter()
        .find(|r| r.resource == Resource::Sections)
        .expect("section");
    assert_eq!(
        section.body,
        json!({"courseOfferingReference":{"localCourseCode":"MATH101","schoolId":1234,"schoolYear":2019,"sessionName":"Main - Term 1"},
               "locationReference":{"classroomIdentificationCode":"101","schoolId":1234},
               "sectionIdentifier":"55123","sequenceOfCourse":1,
               "mediumOfInstructionDescriptor":"uri://ed-fi.org/MediumOfInstructionDescriptor#Face-to-face instruction",
               "classPeriods":[{"classPeriodReference":{"schoolId":1234,"classPeriodName":"Main P1 S1"}},
                               {"classPeriodReference":{"schoolId":1234,"classPeriodName":"Main P2 S1"}}]})
    );
    let staff = records
        .iter()
        .find(|r| r.resource == Resource::StaffSectionAssociations)
        .expect("staff");
    assert_eq!(
        staff.body["classroomPositionDescriptor"],
        "uri://ed-fi.org/ClassroomPositionDescriptor#05971"
    );
    assert_eq!(staff.natural_key.len(), 7);
    assert_eq!(
        staff.natural_key[6],
        ("beginDate".to_owned(), json!("2018-09-04"))
    );
}

#[test]
fn every_natural_key_field_is_in_the_body_and_keys_are_stable() {
    for standard in [Standard::Ds5, Standard::V2] {
        for r in build(&plan(), &options(standard)).expect("builds") {
            let spec = model::table(standard).spec(r.resource).expect("declared");
            assert_eq!(r.natural_key.len(), spec.natural_key.len());
            for (path, value) in &r.natural_key {
                assert_eq!(model::value_at(&r.body, path), Some(value));
            }
        }
    }
    let r = record(
        Standard::Ds5,
        Resource::ClassPeriods,
        json!({"classPeriodName":"A B","schoolReference":{"schoolId":7}}),
    )
    .expect("record");
    assert_eq!(
        r.key(),
        "schoolReference.schoolId=7|classPeriodName=\"A B\""
    );
    let missing = record(
        Standard::Ds5,
        Resource::ClassPeriods,
        json!({"classPeriodName":"x"}),
    );
    assert_eq!(
        missing,
        Err(EdfiError::MissingKeyField {
            resource: Resource::ClassPeriods,
            field: "schoolReference.schoolId"
        })
    );
}

#[test]
fn the_hash_ignores_key_order_and_sees_every_change() {
    let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
    let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
    assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_eq!(content_hash(&a).len(), 64);
    let c = json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
    assert_ne!(content_hash(&a), content_hash(&c));
    // SHA-256 of "{}".
    assert_eq!(
        content_hash(&json!({})),
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
}

#[test]
fn an_unknown_medium_of_instruction_is_an_error() {
    let mut p = plan();
    p.sections[0].medium_of_instruction = Some("14".into());
    assert!(matches!(
        build(&p, &options(Standard::V2)),
        Err(EdfiError::Malformed {
            column: "medium_of_instruction",
            ..
        })
    ));
    assert_eq!(medium_of_instruction("Televised"), Some("Televised"));
}
