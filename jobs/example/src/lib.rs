//! The example job: a tiny real plugin for Ferry's own tests and the README quick start.
//!
//! It writes `greetings-<run id>.csv` with `rows` rows into the outbox, reports the file and a
//! `greetings` table line, keeps a run counter in job state (`runs`), can sleep (checking for
//! cancellation) and can fail on request. `--set rows=N` (and `greeting`, `sleep_ms`, `fail`)
//! override the settings for one run.
//!
//! If a `token` secret is configured it deliberately logs `token is <value>`: Ferry must redact
//! it, and Ferry's own tests check that it does. Real jobs must never do this.

use ferry_plugin::{
    Context, Description, Job, JobError, Outcome, SettingKind, SettingSpec, TableAction,
};
use serde::Deserialize;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How long one sleep step is; cancellation is checked between steps.
const SLEEP_STEP: Duration = Duration::from_millis(20);

/// The example job.
#[derive(Debug, Default)]
pub struct Example;

/// The job's settings, as the admin writes them under `[jobs.NAME.settings]`.
#[derive(Debug, Deserialize)]
struct Settings {
    #[serde(default = "default_greeting")]
    greeting: String,
    #[serde(default = "default_rows")]
    rows: u32,
    #[serde(default)]
    sleep_ms: u64,
    #[serde(default)]
    fail: bool,
}

fn default_greeting() -> String {
    "Hello from Ferry".to_owned()
}

fn default_rows() -> u32 {
    3
}

impl Settings {
    /// The settings with any `--set` parameter applied on top.
    fn from_context(ctx: &Context) -> Result<Settings, JobError> {
        let mut s: Settings = ctx.settings_as()?;
        if let Some(greeting) = ctx.param("greeting") {
            s.greeting = greeting.to_owned();
        }
        override_from(ctx, "rows", &mut s.rows)?;
        override_from(ctx, "sleep_ms", &mut s.sleep_ms)?;
        override_from(ctx, "fail", &mut s.fail)?;
        Ok(s)
    }
}

fn override_from<T: FromStr>(ctx: &Context, name: &str, value: &mut T) -> Result<(), JobError> {
    if let Some(text) = ctx.param(name) {
        *value = text
            .parse()
            .map_err(|_| JobError::settings(format!("--set {name}={text:?} is not valid")))?;
    }
    Ok(())
}

impl Job for Example {
    fn describe(&self) -> Description {
        Description::new("Writes a small greetings CSV into the outbox (Ferry's example job).")
            .setting(SettingSpec::optional(
                "greeting",
                SettingKind::String,
                "text of each row (default \"Hello from Ferry\")",
            ))
            .setting(SettingSpec::optional(
                "rows",
                SettingKind::Integer,
                "how many rows to write (default 3)",
            ))
            .setting(SettingSpec::optional(
                "sleep_ms",
                SettingKind::Integer,
                "milliseconds to sleep before writing, checking for cancellation",
            ))
            .setting(SettingSpec::optional(
                "fail",
                SettingKind::Boolean,
                "fail the run on purpose",
            ))
            .setting(SettingSpec::optional(
                "token",
                SettingKind::Secret,
                "a secret the job logs on purpose, to prove Ferry redacts it",
            ))
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let settings = Settings::from_context(ctx)?;
        ctx.info(format!(
            "example job {} starting (run {}, attempt {}, trigger {})",
            ctx.job(),
            ctx.run_id(),
            ctx.attempt(),
            ctx.trigger()
        ));
        if let Some(token) = ctx.secret("token") {
            // Deliberate leak: Ferry's redaction is tested against this line.
            ctx.info(format!("token is {token}"));
        }

        let runs = count_run(ctx)?;
        ctx.info(format!("this is run number {runs} of this job"));

        sleep_unless_cancelled(ctx, Duration::from_millis(settings.sleep_ms))?;

        if settings.fail {
            ctx.error("failing on purpose (fail = true)");
            return Ok(Outcome::failed("failed on purpose (fail = true)"));
        }

        let started = Instant::now();
        let path = ctx.outbox().join(format!("greetings-{}.csv", ctx.run_id()));
        let mut csv = String::from("n,greeting\n");
        for n in 1..=settings.rows {
            // Writing to a String cannot fail.
            let _ = writeln!(csv, "{n},{}", csv_field(&settings.greeting));
        }
        std::fs::write(&path, csv)
            .map_err(|e| JobError::io(format!("writing {}", path.display()), e))?;
        ctx.file(&path, "csv");
        ctx.table(
            "greetings",
            i64::from(settings.rows),
            started.elapsed().as_secs_f64(),
            TableAction::Inserted,
        );
        ctx.info(format!(
            "wrote {} rows to {}",
            settings.rows,
            path.display()
        ));
        Ok(Outcome::succeeded(format!(
            "wrote {} greetings",
            settings.rows
        )))
    }
}

/// Increments the job's `runs` counter in job state and returns the new value.
fn count_run(ctx: &Context) -> Result<u64, JobError> {
    let previous = match ctx.state_get("runs")? {
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| JobError::msg(format!("job state `runs` is not a number: {text:?}")))?,
        None => 0,
    };
    let runs = previous + 1;
    ctx.state_set("runs", Some(&runs.to_string()))?;
    Ok(runs)
}

/// Sleeps `total` in small steps, giving up as soon as the host cancels the run.
#[allow(
    clippy::disallowed_methods,
    reason = "a plugin runs synchronously on the worker's own thread, not inside an async runtime"
)]
fn sleep_unless_cancelled(ctx: &Context, total: Duration) -> Result<(), JobError> {
    if total.is_zero() {
        return Ok(());
    }
    ctx.info(format!("sleeping {} ms", total.as_millis()));
    let until = Instant::now() + total;
    loop {
        if ctx.cancelled() {
            ctx.warn("cancelled while sleeping");
            return Err(JobError::Cancelled);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(SLEEP_STEP));
    }
}

/// Quotes a CSV field when it needs it.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

ferry_plugin::export!(Example);

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_plugin::Event;
    use ferry_plugin::wire::{OutcomeStatus, RunRequest};
    use std::collections::BTreeMap;

    fn request(dir: &std::path::Path, settings: serde_json::Value) -> RunRequest {
        RunRequest {
            run_id: 42,
            job: "example".to_owned(),
            trigger: "manual".to_owned(),
            attempt: 1,
            scheduled_for: None,
            settings,
            params: BTreeMap::new(),
            secrets: BTreeMap::new(),
            work_dir: dir.to_owned(),
            inbox: dir.to_owned(),
            outbox: dir.to_owned(),
            no_fetch: false,
        }
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    #[test]
    fn writes_the_csv_and_reports_file_and_table() {
        let tmp = temp_dir();
        let dir = tmp.path();
        let mut req = request(
            dir,
            serde_json::json!({ "greeting": "hi, there", "rows": 5 }),
        );
        req.params.insert("rows".to_owned(), "2".to_owned());
        let mut ctx = Context::offline(req);
        let outcome = Example.run(&mut ctx).expect("run");
        assert_eq!(outcome.status, OutcomeStatus::Succeeded);
        let csv = std::fs::read_to_string(dir.join("greetings-42.csv")).expect("csv written");
        assert_eq!(csv, "n,greeting\n1,\"hi, there\"\n2,\"hi, there\"\n");
        let events = ctx.recorded_events();
        assert!(events.iter().any(|e| matches!(e,
            Event::Table { table, rows: 2, action: TableAction::Inserted, .. } if table == "greetings")));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::File { kind, .. } if kind == "csv"))
        );
    }

    #[test]
    fn counts_runs_in_job_state() {
        let tmp = temp_dir();
        let dir = tmp.path();
        let mut ctx = Context::offline(request(dir, serde_json::json!({})));
        Example.run(&mut ctx).expect("first");
        Example.run(&mut ctx).expect("second");
        assert_eq!(ctx.state_get("runs").expect("state").as_deref(), Some("2"));
    }

    #[test]
    fn fails_on_request_and_rejects_bad_params() {
        let tmp = temp_dir();
        let dir = tmp.path();
        let mut ctx = Context::offline(request(dir, serde_json::json!({ "fail": true })));
        let outcome = Example.run(&mut ctx).expect("run");
        assert_eq!(outcome.status, OutcomeStatus::Failed);

        let mut req = request(dir, serde_json::json!({}));
        req.params.insert("rows".to_owned(), "many".to_owned());
        let err = Example
            .run(&mut Context::offline(req))
            .expect_err("bad --set");
        assert!(err.to_string().contains("--set rows=\"many\""), "{err}");
    }
}
