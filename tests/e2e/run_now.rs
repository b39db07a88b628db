//! `ferry run`: the summary, history rows, exit codes, parameters, job state and secrets.

use ferry_tests::{Backend, Sandbox};

const HELLO: &str = r#"
[jobs.hello]
plugin = "example"
[jobs.hello.settings]
greeting = "Hello from Ferry"
rows = 4
"#;

fn run_example_and_read_history(backend: Backend) {
    let sb = Sandbox::new(backend);
    sb.config(HELLO);
    let run = sb.ferry(&["run", "hello"]);
    run.assert_code(0);
    let out = run.stdout();
    assert!(
        out.contains("Rows Imported"),
        "summary table missing:\n{out}"
    );
    assert!(out.contains("greetings"), "table row missing:\n{out}");

    let history = sb.history();
    assert_eq!(history.len(), 1);
    let e = &history[0];
    assert_eq!(e["job"], "hello");
    assert_eq!(e["status"], "succeeded");
    assert_eq!(e["trigger"], "manual");
    assert_eq!(e["attempt"], 1);
    assert!(e["scheduled_for"].is_null());
    assert!(e["duration_seconds"].as_f64().is_some_and(|s| s >= 0.0));
    assert!(
        e["started_at"]
            .as_str()
            .is_some_and(|s| s.ends_with("-06:00")),
        "{e}"
    );
    assert!(!e["host"].as_str().unwrap_or("").is_empty());
    assert_eq!(e["plugin"], "ferry-job-example");

    let id = e["id"].as_i64().expect("id");
    let show = sb.show(id);
    let tables = show["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 1, "{show}");
    assert_eq!(tables[0]["table"], "greetings");
    assert_eq!(tables[0]["rows"], 4);
    let files = show["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{show}");
    let csv = std::fs::read_to_string(files[0]["path"].as_str().expect("path")).expect("csv");
    assert_eq!(csv.lines().count(), 5, "header + 4 rows:\n{csv}");
    assert!(show["notices"].as_array().is_some() && show["transfers"].as_array().is_some());

    let logs = sb.ferry(&["logs", &id.to_string()]);
    logs.assert_code(0);
    assert!(
        logs.stdout().contains("this is run number 1"),
        "{}",
        logs.stdout()
    );
}

#[test]
fn run_example_and_read_history_sqlite() {
    run_example_and_read_history(Backend::Sqlite);
}

#[test]
fn run_example_and_read_history_postgres() {
    run_example_and_read_history(Backend::Postgres);
}

#[test]
fn set_parameters_reach_the_plugin_and_are_recorded() {
    let sb = Sandbox::sqlite();
    sb.config(HELLO);
    sb.ferry(&["run", "hello", "--set", "rows=2", "--no-fetch"])
        .assert_code(0);
    let e = &sb.history()[0];
    assert_eq!(e["params"]["rows"], "2");
    assert_eq!(e["no_fetch"], true);
    let show = sb.show(e["id"].as_i64().unwrap());
    assert_eq!(show["tables"][0]["rows"], 2, "{show}");
}

#[test]
fn job_state_persists_between_runs() {
    let sb = Sandbox::sqlite();
    sb.config(HELLO);
    sb.ferry(&["run", "hello"]).assert_code(0);
    sb.ferry(&["run", "hello"]).assert_code(0);
    let id = sb.history()[0]["id"].as_i64().unwrap();
    let logs = sb.ferry(&["logs", &id.to_string()]).stdout();
    assert!(logs.contains("run number 2"), "{logs}");
}

#[test]
fn a_failing_job_exits_1_and_records_its_error() {
    let sb = Sandbox::sqlite();
    sb.config(
        r#"
[jobs.bad]
plugin = "example"
settings = { fail = true }
"#,
    );
    let run = sb.ferry(&["run", "bad"]);
    run.assert_code(1);
    let e = &sb.history()[0];
    assert_eq!(e["status"], "failed");
    assert!(e["error"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
}

#[test]
fn unknown_job_is_a_usage_error() {
    let sb = Sandbox::sqlite();
    sb.config(HELLO);
    let run = sb.ferry(&["run", "nope"]);
    run.assert_code(2);
    assert!(run.stderr().contains("nope"), "{}", run.stderr());
}

#[test]
fn secrets_are_redacted_from_logs_and_history() {
    let sb = Sandbox::sqlite();
    sb.config(
        r#"
[jobs.secretive]
plugin = "example"
settings = { token_env = "FERRY_TEST_TOKEN" }
"#,
    );
    let run = sb
        .command(&["run", "secretive"])
        .env("FERRY_TEST_TOKEN", "tok-3f9a-very-secret")
        .output()
        .expect("run");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!printed.contains("tok-3f9a-very-secret"), "{printed}");
    let id = sb.history()[0]["id"].as_i64().unwrap();
    let logs = sb.ferry(&["logs", &id.to_string()]).stdout();
    assert!(logs.contains("token is ***"), "{logs}");
    assert!(!logs.contains("tok-3f9a-very-secret"), "{logs}");
    let db = std::fs::read(sb.path().join("ferry.db")).unwrap_or_default();
    let wal = std::fs::read(sb.path().join("ferry.db-wal")).unwrap_or_default();
    let needle = b"tok-3f9a-very-secret";
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle),
        "the secret reached the store file"
    );
}

#[test]
fn a_missing_secret_fails_the_run_without_naming_a_value() {
    let sb = Sandbox::sqlite();
    sb.config(
        r#"
[jobs.secretive]
plugin = "example"
settings = { token_env = "FERRY_TEST_TOKEN_UNSET" }
"#,
    );
    sb.ferry(&["run", "secretive"]).assert_code(1);
    let e = &sb.history()[0];
    assert_eq!(e["status"], "failed");
    assert!(
        e["error"]
            .as_str()
            .unwrap_or("")
            .contains("FERRY_TEST_TOKEN_UNSET"),
        "{e}"
    );
}
