//! The validated configuration: what every stage after `config` works with.
//!
//! Nothing here is a raw string that needs re-checking: schedules are parsed, zones resolved,
//! durations parsed, plugin paths resolved, settings validated against the plugin's schema.

use super::SourceMap;
use crate::schedule::Schedule;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration file, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub scheduler: SchedulerSettings,
    /// Jobs by name, in name order.
    pub jobs: BTreeMap<String, JobSpec>,
    /// Where each key was written, for diagnostics made after loading (plugin settings checks).
    /// `SourceMap::default()` for a configuration not read from a file.
    pub sources: SourceMap,
}

/// `[scheduler]`.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// `sqlite://path` or `postgres://…`. Default `sqlite://var/ferry.db`.
    pub database: String,
    /// Where plugin libraries are found. Default `target/release`.
    pub plugin_dir: PathBuf,
    /// Where run directories, inboxes and outboxes live. Default `var/work`.
    pub work_dir: PathBuf,
    /// The default zone for jobs and for printing times. Default: the system zone, else UTC.
    pub timezone: Tz,
    /// Terminal executions older than this many days are pruned. Default 90.
    pub history_keep_days: u32,
    /// At most this many runs at once across all jobs. Default 4.
    pub max_concurrent_runs: usize,
}

/// `[jobs.NAME]`.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: String,
    /// The plugin name as written (`plugin = "example"`).
    pub plugin: String,
    /// The library file it resolves to.
    pub plugin_path: PathBuf,
    /// `None` for jobs that only run on demand.
    pub schedule: Option<Schedule>,
    /// The schedule as written, for display.
    pub schedule_text: Option<String>,
    pub timezone: Tz,
    pub enabled: bool,
    pub timeout: Option<Duration>,
    pub retries: RetryPolicy,
    pub overlap: Overlap,
    pub misfire: MisfirePolicy,
    /// The `settings` table, as JSON, with secret references (`*_env`, `*_file`) left as written.
    pub settings: serde_json::Value,
    /// Secret references found in `settings`: setting base name → where to read it.
    pub secrets: BTreeMap<String, SecretRef>,
}

/// Where a secret is read from at run time. The value itself never sits in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `NAME_env = "VAR"`: the environment variable VAR.
    Env(String),
    /// `NAME_file = "/path"`: the file's contents, trailing newline trimmed.
    File(PathBuf),
}

/// `retries = { max = 3, backoff = "30s", cap = "10m" }`: exponential backoff with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 = never retry.
    pub max: u32,
    /// The delay before the first retry; doubled for each further retry.
    pub backoff: Duration,
    /// The longest delay.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `next_attempt` (2 = first retry).
    pub fn delay_before(&self, next_attempt: u32) -> Duration {
        let doublings = next_attempt.saturating_sub(2).min(30);
        self.backoff.saturating_mul(1u32 << doublings).min(self.cap)
    }
}

/// What a fire does while the job is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Record the fire as `missed` (and `ferry run` refuses).
    Skip,
    /// Queue it to start when the running one ends.
    Queue,
}

/// What happens to fires missed while no scheduler was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisfirePolicy {
    pub kind: Misfire,
    /// Only fires at most this old are caught up; older ones are recorded `missed`.
    /// `None` = no limit.
    pub catch_up_within: Option<Duration>,
}

/// The misfire policy's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfire {
    /// Run the latest missed fire once; record the others as `missed`.
    RunOnce,
    /// Run every missed fire, oldest first.
    RunAll,
    /// Run none; record each as `missed`.
    Skip,
}
