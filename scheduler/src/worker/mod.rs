//! Worker processes: every job runs in a `ferry worker` child that loads its plugin.
//!
//! - [`spawn()`] (runner side) starts `ferry worker` in its own process group, writes the
//!   [`protocol::WorkerRequest`] on its stdin and reads back [`WorkerOutput`]: protocol events
//!   from its stdout, log text from its stderr. [`WorkerProcess::terminate`] and
//!   [`WorkerProcess::kill`] signal the whole group; [`WorkerProcess::wait`] says how it ended.
//! - [`describe_plugin`] asks a worker for a plugin's declaration and description.
//! - [`child::main`] is the worker itself: `ferry worker`.
//! - `steps` performs a job's declared fetch and upload steps around the plugin, in the worker.
//! - `files` serves a plugin's own list/fetch/put/rename calls on the configured connections.
//! - [`protocol`] is the line protocol between the two, and the only definition of it.
//!
//! # Architecture Invariant
//! The scheduler never loads a plugin: a plugin that panics, aborts, segfaults or calls
//! `exit` takes down only its worker, and the runner turns the exit status into a failed run.

pub mod child;
mod describe;
mod files;
pub mod protocol;
mod spawn;
mod steps;

pub use describe::{PluginInfo, describe_plugin};
pub use spawn::{WorkerExit, WorkerOutput, WorkerProcess, spawn};

use std::path::PathBuf;
use std::time::Duration;

/// Why a worker could not be started, or did not answer as asked.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The `ferry` executable could not be started as a worker.
    #[error("cannot start worker {}: {source}", exe.display())]
    Spawn {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The request could not be encoded as JSON.
    #[error("cannot encode the worker request: {0}")]
    Encode(#[from] serde_json::Error),
    /// The worker did not answer within the time allowed; it was killed.
    #[error("plugin {} did not answer within {}", plugin.display(), humantime::format_duration(*after))]
    Timeout { plugin: PathBuf, after: Duration },
    /// The worker reported that it could not do what was asked (e.g. the plugin would not load).
    #[error("{message}")]
    Refused { plugin: PathBuf, message: String },
    /// The worker ended without answering.
    #[error("plugin {}: the {exit}{}", plugin.display(), stderr_suffix(stderr))]
    Crashed {
        plugin: PathBuf,
        /// How the worker ended, from [`WorkerExit::describe`].
        exit: String,
        /// The last lines it printed on stderr.
        stderr: Vec<String>,
    },
}

fn stderr_suffix(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!(": {}", lines.join(" | "))
    }
}
