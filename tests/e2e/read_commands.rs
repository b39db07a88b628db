//! The read commands: `jobs`, `history`, `logs -f`, `check --json`, `plugins`.

use ferry_tests::{Sandbox, of_job, wait_exit};
use std::time::Duration;

const JOBS: &str = r#"
[jobs.hello]
plugin = "example"
schedule = "0 6 * * 1-5"
timezone = "America/New_York"

[jobs.broken]
plugin = "example"
settings = { fail = true }

[jobs.slow]
plugin = "example"
settings = { sleep_ms = 1500 }
"#;

#[test]
fn jobs_json_lists_schedule_zone_next_fire_and_last_status() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    sb.ferry(&["run", "broken"]).assert_code(1);
    let jobs = sb.ferry(&["jobs", "--json"]);
    jobs.assert_code(0);
    let jobs = jobs.json();
    let jobs = jobs.as_array().expect("array");
    assert_eq!(jobs.len(), 3);
    let hello = jobs.iter().find(|j| j["name"] == "hello").unwrap();
    assert_eq!(hello["schedule"], "0 6 * * 1-5");
    assert_eq!(hello["timezone"], "America/New_York");
    let next = hello["next_fire"].as_str().expect("next fire");
    assert!(next.contains("T06:00:00.000-0"), "{next}");
    assert!(hello["last_status"].is_null());
    let broken = jobs.iter().find(|j| j["name"] == "broken").unwrap();
    assert_eq!(broken["last_status"], "failed");
    assert!(broken["next_fire"].is_null());
}

#[test]
fn history_filters_by_job_status_and_limit_newest_first() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    sb.ferry(&["run", "hello"]).assert_code(0);
    sb.ferry(&["run", "broken"]).assert_code(1);
    sb.ferry(&["run", "hello"]).assert_code(0);
    let all = sb.history();
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![3, 2, 1]);
    let hello = sb.ferry(&["history", "hello", "--json"]).json();
    assert_eq!(hello.as_array().unwrap().len(), 2);
    let failed = sb
        .ferry(&["history", "--status", "failed", "--json"])
        .json();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["job"], "broken");
    let one = sb.ferry(&["history", "--limit", "1", "--json"]).json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], 3);
    let bad = sb.ferry(&["history", "--status", "exploded"]);
    bad.assert_code(2);
    let table = sb.ferry(&["history"]).stdout();
    assert!(
        table.contains("broken") && table.contains("failed"),
        "{table}"
    );
}

#[test]
fn logs_follow_prints_lines_until_the_run_ends() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    let mut run = sb.spawn(&["run", "slow"], "run");
    let history = sb.wait_for("the run to start", Duration::from_secs(30), |h| {
        of_job(h, "slow").iter().any(|e| e["status"] == "running")
    });
    let id = history[0]["id"].as_i64().unwrap().to_string();
    let follow = sb.ferry(&["logs", &id, "--follow", "--json"]);
    follow.assert_code(0);
    // By the time -f returns the run has ended, and every line was printed once.
    assert_eq!(sb.history()[0]["status"], "succeeded");
    let lines: Vec<serde_json::Value> = follow
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("wrote"))
    );
    assert_eq!(wait_exit(&mut run, Duration::from_secs(30)), Some(0));
}

#[test]
fn check_json_reports_errors_and_next_fires() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    let ok = sb.ferry(&["check", "--json"]);
    ok.assert_code(0);
    let ok = ok.json();
    assert_eq!(ok["ok"], true);
    let hello = ok["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "hello")
        .unwrap();
    assert_eq!(hello["next_fires"].as_array().unwrap().len(), 3);

    sb.config("[jobs.a]\nplugin = \"example\"\ntimezone = \"Mars/Olympus\"\n");
    let bad = sb.ferry(&["check", "--json"]);
    bad.assert_code(2);
    let bad = bad.json();
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["errors"][0]["key"], "jobs.a.timezone");
    assert_eq!(bad["errors"][0]["line"], 9);
}

#[test]
fn plugins_lists_the_example_with_its_settings() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    let plugins = sb.ferry(&["plugins", "--json"]);
    plugins.assert_code(0);
    let plugins = plugins.json();
    let example = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ferry-job-example")
        .expect("the example plugin");
    assert_eq!(example["abi"], 1);
    assert!(example["jobs"].as_array().unwrap().len() == 3);
    assert!(
        example["settings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "rows")
    );
}
