//! `ferry worker`: the child process that loads one plugin and runs one job (or describes it).
//!
//! Start-up order is the point of this file:
//! 1. The original stdout is moved to a private close-on-exec descriptor that carries only
//!    [`WorkerEvent`] JSON lines, and fd 1 is pointed at fd 2. From then on, anything plugin
//!    code or a C library prints on stdout lands on stderr, which the runner records as log
//!    text; it can never corrupt the event stream.
//! 2. One [`WorkerRequest`] is read from stdin.
//! 3. Describe: load the plugin, emit `Described`, exit 0.
//!    Run: create the run's folders, load the plugin, emit `Loaded`, install the SIGTERM handler
//!    (it sets the flag the plugin reads through `cancelled()`), emit `Entered`, call `run`,
//!    forwarding each plugin event as `Plugin` (one flushed line each), serving job state from
//!    the store at [`RunOrder::database`] and files from [`RunOrder::connections`] (`files.rs`),
//!    then emit `Outcome`.
//!
//! Exit codes: 0 the run succeeded (or succeeded with warnings) / the plugin was described;
//! 1 the run failed; 2 the worker could not do what was asked (bad request, plugin would not
//! load, folders could not be made), also reported as a failed `Outcome`. A worker that dies
//! without an `Outcome` crashed; the runner reads the signal or code.

use super::protocol::{RunOrder, WorkerEvent, WorkerRequest};
use crate::plugin::{self, Host, LoadedPlugin, StateService};
use crate::store::Store;
use ferry_plugin::wire::{Event, OutcomeStatus};
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// Exit code: the run succeeded, or the plugin was described.
const EXIT_OK: u8 = 0;
/// Exit code: the run failed.
const EXIT_FAILED: u8 = 1;
/// Exit code: the worker could not do what was asked.
const EXIT_UNUSABLE: u8 = 2;

/// How long the worker's runtime gets to finish background work (store connections) at exit.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(2);

/// Runs `ferry worker`. Call it first thing in the process, before anything writes to stdout.
pub fn main() -> ExitCode {
    let pipe = match EventPipe::take_stdout() {
        Ok(pipe) => pipe,
        Err(error) => {
            say(&format!("cannot set up the event pipe: {error}"));
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    ExitCode::from(serve(&pipe))
}

fn serve(pipe: &EventPipe) -> u8 {
    let request = match read_request() {
        Ok(request) => request,
        Err(message) => return pipe.refuse(format!("invalid worker request: {message}")),
    };
    match request {
        WorkerRequest::Describe { plugin_path } => describe(pipe, &plugin_path),
        WorkerRequest::Run(order) => run(pipe, order),
    }
}

/// Reads the one request line from stdin.
fn read_request() -> Result<WorkerRequest, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&line).map_err(|e| e.to_string())
}

fn describe(pipe: &EventPipe, plugin_path: &std::path::Path) -> u8 {
    let plugin = match plugin::load(plugin_path) {
        Ok(plugin) => plugin,
        Err(error) => return pipe.refuse(error.to_string()),
    };
    match plugin.describe() {
        Ok(description) => {
            pipe.send(&WorkerEvent::Described {
                plugin: plugin.name().to_owned(),
                version: plugin.version().to_owned(),
                abi: plugin.abi(),
                description,
            });
            EXIT_OK
        }
        Err(error) => pipe.refuse(error.to_string()),
    }
}

fn run(pipe: &EventPipe, order: RunOrder) -> u8 {
    let request = &order.request;
    for dir in [&request.work_dir, &request.inbox, &request.outbox] {
        if let Err(error) = std::fs::create_dir_all(dir) {
            return pipe.refuse(format!("cannot create {}: {error}", dir.display()));
        }
    }
    let plugin = match plugin::load(&order.plugin_path) {
        Ok(plugin) => plugin,
        Err(error) => return pipe.refuse(error.to_string()),
    };
    pipe.send(&WorkerEvent::Loaded {
        plugin: plugin.name().to_owned(),
        version: plugin.version().to_owned(),
        abi: plugin.abi(),
    });
    // A small runtime for the SIGTERM listener and the store; the plugin itself runs on this
    // (main) thread, outside the runtime, and reaches the store through `Handle::block_on`.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ferry-worker-rt")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return pipe.refuse(format!("cannot start the worker runtime: {error}")),
    };
    let cancelled = Arc::new(AtomicBool::new(false));
    if let Err(error) = listen_for_sigterm(&runtime, &cancelled) {
        return pipe.refuse(format!("cannot install the SIGTERM handler: {error}"));
    }
    let code = run_plugin(pipe, &plugin, &order, &runtime, &cancelled);
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    code
}

fn run_plugin(
    pipe: &EventPipe,
    plugin: &LoadedPlugin,
    order: &RunOrder,
    runtime: &Runtime,
    cancelled: &AtomicBool,
) -> u8 {
    let state = state_service(
        &order.database,
        &order.request.job,
        runtime.handle().clone(),
    );
    let events = |event: Event| {
        let sent = pipe.send(&WorkerEvent::Plugin {
            at: crate::clock::now(),
            event,
        });
        if !sent {
            // Nobody is listening any more: ask the plugin to stop.
            cancelled.store(true, Ordering::SeqCst);
        }
    };
    let emit = |event: WorkerEvent| {
        pipe.send(&event);
    };
    let files = super::files::HostFiles::new(
        &order.connections,
        &order.request.inbox,
        &order.request.work_dir,
        &emit,
    );
    let host = Host::new(&events, &state, cancelled).with_files(&files);
    if order.request.no_fetch {
        if !order.fetch.is_empty() {
            super::steps::note_reused_inbox(&emit, &order.request.inbox);
        }
    } else if let Err(message) = super::steps::fetch_all(&emit, &order.fetch, &order.request.inbox)
    {
        return fail(pipe, message);
    }
    pipe.send(&WorkerEvent::Entered {
        at: crate::clock::now(),
    });
    let result = plugin.run(&order.request, &host);
    runtime.block_on(state.close());
    // Closes the sessions the plugin's file calls kept open.
    drop(files);
    // Uploads follow a run that produced its files: a succeeded or warning outcome.
    if let Ok(result) = &result
        && result.status != OutcomeStatus::Failed
        && let Err(message) = super::steps::upload_all(&emit, &order.upload, &order.request.outbox)
    {
        return fail(pipe, message);
    }
    match result {
        Ok(result) => {
            let code = match result.status {
                OutcomeStatus::Succeeded | OutcomeStatus::Warning => EXIT_OK,
                OutcomeStatus::Failed => EXIT_FAILED,
            };
            pipe.send(&WorkerEvent::Outcome {
                status: result.status,
                message: result.message,
            });
            code
        }
        Err(error) => {
            pipe.send(&WorkerEvent::Outcome {
                status: OutcomeStatus::Failed,
                message: Some(error.to_string()),
            });
            EXIT_FAILED
        }
    }
}

/// Turns SIGTERM into the cancel flag instead of death: the plugin sees `cancelled()` and can
/// stop cleanly; the runner follows up with SIGKILL if it does not.
/// Ends the run as failed with `message`.
fn fail(pipe: &EventPipe, message: String) -> u8 {
    pipe.send(&WorkerEvent::Outcome {
        status: OutcomeStatus::Failed,
        message: Some(message),
    });
    EXIT_FAILED
}

fn listen_for_sigterm(runtime: &Runtime, cancelled: &Arc<AtomicBool>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = runtime.block_on(async { signal(SignalKind::terminate()) })?;
    let cancelled = Arc::clone(cancelled);
    runtime.spawn(async move {
        if sigterm.recv().await.is_some() {
            cancelled.store(true, Ordering::SeqCst);
            say("SIGTERM received: asking the plugin to stop");
        }
    });
    Ok(())
}

/// The job-state service for one run: the store at `database`, opened on first use (a job that
/// keeps no state never connects), keyed by the job's name.
fn state_service(database: &str, job: &str, runtime: Handle) -> StoreState {
    StoreState {
        database: database.to_owned(),
        job: job.to_owned(),
        runtime,
        store: tokio::sync::OnceCell::new(),
    }
}

/// Job state served from Ferry's store.
struct StoreState {
    database: String,
    job: String,
    runtime: Handle,
    store: tokio::sync::OnceCell<Store>,
}

impl StoreState {
    async fn store(&self) -> Result<&Store, String> {
        self.store
            .get_or_try_init(|| Store::open(&self.database))
            .await
            .map_err(|e| format!("cannot open the store for job state: {e}"))
    }

    async fn close(&self) {
        if let Some(store) = self.store.get() {
            store.close().await;
        }
    }
}

impl StateService for StoreState {
    fn get(&self, key: &str) -> Result<Option<String>, String> {
        self.runtime.block_on(async {
            let store = self.store().await?;
            store
                .state_get(&self.job, key)
                .await
                .map_err(|e| format!("cannot read job state {key:?}: {e}"))
        })
    }

    fn set(&self, key: &str, value: Option<&str>) -> Result<(), String> {
        self.runtime.block_on(async {
            let store = self.store().await?;
            store
                .state_set(&self.job, key, value, crate::clock::now())
                .await
                .map_err(|e| format!("cannot write job state {key:?}: {e}"))
        })
    }
}

/// The private descriptor that carries [`WorkerEvent`] lines to the runner.
struct EventPipe {
    out: Mutex<File>,
}

impl EventPipe {
    /// Moves the original stdout to a new close-on-exec descriptor (`F_DUPFD_CLOEXEC`, through
    /// std's `try_clone_to_owned`, so the plugin's own children never inherit it) and points
    /// fd 1 at stderr.
    fn take_stdout() -> std::io::Result<EventPipe> {
        let events = std::io::stdout().as_fd().try_clone_to_owned()?;
        nix::unistd::dup2_stdout(std::io::stderr()).map_err(std::io::Error::from)?;
        Ok(EventPipe {
            out: Mutex::new(File::from(events)),
        })
    }

    /// Writes one event as one line (unbuffered: it is on its way when this returns).
    /// Returns false if the runner is gone.
    fn send(&self, event: &WorkerEvent) -> bool {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return false;
        };
        line.push(b'\n');
        // A poisoned lock only means another thread panicked mid-write; keep reporting.
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.write_all(&line).is_ok()
    }

    /// Reports that the worker cannot do what was asked, and returns the exit code for it.
    fn refuse(&self, message: String) -> u8 {
        self.send(&WorkerEvent::Outcome {
            status: OutcomeStatus::Failed,
            message: Some(message),
        });
        EXIT_UNUSABLE
    }
}

/// Writes a line of the worker's own on stderr, which the runner records in the run's log.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "ferry worker: {message}");
}
