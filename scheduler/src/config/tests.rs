//! Tests of loading and checking configuration: the example file, every kind of error with its
//! exact `file:line:col: key:` text, and several errors reported together.

use super::*;
use ferry_plugin::wire::{Description, SettingKind, SettingSpec};
use std::path::Path;
use std::time::Duration;

/// Parses `text` as `ferry.toml`; the configuration or the printed diagnostics.
fn parse_text(text: &str) -> Result<Config, Vec<String>> {
    parse(Path::new("ferry.toml"), text).map_err(|d| d.iter().map(ToString::to_string).collect())
}

/// The diagnostics `text` produces, one string each.
fn errors(text: &str) -> Vec<String> {
    match parse_text(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e,
    }
}

/// Asserts that `text` gives exactly diagnostics starting with `want`, in order.
fn check(text: &str, want: &[&str]) {
    let got = errors(text);
    assert_eq!(got.len(), want.len(), "got {got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "want prefix {w:?}, got {g:?}");
    }
}

fn loaded(text: &str) -> Config {
    match parse_text(text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

#[test]
fn the_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/ferry.toml");
    let config = load(&path).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(config.scheduler.database, "sqlite://var/ferry.db");
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(config.scheduler.plugin_dir, cwd.join("target/release"));
    assert_eq!(config.scheduler.work_dir, cwd.join("var/work"));
    assert_eq!(config.scheduler.history_keep_days, 90);
    assert_eq!(config.scheduler.max_concurrent_runs, 4);
    let hello = &config.jobs["hello"];
    assert_eq!(hello.plugin, "example");
    assert_eq!(
        hello.plugin_path,
        cwd.join("target/release/libferry_job_example.so")
    );
    assert_eq!(hello.schedule_text.as_deref(), Some("*/5 * * * *"));
    assert_eq!(hello.timezone, chrono_tz::America::Chicago);
    assert_eq!(hello.timeout, Some(Duration::from_secs(600)));
    assert_eq!(
        hello.settings,
        serde_json::json!({"greeting": "Hello from Ferry", "rows": 3})
    );
    assert!(hello.secrets.is_empty());
    let t: chrono::DateTime<chrono::Utc> = "2026-06-01T12:01:00Z".parse().unwrap();
    let next = hello
        .schedule
        .as_ref()
        .unwrap()
        .next_after(t, hello.timezone);
    assert_eq!(next, Some("2026-06-01T12:05:00Z".parse().unwrap()));
    // The sources point at the example's own lines.
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    assert_eq!(
        config.sources.locate("jobs.hello.schedule"),
        (line_of("schedule ="), 1)
    );
    assert_eq!(
        config.sources.locate("jobs.hello.settings.rows"),
        (line_of("rows ="), 1)
    );
}

#[test]
fn a_minimal_job_gets_every_default() {
    let config =
        loaded("[scheduler]\ntimezone = \"Europe/Paris\"\n\n[jobs.adhoc]\nplugin = \"example\"\n");
    assert_eq!(config.scheduler.timezone, chrono_tz::Europe::Paris);
    let job = &config.jobs["adhoc"];
    assert!(job.schedule.is_none() && job.schedule_text.is_none());
    assert_eq!(job.timezone, chrono_tz::Europe::Paris);
    assert!(job.enabled);
    assert_eq!(job.timeout, None);
    assert_eq!(
        job.retries,
        RetryPolicy {
            max: 0,
            backoff: Duration::from_secs(30),
            cap: Duration::from_secs(600)
        }
    );
    assert_eq!(job.overlap, Overlap::Skip);
    assert_eq!(
        job.misfire,
        MisfirePolicy {
            kind: Misfire::RunOnce,
            catch_up_within: None
        }
    );
    assert_eq!(job.settings, serde_json::json!({}));
}

#[test]
fn every_job_key_is_read() {
    let config = loaded(
        r#"
[jobs.full-job_1]
plugin = "peer-nightly"
schedule = "0 2 * * MON-FRI"
timezone = "America/New_York"
enabled = false
timeout = "1h 30m"
retries = { max = 3, backoff = "10s", cap = "5m" }
overlap = "queue"
misfire = "run_all"
catch_up_within = "6h"
notify = { to = ["ops@example.org"], on = "failure" }

[[jobs.full-job_1.fetch]]
connection = "sis"
dir = "/out"

[[jobs.full-job_1.upload]]
connection = "state"
dir = "/in"

[jobs.full-job_1.settings]
district = "0042"
limit = 2.5
when = 2026-01-02T03:04:05Z
tables = ["a", "b"]
nested = { deep = { x = 1 } }
db_password_env = "SIS_DB_PASSWORD"
api_key_file = "secrets/api.key"
"#,
    );
    let job = &config.jobs["full-job_1"];
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        job.plugin_path,
        cwd.join("target/release/libferry_job_peer_nightly.so")
    );
    assert!(!job.enabled);
    assert_eq!(job.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(
        job.retries,
        RetryPolicy {
            max: 3,
            backoff: Duration::from_secs(10),
            cap: Duration::from_secs(300)
        }
    );
    assert_eq!(job.overlap, Overlap::Queue);
    assert_eq!(
        job.misfire,
        MisfirePolicy {
            kind: Misfire::RunAll,
            catch_up_within: Some(Duration::from_secs(6 * 3600))
        }
    );
    assert_eq!(
        job.settings,
        serde_json::json!({
            "district": "0042", "limit": 2.5, "when": "2026-01-02T03:04:05Z",
            "tables": ["a", "b"], "nested": {"deep": {"x": 1}},
            "db_password_env": "SIS_DB_PASSWORD", "api_key_file": "secrets/api.key"
        })
    );
    assert_eq!(job.secrets.len(), 2);
    assert_eq!(
        job.secrets["db_password"],
        SecretRef::Env("SIS_DB_PASSWORD".into())
    );
    assert_eq!(
        job.secrets["api_key"],
        SecretRef::File(cwd.join("secrets/api.key"))
    );
}

#[test]
fn plugin_values_with_a_slash_or_so_suffix_are_paths() {
    let cwd = std::env::current_dir().unwrap();
    let dir = Path::new("/opt/ferry/plugins");
    assert_eq!(
        plugin_library(dir, "ises-upload"),
        dir.join("libferry_job_ises_upload.so")
    );
    assert_eq!(
        plugin_library(dir, "/usr/lib/x.so"),
        Path::new("/usr/lib/x.so")
    );
    assert_eq!(plugin_library(dir, "custom.so"), cwd.join("custom.so"));
    assert_eq!(
        plugin_library(dir, "build/libjob"),
        cwd.join("build/libjob")
    );
}

#[test]
fn config_path_prefers_the_flag_then_the_environment() {
    assert_eq!(
        config_path(Some("a.toml".into()), Some("b.toml".into())),
        Path::new("a.toml")
    );
    assert_eq!(
        config_path(None, Some("b.toml".into())),
        Path::new("b.toml")
    );
    assert_eq!(
        config_path(None, Some(String::new())),
        Path::new("config/ferry.toml")
    );
    assert_eq!(config_path(None, None), Path::new("config/ferry.toml"));
}

#[test]
fn an_unreadable_file_is_one_diagnostic() {
    let d = load(Path::new("/nonexistent/ferry.toml")).unwrap_err();
    assert_eq!(d.len(), 1);
    assert!(
        d.to_string()
            .starts_with("/nonexistent/ferry.toml:1:1: cannot read the configuration file:"),
        "{d}"
    );
}

#[test]
fn a_syntax_error_points_at_its_line() {
    check(
        "[jobs.a]\nplugin = \"example\"\nschedule = \"@daily\n",
        &["ferry.toml:3:19: invalid basic string"],
    );
    check("[jobs.a]\nplugin = \"x\"\n= 3\n", &["ferry.toml:3:1: "]);
}

#[test]
fn unknown_keys_are_errors_in_every_table() {
    check(
        r#"
[scheduler]
databse = "sqlite://x.db"

[jobs.a]
plugin = "example"
shedule = "@daily"
retries = { max = 1, backof = "1s" }
"#,
        &[
            "ferry.toml:3:1: scheduler.databse: unknown key `databse`, expected one of `database`",
            "ferry.toml:7:1: jobs.a.shedule: unknown key `shedule`, expected one of `plugin`",
            "ferry.toml:8:22: jobs.a.retries.backof: unknown key `backof`, expected one of `max`, `backoff`, `cap`",
        ],
    );
    check(
        "title = \"x\"\n",
        &["ferry.toml:1:1: title: unknown key `title`, expected `scheduler` or `jobs`"],
    );
}

#[test]
fn wrong_types_are_errors_at_the_value() {
    check(
        r#"[scheduler]
history_keep_days = "ninety"
max_concurrent_runs = -1

[jobs.a]
plugin = 7
enabled = "yes"
overlap = "sometimes"
fetch = "nope"
"#,
        &[
            "ferry.toml:2:21: scheduler.history_keep_days: invalid type: string \"ninety\", expected u32",
            "ferry.toml:3:23: scheduler.max_concurrent_runs: invalid value: integer `-1`",
            "ferry.toml:6:10: jobs.a.plugin: invalid type: integer `7`, expected a string",
            "ferry.toml:7:11: jobs.a.enabled: invalid type: string \"yes\", expected a boolean",
            "ferry.toml:8:11: jobs.a.overlap: unknown variant `sometimes`, expected `skip` or `queue`",
            "ferry.toml:9:9: jobs.a.fetch: invalid type: string \"nope\", expected a sequence",
        ],
    );
}

#[test]
fn bad_values_are_errors_at_the_value() {
    check(
        r#"[scheduler]
timezone = "Mars/Olympus"
database = "mysql://db"

[jobs.a]
plugin = "example"
schedule = "0 25 * * *"
timezone = "America/Chicgo"
timeout = "30 minutes-ish"
catch_up_within = "0s"
retries = { cap = "10 fortnights" }

[jobs."bad name"]
plugin = "bad plugin"
"#,
        &[
            "ferry.toml:2:12: scheduler.timezone: unknown time zone `Mars/Olympus`: expected an IANA name",
            "ferry.toml:3:12: scheduler.database: unsupported database `mysql://db`",
            "ferry.toml:7:12: jobs.a.schedule: invalid cron expression `0 25 * * *`",
            "ferry.toml:8:12: jobs.a.timezone: unknown time zone `America/Chicgo`",
            "ferry.toml:9:11: jobs.a.timeout: invalid duration `30 minutes-ish`",
            "ferry.toml:10:19: jobs.a.catch_up_within: must be longer than zero",
            "ferry.toml:11:19: jobs.a.retries.cap: invalid duration `10 fortnights`",
            "ferry.toml:13:7: jobs.\"bad name\": job names may only use letters, digits, `_` and `-`",
            "ferry.toml:14:10: jobs.\"bad name\".plugin: expected a plugin name like \"example\"",
        ],
    );
}

#[test]
fn a_job_without_plugin_is_an_error_at_its_header() {
    check(
        "[jobs.lonely]\nschedule = \"@daily\"\n",
        &["ferry.toml:1:7: jobs.lonely.plugin: missing key `plugin`"],
    );
}

#[test]
fn secrets_written_inline_are_errors_anywhere() {
    check(
        r#"[scheduler]
password = "hunter2"

[jobs.a]
plugin = "example"
token = "abc"
notify = { smtp_password = "x" }

[jobs.a.settings]
api_key = "k"
sis = { db_password = "p", user = "u" }

[[jobs.a.fetch]]
passphrase = "pp"
"#,
        &[
            "ferry.toml:2:1: scheduler.password: secrets are never inline: use password_env = \"VAR\" or password_file = \"/path\"",
            "ferry.toml:6:1: jobs.a.token: secrets are never inline: use token_env = \"VAR\" or token_file = \"/path\"",
            "ferry.toml:7:12: jobs.a.notify.smtp_password: secrets are never inline: use smtp_password_env",
            "ferry.toml:10:1: jobs.a.settings.api_key: secrets are never inline: use api_key_env = \"VAR\" or api_key_file = \"/path\"",
            "ferry.toml:11:9: jobs.a.settings.sis.db_password: secrets are never inline",
            "ferry.toml:14:1: jobs.a.fetch[0].passphrase: secrets are never inline",
        ],
    );
    check(
        "[scheduler]\ndatabase = \"postgres://ferry:hunter2@db/ferry\"\n",
        &[
            "ferry.toml:2:12: scheduler.database: secrets are never inline: leave the password out of the URL",
        ],
    );
    // A user name alone is fine.
    loaded("[scheduler]\ndatabase = \"postgres://ferry@db:5432/ferry?sslmode=require\"\n");
}

#[test]
fn secret_references_must_name_something_once() {
    check(
        r#"[jobs.a]
plugin = "example"
[jobs.a.settings]
token_env = ""
key_file = 3
pw_env = "A"
pw_file = "/b"
"#,
        &[
            "ferry.toml:4:1: jobs.a.settings.token_env: expected a string: the name of an environment variable",
            "ferry.toml:5:1: jobs.a.settings.key_file: expected a string: the path of a file",
            "ferry.toml:7:1: jobs.a.settings.pw_file: give either `pw_env` or `pw_file`, not both",
        ],
    );
}

#[test]
fn all_errors_of_a_file_are_reported_in_file_order() {
    let got = errors(
        r#"[scheduler]
timezone = "Nowhere/Land"
bogus = 1

[jobs.one]
plugin = "example"
schedule = "not cron"
timeout = "soon"

[jobs.two]
schedule = "@daily"
password = "x"
"#,
    );
    let lines: Vec<&str> = got.iter().map(|l| l.split(": ").next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "ferry.toml:2:12",
            "ferry.toml:3:1",
            "ferry.toml:7:12",
            "ferry.toml:8:11",
            "ferry.toml:10:7",
            "ferry.toml:12:1"
        ],
        "{got:#?}"
    );
}

fn example_description() -> Description {
    Description {
        summary: "example".into(),
        settings: vec![
            SettingSpec {
                name: "greeting".into(),
                kind: SettingKind::String,
                required: true,
                doc: "text of each row".into(),
            },
            SettingSpec {
                name: "rows".into(),
                kind: SettingKind::Integer,
                required: false,
                doc: String::new(),
            },
            SettingSpec {
                name: "ratio".into(),
                kind: SettingKind::Float,
                required: false,
                doc: String::new(),
            },
            SettingSpec {
                name: "tables".into(),
                kind: SettingKind::StringList,
                required: false,
                doc: String::new(),
            },
            SettingSpec {
                name: "dry_run".into(),
                kind: SettingKind::Boolean,
                required: false,
                doc: String::new(),
            },
            SettingSpec {
                name: "token".into(),
                kind: SettingKind::Secret,
                required: true,
                doc: String::new(),
            },
            SettingSpec {
                name: "sis_url".into(),
                kind: SettingKind::Secret,
                required: false,
                doc: String::new(),
            },
        ],
    }
}

fn settings_errors(text: &str) -> Vec<String> {
    let config = loaded(text);
    check_settings(&config, "a", &example_description())
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn valid_plugin_settings_pass() {
    let got = settings_errors(
        r#"[jobs.a]
plugin = "example"
[jobs.a.settings]
greeting = "hi"
rows = 3
ratio = 2
tables = ["x", "y"]
dry_run = true
token_env = "T"
sis_url_file = "/etc/sis"
"#,
    );
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn plugin_settings_of_the_wrong_type_unknown_or_inline_secret_point_at_the_key() {
    let got = settings_errors(
        r#"[jobs.a]
plugin = "example"

[jobs.a.settings]
greeting = "hi"
rows = "three"
ratio = "x"
tables = ["x", 1]
dry_run = 1
colour = "blue"
sis_url = "postgres://u:p@h/db"
greeting_env = "G"
token_file = "/t"
"#,
    );
    assert_eq!(
        got,
        [
            "ferry.toml:6:1: jobs.a.settings.rows: expected an integer, found a string",
            "ferry.toml:7:1: jobs.a.settings.ratio: expected a number, found a string",
            "ferry.toml:8:1: jobs.a.settings.tables: expected a list of strings, found a list",
            "ferry.toml:9:1: jobs.a.settings.dry_run: expected true or false, found an integer",
            "ferry.toml:10:1: jobs.a.settings.colour: unknown setting `colour` for plugin `example` (it accepts: greeting, rows, ratio, tables, dry_run, token_env/token_file, sis_url_env/sis_url_file)",
            "ferry.toml:11:1: jobs.a.settings.sis_url: secrets are never inline: use sis_url_env = \"VAR\" or sis_url_file = \"/path\"",
            "ferry.toml:12:1: jobs.a.settings.greeting_env: `greeting` is not a secret setting of plugin `example`: write greeting = VALUE",
        ]
    );
}

#[test]
fn missing_required_plugin_settings_point_at_the_settings_table() {
    let got = settings_errors("[jobs.a]\nplugin = \"example\"\n\n[jobs.a.settings]\nrows = 1\n");
    assert_eq!(
        got,
        [
            "ferry.toml:4:9: jobs.a.settings.greeting: missing required setting `greeting` (text of each row): add greeting = \"…\"",
            "ferry.toml:4:9: jobs.a.settings.token: missing required setting `token`: add token_env = \"VAR\" or token_file = \"/path\"",
        ]
    );
    // Without a settings table, at the job's header.
    let got = settings_errors("# x\n[jobs.a]\nplugin = \"example\"\n");
    assert!(
        got.iter()
            .all(|l| l.starts_with("ferry.toml:2:7: jobs.a.settings.")),
        "{got:#?}"
    );
    let config = loaded("[jobs.a]\nplugin = \"example\"\n");
    let got = check_settings(&config, "zzz", &example_description());
    assert_eq!(
        got[0].to_string(),
        "ferry.toml:1:2: jobs.zzz: no job named `zzz`"
    );
}
