//! The records the store reads and writes: executions and what hangs off them.
//!
//! Status and trigger are enums everywhere; their lowercase names exist only at the SQL boundary
//! (and in `--json` output), backed by CHECK constraints in the migrations.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Where an execution stands. `queued` and `running` are live; every other status is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Warning,
    Failed,
    TimedOut,
    Cancelled,
    Abandoned,
    Missed,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Warning,
        Status::Failed,
        Status::TimedOut,
        Status::Cancelled,
        Status::Abandoned,
        Status::Missed,
    ];

    /// The name stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Warning => "warning",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Cancelled => "cancelled",
            Status::Abandoned => "abandoned",
            Status::Missed => "missed",
        }
    }

    /// True once nothing more will happen to the execution.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Status::Queued | Status::Running)
    }

    /// True for outcomes that a retry policy retries.
    pub fn is_retryable_failure(self) -> bool {
        matches!(self, Status::Failed | Status::TimedOut | Status::Abandoned)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown status {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// What started an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The cron schedule fired on time.
    Schedule,
    /// A fire missed during downtime, run late under the job's misfire policy.
    CatchUp,
    /// A retry of a failed execution under the job's retry policy.
    Retry,
    /// `ferry run`.
    Manual,
    /// A file arrived (file-arrival triggers).
    Arrival,
}

impl Trigger {
    pub const ALL: [Trigger; 5] = [
        Trigger::Schedule,
        Trigger::CatchUp,
        Trigger::Retry,
        Trigger::Manual,
        Trigger::Arrival,
    ];

    /// The name stored in the `trigger` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
            Trigger::Retry => "retry",
            Trigger::Manual => "manual",
            Trigger::Arrival => "arrival",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Trigger {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown trigger {s:?}"))
    }
}

/// One execution: a row of `executions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub id: i64,
    pub job: String,
    pub trigger: Trigger,
    /// Who asked: `scheduler` for fires and retries, the OS user for `ferry run`.
    pub requested_by: String,
    /// The host whose scheduler or CLI claimed the execution.
    pub host: String,
    /// The logical fire time; `None` for manual runs.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When the row was inserted.
    pub queued_at: DateTime<Utc>,
    /// When it took the job's lease and began.
    pub started_at: Option<DateTime<Utc>>,
    /// When the plugin's `run` was entered (after fetches and plugin load).
    pub entered_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: Status,
    /// 1 for the first try.
    pub attempt: i32,
    /// The failed execution this one retries.
    pub retry_of: Option<i64>,
    /// A queued execution does not start before this instant (retry backoff).
    pub not_before: Option<DateTime<Utc>>,
    /// Why it failed, was missed, abandoned, ...
    pub error: Option<String>,
    /// The `--set` parameters, as a JSON object.
    pub params: String,
    pub plugin: String,
    pub plugin_version: Option<String>,
}

/// What to insert when claiming.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub job: String,
    pub trigger: Trigger,
    pub requested_by: String,
    pub host: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub attempt: i32,
    pub retry_of: Option<i64>,
    pub not_before: Option<DateTime<Utc>>,
    /// JSON object.
    pub params: String,
    pub plugin: String,
}

/// What a claim does when the job's lease is held by another execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Insert nothing; report who holds the job (`ferry run` with `overlap = "skip"`).
    Refuse,
    /// Record the execution as `missed` with the reason (scheduled fires with `overlap = "skip"`).
    RecordMissed,
    /// Insert it as `queued`; it starts when the lease frees (`overlap = "queue"`).
    Queue,
}

/// Who holds a lease and for how long it stays valid without a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// `host:pid`, unique per scheduler or CLI process.
    pub holder: String,
    pub ttl: std::time::Duration,
}

/// The result of a claim.
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per claim, never stored in bulk"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The execution was inserted as `running` and holds the job's lease.
    Started(Execution),
    /// The execution was inserted as `queued` behind the running one.
    Queued(Execution),
    /// The job is running elsewhere. `recorded` is the `missed` row for `WhenBusy::RecordMissed`.
    Busy {
        running: Execution,
        recorded: Option<Execution>,
    },
    /// This scheduled fire (job, scheduled_for, attempt) was already claimed, here or by another
    /// scheduler sharing the store. Nothing was inserted.
    Duplicate,
}

/// A log line of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    pub seq: i64,
    pub ts: DateTime<Utc>,
    pub level: String,
    pub message: String,
}

/// Rows and seconds for one table of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableStat {
    pub table: String,
    pub rows: i64,
    pub seconds: f64,
    pub action: String,
}

/// A file an execution produced (report, output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRecord {
    pub path: String,
    pub kind: String,
    pub recorded_at: DateTime<Utc>,
}

/// A problem with a run's input that the job reported (a rejected row, a bad value): a row of
/// `run_problems`. Text fields are stored as the runner redacted them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemRecord {
    /// 1, 2, ... in the order the job reported them; unique per execution.
    pub seq: i64,
    /// When the job reported it.
    pub at: DateTime<Utc>,
    /// `warning` or `error`; the store refuses anything else.
    pub severity: String,
    /// The short heading notices group problems under (`Invalid value`).
    pub category: String,
    pub file: Option<String>,
    /// 1-based line in `file`; never negative.
    pub line: Option<i64>,
    pub field: Option<String>,
    pub value: Option<String>,
    /// What is wrong (`must be a date (YYYY-MM-DD)`).
    pub message: String,
}

/// How many problems of one severity and category a run reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemCount {
    pub severity: String,
    pub category: String,
    pub count: i64,
}

/// A file an execution moved to or from a file server: a row of `transfers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferRecord {
    /// `download` (a fetch) or `upload`; the store refuses anything else.
    pub direction: String,
    /// The `[connections.NAME]` used.
    pub connection: String,
    /// The file's path on the server (or in the local connection's folder).
    pub remote_path: String,
    /// The file's path on this machine (inbox or outbox).
    pub local_path: String,
    /// The file's size; never negative.
    pub bytes: i64,
    /// How long the transfer took; never negative.
    pub seconds: f64,
    /// Lowercase hex SHA-256 of the file's contents.
    pub sha256: String,
    /// When the transfer finished.
    pub recorded_at: DateTime<Utc>,
}

/// Filters for `ferry history`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    pub job: Option<String>,
    pub status: Option<Status>,
    pub limit: i64,
}

/// A result notice to store with a run's final status (`Store::finish_with_notice`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotice {
    pub job: String,
    pub subject: String,
    /// Every address the message goes to; at least one.
    pub recipients: Vec<String>,
    /// The `Message-ID` header's value (without angle brackets), unique across notices.
    pub message_id: String,
    /// The full RFC 5322 message exactly as it will be sent.
    pub raw: String,
}

/// A stored result notice: a row of `notices`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub id: i64,
    pub execution_id: i64,
    pub job: String,
    pub created_at: DateTime<Utc>,
    pub subject: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub raw: String,
    /// `pending`, `sent` or `failed`.
    pub delivery: String,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// When the sender tries next (pending notices only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failed attempt's answer.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One delivery attempt of a notice: a row of `notice_attempts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// The server's answer, or why no answer came.
    pub response: String,
}

/// Filters and page for `ferry notices list`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticeFilter {
    pub job: Option<String>,
    /// The status of the notice's execution.
    pub status: Option<Status>,
    /// `pending`, `sent` or `failed`.
    pub delivery: Option<String>,
    /// 1-based; 0 counts as 1.
    pub page: i64,
    /// Notices per page; 0 or less means the default of 25.
    pub page_size: i64,
}
