//! `ferry-bench`: Ferry's benchmark. Prints figures next to their targets and a reference tool,
//! in one run. Not a test: nothing here passes or fails.
//!
//!   ferry-bench [--fires N] [--executions N] [--sftp-mib N] [--peer-rows N]
//!               [--ises-incidents N] [--edfi-students N]
//!               [--only fires|history|sftp|peer|peer-sqlite|peer-postgres|peer-e2e|ises|edfi]
//!
//! Run through `scripts/bench`, which builds release binaries first.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a command-line benchmark polling real processes"
)]

mod edfi;
mod ises;
mod peer;

use ferry_tests::{Sandbox, of_job};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let mut fires = 200usize;
    let mut executions = 1_000_000i64;
    let mut sftp_mib = 256u64;
    let mut peer_rows = 1_000_000usize;
    let mut ises_incidents = 100_000usize;
    let mut edfi_students = 50_000usize;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--fires" => fires = value.parse().expect("--fires N"),
            "--executions" => executions = value.parse().expect("--executions N"),
            "--sftp-mib" => sftp_mib = value.parse().expect("--sftp-mib N"),
            "--peer-rows" => peer_rows = value.parse().expect("--peer-rows N"),
            "--ises-incidents" => ises_incidents = value.parse().expect("--ises-incidents N"),
            "--edfi-students" => edfi_students = value.parse().expect("--edfi-students N"),
            "--only" => only = Some(value),
            _ => panic!(
                "usage: ferry-bench [--fires N] [--executions N] [--sftp-mib N] [--peer-rows N] \
                 [--ises-incidents N] [--edfi-students N] \
                 [--only fires|history|sftp|peer|peer-sqlite|peer-postgres|peer-e2e|ises|edfi]"
            ),
        }
    }
    println!("Ferry benchmark ({} build)", profile());
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wanted("fires") {
        println!();
        fire_latency(fires);
    }
    if wanted("history") {
        println!();
        history_time(executions);
    }
    if wanted("sftp") {
        println!();
        sftp_throughput(sftp_mib);
    }
    // `--only peer` runs the whole section; `--only peer-sqlite|peer-postgres|peer-e2e` one part.
    let peer_part = only.as_deref().and_then(|o| o.strip_prefix("peer-"));
    if wanted("peer") || peer_part.is_some() {
        println!();
        peer::peer(peer_rows, peer_part);
    }
    if wanted("ises") {
        println!();
        ises::ises(ises_incidents);
    }
    if wanted("edfi") {
        println!();
        edfi::edfi(edfi_students);
    }
}

fn profile() -> &'static str {
    if ferry_tests::target_dir().ends_with("release") {
        "release"
    } else {
        "debug"
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn millis(e: &Value, field: &str) -> Option<i64> {
    e[field]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
}

/// Fire latency: scheduled instant → plugin `run` entered, over `fires` fires of a 1-second
/// schedule served by `ferry serve`.
fn fire_latency(fires: usize) {
    eprintln!("fire latency: serving a 1-second schedule for {fires} fires…");
    let sb = Sandbox::sqlite();
    sb.config(
        "[jobs.tick]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = { rows = 1 }\n",
    );
    let mut serve = sb.spawn(&["serve"], "serve");
    let deadline = Instant::now() + Duration::from_secs(fires as u64 * 2 + 60);
    let history = loop {
        let history = sb.history();
        let done = of_job(&history, "tick")
            .iter()
            .filter(|e| e["trigger"] == "schedule" && !e["entered_at"].is_null())
            .count();
        if done >= fires || Instant::now() > deadline {
            break history;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    ferry_tests::signal(&serve, nix::sys::signal::Signal::SIGTERM);
    let _ = ferry_tests::wait_exit(&mut serve, Duration::from_secs(60));
    let mut latencies: Vec<f64> = history
        .iter()
        .filter(|e| e["trigger"] == "schedule")
        .filter_map(|e| Some((millis(e, "entered_at")? - millis(e, "scheduled_for")?) as f64))
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies.truncate(fires);
    let missed = history.iter().filter(|e| e["status"] == "missed").count();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    println!(
        "Fire latency (scheduled instant -> plugin run entered), {} fires, {missed} missed",
        latencies.len()
    );
    println!(
        "  {:<10} {:>10} {:>10} {:>12}",
        "", "measured", "target", "vs target"
    );
    println!(
        "  {:<10} {:>8.1}ms {:>10} {:>11.2}x",
        "p50",
        p50,
        "-",
        f64::NAN
    );
    println!(
        "  {:<10} {:>8.1}ms {:>8}ms {:>11.2}x",
        "p99",
        p99,
        50,
        p99 / 50.0
    );
    println!("  (no reference scheduler offers a comparable hook; cron's own granularity is 60 s)");
}

/// `ferry history --json` wall time with `n` executions stored, next to the same query through
/// Python's sqlite3 module.
fn history_time(n: i64) {
    eprintln!("history: generating {n} executions…");
    let sb = Sandbox::sqlite();
    sb.config("[jobs.bulk]\nplugin = \"example\"\n");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let started = Instant::now();
    runtime.block_on(async {
        let store = ferry::store::Store::open(sb.database())
            .await
            .expect("store");
        store
            .generate_synthetic_history("bulk", n, ferry::clock::now())
            .await
            .expect("generate");
    });
    let generated = started.elapsed();
    let runs = 11;
    let ferry = median(runs, || {
        let t = Instant::now();
        let out = sb.command(&["history", "--json"]).output().expect("ferry");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    });
    let db = sb.path().join("ferry.db");
    let script = "import sqlite3, json, sys\n\
                  c = sqlite3.connect(sys.argv[1])\n\
                  rows = c.execute('SELECT * FROM executions ORDER BY id DESC LIMIT 50').fetchall()\n\
                  print(json.dumps(rows))\n";
    let python = python_executable();
    let reference = median(runs, || {
        let t = Instant::now();
        let out = Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(&db)
            .output();
        match out {
            Ok(out) if out.status.success() => t.elapsed(),
            _ => Duration::ZERO,
        }
    });
    println!(
        "`ferry history --json` (50 newest) with {n} executions stored (generated in {:.1}s); median of {runs}",
        generated.as_secs_f64()
    );
    println!(
        "  {:<34} {:>10} {:>10} {:>12}",
        "", "wall", "target", "vs target"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {:<34} {:>8.1}ms {:>8}ms {:>11.2}x",
        "ferry history --json",
        ms(ferry),
        100,
        ms(ferry) / 100.0
    );
    if reference > Duration::ZERO {
        println!(
            "  {:<34} {:>8.1}ms {:>10} {:>11}",
            "reference: python3 sqlite3 + json",
            ms(reference),
            "-",
            format!("ferry {:.2}x", ms(ferry) / ms(reference))
        );
    } else {
        println!("  reference: python3 not available");
    }
}

/// The real Python interpreter, not a version-manager shim (whose own start-up would be timed).
fn python_executable() -> std::path::PathBuf {
    Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().into())
        .unwrap_or_else(|| "python3".into())
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[runs / 2]
}

/// SFTP download of one `mib` MiB file from the suite's sshd: Ferry's transfer engine (connect,
/// authenticate, verify the host key, download) against OpenSSH's `sftp` client doing the same.
fn sftp_throughput(mib: u64) {
    let sshd = ferry_tests::peers::Sshd::get();
    eprintln!("sftp: writing a {mib} MiB file…");
    let dir = sshd.dir("bench-sftp");
    let remote = dir.join("big.bin");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&remote).expect("create");
        // Incompressible data, so neither side gains from compression.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            file.write_all(&block).expect("write");
        }
    }
    sshd.give(&dir);
    sshd.give(&remote);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let endpoint = ferry::transfer::Endpoint::Sftp {
        host: sshd.host.clone(),
        port: sshd.port,
        user: sshd.user.clone(),
        private_key: Some(sshd.key.clone()),
        passphrase: None,
        password: None,
        known_hosts: sshd.known_hosts.clone(),
    };
    let ferry_once = || {
        let local = out_dir.path().join("ferry.bin");
        let _ = std::fs::remove_file(&local);
        let t = Instant::now();
        let mut session = ferry::transfer::connect(&endpoint, ferry::transfer::Timeouts::default())
            .expect("connect");
        let bytes = session
            .download("bench-sftp/big.bin", &local, 0, &mut |_| {})
            .expect("download");
        assert_eq!(bytes, mib << 20);
        t.elapsed()
    };
    let openssh_once = || {
        let local = out_dir.path().join("openssh.bin");
        let _ = std::fs::remove_file(&local);
        let t = Instant::now();
        let mut child = Command::new("sftp")
            .args(["-q", "-b", "-", "-P", &sshd.port.to_string(), "-i"])
            .arg(&sshd.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", sshd.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .arg(format!("{}@{}", sshd.user, sshd.host))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("sftp");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "get bench-sftp/big.bin {}", local.display()).expect("batch");
        }
        assert!(child.wait().expect("wait").success(), "OpenSSH sftp failed");
        t.elapsed()
    };
    // Interleaved, so drift on a shared machine hits both alike; medians of 5.
    let (mut ferry, mut openssh) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ferry.push(ferry_once());
        openssh.push(openssh_once());
    }
    ferry.sort();
    openssh.sort();
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    let (f, o) = (rate(ferry[2]), rate(openssh[2]));
    println!(
        "SFTP download, one {mib} MiB file over loopback from OpenSSH sshd (connect included), median of 5"
    );
    println!("  {:<26} {:>10} {:>12}", "", "MiB/s", "vs OpenSSH");
    println!(
        "  {:<26} {:>10.0} {:>11.2}x",
        "ferry (ssh2 engine)",
        f,
        f / o
    );
    println!(
        "  {:<26} {:>10.0} {:>11.2}x",
        "reference: OpenSSH sftp", o, 1.0
    );
    let _ = std::fs::remove_file(&remote);
}

/// Runs `ferry run JOB ARGS` in `sb` and panics unless it exits 0: its wall time and what
/// `ferry show` says of it.
pub(crate) fn timed_run(sb: &Sandbox, job: &str, args: &[&str]) -> (Duration, Value) {
    let mut command = vec!["run", job];
    command.extend_from_slice(args);
    let started = Instant::now();
    let out = sb.command(&command).output().expect("run ferry");
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "ferry run failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let history = sb.history();
    let id = of_job(&history, job)
        .first()
        .and_then(|e| e["id"].as_i64())
        .expect("the run in history");
    (wall, sb.show(id))
}
