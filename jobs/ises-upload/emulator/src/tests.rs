//! Unit tests of the emulator's core: one per rule with its reason code, the spec's example
//! Load File, CSV errors and the Load Failure File's rows.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

use super::{Config, FileStatus, Reply, answer_bytes};
use crate::rules::SequenceKey;

/// Appendix B.2's example Load File with ASCII quotes and CR LF (the captions left out).
pub(crate) const SPEC_EXAMPLE: &str = concat!(
    "\"01\",\"08-10-2008 13:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n",
    "\"02\",\"0002\",\"D\",\"2008\"\r\n",
    "\"03\",\"\",\"2008\",\"1234567890\",\"09/02/2003\",\"04/12/2008\",\"SR\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"\",\"\"\r\n",
    "\"03\",\"\",\"2008\",\"2345678901\",\"02/14/2005\",\"11/02/2007\",\"AE\",\"AL\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"12/04/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"7.0\",\"\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"EX\",\"12/14/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"45.0\",\"\",\"\"\r\n",
    "\"02\",\"0003\",\"D\",\"2008\"\r\n",
    "\"05\",\"EOF\"\r\n",
);

const NAME: &str = "S_0001_0000_08102008_IDL_00001.csv";

fn now() -> DateTime<Utc> {
    // 03:30 UTC on Sept 2 is still Sept 1 in CST.
    Utc.with_ymd_and_hms(2008, 9, 2, 3, 30, 0)
        .single()
        .expect("a time")
}

fn lines() -> Vec<Vec<String>> {
    SPEC_EXAMPLE
        .lines()
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

fn join(lines: &[Vec<String>]) -> String {
    lines
        .iter()
        .map(|l| {
            l.iter()
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// The example with field `field` of line `line` (0-based) set to `value`.
fn with(line: usize, field: usize, value: &str) -> String {
    let mut l = lines();
    l[line][field] = value.to_owned();
    join(&l)
}

fn answer_with(name: &str, text: &str, config: &Config, received: &BTreeSet<SequenceKey>) -> Reply {
    answer_bytes(name, text.as_bytes(), now(), config, received).expect("a load file name")
}

fn answer(text: &str) -> Reply {
    answer_with(NAME, text, &Config::new("/nonexistent"), &BTreeSet::new())
}

/// The file fails on a record rule with exactly reason `code` among its reasons.
#[track_caller]
fn fails_with(text: &str, code: &str) -> Reply {
    let reply = answer(text);
    assert_eq!(
        reply.status,
        FileStatus::Failure,
        "{code}: {:?}",
        reply.reasons
    );
    assert!(!reply.csv_error, "{code}: unexpectedly a CSV error");
    assert!(
        reply.reasons.iter().any(|r| r == code),
        "expected reason {code}, got {:?}",
        reply.reasons
    );
    reply
}

#[track_caller]
fn csv_error(text: &str, detail: &str) {
    let reply = answer(text);
    assert!(reply.csv_error, "expected a CSV error for {detail}");
    assert_eq!(reply.status, FileStatus::Failure);
    assert!(reply.failure_file.is_none());
    assert!(
        reply.report.1.contains(&format!(
            "File {NAME} erred due to CSV errors. Please contact your district staff or vendor."
        )),
        "{}",
        reply.report.1
    );
    let (err_name, err) = reply.error_file.expect("an .ERR file");
    assert_eq!(err_name, "S_0001_0000_08102008_IDL_00001.ERR");
    assert!(err.contains(detail), "{err:?} should mention {detail:?}");
}

#[test]
fn the_spec_example_succeeds() {
    let reply = answer(SPEC_EXAMPLE);
    assert_eq!(reply.status, FileStatus::Success, "{:?}", reply.reasons);
    assert!(!reply.csv_error);
    assert_eq!((reply.errors, reply.warnings), (0, 0));
    assert!(reply.reasons.is_empty());
    assert!(reply.failure_file.is_none());
    assert_eq!(reply.report.0, "R_0001_0000_08102008_IDL_00001.html");
    let html = &reply.report.1;
    assert!(html.contains("<tr><th>File Status</th><td>Success</td></tr>"));
    assert!(html.contains("<tr><td>0002</td></tr>") && html.contains("<tr><td>0003</td></tr>"));
    assert_eq!(
        reply.sequence,
        Some(("0001".into(), "0000".into(), "2008".into(), "00001".into()))
    );
}

#[test]
fn lf_line_ends_and_unquoted_fields_are_read_too() {
    let text = SPEC_EXAMPLE
        .replace("\r\n", "\n")
        .replace("\"2008\"", "2008");
    assert_eq!(answer(&text).status, FileStatus::Success);
}

#[test]
fn csv_errors() {
    csv_error(&with(2, 6, "S'R"), "'");
    csv_error(&with(2, 6, "S<"), "'<'");
    csv_error(&with(2, 6, "S&"), "'&'");
    csv_error(&with(2, 6, "S~"), "'~'");
    csv_error(&with(2, 6, "S`"), "'`'");
    csv_error(&with(2, 6, "S\u{e9}"), "non-ASCII");
    csv_error(
        &SPEC_EXAMPLE.replace("\"05\",\"EOF\"\r\n", ""),
        "no \"05\",\"EOF\" trailer",
    );
    csv_error(
        &SPEC_EXAMPLE.replace("\"05\",\"EOF\"", "\"05\",\"END\""),
        "not \"05\",\"EOF\"",
    );
    csv_error(
        &SPEC_EXAMPLE.replacen("\"01\",", "\"01\",\"x\",", 1),
        "has 6 fields",
    );
    csv_error(
        &SPEC_EXAMPLE.replacen(",\"SR\",\"\"", ",\"SR\"", 1),
        "has 7 fields",
    );
    csv_error(
        &SPEC_EXAMPLE.replacen(",\"4.0\",\"\",\"\"", ",\"4.0\",\"\"", 1),
        "has 13 fields",
    );
    csv_error(
        &format!("\"02\",\"0002\",\"D\",\"2008\"\r\n{SPEC_EXAMPLE}"),
        "does not begin",
    );
    csv_error(
        &format!("{SPEC_EXAMPLE}\"02\",\"0004\",\"D\",\"2008\"\r\n"),
        "after the",
    );
    csv_error(
        &SPEC_EXAMPLE.replacen(
            "\"03\",\"\",\"2008\",\"1234567890\"",
            "\"07\",\"\",\"2008\",\"1234567890\"",
            1,
        ),
        "unknown record type",
    );
    csv_error(&SPEC_EXAMPLE.replacen("\"SR\"", "\"S\"R\"", 1), "CSV");
    csv_error("", "empty");
    let mut no_incident = lines();
    no_incident.remove(2);
    csv_error(&join(&no_incident), "without its \"03\"");
}

#[test]
fn header_rules() {
    let header = |field: usize, value: &str, code: &str| {
        let reply = fails_with(&with(0, field, value), code);
        assert!(reply.failure_file.is_none(), "header errors write no DLF");
        assert_eq!(reply.errors, 0);
        assert!(reply.report.1.contains(&format!("<tr><td>{code}</td>")));
    };
    header(1, "08-10-2008 13:00:05 EST", "DTG");
    header(1, "2008-08-10 13:00:05 CST", "DTG");
    header(1, "08-10-2008 25:00:05 CST", "DTG");
    header(2, "00002", "SEQ_NUM");
    header(2, "1", "SEQ_NUM");
    header(3, "YE", "COLLECTION");
    header(4, "0130", "DISTRICT");
    header(4, "1", "DISTRICT");
    assert_eq!(
        answer(&with(0, 1, "08/10/2008 13:00:05 CST")).status,
        FileStatus::Success
    );
}

#[test]
fn school_code_0000_exactly_when_several_schools() {
    let mut one = lines();
    one.remove(7);
    let one = join(&one);
    let config = Config::new("/nonexistent");
    let none = BTreeSet::new();
    let r = answer_with(NAME, &one, &config, &none);
    assert!(r.reasons.contains(&"SCHOOL_SCOPE".to_owned()));
    let r = answer_with("S_0001_0002_08102008_IDL_00001.csv", &one, &config, &none);
    assert_eq!(r.status, FileStatus::Success, "{:?}", r.reasons);
    let r = answer_with("S_0001_0005_08102008_IDL_00001.csv", &one, &config, &none);
    assert!(r.reasons.contains(&"SCHOOL_SCOPE".to_owned()));
    let r = answer_with(
        "S_0001_0002_08102008_IDL_00001.csv",
        SPEC_EXAMPLE,
        &config,
        &none,
    );
    assert!(r.reasons.contains(&"SCHOOL_SCOPE".to_owned()));
}

#[test]
fn a_sequence_number_received_before_is_refused() {
    let config = Config::new("/nonexistent");
    let first = answer_with(NAME, SPEC_EXAMPLE, &config, &BTreeSet::new());
    let received: BTreeSet<SequenceKey> = first.sequence.into_iter().collect();
    let again = answer_with(NAME, SPEC_EXAMPLE, &config, &received);
    assert_eq!(again.status, FileStatus::Failure);
    assert_eq!(again.reasons, vec!["SEQ_NUM_REUSED".to_owned()]);
    assert!(again.failure_file.is_none());
    // Another YEAR is another count (A.2: the number restarts each school year).
    let next_year = SPEC_EXAMPLE.replace("2008", "2009").replace("2007", "2008");
    assert_eq!(
        answer_with(NAME, &next_year, &config, &received).status,
        FileStatus::Success
    );
}

#[test]
fn school_rules() {
    fails_with(&with(1, 1, "002"), "57");
    fails_with(&with(1, 1, "0000"), "56");
    fails_with(&with(1, 2, "E"), "69");
    fails_with(&with(1, 3, "08"), "70");
    // A bad school with no incident is a file error; with incidents every row carries it.
    let r = fails_with(&with(7, 1, "03"), "57");
    assert_eq!(r.errors, 0);
    let r = fails_with(&with(1, 2, "X"), "69");
    assert_eq!(r.errors, 2, "one row per incident of the school");

    let mut config = Config::new("/nonexistent");
    config.valid_schools = Some(["0002".to_owned()].into());
    let r = answer_with(NAME, SPEC_EXAMPLE, &config, &BTreeSet::new());
    assert_eq!(r.reasons, vec!["56".to_owned()], "0003 is not in the table");
    config.valid_schools = Some(["0002".to_owned(), "0003".to_owned()].into());
    let r = answer_with(NAME, SPEC_EXAMPLE, &config, &BTreeSet::new());
    assert_eq!(r.status, FileStatus::Success);
}

#[test]
fn incident_rules() {
    fails_with(&with(2, 1, "ABCDEFGHIJKLMNOPQ"), "78");
    assert_eq!(
        answer(&with(2, 1, "ABCDEFGHIJKLMNOP")).status,
        FileStatus::Success
    );
    fails_with(&with(2, 2, "08"), "71");
    fails_with(&with(2, 2, "2009"), "72");
    let prior = with(2, 2, "2007");
    assert_eq!(
        answer(&prior).status,
        FileStatus::Success,
        "INCIDENT_DATE identifies it"
    );
    let mut l = lines();
    l[2][2] = "2007".into();
    l[2][5] = String::new();
    fails_with(&join(&l), "72");
    l[2][1] = "INC-1".into();
    assert_eq!(
        answer(&join(&l)).status,
        FileStatus::Success,
        "INCIDENT_ID identifies it"
    );
    fails_with(&with(2, 3, "123456789"), "73");
    fails_with(&with(2, 3, "12345678AB"), "73");
    fails_with(&with(2, 4, ""), "17");
    fails_with(&with(2, 4, "2003-09-02"), "74");
    fails_with(&with(2, 4, "02/30/2003"), "74");
    fails_with(&with(2, 5, ""), "29");
    fails_with(&with(2, 5, "4/12/2008"), "75");
    fails_with(&with(2, 6, "XX"), "41");
    fails_with(&with(2, 6, "SRX"), "76");
    fails_with(&with(4, 7, "ZZ"), "59");
    fails_with(&with(4, 7, "ALL"), "77");
    assert_eq!(
        answer(&with(2, 6, "")).status,
        FileStatus::Success,
        "nullable upload"
    );
    let mut no_removal = lines();
    no_removal.remove(3);
    fails_with(&join(&no_removal), "45");
}

#[test]
fn wsns_outside_wsls_fail_with_18_for_the_current_year_only() {
    let mut config = Config::new("/nonexistent");
    config.known_wsns = Some(["1234567890".to_owned()].into());
    let r = answer_with(NAME, SPEC_EXAMPLE, &config, &BTreeSet::new());
    assert_eq!(r.status, FileStatus::Failure);
    assert_eq!(r.reasons, vec!["18".to_owned()]);
    assert_eq!(r.errors, 1);
    let (_, dlf) = r.failure_file.expect("a DLF");
    let dlf = String::from_utf8(dlf).expect("ascii");
    assert_eq!(dlf.matches("\"ERROR\",\"18\"").count(), 2, "{dlf}");
    // A prior-year incident is matched against the prior collection, not WSLS.
    let prior = with(4, 2, "2007");
    let r = answer_with(NAME, &prior, &config, &BTreeSet::new());
    assert_eq!(r.status, FileStatus::Success, "{:?}", r.reasons);
}

#[test]
fn removal_rules() {
    fails_with(&with(3, 1, "R2345678901234567"), "80");
    fails_with(&with(3, 2, "08"), "79");
    fails_with(&with(3, 2, "2010"), "79");
    fails_with(&with(6, 2, "2007"), "79");
    assert_eq!(
        answer(&with(3, 2, "2009")).status,
        FileStatus::Success,
        "YEAR + 1 is allowed"
    );
    fails_with(&with(3, 3, "XX"), "49");
    fails_with(&with(3, 4, ""), "45");
    fails_with(&with(3, 4, "13/01/2008"), "45");
    fails_with(&with(3, 4, "04/11/2008"), "46");
    fails_with(&with(5, 4, "06/30/2007"), "46");
    fails_with(&with(3, 4, "10/01/2008"), "46");
    fails_with(&with(3, 5, "X"), "60");
    fails_with(&with(6, 6, "y"), "10");
    fails_with(&with(6, 7, "09"), "20");
    fails_with(&with(6, 8, "Z"), "31");
    fails_with(&with(6, 8, "Y"), "31");
    fails_with(&with(3, 9, "XYZ"), "34");
    fails_with(&with(3, 10, "8"), "13");
    for days in ["", "4.3", "1000", "4.50", ".5", "x"] {
        fails_with(&with(3, 11, days), "1");
    }
    for days in ["4", "4.5", "999.0", "0.5"] {
        assert_eq!(
            answer(&with(3, 11, days)).status,
            FileStatus::Success,
            "{days}"
        );
    }
    fails_with(&with(6, 12, "maybe"), "63");
    fails_with(&with(6, 13, "1"), "53");
    let mut ok = lines();
    ok[6][6] = "Y".into();
    ok[6][7] = "2008".into();
    ok[6][8] = "I".into();
    ok[6][12] = "N".into();
    ok[6][13] = "Y".into();
    ok[3][5] = "N".into();
    let r = answer(&join(&ok));
    assert_eq!(
        (r.status, r.warnings),
        (FileStatus::Success, 0),
        "{:?}",
        r.reasons
    );
}

#[test]
fn expulsion_only_fields_elsewhere_are_warnings() {
    let r = answer(&with(3, 6, "N"));
    assert_eq!(r.status, FileStatus::Success);
    assert_eq!((r.errors, r.warnings), (0, 1));
    assert_eq!(r.reasons, vec!["10".to_owned()]);
    assert!(r.report.1.contains("<td>Warning</td>"));
    assert!(r.failure_file.is_none(), "no DLF for a successful file");
    let mut l = lines();
    l[6][7] = "2009".into();
    l[6][13] = "N".into();
    let r = answer(&join(&l));
    assert_eq!((r.status, r.warnings), (FileStatus::Success, 1));
    assert_eq!(r.reasons, vec!["53".to_owned()]);
}

#[test]
fn a_repeated_removal_breaks_uniqueness() {
    let mut l = lines();
    let copy = l[6].clone();
    l.insert(7, copy);
    let r = fails_with(&join(&l), "68");
    assert_eq!(r.errors, 1, "only the repeat is an error");
    l[7][1] = "R-2".into();
    assert_eq!(
        answer(&join(&l)).status,
        FileStatus::Success,
        "a REMOVAL_ID tells them apart"
    );
}

#[test]
fn the_failure_file_has_a_row_per_reason_and_echoes_the_values() {
    let mut l = lines();
    l[5][3] = "XX".into(); // 49 on the second incident's first removal
    l[5][11] = "7.3".into(); // and 1
    l[6][1] = "R-9".into();
    let r = answer(&join(&l));
    assert_eq!(r.status, FileStatus::Failure);
    let (name, dlf) = r.failure_file.expect("a DLF");
    assert_eq!(
        name, "S_0001_0000_09012008_DLF_00001.csv",
        "the CST processing date"
    );
    let dlf = String::from_utf8(dlf).expect("ascii");
    let expected = concat!(
        "\"01\",\"08-10-2008 13:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n",
        "\"02\",\"0002\",\"D\",\"2008\"\r\n",
        "\"03\",\"1234567890\",\"09/02/2003\",\"2008\",\"04/12/2008\",\"04/13/2008\",\"\",\"\",\"SUCCESS\",\"\"\r\n",
        "\"03\",\"2345678901\",\"02/14/2005\",\"2008\",\"11/02/2007\",\"12/04/2007\",\"\",\"\",\"ERROR\",\"49\"\r\n",
        "\"03\",\"2345678901\",\"02/14/2005\",\"2008\",\"11/02/2007\",\"12/04/2007\",\"\",\"\",\"ERROR\",\"1\"\r\n",
        "\"03\",\"2345678901\",\"02/14/2005\",\"2008\",\"11/02/2007\",\"12/14/2007\",\"\",\"R-9\",\"SUCCESS\",\"\"\r\n",
        "\"02\",\"0003\",\"D\",\"2008\"\r\n",
        "\"04\",\"EOF\"\r\n",
    );
    assert_eq!(dlf, expected);
    assert_eq!(r.errors, 2);
    assert!(
        r.report
            .1
            .contains("<td>RemovalType</td><td>XX</td><td>6</td><td>Error</td>"),
        "{}",
        r.report.1
    );
}

#[test]
fn line_numbers_count_crlf_and_lf_alike() {
    for text in [SPEC_EXAMPLE.to_owned(), SPEC_EXAMPLE.replace("\r\n", "\n")] {
        let f = crate::load::read(text.as_bytes()).expect("reads");
        let school = &f.schools[0];
        assert_eq!((f.header.line, school.line), (1, 2));
        let lines: Vec<(u64, Vec<u64>)> = school
            .incidents
            .iter()
            .map(|i| (i.line, i.removals.iter().map(|r| r.line).collect()))
            .collect();
        assert_eq!(lines, vec![(3, vec![4]), (5, vec![6, 7])]);
        assert_eq!(f.schools[1].line, 8);
    }
}
