//! The runner's side of a worker: start `ferry worker`, feed it the request, read what it says,
//! signal it, and learn how it ended.

use super::WorkerError;
use super::protocol::{WorkerEvent, WorkerRequest};
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant, timeout_at};

/// Lines longer than this are split: a plugin printing without newlines cannot grow the
/// runner's memory without bound.
const MAX_LINE: u64 = 1024 * 1024;

/// How many lines may wait between the worker's pipes and [`WorkerProcess::next`].
const BACKLOG: usize = 1024;

/// How long stderr may stay open after the event pipe closed. The event pipe is private to the
/// worker, so its end means the worker is gone; stderr is inherited by anything the plugin
/// started, and a process left behind must not hold the run open.
const STDERR_GRACE: Duration = Duration::from_secs(2);

/// One thing a worker said.
#[derive(Debug, Clone)]
pub enum WorkerOutput {
    /// A protocol event from the worker's event pipe.
    Event(WorkerEvent),
    /// A line the worker (or its plugin, or a C library) wrote on stderr or stdout.
    Stderr(String),
    /// A line on the event pipe that is not a protocol event (should never happen).
    Garbage(String),
}

/// How a worker process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerExit {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
}

impl WorkerExit {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The name of the signal that killed the worker, e.g. `SIGSEGV`.
    pub fn signal_name(&self) -> Option<&'static str> {
        self.signal
            .and_then(|s| Signal::try_from(s).ok())
            .map(Signal::as_str)
    }

    /// A phrase for history and notices: "worker killed by SIGSEGV (signal 11)",
    /// "worker exited with code 7".
    pub fn describe(&self) -> String {
        match (self.signal, self.code) {
            (Some(signal), _) => match self.signal_name() {
                Some(name) => format!("worker killed by {name} (signal {signal})"),
                None => format!("worker killed by signal {signal}"),
            },
            (None, Some(code)) => format!("worker exited with code {code}"),
            (None, None) => "worker ended with an unknown status".to_owned(),
        }
    }
}

impl From<ExitStatus> for WorkerExit {
    fn from(status: ExitStatus) -> WorkerExit {
        WorkerExit {
            code: status.code(),
            signal: status.signal(),
        }
    }
}

/// A running `ferry worker` process, leader of its own process group.
///
/// Dropping it before [`WorkerProcess::wait`] returned kills the whole group.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    pid: Option<u32>,
    output: mpsc::Receiver<Pipe>,
    /// Set when the event pipe closed: stderr is read until then, no longer.
    stderr_deadline: Option<Instant>,
    /// True once [`WorkerProcess::next`] returned `None`.
    finished: bool,
    readers: Vec<JoinHandle<()>>,
    exit: Option<WorkerExit>,
}

/// What the pipe readers hand to [`WorkerProcess::next`].
#[derive(Debug)]
enum Pipe {
    Output(WorkerOutput),
    /// The event pipe (the worker's stdout) reached its end.
    EventsClosed,
}

/// Starts `exe worker` in a new process group and hands it `request`.
///
/// The request is written as one JSON line on the worker's stdin, which is then closed. The
/// worker's stdout carries protocol events and its stderr log text; both are read by background
/// tasks, so this must be called inside a tokio runtime.
///
/// # Errors
/// [`WorkerError::Encode`] if the request cannot be encoded, [`WorkerError::Spawn`] if the
/// process cannot be started.
pub fn spawn(exe: &Path, request: &WorkerRequest) -> Result<WorkerProcess, WorkerError> {
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    let mut child = Command::new(exe)
        .arg("worker")
        // A group of its own: signals reach the worker and anything its plugin started, and a
        // Ctrl-C meant for `ferry run` in a terminal does not kill the worker behind its back.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| WorkerError::Spawn {
            exe: exe.to_owned(),
            source,
        })?;
    let pid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            // A worker that dies before reading its request shows up in its exit status.
            if let Err(error) = stdin.write_all(line.as_bytes()).await {
                tracing::debug!(%error, "Could not write the worker request.");
            }
            // Dropping `stdin` closes it: the worker sees end of input after one line.
        });
    }
    let (tx, output) = mpsc::channel(BACKLOG);
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            read_lines(stdout, &tx, parse_event).await;
            // Ignored when nobody listens any more.
            let _ = tx.send(Pipe::EventsClosed).await;
        }));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(async move {
            read_lines(stderr, &tx, WorkerOutput::Stderr).await;
        }));
    }
    tracing::debug!(pid, exe = %exe.display(), "Worker started.");
    Ok(WorkerProcess {
        child,
        pid,
        output,
        stderr_deadline: None,
        finished: false,
        readers,
        exit: None,
    })
}

fn parse_event(line: String) -> WorkerOutput {
    match serde_json::from_str::<WorkerEvent>(&line) {
        Ok(event) => WorkerOutput::Event(event),
        Err(_) => WorkerOutput::Garbage(line),
    }
}

/// Forwards each non-empty line of `stream` until it closes or nobody listens.
async fn read_lines<R>(stream: R, tx: &mpsc::Sender<Pipe>, wrap: fn(String) -> WorkerOutput)
where
    R: AsyncRead + Unpin,
{
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "Worker pipe read failed.");
                break;
            }
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        let line = String::from_utf8_lossy(&buf).into_owned();
        if tx.send(Pipe::Output(wrap(line))).await.is_err() {
            break;
        }
    }
}

impl WorkerProcess {
    /// The next thing the worker said, from either stream in arrival order; `None` once the
    /// worker is done: both streams closed, or the event pipe closed and stderr stayed open for
    /// longer than a short grace (held by a process the plugin left behind).
    pub async fn next(&mut self) -> Option<WorkerOutput> {
        while !self.finished {
            let received = match self.stderr_deadline {
                None => self.output.recv().await,
                Some(deadline) => timeout_at(deadline, self.output.recv())
                    .await
                    .unwrap_or(None),
            };
            match received {
                Some(Pipe::Output(output)) => return Some(output),
                Some(Pipe::EventsClosed) => {
                    self.stderr_deadline = Some(Instant::now() + STDERR_GRACE);
                }
                None => self.finished = true,
            }
        }
        None
    }

    /// The worker's process id, which is also its process group id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Asks the worker's process group to stop (SIGTERM). The worker tells its plugin through
    /// `cancelled()`; a plugin that ignores it needs [`WorkerProcess::kill`].
    pub fn terminate(&self) {
        self.signal_group(Signal::SIGTERM);
    }

    /// Kills the worker's process group (SIGKILL). Also use it after [`WorkerProcess::wait`]
    /// to remove anything the plugin left running.
    pub fn kill(&self) {
        self.signal_group(Signal::SIGKILL);
    }

    /// Waits for the worker to exit and says how it ended. Returns the same answer when
    /// called again.
    pub async fn wait(&mut self) -> WorkerExit {
        if let Some(exit) = self.exit {
            return exit;
        }
        let exit = match self.child.wait().await {
            Ok(status) => WorkerExit::from(status),
            Err(error) => {
                tracing::warn!(pid = self.pid, %error, "Could not wait for the worker.");
                WorkerExit {
                    code: None,
                    signal: None,
                }
            }
        };
        self.exit = Some(exit);
        exit
    }

    fn signal_group(&self, signal: Signal) {
        let Some(pgid) = self.pid.and_then(|pid| i32::try_from(pid).ok()) else {
            return;
        };
        match killpg(Pid::from_raw(pgid), signal) {
            // ESRCH: the group is already gone.
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(pgid, signal = signal.as_str(), %error, "Could not signal the worker.");
            }
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // Not waited for: the worker may still run. Take its whole group down, not just the
        // leader that `kill_on_drop` reaches.
        if self.exit.is_none() {
            self.kill();
        }
        // A reader may still wait on a pipe held open by a stray process.
        for reader in &self.readers {
            reader.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_for_people() {
        let segv = WorkerExit {
            code: None,
            signal: Some(11),
        };
        assert_eq!(segv.describe(), "worker killed by SIGSEGV (signal 11)");
        assert_eq!(segv.signal_name(), Some("SIGSEGV"));
        assert!(!segv.success());
        let seven = WorkerExit {
            code: Some(7),
            signal: None,
        };
        assert_eq!(seven.describe(), "worker exited with code 7");
        let ok = WorkerExit {
            code: Some(0),
            signal: None,
        };
        assert!(ok.success());
    }
}
