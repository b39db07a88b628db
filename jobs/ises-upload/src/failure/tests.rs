//! The failure file against the spec's Table B-3 example, and STATUS/REASON_CODE for error,
//! warning and success rows.

use chrono::NaiveDate;

use super::*;
use crate::record::{Dtg, Header, Incident, LoadFile, Removal};
use crate::test_records::date;
use crate::validate::{Finding, Severity};

/// The header of the B-3 example: `"01","09-01-2008 07:00:05 CST","00001","YED","0001"`.
fn example_header() -> Header {
    Header {
        dtg: Dtg::from_cst(date(2008, 9, 1).and_hms_opt(7, 0, 5).expect("valid time")),
        seq_num: 1,
        district_code: "1".to_owned(),
    }
}

fn incident(key: &str, wsn: &str, enroll: NaiveDate, at: NaiveDate) -> Incident {
    Incident {
        incident_key: key.to_owned(),
        school_code: "2".to_owned(),
        incident_id: None,
        year_incident: 2007,
        wsn_id: wsn.to_owned(),
        enroll_date: Some(enroll),
        incident_date: Some(at),
        incident_type_primary: Some("SR".to_owned()),
        incident_type_secondary: None,
    }
}

fn removal(key: &str, id: Option<&str>, start: NaiveDate) -> Removal {
    Removal {
        incident_key: key.to_owned(),
        removal_id: id.map(str::to_owned),
        year_removal_type: 2008,
        removal_type: Some("OS".to_owned()),
        removal_start_date: start,
        serious_bodily_injury: None,
        early_reinstate_conditions: None,
        expulsion_return_year: None,
        modified_term: None,
        prim_disab: Some("N".to_owned()),
        eng_prof_code: Some("7".to_owned()),
        days_removed_current_term: 1.0,
        services_provided: None,
        return_to_school: None,
    }
}

fn finding(severity: Severity, rule: &'static str, key: &str, removal: Option<&str>) -> Finding {
    Finding {
        severity,
        rule,
        incident_key: key.to_owned(),
        removal_id: removal.map(str::to_owned),
        field: "FIELD",
        value: String::new(),
        message: "test".to_owned(),
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("ASCII output")
}

/// The B-3 example, with ASCII quotes and without the example's stray spaces and missing
/// quote. Deviation: the example lists the second record twice, once with reason `18` and once
/// with `47`; the job writes it once with both codes joined (`18;47`).
#[test]
fn reproduces_the_spec_example() {
    let mut first = incident("A", "1112223333", date(2003, 1, 2), date(2007, 9, 2));
    first.incident_id = Some("12345678901".to_owned());
    let second = incident("B", "2223334444", date(2004, 11, 2), date(2007, 5, 4));
    let file = LoadFile::build(
        example_header(),
        2008,
        &[],
        vec![first, second],
        vec![
            removal("A", Some("23456789012"), date(2007, 9, 3)),
            removal("B", None, date(2007, 5, 4)),
        ],
    )
    .expect("builds");
    let findings = [
        finding(Severity::Error, "18", "B", Some("#1")),
        finding(Severity::Error, "47", "B", Some("#1")),
    ];
    let expected = concat!(
        "\"01\",\"09-01-2008 07:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n",
        "\"02\",\"0002\",\"D\",\"2008\"\r\n",
        "\"03\",\"1112223333\",\"01/02/2003\",\"2007\",\"09/02/2007\",\"09/03/2007\",",
        "\"12345678901\",\"23456789012\",\"SUCCESS\",\"\"\r\n",
        "\"03\",\"2223334444\",\"11/02/2004\",\"2007\",\"05/04/2007\",\"05/04/2007\",\"\",\"\",",
        "\"ERROR\",\"18;47\"\r\n",
        "\"04\",\"EOF\"\r\n",
    );
    assert_eq!(
        text(failure_file(&file, &findings).expect("writes")),
        expected
    );
}

#[test]
fn error_warning_and_success_rows() {
    let file = LoadFile::build(
        example_header(),
        2008,
        &["3".to_owned()],
        vec![
            incident("K1", "1", date(2007, 8, 1), date(2007, 9, 10)),
            incident("K2", "2", date(2007, 8, 1), date(2007, 9, 11)),
            incident("K3", "12345678901", date(2007, 8, 1), date(2007, 9, 12)),
            incident("K4", "4", date(2007, 8, 1), date(2007, 9, 13)),
        ],
        vec![
            removal("K1", Some("R1"), date(2007, 9, 10)),
            removal("K1", Some("R2"), date(2007, 9, 11)),
            removal("K2", Some("R3"), date(2007, 9, 11)),
            removal("K3", None, date(2007, 9, 12)),
        ],
    )
    .expect("builds");
    let findings = [
        // A warning and an error on R1: ERROR, error codes first.
        finding(Severity::Warning, "EX-ONLY-FIELD", "K1", Some("R1")),
        finding(Severity::Error, "D8-REMOVAL-TYPE", "K1", Some("R1")),
        finding(Severity::Warning, "EX-ONLY-FIELD", "K1", Some("R1")),
        // Only a warning on R3.
        finding(Severity::Warning, "EX-RETURN-TO-SCHOOL", "K2", Some("R3")),
        // Incident-level: applies to K3's one removal (labelled #1).
        finding(Severity::Error, "B2-WSN-ID", "K3", None),
        finding(Severity::Error, "INCIDENT-NO-REMOVAL", "K4", None),
    ];
    let out = text(failure_file(&file, &findings).expect("writes"));
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(
        lines,
        [
            "\"01\",\"09-01-2008 07:00:05 CST\",\"00001\",\"YED\",\"0001\"",
            "\"02\",\"0002\",\"D\",\"2008\"",
            "\"03\",\"0000000001\",\"08/01/2007\",\"2007\",\"09/10/2007\",\"09/10/2007\",\"\",\"R1\",\"ERROR\",\"D8-REMOVAL-TYPE;EX-ONLY-FIELD\"",
            "\"03\",\"0000000001\",\"08/01/2007\",\"2007\",\"09/10/2007\",\"09/11/2007\",\"\",\"R2\",\"SUCCESS\",\"\"",
            "\"03\",\"0000000002\",\"08/01/2007\",\"2007\",\"09/11/2007\",\"09/11/2007\",\"\",\"R3\",\"WARNING\",\"EX-RETURN-TO-SCHOOL\"",
            // The WSN the Load File cannot carry is shown as the SIS holds it.
            "\"03\",\"12345678901\",\"08/01/2007\",\"2007\",\"09/12/2007\",\"09/12/2007\",\"\",\"\",\"ERROR\",\"B2-WSN-ID\"",
            // An incident without removals still gets a row.
            "\"03\",\"0000000004\",\"08/01/2007\",\"2007\",\"09/13/2007\",\"\",\"\",\"\",\"ERROR\",\"INCIDENT-NO-REMOVAL\"",
            "\"02\",\"0003\",\"D\",\"2008\"",
            "\"04\",\"EOF\"",
            "",
        ]
    );
}

#[test]
fn file_level_findings_mark_every_row_and_odd_characters_become_question_marks() {
    let mut one = incident("K1", "1", date(2007, 8, 1), date(2007, 9, 10));
    one.incident_id = Some("caf\u{e9}\"1".to_owned());
    let file = LoadFile::build(
        example_header(),
        2008,
        &[],
        vec![one],
        vec![removal("K1", Some("R1"), date(2007, 9, 10))],
    )
    .expect("builds");
    let findings = [
        finding(Severity::Error, "B2-YEAR", "", None),
        finding(Severity::Error, "E-NON-ASCII", "K1", None),
    ];
    let out = text(failure_file(&file, &findings).expect("writes"));
    assert!(
        out.contains("\"caf??1\",\"R1\",\"ERROR\",\"B2-YEAR;E-NON-ASCII\"\r\n"),
        "{out}"
    );
}

#[test]
fn a_header_that_cannot_be_written_is_an_error() {
    let mut header = example_header();
    header.district_code = "12345".to_owned();
    let file = LoadFile::build(header, 2008, &[], vec![], vec![]).expect("builds");
    assert!(matches!(
        failure_file(&file, &[]),
        Err(IsesError::TooLong {
            field: "DISTRICT",
            ..
        })
    ));
}

#[test]
fn name_replaces_the_load_file_tag() {
    assert_eq!(
        failure_file_name("S_0130_0001_08202007_IDL_00002.csv").as_deref(),
        Some("S_0130_0001_08202007_DLF_00002.csv")
    );
    assert_eq!(
        failure_file_name("S_0130_0001_08202007_ISL_00002.csv"),
        None
    );
}
