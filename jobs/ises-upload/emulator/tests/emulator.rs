//! The drop box end to end: answers written into a folder, read back with the ises-upload job's
//! own parsers (`parse_load_results`, `parse_failure_file`) so the emulator's layouts are known
//! to round-trip, and the background poller answering a file dropped the way the uploader
//! drops one (hidden `.part` name, then a rename).
// The poller is a plain thread and these tests have no async runtime, so waiting is sleeping.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_ises_emulator::{Answer, Config, DropBox, FileStatus};
use ferry_job_ises_upload::response::{
    FileStatus as JobFileStatus, Outcome, RecordStatus, ReportKind, parse_failure_file,
    parse_load_results,
};

/// Appendix B.2's example Load File for district 0130 (ASCII quotes, CR LF).
const EXAMPLE: &str = concat!(
    "\"01\",\"08-01-2007 13:00:05 CST\",\"00002\",\"YED\",\"0130\"\r\n",
    "\"02\",\"0002\",\"D\",\"2008\"\r\n",
    "\"03\",\"\",\"2008\",\"1234567890\",\"09/02/2003\",\"04/12/2008\",\"SR\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"\",\"\"\r\n",
    "\"03\",\"\",\"2008\",\"2345678901\",\"02/14/2005\",\"11/02/2007\",\"AE\",\"AL\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"12/04/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"7.0\",\"\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"EX\",\"12/14/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"45.0\",\"\",\"\"\r\n",
    "\"02\",\"0003\",\"D\",\"2008\"\r\n",
    "\"05\",\"EOF\"\r\n",
);

fn name(seq: u32) -> String {
    format!("S_0130_0000_08012007_IDL_{seq:05}.csv")
}

fn example(seq: u32) -> String {
    EXAMPLE.replace("\"00002\"", &format!("\"{seq:05}\""))
}

fn drop_file(dir: &Path, name: &str, text: &str) {
    let part = dir.join(format!(".{name}.part"));
    std::fs::write(&part, text).expect("write part");
    std::fs::rename(&part, dir.join(name)).expect("rename");
}

fn only(answers: Vec<Answer>) -> Answer {
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers.into_iter().next().expect("one answer")
}

#[test]
fn the_spec_example_is_answered_success_and_the_job_reads_it_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop_file(dir.path(), &name(2), &example(2));
    let mut dropbox = DropBox::new(Config::new(dir.path()));
    let answer = only(dropbox.process_pending().expect("processes"));
    assert_eq!(answer.status, FileStatus::Success);
    assert_eq!(answer.failure_file, None);
    assert_eq!(
        answer.report,
        dir.path().join("R_0130_0000_08012007_IDL_00002.html")
    );
    let html = std::fs::read_to_string(&answer.report).expect("report");
    let read = parse_load_results(&html).expect("the job reads the report");
    assert_eq!(read.kind, ReportKind::LoadResults);
    assert_eq!(read.file_status, JobFileStatus::Success);
    assert_eq!(read.outcome(), Outcome::Success);
    assert_eq!(read.district.as_deref(), Some("0130"));
    assert_eq!(read.school.as_deref(), Some("0000"));
    assert_eq!(read.file_name, name(2));
    assert!(read.records.is_empty());
    assert_eq!(read.schools, vec!["0002".to_owned(), "0003".to_owned()]);

    // Answered once: neither memory nor a restarted drop box answers it again.
    assert!(dropbox.process_pending().expect("again").is_empty());
    let mut restarted = DropBox::new(Config::new(dir.path()));
    assert!(restarted.process_pending().expect("restarted").is_empty());
    // Nothing half-written is left behind.
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_failing_file_round_trips_its_status_counts_and_reason_codes() {
    let watch = tempfile::tempdir().expect("tempdir");
    let answers = tempfile::tempdir().expect("tempdir");
    // 49 and 1 on one removal, 41 on the other incident, and an unknown WSN (18).
    let text = example(3)
        .replacen("\"OS\",\"12/04/2007\"", "\"XX\",\"12/04/2007\"", 1)
        .replacen("\"7.0\"", "\"7.3\"", 1)
        .replacen("\"SR\"", "\"ZZ\"", 1);
    drop_file(watch.path(), &name(3), &text);
    let mut config = Config::new(watch.path());
    config.answer_dir = answers.path().to_owned();
    config.known_wsns = Some(BTreeSet::from(["1234567890".to_owned()]));
    let answer = only(DropBox::new(config).process_pending().expect("processes"));
    assert_eq!(answer.status, FileStatus::Failure);
    assert!(!answer.csv_error);
    assert_eq!(answer.reasons, ["1", "18", "41", "49"]);

    let html = std::fs::read_to_string(&answer.report).expect("report");
    let read = parse_load_results(&html).expect("the job reads the report");
    assert_eq!(read.file_status, JobFileStatus::Failure);
    assert_eq!(read.outcome(), Outcome::Failure);
    assert_eq!(read.count(RecordStatus::Error), answer.errors);
    assert_eq!(answer.errors, 4);
    let mut reasons: Vec<&str> = read.records.iter().map(|r| r.reason.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["1", "18", "41", "49"]);
    let removal_type = read
        .records
        .iter()
        .find(|r| r.reason == "49")
        .expect("the 49 row");
    assert_eq!(removal_type.wsn_id, "2345678901");
    assert_eq!(removal_type.collection_type, "YED");
    assert_eq!(removal_type.year, "2008");
    assert_eq!(removal_type.enroll_date, "02/14/2005");
    assert_eq!(removal_type.data_element, "RemovalType");
    assert_eq!(removal_type.data_element_value, "XX");
    assert_eq!(removal_type.line, "6");
    assert_eq!(removal_type.reason_link.as_deref(), Some("#reason-49"));

    let dlf_path = answer.failure_file.expect("a Load Failure File");
    let dlf_name = dlf_path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        dlf_name.starts_with("S_0130_0000_") && dlf_name.ends_with("_DLF_00003.csv"),
        "{dlf_name}"
    );
    let dlf =
        parse_failure_file(&std::fs::read(&dlf_path).expect("dlf")).expect("the job reads it");
    assert_eq!(dlf.header.seq_num, "00003");
    assert_eq!(dlf.header.district, "0130");
    assert_eq!(dlf.header.collection, "YED");
    assert_eq!(dlf.header.dtg, "08-01-2007 13:00:05 CST");
    assert_eq!(dlf.schools.len(), 2);
    let rows: Vec<(&str, &str, RecordStatus, Vec<String>)> = dlf
        .rows
        .iter()
        .map(|r| {
            (
                r.wsn_id.as_str(),
                r.removal_start_date.as_str(),
                r.status,
                r.reason_codes.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "1234567890",
                "04/13/2008",
                RecordStatus::Error,
                vec!["41".to_owned()]
            ),
            (
                "2345678901",
                "12/04/2007",
                RecordStatus::Error,
                vec!["18".to_owned()]
            ),
            (
                "2345678901",
                "12/04/2007",
                RecordStatus::Error,
                vec!["49".to_owned()]
            ),
            (
                "2345678901",
                "12/04/2007",
                RecordStatus::Error,
                vec!["1".to_owned()]
            ),
            (
                "2345678901",
                "12/14/2007",
                RecordStatus::Error,
                vec!["18".to_owned()]
            ),
        ]
    );
    assert_eq!(dlf.worst_status(), RecordStatus::Error);
}

#[test]
fn warnings_round_trip_as_a_warning_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    // EARLY_REINSTATE_CONDITIONS on an out-of-school suspension.
    let text = example(4).replacen("\"04/13/2008\",\"\",\"\"", "\"04/13/2008\",\"\",\"N\"", 1);
    drop_file(dir.path(), &name(4), &text);
    let answer = only(
        DropBox::new(Config::new(dir.path()))
            .process_pending()
            .expect("processes"),
    );
    assert_eq!(
        (answer.status, answer.errors, answer.warnings),
        (FileStatus::Success, 0, 1)
    );
    let read = parse_load_results(&std::fs::read_to_string(&answer.report).expect("report"))
        .expect("the job reads the report");
    assert_eq!(read.outcome(), Outcome::Warning);
    assert_eq!(read.count(RecordStatus::Warning), 1);
    assert_eq!(read.records[0].reason, "10");
}

#[test]
fn a_csv_error_gets_the_csv_error_report_and_an_err_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop_file(
        dir.path(),
        &name(5),
        &example(5).replacen("\"SR\"", "\"S'R\"", 1),
    );
    let answer = only(
        DropBox::new(Config::new(dir.path()))
            .process_pending()
            .expect("processes"),
    );
    assert!(answer.csv_error);
    assert_eq!(answer.status, FileStatus::Failure);
    assert!(answer.failure_file.is_none());
    let err = std::fs::read_to_string(answer.error_file.expect("an .ERR file")).expect("err");
    assert!(err.contains("line 3"), "{err}");
    let read = parse_load_results(&std::fs::read_to_string(&answer.report).expect("report"))
        .expect("the job reads the report");
    assert_eq!(read.kind, ReportKind::CsvError);
    assert_eq!(read.file_status, JobFileStatus::Failure);
    assert_eq!(read.file_name, name(5));
    assert_eq!(
        read.message.as_deref(),
        Some(
            "File S_0130_0000_08012007_IDL_00005.csv erred due to CSV errors. Please contact your district staff or vendor."
        )
    );
}

#[test]
fn a_sequence_number_is_refused_the_second_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dropbox = DropBox::new(Config::new(dir.path()));
    drop_file(dir.path(), &name(6), &example(6));
    assert_eq!(
        only(dropbox.process_pending().expect("first")).status,
        FileStatus::Success
    );
    // The same district, school, YEAR and sequence number under another file date.
    let again = "S_0130_0000_08022007_IDL_00006.csv";
    drop_file(dir.path(), again, &example(6));
    let answer = only(dropbox.process_pending().expect("second"));
    assert_eq!(answer.load_file, again);
    assert_eq!(answer.status, FileStatus::Failure);
    assert_eq!(answer.reasons, ["SEQ_NUM_REUSED"]);
    assert!(answer.failure_file.is_none());
    let read = parse_load_results(&std::fs::read_to_string(&answer.report).expect("report"))
        .expect("the job reads the report");
    assert_eq!(read.file_status, JobFileStatus::Failure);
    assert!(read.records.is_empty());
}

#[test]
fn the_background_poller_answers_a_renamed_upload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = DropBox::new(Config::new(dir.path())).spawn(Duration::from_millis(20));
    // A hidden partial upload is never answered.
    let part = dir.path().join(format!(".{}.part", name(7)));
    std::fs::write(&part, &example(7)[..40]).expect("write part");
    std::thread::sleep(Duration::from_millis(100));
    assert!(running.answered().is_empty());
    std::fs::write(&part, example(7)).expect("finish part");
    std::fs::rename(&part, dir.path().join(name(7))).expect("rename");
    let report = dir.path().join("R_0130_0000_08012007_IDL_00007.html");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !report.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(report.exists(), "no answer within 10 s");
    let html = std::fs::read_to_string(&report).expect("report");
    assert_eq!(
        parse_load_results(&html).expect("reads").file_status,
        JobFileStatus::Success
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.answered().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let answered = running.answered();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].load_file, name(7));
    assert!(running.failures().is_empty());
    drop(running);
}
