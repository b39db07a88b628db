//! The example job: a tiny real plugin for Ferry's own tests and the README quick start.
//!
//! It writes `greetings-<run id>.csv` with `rows` rows into the outbox, reports the file and a
//! `greetings` table line, keeps a run counter in job state (`runs`), can sleep (checking for
//! cancellation) and can fail on request. With `problems = N` it reports N input problems, as
//! an import that rejects rows would (see `report_problems`), and ends with a warning.
//! `--set rows=N` (and `greeting`, `sleep_ms`, `fail`, `problems`) override the settings for
//! one run.
//!
//! If a `token` secret is configured it deliberately logs `token is <value>`, and reports it as
//! the value of its first warning problem: Ferry must redact both, and Ferry's own tests check
//! that it does. Real jobs must never do this.

use ferry_plugin::{
    Context, Description, Job, JobError, Outcome, Problem, SettingKind, SettingSpec, TableAction,
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
    #[serde(default)]
    problems: u32,
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
        override_from(ctx, "problems", &mut s.problems)?;
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
                "problems",
                SettingKind::Integer,
                "how many input problems to report, as if rows were rejected (default 0)",
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

        report_problems(ctx, settings.problems);

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
        if settings.problems > 0 {
            return Ok(Outcome::warning(format!(
                "wrote {} greetings; {} input problems",
                settings.rows, settings.problems
            )));
        }
        Ok(Outcome::succeeded(format!(
            "wrote {} greetings",
            settings.rows
        )))
    }
}

/// The file the reported problems point into.
const PROBLEM_FILE: &str = "STUDENTS.txt";

/// Reports `count` problems as an import that checks `STUDENTS.txt` would, one per data line
/// from line 2: odd ones are `Invalid value` errors in `BirthDate`, even ones `Unknown school`
/// warnings in `SchoolCode`. The first warning's value is the `token` secret when one is set.
fn report_problems(ctx: &Context, count: u32) {
    for n in 1..=count {
        let line = u64::from(n) + 1;
        let problem = if n % 2 == 1 {
            Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
                .at(PROBLEM_FILE, line)
                .field("BirthDate", format!("2019-13-{:02}", n % 28 + 1))
        } else {
            let code = match ctx.secret("token") {
                // Deliberate leak, as above: Ferry must store it as `***`.
                Some(token) if n == 2 => token.to_owned(),
                _ => format!("S{n:04}"),
            };
            Problem::warning("Unknown school", "is not a school of this district")
                .at(PROBLEM_FILE, line)
                .field("SchoolCode", code)
        };
        ctx.problem(problem);
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
    use ferry_plugin::wire::{OutcomeStatus, RunRequest};
    use ferry_plugin::{Event, Severity};
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
            timezone: "America/New_York".into(),
            today: "2026-01-15".into(),
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
    fn reports_problems_of_two_categories_and_ends_with_a_warning() {
        let tmp = temp_dir();
        let mut req = request(tmp.path(), serde_json::json!({ "problems": 5 }));
        req.secrets.insert("token".to_owned(), "tok-123".to_owned());
        let mut ctx = Context::offline(req);
        let outcome = Example.run(&mut ctx).expect("run");
        assert_eq!(outcome.status, OutcomeStatus::Warning);
        let problems: Vec<Event> = ctx
            .recorded_events()
            .into_iter()
            .filter(|e| matches!(e, Event::Problem { .. }))
            .collect();
        assert_eq!(problems.len(), 5);
        assert_eq!(
            problems[0],
            Event::from(
                Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
                    .at("STUDENTS.txt", 2)
                    .field("BirthDate", "2019-13-02")
            )
        );
        assert!(
            matches!(&problems[1], Event::Problem { severity: Severity::Warning, line: Some(3),
                value: Some(v), .. } if v == "tok-123"),
            "{problems:?}"
        );
        assert!(
            matches!(&problems[3], Event::Problem { category, value: Some(v), .. }
                if category == "Unknown school" && v == "S0004"),
            "{problems:?}"
        );
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
