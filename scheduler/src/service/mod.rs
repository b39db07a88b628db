//! `ferry serve`: the schedule loop, queued and retried runs, abandoned-run detection and
//! retention, with a graceful shutdown.
//!
//! # Invariants
//! The loop never runs a plugin itself: every due fire becomes a task that takes a concurrency
//! permit, claims through [`Runner::claim`] and executes through [`Runner::execute`] — the same
//! path `ferry run` uses. Each job's cursor (its newest recorded fire) lives in the store, so a
//! restart neither repeats nor forgets a fire. Jobs with an arrival trigger are watched by one
//! tracked task each (`arrival.rs`), which claims and executes through the same path.

mod arrival;
mod fires;
mod shutdown;

pub use shutdown::shutdown_signal;

use crate::notice::outbox::Outbox;
use crate::run::{RunError, RunSpec, Runner};
use crate::store::model::{Claim, Execution, WhenBusy};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often queued runs, abandoned runs and retention are looked at, at the least.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);
/// How often abandoned runs are looked for.
const REAP_EVERY: Duration = Duration::from_secs(10);
/// How often old history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How late a fire may be and still count as on time (not a misfire).
pub const ON_TIME_GRACE: Duration = Duration::from_secs(60);
/// At most this many missed fires of one job are listed per pass after downtime.
pub const MAX_PLANNED_FIRES: usize = 1000;

/// Options of `ferry serve` that are about this process rather than the configuration.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long running workers may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Delivers result notices; `None` without `[mail]`.
    pub outbox: Option<Outbox>,
}

/// The running service: owns the runner, the task tracker and the shutdown tokens.
#[derive(Debug)]
pub struct Service {
    runner: Runner,
    options: ServeOptions,
    permits: Arc<Semaphore>,
    tasks: TaskTracker,
    /// Cancelled when running workers must stop now.
    hard_stop: CancellationToken,
    /// Woken when a run ends, so queued runs start without waiting for the next tick.
    run_ended: Arc<Notify>,
}

impl Service {
    pub fn new(runner: Runner, options: ServeOptions) -> Service {
        let permits = Arc::new(Semaphore::new(
            runner.config().scheduler.max_concurrent_runs.max(1),
        ));
        Service {
            runner,
            options,
            permits,
            tasks: TaskTracker::new(),
            hard_stop: CancellationToken::new(),
            run_ended: Arc::new(Notify::new()),
        }
    }

    /// Runs until `stop` is cancelled (first signal), then drains: no new claims, running
    /// workers get `shutdown_grace` to finish, then are stopped and recorded `cancelled`.
    /// `force` (second signal) stops them at once.
    ///
    /// # Errors
    /// Store failures at start-up.
    pub async fn run(
        self,
        stop: CancellationToken,
        force: CancellationToken,
    ) -> Result<(), crate::run::RunError> {
        self.runner.reap_abandoned().await?;
        let mut fires = fires::Fires::load(&self.runner).await?;
        tracing::info!(
            jobs = fires.len(),
            host = %self.runner.host(),
            "Scheduler started."
        );
        for watcher in arrival::watchers(&self) {
            self.tasks.spawn(watcher.watch(stop.clone()));
        }
        // The outbox runs beside the runs, not in the drain's task set: it stops with the
        // first signal and makes one last pass once the runs have ended (see `drain`).
        let sender_stop = CancellationToken::new();
        let sender = self.options.outbox.clone().map(|outbox| {
            tokio::spawn(outbox.run(sender_stop.clone(), self.runner.notice_stored()))
        });
        let mut last_reap = tokio::time::Instant::now();
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            // A store hiccup must not stop the scheduler: log it and try again next tick.
            match fires.take_due(&self.runner, crate::clock::now()).await {
                Ok(due) => due.into_iter().for_each(|due| self.spawn_fires(due)),
                Err(error) => tracing::error!(%error, "Could not plan fires."),
            }
            self.start_queued().await;
            if last_reap.elapsed() >= REAP_EVERY {
                last_reap = tokio::time::Instant::now();
                if let Err(error) = self.runner.reap_abandoned().await {
                    tracing::error!(%error, "Could not look for abandoned runs.");
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                self.prune().await;
            }
            let wake = fires.next_wake(crate::clock::now(), HOUSEKEEPING_EVERY);
            // Sleep until the next fire (exactly, for fire latency) or the next housekeeping tick,
            // but wake early when a run ends (queued runs may start) or a signal arrives.
            tokio::select! {
                _ = tokio::time::sleep(wake) => {}
                _ = self.run_ended.notified() => {}
                _ = stop.cancelled() => break,
            }
        }
        self.drain(force).await;
        sender_stop.cancel();
        if let Some(sender) = sender {
            let _ = sender.await;
        }
        self.last_notices().await;
        tracing::info!("Scheduler stopped.");
        Ok(())
    }

    /// One last delivery pass at shutdown, for the notices of runs that ended while draining.
    async fn last_notices(&self) {
        if let Some(outbox) = &self.options.outbox
            && let Err(error) = outbox.deliver_due().await
        {
            tracing::error!(%error, "Could not deliver notices.");
        }
    }

    /// Starts one job's due fires as one task: permit, claims in fire order, execute.
    /// A single fire follows the job's overlap policy; a catch-up batch queues behind itself,
    /// so the fires run one after another, oldest first.
    fn spawn_fires(&self, due: fires::DueFires) {
        let runner = self.runner.clone();
        let permits = Arc::clone(&self.permits);
        let hard_stop = self.hard_stop.clone();
        let run_ended = Arc::clone(&self.run_ended);
        self.tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let batch = due.specs.len() > 1;
            let mut started = None;
            for spec in &due.specs {
                let claim = if batch {
                    runner.claim_with(spec, WhenBusy::Queue).await
                } else {
                    runner.claim(spec, false).await
                };
                log_claim(spec, &claim);
                if let Ok(Claim::Started(execution)) = claim {
                    started = Some(execution);
                }
            }
            if let Some(execution) = started {
                execute(&runner, execution, hard_stop).await;
            }
            run_ended.notify_one();
        });
    }

    /// Starts queued runs (retries, queued overlaps) whose time has come and whose job is free.
    async fn start_queued(&self) {
        let due = match self.runner.store().due_queued(crate::clock::now()).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "Could not read queued runs.");
                return;
            }
        };
        for queued in due {
            let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                return;
            };
            match self.runner.dispatch(queued.id).await {
                Ok(Some(execution)) => {
                    let runner = self.runner.clone();
                    let hard_stop = self.hard_stop.clone();
                    let run_ended = Arc::clone(&self.run_ended);
                    self.tasks.spawn(async move {
                        let _permit = permit;
                        execute(&runner, execution, hard_stop).await;
                        run_ended.notify_one();
                    });
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(run = queued.id, %error, "Could not start a queued run.")
                }
            }
        }
    }

    async fn prune(&self) {
        let keep =
            chrono::TimeDelta::days(i64::from(self.runner.config().scheduler.history_keep_days));
        let before = crate::clock::now() - keep;
        match self.runner.store().prune(before, 1000).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, before = %before, "History pruned."),
            Err(error) => tracing::error!(%error, "Could not prune history."),
        }
    }

    /// Waits for running workers, then stops them.
    async fn drain(&self, force: CancellationToken) {
        self.tasks.close();
        let running = self.tasks.len();
        tracing::info!(
            running,
            grace_seconds = self.options.shutdown_grace.as_secs(),
            "Shutting down: no new runs; waiting for running ones."
        );
        // Whichever comes first: all runs done, the grace period over, or a second signal.
        tokio::select! {
            _ = self.tasks.wait() => {}
            _ = tokio::time::sleep(self.options.shutdown_grace) => {
                tracing::warn!("Grace period over: stopping running workers.");
            }
            _ = force.cancelled() => {
                tracing::warn!("Second signal: stopping running workers now.");
            }
        }
        self.hard_stop.cancel();
        self.tasks.wait().await;
    }
}

/// Logs what became of a claim that did not start a run (a started one logs as it runs).
fn log_claim(spec: &RunSpec, claim: &Result<Claim, RunError>) {
    match claim {
        Ok(Claim::Started(_)) => {}
        Ok(Claim::Queued(execution)) => {
            tracing::info!(run = execution.id, job = %spec.job, trigger = spec.trigger.as_str(), "Run queued.");
        }
        Ok(Claim::Busy { running, .. }) => tracing::info!(
            job = %spec.job,
            trigger = spec.trigger.as_str(),
            running = running.id,
            "Run skipped: the job is still running."
        ),
        Ok(Claim::Duplicate) => tracing::debug!(
            job = %spec.job,
            "Fire already claimed by another scheduler."
        ),
        Err(error) => {
            tracing::error!(job = %spec.job, %error, "Could not claim a run.");
        }
    }
}

/// Executes a started run, logging store failures (the run's own failures are recorded).
async fn execute(runner: &Runner, execution: Execution, stop: CancellationToken) {
    let id = execution.id;
    if let Err(error) = runner.execute(execution, stop, None).await {
        tracing::error!(run = id, %error, "Could not record a run.");
    }
}
