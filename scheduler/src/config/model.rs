//! The validated configuration: what every stage after `config` works with.
//!
//! Nothing here is a raw string that needs re-checking: schedules are parsed, zones resolved,
//! durations parsed, plugin paths resolved, settings validated against the plugin's schema,
//! file patterns compiled, connection names checked against `[connections]`.

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
    /// `[mail]`: how result notices are sent; `None` sends none.
    pub mail: Option<MailSettings>,
    /// File-server connections by name, in name order (`[connections.NAME]`).
    pub connections: BTreeMap<String, ConnectionSpec>,
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
    /// `description = "..."`: one line for people (job lists, result notices).
    pub description: Option<String>,
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
    /// `fetch = [...]`: run before the plugin, in order; files land in the job's inbox.
    pub fetch: Vec<FetchStep>,
    /// `upload = [...]`: run after the plugin, in order, for files in the job's outbox.
    pub upload: Vec<UploadStep>,
    /// `trigger = { arrival = {...} }`: also run when a new stable file appears.
    pub arrival: Option<ArrivalTrigger>,
    /// `notify = {...}`: who gets this job's result notices; `None` falls back to `[mail]`'s.
    pub notify: Option<NotifyLists>,
}

/// `[connections.NAME]`: a file server (or local folder) jobs fetch from and upload to.
///
/// Secrets are references only; [`super::resolve_connection_secrets`] reads them at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSpec {
    pub name: String,
    pub kind: ConnectionKind,
    /// The longest wait to connect and log in. Default 15 s.
    pub connect_timeout: Duration,
    /// The longest wait for any single read, write or command once connected. Default 60 s.
    pub io_timeout: Duration,
    /// How many times a transient failure (refused, reset, timed out) is retried. Default 3.
    pub retries: u32,
    /// The wait before the first retry, doubled for each further one. Default 2 s.
    pub retry_backoff: Duration,
}

/// What kind of server a connection reaches, with what only that kind needs.
///
/// A job's `remote_dir` is relative to the connection's root (`path` for local, the login
/// directory for sftp and ftp) unless it is absolute.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionKind {
    /// `kind = "sftp"`: SSH file transfer. The host key is always checked against `known_hosts`.
    Sftp {
        host: String,
        /// Default 22.
        port: u16,
        user: String,
        /// A private key file (OpenSSH or PEM), absolute.
        private_key: Option<PathBuf>,
        /// The key's passphrase (`passphrase_env` / `passphrase_file`); only with `private_key`.
        passphrase: Option<SecretRef>,
        /// `password_env` / `password_file`. At least one of `private_key` and `password` is set.
        password: Option<SecretRef>,
        /// The OpenSSH known_hosts file, absolute. Required; it may not exist yet
        /// (`ferry connections trust NAME` creates it).
        known_hosts: PathBuf,
    },
    /// `kind = "ftp"` or `kind = "ftps"` (explicit TLS, `AUTH TLS`).
    Ftp {
        host: String,
        /// Default 21.
        port: u16,
        user: String,
        /// `password_env` / `password_file`; `None` logs in with an empty password.
        password: Option<SecretRef>,
        /// Passive mode (the client opens the data connections). Default true.
        passive: bool,
        /// True for `ftps`: the control and data channels are TLS, the certificate verified.
        tls: bool,
        /// ftps only: verify against this CA bundle (PEM, absolute) instead of the system roots.
        ca_file: Option<PathBuf>,
    },
    /// `kind = "local"`: a directory on this machine (a drop folder), absolute.
    Local { path: PathBuf },
}

impl ConnectionKind {
    /// The `kind` as written: `sftp`, `ftp`, `ftps` or `local`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionKind::Sftp { .. } => "sftp",
            ConnectionKind::Ftp { tls: false, .. } => "ftp",
            ConnectionKind::Ftp { tls: true, .. } => "ftps",
            ConnectionKind::Local { .. } => "local",
        }
    }

    /// Where it points, for listings: `user@host:port` or the local path.
    pub fn target(&self) -> String {
        match self {
            ConnectionKind::Sftp {
                host, port, user, ..
            }
            | ConnectionKind::Ftp {
                host, port, user, ..
            } => format!("{user}@{host}:{port}"),
            ConnectionKind::Local { path } => path.display().to_string(),
        }
    }
}

/// One `fetch = [{ connection, remote_dir, pattern, required, after }]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchStep {
    /// A name in [`Config::connections`] (checked at load).
    pub connection: String,
    /// The folder to list, relative to the connection's root unless absolute. Default `.`.
    pub remote_dir: String,
    /// Which file names to fetch (a glob on the name alone, no `/`). Default `*`.
    pub pattern: glob::Pattern,
    /// Each must match at least one fetched file, or the run fails naming the missing ones.
    /// A name without wildcards is a pattern that matches only itself.
    pub required: Vec<glob::Pattern>,
    /// What happens to a remote file once it is safely in the inbox. Default `Keep`.
    pub after: AfterFetch,
    /// The pause between the two listings that tell finished files from ones still being
    /// written (their size or time changes). Default 3 s; `"0s"` for folders nobody writes into
    /// while the job runs.
    pub settle: Duration,
}

/// `after = "keep" | "delete" | "archive:DIR"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterFetch {
    /// Leave the remote file where it is.
    Keep,
    /// Delete the remote file.
    Delete,
    /// Move the remote file into this folder (relative to the connection's root unless
    /// absolute; never empty).
    Archive(String),
}

/// One `upload = [{ connection, remote_dir, pattern }]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadStep {
    /// A name in [`Config::connections`] (checked at load).
    pub connection: String,
    /// The folder to upload into, relative to the connection's root unless absolute.
    /// Default `.`.
    pub remote_dir: String,
    /// Which files of the outbox to upload (a glob on the name alone). Default `*`.
    pub pattern: glob::Pattern,
}

/// `trigger = { arrival = { connection, remote_dir, pattern, poll } }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalTrigger {
    /// A name in [`Config::connections`] (checked at load).
    pub connection: String,
    /// The folder to watch, relative to the connection's root unless absolute. Default `.`.
    pub remote_dir: String,
    /// Which file names count (a glob on the name alone). Default `*`.
    pub pattern: glob::Pattern,
    /// How often the folder is listed. Default 5 minutes; never zero.
    pub poll: Duration,
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

/// `[mail]`: the SMTP server result notices go through, and the fallback recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, or STARTTLS with `?tls=required`) or `smtps://host:port`
    /// (TLS from the start), checked at load; never holds a user or password.
    pub smtp_url: String,
    /// The sender address.
    pub from: String,
    pub username: Option<String>,
    /// `password_env` / `password_file`.
    pub password: Option<SecretRef>,
    /// The longest wait for the server, per connection and command. Default 30 s.
    pub timeout: Duration,
    /// Verify the server's certificate against this CA bundle (PEM, absolute) instead of the
    /// system roots.
    pub ca_file: Option<PathBuf>,
    /// `retries = { max, backoff, cap }`: how often and how far apart a notice's delivery is
    /// retried after a transient failure before it is marked `failed`. Default 20 retries,
    /// 30 s doubling to at most 1 h (about 15 hours in all).
    pub retries: RetryPolicy,
    /// `notify = {...}` in `[mail]`: the lists for jobs without their own.
    pub notify: NotifyLists,
}

/// How a finished run ended, as far as choosing recipients goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// `succeeded` or `warning`.
    Success,
    /// `failed`, `timed_out`, `cancelled` or `abandoned`.
    Failure,
}

/// `notify = { always, on_failure, on_success, on_recovery }`: addresses, each checked at load
/// (an `@`, no spaces or header characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyLists {
    /// Every finished run.
    pub always: Vec<String>,
    /// Runs that failed, timed out, were cancelled or abandoned.
    pub on_failure: Vec<String>,
    /// Runs that succeeded (with or without warnings).
    pub on_success: Vec<String>,
    /// Successful runs whose previous finished run failed.
    pub on_recovery: Vec<String>,
}

impl NotifyLists {
    /// Who gets the notice of a run that ended with `outcome`; `recovered` when it succeeded
    /// and the job's previous finished run failed (ignored for failures). `always` first, then
    /// the outcome's list, then `on_recovery`; each address once (compared case-insensitively,
    /// first spelling kept).
    pub fn recipients(&self, outcome: NoticeOutcome, recovered: bool) -> Vec<String> {
        let mut lists: Vec<&[String]> = vec![&self.always];
        match outcome {
            NoticeOutcome::Failure => lists.push(&self.on_failure),
            NoticeOutcome::Success => {
                lists.push(&self.on_success);
                if recovered {
                    lists.push(&self.on_recovery);
                }
            }
        }
        let mut out: Vec<String> = Vec::new();
        for address in lists.into_iter().flatten() {
            if !out.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                out.push(address.clone());
            }
        }
        out
    }

    /// True when no list names anyone.
    pub fn is_empty(&self) -> bool {
        self.always.is_empty()
            && self.on_failure.is_empty()
            && self.on_success.is_empty()
            && self.on_recovery.is_empty()
    }
}

impl Config {
    /// The lists that decide who gets `job`'s notices: its own `notify`, else `[mail]`'s; `None`
    /// without `[mail]`.
    pub fn notify_lists<'c>(&'c self, job: &'c JobSpec) -> Option<&'c NotifyLists> {
        let mail = self.mail.as_ref()?;
        Some(job.notify.as_ref().unwrap_or(&mail.notify))
    }
}
