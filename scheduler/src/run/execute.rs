//! Executing a claimed run: start the worker, record what it reports, decide the end.

use super::{KILL_GRACE, RunError, RunParams, Runner};
use crate::config::{JobSpec, resolve_secrets};
use crate::store::StoreError;
use crate::store::model::{Execution, FileRecord, LogLine, ProblemRecord, Status, TableStat};
use crate::worker::protocol::{RunOrder, WorkerEvent, WorkerRequest};
use crate::worker::{WorkerOutput, spawn};
use chrono::{DateTime, Utc};
use ferry_plugin::wire::{Event, Level, OutcomeStatus, RunRequest, Severity};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

/// Log lines are written to the store in batches of at most this many, or every
/// [`LOG_FLUSH_EVERY`], so `ferry logs -f` stays live without one insert per line.
const LOG_BATCH: usize = 200;
const LOG_FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What a run reports while it executes, for a caller that shows progress (`ferry run`).
#[derive(Debug, Clone)]
pub enum RunUpdate {
    /// The plugin loaded.
    Loaded { plugin: String, version: String },
    /// A log line (already redacted).
    Log(LogLine),
    /// A table's rows and seconds.
    Table(TableStat),
    /// Progress of long work.
    Progress {
        done: u64,
        total: Option<u64>,
        message: Option<String>,
    },
    /// A file the run produced.
    File(FileRecord),
    /// A problem with the run's input (already redacted).
    Problem(ProblemRecord),
}

/// Why the runner stopped a worker before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    TimedOut(Duration),
    Cancelled,
}

/// The run's directories under `work_dir`.
struct RunDirs {
    work: PathBuf,
    inbox: PathBuf,
    outbox: PathBuf,
}

impl RunDirs {
    /// `work_dir/runs/<id>` (with its `outbox`) is private to the run; `work_dir/jobs/<job>/inbox`
    /// is the job's, so `--no-fetch` runs reuse the files fetched last time.
    fn new(work_dir: &std::path::Path, execution: &Execution) -> RunDirs {
        let work = work_dir.join("runs").join(execution.id.to_string());
        RunDirs {
            outbox: work.join("outbox"),
            inbox: work_dir.join("jobs").join(&execution.job).join("inbox"),
            work,
        }
    }
}

impl Runner {
    /// Executes a claimed (`running`) execution to its end and records it. Returns the finished
    /// execution. `cancel` stops the worker (SIGTERM, then SIGKILL after [`KILL_GRACE`]) and
    /// records `cancelled`; `updates` receives what the run reports, for display.
    ///
    /// # Errors
    /// Only store failures; every failure of the run itself is recorded as its status.
    pub async fn execute(
        &self,
        execution: Execution,
        cancel: CancellationToken,
        updates: Option<UnboundedSender<RunUpdate>>,
    ) -> Result<Execution, RunError> {
        let job = match self.job(&execution.job) {
            Ok(job) => job.clone(),
            Err(error) => {
                return self
                    .end(&execution, Status::Failed, Some(error.to_string()))
                    .await;
            }
        };
        let secrets = match resolve_secrets(&job) {
            Ok(secrets) => secrets,
            Err(error) => {
                return self
                    .end(&execution, Status::Failed, Some(error.to_string()))
                    .await;
            }
        };
        let transfers = match super::transfers::orders(self.config(), &job) {
            Ok(transfers) => transfers,
            Err(error) => return self.end(&execution, Status::Failed, Some(error)).await,
        };
        let redactor = super::Redactor::new(
            secrets
                .values()
                .cloned()
                .chain(transfers.secrets.iter().cloned()),
        );
        let mut recorder = Recorder {
            runner: self,
            execution: &execution,
            redactor,
            updates,
            pending: Vec::new(),
            seq: 0,
            last_stderr: Vec::new(),
            pending_problems: Vec::new(),
            problem_seq: 0,
            problem_errors: 0,
        };
        let order = self.order(&execution, &job, secrets, transfers);
        let status = recorder.drive(order, &job, cancel).await;
        recorder.log_problem_summary();
        recorder.flush().await?;
        let (status, error) = match status {
            Ok(end) => end,
            Err(RunError::Worker(error)) => (Status::Failed, Some(error.to_string())),
            Err(other) => return Err(other),
        };
        let error = error.map(|e| recorder.redactor.redact(&e));
        self.end(&execution, status, error).await
    }

    /// Records the end, with the result notice in the same transaction, and queues a retry
    /// when the policy asks for one.
    async fn end(
        &self,
        execution: &Execution,
        status: Status,
        error: Option<String>,
    ) -> Result<Execution, RunError> {
        let now = crate::clock::now();
        let notice = self
            .compose_notice(execution, status, error.as_deref(), now)
            .await?;
        let (finished, stored) = self
            .store()
            .finish_with_notice(execution.id, status, error.as_deref(), now, notice.as_ref())
            .await?;
        if stored.is_some() {
            self.inner.notice_stored.notify_one();
        }
        let seconds = crate::display::seconds_between(finished.started_at, finished.finished_at);
        tracing::info!(
            run = finished.id,
            job = %finished.job,
            status = %finished.status,
            seconds = seconds.unwrap_or_default(),
            error = finished.error.as_deref().unwrap_or(""),
            "Run finished."
        );
        self.schedule_retry(&finished).await?;
        Ok(finished)
    }

    fn order(
        &self,
        execution: &Execution,
        job: &JobSpec,
        secrets: std::collections::BTreeMap<String, String>,
        transfers: super::transfers::TransferOrders,
    ) -> WorkerRequest {
        let dirs = RunDirs::new(&self.config().scheduler.work_dir, execution);
        let params = RunParams::from_json(&execution.params);
        WorkerRequest::Run(RunOrder {
            plugin_path: job.plugin_path.clone(),
            database: self.config().scheduler.database.clone(),
            request: RunRequest {
                run_id: execution.id,
                job: execution.job.clone(),
                trigger: execution.trigger.as_str().to_owned(),
                attempt: u32::try_from(execution.attempt).unwrap_or(1),
                scheduled_for: execution.scheduled_for.map(|t| t.to_rfc3339()),
                settings: job.settings.clone(),
                params: params.set,
                secrets,
                work_dir: absolute(dirs.work),
                inbox: absolute(dirs.inbox),
                outbox: absolute(dirs.outbox),
                no_fetch: params.no_fetch,
                timezone: job.timezone.name().to_owned(),
                today: crate::clock::now()
                    .with_timezone(&job.timezone)
                    .date_naive()
                    .to_string(),
            },
            fetch: transfers.fetch,
            upload: transfers.upload,
            connections: transfers.connections,
        })
    }
}

/// Resolves a relative path against the current directory, so the worker sees the same place.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// Writes one run's events to the store as they arrive.
struct Recorder<'a> {
    runner: &'a Runner,
    execution: &'a Execution,
    redactor: super::Redactor,
    updates: Option<UnboundedSender<RunUpdate>>,
    pending: Vec<LogLine>,
    seq: i64,
    /// The last lines the worker printed on stderr, quoted when it crashes.
    last_stderr: Vec<String>,
    /// Problems not yet written, flushed with the log lines.
    pending_problems: Vec<ProblemRecord>,
    /// Problems reported so far (the last `seq` given), and how many of them were errors.
    problem_seq: i64,
    problem_errors: i64,
}

impl Recorder<'_> {
    /// Runs the worker to its end; returns the status and error to record.
    async fn drive(
        &mut self,
        order: WorkerRequest,
        job: &JobSpec,
        cancel: CancellationToken,
    ) -> Result<(Status, Option<String>), RunError> {
        let mut worker = spawn(&self.runner.inner.exe, &order)?;
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let deadline = job.timeout.map(|t| Instant::now() + t);
        let mut heartbeat = tokio::time::interval(self.runner.lease().ttl / 3);
        heartbeat.tick().await;
        let mut flush = tokio::time::interval(LOG_FLUSH_EVERY);
        let mut stop: Option<Stop> = None;
        let mut kill_at: Option<Instant> = None;
        let mut outcome: Option<(OutcomeStatus, Option<String>)> = None;
        loop {
            // One select over the worker's output and the run's clocks: whichever comes first is
            // handled, and the worker's output is drained until both of its streams close, even
            // after SIGTERM, so nothing it said before dying is lost.
            tokio::select! {
                output = worker.next() => match output {
                    Some(output) => {
                        if let Some(end) = self.handle(output).await? {
                            outcome = Some(end);
                        }
                    }
                    None => break,
                },
                _ = heartbeat.tick() => {
                    let alive = self
                        .runner
                        .store()
                        .heartbeat(self.execution.id, self.runner.lease(), crate::clock::now())
                        .await?;
                    if !alive {
                        tracing::warn!(run = self.execution.id, "Lease lost while running.");
                    }
                }
                _ = flush.tick() => self.flush().await?,
                _ = sleep_until(deadline.unwrap_or(far)), if stop.is_none() && deadline.is_some() => {
                    stop = Some(Stop::TimedOut(job.timeout.unwrap_or_default()));
                    worker.terminate();
                    kill_at = Some(Instant::now() + KILL_GRACE);
                }
                _ = cancel.cancelled(), if stop.is_none() => {
                    stop = Some(Stop::Cancelled);
                    worker.terminate();
                    kill_at = Some(Instant::now() + KILL_GRACE);
                }
                _ = sleep_until(kill_at.unwrap_or(far)), if kill_at.is_some() => {
                    worker.kill();
                    kill_at = None;
                }
            }
        }
        let exit = worker.wait().await;
        // Whatever is left of the process group goes too: a plugin's own children must not
        // outlive its run.
        worker.kill();
        Ok(match (stop, outcome) {
            (Some(Stop::TimedOut(limit)), _) => (
                Status::TimedOut,
                Some(format!(
                    "timed out after {}; the worker was stopped",
                    humantime::format_duration(limit)
                )),
            ),
            (Some(Stop::Cancelled), _) => (
                Status::Cancelled,
                Some("cancelled: the run was stopped before it finished".to_owned()),
            ),
            // A success's message is its summary, already in the log; warnings and failures
            // keep theirs as the run's error.
            (None, Some((OutcomeStatus::Succeeded, _))) => (Status::Succeeded, None),
            (None, Some((OutcomeStatus::Warning, message))) => (Status::Warning, message),
            (None, Some((OutcomeStatus::Failed, message))) => (Status::Failed, message),
            (None, None) => {
                let mut error = format!("{} before reporting an outcome", exit.describe());
                if !self.last_stderr.is_empty() {
                    error.push_str(": ");
                    error.push_str(&self.last_stderr.join(" | "));
                }
                (Status::Failed, Some(error))
            }
        })
    }

    /// Records one line of worker output; returns the outcome when it is the last word.
    async fn handle(
        &mut self,
        output: WorkerOutput,
    ) -> Result<Option<(OutcomeStatus, Option<String>)>, RunError> {
        match output {
            WorkerOutput::Event(WorkerEvent::Loaded {
                plugin, version, ..
            }) => {
                self.runner
                    .store()
                    .set_plugin(self.execution.id, &plugin, &version)
                    .await?;
                self.send(RunUpdate::Loaded { plugin, version });
            }
            WorkerOutput::Event(WorkerEvent::Entered { at }) => {
                self.runner
                    .store()
                    .set_entered(self.execution.id, crate::clock::truncate(at))
                    .await?;
            }
            WorkerOutput::Event(WorkerEvent::Plugin { at, event }) => self.event(at, event).await?,
            WorkerOutput::Event(WorkerEvent::Outcome { status, message }) => {
                if let Some(message) = &message {
                    let level = match status {
                        OutcomeStatus::Succeeded => Level::Info,
                        OutcomeStatus::Warning => Level::Warn,
                        OutcomeStatus::Failed => Level::Error,
                    };
                    self.log(crate::clock::now(), level, message);
                }
                return Ok(Some((status, message)));
            }
            WorkerOutput::Event(WorkerEvent::Described { .. }) => {}
            WorkerOutput::Event(WorkerEvent::Transfer {
                at,
                connection,
                direction,
                remote_path,
                local_path,
                bytes,
                seconds,
                sha256,
            }) => {
                let transfer = crate::store::model::TransferRecord {
                    direction,
                    connection,
                    remote_path: self.redactor.redact(&remote_path),
                    local_path: self.redactor.redact(&local_path),
                    bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                    seconds,
                    sha256,
                    recorded_at: crate::clock::truncate(at),
                };
                self.runner
                    .store()
                    .add_transfer(self.execution.id, &transfer)
                    .await?;
            }
            WorkerOutput::Stderr(line) => {
                self.remember_stderr(&line);
                self.log(crate::clock::now(), Level::Info, &line);
            }
            WorkerOutput::Garbage(line) => {
                self.log(
                    crate::clock::now(),
                    Level::Warn,
                    &format!("unreadable worker event: {line}"),
                );
            }
        }
        Ok(None)
    }

    async fn event(&mut self, at: DateTime<Utc>, event: Event) -> Result<(), RunError> {
        let id = self.execution.id;
        match event {
            Event::Log { level, message } => self.log(at, level, &message),
            Event::Table {
                table,
                rows,
                seconds,
                action,
            } => {
                let stat = TableStat {
                    table: self.redactor.redact(&table),
                    rows,
                    seconds,
                    action: action.as_str().to_owned(),
                };
                match self.runner.store().add_table_stat(id, &stat).await {
                    Ok(()) => self.send(RunUpdate::Table(stat)),
                    // One bad value from the plugin is the plugin's problem, not the run's end.
                    Err(StoreError::ConstraintViolation(error)) => self.log(
                        at,
                        Level::Warn,
                        &format!(
                            "the table stat for {} ({} rows, {}) was not recorded: {error}",
                            stat.table, stat.rows, stat.action
                        ),
                    ),
                    Err(error) => return Err(error.into()),
                }
            }
            Event::Progress {
                done,
                total,
                message,
            } => self.send(RunUpdate::Progress {
                done,
                total,
                message: message.map(|m| self.redactor.redact(&m)),
            }),
            Event::File { path, kind } => {
                let file = FileRecord {
                    path: self.redactor.redact(&path.display().to_string()),
                    kind: self.redactor.redact(&kind),
                    recorded_at: crate::clock::truncate(at),
                };
                self.runner.store().add_file(id, &file).await?;
                self.send(RunUpdate::File(file));
            }
            problem @ Event::Problem { .. } => self.problem(at, problem),
        }
        if self.pending.len() + self.pending_problems.len() >= LOG_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    fn log(&mut self, at: DateTime<Utc>, level: Level, message: &str) {
        self.seq += 1;
        let line = LogLine {
            seq: self.seq,
            ts: crate::clock::truncate(at),
            level: level.as_str().to_owned(),
            message: self.redactor.redact(message),
        };
        self.send(RunUpdate::Log(line.clone()));
        self.pending.push(line);
    }

    fn remember_stderr(&mut self, line: &str) {
        const KEEP: usize = 3;
        if self.last_stderr.len() == KEEP {
            self.last_stderr.remove(0);
        }
        self.last_stderr.push(self.redactor.redact(line.trim()));
    }

    async fn flush(&mut self) -> Result<(), RunError> {
        if !self.pending.is_empty() {
            let lines = std::mem::take(&mut self.pending);
            self.runner
                .store()
                .append_logs(self.execution.id, &lines)
                .await?;
        }
        self.flush_problems().await
    }

    fn send(&self, update: RunUpdate) {
        if let Some(updates) = &self.updates {
            // The receiver may have gone (the CLI stopped showing progress); the run goes on.
            let _ = updates.send(update);
        }
    }

    /// Buffers an [`Event::Problem`] (anything else is ignored), every text redacted, under the
    /// next problem number; [`Recorder::flush`] writes it with the log lines.
    fn problem(&mut self, at: DateTime<Utc>, event: Event) {
        let Event::Problem {
            severity,
            category,
            file,
            line,
            field,
            value,
            message,
        } = event
        else {
            return;
        };
        self.problem_seq += 1;
        if severity == Severity::Error {
            self.problem_errors += 1;
        }
        let redact = |text: Option<String>| text.map(|t| self.redactor.redact(&t));
        let record = ProblemRecord {
            seq: self.problem_seq,
            at: crate::clock::truncate(at),
            severity: severity.as_str().to_owned(),
            category: self.redactor.redact(&category),
            file: redact(file),
            line: line.map(|l| i64::try_from(l).unwrap_or(i64::MAX)),
            field: redact(field),
            value: redact(value),
            message: self.redactor.redact(&message),
        };
        self.send(RunUpdate::Problem(record.clone()));
        self.pending_problems.push(record);
    }

    /// Writes the buffered problems.
    async fn flush_problems(&mut self) -> Result<(), RunError> {
        if !self.pending_problems.is_empty() {
            let problems = std::mem::take(&mut self.pending_problems);
            self.runner
                .store()
                .append_problems(self.execution.id, &problems)
                .await?;
        }
        Ok(())
    }

    /// Adds a line counting the run's problems to its log, so `ferry logs` shows that the run
    /// had some even though each one is stored apart. Nothing when there were none.
    fn log_problem_summary(&mut self) {
        if self.problem_seq == 0 {
            return;
        }
        let counted = |n: i64, noun: &str| match n {
            1 => format!("1 {noun}"),
            _ => format!("{n} {noun}s"),
        };
        let text = format!(
            "the job reported {}: {}, {}",
            counted(self.problem_seq, "input problem"),
            counted(self.problem_errors, "error"),
            counted(self.problem_seq - self.problem_errors, "warning"),
        );
        self.log(crate::clock::now(), Level::Warn, &text);
    }
}
