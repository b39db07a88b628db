//! The worker process, end to end: the real `ferry worker` binary loading real plugin libraries.
//!
//! Plugins come from the workspace's target folder (`libferry_job_example.so`,
//! `libferry_test_misbehave.so`, `libferry_test_old_abi.so`): run `cargo build --workspace`
//! before these tests. Each test gets its own temp folder and SQLite store. The SFTP host-files
//! test needs the sshd of `scripts/peers start` (`source .ci-peers/env`).

use ferry::worker::protocol::{RunOrder, WorkerEvent, WorkerRequest};
use ferry::worker::{WorkerError, WorkerExit, WorkerOutput, WorkerProcess, describe_plugin, spawn};
use ferry_plugin::wire::{Event, OutcomeStatus, RunRequest, SettingKind, TableAction};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A safety net so a broken worker fails the test instead of hanging it; never a timing check.
const PATIENCE: Duration = Duration::from_secs(60);

fn ferry_exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferry"))
}

/// A plugin library built by `cargo build --workspace`, next to the `ferry` binary.
fn plugin(crate_name: &str) -> PathBuf {
    let dir = ferry_exe().parent().expect("the ferry binary has a folder");
    let path = dir.join(format!("lib{}.so", crate_name.replace('-', "_")));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` before `cargo test -p ferry`",
        path.display()
    );
    path
}

fn run_order(tmp: &Path, plugin_path: PathBuf, settings: serde_json::Value) -> WorkerRequest {
    let work = tmp.join("work");
    WorkerRequest::Run(RunOrder {
        plugin_path,
        database: format!("sqlite://{}", tmp.join("ferry.db").display()),
        request: RunRequest {
            run_id: 41,
            job: "worker-test".to_owned(),
            trigger: "manual".to_owned(),
            attempt: 1,
            scheduled_for: None,
            settings,
            params: BTreeMap::new(),
            secrets: BTreeMap::new(),
            work_dir: work.clone(),
            inbox: work.join("inbox"),
            outbox: work.join("outbox"),
            no_fetch: false,
            timezone: "America/New_York".into(),
            today: "2026-01-15".into(),
        },
        fetch: Vec::new(),
        upload: Vec::new(),
        connections: Vec::new(),
    })
}

/// Everything a worker said, and how it ended.
struct Finished {
    outputs: Vec<WorkerOutput>,
    exit: WorkerExit,
}

impl Finished {
    fn events(&self) -> Vec<&WorkerEvent> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                WorkerOutput::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn plugin_events(&self) -> Vec<&Event> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                WorkerEvent::Plugin { event, .. } => Some(event),
                _ => None,
            })
            .collect()
    }

    fn outcome(&self) -> Option<(OutcomeStatus, Option<String>)> {
        self.events().into_iter().find_map(|e| match e {
            WorkerEvent::Outcome { status, message } => Some((*status, message.clone())),
            _ => None,
        })
    }

    fn stderr(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                WorkerOutput::Stderr(line) => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    fn logs(&self) -> Vec<&str> {
        self.plugin_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Log { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect()
    }
}

async fn drain(mut worker: WorkerProcess) -> Finished {
    tokio::time::timeout(PATIENCE, async move {
        let mut outputs = Vec::new();
        while let Some(output) = worker.next().await {
            outputs.push(output);
        }
        let exit = worker.wait().await;
        worker.kill();
        Finished { outputs, exit }
    })
    .await
    .expect("the worker finished")
}

async fn run_to_end(request: &WorkerRequest) -> Finished {
    drain(spawn(ferry_exe(), request).expect("worker starts")).await
}

async fn misbehave(tmp: &Path, mode: &str) -> Finished {
    let order = run_order(
        tmp,
        plugin("ferry-test-misbehave"),
        serde_json::json!({ "mode": mode }),
    );
    run_to_end(&order).await
}

/// Reads outputs until one matches, keeping them; fails if the worker ends first.
async fn wait_for(
    worker: &mut WorkerProcess,
    seen: &mut Vec<WorkerOutput>,
    wanted: impl Fn(&WorkerOutput) -> bool,
) {
    tokio::time::timeout(PATIENCE, async {
        while let Some(output) = worker.next().await {
            let hit = wanted(&output);
            seen.push(output);
            if hit {
                return;
            }
        }
        panic!("the worker ended before the awaited output: {seen:?}");
    })
    .await
    .expect("the awaited output arrived");
}

fn is_log(output: &WorkerOutput, prefix: &str) -> bool {
    matches!(output, WorkerOutput::Event(WorkerEvent::Plugin { event: Event::Log { message, .. }, .. })
        if message.starts_with(prefix))
}

#[tokio::test]
async fn describe_reports_the_example_plugins_declaration_and_settings() {
    let info = describe_plugin(
        ferry_exe(),
        &plugin("ferry-job-example"),
        Duration::from_secs(30),
    )
    .await
    .expect("described");
    assert_eq!(info.name, "ferry-job-example");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.abi, ferry_plugin::abi::CURRENT);
    let rows = info
        .description
        .settings
        .iter()
        .find(|s| s.name == "rows")
        .expect("rows setting");
    assert_eq!(rows.kind, SettingKind::Integer);
    assert!(!rows.required);
    let token = info
        .description
        .settings
        .iter()
        .find(|s| s.name == "token")
        .expect("token setting");
    assert_eq!(token.kind, SettingKind::Secret);
}

#[tokio::test]
async fn describe_refuses_an_old_abi_plugin_naming_both_versions() {
    let error = describe_plugin(
        ferry_exe(),
        &plugin("ferry-test-old-abi"),
        Duration::from_secs(30),
    )
    .await
    .expect_err("old ABI refused");
    assert!(matches!(error, WorkerError::Refused { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "plugin libferry_test_old_abi.so speaks plugin ABI v0; this Ferry speaks v1: rebuild it against ferry-plugin"
    );
}

#[tokio::test]
async fn describe_of_a_missing_library_says_it_cannot_load_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("libnothing.so");
    let error = describe_plugin(ferry_exe(), &missing, Duration::from_secs(30))
        .await
        .expect_err("missing plugin");
    let text = error.to_string();
    assert!(text.starts_with("cannot load plugin"), "{text}");
    assert!(text.contains("libnothing.so"), "{text}");
}

#[tokio::test]
async fn example_run_reports_events_in_order_writes_its_csv_and_keeps_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-job-example"),
        serde_json::json!({ "rows": 4, "greeting": "hi" }),
    );
    let first = run_to_end(&order).await;
    assert_eq!(first.exit.code, Some(0), "{}", first.exit.describe());
    let events = first.events();
    assert!(
        matches!(events.first(), Some(WorkerEvent::Loaded { plugin, abi: 1, .. }) if plugin == "ferry-job-example"),
        "{events:?}"
    );
    assert!(
        matches!(events.get(1), Some(WorkerEvent::Entered { .. })),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(WorkerEvent::Outcome { status: OutcomeStatus::Succeeded, message: Some(m) }) if m == "wrote 4 greetings"),
        "{events:?}"
    );
    let plugin_events = first.plugin_events();
    assert!(plugin_events.iter().any(|e| matches!(e,
        Event::Table { table, rows: 4, action: TableAction::Inserted, .. } if table == "greetings")));
    let csv_path = tmp.path().join("work/outbox/greetings-41.csv");
    assert!(
        plugin_events.iter().any(|e| matches!(e,
            Event::File { path, kind } if *path == csv_path && kind == "csv")),
        "{plugin_events:?}"
    );
    let csv = std::fs::read_to_string(&csv_path).expect("the CSV was written");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(first.logs().contains(&"this is run number 1 of this job"));
    assert!(first.stderr().is_empty(), "{:?}", first.stderr());

    // The run counter lives in the store's job state, so a second worker sees the first's.
    let second = run_to_end(&order).await;
    assert_eq!(second.exit.code, Some(0));
    assert!(
        second.logs().contains(&"this is run number 2 of this job"),
        "{:?}",
        second.logs()
    );
}

#[tokio::test]
async fn example_run_that_fails_on_purpose_exits_1_with_a_failed_outcome() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-job-example"),
        serde_json::json!({ "fail": true }),
    );
    let run = run_to_end(&order).await;
    assert_eq!(run.exit.code, Some(1));
    assert_eq!(
        run.outcome(),
        Some((
            OutcomeStatus::Failed,
            Some("failed on purpose (fail = true)".to_owned())
        ))
    );
}

#[tokio::test]
async fn sigterm_cancels_the_plugin_which_then_returns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-job-example"),
        serde_json::json!({ "sleep_ms": 600_000 }),
    );
    let mut worker = spawn(ferry_exe(), &order).expect("worker starts");
    let mut seen = Vec::new();
    wait_for(&mut worker, &mut seen, |o| is_log(o, "sleeping")).await;
    worker.terminate();
    let rest = drain(worker).await;
    assert_eq!(
        rest.outcome(),
        Some((
            OutcomeStatus::Failed,
            Some("cancelled by the host".to_owned())
        ))
    );
    assert_eq!(rest.exit.code, Some(1), "{}", rest.exit.describe());
    assert!(rest.logs().contains(&"cancelled while sleeping"));
}

#[tokio::test]
async fn a_panicking_plugin_fails_the_run_with_the_panic_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = misbehave(tmp.path(), "panic").await;
    assert_eq!(
        run.outcome(),
        Some((
            OutcomeStatus::Failed,
            Some("plugin panicked: boom".to_owned())
        ))
    );
    assert_eq!(run.exit.code, Some(1));
    // The panic hook's report reaches the run log through stderr.
    assert!(
        run.stderr().iter().any(|l| l.contains("boom")),
        "{:?}",
        run.stderr()
    );
}

#[tokio::test]
async fn an_aborting_plugin_kills_only_its_worker_with_sigabrt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = misbehave(tmp.path(), "abort").await;
    assert_eq!(run.outcome(), None);
    assert_eq!(run.exit.signal_name(), Some("SIGABRT"));
    assert_eq!(run.exit.describe(), "worker killed by SIGABRT (signal 6)");
    assert!(
        run.events()
            .iter()
            .any(|e| matches!(e, WorkerEvent::Entered { .. }))
    );
}

#[tokio::test]
async fn a_segfaulting_plugin_kills_only_its_worker_with_sigsegv() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = misbehave(tmp.path(), "segfault").await;
    assert_eq!(run.outcome(), None);
    assert_eq!(run.exit.signal, Some(11));
    assert_eq!(run.exit.describe(), "worker killed by SIGSEGV (signal 11)");
}

#[tokio::test]
async fn a_plugin_calling_exit_ends_the_worker_with_its_code_and_no_outcome() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = misbehave(tmp.path(), "exit").await;
    assert_eq!(run.outcome(), None);
    assert_eq!(run.exit.code, Some(7));
    assert_eq!(run.exit.describe(), "worker exited with code 7");
}

#[tokio::test]
async fn an_old_abi_plugin_is_refused_before_it_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-test-old-abi"),
        serde_json::json!({}),
    );
    let run = run_to_end(&order).await;
    let (status, message) = run.outcome().expect("an outcome");
    assert_eq!(status, OutcomeStatus::Failed);
    let message = message.expect("a message");
    assert!(
        message.contains("ABI v0") && message.contains("speaks v1"),
        "{message}"
    );
    assert!(
        !run.events()
            .iter()
            .any(|e| matches!(e, WorkerEvent::Loaded { .. } | WorkerEvent::Entered { .. }))
    );
    assert_eq!(run.exit.code, Some(2));
}

#[tokio::test]
async fn plugin_stdout_arrives_as_log_text_and_cannot_forge_events() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = misbehave(tmp.path(), "print").await;
    let stderr = run.stderr();
    assert!(stderr.contains(&"plain text on stdout"), "{stderr:?}");
    assert!(stderr.contains(&"plain text on stderr"), "{stderr:?}");
    // The JSON the plugin printed on stdout is text in the log, not an event.
    assert!(stderr.iter().any(|l| l.contains("forged")), "{stderr:?}");
    assert!(
        !run.outputs
            .iter()
            .any(|o| matches!(o, WorkerOutput::Garbage(_))),
        "{:?}",
        run.outputs
    );
    assert_eq!(
        run.outcome(),
        Some((OutcomeStatus::Succeeded, Some("printed".to_owned())))
    );
    assert_eq!(run.exit.code, Some(0));
}

/// Live (non-zombie) processes in process group `pgid`, from /proc.
fn live_members(pgid: u32) -> Vec<u32> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the ")" closing the command name: state, ppid, pgrp, ...
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            live.push(pid);
        }
    }
    live
}

#[tokio::test]
async fn a_hanging_plugin_survives_sigterm_and_kill_removes_its_whole_process_group() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-test-misbehave"),
        serde_json::json!({ "mode": "hang" }),
    );
    let mut worker = spawn(ferry_exe(), &order).expect("worker starts");
    let pgid = worker.pid().expect("a pid");
    let mut seen = Vec::new();
    wait_for(&mut worker, &mut seen, |o| is_log(o, "hanging")).await;
    let helper: u32 = seen
        .iter()
        .find_map(|o| match o {
            WorkerOutput::Event(WorkerEvent::Plugin {
                event: Event::Log { message, .. },
                ..
            }) => message.strip_prefix("helper pid ")?.parse().ok(),
            _ => None,
        })
        .expect("the plugin started its helper process");
    let members = live_members(pgid);
    assert!(
        members.contains(&pgid) && members.contains(&helper),
        "{members:?}"
    );

    // SIGTERM only sets the cancel flag, which this plugin ignores; SIGKILL ends it.
    worker.terminate();
    worker.kill();
    let exit = tokio::time::timeout(PATIENCE, worker.wait())
        .await
        .expect("the worker died");
    assert_eq!(exit.signal_name(), Some("SIGKILL"), "{}", exit.describe());
    assert_eq!(exit.describe(), "worker killed by SIGKILL (signal 9)");
    let gone = tokio::time::timeout(PATIENCE, async {
        while !live_members(pgid).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "still alive in group {pgid}: {:?}",
        live_members(pgid)
    );
}

#[tokio::test]
async fn a_process_left_behind_does_not_hold_the_run_open_and_kill_removes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let order = run_order(
        tmp.path(),
        plugin("ferry-test-misbehave"),
        serde_json::json!({ "mode": "orphan" }),
    );
    let worker = spawn(ferry_exe(), &order).expect("worker starts");
    let pgid = worker.pid().expect("a pid");
    // `drain` reads until `next()` ends, although the helper still holds the worker's stderr,
    // then kills the process group.
    let run = drain(worker).await;
    assert_eq!(
        run.outcome(),
        Some((
            OutcomeStatus::Succeeded,
            Some("left a helper behind".to_owned())
        ))
    );
    assert!(
        run.logs().iter().any(|l| l.starts_with("helper pid ")),
        "{:?}",
        run.logs()
    );
    let gone = tokio::time::timeout(PATIENCE, async {
        while !live_members(pgid).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "still alive in group {pgid}: {:?}",
        live_members(pgid)
    );
}

/// Runs the misbehave plugin's `files` mode against `connection`, in the folder `dir` on it,
/// whose local path is `folder` (prepared here with two CSV files and a text file; `owner`
/// gets the folders, for a server that runs as another user), and checks what it did.
async fn files_mode_moves_and_records_files(
    tmp: &Path,
    connection: ferry::worker::protocol::ConnectionOrder,
    dir: Option<&str>,
    folder: &Path,
    owner: Option<(u32, u32)>,
) {
    std::fs::create_dir_all(folder.join("in")).expect("drop folder");
    std::fs::write(folder.join("in/a.csv"), "id\n1\n2\n").expect("a.csv");
    std::fs::write(folder.join("in/b.csv"), "id\n").expect("b.csv");
    std::fs::write(folder.join("in/notes.txt"), "not a csv").expect("notes");
    if let Some((uid, gid)) = owner {
        for path in [
            folder.to_owned(),
            folder.join("in"),
            folder.join("in/a.csv"),
            folder.join("in/b.csv"),
            folder.join("in/notes.txt"),
        ] {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
        }
    }
    let name = connection.name.clone();
    let mut settings = serde_json::json!({ "mode": "files", "connection": name });
    if let Some(dir) = dir {
        settings["dir"] = serde_json::json!(dir);
    }
    let mut order = run_order(tmp, plugin("ferry-test-misbehave"), settings);
    let WorkerRequest::Run(run) = &mut order else {
        unreachable!("run_order builds a run")
    };
    run.connections.push(connection);
    let finished = run_to_end(&order).await;
    assert_eq!(
        finished.outcome(),
        Some((OutcomeStatus::Succeeded, Some("moved 2 file(s)".to_owned()))),
        "{:?} {:?}",
        finished.logs(),
        finished.stderr()
    );
    let logs = finished.logs();
    assert!(logs.contains(&"listed: a.csv,b.csv"), "{logs:?}");
    let unknown = format!(
        "nowhere: host service failed: unknown connection \"nowhere\"; the configured connections are: {name}"
    );
    assert!(logs.contains(&unknown.as_str()), "{logs:?}");

    // Fetched into the inbox, the response uploaded, the originals moved; the rest untouched.
    let inbox = tmp.join("work/inbox");
    assert_eq!(
        std::fs::read_to_string(inbox.join("a.csv")).expect("a"),
        "id\n1\n2\n"
    );
    assert!(inbox.join("b.csv").is_file());
    assert_eq!(
        std::fs::read_to_string(folder.join("out/response.txt")).expect("response"),
        "a.csv 3\nb.csv 1\n"
    );
    assert!(folder.join("done/a.csv").is_file() && folder.join("done/b.csv").is_file());
    assert!(!folder.join("in/a.csv").exists() && !folder.join("in/b.csv").exists());
    assert!(folder.join("in/notes.txt").is_file());
    assert!(!folder.join("out/.response.txt.part").exists());

    // Every file moved is reported as a transfer, for the run's record.
    let base = dir.map(|d| format!("{d}/")).unwrap_or_default();
    let transfers: Vec<(String, String, String, u64)> = finished
        .events()
        .into_iter()
        .filter_map(|e| match e {
            WorkerEvent::Transfer {
                connection,
                direction,
                remote_path,
                bytes,
                ..
            } => Some((
                connection.clone(),
                direction.clone(),
                remote_path.clone(),
                *bytes,
            )),
            _ => None,
        })
        .collect();
    let expected = |direction: &str, path: &str, bytes: u64| {
        (
            name.clone(),
            direction.to_owned(),
            format!("{base}{path}"),
            bytes,
        )
    };
    assert_eq!(
        transfers,
        [
            expected("download", "in/a.csv", 7),
            expected("download", "in/b.csv", 3),
            expected("upload", "out/response.txt", 16),
        ]
    );
}

#[tokio::test]
async fn a_plugin_lists_fetches_puts_and_renames_through_a_local_connection() {
    use ferry::worker::protocol::{ConnectionOrder, EndpointOrder};
    let tmp = tempfile::tempdir().expect("tempdir");
    let drop = tmp.path().join("drop");
    let connection = ConnectionOrder {
        name: "drop".to_owned(),
        endpoint: EndpointOrder::Local { root: drop.clone() },
        connect_timeout_ms: 5_000,
        io_timeout_ms: 5_000,
        attempts: 1,
        retry_backoff_ms: 10,
    };
    files_mode_moves_and_records_files(tmp.path(), connection, None, &drop, None).await;
}

/// A `FERRY_TEST_*` variable set by `scripts/peers start` (sourced from `.ci-peers/env`).
fn peer_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `scripts/peers start && source .ci-peers/env` first")
    })
}

#[tokio::test]
async fn a_plugin_lists_fetches_puts_and_renames_through_an_sftp_connection() {
    use ferry::worker::protocol::{ConnectionOrder, EndpointOrder};
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = PathBuf::from(peer_var("FERRY_TEST_SSHD_HOME"));
    let dir = "worker-host-files";
    let folder = home.join(dir);
    if folder.exists() {
        std::fs::remove_dir_all(&folder).expect("clean folder");
    }
    let owner = (
        peer_var("FERRY_TEST_SSHD_UID").parse().expect("uid"),
        peer_var("FERRY_TEST_SSHD_GID").parse().expect("gid"),
    );
    let connection = ConnectionOrder {
        name: "district-sftp".to_owned(),
        endpoint: EndpointOrder::Sftp {
            host: peer_var("FERRY_TEST_SSHD_HOST"),
            port: peer_var("FERRY_TEST_SSHD_PORT").parse().expect("port"),
            user: peer_var("FERRY_TEST_SSHD_USER"),
            private_key: Some(PathBuf::from(peer_var("FERRY_TEST_SSHD_KEY"))),
            passphrase: None,
            password: None,
            known_hosts: PathBuf::from(peer_var("FERRY_TEST_SSHD_KNOWN_HOSTS")),
        },
        connect_timeout_ms: 10_000,
        io_timeout_ms: 30_000,
        attempts: 2,
        retry_backoff_ms: 100,
    };
    files_mode_moves_and_records_files(tmp.path(), connection, Some(dir), &folder, Some(owner))
        .await;
}
