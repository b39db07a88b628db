//! The JSON payloads that cross the plugin boundary, in both directions.
//!
//! These types are the plugin protocol: the host (Ferry's worker process) and every plugin
//! serialize exactly these shapes. Adding an optional field is compatible; renaming or removing
//! one is an ABI change and bumps [`crate::abi::CURRENT`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything a plugin is told about the run it performs, handed to `run` as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRequest {
    /// The execution id in Ferry's history.
    pub run_id: i64,
    /// The job's name from the configuration (`[jobs.NAME]`).
    pub job: String,
    /// What started the run: `schedule`, `catch_up`, `retry`, `manual` or `arrival`.
    pub trigger: String,
    /// 1 for the first try, 2 for the first retry, and so on.
    pub attempt: u32,
    /// The logical fire time (RFC 3339). A catch-up run gets the missed instant, not "now".
    /// `None` for manual runs.
    pub scheduled_for: Option<String>,
    /// The job's `settings` table, validated against the plugin's schema.
    pub settings: serde_json::Value,
    /// `--set key=value` parameters given to `ferry run`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Secrets the job's settings reference (`*_env`, `*_file`), resolved by the host and keyed
    /// by the setting name without its suffix (`password_env` → `password`). The host redacts
    /// every value here from everything it records.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// A directory private to this run, created by the host.
    pub work_dir: PathBuf,
    /// The job's inbox: where fetched files land.
    pub inbox: PathBuf,
    /// The job's outbox: where files to upload are written.
    pub outbox: PathBuf,
    /// True when the operator asked not to fetch remote files for this run.
    #[serde(default)]
    pub no_fetch: bool,
    /// The job's time zone (IANA name, e.g. `America/New_York`).
    #[serde(default)]
    pub timezone: String,
    /// Today's date in the job's time zone when the run started (`YYYY-MM-DD`): the "run date"
    /// of jobs whose rules depend on the day, without every plugin carrying a zone database.
    #[serde(default)]
    pub today: String,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    /// The lowercase name stored in history.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// What happened to a table's rows: the `action` column of the run's table summary.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TableAction {
    Imported,
    Inserted,
    Updated,
    Deleted,
    Sent,
    Failed,
    /// Rows looked at and left as they were (already current at the destination).
    Unchanged,
}

impl TableAction {
    /// The lowercase name stored in history.
    pub fn as_str(self) -> &'static str {
        match self {
            TableAction::Imported => "imported",
            TableAction::Inserted => "inserted",
            TableAction::Updated => "updated",
            TableAction::Deleted => "deleted",
            TableAction::Sent => "sent",
            TableAction::Failed => "failed",
            TableAction::Unchanged => "unchanged",
        }
    }
}

/// An event a plugin reports while it runs, passed to the host's `emit` as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A line for the run's log.
    Log { level: Level, message: String },
    /// Rows and seconds for one table (the seed's "Table | Rows Imported | Seconds Took").
    Table {
        table: String,
        rows: i64,
        seconds: f64,
        action: TableAction,
    },
    /// Progress of long work; `total` is unknown for streams.
    Progress {
        done: u64,
        total: Option<u64>,
        message: Option<String>,
    },
    /// A file the run produced (a report, an output for upload).
    File { path: PathBuf, kind: String },
    /// Something wrong with the run's input, such as a rejected row or a bad value, named
    /// precisely enough to fix it: which file, which line, which field, which value. Ferry
    /// stores these per run and groups them by `category` in the run's result notice.
    ///
    /// Added after the first ABI without a version bump: it travels through the same `emit`
    /// callback, and a plugin that never sends it is unaffected.
    Problem {
        severity: Severity,
        /// A short, stable heading that groups alike problems, e.g. `Invalid value`.
        category: String,
        /// The input file, as the operator knows it (usually its name).
        #[serde(default)]
        file: Option<String>,
        /// The 1-based line in `file`.
        #[serde(default)]
        line: Option<u64>,
        /// The field (column) at fault.
        #[serde(default)]
        field: Option<String>,
        /// The offending value, as found in the input.
        #[serde(default)]
        value: Option<String>,
        /// What is wrong, e.g. `must be a date (YYYY-MM-DD)`.
        message: String,
    },
}

/// How serious a reported problem is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; the input was still used (perhaps with a default).
    Warning,
    /// The input was rejected (a row skipped, a record not sent).
    Error,
}

impl Severity {
    /// The lowercase name stored in history.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// How a run ended, as the plugin sees it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeStatus {
    Succeeded,
    Warning,
    Failed,
}

impl OutcomeStatus {
    /// The lowercase name stored in history.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Succeeded => "succeeded",
            OutcomeStatus::Warning => "warning",
            OutcomeStatus::Failed => "failed",
        }
    }
}

/// The JSON `run` returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub status: OutcomeStatus,
    /// A one-line summary, or the error for a failed run.
    pub message: Option<String>,
}

/// A request from a plugin to a host service, passed to the host's `call` as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HostCall {
    /// Reads a value of the job's persistent key-value state.
    StateGet { key: String },
    /// Writes (or with `None`, deletes) a value of the job's persistent key-value state.
    StateSet { key: String, value: Option<String> },
    /// Lists the regular files of `dir` on a configured connection, optionally only those whose
    /// name matches the glob `pattern`. Answered with [`HostReply::Files`].
    ListFiles {
        /// The `[connections.NAME]` to use.
        connection: String,
        /// The directory, relative to the connection's root unless absolute.
        dir: String,
        /// A glob on file names (`*.csv`); `*` does not match a leading dot. `None`: every file.
        #[serde(default)]
        pattern: Option<String>,
    },
    /// Downloads one file into the run's inbox (temporary name, size check, rename). Answered
    /// with [`HostReply::Ok`] whose `value` is the local path.
    FetchFile {
        connection: String,
        /// The file on the server, relative to the connection's root unless absolute.
        remote_path: String,
        /// The name to give it in the inbox (a plain file name); `None` keeps the remote name.
        #[serde(default)]
        local_name: Option<String>,
    },
    /// Uploads a local file (to a temporary name beside the target, size check, rename).
    /// Answered with [`HostReply::Ok`].
    PutFile {
        connection: String,
        /// The file on this machine; a relative path is relative to the run's `work_dir`.
        local_path: PathBuf,
        /// Where it goes on the server, relative to the connection's root unless absolute.
        remote_path: String,
    },
    /// Renames (moves) a file on the server, replacing `to`. Answered with [`HostReply::Ok`].
    RenameFile {
        connection: String,
        from: String,
        to: String,
    },
}

/// A file on a connection, as [`HostCall::ListFiles`] reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoteFileInfo {
    /// The file name, without directory.
    pub name: String,
    /// The path to hand back to `FetchFile` or `RenameFile` (the listed directory joined with
    /// `name`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification (RFC 3339, UTC), when the server reports it.
    #[serde(default)]
    pub modified: Option<String>,
}

/// The host's answer to a [`HostCall`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum HostReply {
    /// The call worked; `value` is the state value for `state_get`, `None` otherwise.
    Ok { value: Option<String> },
    /// The call failed; the message says why.
    Error {
        message: String,
        /// True when the call failed because the folder or file it names does not exist on
        /// the server (`list_files` of a missing folder, `fetch_file` of a missing file,
        /// `rename_file` of a missing source), so a job can tell "not there (yet)" from other
        /// failures without reading the message. Added without an ABI bump: it is left out of
        /// the JSON when false, and a reply without it reads as false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        not_found: bool,
    },
    /// The answer to [`HostCall::ListFiles`], in name order.
    Files { files: Vec<RemoteFileInfo> },
}

/// What a plugin says about itself in `describe`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Description {
    /// One line on what the job does.
    pub summary: String,
    /// The settings the job accepts; the host rejects any other key.
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
}

/// One accepted key of a job's `settings` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SettingSpec {
    /// The key as written in the configuration. For a secret, the base name: the admin writes
    /// `NAME_env` or `NAME_file`.
    pub name: String,
    pub kind: SettingKind,
    #[serde(default)]
    pub required: bool,
    /// One line for `ferry plugins` and error messages.
    #[serde(default)]
    pub doc: String,
    /// For strings and string lists: the only values accepted (checked by `ferry check`), e.g.
    /// the element names a job can import. Empty: any value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    String,
    Integer,
    Float,
    Boolean,
    /// A list of strings.
    StringList,
    /// A table (`{ key = value, ... }`), whose shape the plugin checks itself.
    Table,
    /// A secret, given only as `NAME_env` (environment variable) or `NAME_file` (file path).
    Secret,
}
