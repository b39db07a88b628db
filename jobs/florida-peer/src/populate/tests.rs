//! The mapping rules, one test each, on hand-built files and SIS snapshots.

use super::*;
use crate::spec::spec_for_file;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

/// A file whose rows give the named columns (others blank); lines count from 2.
fn file(name: &'static str, rows: &[&[(&str, &str)]]) -> (&'static str, PeerFile) {
    let spec = spec_for_file(name).expect(name);
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, cells)| {
            let mut values = vec![None; spec.columns.len()];
            for (column, v) in *cells {
                let at = spec
                    .column_index(column)
                    .unwrap_or_else(|| panic!("{name}.{column}"));
                values[at] = Some((*v).to_owned());
            }
            PeerRow {
                line: u64::try_from(i).unwrap() + 2,
                values,
            }
        })
        .collect();
    (
        spec.file,
        PeerFile {
            spec,
            rows,
            warnings: Vec::new(),
        },
    )
}

fn files(list: Vec<(&'static str, PeerFile)>) -> BTreeMap<&'static str, PeerFile> {
    list.into_iter().collect()
}

fn student(id: i64, local: &str) -> Student {
    Student {
        id,
        local_id: Some(local.to_owned()),
        values: BTreeMap::new(),
    }
}

/// Enrolled all year at school 0101.
fn enrolled(id: i64) -> Enrollment {
    Enrollment {
        id: id * 10,
        student_id: id,
        school_id: Some("0101".into()),
        start_date: Some(date("2025-08-10")),
        end_date: None,
    }
}

fn opts() -> Options {
    Options {
        run_date: date("2026-01-15"),
        excluded_schools: crate::fields::DEFAULT_EXCLUDED_SCHOOLS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        allow_zero_or_null_updates: false,
        exclude_expired_accommodations: false,
        elements: BTreeSet::new(),
    }
}

fn updates<'p>(plan: &'p Plan, field: &str) -> &'p [(i64, Option<String>)] {
    plan.field_updates.get(field).map_or(&[], Vec::as_slice)
}

fn some(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn ieps_win_over_eps_over_service_plans_and_the_latest_row_wins() {
    let f = files(vec![
        file(
            "ActiveIEPs.csv",
            &[
                &[
                    ("local_id", "0001"),
                    ("iep_start_date", "2025-09-01"),
                    ("iep_end_date", "2026-08-31"),
                    ("esy_services", "Y"),
                ],
                &[
                    ("local_id", "0001"),
                    ("iep_start_date", "2025-10-01"),
                    ("esy_services", "N"),
                ],
            ],
        ),
        file(
            "ActiveEPs.csv",
            &[
                &[
                    ("local_id", "0001"),
                    ("ep_start_date", "2025-12-01"),
                    ("ep_end_date", "2026-12-01"),
                ],
                &[
                    ("local_id", "0002"),
                    ("ep_start_date", "2025-11-01"),
                    ("ep_end_date", "2026-11-01"),
                ],
            ],
        ),
        file(
            "ActiveSPs.csv",
            &[
                &[
                    ("local_id", "0002"),
                    ("meeting_date", "2025-12-24"),
                    ("duration_date", "2026-12-24"),
                ],
                &[
                    ("local_id", "0003"),
                    ("meeting_date", "2025-07-01"),
                    ("duration_date", "2026-07-01"),
                ],
                &[
                    ("local_id", "0003"),
                    ("meeting_date", "2025-07-01"),
                    ("duration_date", "2026-07-02"),
                ],
            ],
        ),
    ]);
    let students = [student(1, "0001"), student(2, "0002"), student(3, "0003")];
    let enrollments = [enrolled(1), enrolled(2), enrolled(3)];
    let plan = plan(&f, &students, &enrollments, &[], &opts());
    // Student 1: the later IEP row wins; its blank end date is a blank (dates never blanked).
    // Student 2: no IEP, so the EP wins over the (later) service plan.
    // Student 3: a tie on meeting date goes to the later line.
    assert_eq!(
        updates(&plan, "custom_873"),
        [
            (1, some("2025-10-01")),
            (2, some("2025-11-01")),
            (3, some("2025-07-01"))
        ]
    );
    assert_eq!(
        updates(&plan, "custom_940"),
        [(2, some("2026-11-01")), (3, some("2026-07-02"))]
    );
    assert_eq!(updates(&plan, "custom_256"), [(1, some("N"))]);
}

#[test]
fn only_active_students_not_at_excluded_schools_are_touched() {
    let f = files(vec![file(
        "ActiveEPs.csv",
        &(1..=7)
            .map(|i| -> &[(&str, &str)] {
                match i {
                    1 => &[("local_id", "1"), ("ep_start_date", "2025-09-01")],
                    2 => &[("local_id", "2"), ("ep_start_date", "2025-09-01")],
                    3 => &[("local_id", "3"), ("ep_start_date", "2025-09-01")],
                    4 => &[("local_id", "4"), ("ep_start_date", "2025-09-01")],
                    5 => &[("local_id", "5"), ("ep_start_date", "2025-09-01")],
                    6 => &[("local_id", "6"), ("ep_start_date", "2025-09-01")],
                    _ => &[("local_id", "07"), ("ep_start_date", "2025-09-01")],
                }
            })
            .collect::<Vec<_>>(),
    )]);
    let students: Vec<Student> = (1..=7).map(|i| student(i, &i.to_string())).collect();
    let e = |id, student_id, school: &str, start: &str, end: Option<&str>| Enrollment {
        id,
        student_id,
        school_id: Some(school.to_owned()),
        start_date: Some(date(start)),
        end_date: end.map(date),
    };
    let enrollments = [
        e(1, 1, "0101", "2025-08-10", None),               // active
        e(2, 2, "0101", "2025-08-10", Some("2025-12-19")), // withdrawn before the run date
        e(3, 3, "0101", "2026-02-01", None),               // starts after the run date
        e(4, 4, "9997", "2025-08-10", None),               // excluded school
        // Two enrollments: the latest start (at TRAN) is primary, so excluded.
        e(5, 5, "0101", "2025-08-10", None),
        e(6, 5, "TRAN", "2025-11-01", None),
        // Two enrollments: the latest start is at a regular school.
        e(7, 6, "ZZZZ", "2025-08-10", None),
        e(8, 6, "0202", "2025-09-01", None),
        // Student 7's local id is "7" in the SIS but "07" in the file: leading zeros count.
        e(9, 7, "0101", "2025-08-10", None),
    ];
    let plan = plan(&f, &students, &enrollments, &[], &opts());
    assert_eq!(plan.touched, [1, 6, 7]);
    assert_eq!(
        updates(&plan, "custom_873"),
        [(1, some("2025-09-01")), (6, some("2025-09-01"))]
    );
    assert_eq!(plan.unmatched.len(), 1);
    assert_eq!(plan.unmatched[0].local_id, "07");
    assert_eq!(plan.unmatched[0].line, 8);
}

#[test]
fn lre_fields_come_from_rows_with_time_with_non_disabled_peers() {
    let f = files(vec![file(
        "IEPLRE.csv",
        &[
            &[
                ("local_id", "1"),
                ("initiation_date", "2025-09-01"),
                ("setting", "A"),
                ("total_time", "1800"),
                ("time_non_disabled_peers", "1500"),
            ],
            // Later, but its 879 is blank: ignored for 863, 878 and 879.
            &[
                ("local_id", "1"),
                ("initiation_date", "2025-12-01"),
                ("setting", "B"),
                ("total_time", "1700"),
            ],
        ],
    )]);
    let plan = plan(&f, &[student(1, "1")], &[enrolled(1)], &[], &opts());
    assert_eq!(updates(&plan, "custom_863"), [(1, some("A"))]);
    assert_eq!(updates(&plan, "custom_878"), [(1, some("1800"))]);
    assert_eq!(updates(&plan, "custom_879"), [(1, some("1500"))]);
}

#[test]
fn the_latest_matrix_row_feeds_the_matrix_fields() {
    let f = files(vec![file(
        "MatrixOfServices.csv",
        &[
            &[
                ("local_id", "1"),
                ("date_completed", "2025-10-01"),
                ("total_ratings", "12"),
                ("cost_factor", "254"),
                ("fefp_number", "254"),
            ],
            &[
                ("local_id", "1"),
                ("date_completed", "2024-10-01"),
                ("total_ratings", "9"),
                ("cost_factor", "253"),
                ("fefp_number", "253"),
            ],
        ],
    )]);
    let plan = plan(&f, &[student(1, "1")], &[enrolled(1)], &[], &opts());
    assert_eq!(updates(&plan, "custom_200000272"), [(1, some("12"))]);
    assert_eq!(updates(&plan, "custom_200000273"), [(1, some("254"))]);
    assert_eq!(
        updates(&plan, "custom_200000274"),
        [(1, some("2025-10-01"))]
    );
    assert_eq!(updates(&plan, "custom_200000293"), [(1, some("254"))]);
}

#[test]
fn zeros_and_blanks_are_written_only_when_allowed_and_dates_never_blanked() {
    let f = files(vec![
        file(
            "ActiveIEPs.csv",
            &[&[
                ("local_id", "1"),
                ("iep_start_date", "2025-09-01"),
                ("esy_services", "00"),
            ]],
        ),
        file(
            "IEPLRE.csv",
            &[&[
                ("local_id", "1"),
                ("initiation_date", "2025-09-01"),
                ("total_time", "0.0"),
                ("time_non_disabled_peers", "0"),
            ]],
        ),
    ]);
    let mut s = student(1, "1");
    s.values.insert("custom_940", some("2026-05-01"));
    s.values.insert("custom_256", some("Y"));
    s.values.insert("custom_863", some("old"));
    s.values.insert("custom_878", None);
    let refused = plan(&f, std::slice::from_ref(&s), &[enrolled(1)], &[], &opts());
    assert!(
        updates(&refused, "custom_940").is_empty(),
        "dates are never blanked"
    );
    assert!(updates(&refused, "custom_256").is_empty(), "zero kept out");
    assert!(updates(&refused, "custom_863").is_empty(), "blank kept out");
    assert!(updates(&refused, "custom_878").is_empty());
    assert!(updates(&refused, "custom_879").is_empty());
    let allowed = plan(
        &f,
        &[s],
        &[enrolled(1)],
        &[],
        &Options {
            allow_zero_or_null_updates: true,
            ..opts()
        },
    );
    assert!(
        updates(&allowed, "custom_940").is_empty(),
        "dates are never blanked"
    );
    assert_eq!(updates(&allowed, "custom_256"), [(1, some("00"))]);
    assert_eq!(updates(&allowed, "custom_863"), [(1, None)]);
    assert_eq!(updates(&allowed, "custom_878"), [(1, some("0.0"))]);
    assert_eq!(updates(&allowed, "custom_879"), [(1, some("0"))]);
}

#[test]
fn unchanged_values_and_students_without_rows_are_left_alone() {
    let f = files(vec![file(
        "ActiveEPs.csv",
        &[&[
            ("local_id", "1"),
            ("ep_start_date", "2025-09-01"),
            ("ep_end_date", "2026-09-01"),
        ]],
    )]);
    let mut same = student(1, "1");
    same.values.insert("custom_873", some("2025-09-01"));
    same.values.insert("custom_940", some("2026-09-01"));
    let mut absent = student(2, "2");
    absent.values.insert("custom_873", some("2020-01-01"));
    let plan = plan(
        &f,
        &[same, absent],
        &[enrolled(1), enrolled(2)],
        &[],
        &opts(),
    );
    assert!(plan.field_updates.values().all(Vec::is_empty), "{plan:?}");
    assert_eq!(plan.field_updates.len(), 10, "every field is listed");
}

#[test]
fn is_zero_knows_all_zero_numerals() {
    for zero in ["0", "00", "0.0", "000.00", " 0 "] {
        assert!(is_zero(zero), "{zero}");
    }
    for other in ["", ".", "0.0.0", "10", "0.5", "O", "-0x"] {
        assert!(!is_zero(other), "{other}");
    }
}

fn entry(id: i64, student_id: i64, field_id: i64, values: &[&str]) -> LogEntry {
    LogEntry {
        id,
        student_id,
        field_id,
        values: std::array::from_fn(|i| {
            values
                .get(i)
                .map(|v| (*v).to_owned())
                .filter(|v| !v.is_empty())
        }),
    }
}

#[test]
fn log_entries_are_reconciled_with_the_file() {
    let f = files(vec![file(
        "IEPTransportationFTE.csv",
        &[
            &[
                ("local_id", "1"),
                ("start_date", "2025-08-10"),
                ("end_date", "2026-06-01"),
                ("transportation_code", "A"),
                ("description", "Bus, lift"),
            ],
            // The same row twice gives one entry.
            &[
                ("local_id", "1"),
                ("start_date", "2025-08-10"),
                ("end_date", "2026-06-01"),
                ("transportation_code", "A"),
                ("description", "Bus, lift"),
            ],
            &[
                ("local_id", "1"),
                ("start_date", "2025-09-01"),
                ("transportation_code", "B"),
            ],
        ],
    )]);
    let existing = [
        // Identical to the first row: kept (same id).
        entry(
            100,
            1,
            200000305,
            &["2025-08-10", "2026-06-01", "A", "Bus, lift"],
        ),
        // A duplicate of it: deleted.
        entry(
            101,
            1,
            200000305,
            &["2025-08-10", "2026-06-01", "A", "Bus, lift"],
        ),
        // No longer in the file: deleted.
        entry(102, 1, 200000305, &["2024-08-10", "", "C"]),
        // Another field, and another (untouched) student: left alone.
        entry(103, 1, 200000311, &["x"]),
        entry(104, 9, 200000305, &["stale"]),
        // A touched student absent from the file: their entries go.
        entry(105, 2, 200000305, &["gone"]),
    ];
    let students = [student(1, "1"), student(2, "2"), student(9, "9")];
    let plan = plan(
        &f,
        &students,
        &[enrolled(1), enrolled(2)],
        &existing,
        &opts(),
    );
    assert_eq!(plan.log_kept[&200000305], 1);
    assert_eq!(plan.log_deletes[&200000305], [101, 102, 105]);
    assert_eq!(
        plan.log_inserts[&200000305],
        [(1, [some("2025-09-01"), None, some("B"), None, None, None])]
    );
    assert!(
        !plan.log_inserts.contains_key(&200000311),
        "no file, no change"
    );
}

#[test]
fn expired_accommodations_count_as_absent_when_asked() {
    let f = files(vec![file(
        "IEPAssessmentAccommodations.csv",
        &[
            &[
                ("local_id", "1"),
                ("accommodation_type", "T"),
                ("iep_end_date", "2026-01-14"),
                ("accommodation", "expired"),
            ],
            &[
                ("local_id", "1"),
                ("accommodation_type", "T"),
                ("iep_end_date", "2026-01-15"),
                ("accommodation", "ends today"),
            ],
            &[
                ("local_id", "1"),
                ("accommodation_type", "T"),
                ("accommodation", "no end"),
            ],
        ],
    )]);
    let kept = plan(&f, &[student(1, "1")], &[enrolled(1)], &[], &opts());
    assert_eq!(kept.log_inserts[&200000262].len(), 3);
    let excluding = plan(
        &f,
        &[student(1, "1")],
        &[enrolled(1)],
        &[],
        &Options {
            exclude_expired_accommodations: true,
            ..opts()
        },
    );
    let third: Vec<Option<String>> = excluding.log_inserts[&200000262]
        .iter()
        .map(|(_, v)| v[2].clone())
        .collect();
    assert_eq!(third, [some("ends today"), some("no end")]);
}

#[test]
fn elements_limit_what_is_imported() {
    let f = files(vec![
        file(
            "ActiveEPs.csv",
            &[&[
                ("local_id", "1"),
                ("ep_start_date", "2025-09-01"),
                ("ep_end_date", "2026-09-01"),
            ]],
        ),
        file(
            "IEPESEService.csv",
            &[&[("local_id", "1"), ("service", "S")]],
        ),
        file(
            "IEPESYService.csv",
            &[&[("local_id", "1"), ("esy_service", "E")]],
        ),
    ]);
    let plan = plan(
        &f,
        &[student(1, "1")],
        &[enrolled(1)],
        &[],
        &Options {
            elements: ["custom_940".to_owned(), "log_200000311".to_owned()].into(),
            ..opts()
        },
    );
    assert!(updates(&plan, "custom_873").is_empty());
    assert!(
        !plan.field_updates.contains_key("custom_873"),
        "not imported at all"
    );
    assert_eq!(updates(&plan, "custom_940"), [(1, some("2026-09-01"))]);
    assert_eq!(plan.log_inserts[&200000311].len(), 1);
    assert!(!plan.log_inserts.contains_key(&200000275));
}
