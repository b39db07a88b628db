//! Validation against the spec's example Load File (which must pass) and one failing case per
//! business rule.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::IsesError;
use crate::record::{Dtg, Header, Incident, LoadFile, Removal};
use crate::test_records::{date, removal};

fn header(district: &str) -> Header {
    Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 8, 10, 19, 0, 5)
                .single()
                .expect("valid instant"),
        ),
        seq_num: 1,
        district_code: district.to_owned(),
    }
}

fn rules() -> Rules {
    Rules {
        year: 2008,
        district_code: "0001".to_owned(),
        next_term_start_date: Some(date(2008, 9, 2)),
    }
}

fn incident(key: &str, wsn: &str, enroll: NaiveDate, at: NaiveDate) -> Incident {
    Incident {
        incident_key: key.to_owned(),
        school_code: "2".to_owned(),
        incident_id: None,
        year_incident: 2008,
        wsn_id: wsn.to_owned(),
        enroll_date: Some(enroll),
        incident_date: Some(at),
        incident_type_primary: Some("SR".to_owned()),
        incident_type_secondary: None,
    }
}

/// The records of the spec's example Load File (Appendix B.2, after Table B-2).
fn spec_example() -> LoadFile {
    let single = incident("A-1", "1234567890", date(2003, 9, 2), date(2008, 4, 12));
    let mut double = incident("B-2", "2345678901", date(2005, 2, 14), date(2007, 11, 2));
    double.incident_type_primary = Some("AE".to_owned());
    double.incident_type_secondary = Some("AL".to_owned());
    LoadFile::build(
        header("0001"),
        2008,
        &["0003".to_owned()],
        vec![single, double],
        vec![
            removal("A-1", "OS", date(2008, 4, 13), 4.0),
            removal("B-2", "OS", date(2007, 12, 4), 7.0),
            removal("B-2", "EX", date(2007, 12, 14), 45.0),
        ],
    )
    .expect("the spec's example builds")
}

/// A file of one incident (`K`) and the given removals, after `edit` changed the incident.
fn one(edit: impl FnOnce(&mut Incident), removals: Vec<Removal>) -> LoadFile {
    let mut inc = incident("K", "1234567890", date(2003, 9, 2), date(2007, 10, 1));
    edit(&mut inc);
    LoadFile::build(header("0001"), 2008, &[], vec![inc], removals).expect("builds")
}

/// A file of incident `K` with one OS removal, after `edit` changed the removal.
fn with_removal(edit: impl FnOnce(&mut Removal)) -> LoadFile {
    let mut r = removal("K", "OS", date(2007, 10, 2), 1.0);
    edit(&mut r);
    one(|_| {}, vec![r])
}

/// The (rule, field) of every finding.
fn rules_hit(file: &LoadFile, ctx: &Rules) -> Vec<(&'static str, &'static str)> {
    validate(file, ctx)
        .iter()
        .map(|f| (f.rule, f.field))
        .collect()
}

fn only(file: &LoadFile, rule: &'static str, field: &'static str) {
    assert_eq!(rules_hit(file, &rules()), [(rule, field)]);
}

#[test]
fn the_specs_example_load_file_passes() {
    assert_eq!(validate(&spec_example(), &rules()), []);
    // The unpadded district of the SIS still names the same district.
    let ctx = Rules {
        district_code: "1".to_owned(),
        ..rules()
    };
    assert_eq!(validate(&spec_example(), &ctx), []);
}

#[test]
fn another_district_in_the_header_or_a_row_is_an_error() {
    let findings = validate(
        &spec_example(),
        &Rules {
            district_code: "0130".to_owned(),
            ..rules()
        },
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "DISTRICT-MISMATCH");
    assert_eq!(findings[0].incident_key, "");
    assert!(findings[0].is_error());

    let file = spec_example().with_source_districts([
        ("A-1".to_owned(), "1".to_owned()),
        ("B-2".to_owned(), "0130".to_owned()),
    ]);
    let findings = validate(&file, &rules());
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].rule, findings[0].incident_key.as_str()),
        ("DISTRICT-MISMATCH", "B-2")
    );
    assert_eq!(findings[0].value, "0130");
}

#[test]
fn header_and_school_formats() {
    let file =
        LoadFile::build(header("12345"), 2008, &["2".to_owned()], vec![], vec![]).expect("builds");
    let hit = rules_hit(
        &file,
        &Rules {
            district_code: "12345".to_owned(),
            ..rules()
        },
    );
    assert_eq!(hit, [("B1-DISTRICT", "DISTRICT")]);

    // The 02 YEAR is the collection year.
    let file =
        LoadFile::build(header("1"), 2009, &["2".to_owned()], vec![], vec![]).expect("builds");
    assert_eq!(rules_hit(&file, &rules()), [("B2-YEAR", "YEAR")]);
}

#[test]
fn wsn_must_be_ten_digits() {
    only(
        &one(
            |i| i.wsn_id = "12345678901".to_owned(),
            vec![removal("K", "OS", date(2007, 10, 2), 1.0)],
        ),
        "B2-WSN-ID",
        "WSN_ID",
    );
    only(
        &one(
            |i| i.wsn_id = "12A".to_owned(),
            vec![removal("K", "OS", date(2007, 10, 2), 1.0)],
        ),
        "B2-WSN-ID",
        "WSN_ID",
    );
}

#[test]
fn code_tables_are_checked() {
    let r = || vec![removal("K", "OS", date(2007, 10, 2), 1.0)];
    only(
        &one(|i| i.incident_type_primary = Some("XX".to_owned()), r()),
        "D2-INCIDENT-TYPE",
        "INCIDENT_TYPE_PRIMARY",
    );
    only(
        &one(|i| i.incident_type_secondary = Some("sr".to_owned()), r()),
        "D2-INCIDENT-TYPE",
        "INCIDENT_TYPE_SECONDARY",
    );
    only(
        &with_removal(|r| r.removal_type = Some("SU".to_owned())),
        "D8-REMOVAL-TYPE",
        "REMOVAL_TYPE",
    );
    only(
        &with_removal(|r| r.prim_disab = Some("X".to_owned())),
        "D5-PRIM-DISAB",
        "PRIM_DISAB",
    );
    only(
        &with_removal(|r| r.eng_prof_code = Some("8".to_owned())),
        "D1-ENG-PROF-CODE",
        "ENG_PROF_CODE",
    );
    // Null (or empty) is allowed on upload for all of these.
    let file = one(
        |i| i.incident_type_primary = Some(String::new()),
        vec![removal("K", "OS", date(2007, 10, 2), 1.0)],
    );
    assert_eq!(validate(&file, &rules()), []);
    assert_eq!(
        validate(&with_removal(|r| r.removal_type = None), &rules()),
        []
    );
}

#[test]
fn yes_no_fields_take_only_y_or_n() {
    only(
        &with_removal(|r| r.serious_bodily_injury = Some("y".to_owned())),
        "B2-YES-NO",
        "SERIOUS_BODILY_INJURY",
    );
    assert_eq!(
        validate(
            &with_removal(|r| r.serious_bodily_injury = Some("Y".to_owned())),
            &rules()
        ),
        []
    );
    let file = one(
        |_| {},
        vec![Removal {
            early_reinstate_conditions: Some("Yes".to_owned()),
            services_provided: Some("N".to_owned()),
            return_to_school: Some("0".to_owned()),
            expulsion_return_year: Some(2008),
            ..removal("K", "EX", date(2007, 10, 2), 1.0)
        }],
    );
    assert_eq!(
        rules_hit(&file, &rules()),
        [
            ("B2-YES-NO", "EARLY_REINSTATE_CONDITIONS"),
            ("B2-YES-NO", "RETURN_TO_SCHOOL"),
        ]
    );
}

#[test]
fn year_incident_is_at_most_year() {
    let file = one(
        |i| i.year_incident = 2009,
        vec![Removal {
            year_removal_type: 2009,
            ..removal("K", "OS", date(2007, 10, 2), 1.0)
        }],
    );
    only(&file, "B2-YEAR-INCIDENT", "YEAR_INCIDENT");
    let file = one(
        |i| i.year_incident = 208,
        vec![removal("K", "OS", date(2007, 10, 2), 1.0)],
    );
    assert_eq!(
        rules_hit(&file, &rules())[0],
        ("B2-YEAR-INCIDENT", "YEAR_INCIDENT")
    );
}

#[test]
fn year_removal_type_lies_between_year_incident_and_year_plus_one() {
    only(
        &with_removal(|r| r.year_removal_type = 2007),
        "B2-YEAR-REMOVAL-TYPE",
        "YEAR_REMOVAL_TYPE",
    );
    only(
        &with_removal(|r| r.year_removal_type = 2010),
        "B2-YEAR-REMOVAL-TYPE",
        "YEAR_REMOVAL_TYPE",
    );
    assert_eq!(
        validate(&with_removal(|r| r.year_removal_type = 2009), &rules()),
        []
    );
}

#[test]
fn removal_start_date_window() {
    // Before the incident.
    only(
        &with_removal(|r| r.removal_start_date = date(2007, 9, 30)),
        "B2-REMOVAL-BEFORE-INCIDENT",
        "REMOVAL_START_DATE",
    );
    // Before 07/01 of YEAR - 1 (the incident is a prior year's, without a date).
    let file = one(
        |i| {
            i.year_incident = 2007;
            i.incident_date = None;
        },
        vec![Removal {
            year_removal_type: 2007,
            ..removal("K", "OS", date(2007, 6, 30), 1.0)
        }],
    );
    only(&file, "B2-REMOVAL-BEFORE-TERM", "REMOVAL_START_DATE");
    // 07/01 itself is fine.
    let file = one(
        |i| i.incident_date = Some(date(2007, 7, 1)),
        vec![removal("K", "OS", date(2007, 7, 1), 1.0)],
    );
    assert_eq!(validate(&file, &rules()), []);
    // At most 10 calendar days after the next term's start (09/02/2008 → 09/12/2008).
    let late = with_removal(|r| {
        r.removal_start_date = date(2008, 9, 13);
        r.year_removal_type = 2009;
    });
    only(&late, "B2-REMOVAL-AFTER-TERM-START", "REMOVAL_START_DATE");
    let ok = with_removal(|r| {
        r.removal_start_date = date(2008, 9, 12);
        r.year_removal_type = 2009;
    });
    assert_eq!(validate(&ok, &rules()), []);
    // Unchecked when the term start is unknown.
    let ctx = Rules {
        next_term_start_date: None,
        ..rules()
    };
    assert_eq!(validate(&late, &ctx), []);
}

#[test]
fn enroll_and_incident_dates_are_required_when_year_incident_is_year() {
    let r = || vec![removal("K", "OS", date(2007, 10, 2), 1.0)];
    only(
        &one(|i| i.enroll_date = None, r()),
        "B2-ENROLL-DATE-REQUIRED",
        "ENROLL_DATE",
    );
    only(
        &one(|i| i.incident_date = None, r()),
        "B2-INCIDENT-DATE-REQUIRED",
        "INCIDENT_DATE",
    );
    // A prior year's incident may leave both null.
    let file = one(
        |i| {
            i.year_incident = 2007;
            i.enroll_date = None;
            i.incident_date = None;
        },
        r(),
    );
    assert_eq!(validate(&file, &rules()), []);
}

#[test]
fn dates_need_four_digit_years() {
    let r = vec![removal("K", "OS", date(2007, 10, 2), 1.0)];
    only(
        &one(|i| i.enroll_date = Some(date(999, 1, 1)), r),
        "B2-DATE-FORMAT",
        "ENROLL_DATE",
    );
}

#[test]
fn ids_are_at_most_sixteen_characters() {
    let r = || vec![removal("K", "OS", date(2007, 10, 2), 1.0)];
    assert_eq!(
        validate(
            &one(|i| i.incident_id = Some("A".repeat(16)), r()),
            &rules()
        ),
        []
    );
    only(
        &one(|i| i.incident_id = Some("A".repeat(17)), r()),
        "B2-ID-LENGTH",
        "INCIDENT_ID",
    );
    only(
        &with_removal(|r| r.removal_id = Some("R".repeat(17))),
        "B2-ID-LENGTH",
        "REMOVAL_ID",
    );
}

#[test]
fn days_removed_go_in_half_day_steps() {
    assert_eq!(
        validate(
            &with_removal(|r| r.days_removed_current_term = 2.5),
            &rules()
        ),
        []
    );
    assert_eq!(
        validate(
            &with_removal(|r| r.days_removed_current_term = 999.5),
            &rules()
        ),
        []
    );
    for bad in [2.25, 0.1, -1.0, 1000.0, f64::NAN] {
        only(
            &with_removal(|r| r.days_removed_current_term = bad),
            "B2-DAYS-REMOVED",
            "DAYS_REMOVED_CURRENT_TERM",
        );
    }
}

#[test]
fn records_must_be_unique_by_the_a4_removal_criteria() {
    // Two removals of one incident, same start date and type.
    let file = one(
        |_| {},
        vec![
            Removal {
                removal_id: Some("R1".to_owned()),
                ..removal("K", "OS", date(2007, 10, 2), 1.0)
            },
            Removal {
                removal_id: Some("R2".to_owned()),
                ..removal("K", "OS", date(2007, 10, 2), 2.0)
            },
        ],
    );
    let findings = validate(&file, &rules());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "A4-NOT-UNIQUE");
    assert_eq!(findings[0].removal_id.as_deref(), Some("R2"));
    assert!(
        findings[0].message.contains("R1"),
        "{}",
        findings[0].message
    );

    // Two incidents with one student, enroll date and incident date, same removal: also.
    let a = incident("A", "1", date(2003, 9, 2), date(2007, 10, 1));
    let b = incident("B", "0000000001", date(2003, 9, 2), date(2007, 10, 1));
    let file = LoadFile::build(
        header("1"),
        2008,
        &[],
        vec![a.clone(), b.clone()],
        vec![
            removal("A", "OS", date(2007, 10, 2), 1.0),
            removal("B", "OS", date(2007, 10, 2), 1.0),
        ],
    )
    .expect("builds");
    assert_eq!(
        rules_hit(&file, &rules()),
        [("A4-NOT-UNIQUE", "REMOVAL_START_DATE")]
    );

    // A different removal type, or an INCIDENT_ID telling them apart, makes them unique.
    let file = one(
        |_| {},
        vec![
            removal("K", "OS", date(2007, 10, 2), 1.0),
            removal("K", "IS", date(2007, 10, 2), 1.0),
        ],
    );
    assert_eq!(validate(&file, &rules()), []);
    let file = LoadFile::build(
        header("1"),
        2008,
        &[],
        vec![
            Incident {
                incident_id: Some("I1".to_owned()),
                ..a
            },
            Incident {
                incident_id: Some("I2".to_owned()),
                ..b
            },
        ],
        vec![
            removal("A", "OS", date(2007, 10, 2), 1.0),
            removal("B", "OS", date(2007, 10, 2), 1.0),
        ],
    )
    .expect("builds");
    assert_eq!(validate(&file, &rules()), []);
}

#[test]
fn characters_that_fail_a_file_are_errors_in_any_field() {
    for c in ['<', '>', '&', '\'', '~', '`'] {
        let file = one(
            |i| i.incident_id = Some(format!("A{c}B")),
            vec![removal("K", "OS", date(2007, 10, 2), 1.0)],
        );
        only(&file, "E-CHARACTER", "INCIDENT_ID");
    }
    only(
        &with_removal(|r| r.removal_id = Some("Müller".to_owned())),
        "E-NON-ASCII",
        "REMOVAL_ID",
    );
    only(
        &with_removal(|r| r.removal_id = Some("a\"b".to_owned())),
        "E-UNQUOTABLE",
        "REMOVAL_ID",
    );
    let hit = rules_hit(
        &with_removal(|r| r.prim_disab = Some("A&".to_owned())),
        &rules(),
    );
    assert_eq!(
        hit,
        [
            ("E-CHARACTER", "PRIM_DISAB"),
            ("D5-PRIM-DISAB", "PRIM_DISAB")
        ]
    );
}

#[test]
fn modified_term_y_is_valid_through_2006_07_only() {
    let ex = |year: i32| {
        let inc = Incident {
            year_incident: year,
            ..incident("K", "1234567890", date(2003, 9, 2), date(year - 1, 10, 1))
        };
        let r = Removal {
            modified_term: Some("Y".to_owned()),
            year_removal_type: year,
            ..removal("K", "EX", date(year - 1, 10, 2), 1.0)
        };
        let file = LoadFile::build(header("1"), year, &[], vec![inc], vec![r]).expect("builds");
        let ctx = Rules {
            year,
            next_term_start_date: None,
            ..rules()
        };
        rules_hit(&file, &ctx)
    };
    assert_eq!(ex(2007), []);
    assert_eq!(ex(2008), [("D9-MODIFIED-TERM-Y", "MODIFIED_TERM")]);
    assert_eq!(ex(2010), [("D9-MODIFIED-TERM-Y", "MODIFIED_TERM")]);
    only(
        &one(
            |_| {},
            vec![Removal {
                modified_term: Some("Z".to_owned()),
                ..removal("K", "EX", date(2007, 10, 2), 1.0)
            }],
        ),
        "D9-MODIFIED-TERM",
        "MODIFIED_TERM",
    );
}

#[test]
fn an_incident_without_a_removal_is_an_error() {
    let file = one(|_| {}, vec![]);
    let findings = validate(&file, &rules());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "INCIDENT-NO-REMOVAL");
    assert_eq!(findings[0].incident_key, "K");
    assert_eq!(findings[0].removal_id, None);
}

#[test]
fn expulsion_only_fields_on_other_removals_are_warnings() {
    let file = with_removal(|r| {
        r.early_reinstate_conditions = Some("Y".to_owned());
        r.expulsion_return_year = Some(2009);
        r.modified_term = Some("M".to_owned());
        r.services_provided = Some("N".to_owned());
        r.return_to_school = Some("Y".to_owned());
        r.serious_bodily_injury = Some("Y".to_owned());
    });
    let findings = validate(&file, &rules());
    assert!(
        findings
            .iter()
            .all(|f| f.severity == Severity::Warning && f.rule == "EX-ONLY-FIELD")
    );
    let fields: Vec<_> = findings.iter().map(|f| f.field).collect();
    assert_eq!(fields, EXPULSION_ONLY_FIELDS);
    assert_eq!(findings[1].value, "2009");
    assert_eq!(findings[0].removal_id.as_deref(), Some("#1"));

    // On an expulsion they are expected; RETURN_TO_SCHOOL only when it returns in YEAR.
    let ex = |return_year: i32| {
        with_removal(|r| {
            r.removal_type = Some("EX".to_owned());
            r.early_reinstate_conditions = Some("Y".to_owned());
            r.expulsion_return_year = Some(return_year);
            r.modified_term = Some("N".to_owned());
            r.services_provided = Some("N".to_owned());
            r.return_to_school = Some("Y".to_owned());
        })
    };
    assert_eq!(validate(&ex(2008), &rules()), []);
    let findings = validate(&ex(2009), &rules());
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        ("EX-RETURN-TO-SCHOOL", Severity::Warning)
    );
}

#[test]
fn a_finding_becomes_a_run_problem() {
    let findings = validate(
        &with_removal(|r| r.prim_disab = Some("X".to_owned())),
        &rules(),
    );
    let problem = findings[0].problem(Some("S_0001_0000_08102008_IDL_00001.csv"));
    assert_eq!(problem.severity, ferry_plugin::Severity::Error);
    assert_eq!(problem.category, "Invalid code");
    assert_eq!(
        problem.file.as_deref(),
        Some("S_0001_0000_08102008_IDL_00001.csv")
    );
    assert_eq!(problem.field.as_deref(), Some("PRIM_DISAB"));
    assert_eq!(problem.value.as_deref(), Some("X"));
    assert!(
        problem.message.starts_with("incident K, removal #1: "),
        "{}",
        problem.message
    );
    assert!(
        problem.message.ends_with("[D5-PRIM-DISAB]"),
        "{}",
        problem.message
    );

    let warning = validate(
        &with_removal(|r| r.services_provided = Some("N".to_owned())),
        &rules(),
    );
    let problem = warning[0].problem(None);
    assert_eq!(problem.severity, ferry_plugin::Severity::Warning);
    assert_eq!(problem.file.as_deref(), Some("load file"));
    assert_eq!(problem.category, "Expulsion-only field");
}

/// The README's reason-code table is the operator's reference: every code the validator can
/// give is listed there, and nothing else is.
#[test]
fn the_readme_lists_every_rule_code() {
    fn codes(text: &str, quote: char) -> std::collections::BTreeSet<String> {
        text.split(quote)
            .skip(1)
            .step_by(2)
            .filter(|s| {
                s.contains('-')
                    && s.len() > 2
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                    && s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            })
            .map(str::to_owned)
            .collect()
    }
    let source = include_str!("../validate.rs");
    let readme = include_str!("../../docs/README.md");
    let table: String = readme
        .split("## Validation and reason codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has a reason-code section")
        .to_owned();
    let in_code = codes(source, '"');
    // The first cell of each table row.
    let first_cells: String = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(|code| format!("`{code}` "))
        .collect();
    let in_readme = codes(&first_cells, '`');
    assert!(in_code.len() > 25, "{in_code:?}");
    assert_eq!(in_code, in_readme);
}

/// A school code that is not FORMAT `0009` never reaches validation: building the file
/// refuses it, naming the field (B2-SCHOOL stays as the validator's guard).
#[test]
fn a_school_code_longer_than_four_digits_is_refused() {
    let error = LoadFile::build(header("1"), 2008, &["12345".to_owned()], vec![], vec![])
        .expect_err("refused");
    assert!(
        matches!(
            error,
            IsesError::TooLong {
                field: "SCHOOL",
                ..
            }
        ),
        "{error:?}"
    );
    let mut inc = incident("K", "1234567890", date(2003, 9, 2), date(2007, 10, 1));
    inc.school_code = "12A".to_owned();
    let error = LoadFile::build(header("1"), 2008, &[], vec![inc], vec![]).expect_err("refused");
    assert!(
        matches!(
            error,
            IsesError::NotNumeric {
                field: "SCHOOL",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn expulsion_return_year_needs_four_digits() {
    let hit = rules_hit(
        &with_removal(|r| {
            r.removal_type = Some("EX".to_owned());
            r.expulsion_return_year = Some(20_090);
        }),
        &rules(),
    );
    assert!(
        hit.contains(&("B2-EXPULSION-RETURN-YEAR", "EXPULSION_RETURN_YEAR")),
        "{hit:?}"
    );
}
