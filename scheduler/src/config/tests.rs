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
    let peer = &config.jobs["florida-peer-nightly-import"];
    assert_eq!(
        peer.plugin_path,
        cwd.join("target/release/libferry_job_florida_peer.so")
    );
    assert_eq!(peer.schedule_text.as_deref(), Some("30 2 * * *"));
    assert_eq!(peer.timezone, chrono_tz::America::New_York);
    assert_eq!(peer.fetch[0].connection, "peer-samples");
    assert!(hello.secrets.is_empty());
    assert!(hello.fetch.is_empty() && hello.upload.is_empty() && hello.arrival.is_none());
    let ises = &config.jobs["ises-discipline-upload"];
    assert_eq!(
        ises.plugin_path,
        cwd.join("target/release/libferry_job_ises_upload.so")
    );
    assert_eq!(ises.settings["upload_connection"], "ises-dropbox");
    assert_eq!(config.connections.len(), 4);
    let fs163 = &config.jobs["edfacts-fs163"];
    assert_eq!(
        fs163.plugin_path,
        cwd.join("target/release/libferry_job_edfacts_fs163.so")
    );
    assert_eq!(fs163.settings["upload_connection"], "edfacts-dropbox");
    assert_eq!(
        config.connections["edfacts-dropbox"].kind,
        ConnectionKind::Local {
            path: cwd.join("var/edfacts-dropbox")
        }
    );
    let edfi = &config.jobs["edfi-resync"];
    assert_eq!(
        edfi.plugin_path,
        cwd.join("target/release/libferry_job_edfi_resync.so")
    );
    assert!(
        edfi.secrets.contains_key("client_secret"),
        "{:?}",
        edfi.secrets.keys()
    );
    assert_eq!(
        config.connections["ises-dropbox"].kind,
        ConnectionKind::Local {
            path: cwd.join("var/ises-dropbox")
        }
    );
    let dropbox = &config.connections["dropbox"];
    assert_eq!(
        dropbox.kind,
        ConnectionKind::Local {
            path: cwd.join("var/dropbox")
        }
    );
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

/// The example file with its commented connection, fetch, upload and trigger examples
/// uncommented: what an admin gets by removing the `# `.
fn example_with_transfers_uncommented(text: &str) -> String {
    let mut out = String::new();
    let mut in_connection = false;
    for line in text.lines() {
        let uncomment = if line.starts_with("# [connections.") {
            in_connection = true;
            true
        } else if in_connection && line.starts_with("# ") && line.contains(" = ") {
            true
        } else {
            in_connection = false;
            ["# fetch = ", "# upload = ", "# trigger = "]
                .iter()
                .any(|p| line.starts_with(p))
        };
        out.push_str(if uncomment { &line[2..] } else { line });
        out.push('\n');
    }
    out
}

#[test]
fn the_example_configs_commented_transfer_examples_are_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/ferry.toml");
    let text = example_with_transfers_uncommented(&std::fs::read_to_string(path).unwrap());
    let config = loaded(&text);
    let names: Vec<&str> = config.connections.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "dropbox",
            "edfacts-dropbox",
            "ises-dropbox",
            "peer-samples",
            "sis",
            "state"
        ]
    );
    assert_eq!(config.connections["sis"].kind.as_str(), "sftp");
    assert_eq!(config.connections["state"].kind.as_str(), "ftps");
    let hello = &config.jobs["hello"];
    assert_eq!(hello.fetch.len(), 1);
    assert_eq!(
        hello.fetch[0].after,
        AfterFetch::Archive("processed".into())
    );
    assert_eq!(hello.upload.len(), 1);
    let arrival = hello.arrival.as_ref().unwrap();
    assert_eq!(arrival.poll, Duration::from_secs(60));
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
    assert!(job.fetch.is_empty() && job.upload.is_empty() && job.arrival.is_none());
    assert!(config.connections.is_empty());
}

#[test]
fn every_job_key_is_read() {
    let config = loaded(
        r#"
[mail]
smtp_url = "smtp://127.0.0.1:2525"
from = "ferry@example.org"

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
notify = { always = ["ops@example.org"], on_failure = ["oncall@example.org"] }

[[jobs.full-job_1.fetch]]
connection = "sis"
remote_dir = "/out"

[[jobs.full-job_1.upload]]
connection = "state"
remote_dir = "/in"

[jobs.full-job_1.settings]
district = "0042"
limit = 2.5
when = 2026-01-02T03:04:05Z
tables = ["a", "b"]
nested = { deep = { x = 1 } }
db_password_env = "SIS_DB_PASSWORD"
api_key_file = "secrets/api.key"

[connections.sis]
kind = "local"
path = "/srv/sis"

[connections.state]
kind = "local"
path = "/srv/state"
"#,
    );
    let job = &config.jobs["full-job_1"];
    assert_eq!(job.fetch.len(), 1);
    assert_eq!(
        (
            job.fetch[0].connection.as_str(),
            job.fetch[0].remote_dir.as_str()
        ),
        ("sis", "/out")
    );
    assert_eq!(job.upload.len(), 1);
    assert_eq!(
        (
            job.upload[0].connection.as_str(),
            job.upload[0].remote_dir.as_str()
        ),
        ("state", "/in")
    );
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
        &[
            "ferry.toml:1:1: title: unknown key `title`, expected `scheduler`, `mail`, `connections` or `jobs`",
        ],
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
connection = "drop"

[connections.drop]
kind = "local"
path = "/srv/drop"
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
                choices: vec![],
            },
            SettingSpec {
                name: "rows".into(),
                kind: SettingKind::Integer,
                required: false,
                doc: String::new(),
                choices: vec![],
            },
            SettingSpec {
                name: "ratio".into(),
                kind: SettingKind::Float,
                required: false,
                doc: String::new(),
                choices: vec![],
            },
            SettingSpec {
                name: "tables".into(),
                kind: SettingKind::StringList,
                required: false,
                doc: String::new(),
                choices: vec![],
            },
            SettingSpec {
                name: "dry_run".into(),
                kind: SettingKind::Boolean,
                required: false,
                doc: String::new(),
                choices: vec![],
            },
            SettingSpec {
                name: "token".into(),
                kind: SettingKind::Secret,
                required: true,
                doc: String::new(),
                choices: vec![],
            },
            SettingSpec {
                name: "sis_url".into(),
                kind: SettingKind::Secret,
                required: false,
                doc: String::new(),
                choices: vec![],
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
fn settings_with_choices_and_tables_are_checked() {
    let description = Description::new("x")
        .setting(
            SettingSpec::optional("elements", SettingKind::StringList, "what to import")
                .one_of(["custom_873", "log_200000261"]),
        )
        .setting(SettingSpec::optional(
            "aliases",
            SettingKind::Table,
            "header names",
        ));
    let config = loaded(
        r#"[jobs.a]
plugin = "example"
[jobs.a.settings]
elements = ["custom_873", "custom_9999", "log_1"]
aliases = ["not", "a", "table"]
"#,
    );
    let got: Vec<String> = check_settings(&config, "a", &description)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "ferry.toml:4:1: jobs.a.settings.elements: unknown values `custom_9999`, `log_1` \
             (accepted: custom_873, log_200000261)",
            "ferry.toml:5:1: jobs.a.settings.aliases: expected a table, found a list of strings",
        ]
    );
    let fine = loaded(
        "[jobs.a]\nplugin = \"example\"\n[jobs.a.settings]\nelements = [\"custom_873\"]\n\
         aliases = { \"A.csv\" = { \"X\" = \"y\" } }\n",
    );
    assert!(check_settings(&fine, "a", &description).is_empty());
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

// ----- Connections and transfer steps -----

#[test]
fn connections_of_every_kind_and_transfer_steps_load() {
    let config = loaded(
        r#"[connections.sis]
kind = "sftp"
host = "sftp.example.org"
user = "ferry"
private_key = "keys/id_ed25519"
passphrase_env = "SIS_KEY_PASSPHRASE"
known_hosts = "/etc/ferry/known_hosts"

[connections.sis-pw]
kind = "sftp"
host = "10.0.0.7"
port = 2222
user = "ferry"
password_file = "/etc/ferry/sis-pw"
known_hosts = "/etc/ferry/known_hosts"
connect_timeout = "5s"
io_timeout = "2m"
retries = 0
retry_backoff = "500ms"

[connections.legacy]
kind = "ftp"
host = "ftp.example.org"
user = "district"
passive = false

[connections.state]
kind = "ftps"
host = "ftp.state.example.gov"
port = 990
user = "district0042"
password_env = "STATE_FTP_PASSWORD"
ca_file = "/etc/ferry/state-ca.pem"

[connections.drop]
kind = "local"
path = "var/drop"

[jobs.peer]
plugin = "example"
fetch = [
  { connection = "sis", remote_dir = "outgoing", pattern = "*.csv", required = ["students.csv", "enroll_*.csv"], after = "archive:done" },
  { connection = "legacy", after = "delete", settle = "0s" },
]
upload = [{ connection = "state", remote_dir = "/in", pattern = "PEER_??.txt" }]
trigger = { arrival = { connection = "drop", pattern = "*.done" } }
"#,
    );
    let cwd = std::env::current_dir().unwrap();
    let sis = &config.connections["sis"];
    assert_eq!(
        sis,
        &ConnectionSpec {
            name: "sis".into(),
            kind: ConnectionKind::Sftp {
                host: "sftp.example.org".into(),
                port: 22,
                user: "ferry".into(),
                private_key: Some(cwd.join("keys/id_ed25519")),
                passphrase: Some(SecretRef::Env("SIS_KEY_PASSPHRASE".into())),
                password: None,
                known_hosts: "/etc/ferry/known_hosts".into(),
            },
            connect_timeout: Duration::from_secs(15),
            io_timeout: Duration::from_secs(60),
            retries: 3,
            retry_backoff: Duration::from_secs(2),
        }
    );
    let pw = &config.connections["sis-pw"];
    assert_eq!(
        pw.kind,
        ConnectionKind::Sftp {
            host: "10.0.0.7".into(),
            port: 2222,
            user: "ferry".into(),
            private_key: None,
            passphrase: None,
            password: Some(SecretRef::File("/etc/ferry/sis-pw".into())),
            known_hosts: "/etc/ferry/known_hosts".into(),
        }
    );
    assert_eq!(
        (
            pw.connect_timeout,
            pw.io_timeout,
            pw.retries,
            pw.retry_backoff
        ),
        (
            Duration::from_secs(5),
            Duration::from_secs(120),
            0,
            Duration::from_millis(500)
        )
    );
    assert_eq!(
        config.connections["legacy"].kind,
        ConnectionKind::Ftp {
            host: "ftp.example.org".into(),
            port: 21,
            user: "district".into(),
            password: None,
            passive: false,
            tls: false,
            ca_file: None,
        }
    );
    let state = &config.connections["state"];
    assert_eq!(
        state.kind,
        ConnectionKind::Ftp {
            host: "ftp.state.example.gov".into(),
            port: 990,
            user: "district0042".into(),
            password: Some(SecretRef::Env("STATE_FTP_PASSWORD".into())),
            passive: true,
            tls: true,
            ca_file: Some("/etc/ferry/state-ca.pem".into()),
        }
    );
    assert_eq!(
        (state.kind.as_str(), state.kind.target()),
        ("ftps", "district0042@ftp.state.example.gov:990".to_owned())
    );
    assert_eq!(
        config.connections["drop"].kind,
        ConnectionKind::Local {
            path: cwd.join("var/drop")
        }
    );

    let job = &config.jobs["peer"];
    let glob = |p: &str| glob::Pattern::new(p).unwrap();
    assert_eq!(
        job.fetch,
        [
            FetchStep {
                connection: "sis".into(),
                remote_dir: "outgoing".into(),
                pattern: glob("*.csv"),
                required: vec![glob("students.csv"), glob("enroll_*.csv")],
                after: AfterFetch::Archive("done".into()),
                settle: Duration::from_secs(3),
            },
            FetchStep {
                connection: "legacy".into(),
                remote_dir: ".".into(),
                pattern: glob("*"),
                required: vec![],
                after: AfterFetch::Delete,
                settle: Duration::ZERO,
            },
        ]
    );
    assert_eq!(
        job.upload,
        [UploadStep {
            connection: "state".into(),
            remote_dir: "/in".into(),
            pattern: glob("PEER_??.txt"),
        }]
    );
    assert_eq!(
        job.arrival,
        Some(ArrivalTrigger {
            connection: "drop".into(),
            remote_dir: ".".into(),
            pattern: glob("*.done"),
            poll: Duration::from_secs(300),
        })
    );
    assert!(
        job.schedule.is_none(),
        "an arrival-only job has no schedule"
    );
}

#[test]
fn an_unknown_or_missing_connection_kind_is_an_error() {
    check(
        r#"[connections.sis]
kind = "scp"
host = "h"

[connections.other]
host = "h"
"#,
        &[
            "ferry.toml:2:8: connections.sis.kind: unknown variant `scp`, expected one of `sftp`, `ftp`, `ftps`, `local`",
            "ferry.toml:5:14: connections.other.kind: missing key `kind`: one of \"sftp\", \"ftp\", \"ftps\" or \"local\"",
        ],
    );
}

#[test]
fn an_sftp_connection_without_known_hosts_is_an_error_at_its_header() {
    check(
        r#"# SIS
[connections.sis]
kind = "sftp"
host = "sftp.example.org"
user = "ferry"
private_key = "/etc/ferry/id"
"#,
        &[
            "ferry.toml:2:14: connections.sis.known_hosts: missing key `known_hosts`: the server's host key is always verified",
        ],
    );
    check(
        r#"[connections.sis]
kind = "sftp"
known_hosts = "/etc/ferry/known_hosts"
"#,
        &[
            "ferry.toml:1:14: connections.sis.host: missing key `host`: the server's name or address",
            "ferry.toml:1:14: connections.sis.user: missing key `user`: the account to log in as",
            "ferry.toml:1:14: connections.sis: an sftp connection needs `private_key = \"/path\"` or `password_env` / `password_file` to log in",
        ],
    );
}

#[test]
fn secrets_written_inline_in_a_connection_are_errors() {
    check(
        r#"[connections.state]
kind = "ftps"
host = "ftp.example.gov"
user = "d42"
password = "hunter2"

[connections.sis]
kind = "sftp"
host = "sftp.example.org"
user = "ferry"
password = "hunter2"
private_key = "-----BEGIN OPENSSH PRIVATE KEY-----"
known_hosts = "/k"
"#,
        &[
            "ferry.toml:5:1: connections.state.password: secrets are never inline: use password_env = \"VAR\" or password_file = \"/path\"",
            "ferry.toml:11:1: connections.sis.password: secrets are never inline: use password_env",
            "ferry.toml:12:15: connections.sis.private_key: secrets are never inline: private_key is the path of a key file, not the key itself",
        ],
    );
}

#[test]
fn connection_values_and_keys_of_another_kind_are_errors() {
    check(
        r#"[connections.sis]
kind = "sftp"
host = "sftp://sftp.example.org"
port = 0
user = "ferry"
private_key = "~/.ssh/id_ed25519"
password_env = "A=B"
known_hosts = "/k"
passive = true
connect_timeout = "0s"
retries = -1

[connections.drop]
kind = "local"
path = "/srv/drop"
host = "example.org"
ca_file = "/ca.pem"

[connections.ftp]
kind = "ftp"
host = "ftp.example.org"
user = "u"
ca_file = "/ca.pem"
password_env = "P"
password_file = "/p"

[connections."bad name"]
kind = "local"
"#,
        &[
            "ferry.toml:3:8: connections.sis.host: write the host name alone, without a scheme",
            "ferry.toml:4:8: connections.sis.port: must be between 1 and 65535",
            "ferry.toml:6:15: connections.sis.private_key: `~` is not expanded here: write the full path",
            "ferry.toml:7:16: connections.sis.password_env: `A=B` is not an environment variable name",
            "ferry.toml:9:1: connections.sis.passive: `passive` does not apply to sftp connections (it is for ftp and ftps)",
            "ferry.toml:10:19: connections.sis.connect_timeout: must be longer than zero",
            "ferry.toml:11:11: connections.sis.retries: invalid value: integer `-1`",
            "ferry.toml:16:1: connections.drop.host: `host` does not apply to local connections (it is for sftp, ftp and ftps)",
            "ferry.toml:17:1: connections.drop.ca_file: `ca_file` does not apply to local connections (it is for ftps)",
            "ferry.toml:23:1: connections.ftp.ca_file: `ca_file` does not apply to ftp connections (it is for ftps)",
            "ferry.toml:25:17: connections.ftp.password_file: give either `password_env` or `password_file`, not both",
            "ferry.toml:27:14: connections.\"bad name\": connection names may only use letters, digits, `_` and `-`",
            "ferry.toml:27:14: connections.\"bad name\".path: missing key `path`: the folder",
        ],
    );
}

#[test]
fn a_fetch_from_an_unknown_connection_is_an_error_at_the_value() {
    check(
        r#"[connections.drop]
kind = "local"
path = "/srv/drop"

[jobs.a]
plugin = "example"
fetch = [{ connection = "sis", pattern = "*.csv" }]
upload = [{ remote_dir = "out" }]
trigger = { arrival = { connection = "nope" } }
"#,
        &[
            "ferry.toml:7:25: jobs.a.fetch[0].connection: unknown connection `sis`: define [connections.sis] (configured: drop)",
            "ferry.toml:8:11: jobs.a.upload[0].connection: missing key `connection`: the [connections.NAME] to upload to",
            "ferry.toml:9:38: jobs.a.trigger.arrival.connection: unknown connection `nope`",
        ],
    );
    check(
        "[jobs.a]\nplugin = \"example\"\n\n[[jobs.a.fetch]]\nconnection = \"sis\"\n",
        &[
            "ferry.toml:5:14: jobs.a.fetch[0].connection: unknown connection `sis`: define [connections.sis] (no connections are configured)",
        ],
    );
    // A connection that is written but broken is reported once, not again at each use.
    check(
        "[connections.sis]\nkind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nprivate_key = \"/k\"\n\n[jobs.a]\nplugin = \"example\"\nfetch = [{ connection = \"sis\" }]\n",
        &["ferry.toml:1:14: connections.sis.known_hosts: missing key `known_hosts`"],
    );
}

#[test]
fn bad_after_values_are_errors_at_the_value() {
    check(
        r#"[connections.drop]
kind = "local"
path = "/srv/drop"

[jobs.a]
plugin = "example"

[[jobs.a.fetch]]
connection = "drop"
after = "move"

[[jobs.a.fetch]]
connection = "drop"
after = "archive:  "

[[jobs.a.fetch]]
connection = "drop"
after = "archive:done/2026"
"#,
        &[
            "ferry.toml:10:9: jobs.a.fetch[0].after: unknown value `move`: expected \"keep\", \"delete\" or \"archive:DIR\"",
            "ferry.toml:14:9: jobs.a.fetch[1].after: `archive:` needs a folder",
        ],
    );
}

#[test]
fn bad_patterns_are_errors_at_the_value() {
    check(
        r#"[connections.drop]
kind = "local"
path = "/srv/drop"

[jobs.a]
plugin = "example"
fetch = [
  { connection = "drop", pattern = "[abc.csv" },
  { connection = "drop", pattern = "in/*.csv" },
  { connection = "drop", pattern = "*.csv", required = ["students.txt", "x_*.csv", "***"] },
  { connection = "drop", remote_dir = "", pattern = "" },
]
upload = [{ connection = "drop", pattern = "a**b" }]
trigger = { arrival = { connection = "drop", poll = "0s" } }
"#,
        &[
            "ferry.toml:8:36: jobs.a.fetch[0].pattern: invalid pattern `[abc.csv`: invalid range pattern (at character 1)",
            "ferry.toml:9:36: jobs.a.fetch[1].pattern: a pattern matches file names, so it cannot contain `/`",
            "ferry.toml:10:57: jobs.a.fetch[2].required[0]: `students.txt` does not match the step's pattern `*.csv`, so it can never be fetched",
            "ferry.toml:10:84: jobs.a.fetch[2].required[2]: invalid pattern `***`",
            "ferry.toml:11:39: jobs.a.fetch[3].remote_dir: must not be empty: write \".\" for the connection's root",
            "ferry.toml:11:53: jobs.a.fetch[3].pattern: must not be empty: write \"*\" for every file",
            "ferry.toml:13:44: jobs.a.upload[0].pattern: invalid pattern `a**b`: recursive wildcards must form a single path component",
            "ferry.toml:14:53: jobs.a.trigger.arrival.poll: must be longer than zero",
        ],
    );
}

#[test]
fn unknown_keys_in_transfer_steps_are_errors() {
    check(
        r#"[connections.drop]
kind = "local"
path = "/srv/drop"
username = "x"

[jobs.a]
plugin = "example"
fetch = [{ connection = "drop", dir = "in" }]
trigger = { cron = "@daily" }
"#,
        &[
            "ferry.toml:4:1: connections.drop.username: unknown key `username`, expected one of `kind`",
            "ferry.toml:8:33: jobs.a.fetch[0].dir: unknown key `dir`, expected one of `connection`, `remote_dir`, `pattern`, `required`, `after`",
            "ferry.toml:9:13: jobs.a.trigger.cron: unknown key `cron`, expected `arrival`",
        ],
    );
}

#[test]
fn mail_and_notify_lists_are_read() {
    let config = loaded(
        r#"[mail]
smtp_url = "smtp://mail.example.org:587?tls=required"
from = "ferry@example.org"
username = "ferry"
password_env = "SMTP_PASSWORD"
timeout = "10s"
ca_file = "/etc/ferry/ca.pem"
notify = { always = ["ops@example.org"], on_failure = ["oncall@example.org", "OPS@example.org"] }

[jobs.a]
plugin = "example"
notify = { on_success = ["a@example.org"], on_recovery = ["boss@example.org", "a@example.org"] }

[jobs.b]
plugin = "example"
"#,
    );
    let mail = config.mail.as_ref().unwrap();
    assert_eq!(mail.smtp_url, "smtp://mail.example.org:587?tls=required");
    assert_eq!(mail.from, "ferry@example.org");
    assert_eq!(mail.username.as_deref(), Some("ferry"));
    assert_eq!(mail.password, Some(SecretRef::Env("SMTP_PASSWORD".into())));
    assert_eq!(mail.timeout, Duration::from_secs(10));
    assert_eq!(mail.ca_file, Some("/etc/ferry/ca.pem".into()));
    let a = config.notify_lists(&config.jobs["a"]).unwrap();
    assert_eq!(
        a.recipients(NoticeOutcome::Failure, false),
        Vec::<String>::new()
    );
    assert_eq!(
        a.recipients(NoticeOutcome::Success, false),
        ["a@example.org"]
    );
    assert_eq!(
        a.recipients(NoticeOutcome::Success, true),
        ["a@example.org", "boss@example.org"]
    );
    let b = config.notify_lists(&config.jobs["b"]).unwrap();
    assert_eq!(
        b.recipients(NoticeOutcome::Failure, false),
        ["ops@example.org", "oncall@example.org"]
    );
    assert_eq!(
        b.recipients(NoticeOutcome::Success, true),
        ["ops@example.org"]
    );
}

#[test]
fn mail_defaults_and_smtps_urls() {
    let config =
        loaded("[mail]\nsmtp_url = \"smtps://mail.example.org:465\"\nfrom = \"f@example.org\"\n");
    let mail = config.mail.as_ref().unwrap();
    assert_eq!(mail.timeout, DEFAULT_MAIL_TIMEOUT);
    assert_eq!(mail.retries, DEFAULT_MAIL_RETRIES);
    assert_eq!(mail.password, None);
    assert!(mail.notify.is_empty());
    assert!(loaded("[scheduler]\n").mail.is_none());
    let tuned = loaded(
        "[mail]\nsmtp_url = \"smtp://m:25\"\nfrom = \"f@example.org\"\n\
         retries = { max = 2, backoff = \"1s\", cap = \"5s\" }\n",
    );
    let retries = tuned.mail.as_ref().unwrap().retries;
    assert_eq!(
        (retries.max, retries.backoff, retries.cap),
        (2, Duration::from_secs(1), Duration::from_secs(5))
    );
}

#[test]
fn jobs_keep_their_description() {
    let config = loaded(
        "[jobs.a]\nplugin = \"example\"\ndescription = \"  Florida PEER nightly import \"\n\
         [jobs.b]\nplugin = \"example\"\n",
    );
    assert_eq!(
        config.jobs["a"].description.as_deref(),
        Some("Florida PEER nightly import")
    );
    assert_eq!(config.jobs["b"].description, None);
}

#[test]
fn bad_mail_values_are_errors_at_the_value() {
    check(
        r#"[mail]
smtp_url = "http://mail.example.org"
from = "ferry at example.org"
timeout = "soon"
notify = { always = ["ok@example.org", "two words@example.org"], on_failure = ["x"] }
"#,
        &[
            "ferry.toml:2:12: mail.smtp_url: unsupported mail url `http://mail.example.org`",
            "ferry.toml:3:8: mail.from: `ferry at example.org` is not an email address",
            "ferry.toml:4:11: mail.timeout: invalid duration `soon`",
            "ferry.toml:5:40: mail.notify.always[1]: `two words@example.org` is not an email address",
            "ferry.toml:5:80: mail.notify.on_failure[0]: `x` is not an email address",
        ],
    );
    check(
        "[mail]\nsmtp_url = \"smtp://u:p@mail.example.org:25\"\nfrom = \"f@example.org\"\npassword = \"x\"\n",
        &[
            "ferry.toml:2:12: mail.smtp_url: secrets are never inline",
            "ferry.toml:4:1: mail.password: secrets are never inline: use password_env",
        ],
    );
    check(
        "[mail]\nsmtp_url = \"smtps://mail.example.org:465?tls=required\"\n",
        &[
            "ferry.toml:1:2: mail: missing key `from`",
            "ferry.toml:2:12: mail.smtp_url: unsupported option `?tls=required`",
        ],
    );
}

#[test]
fn notify_on_a_job_without_mail_is_an_error_at_its_notify_key() {
    check(
        "[jobs.a]\nplugin = \"example\"\nnotify = { always = [\"ops@example.org\"] }\n",
        &["ferry.toml:3:10: jobs.a.notify: notices need a [mail] section"],
    );
    check(
        "[jobs.a]\nplugin = \"example\"\nnotify = { to = [\"ops@example.org\"] }\n",
        &["ferry.toml:3:12: jobs.a.notify.to: unknown key `to`"],
    );
}
