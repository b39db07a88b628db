//! `ferry serve`: fires on time, misfires after downtime, abandoned runs, two schedulers on one
//! PostgreSQL, crash isolation and the two-phase shutdown.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use ferry_tests::{Backend, Sandbox, of_job, plugin, signal, wait_exit};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn at(e: &Value, field: &str) -> Option<DateTime<Utc>> {
    e[field]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn stop(sb: &Sandbox, child: &mut std::process::Child, name: &str) {
    signal(child, Signal::SIGTERM);
    let code = wait_exit(child, WAIT);
    assert_eq!(code, Some(0), "serve exit\n{}", sb.stderr_of(name));
}

#[test]
fn serve_fires_a_one_second_schedule_and_stops_on_sigterm() {
    let sb = Sandbox::sqlite();
    sb.config(
        "[jobs.tick]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = { rows = 1 }\n",
    );
    let mut serve = sb.spawn(&["serve"], "serve");
    let history = sb.wait_for("three scheduled runs", WAIT, |h| {
        of_job(h, "tick")
            .iter()
            .filter(|e| e["trigger"] == "schedule" && e["status"] == "succeeded")
            .count()
            >= 3
    });
    stop(&sb, &mut serve, "serve");
    let fires: Vec<DateTime<Utc>> = history
        .iter()
        .filter(|e| e["trigger"] == "schedule")
        .filter_map(|e| at(e, "scheduled_for"))
        .collect();
    let distinct: BTreeSet<_> = fires.iter().collect();
    assert_eq!(distinct.len(), fires.len(), "a fire ran twice: {fires:?}");
    for fire in &fires {
        assert_eq!(
            fire.timestamp_subsec_millis(),
            0,
            "fires are on whole seconds"
        );
    }
    for e in history.iter().filter(|e| e["status"] == "succeeded") {
        let (fire, entered) = (
            at(e, "scheduled_for").unwrap(),
            at(e, "entered_at").unwrap(),
        );
        assert!(entered >= fire, "the plugin ran before its fire: {e}");
    }
    assert!(sb.stderr_of("serve").contains("Scheduler stopped"));
}

#[test]
fn two_schedulers_sharing_postgres_never_run_one_fire_twice() {
    let sb = Sandbox::new(Backend::Postgres);
    sb.config(
        "[jobs.tick]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = { rows = 1 }\n",
    );
    // Migrations first, so the two services don't race to create the schema.
    sb.history();
    let mut a = sb.spawn(&["serve"], "a");
    let mut b = sb.spawn(&["serve"], "b");
    let _ = sb.wait_for("six fires", WAIT, |h| {
        of_job(h, "tick")
            .iter()
            .filter(|e| e["trigger"] == "schedule" && e["status"] != "running")
            .count()
            >= 6
    });
    stop(&sb, &mut a, "a");
    stop(&sb, &mut b, "b");
    let history = sb.history();
    let fires: Vec<DateTime<Utc>> = history
        .iter()
        .filter(|e| e["attempt"] == 1)
        .filter_map(|e| at(e, "scheduled_for"))
        .collect();
    let distinct: BTreeSet<_> = fires.iter().collect();
    assert_eq!(
        distinct.len(),
        fires.len(),
        "a fire was claimed twice: {history:?}"
    );
    assert!(fires.len() >= 6);
}

/// Records a finished scheduled run at `fire`, so the job's cursor sits there.
fn seed_cursor(sb: &Sandbox, job: &str, fire: DateTime<Utc>) {
    sb.history(); // applies migrations
    let t = fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    sb.sql(&format!(
        "INSERT INTO executions (job, trigger, requested_by, host, scheduled_for, queued_at, \
         started_at, finished_at, status, attempt, params, plugin) VALUES ('{job}', 'schedule', \
         'scheduler', 'old-host', '{t}', '{t}', '{t}', '{t}', 'succeeded', 1, '{{}}', 'example')"
    ));
}

fn misfire_after_downtime(policy: &str) -> Vec<Value> {
    let sb = Sandbox::sqlite();
    sb.config(&format!(
        "[jobs.minutely]\nplugin = \"example\"\nschedule = \"* * * * *\"\nmisfire = \"{policy}\"\nsettings = {{ rows = 1 }}\n"
    ));
    let now = Utc::now();
    let cursor = now.duration_trunc(TimeDelta::minutes(1)).unwrap() - TimeDelta::minutes(5);
    seed_cursor(&sb, "minutely", cursor);
    let mut serve = sb.spawn(&["serve"], "serve");
    let history = sb.wait_for("the missed fires to be handled", WAIT, |h| {
        let fires = of_job(h, "minutely");
        fires.len() >= 6
            && fires
                .iter()
                .all(|e| e["status"] != "running" && e["status"] != "queued")
    });
    stop(&sb, &mut serve, "serve");
    let mut after: Vec<Value> = history
        .into_iter()
        .filter(|e| at(e, "scheduled_for").is_some_and(|t| t > cursor))
        .collect();
    after.sort_by_key(|e| at(e, "scheduled_for"));
    // Every minute between the cursor and now is accounted for, once.
    for (i, e) in after.iter().enumerate() {
        assert_eq!(
            at(e, "scheduled_for"),
            Some(cursor + TimeDelta::minutes(i as i64 + 1)),
            "{after:?}"
        );
    }
    after
}

#[test]
fn misfire_run_all_catches_up_every_missed_fire() {
    let fires = misfire_after_downtime("run_all");
    let (last, missed) = fires.split_last().unwrap();
    assert_eq!(last["trigger"], "schedule", "{fires:?}");
    assert!(missed.len() >= 4);
    for e in missed {
        assert_eq!(e["trigger"], "catch_up", "{fires:?}");
        assert_eq!(e["status"], "succeeded", "{fires:?}");
    }
}

#[test]
fn misfire_skip_records_each_missed_fire() {
    let fires = misfire_after_downtime("skip");
    let (last, missed) = fires.split_last().unwrap();
    assert_eq!(last["trigger"], "schedule");
    assert_eq!(last["status"], "succeeded");
    assert!(missed.len() >= 4);
    for e in missed {
        assert_eq!(e["status"], "missed", "{fires:?}");
        assert!(
            e["error"].as_str().unwrap_or("").contains("misfire = skip"),
            "{e}"
        );
    }
}

#[test]
fn a_run_whose_scheduler_died_is_abandoned_and_retried() {
    let sb = Sandbox::sqlite();
    let smtp = ferry_tests::peers::Smtp::plain();
    let to = format!(
        "abandoned-{}-{}@district.example",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    sb.config(&format!(
        "[mail]\nsmtp_url = \"{}\"\nfrom = \"ferry@district.example\"\nnotify = {{ always = [\"{to}\"] }}\n\n\
         [jobs.nightly]\nplugin = \"example\"\nretries = {{ max = 1, backoff = \"1s\" }}\nsettings = {{ rows = 1 }}\n",
        smtp.url()
    ));
    sb.history();
    let t =
        (Utc::now() - TimeDelta::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    sb.sql(&format!(
        "INSERT INTO executions (id, job, trigger, requested_by, host, queued_at, started_at, \
         status, attempt, params, plugin) VALUES (41, 'nightly', 'manual', 'someone', 'gone-host', \
         '{t}', '{t}', 'running', 1, '{{}}', 'example')"
    ));
    sb.sql(&format!(
        "INSERT INTO job_leases (job, execution_id, holder, acquired_at, heartbeat_at, expires_at) \
         VALUES ('nightly', 41, 'gone-host:1', '{t}', '{t}', '{t}')"
    ));
    let mut serve = sb.spawn(&["serve"], "serve");
    let history = sb.wait_for("the retry to succeed", WAIT, |h| {
        h.iter()
            .any(|e| e["retry_of"] == 41 && e["status"] == "succeeded")
    });
    stop(&sb, &mut serve, "serve");
    let dead = history.iter().find(|e| e["id"] == 41).unwrap();
    assert_eq!(dead["status"], "abandoned");
    assert!(
        dead["error"].as_str().unwrap_or("").contains("gone-host"),
        "{dead}"
    );
    let retry = history.iter().find(|e| e["retry_of"] == 41).unwrap();
    assert_eq!(retry["trigger"], "retry");
    assert_eq!(retry["attempt"], 2);
    // The abandoned run and its retry each got a notice, delivered by the scheduler.
    let mut subjects: Vec<String> = smtp
        .messages_with(&to)
        .iter()
        .filter_map(|m| {
            let mail = mailparse::parse_mail(m.as_bytes()).ok()?;
            mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), "Subject")
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects.len(),
        2,
        "{subjects:?}\n{}",
        sb.background_output()
    );
    assert!(
        subjects[0].starts_with("[FAILED] nightly run #41 — "),
        "{subjects:?}"
    );
    assert_eq!(subjects[1], "[OK] nightly run #42 — succeeded");
}

#[test]
fn a_crashing_plugin_does_not_stop_the_scheduler() {
    let sb = Sandbox::sqlite();
    sb.config(&format!(
        "[jobs.crash]\nplugin = \"{}\"\nschedule = \"* * * * * *\"\nsettings = {{ mode = \"segfault\" }}\n\n\
         [jobs.tick]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = {{ rows = 1 }}\n",
        plugin("ferry_test_misbehave").display()
    ));
    let mut serve = sb.spawn(&["serve"], "serve");
    sb.wait_for("crashes and successes", WAIT, |h| {
        of_job(h, "crash")
            .iter()
            .filter(|e| e["status"] == "failed")
            .count()
            >= 3
            && of_job(h, "tick")
                .iter()
                .filter(|e| e["status"] == "succeeded")
                .count()
                >= 3
    });
    stop(&sb, &mut serve, "serve");
}

#[test]
fn sigterm_lets_a_running_job_finish() {
    let sb = Sandbox::sqlite();
    sb.config(
        "[jobs.slow]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = { sleep_ms = 2500 }\n",
    );
    let mut serve = sb.spawn(&["serve"], "serve");
    sb.wait_for("a running fire", WAIT, |h| {
        h.iter().any(|e| e["status"] == "running")
    });
    stop(&sb, &mut serve, "serve");
    let history = sb.history();
    assert!(
        !history
            .iter()
            .any(|e| e["status"] == "running" || e["status"] == "cancelled")
    );
    assert!(
        history.iter().any(|e| e["status"] == "succeeded"),
        "{history:?}"
    );
}

#[test]
fn after_the_grace_period_running_workers_are_stopped_and_recorded() {
    let sb = Sandbox::sqlite();
    sb.config(
        "[jobs.slow]\nplugin = \"example\"\nschedule = \"* * * * * *\"\nsettings = { sleep_ms = 60000 }\n",
    );
    let mut serve = sb.spawn(&["serve", "--shutdown-grace", "1s"], "serve");
    sb.wait_for("a running fire", WAIT, |h| {
        h.iter().any(|e| e["status"] == "running")
    });
    stop(&sb, &mut serve, "serve");
    let history = sb.history();
    assert!(
        !history.iter().any(|e| e["status"] == "running"),
        "{history:?}"
    );
    assert!(
        history.iter().any(|e| e["status"] == "cancelled"),
        "{history:?}"
    );
}
