//! File-arrival triggers in `ferry serve`: a new stable file in a watched folder runs the job
//! (trigger `arrival`), files not matching the pattern never do, and files that already
//! triggered a run do not trigger again after a restart.

use ferry_tests::{Sandbox, of_job, signal, wait_exit};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// A `local` drop folder and a job `watch` that runs when a `*.csv` arrives in `in/`.
fn watched_drop(sb: &Sandbox, after: &str) -> PathBuf {
    let drop = sb.path().join("drop");
    std::fs::create_dir_all(drop.join("in")).unwrap();
    sb.config(&format!(
        "[connections.drop]\nkind = \"local\"\npath = \"{}\"\n\n[jobs.watch]\nplugin = \"example\"\n\
         trigger = {{ arrival = {{ connection = \"drop\", remote_dir = \"in\", pattern = \"*.csv\", poll = \"1s\" }} }}\n\
         fetch = [{{ connection = \"drop\", remote_dir = \"in\", pattern = \"*.csv\", after = \"{after}\" }}]\n",
        drop.display()
    ));
    drop
}

/// Waits until `n` runs of `watch` triggered by an arrival have succeeded.
fn wait_arrival_runs(sb: &Sandbox, n: usize) -> Vec<Value> {
    sb.wait_for(&format!("{n} succeeded arrival run(s)"), WAIT, |h| {
        of_job(h, "watch")
            .iter()
            .filter(|e| e["trigger"] == "arrival" && e["status"] == "succeeded")
            .count()
            >= n
    })
}

/// Waits until the serve named `name` has said `text` on stderr.
#[expect(
    clippy::disallowed_methods,
    reason = "a test polling a file, not the runtime"
)]
fn wait_log(sb: &Sandbox, name: &str, text: &str) {
    let start = Instant::now();
    while !sb.stderr_of(name).contains(text) {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {text:?}\n{}",
            sb.stderr_of(name)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every "New files arrived" line a serve logged (its fields name the files), in order.
fn triggered_files(sb: &Sandbox, name: &str) -> Vec<String> {
    sb.stderr_of(name)
        .lines()
        .filter(|l| l.contains("New files arrived"))
        .map(|l| l.split("New files arrived").nth(1).unwrap_or("").to_owned())
        .collect()
}

fn stop(sb: &Sandbox, child: &mut std::process::Child, name: &str) {
    signal(child, Signal::SIGTERM);
    assert_eq!(
        wait_exit(child, WAIT),
        Some(0),
        "serve exit\n{}",
        sb.stderr_of(name)
    );
}

/// The file names a run downloaded.
fn downloaded(sb: &Sandbox, run: &Value) -> Vec<String> {
    let show = sb.show(run["id"].as_i64().expect("run id"));
    show["transfers"]
        .as_array()
        .expect("transfers")
        .iter()
        .filter(|t| t["direction"] == "download")
        .map(|t| {
            let path = t["remote_path"].as_str().unwrap_or("");
            path.rsplit('/').next().unwrap_or(path).to_owned()
        })
        .collect()
}

#[test]
fn each_new_csv_runs_the_job_once_and_other_files_never_do() {
    let sb = Sandbox::sqlite();
    let drop = watched_drop(&sb, "archive:done");
    // Present from the first poll on, and at every poll after: it must never trigger.
    std::fs::write(drop.join("in/notes.txt"), "not for us").unwrap();
    let mut serve = sb.spawn(&["serve"], "serve");
    wait_log(&sb, "serve", "Watching for arriving files");

    std::fs::write(drop.join("in/a.csv"), "id\n1\n").unwrap();
    wait_arrival_runs(&sb, 1);
    let inbox = sb.path().join("work/jobs/watch/inbox");
    assert_eq!(
        std::fs::read_to_string(inbox.join("a.csv")).unwrap(),
        "id\n1\n"
    );
    assert!(drop.join("done/a.csv").exists(), "archived by the fetch");

    std::fs::write(drop.join("in/b.csv"), "id\n2\n").unwrap();
    let history = wait_arrival_runs(&sb, 2);
    stop(&sb, &mut serve, "serve");

    let runs: Vec<&Value> = of_job(&history, "watch");
    assert_eq!(
        runs.len(),
        2,
        "one run per arrival, nothing else: {history:?}"
    );
    assert!(runs.iter().all(|e| e["trigger"] == "arrival"));
    assert!(drop.join("done/b.csv").exists());
    assert!(
        drop.join("in/notes.txt").exists(),
        "files not matching are left alone"
    );
    // History is newest first.
    assert_eq!(downloaded(&sb, runs[1]), ["a.csv"]);
    assert_eq!(downloaded(&sb, runs[0]), ["b.csv"]);
    let triggers = triggered_files(&sb, "serve");
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    assert!(triggers[0].contains("a.csv"), "{triggers:?}");
    assert!(triggers[1].contains("b.csv"), "{triggers:?}");
    assert!(
        triggers.iter().all(|t| !t.contains("notes.txt")),
        "{triggers:?}"
    );
}

#[test]
fn a_waiting_file_runs_at_start_but_not_again_after_a_restart() {
    let sb = Sandbox::sqlite();
    // Kept on the server, so it is still there when the scheduler restarts.
    let drop = watched_drop(&sb, "keep");
    std::fs::write(drop.join("in/a.csv"), "id\n1\n").unwrap();
    let mut first = sb.spawn(&["serve"], "first");
    wait_arrival_runs(&sb, 1);
    stop(&sb, &mut first, "first");

    let mut second = sb.spawn(&["serve"], "second");
    wait_log(&sb, "second", "Watching for arriving files");
    std::fs::write(drop.join("in/b.csv"), "id\n2\n").unwrap();
    let history = wait_arrival_runs(&sb, 2);
    stop(&sb, &mut second, "second");

    assert_eq!(of_job(&history, "watch").len(), 2, "{history:?}");
    let triggers = triggered_files(&sb, "second");
    assert_eq!(triggers.len(), 1, "{triggers:?}");
    assert!(
        triggers[0].contains("b.csv") && !triggers[0].contains("a.csv"),
        "a.csv already ran before the restart: {triggers:?}"
    );
}
