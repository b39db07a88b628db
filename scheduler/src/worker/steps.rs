//! The job's declared `fetch` and `upload` steps, performed by the worker around the plugin:
//! fetches before `run` (into the job's inbox), uploads after it (from the run's outbox).
//!
//! Each step connects through [`crate::transfer`], retrying transient failures with the
//! connection's backoff, and reports every file moved as a `Transfer` event, so the runner
//! records it in the `transfers` table.

use super::protocol::{EndpointOrder, FetchOrder, UploadOrder, WorkerEvent};
use crate::transfer::{
    self, After, Endpoint, FetchSpec, FtpsTls, Progress, Session, Timeouts, Transferred,
    UploadSpec, with_retries,
};
use ferry_plugin::wire::{Event, Level};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often a long transfer reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Where the worker's reports go.
pub(super) type Emit<'a> = &'a dyn Fn(WorkerEvent);

fn log(emit: Emit<'_>, level: Level, message: String) {
    emit(WorkerEvent::Plugin {
        at: crate::clock::now(),
        event: Event::Log { level, message },
    });
}

impl From<&EndpointOrder> for Endpoint {
    fn from(order: &EndpointOrder) -> Endpoint {
        match order {
            EndpointOrder::Sftp {
                host,
                port,
                user,
                private_key,
                passphrase,
                password,
                known_hosts,
            } => Endpoint::Sftp {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                private_key: private_key.clone(),
                passphrase: passphrase.as_ref().map(|s| s.0.clone()),
                password: password.as_ref().map(|s| s.0.clone()),
                known_hosts: known_hosts.clone(),
            },
            EndpointOrder::Ftp {
                host,
                port,
                user,
                password,
                tls,
                ca_file,
                passive,
            } => Endpoint::Ftp {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                password: password.as_ref().map(|s| s.0.clone()),
                tls: tls.then(|| FtpsTls {
                    ca_file: ca_file.clone(),
                }),
                passive: *passive,
            },
            EndpointOrder::Local { root } => Endpoint::Local { root: root.clone() },
        }
    }
}

/// A progress reporter for one step, throttled to [`PROGRESS_EVERY`].
fn progress(emit: Emit<'_>) -> impl FnMut(Progress<'_>) + '_ {
    let mut last = Instant::now() - PROGRESS_EVERY;
    move |p: Progress<'_>| {
        if last.elapsed() >= PROGRESS_EVERY || p.bytes == p.total {
            last = Instant::now();
            emit(WorkerEvent::Plugin {
                at: crate::clock::now(),
                event: Event::Progress {
                    done: p.bytes,
                    total: Some(p.total),
                    message: Some(format!("{} {}", p.direction.as_str(), p.name)),
                },
            });
        }
    }
}

fn report(emit: Emit<'_>, connection: &str, moved: &Transferred) {
    emit(WorkerEvent::Transfer {
        at: crate::clock::now(),
        connection: connection.to_owned(),
        direction: moved.direction.as_str().to_owned(),
        remote_path: moved.remote_path.clone(),
        local_path: moved.local_path.display().to_string(),
        bytes: moved.bytes,
        seconds: moved.seconds,
        sha256: moved.sha256.clone(),
    });
}

/// Connects and runs `op` on the session, retrying the whole step on transient failures.
fn with_session<T>(
    connection: &super::protocol::ConnectionOrder,
    mut op: impl FnMut(&mut dyn Session) -> Result<T, transfer::TransferError>,
) -> Result<T, transfer::TransferError> {
    let endpoint = Endpoint::from(&connection.endpoint);
    let timeouts = Timeouts {
        connect: Duration::from_millis(connection.connect_timeout_ms),
        io: Duration::from_millis(connection.io_timeout_ms),
    };
    with_retries(
        connection.attempts,
        Duration::from_millis(connection.retry_backoff_ms),
        || {
            let mut session = transfer::connect(&endpoint, timeouts)?;
            op(session.as_mut())
        },
    )
}

/// Runs every fetch step into `inbox`.
///
/// # Errors
/// The first step that fails, with the connection's name.
pub(super) fn fetch_all(emit: Emit<'_>, orders: &[FetchOrder], inbox: &Path) -> Result<(), String> {
    for order in orders {
        let name = &order.connection.name;
        let after = match order.after.split_once(':') {
            Some(("archive", dir)) => After::Archive(dir.to_owned()),
            _ if order.after == "delete" => After::Delete,
            _ => After::Keep,
        };
        let spec = FetchSpec {
            remote_dir: order.remote_dir.clone(),
            pattern: order.pattern.clone(),
            required: order.required.clone(),
            after,
            settle: std::time::Duration::from_millis(order.settle_ms),
        };
        let mut progress = progress(emit);
        let fetched = with_session(&order.connection, |session| {
            transfer::fetch(session, &spec, inbox, &mut progress)
        })
        .map_err(|error| format!("fetch from {name} ({}) failed: {error}", order.remote_dir))?;
        for moved in &fetched.transferred {
            report(emit, name, moved);
        }
        let mut summary = format!(
            "fetched {} file(s) from {name}:{} matching {}",
            fetched.transferred.len(),
            order.remote_dir,
            order.pattern
        );
        if !fetched.still_growing.is_empty() {
            summary.push_str(&format!(
                "; left for the next run, still being written: {}",
                fetched.still_growing.join(", ")
            ));
        }
        log(emit, Level::Info, summary);
    }
    Ok(())
}

/// Says which files a `--no-fetch` run reuses, and when they were fetched.
pub(super) fn note_reused_inbox(emit: Emit<'_>, inbox: &Path) {
    let files: Vec<(String, std::time::SystemTime)> = std::fs::read_dir(inbox)
        .map(|dir| {
            dir.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| {
                    let modified = e.metadata().ok()?.modified().ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), modified))
                })
                .collect()
        })
        .unwrap_or_default();
    let message = match files.iter().map(|(_, t)| *t).max() {
        Some(newest) => format!(
            "fetch skipped (--no-fetch): reusing {} file(s) in the inbox, fetched at {}",
            files.len(),
            chrono::DateTime::<chrono::Utc>::from(newest).to_rfc3339()
        ),
        None => "fetch skipped (--no-fetch): the inbox is empty".to_owned(),
    };
    log(emit, Level::Info, message);
}

/// Runs every upload step from `outbox`.
///
/// # Errors
/// The first step that fails, with the connection's name.
pub(super) fn upload_all(
    emit: Emit<'_>,
    orders: &[UploadOrder],
    outbox: &Path,
) -> Result<(), String> {
    for order in orders {
        let name = &order.connection.name;
        let spec = UploadSpec {
            remote_dir: order.remote_dir.clone(),
            pattern: order.pattern.clone(),
        };
        let mut progress = progress(emit);
        let uploaded = with_session(&order.connection, |session| {
            // The upload folder is made if missing (a no-op where it exists).
            session.mkdir_all(&spec.remote_dir)?;
            transfer::upload(session, &spec, outbox, &mut progress)
        })
        .map_err(|error| format!("upload to {name} ({}) failed: {error}", order.remote_dir))?;
        for moved in &uploaded {
            report(emit, name, moved);
        }
        log(
            emit,
            Level::Info,
            format!(
                "uploaded {} file(s) to {name}:{}",
                uploaded.len(),
                order.remote_dir
            ),
        );
    }
    Ok(())
}
