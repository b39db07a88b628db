//! The state's answer read back: the job's own failure file round-trips, the seed's B-3
//! example parses (curly quotes and all), the fixture reports give the right outcome, and
//! truncated or malformed answers are refused with what is wrong.

use super::*;
use crate::failure::failure_file;
use crate::record::{Dtg, Header, Incident, LoadFile, Removal};
use crate::test_records::date;
use crate::validate::{Finding, Severity};

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/responses/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("fixture exists")
}

fn incident(key: &str, wsn: &str) -> Incident {
    Incident {
        incident_key: key.to_owned(),
        school_code: "2".to_owned(),
        incident_id: Some(format!("INC-{key}")),
        year_incident: 2007,
        wsn_id: wsn.to_owned(),
        enroll_date: Some(date(2003, 1, 2)),
        incident_date: Some(date(2007, 9, 2)),
        incident_type_primary: Some("SR".to_owned()),
        incident_type_secondary: None,
    }
}

fn removal(key: &str, id: &str) -> Removal {
    Removal {
        incident_key: key.to_owned(),
        removal_id: Some(id.to_owned()),
        year_removal_type: 2008,
        removal_type: Some("OS".to_owned()),
        removal_start_date: date(2007, 9, 3),
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

fn finding(severity: Severity, rule: &'static str, key: &str, removal: &str) -> Finding {
    Finding {
        severity,
        rule,
        incident_key: key.to_owned(),
        removal_id: Some(removal.to_owned()),
        field: "FIELD",
        value: String::new(),
        message: "test".to_owned(),
    }
}

#[test]
fn the_jobs_failure_file_round_trips() {
    let file = LoadFile::build(
        Header {
            dtg: Dtg::from_cst(date(2008, 9, 1).and_hms_opt(7, 0, 5).expect("valid time")),
            seq_num: 7,
            district_code: "130".to_owned(),
        },
        2008,
        &[],
        vec![incident("A", "1112223333"), incident("B", "2223334444")],
        vec![removal("A", "R1"), removal("A", "R2"), removal("B", "R3")],
    )
    .expect("builds");
    let findings = [
        finding(Severity::Error, "D8-REMOVAL-TYPE", "A", "R1"),
        finding(Severity::Error, "B2-WSN-ID", "A", "R1"),
        finding(Severity::Warning, "EX-ONLY-FIELD", "B", "R3"),
    ];
    let bytes = failure_file(&file, &findings).expect("writes");
    let parsed = parse_failure_file(&bytes).expect("parses");
    assert_eq!(parsed.header.seq_num, "00007");
    assert_eq!(parsed.header.district, "0130");
    assert_eq!(parsed.header.collection, "YED");
    assert_eq!(parsed.schools.len(), 1);
    assert_eq!(parsed.schools[0].school, "0002");
    let got: Vec<(&str, RecordStatus, Vec<&str>)> = parsed
        .rows
        .iter()
        .map(|r| {
            (
                r.removal_id.as_str(),
                r.status,
                r.reason_codes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "R1",
                RecordStatus::Error,
                vec!["D8-REMOVAL-TYPE", "B2-WSN-ID"]
            ),
            ("R2", RecordStatus::Success, vec![]),
            ("R3", RecordStatus::Warning, vec!["EX-ONLY-FIELD"]),
        ]
    );
    assert!(parsed.rows.iter().all(|r| r.school == "0002"));
    assert_eq!(parsed.rows[0].incident_id, "INC-A");
    assert_eq!(parsed.worst_status(), RecordStatus::Error);
    assert_eq!(parsed.count(RecordStatus::Success), 1);
}

/// The seed's Table B-3 example (wisconsin-ises-discipline-csv.txt, the lines after "The
/// following is an example of the Load Failure File Definition:"), with its curly quotes,
/// stray spaces, missing opening quote and blank lines. One change: the seed wraps the first
/// `03` row after `”23456789012”,` onto a new line (page width); it is joined here.
#[test]
fn the_seeds_b3_example_parses() {
    let seed = "“01”,” 09-01-2008 07:00:05 CST”,”00001”,“YED”,“0001”\n\n\
“02”,”0002”,”D”,”2008”\n\n\
“03”,”1112223333”,”01/02/2003”,\"2007\",09/02/2007”,”09/03/2007”,”12345678901”,”23456789012”,”SUCCESS”,””\n\n\
“03”,” 2223334444”,”11/02/2004”, \"2007\",”05/04/2007”,”05/04/2007”,””,””,”ERROR”,”18”\n\n\
“03”,” 2223334444”,”11/02/2004”, \"2007\",”05/04/2007”,”05/04/2007”,””,””,”ERROR”,”47”\n\n\
\"04\",\"EOF\"\n";
    let parsed = parse_failure_file(seed.as_bytes()).expect("parses");
    assert_eq!(parsed.header.dtg, "09-01-2008 07:00:05 CST");
    assert_eq!(parsed.header.district, "0001");
    assert_eq!(parsed.rows.len(), 3);
    let first = &parsed.rows[0];
    assert_eq!(first.wsn_id, "1112223333");
    assert_eq!(first.year_incident, "2007");
    assert_eq!(first.incident_date, "09/02/2007");
    assert_eq!(first.removal_id, "23456789012");
    assert_eq!(first.status, RecordStatus::Success);
    assert!(first.reason_codes.is_empty());
    assert_eq!(parsed.rows[1].wsn_id, "2223334444");
    assert_eq!(parsed.rows[1].year_incident, "2007");
    assert_eq!(parsed.rows[1].reason_codes, vec!["18"]);
    assert_eq!(parsed.rows[2].reason_codes, vec!["47"]);
    assert_eq!(parsed.count(RecordStatus::Error), 2);
}

#[test]
fn windows_1252_curly_quotes_are_read() {
    let mut bytes =
        b"\x9301\x94,\x9309-01-2008 07:00:05 CST\x94,\"00001\",\"YED\",\"0001\"\r\n".to_vec();
    bytes.extend_from_slice(b"\"02\",\"0002\",\"D\",\"2008\"\r\n\"04\",\"EOF\"\r\n");
    let parsed = parse_failure_file(&bytes).expect("parses");
    assert_eq!(parsed.header.dtg, "09-01-2008 07:00:05 CST");
    assert!(parsed.rows.is_empty());
}

#[test]
fn truncated_and_malformed_failure_files_are_refused() {
    let good = "\"01\",\"09-01-2008 07:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n\
\"02\",\"0002\",\"D\",\"2008\"\r\n\
\"03\",\"1112223333\",\"01/02/2003\",\"2007\",\"09/02/2007\",\"09/03/2007\",\"\",\"\",\"ERROR\",\"18\"\r\n";
    match parse_failure_file(good.as_bytes()) {
        Err(IsesError::ResponseTruncated { records, .. }) => assert_eq!(records, 3),
        other => panic!("expected truncated, got {other:?}"),
    }
    let cases = [
        (
            format!("{good}\"04\",\"EOF\"\r\n\"03\",\"x\"\r\n"),
            "after the \"04\",\"EOF\" trailer",
        ),
        (
            good.replace("\"ERROR\"", "\"BROKEN\"") + "\"04\",\"EOF\"\r\n",
            "STATUS \"BROKEN\"",
        ),
        (
            good.replace("\"02\",\"0002\",\"D\",\"2008\"\r\n", "") + "\"04\",\"EOF\"\r\n",
            "before any 02 school",
        ),
        (
            good.replace(",\"09/03/2007\",\"\",\"\",\"ERROR\",\"18\"", "") + "\"04\",\"EOF\"\r\n",
            "03 student record has 5 fields, 9 expected",
        ),
        (format!("{good}\"04\",\"END\"\r\n"), "not \"04\",\"EOF\""),
        (
            format!("{good}\"09\",\"EOF\"\r\n"),
            "unknown record type \"09\"",
        ),
        (
            "\"02\",\"0002\",\"D\",\"2008\"\r\n\"04\",\"EOF\"\r\n".to_owned(),
            "the 01 header",
        ),
        (String::new(), "the 01 header (the file is empty)"),
    ];
    for (input, expected) in cases {
        let err = parse_failure_file(input.as_bytes()).expect_err(expected);
        assert!(
            err.to_string().contains(expected),
            "{err} does not name {expected:?}"
        );
    }
}

#[test]
fn success_report_parses() {
    let report =
        parse_load_results(&fixture("R_0130_0000_08012007_IDL_00002.html")).expect("parses");
    assert_eq!(report.kind, ReportKind::LoadResults);
    assert_eq!(report.district.as_deref(), Some("0130"));
    assert_eq!(report.school.as_deref(), Some("0000"));
    assert_eq!(report.file_name, "S_0130_0000_08012007_IDL_00002.csv");
    assert_eq!(report.file_status, FileStatus::Success);
    assert!(report.records.is_empty());
    assert_eq!(report.schools, vec!["0002", "0003"]);
    assert_eq!(report.outcome(), Outcome::Success);
}

#[test]
fn warning_report_parses() {
    let report =
        parse_load_results(&fixture("R_0130_0000_08012007_IDL_00003.html")).expect("parses");
    assert_eq!(report.file_status, FileStatus::Success);
    assert_eq!(report.file_name, "S_0130_0000_08012007_IDL_00003.csv");
    assert_eq!(report.records.len(), 1);
    let record = &report.records[0];
    assert_eq!(record.wsn_id, "1112223333");
    assert_eq!(record.collection_type, "YED");
    assert_eq!(record.year, "2008");
    assert_eq!(record.enroll_date, "01/02/2003");
    assert_eq!(record.data_element, "ReturnToSchool");
    assert_eq!(record.data_element_value, "Y");
    assert_eq!(record.line, "4");
    assert_eq!(record.status, Some(RecordStatus::Warning));
    assert_eq!(record.reason, "26");
    assert_eq!(record.reason_link.as_deref(), Some("/ises/reasons?code=26"));
    assert_eq!(report.schools, vec!["0002"]);
    assert_eq!(report.outcome(), Outcome::Warning);
    assert_eq!(report.count(RecordStatus::Warning), 1);
}

#[test]
fn failure_report_parses() {
    let report =
        parse_load_results(&fixture("R_0130_0000_08012007_IDL_00004.html")).expect("parses");
    assert_eq!(report.file_status, FileStatus::Failure);
    assert_eq!(report.outcome(), Outcome::Failure);
    let reasons: Vec<&str> = report.records.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons, vec!["18", "47"]);
    assert_eq!(report.records[1].data_element_value, "<blank>");
    assert_eq!(
        report.records[0].reason_link.as_deref(),
        Some("/ises/reasons?code=18&c=YED")
    );
    assert_eq!(report.count(RecordStatus::Error), 2);
    assert_eq!(report.schools, vec!["0002"]);
}

#[test]
fn csv_error_report_is_a_failure() {
    let report =
        parse_load_results(&fixture("R_0130_0000_08012007_IDL_00005.html")).expect("parses");
    assert_eq!(report.kind, ReportKind::CsvError);
    assert_eq!(report.file_status, FileStatus::Failure);
    assert_eq!(report.file_name, "S_0130_0000_08012007_IDL_00005.csv");
    assert!(
        report
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Please contact your district staff or vendor."))
    );
    assert_eq!(report.outcome(), Outcome::Failure);
}

#[test]
fn reports_missing_essentials_are_refused() {
    let success = fixture("R_0130_0000_08012007_IDL_00002.html");
    let failure = fixture("R_0130_0000_08012007_IDL_00004.html");
    let cut = success.find("File Status").expect("has a status");
    let cases = [
        (
            success.replace("<TR><TH>File Status:</TH><TD><B>Success</B></TD></TR>", ""),
            "File Status is missing",
        ),
        (
            success.replace(
                "<TR><TH>File Name:</TH><TD>S_0130_0000_08012007_IDL_00002.csv</TD></TR>",
                "",
            ),
            "File Name is missing",
        ),
        (
            success.replace("<TR><TH>District Number:</TH><TD>0130</TD></TR>", ""),
            "District Number is missing",
        ),
        (
            success.replace("<TR><TH>School Number:</TH><TD>0000</TD></TR>", ""),
            "School Number is missing",
        ),
        (
            success.replace("<B>Success</B>", "Pending"),
            "File Status \"Pending\"",
        ),
        (
            failure.replace("<font color=\"red\">Failure</font>", "Success"),
            "a record Error always fails the file",
        ),
        (
            failure.replace("<td>Error</td>", "<td>Bad</td>"),
            "Record Status \"Bad\"",
        ),
        (
            failure.replace("<a href='/ises/reasons?code=47'>47</a>", ""),
            "the Reason of the record for WSN 2223334444",
        ),
        (
            "<html><body><p>Service unavailable</p></body>".to_owned(),
            "File Status is missing",
        ),
        // Cut off mid-document: the status row never arrives.
        (success[..cut].to_owned(), "File Status is missing"),
    ];
    for (input, expected) in cases {
        let err = parse_load_results(&input).expect_err(expected);
        assert!(
            err.to_string().contains(expected),
            "{err} does not name {expected:?}"
        );
    }
}

#[test]
fn entities_comments_whitespace_and_case_are_tolerated() {
    let html = "<P>district number :&#48;130</P><p>SCHOOL NUMBER: 0000</p>\
<p>file&nbsp;name: S_0130_0000_08012007_IDL_00009.csv</p><!-- File Status: Success -->\
<p>File   Status:\n  failure </p>";
    let report = parse_load_results(html).expect("parses");
    assert_eq!(report.district.as_deref(), Some("0130"));
    assert_eq!(report.school.as_deref(), Some("0000"));
    assert_eq!(report.file_name, "S_0130_0000_08012007_IDL_00009.csv");
    assert_eq!(report.file_status, FileStatus::Failure);
}

#[test]
fn file_errors_are_read_so_a_failure_without_records_still_says_why() {
    let html = "<html><body><table>\
        <tr><th>District Number</th><td>0130</td></tr>\
        <tr><th>School Number</th><td>0000</td></tr>\
        <tr><th>File Name</th><td>S_0130_0000_08012007_IDL_00001.csv</td></tr>\
        <tr><th>File Status</th><td>Failure</td></tr></table>\
        <h2>File Errors</h2><table>\
        <tr><th>Code</th><th>Rule</th><th>Detail</th></tr>\
        <tr><td>SEQ_NUM_REUSED</td><td>Sequence number already received</td>\
        <td>00001 was received on 08/01/2007</td></tr></table>\
        <table><tr><th>WSN</th><th>Line</th><th>Reason</th></tr></table>\
        <h2>Reasons</h2><table><tr><th>Code</th><th>Rule</th><th>Source</th></tr>\
        <tr><td>18</td><td>WSLS match</td><td>B-2</td></tr></table></body></html>";
    let report = parse_load_results(html).expect("parses");
    assert_eq!(report.file_status, FileStatus::Failure);
    assert!(report.records.is_empty());
    assert_eq!(
        report.file_errors,
        vec![FileError {
            code: "SEQ_NUM_REUSED".to_owned(),
            rule: "Sequence number already received".to_owned(),
            detail: "00001 was received on 08/01/2007".to_owned(),
        }]
    );
    let plain = parse_load_results(&fixture("R_0130_0000_08012007_IDL_00002.html")).expect("ok");
    assert!(plain.file_errors.is_empty());
}
