//! Overlap policies: `ferry run` refuses a busy job (exit 3) or queues behind it.

use ferry_tests::{Sandbox, of_job, wait_exit};
use std::time::Duration;

fn slow_job(overlap: &str) -> String {
    format!(
        "[jobs.slow]\nplugin = \"example\"\noverlap = \"{overlap}\"\nsettings = {{ sleep_ms = 3000 }}\n"
    )
}

#[test]
fn run_refuses_while_the_job_runs_and_names_the_run() {
    let sb = Sandbox::sqlite();
    sb.config(&slow_job("skip"));
    let mut first = sb.spawn(&["run", "slow"], "first");
    sb.wait_for("the first run to start", Duration::from_secs(30), |h| {
        of_job(h, "slow").iter().any(|e| e["status"] == "running")
    });
    let second = sb.ferry(&["run", "slow"]);
    second.assert_code(3);
    let message = second.stderr();
    assert!(
        message.contains("already running") && message.contains("#1"),
        "{message}"
    );
    assert_eq!(wait_exit(&mut first, Duration::from_secs(60)), Some(0));
    // The refused run left no row behind.
    assert_eq!(sb.history().len(), 1);
}

#[test]
fn queue_overlap_runs_the_second_after_the_first() {
    let sb = Sandbox::sqlite();
    sb.config(&slow_job("queue"));
    let mut first = sb.spawn(&["run", "slow"], "first");
    sb.wait_for("the first run to start", Duration::from_secs(30), |h| {
        of_job(h, "slow").iter().any(|e| e["status"] == "running")
    });
    let second = sb.ferry(&["run", "slow"]);
    second.assert_code(0);
    assert!(second.stderr().contains("queued"), "{}", second.stderr());
    assert_eq!(wait_exit(&mut first, Duration::from_secs(60)), Some(0));
    let history = sb.history();
    assert_eq!(history.len(), 2);
    assert!(
        history.iter().all(|e| e["status"] == "succeeded"),
        "{history:?}"
    );
    // The queued run started only after the first finished.
    let (newer, older) = (&history[0], &history[1]);
    assert!(
        newer["started_at"].as_str() >= older["finished_at"].as_str(),
        "{history:?}"
    );
}
