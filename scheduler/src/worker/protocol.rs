//! The line protocol between the runner and a `ferry worker` process.
//!
//! The runner writes one [`WorkerRequest`] as JSON on the worker's stdin and closes it.
//! The worker answers with [`WorkerEvent`]s, one JSON object per line, on its *original stdout*,
//! which it moves to a private descriptor at start-up; the worker then points fd 1 at fd 2, so
//! anything plugin code or a C library prints lands on stderr, which the runner records as log
//! lines. A worker that exits without an `Outcome` event has crashed; the runner reads its exit
//! status (signal, code) to say how.
//!
//! These types are the protocol; nothing else in Ferry defines worker messages.

use chrono::{DateTime, Utc};
use ferry_plugin::wire::{Event, OutcomeStatus, RunRequest};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the worker is asked to do.
#[allow(
    clippy::large_enum_variant,
    reason = "one request per worker process; boxing would buy nothing"
)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WorkerRequest {
    /// Load the plugin and run it.
    Run(RunOrder),
    /// Load the plugin and report its declaration and description, then exit
    /// (used by `ferry check`, `ferry plugins` and at service start).
    Describe { plugin_path: PathBuf },
}

/// A run to perform in the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOrder {
    /// The plugin library to load.
    pub plugin_path: PathBuf,
    /// The store URL, for the job-state host service (`state_get`/`state_set`).
    pub database: String,
    /// What the plugin is handed.
    pub request: RunRequest,
    /// The job's `fetch` steps, run before the plugin (skipped with `--no-fetch`).
    #[serde(default)]
    pub fetch: Vec<FetchOrder>,
    /// The job's `upload` steps, run after the plugin when it did not fail.
    #[serde(default)]
    pub upload: Vec<UploadOrder>,
    /// Every connection the plugin may use through its file host calls (`list_files`,
    /// `fetch_file`, `put_file`, `rename_file`), with credentials resolved by the runner.
    #[serde(default)]
    pub connections: Vec<ConnectionOrder>,
}

/// A credential on its way to the worker: serialized as the plain string (the worker needs it),
/// but never printed by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A connection as the worker uses it: where, how, with credentials resolved by the runner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectionOrder {
    /// The `[connections.NAME]` name, for transfer records and messages.
    pub name: String,
    pub endpoint: EndpointOrder,
    pub connect_timeout_ms: u64,
    pub io_timeout_ms: u64,
    /// Attempts for an operation that failed transiently (at least 1).
    pub attempts: u32,
    pub retry_backoff_ms: u64,
}

/// The serializable twin of [`crate::transfer::Endpoint`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndpointOrder {
    Sftp {
        host: String,
        port: u16,
        user: String,
        private_key: Option<PathBuf>,
        passphrase: Option<Secret>,
        password: Option<Secret>,
        known_hosts: PathBuf,
    },
    Ftp {
        host: String,
        port: u16,
        user: String,
        password: Option<Secret>,
        tls: bool,
        ca_file: Option<PathBuf>,
        passive: bool,
    },
    Local {
        root: PathBuf,
    },
}

/// One `fetch` step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FetchOrder {
    pub connection: ConnectionOrder,
    pub remote_dir: String,
    pub pattern: String,
    pub required: Vec<String>,
    /// `keep`, `delete` or `archive:DIR`.
    pub after: String,
    /// Milliseconds between the two listings that tell settled files from growing ones.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
}

fn default_settle_ms() -> u64 {
    u64::try_from(crate::transfer::steps::DEFAULT_SETTLE.as_millis()).unwrap_or(3000)
}

/// One `upload` step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UploadOrder {
    pub connection: ConnectionOrder,
    pub remote_dir: String,
    pub pattern: String,
}

/// One line the worker reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// The plugin loaded and its ABI matched.
    Loaded {
        plugin: String,
        version: String,
        abi: u32,
    },
    /// The plugin's `run` is being entered now.
    Entered { at: DateTime<Utc> },
    /// An event the plugin emitted, stamped by the worker.
    Plugin { at: DateTime<Utc>, event: Event },
    /// The answer to a `Describe` request.
    Described {
        plugin: String,
        version: String,
        abi: u32,
        description: ferry_plugin::wire::Description,
    },
    /// A file the worker moved to or from a file server (a fetch or upload step, or a plugin's
    /// host call), reported once it is complete under its final name.
    Transfer {
        /// When the transfer finished.
        at: DateTime<Utc>,
        /// The `[connections.NAME]` used.
        connection: String,
        /// `download` or `upload`.
        direction: String,
        /// The path on the server (or in the local connection's folder).
        remote_path: String,
        /// The path on this machine.
        local_path: String,
        bytes: u64,
        seconds: f64,
        /// Lowercase hex SHA-256 of the contents.
        sha256: String,
    },
    /// How the run ended, as far as the worker knows. Always the last line of a run that did not
    /// crash. Loading failures (missing file, wrong ABI) are reported here as `failed`.
    Outcome {
        status: OutcomeStatus,
        message: Option<String>,
    },
}
