//! The ises-upload job reading the state's answer: Load Files uploaded to the real OpenSSH
//! sshd, answered by the ISES drop-box emulator (`ferry-ises-emulator`) with a Load Results
//! Report and, on failure, a Load Failure File that the run downloads, parses and is judged by;
//! no answer within the timeout; and sequence numbers starting again in a new school year.

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_ises_emulator::{Config, DropBox};
use ferry_tests::peers::Sshd;
use ferry_tests::sis::SisDb;
use ferry_tests::{Backend, Sandbox, file_names, run_files};
use serde_json::Value as Json;

const SCHEMA_SQLITE: &str = include_str!("../../jobs/ises-upload/fixtures/source-sqlite.sql");
const SAMPLE_DATA: &str = include_str!("../../jobs/ises-upload/fixtures/sample-data.sql");

/// A sandbox whose SIS holds the spec's example records (SQLite).
fn sandbox_with_sis() -> (Sandbox, SisDb) {
    let sb = Sandbox::sqlite();
    let sis = SisDb::new(Backend::Sqlite, &sb);
    sis.batch(SCHEMA_SQLITE);
    sis.batch(SAMPLE_DATA);
    (sb, sis)
}

/// The job's settings table, after `[jobs.ises.settings]`.
fn settings(sis: &SisDb, year: i32, connection: &str, extra: &str) -> String {
    format!(
        "[jobs.ises]\nplugin = \"ises-upload\"\n\n[jobs.ises.settings]\n\
         source_database = \"{}\"\ndistrict_code = \"0130\"\nschool_code = \"0000\"\n\
         year = {year}\nschools = [\"0003\"]\nupload_connection = \"{connection}\"\n{extra}",
        sis.url()
    )
}

/// `ferry run ises`: exit code, `ferry show --json` and the command's output.
fn run(sb: &Sandbox) -> (Option<i32>, Json, String) {
    let out = sb.ferry(&["run", "ises"]);
    let id = sb.history()[0]["id"].as_i64().expect("run id");
    let show = sb.show(id);
    let text = format!("--- stdout\n{}\n--- stderr\n{}", out.stdout(), out.stderr());
    (out.code(), show, text)
}

fn tables(show: &Json) -> Vec<(String, i64, String)> {
    show["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["table"].as_str().expect("table").to_owned(),
                t["rows"].as_i64().expect("rows"),
                t["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

fn set(items: &[&str]) -> Option<BTreeSet<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn sftp_uploads_are_judged_by_the_emulated_state_answer() {
    let (sb, sis) = sandbox_with_sis();
    let sshd = Sshd::get();
    let tail = sb
        .path()
        .file_name()
        .expect("sandbox name")
        .to_string_lossy()
        .replace('.', "");
    let incoming_name = format!("ises-in-{tail}");
    let answers_name = format!("ises-out-{tail}");
    let incoming = sshd.dir(&incoming_name);
    let answers = sshd.dir(&answers_name);
    sb.config(&format!(
        "[connections.ises]\nkind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         private_key = \"{}\"\nknown_hosts = \"{}\"\n\n{}",
        sshd.host,
        sshd.port,
        sshd.user,
        sshd.key.display(),
        sshd.known_hosts.display(),
        settings(
            &sis,
            2008,
            "ises",
            &format!(
                "upload_dir = \"{incoming_name}\"\nresponse_dir = \"{answers_name}\"\n\
                 response_timeout = \"60s\"\n"
            )
        )
    ));
    // The state knows the district's schools and, in WSLS, the two students of the example.
    let emulator = DropBox::new(Config {
        watch_dir: incoming.clone(),
        answer_dir: answers.clone(),
        valid_schools: set(&["0002", "0003"]),
        known_wsns: set(&["1234567890", "2345678901"]),
    })
    .spawn(Duration::from_millis(100));

    // 1. The example loads: Success.
    let (code, show, out) = run(&sb);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}\n{out}");
    let responses = run_files(&show, "response");
    assert_eq!(responses.len(), 1, "{show}");
    let report_name = responses[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        report_name.starts_with("R_0130_0000_") && report_name.ends_with("_IDL_00001.html"),
        "{report_name}"
    );
    assert_eq!(
        std::fs::read(&responses[0]).expect("downloaded report"),
        std::fs::read(answers.join(&report_name)).expect("the emulator's report")
    );
    assert!(
        tables(&show).contains(&(
            "ISES answer: removals loaded".to_owned(),
            3,
            "imported".to_owned()
        )),
        "{show}"
    );
    let downloads: Vec<&Json> = show["transfers"]
        .as_array()
        .expect("transfers")
        .iter()
        .filter(|t| t["direction"] == "download")
        .collect();
    assert_eq!(downloads.len(), 1, "the report is a file moved: {show}");

    // 2. A student WSLS does not know: locally valid, refused by the state. The run fails
    //    with the state's reason, the failure file is read, and the number is spent.
    sis.batch(
        "UPDATE ises_incidents SET wsn_id = '3456789012' WHERE incident_key = '2008-0002-0001'",
    );
    let (code, show, out) = run(&sb);
    assert_ne!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "failed", "{show}\n{out}");
    let responses = run_files(&show, "response");
    assert_eq!(responses.len(), 2, "report and failure file: {show}");
    assert!(
        responses
            .iter()
            .any(|p| p.to_string_lossy().ends_with("_DLF_00002.csv")),
        "{responses:?}"
    );
    let summary = show.to_string();
    assert!(summary.contains("File Status Failure"), "{show}");
    let problems = show["problems"]["first"].as_array().expect("problems");
    let state_problems: Vec<&Json> = problems
        .iter()
        .filter(|p| {
            p["category"]
                .as_str()
                .is_some_and(|c| c.starts_with("ISES reason "))
        })
        .collect();
    assert_eq!(state_problems.len(), 1, "{show}");
    assert!(
        state_problems[0].to_string().contains("3456789012"),
        "{show}"
    );
    let by_status: Vec<(String, i64)> = tables(&show)
        .into_iter()
        .filter(|(t, _, a)| t.starts_with("ISES answer:") && a == "failed")
        .map(|(t, n, _)| (t, n))
        .collect();
    assert_eq!(
        by_status,
        vec![
            ("ISES answer: SUCCESS rows".to_owned(), 2),
            ("ISES answer: ERROR rows".to_owned(), 1)
        ],
        "{show}"
    );

    // 3. Corrected: a new number, accepted.
    sis.batch(
        "UPDATE ises_incidents SET wsn_id = '1234567890' WHERE incident_key = '2008-0002-0001'",
    );
    let (code, show, out) = run(&sb);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "succeeded", "{show}");
    let uploaded = file_names(&incoming);
    assert_eq!(uploaded.len(), 3, "{uploaded:?}");
    for (name, seq) in uploaded.iter().zip(["00001", "00002", "00003"]) {
        assert!(name.ends_with(&format!("_IDL_{seq}.csv")), "{uploaded:?}");
    }
    let answered = emulator.answered();
    assert_eq!(answered.len(), 3, "{answered:?}");
}

#[test]
fn no_answer_within_the_timeout_ends_the_run_warning() {
    let (sb, sis) = sandbox_with_sis();
    let drop = sb.path().join("dropbox");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sb.config(&format!(
        "[connections.drop]\nkind = \"local\"\npath = \"{}\"\n\n{}",
        drop.display(),
        settings(
            &sis,
            2008,
            "drop",
            "upload_dir = \"in\"\nresponse_dir = \"out\"\nresponse_timeout = \"2s\"\n"
        )
    ));
    let (code, show, out) = run(&sb);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert_eq!(show["status"], "warning", "{show}\n{out}");
    assert!(show.to_string().contains("did not answer"), "{show}");
    assert_eq!(file_names(&drop.join("in")).len(), 1);
    assert!(run_files(&show, "response").is_empty(), "{show}");
}

#[test]
fn a_new_school_year_numbers_from_00001_again() {
    let (sb, sis) = sandbox_with_sis();
    let drop = sb.path().join("dropbox");
    std::fs::create_dir_all(&drop).expect("drop folder");
    let config = |year: i32| {
        format!(
            "[connections.drop]\nkind = \"local\"\npath = \"{}\"\n\n{}",
            drop.display(),
            settings(&sis, year, "drop", &format!("upload_dir = \"{year}\"\n"))
        )
    };
    sb.config(&config(2008));
    for _ in 0..2 {
        let (code, show, out) = run(&sb);
        assert_eq!(code, Some(0), "{show}\n{out}");
    }
    assert_eq!(file_names(&drop.join("2008")).len(), 2);

    // The next collection: the same records one year on.
    move_records_to(&sis, 2009, "+1 year");
    sb.config(&config(2009));
    let (code, show, out) = run(&sb);
    assert_eq!(code, Some(0), "{show}\n{out}");
    let names = file_names(&drop.join("2009"));
    assert!(
        names.len() == 1 && names[0].ends_with("_IDL_00001.csv"),
        "{names:?}"
    );
    let text = std::fs::read_to_string(drop.join("2009").join(&names[0])).expect("load file");
    assert!(
        text.contains("\"02\",\"0002\",\"D\",\"2009\"\r\n"),
        "{text}"
    );

    // And back in the old year, its count goes on.
    move_records_to(&sis, 2008, "-1 year");
    sb.config(&config(2008));
    let (code, show, out) = run(&sb);
    assert_eq!(code, Some(0), "{show}\n{out}");
    assert!(
        file_names(&drop.join("2008"))
            .iter()
            .any(|n| n.ends_with("_IDL_00003.csv")),
        "{:?}",
        file_names(&drop.join("2008"))
    );
}

/// Moves every record to the collection `year`, shifting its dates by `shift` (SQLite's
/// `date()` modifier, e.g. `+1 year`).
fn move_records_to(sis: &SisDb, year: i32, shift: &str) {
    sis.batch(&format!(
        "UPDATE ises_incidents SET year_incident = '{year}', \
           enroll_date = date(enroll_date, '{shift}'), \
           incident_date = date(incident_date, '{shift}'); \
         UPDATE ises_removals SET year_removal_type = '{year}', \
           removal_start_date = date(removal_start_date, '{shift}');"
    ));
}
