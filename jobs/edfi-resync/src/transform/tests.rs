//! The seed's rules one by one, on hand-made rows.

use super::*;
use crate::source::{
    ClassPeriodRow, CourseOfferingRow, GradingPeriodRow, SectionRow, SessionRow, Source,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
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

fn cal(name: &str) -> Calendar {
    Calendar {
        name: Some(name.into()),
        exclude: false,
        summer_school: false,
    }
}

fn class_period(schedule: &str, period: &str, calendar: Calendar) -> ClassPeriodRow {
    ClassPeriodRow {
        school_id: 1,
        school_year: 2026,
        period_schedule: schedule.into(),
        period: period.into(),
        structure_id: "S1".into(),
        calendar,
    }
}

#[test]
fn class_period_name_joins_with_spaces_and_refuses_more_than_20() {
    assert_eq!(
        class_period_name("Main", "P1", "S1", "r").expect("fits"),
        "Main P1 S1"
    );
    assert_eq!(
        class_period_name("Main Schedule", "P10", "S1", "r")
            .expect("exactly 20")
            .len(),
        20
    );
    let err = class_period_name("Block Schedule", "Period 1", "S1", "row").expect_err("too long");
    assert_eq!(
        err,
        EdfiError::ClassPeriodNameTooLong {
            relation: "edfi_class_periods",
            key: "row".into(),
            name: "Block Schedule Period 1 S1".into(),
            length: 26,
        }
    );
}

#[test]
fn a_too_long_class_period_is_rejected_and_the_others_still_go() {
    let source = Source {
        class_periods: vec![
            class_period("Main", "P1", cal("HS")),
            class_period("Block Schedule", "Period 1", cal("HS")),
        ],
        ..Source::default()
    };
    let plan = plan(&source, &rules());
    assert_eq!(plan.class_periods.len(), 1);
    assert_eq!(plan.rejected.len(), 1);
}

#[test]
fn future_scope_years_send_nothing_until_the_active_year_changes() {
    let source = Source {
        class_periods: vec![ClassPeriodRow {
            school_year: 2027,
            ..class_period("Main", "P1", cal("HS"))
        }],
        ..Source::default()
    };
    let future = Rules {
        school_year: 2027,
        ..rules()
    };
    assert!(is_future(&future));
    let p = plan(&source, &future);
    assert!(p.class_periods.is_empty());
    assert_eq!(p.skipped[0].reason, Reason::FutureYear);
    let changed = Rules {
        school_year: 2027,
        active_year: 2027,
        ..rules()
    };
    assert_eq!(plan(&source, &changed).class_periods.len(), 1);
}

#[test]
fn exclusions_school_then_calendar_then_summer_school() {
    let mut r = rules();
    r.exclude_schools = vec![2];
    r.exclude_calendars = vec!["Old".into()];
    assert_eq!(
        calendar_exclusion(&r, 2, &cal("HS")),
        Some(Reason::SchoolExcluded)
    );
    assert_eq!(
        calendar_exclusion(&r, 1, &cal("Old")),
        Some(Reason::CalendarExcluded)
    );
    let flagged = Calendar {
        exclude: true,
        ..cal("HS")
    };
    assert_eq!(
        calendar_exclusion(&r, 1, &flagged),
        Some(Reason::CalendarExcluded)
    );
    let summer = Calendar {
        summer_school: true,
        ..cal("HS")
    };
    assert_eq!(
        calendar_exclusion(&r, 1, &summer),
        Some(Reason::SummerSchool)
    );
    assert_eq!(calendar_exclusion(&r, 1, &cal("HS")), None);
}

fn session(term: &str, structure: &str, begin: NaiveDate, end: NaiveDate) -> SessionRow {
    SessionRow {
        school_id: 1,
        school_year: 2026,
        term_descriptor: term.into(),
        structure_name: structure.into(),
        term_name: "Term 1".into(),
        begin_date: begin,
        end_date: end,
        total_instructional_days: 80,
        calendar: cal("HS"),
    }
}

fn grading_period(begin: NaiveDate, end: NaiveDate) -> GradingPeriodRow {
    GradingPeriodRow {
        school_id: 1,
        school_year: 2026,
        descriptor: "04".into(),
        name: None,
        begin_date: begin,
        end_date: end,
        total_instructional_days: None,
        calendar: cal("HS"),
    }
}

#[test]
fn terms_of_one_descriptor_group_into_one_session_earliest_to_latest() {
    let source = Source {
        grading_periods: vec![grading_period(d(2025, 9, 2), d(2026, 1, 16))],
        sessions: vec![
            session("1S", "Main", d(2025, 9, 2), d(2026, 1, 16)),
            session("1S", "Alt", d(2025, 8, 28), d(2026, 1, 15)),
        ],
        ..Source::default()
    };
    let p = plan(&source, &rules());
    assert_eq!(p.sessions.len(), 1);
    let s = &p.sessions[0];
    assert_eq!((s.begin_date, s.end_date), (d(2025, 8, 28), d(2026, 1, 16)));
    assert_eq!(s.name, "Alt - Term 1");
    assert_eq!(s.grading_periods, [0]);
    assert_eq!(
        p.grading_periods[0].name, "04",
        "name defaults to the descriptor"
    );
}

#[test]
fn a_session_without_grading_periods_is_an_error() {
    let source = Source {
        sessions: vec![session("1S", "Main", d(2025, 9, 2), d(2026, 1, 16))],
        ..Source::default()
    };
    let p = plan(&source, &rules());
    assert!(p.sessions.is_empty());
    assert!(matches!(
        p.rejected[..],
        [EdfiError::SessionWithoutGradingPeriod { .. }]
    ));
}

fn offering(code: &str, state: Option<&str>, inactive: bool) -> CourseOfferingRow {
    CourseOfferingRow {
        school_id: 1,
        school_year: 2026,
        term_descriptor: "1S".into(),
        local_course_code: code.into(),
        local_course_title: None,
        state_course_code: state.map(str::to_owned),
        course_inactive: inactive,
        course_state_exclude: false,
        calendar: cal("HS"),
    }
}

fn section(code: &str, id: &str, room: Option<&str>) -> SectionRow {
    SectionRow {
        school_id: 1,
        school_year: 2026,
        term_descriptor: "1S".into(),
        local_course_code: code.into(),
        section_id: id.into(),
        sequence_of_course: None,
        period_schedule: "Main".into(),
        period: "P1".into(),
        structure_id: "S1".into(),
        room: room.map(str::to_owned),
        medium_of_instruction: None,
        section_name: None,
        calendar: cal("HS"),
    }
}

#[test]
fn courses_sections_unknown_room_and_cascade() {
    let source = Source {
        class_periods: vec![class_period("Main", "P1", cal("HS"))],
        grading_periods: vec![grading_period(d(2025, 9, 2), d(2026, 1, 16))],
        sessions: vec![session("1S", "Main", d(2025, 9, 2), d(2026, 1, 16))],
        course_offerings: vec![
            offering("ALG", Some("02052"), false),
            offering("HIST", Some("04051"), true),
            offering("STUDY", None, false),
        ],
        sections: vec![
            section("ALG", "1", None),
            section("HIST", "2", None),
            section("NOPE", "3", None),
        ],
        ..Source::default()
    };
    let p = plan(&source, &rules());
    assert_eq!(p.course_offerings.len(), 1);
    let reasons: Vec<&Reason> = p.skipped.iter().map(|s| &s.reason).collect();
    assert!(reasons.contains(&&Reason::CourseInactive));
    assert!(reasons.contains(&&Reason::NoStateCourseCode));
    assert!(reasons.contains(&&Reason::ParentNotSent(Resource::CourseOfferings)));
    assert_eq!(p.sections.len(), 1);
    assert_eq!(p.sections[0].location, UNKNOWN_LOCATION);
    assert_eq!(
        p.sections[0].sequence_of_course, 1,
        "NULL sequence reports 1"
    );
    assert_eq!(p.locations.len(), 1, "the unknown location is added");
    assert!(matches!(
        p.rejected[..],
        [EdfiError::MissingParent {
            parent: Resource::CourseOfferings,
            ..
        }]
    ));
}

fn enrollment(id: &str, service: &str) -> source::EnrollmentRow {
    source::EnrollmentRow {
        student_unique_id: id.into(),
        school_id: 1,
        school_year: 2026,
        entry_date: d(2025, 9, 2),
        entry_grade_level: "Ninth grade".into(),
        entry_type: None,
        exit_withdraw_date: None,
        exit_withdraw_type: Some("CCS".into()),
        service_type: service.into(),
        no_show: false,
        state_exclude: false,
        wise_exclude: false,
        calendar: cal("HS"),
    }
}

fn student(id: &str) -> StudentRow {
    StudentRow {
        student_unique_id: id.into(),
        first_name: Some("Al".into()),
        middle_name: Some("B".into()),
        last_surname: Some("Cole".into()),
        generation_code_suffix: None,
        legal_first_name: None,
        legal_middle_name: None,
        legal_last_surname: None,
        legal_generation_code_suffix: None,
        sex: Some("f".into()),
        legal_sex: None,
        birth_date: d(2010, 1, 1),
        hispanic_latino_ethnicity: false,
    }
}

#[test]
fn enrollment_rules_priority_exclusions_and_students() {
    let mut no_show = enrollment("2", "P");
    no_show.no_show = true;
    let source = Source {
        students: vec![student("1"), student("2"), student("3")],
        enrollments: vec![
            enrollment("1", "N"),
            enrollment("1", "P"),
            no_show,
            enrollment("3", "S"),
        ],
        ..Source::default()
    };
    let p = plan(&source, &rules());
    assert_eq!(p.enrollments.len(), 1);
    assert_eq!(
        p.enrollments[0].exit_withdraw_type.as_deref(),
        Some("TC"),
        "CCS → TC"
    );
    assert_eq!(p.students.len(), 1);
    assert_eq!(p.students[0].sex, "Female");
    let reasons: Vec<&Reason> = p.skipped.iter().map(|s| &s.reason).collect();
    for r in [
        Reason::LowerPriorityEnrollment,
        Reason::NoShow,
        Reason::PartialService,
        Reason::NoReportableEnrollment,
    ] {
        assert!(reasons.contains(&&r), "{r:?} in {reasons:?}");
    }
}

#[test]
fn legal_names_first_with_the_seed_fallbacks() {
    let mut s = student("1");
    assert_eq!(
        student_names(&s),
        (
            Some("Al".into()),
            Some("B".into()),
            Some("Cole".into()),
            None
        )
    );
    s.legal_first_name = Some("Alan".into());
    s.legal_last_surname = Some("Coleman".into());
    assert_eq!(
        student_names(&s),
        (Some("Alan".into()), None, Some("Coleman".into()), None),
        "legal names set: a blank legal middle name stays blank"
    );
    s.legal_sex = Some("M".into());
    assert_eq!(student_sex(&s), "Male");
    s.legal_sex = Some("X".into());
    assert_eq!(student_sex(&s), "Not Selected");
}

#[test]
fn roster_and_staff_dates() {
    let term = (d(2025, 9, 2), d(2026, 1, 16));
    assert_eq!(roster_begin(d(2025, 9, 10), None, term.0), d(2025, 9, 10));
    assert_eq!(
        roster_begin(d(2025, 8, 1), Some(d(2025, 9, 20)), term.0),
        d(2025, 9, 20)
    );
    assert_eq!(
        roster_begin(d(2025, 8, 1), Some(d(2025, 8, 5)), term.0),
        term.0
    );
    assert_eq!(staff_dates(None, None, term.0, term.1), term);
    assert_eq!(
        staff_dates(Some(d(2025, 8, 20)), Some(d(2025, 12, 1)), term.0, term.1),
        (term.0, d(2025, 12, 1))
    );
    assert!(service_rank("P") < service_rank("N"));
    assert_eq!(exit_withdraw_type(Some("HSC")).as_deref(), Some("HSC"));
}
