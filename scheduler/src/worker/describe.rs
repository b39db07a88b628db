//! Asking a worker what a plugin is: `ferry check`, `ferry plugins` and service start use this,
//! so the scheduler learns a plugin's settings without ever loading it itself.

use super::WorkerError;
use super::protocol::{WorkerEvent, WorkerRequest};
use super::spawn::{WorkerOutput, spawn};
use ferry_plugin::wire::Description;
use std::path::Path;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// How many of the worker's last stderr lines a crash report quotes.
const STDERR_TAIL: usize = 5;

/// What a plugin declares about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    /// The plugin's name (its crate name).
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The plugin ABI it speaks.
    pub abi: u32,
    /// What it does and which settings it takes.
    pub description: Description,
}

/// Starts a worker in Describe mode for `plugin_path` and returns the plugin's declaration.
///
/// The worker is killed if it has not answered (and exited) within `timeout`.
///
/// # Errors
/// [`WorkerError::Spawn`]; [`WorkerError::Refused`] when the plugin cannot be loaded (missing,
/// not a plugin, wrong ABI: the message says which); [`WorkerError::Crashed`] when the worker
/// died without answering; [`WorkerError::Timeout`].
pub async fn describe_plugin(
    exe: &Path,
    plugin_path: &Path,
    timeout: Duration,
) -> Result<PluginInfo, WorkerError> {
    let deadline = Instant::now() + timeout;
    let request = WorkerRequest::Describe {
        plugin_path: plugin_path.to_owned(),
    };
    let mut worker = spawn(exe, &request)?;
    let mut stderr: Vec<String> = Vec::new();
    let answer = timeout_at(deadline, async {
        while let Some(output) = worker.next().await {
            match output {
                WorkerOutput::Event(WorkerEvent::Described {
                    plugin,
                    version,
                    abi,
                    description,
                }) => {
                    return Some(Ok(PluginInfo {
                        name: plugin,
                        version,
                        abi,
                        description,
                    }));
                }
                WorkerOutput::Event(WorkerEvent::Outcome { message, .. }) => {
                    return Some(Err(WorkerError::Refused {
                        plugin: plugin_path.to_owned(),
                        message: message.unwrap_or_else(|| "the plugin was refused".to_owned()),
                    }));
                }
                WorkerOutput::Event(_) => {}
                WorkerOutput::Stderr(line) | WorkerOutput::Garbage(line) => {
                    if stderr.len() == STDERR_TAIL {
                        stderr.remove(0);
                    }
                    stderr.push(line);
                }
            }
        }
        None
    })
    .await;
    let answer = match answer {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            let exit = worker.wait().await;
            return Err(WorkerError::Crashed {
                plugin: plugin_path.to_owned(),
                exit: exit.describe(),
                stderr,
            });
        }
        Err(_elapsed) => {
            worker.kill();
            worker.wait().await;
            return Err(WorkerError::Timeout {
                plugin: plugin_path.to_owned(),
                after: timeout,
            });
        }
    };
    // The worker exits right after answering; reap it, but never wait past the deadline.
    if timeout_at(deadline, worker.wait()).await.is_err() {
        worker.kill();
        worker.wait().await;
    }
    answer
}
