//! Stage two of loading: raw values → the validated [`Config`] (style H7).
//!
//! Every value is interpreted here, once: cron expressions parsed, zones resolved, durations
//! parsed, plugin names turned into library paths, relative paths made absolute against the
//! current directory, settings converted to JSON and their secret references collected. Every
//! problem becomes a diagnostic; none stops the others from being found.

use super::diagnostic::{self, Diagnostic, SourceMap};
use super::raw::{RawConfig, RawJob, RawMisfire, RawOverlap, RawScheduler, Source};
use super::secret;
use super::{
    Config, JobSpec, Misfire, MisfirePolicy, Overlap, RetryPolicy, SchedulerSettings, SecretRef,
};
use crate::schedule::Schedule;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The default store: an SQLite file under `var/`.
pub const DEFAULT_DATABASE: &str = "sqlite://var/ferry.db";
/// The default directory searched for plugin libraries.
pub const DEFAULT_PLUGIN_DIR: &str = "target/release";
/// The default directory for run directories, inboxes and outboxes.
pub const DEFAULT_WORK_DIR: &str = "var/work";
/// Default days of history kept.
pub const DEFAULT_HISTORY_KEEP_DAYS: u32 = 90;
/// Default limit of concurrent runs.
pub const DEFAULT_MAX_CONCURRENT_RUNS: usize = 4;
/// Default delay before the first retry.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(30);
/// Default longest delay between retries.
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(600);

/// Stage two: builds the [`Config`] from what stage one read, adding a diagnostic for every
/// invalid value. The result is only meaningful if no diagnostic was added.
pub(crate) fn validate(
    raw: RawConfig,
    source: &Source<'_>,
    sources: SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Config {
    let mut v = Validator {
        source,
        sources: &sources,
        diags,
    };
    let scheduler = v.scheduler(&raw.scheduler);
    let mut jobs = BTreeMap::new();
    for entry in raw.jobs {
        let key = diagnostic::join("jobs", &entry.name);
        if entry.name.is_empty() || !entry.name.chars().all(is_name_char) {
            v.push(source.at(
                &entry.name_span,
                &key,
                "job names may only use letters, digits, `_` and `-`",
            ));
        }
        if let Some(job) = v.job(&key, &entry.name, &entry.name_span, entry.job, &scheduler) {
            jobs.insert(entry.name, job);
        }
    }
    Config {
        path: source.file.to_owned(),
        scheduler,
        jobs,
        sources,
    }
}

/// Letters, digits, `_` and `-`: job and plugin names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The system's zone (via `iana-time-zone`), else UTC.
pub fn system_timezone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// The library file a job's `plugin` value names: a value containing `/` or ending in `.so` is
/// a path; a name like `peer-nightly` is `<plugin_dir>/libferry_job_peer_nightly.so`.
pub fn plugin_library(plugin_dir: &Path, plugin: &str) -> PathBuf {
    if plugin.contains('/') || plugin.ends_with(".so") {
        absolute(Path::new(plugin))
    } else {
        plugin_dir.join(format!("libferry_job_{}.so", plugin.replace('-', "_")))
    }
}

/// `p` made absolute against the current directory (without touching the file system).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

/// Collects diagnostics while interpreting values.
struct Validator<'s, 'a, 'd> {
    source: &'s Source<'a>,
    sources: &'s SourceMap,
    diags: &'d mut Vec<Diagnostic>,
}

impl Validator<'_, '_, '_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn error<T>(&mut self, value: &Spanned<T>, key: &str, message: impl Into<String>) {
        let d = self.source.at(&value.span(), key, message);
        self.push(d);
    }

    fn scheduler(&mut self, raw: &RawScheduler) -> SchedulerSettings {
        let database = match &raw.database {
            Some(db) => {
                self.check_database(db);
                db.get_ref().clone()
            }
            None => DEFAULT_DATABASE.to_owned(),
        };
        let plugin_dir = self.dir(&raw.plugin_dir, "scheduler.plugin_dir", DEFAULT_PLUGIN_DIR);
        let work_dir = self.dir(&raw.work_dir, "scheduler.work_dir", DEFAULT_WORK_DIR);
        let timezone = match &raw.timezone {
            Some(tz) => self.timezone(tz, "scheduler.timezone").unwrap_or(Tz::UTC),
            None => system_timezone(),
        };
        let history_keep_days = match &raw.history_keep_days {
            Some(d) if *d.get_ref() == 0 => {
                self.error(d, "scheduler.history_keep_days", "must be at least 1 day");
                DEFAULT_HISTORY_KEEP_DAYS
            }
            Some(d) => *d.get_ref(),
            None => DEFAULT_HISTORY_KEEP_DAYS,
        };
        let max_concurrent_runs = match &raw.max_concurrent_runs {
            Some(n) if *n.get_ref() == 0 => {
                self.error(n, "scheduler.max_concurrent_runs", "must be at least 1");
                DEFAULT_MAX_CONCURRENT_RUNS
            }
            Some(n) => *n.get_ref(),
            None => DEFAULT_MAX_CONCURRENT_RUNS,
        };
        SchedulerSettings {
            database,
            plugin_dir,
            work_dir,
            timezone,
            history_keep_days,
            max_concurrent_runs,
        }
    }

    /// `sqlite:…` or `postgres://…` without an inline password.
    fn check_database(&mut self, db: &Spanned<String>) {
        const KEY: &str = "scheduler.database";
        let url = db.get_ref();
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && userinfo.contains(':')
            {
                self.error(
                    db,
                    KEY,
                    "secrets are never inline: leave the password out of the URL and set PGPASSWORD or use ~/.pgpass",
                );
            }
        } else if !url.starts_with("sqlite:") {
            self.error(
                db,
                KEY,
                format!(
                    "unsupported database `{url}`: expected sqlite://PATH or postgres://HOST/DB"
                ),
            );
        }
    }

    fn dir(&mut self, raw: &Option<Spanned<String>>, key: &str, default: &str) -> PathBuf {
        match raw {
            Some(p) if p.get_ref().trim().is_empty() => {
                self.error(p, key, "must not be empty");
                absolute(Path::new(default))
            }
            Some(p) => absolute(Path::new(p.get_ref())),
            None => absolute(Path::new(default)),
        }
    }

    fn timezone(&mut self, raw: &Spanned<String>, key: &str) -> Option<Tz> {
        match raw.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.error(
                    raw,
                    key,
                    format!(
                        "unknown time zone `{}`: expected an IANA name such as America/Chicago or UTC",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn duration(&mut self, raw: &Spanned<String>, key: &str) -> Option<Duration> {
        match humantime::parse_duration(raw.get_ref().trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    raw,
                    key,
                    format!(
                        "invalid duration `{}`: {e} (write e.g. \"30s\", \"10m\" or \"1h 30m\")",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, raw: &Spanned<String>, key: &str) -> Option<Duration> {
        let d = self.duration(raw, key)?;
        if d.is_zero() {
            self.error(raw, key, "must be longer than zero");
            return None;
        }
        Some(d)
    }

    fn job(
        &mut self,
        key: &str,
        name: &str,
        name_span: &std::ops::Range<usize>,
        raw: RawJob,
        scheduler: &SchedulerSettings,
    ) -> Option<JobSpec> {
        let k = |sub: &str| format!("{key}.{sub}");
        let plugin = match &raw.plugin {
            // Written but of the wrong type: stage one reported it.
            None if self.sources.contains(&k("plugin")) => None,
            None => {
                let d = self.source.at(
                    name_span,
                    &k("plugin"),
                    "missing key `plugin`: the plugin that runs this job, e.g. plugin = \"example\"",
                );
                self.push(d);
                None
            }
            Some(p) => {
                let v = p.get_ref();
                let is_path = v.contains('/') || v.ends_with(".so");
                if !is_path && (v.is_empty() || !v.chars().all(is_name_char)) {
                    self.error(
                        p,
                        &k("plugin"),
                        "expected a plugin name like \"example\" or a path to a .so file",
                    );
                }
                Some(v.clone())
            }
        };
        let schedule = raw
            .schedule
            .as_ref()
            .and_then(|s| match Schedule::parse(s.get_ref()) {
                Ok(sch) => Some(sch),
                Err(e) => {
                    self.error(s, &k("schedule"), e);
                    None
                }
            });
        let timezone = match &raw.timezone {
            Some(tz) => self.timezone(tz, &k("timezone")),
            None => Some(scheduler.timezone),
        };
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.positive_duration(t, &k("timeout")));
        let mut retries = RetryPolicy {
            max: 0,
            backoff: DEFAULT_RETRY_BACKOFF,
            cap: DEFAULT_RETRY_CAP,
        };
        if let Some(r) = &raw.retries {
            retries.max = r.max.unwrap_or(0);
            if let Some(b) = &r.backoff {
                retries.backoff = self
                    .duration(b, &k("retries.backoff"))
                    .unwrap_or(retries.backoff);
            }
            if let Some(c) = &r.cap {
                retries.cap = self.duration(c, &k("retries.cap")).unwrap_or(retries.cap);
            }
        }
        let overlap = match raw.overlap {
            Some(RawOverlap::Queue) => Overlap::Queue,
            Some(RawOverlap::Skip) | None => Overlap::Skip,
        };
        let kind = match raw.misfire {
            Some(RawMisfire::RunAll) => Misfire::RunAll,
            Some(RawMisfire::Skip) => Misfire::Skip,
            Some(RawMisfire::RunOnce) | None => Misfire::RunOnce,
        };
        let catch_up_within = raw
            .catch_up_within
            .as_ref()
            .and_then(|d| self.positive_duration(d, &k("catch_up_within")));
        let settings_table = raw.settings.unwrap_or_default();
        let settings_key = k("settings");
        let secrets = self.secret_refs(&settings_key, &settings_table);
        let settings = self.json_table(&settings_key, &settings_table);

        Some(JobSpec {
            name: name.to_owned(),
            plugin_path: plugin_library(&scheduler.plugin_dir, plugin.as_deref()?),
            plugin: plugin?,
            schedule_text: raw.schedule.map(|s| s.into_inner().trim().to_owned()),
            schedule,
            timezone: timezone?,
            enabled: raw.enabled.unwrap_or(true),
            timeout,
            retries,
            overlap,
            misfire: MisfirePolicy {
                kind,
                catch_up_within,
            },
            settings,
            secrets,
        })
    }

    /// The settings' top-level `NAME_env` / `NAME_file` keys: base name → where to read it.
    fn secret_refs(&mut self, key: &str, settings: &toml::Table) -> BTreeMap<String, SecretRef> {
        let mut out = BTreeMap::new();
        for (k, v) in settings {
            let Some((base, is_env)) = secret::split_reference(k) else {
                continue;
            };
            let full = diagnostic::join(key, k);
            let Some(text) = v.as_str().filter(|s| !s.trim().is_empty()) else {
                let what = if is_env {
                    "the name of an environment variable"
                } else {
                    "the path of a file"
                };
                self.at_key(
                    &full,
                    format!("expected a string: {what} holding the secret"),
                );
                continue;
            };
            if is_env && (text.contains('=') || text.contains('\0')) {
                self.at_key(
                    &full,
                    format!("`{text}` is not an environment variable name"),
                );
                continue;
            }
            let reference = if is_env {
                SecretRef::Env(text.to_owned())
            } else {
                SecretRef::File(absolute(Path::new(text)))
            };
            if out.insert(base.to_owned(), reference).is_some() {
                self.at_key(
                    &full,
                    format!("give either `{base}_env` or `{base}_file`, not both"),
                );
            }
        }
        out
    }

    /// A diagnostic at the key `key` (a dotted path), located through the source map.
    fn at_key(&mut self, key: &str, message: impl Into<String>) {
        let d = self.sources.diagnostic(key, message);
        self.push(d);
    }

    /// A TOML table as JSON. Datetimes become their TOML text; non-finite floats are errors.
    fn json_table(&mut self, key: &str, table: &toml::Table) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, v) in table {
            let full = diagnostic::join(key, k);
            map.insert(k.clone(), self.json(&full, v));
        }
        serde_json::Value::Object(map)
    }

    fn json(&mut self, key: &str, value: &toml::Value) -> serde_json::Value {
        use serde_json::Value as J;
        match value {
            toml::Value::String(s) => J::String(s.clone()),
            toml::Value::Integer(i) => J::from(*i),
            toml::Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => J::Number(n),
                None => {
                    self.at_key(key, "settings must be finite numbers (no nan or inf)");
                    J::Null
                }
            },
            toml::Value::Boolean(b) => J::Bool(*b),
            toml::Value::Datetime(d) => J::String(d.to_string()),
            toml::Value::Array(items) => J::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json(&format!("{key}[{i}]"), item))
                    .collect(),
            ),
            toml::Value::Table(t) => self.json_table(key, t),
        }
    }
}
