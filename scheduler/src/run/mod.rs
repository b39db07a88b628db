//! One path for every run: claim → worker → record → end (and, later, notify).
//!
//! Whatever triggered a run — the schedule, a catch-up, a retry, `ferry run` — it goes through
//! [`Runner::claim`] and [`Runner::execute`]. The claim is the store's transaction (unique fire,
//! job lease, overlap policy); execute starts a `ferry worker` process, writes everything it
//! reports to the store as it arrives, heartbeats the lease, enforces the timeout, decides the
//! end status and schedules a retry when the policy asks for one.

mod execute;
mod notify;
mod redact;
mod transfers;

pub use transfers::connection_order;

pub use execute::RunUpdate;
pub use redact::Redactor;

use crate::config::{Config, JobSpec, Overlap};
use crate::store::model::{Claim, Execution, LeaseHolder, NewExecution, Trigger, WhenBusy};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a lease stays valid without a heartbeat. A run whose scheduler stops renewing it for
/// this long is `abandoned`.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// How long a worker gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(3);

/// Why a run could not be started or recorded.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration has no job of that name.
    #[error("no job named {job:?} in {config}")]
    UnknownJob { job: String, config: String },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker process could not be started.
    #[error("could not start the worker process: {0}")]
    Worker(#[from] crate::worker::WorkerError),
}

/// What to run and why.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub job: String,
    pub trigger: Trigger,
    /// `scheduler`, or the OS user for `ferry run`.
    pub requested_by: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// `--set key=value`.
    pub params: BTreeMap<String, String>,
    /// `--no-fetch`.
    pub no_fetch: bool,
}

/// The options of a run as stored in the execution's `params` column (a JSON object), so a
/// queued run or a retry starts with the options it was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunParams {
    /// `--set key=value` pairs.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// `--no-fetch`.
    #[serde(default)]
    pub no_fetch: bool,
}

impl RunParams {
    /// The JSON stored in `params`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads the `params` column; anything unreadable counts as no options.
    pub fn from_json(json: &str) -> RunParams {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// Claims and executes runs. Cheap to clone; shared by the service loop and the CLI.
#[derive(Debug, Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    store: Store,
    /// The `ferry` executable, started again as `ferry worker`.
    exe: PathBuf,
    host: String,
    lease: LeaseHolder,
    /// Notified when a run stores a result notice, so the outbox sends it at once.
    notice_stored: Arc<tokio::sync::Notify>,
}

impl Runner {
    /// A runner for this configuration and store. `exe` is the `ferry` binary to start workers from.
    pub fn new(config: Arc<Config>, store: Store, exe: PathBuf) -> Runner {
        let host = host_name();
        let lease = LeaseHolder {
            holder: format!("{host}:{}", std::process::id()),
            ttl: LEASE_TTL,
        };
        Runner {
            inner: Arc::new(Inner {
                config,
                store,
                exe,
                host,
                lease,
                notice_stored: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn host(&self) -> &str {
        &self.inner.host
    }

    pub fn lease(&self) -> &LeaseHolder {
        &self.inner.lease
    }

    /// Notified whenever a finished run stores a result notice.
    pub fn notice_stored(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.notice_stored)
    }

    /// The job's specification.
    ///
    /// # Errors
    /// [`RunError::UnknownJob`] if the configuration has no such job.
    pub fn job(&self, name: &str) -> Result<&JobSpec, RunError> {
        self.inner
            .config
            .jobs
            .get(name)
            .ok_or_else(|| RunError::UnknownJob {
                job: name.to_owned(),
                config: self.inner.config.path.display().to_string(),
            })
    }

    /// Claims a run in the store: inserts the execution and takes the job's lease, or applies the
    /// job's overlap policy when it is busy. `refuse_when_busy` is for `ferry run` with
    /// `overlap = "skip"`: nothing is recorded and the caller is told who holds the job.
    ///
    /// # Errors
    /// Unknown job or store failure.
    pub async fn claim(&self, spec: &RunSpec, refuse_when_busy: bool) -> Result<Claim, RunError> {
        let job = self.job(&spec.job)?;
        let when_busy = match (job.overlap, refuse_when_busy) {
            (Overlap::Queue, _) => WhenBusy::Queue,
            (Overlap::Skip, true) => WhenBusy::Refuse,
            (Overlap::Skip, false) => WhenBusy::RecordMissed,
        };
        self.claim_with(spec, when_busy).await
    }

    /// Claims a run with an explicit busy policy: catch-up batches queue behind each other
    /// whatever the job's overlap policy, since the misfire policy asked for every one of them.
    ///
    /// # Errors
    /// Unknown job or store failure.
    pub async fn claim_with(&self, spec: &RunSpec, when_busy: WhenBusy) -> Result<Claim, RunError> {
        let job = self.job(&spec.job)?;
        let new = self.new_execution(spec, job, 1, None);
        Ok(self
            .inner
            .store
            .claim(&new, when_busy, &self.inner.lease, crate::clock::now())
            .await?)
    }

    /// Records a fire that will not run (misfire policy), so operators see it in history.
    ///
    /// # Errors
    /// Unknown job or store failure.
    pub async fn record_missed(
        &self,
        spec: &RunSpec,
        reason: &str,
    ) -> Result<Option<Execution>, RunError> {
        let job = self.job(&spec.job)?;
        let new = self.new_execution(spec, job, 1, None);
        Ok(self
            .inner
            .store
            .record_missed(&new, reason, crate::clock::now())
            .await?)
    }

    /// Starts a queued execution if it is due and its job is free. `None` if another runner took
    /// it or the job is still busy.
    ///
    /// # Errors
    /// Store failure.
    pub async fn dispatch(&self, id: i64) -> Result<Option<Execution>, RunError> {
        Ok(self
            .inner
            .store
            .dispatch(id, &self.inner.lease, crate::clock::now())
            .await?)
    }

    /// Marks runs whose scheduler died as `abandoned` and schedules their retries.
    ///
    /// # Errors
    /// Store failure.
    pub async fn reap_abandoned(&self) -> Result<Vec<Execution>, RunError> {
        let reaped = self.inner.store.reap_abandoned(crate::clock::now()).await?;
        for execution in &reaped {
            tracing::warn!(
                run = execution.id,
                job = %execution.job,
                error = execution.error.as_deref().unwrap_or(""),
                "Run abandoned."
            );
            self.notify_abandoned(execution).await?;
            self.schedule_retry(execution).await?;
        }
        Ok(reaped)
    }

    /// Stores the notice of a run the reaper marked `abandoned`. The reaper's transaction ends
    /// every expired run at once, so this notice follows in its own (a scheduler dying between
    /// the two loses this one notice; the run's history is complete either way).
    async fn notify_abandoned(&self, execution: &Execution) -> Result<(), RunError> {
        let now = execution.finished_at.unwrap_or_else(crate::clock::now);
        if let Some(notice) = self
            .compose_notice(execution, execution.status, execution.error.as_deref(), now)
            .await?
        {
            self.inner
                .store
                .add_notice(execution.id, &notice, now)
                .await?;
            self.inner.notice_stored.notify_one();
        }
        Ok(())
    }

    /// Queues the next attempt of a failed execution if its job's retry policy allows one.
    ///
    /// # Errors
    /// Store failure.
    pub async fn schedule_retry(&self, failed: &Execution) -> Result<Option<Execution>, RunError> {
        let Some(job) = self.inner.config.jobs.get(&failed.job) else {
            return Ok(None);
        };
        let attempt = u32::try_from(failed.attempt).unwrap_or(u32::MAX);
        if !failed.status.is_retryable_failure() || attempt > job.retries.max {
            return Ok(None);
        }
        let now = crate::clock::now();
        let delay = job.retries.delay_before(attempt + 1);
        let not_before = now + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX);
        let retry = self
            .inner
            .store
            .schedule_retry(failed, crate::clock::truncate(not_before), now)
            .await?;
        if let Some(retry) = &retry {
            tracing::info!(
                run = retry.id,
                job = %retry.job,
                attempt = retry.attempt,
                of = job.retries.max + 1,
                not_before = %not_before,
                "Retry queued."
            );
        }
        Ok(retry)
    }

    fn new_execution(
        &self,
        spec: &RunSpec,
        job: &JobSpec,
        attempt: i32,
        retry_of: Option<i64>,
    ) -> NewExecution {
        NewExecution {
            job: spec.job.clone(),
            trigger: spec.trigger,
            requested_by: spec.requested_by.clone(),
            host: self.inner.host.clone(),
            scheduled_for: spec.scheduled_for,
            attempt,
            retry_of,
            not_before: None,
            params: RunParams {
                set: spec.params.clone(),
                no_fetch: spec.no_fetch,
            }
            .to_json(),
            plugin: job.plugin.clone(),
        }
    }
}

/// This machine's host name, for history rows and lease holders.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The OS user running this process, for `requested_by`.
pub fn user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}
