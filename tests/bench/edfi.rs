//! The `edfi` section of `ferry-bench`: the Ed-Fi resync pushing a generated district of fifty
//! thousand students (about 420,000 records) to the Ed-Fi API emulator, through the real
//! `ferry run` and the job plugin.
//!
//! The issue asks for the figures themselves: how long a full sync takes and how many requests
//! it sends, how long a delta run takes, and that a delta sends exactly what changed and a run
//! without changes sends nothing. So:
//!
//! - Generation: `edfi-source DATABASE_URL --students N --lookups-out FILE` (the real binary)
//!   into SQLite; the emulator (v3, in-process) is seeded with the lookups it wrote.
//! - (a) Full sync: `ferry run edfi` once; wall time, requests by method (the emulator's
//!   journal), records on the host (`counts()`, which must equal what the generator says the
//!   job builds) and requests per second.
//! - (b) Delta: `edfi-source --change-percent 1`, then a run; its writes (POST/PUT/DELETE) must
//!   equal the changed records the generator reported.
//! - (c) No change: another run must write nothing.
//! - Reference: the full sync's own POST bodies sent again, in the same resource order, by a
//!   plain tight loop of eight threads with reqwest's blocking client against a fresh emulator
//!   holding the same lookups: the rate a client could reach against this server, and the
//!   job's rate relative to it.
//!
//! Any deviation (a failed run, a record missing from the host, a write count that differs)
//! panics: a benchmark that quietly sent the wrong thing would only look fast.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_edfi_emulator::{Config, Emulator, Request};
use ferry_tests::Sandbox;
use serde_json::Value;

/// The generator's seed: the same district every run.
const SEED: u64 = 1;
/// Parallel requests, for the job (`max_parallel`) and the reference loop alike.
const PARALLEL: usize = 8;
const CLIENT_ID: &str = "ferry-bench";
const CLIENT_SECRET: &str = "bench-secret-4b1d";
/// The resources the job writes, in its write order (what `counts()` must hold).
use ferry_tests::edfi::WRITE_ORDER as WRITTEN;

/// Runs the section on a generated district of `students` students.
pub fn edfi(students: usize) {
    let work = tempfile::tempdir().expect("tempdir");
    let db = work.path().join("edfi.db");
    let url = format!("sqlite://{}", db.display());
    let lookups_path = work.path().join("lookups.json");

    eprintln!("edfi: generating {students} students into SQLite…");
    let started = Instant::now();
    let out = edfi_source(&[
        &url,
        "--students",
        &students.to_string(),
        "--seed",
        &SEED.to_string(),
        "--lookups-out",
        &lookups_path.display().to_string(),
    ]);
    let generated = started.elapsed();
    let expected = expected_records(&out);
    let expected_total: u64 = expected.values().sum();
    let lookups: Value =
        serde_json::from_slice(&std::fs::read(&lookups_path).expect("read the lookups"))
            .expect("the lookups parse");

    let api = emulator(&lookups);
    let sb = Sandbox::sqlite();
    let secret = sb.path().join("edfi-secret");
    std::fs::write(&secret, CLIENT_SECRET).expect("secret file");
    sb.config(&format!(
        "[jobs.edfi]\nplugin = \"edfi-resync\"\ntimeout = \"180m\"\n\n[jobs.edfi.settings]\n\
         source_database = \"{url}\"\napi = \"v3\"\nschool_year = 2026\nactive_year = 2026\n\
         base_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n\
         max_parallel = {PARALLEL}\n",
        api.base_url(),
        secret.display()
    ));

    println!(
        "Ed-Fi resync: {students} students, {expected_total} records (seed {SEED}, v3 emulator \
         in-process, max_parallel {PARALLEL}); generated in {:.2}s",
        generated.as_secs_f64()
    );

    // (a) Full sync.
    eprintln!("edfi: full sync of {expected_total} records…");
    let (full_wall, show) = run(&sb);
    let full = Tally::of(&api.journal());
    eprintln!(
        "edfi: full sync took {:.2}s, requests {:?}",
        full_wall.as_secs_f64(),
        full.by_method
    );
    let counts = api.counts();
    for resource in WRITTEN {
        let want = expected.get(resource).copied().unwrap_or(0);
        let have = counts.get(resource).copied().unwrap_or(0) as u64;
        assert_eq!(
            have, want,
            "{resource}: the host holds {have} records after the full sync, the district has \
             {want} ({})",
            show["error"]
        );
    }
    let on_host: u64 = WRITTEN
        .iter()
        .map(|r| counts.get(*r).copied().unwrap_or(0) as u64)
        .sum();
    assert_eq!(
        full.writes(),
        expected_total,
        "the full sync writes every record once: {:?}",
        full.by_method
    );
    let posts: Vec<(String, Vec<u8>)> = api
        .journal()
        .into_iter()
        .filter(|r| r.method == "POST" && is_data(r))
        .map(|r| {
            (
                r.resource.unwrap_or_default(),
                serde_json::to_vec(&r.body.unwrap_or(Value::Null)).unwrap_or_default(),
            )
        })
        .collect();
    api.clear_journal();

    // (b) Delta after 1% of the students changed.
    let out = edfi_source(&[&url, "--change-percent", "1", "--seed", &SEED.to_string()]);
    let changed = changed_records(&out);
    eprintln!("edfi: delta run after {changed} changed records…");
    let (delta_wall, delta_show) = run(&sb);
    let delta = Tally::of(&api.journal());
    eprintln!(
        "edfi: delta run took {:.2}s, requests {:?}",
        delta_wall.as_secs_f64(),
        delta.by_method
    );
    assert_eq!(
        delta.writes(),
        changed,
        "the delta run must write exactly the {changed} changed records, it sent {:?} ({})",
        delta.by_method,
        delta_show["error"]
    );
    api.clear_journal();

    // (c) Nothing changed.
    eprintln!("edfi: run without changes…");
    let (idle_wall, idle_show) = run(&sb);
    let idle = Tally::of(&api.journal());
    eprintln!(
        "edfi: unchanged run took {:.2}s, requests {:?}",
        idle_wall.as_secs_f64(),
        idle.by_method
    );
    assert_eq!(
        idle.writes(),
        0,
        "a run without changes must write nothing, it sent {:?} ({})",
        idle.by_method,
        idle_show["error"]
    );
    drop(api);

    // Reference: the same POSTs from a tight loop.
    eprintln!(
        "edfi: reference, {} POSTs from {PARALLEL} threads…",
        posts.len()
    );
    let reference_api = emulator(&lookups);
    let reference = replay(&reference_api, &posts);
    drop(reference_api);

    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    let full_rate = rate(full.total, full_wall);
    let reference_rate = rate(posts.len() as u64, reference);
    println!(
        "\n  {:<46} {:>9} {:>9} {:>9} {:>11} {:>12}",
        "", "wall", "requests", "writes", "requests/s", "vs reference"
    );
    println!(
        "  {:<46} {:>8.2}s {:>9} {:>9} {:>11.0} {:>11.2}x",
        "(a) full sync: `ferry run edfi`",
        full_wall.as_secs_f64(),
        full.total,
        full.writes(),
        full_rate,
        full_rate / reference_rate
    );
    println!(
        "  {:<46} {:>8.2}s {:>9} {:>9} {:>11} {:>12}",
        format!("(b) delta, {changed} records changed (1% of students)"),
        delta_wall.as_secs_f64(),
        delta.total,
        delta.writes(),
        "-",
        "-"
    );
    println!(
        "  {:<46} {:>8.2}s {:>9} {:>9} {:>11} {:>12}",
        "(c) no change",
        idle_wall.as_secs_f64(),
        idle.total,
        idle.writes(),
        "-",
        "-"
    );
    println!(
        "  {:<46} {:>8.2}s {:>9} {:>9} {:>11.0} {:>11.2}x",
        format!("reference: same POSTs, reqwest, {PARALLEL} threads"),
        reference.as_secs_f64(),
        posts.len(),
        posts.len(),
        reference_rate,
        1.0
    );
    println!(
        "  full sync: {on_host} records on the host (= the district's {expected_total}); \
         requests by method {:?}",
        full.by_method
    );
    println!(
        "  delta: requests by method {:?}; no change: {:?}",
        delta.by_method, idle.by_method
    );
    println!(
        "  full sync as recorded by ferry: {:.2}s from start to finish",
        show["duration_seconds"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  of each run, reading the SIS + rules + bodies (before any request): full {:.2}s, \
         delta {:.2}s, no change {:.2}s",
        built(&show),
        built(&delta_show),
        built(&idle_show)
    );
}

/// Requests of one run, from the emulator's journal.
#[derive(Debug, Default)]
struct Tally {
    by_method: BTreeMap<String, u64>,
    total: u64,
}

impl Tally {
    fn of(journal: &[Request]) -> Tally {
        let mut t = Tally::default();
        for r in journal {
            t.total += 1;
            let key = if is_data(r) {
                r.method.clone()
            } else {
                format!("{} (oauth)", r.method)
            };
            *t.by_method.entry(key).or_insert(0) += 1;
        }
        t
    }

    /// POST, PUT and DELETE to data routes.
    fn writes(&self) -> u64 {
        ["POST", "PUT", "DELETE"]
            .iter()
            .map(|m| self.by_method.get(*m).copied().unwrap_or(0))
            .sum()
    }
}

fn is_data(r: &Request) -> bool {
    r.resource.is_some() && !r.path.starts_with("/oauth")
}

/// A v3 emulator knowing the bench's client, seeded with `lookups` (shaped as the job's
/// `fixtures/lookups.json`: Data Standard 5 records and descriptor code lists).
fn emulator(lookups: &Value) -> Emulator {
    let mut config = Config::v3();
    config.client_id = CLIENT_ID.to_owned();
    config.client_secret = CLIENT_SECRET.to_owned();
    let api = Emulator::start(config).expect("start the Ed-Fi emulator");
    let config = api.config().clone();
    for (name, codes) in lookups["descriptors"]
        .as_object()
        .expect("lookups: descriptors")
    {
        let items = codes
            .as_array()
            .expect("descriptor codes")
            .iter()
            .map(|code| {
                serde_json::json!({
                    "namespace": ferry_edfi_emulator::fixtures::descriptor_namespace(&config, name),
                    "codeValue": code,
                    "shortDescription": code,
                    "description": code,
                })
            })
            .collect();
        api.seed(
            &ferry_edfi_emulator::resources::descriptor_collection(name),
            items,
        );
    }
    for (resource, items) in lookups["ds5"].as_object().expect("lookups: ds5") {
        api.seed(resource, items.as_array().expect("lookup items").clone());
    }
    api
}

/// `ferry run edfi`, which must succeed: its wall time and `ferry show`, with `built_seconds`
/// added: the job's own "records built from the SIS in X s" (read + rules + bodies).
fn run(sb: &Sandbox) -> (Duration, Value) {
    let (wall, mut show) = crate::timed_run(sb, "edfi", &[]);
    assert_eq!(
        show["status"], "succeeded",
        "the Ed-Fi resync must succeed: {show}"
    );
    let id = show["id"].as_i64().unwrap_or_default().to_string();
    let logs = sb.ferry(&["logs", &id, "--json"]).json();
    let built = logs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["message"].as_str())
        .find_map(|m| {
            let (_, rest) = m.split_once("records built from the SIS in ")?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        });
    show["built_seconds"] = built.map_or(Value::Null, Value::from);
    (wall, show)
}

/// The part of a run's wall time spent before the first request: read, rules and bodies.
fn built(show: &Value) -> f64 {
    show["built_seconds"].as_f64().unwrap_or(f64::NAN)
}

/// Runs the release `edfi-source` with `args`; its standard output.
fn edfi_source(args: &[&str]) -> String {
    let bin = ferry_tests::target_dir().join("edfi-source");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (scripts/bench does)",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(args)
        .output()
        .expect("run edfi-source");
    assert!(
        out.status.success(),
        "edfi-source {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The generator's "records the job builds" block: resource → records.
fn expected_records(out: &str) -> BTreeMap<String, u64> {
    let mut lines = out
        .lines()
        .skip_while(|l| !l.starts_with("records the job builds:"));
    lines
        .next()
        .expect("edfi-source printed the records the job builds");
    lines
        .map_while(|l| {
            let (resource, n) = l.trim().split_once(": ")?;
            Some((resource.to_owned(), n.parse().ok()?))
        })
        .collect()
}

/// The generator's "changed records: K".
fn changed_records(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("changed records: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("edfi-source printed no changed records: {out}"))
}

/// Sends `posts` (resource, JSON body) to `api` from [`PARALLEL`] threads of a blocking reqwest
/// client, one resource after the other as the job does (parents first); every answer must be a
/// 2xx. The wall time, token fetch excluded.
fn replay(api: &Emulator, posts: &[(String, Vec<u8>)]) -> Duration {
    // reqwest is built with rustls but no default crypto provider in this workspace (see the
    // job's client); an error means one is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/oauth/token", api.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .and_then(reqwest::blocking::Response::bytes)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("a token from the emulator");
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().expect("access_token")
    );
    let data = api.data_url();
    let started = Instant::now();
    let mut from = 0;
    while from < posts.len() {
        let resource = &posts[from].0;
        let to = posts[from..]
            .iter()
            .position(|(r, _)| r != resource)
            .map_or(posts.len(), |n| from + n);
        let group = &posts[from..to];
        let next = AtomicUsize::new(0);
        let failed = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..PARALLEL {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((resource, body)) = group.get(i) else {
                            break;
                        };
                        let ok = client
                            .post(format!("{data}/{resource}"))
                            .header("Authorization", &bearer)
                            .header("Content-Type", "application/json")
                            .body(body.clone())
                            .send()
                            .is_ok_and(|r| r.status().is_success());
                        if !ok {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(
            failed.load(Ordering::Relaxed),
            0,
            "reference: every {resource} POST is accepted"
        );
        from = to;
    }
    started.elapsed()
}
