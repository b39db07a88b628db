//! The life cycle of an execution and its job's lease: claim, dispatch, heartbeat, finish,
//! reaping, retries and missed fires.
//!
//! # Invariants
//! - A scheduled fire (job, scheduled_for, attempt) is inserted at most once: the unique index
//!   `executions_fire` plus `ON CONFLICT DO NOTHING` decide, never an in-process lock.
//! - A job has at most one lease (`job_leases.job` is the key), and an execution only becomes
//!   `running` in the transaction that takes the lease for it.
//! - Every writing transaction locks the execution row before the lease row, so concurrent
//!   claims, dispatches, finishes and reaps on PostgreSQL cannot deadlock one another.

use super::dialect::Dialect;
use super::model::{Claim, Execution, LeaseHolder, NewExecution, Status, Trigger, WhenBusy};
use super::rows::{self, ExecutionRow, execution_columns};
use super::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// Inserts an execution unless it collides with a unique key (fire key, `retry_of`).
/// Binds: see `insert_execution!`.
const INSERT_EXECUTION: &str = concat!(
    "INSERT INTO executions (job, trigger, requested_by, host, scheduled_for, queued_at, ",
    "finished_at, status, attempt, retry_of, not_before, error, params, plugin) ",
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ",
    "ON CONFLICT DO NOTHING RETURNING ",
    execution_columns!()
);

/// Takes job `$1`'s lease for execution `$2`, held by `$3` from `$4` until `$5`, if the lease is
/// free: absent or expired. Returns a row only when the lease was taken.
///
/// The `DO UPDATE ... WHERE` condition must only read the conflicting lease row: PostgreSQL
/// re-checks it against the newest committed version of that row, whereas a subquery on another
/// table would see the statement's older snapshot (a lease taken a moment ago by a concurrent
/// claim would look free, and both claims would start).
const TAKE_LEASE: &str = concat!(
    "INSERT INTO job_leases (job, execution_id, holder, acquired_at, heartbeat_at, expires_at) ",
    "VALUES ($1, $2, $3, $4, $4, $5) ",
    "ON CONFLICT (job) DO UPDATE SET execution_id = excluded.execution_id, ",
    "holder = excluded.holder, acquired_at = excluded.acquired_at, ",
    "heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at ",
    "WHERE job_leases.expires_at <= excluded.acquired_at ",
    "RETURNING execution_id"
);

/// The execution holding job `$1`'s lease.
const LEASE_HOLDER: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE id = (SELECT execution_id FROM job_leases WHERE job = $1)"
);

/// Queued execution `$1` becomes running at `$2` (its lease is taken in the same transaction).
const MARK_RUNNING: &str = concat!(
    "UPDATE executions SET status = 'running', started_at = $2 ",
    "WHERE id = $1 AND status = 'queued' RETURNING ",
    execution_columns!()
);

/// Like [`MARK_RUNNING`], but only once the execution's `not_before` has passed.
const START_DUE: &str = concat!(
    "UPDATE executions SET status = 'running', started_at = $2 ",
    "WHERE id = $1 AND status = 'queued' AND (not_before IS NULL OR not_before <= $2) ",
    "RETURNING ",
    execution_columns!()
);

/// Ends live execution `$1` with status `$2`, error `$3`, at `$4`.
pub(super) const END_LIVE: &str = concat!(
    "UPDATE executions SET status = $2, error = $3, finished_at = $4 ",
    "WHERE id = $1 AND status IN ('queued', 'running') RETURNING ",
    execution_columns!()
);

/// Ends running execution `$1` as abandoned at `$2` with error `$3`.
const END_ABANDONED: &str = concat!(
    "UPDATE executions SET status = 'abandoned', error = $3, finished_at = $2 ",
    "WHERE id = $1 AND status = 'running' RETURNING ",
    execution_columns!()
);

/// Queued executions whose `not_before` has passed at `$1`, oldest first.
const DUE_QUEUED: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE status = 'queued' AND (not_before IS NULL OR not_before <= $1) ",
    "ORDER BY id"
);

/// Running executions without a live lease at `$1`, with their lease's holder and last beat.
const ABANDONED_CANDIDATES: &str = concat!(
    "SELECT e.id, e.host, l.holder, l.heartbeat_at FROM executions e ",
    "LEFT JOIN job_leases l ON l.execution_id = e.id ",
    "WHERE e.status = 'running' AND (l.execution_id IS NULL OR l.expires_at <= $1) ",
    "ORDER BY e.id"
);

/// Binds a [`NewExecution`] to [`INSERT_EXECUTION`] and returns the `fetch_optional` future.
macro_rules! insert_execution {
    ($conn:expr, $new:expr, $status:expr, $finished_at:expr, $error:expr, $now:expr) => {
        sqlx::query_as::<_, ExecutionRow>(INSERT_EXECUTION)
            .bind(&$new.job)
            .bind($new.trigger.as_str())
            .bind(&$new.requested_by)
            .bind(&$new.host)
            .bind($new.scheduled_for)
            .bind($now)
            .bind($finished_at)
            .bind($status.as_str())
            .bind($new.attempt)
            .bind($new.retry_of)
            .bind($new.not_before)
            .bind($error)
            .bind(&$new.params)
            .bind(&$new.plugin)
            .fetch_optional($conn)
    };
}

/// Binds [`TAKE_LEASE`] and returns the `fetch_optional` future (`Some` = taken).
macro_rules! take_lease {
    ($conn:expr, $job:expr, $id:expr, $holder:expr, $now:expr, $expires_at:expr) => {
        sqlx::query_scalar::<_, i64>(TAKE_LEASE)
            .bind($job)
            .bind($id)
            .bind($holder)
            .bind($now)
            .bind($expires_at)
            .fetch_optional($conn)
    };
}

/// How often a claim re-reads a lease that changed hands while it looked (PostgreSQL only: the
/// holder may finish between the failed take and the read of who holds it).
const LEASE_READS: usize = 5;

impl Store {
    /// Claims an execution: inserts it and, in the same transaction, takes its job's lease.
    ///
    /// - Lease free (or expired): the execution is `running` from `now`, holding the lease until
    ///   `now + lease.ttl` → [`Claim::Started`].
    /// - Lease held by another running execution: per `when_busy`, the execution stays `queued`
    ///   ([`Claim::Queued`]), is recorded `missed` with the reason ([`Claim::Busy`] with
    ///   `recorded`), or nothing is inserted ([`Claim::Busy`] without `recorded`).
    /// - A scheduled fire already claimed (same job, `scheduled_for` and attempt), here or by
    ///   another scheduler: nothing is inserted → [`Claim::Duplicate`].
    ///
    /// A claim does not line up behind executions already queued for the job: when the lease is
    /// free it starts at once. Queued executions start through [`Store::dispatch`].
    ///
    /// # Invariants
    /// Two schedulers claiming one fire at once: exactly one inserts it. Two claims of one job at
    /// once: at most one starts. The unique fire index and the lease row decide, inside one
    /// transaction (`BEGIN IMMEDIATE` on SQLite).
    ///
    /// # Errors
    /// [`StoreError::TtlOutOfRange`], [`StoreError::LeaseContended`] when the lease keeps changing
    /// hands, or a database error.
    pub async fn claim(
        &self,
        new: &NewExecution,
        when_busy: WhenBusy,
        lease: &LeaseHolder,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let expires_at = expiry(now, lease.ttl)?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let no_end: Option<DateTime<Utc>> = None;
            let no_error: Option<&str> = None;
            let inserted =
                insert_execution!(&mut *tx, new, Status::Queued, no_end, no_error, now).await?;
            let Some(inserted) = rows::execution(inserted)? else {
                tx.rollback().await?;
                return Ok(Claim::Duplicate);
            };
            let mut running = None;
            for _ in 0..LEASE_READS {
                let taken =
                    take_lease!(&mut *tx, &new.job, inserted.id, &lease.holder, now, expires_at)
                        .await?;
                if taken.is_some() {
                    let started = sqlx::query_as::<_, ExecutionRow>(MARK_RUNNING)
                        .bind(inserted.id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(Claim::Started(started.try_into()?));
                }
                let holder = sqlx::query_as::<_, ExecutionRow>(LEASE_HOLDER)
                    .bind(&new.job)
                    .fetch_optional(&mut *tx)
                    .await?;
                running = rows::execution(holder)?;
                if running.is_some() {
                    break;
                }
            }
            let Some(running) = running else {
                tx.rollback().await?;
                return Err(StoreError::LeaseContended { job: new.job.clone() });
            };
            match when_busy {
                WhenBusy::Queue => {
                    tx.commit().await?;
                    Ok(Claim::Queued(inserted))
                }
                WhenBusy::Refuse => {
                    tx.rollback().await?;
                    Ok(Claim::Busy { running, recorded: None })
                }
                WhenBusy::RecordMissed => {
                    let missed = sqlx::query_as::<_, ExecutionRow>(END_LIVE)
                        .bind(inserted.id)
                        .bind(Status::Missed.as_str())
                        .bind(busy_reason(&running))
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Claim::Busy { running, recorded: Some(missed.try_into()?) })
                }
            }
        })
    }

    /// Starts queued execution `id` if its `not_before` has passed at `now` and its job's lease
    /// is free: it becomes `running` from `now` and holds the lease until `now + lease.ttl`.
    ///
    /// `None` when the execution is not queued (another dispatcher won, or it ended), not yet
    /// due, or its job is still busy; it then stays as it was.
    ///
    /// # Errors
    /// [`StoreError::TtlOutOfRange`] or a database error.
    pub async fn dispatch(
        &self,
        id: i64,
        lease: &LeaseHolder,
        now: DateTime<Utc>,
    ) -> Result<Option<Execution>, StoreError> {
        let expires_at = expiry(now, lease.ttl)?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let started = sqlx::query_as::<_, ExecutionRow>(START_DUE)
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(started) = rows::execution(started)? else {
                tx.rollback().await?;
                return Ok(None);
            };
            let taken =
                take_lease!(&mut *tx, &started.job, id, &lease.holder, now, expires_at).await?;
            if taken.is_none() {
                tx.rollback().await?;
                return Ok(None);
            }
            tx.commit().await?;
            Ok(Some(started))
        })
    }

    /// Queued executions due at `now` (`not_before` unset or passed), oldest first.
    ///
    /// # Errors
    /// A database error.
    pub async fn due_queued(&self, now: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        let found = with_pool!(self, pool => {
            sqlx::query_as::<_, ExecutionRow>(DUE_QUEUED).bind(now).fetch_all(pool).await?
        });
        rows::executions(found)
    }

    /// Renews the lease of running execution `id` until `now + lease.ttl`.
    ///
    /// `false` when the lease is no longer this execution's and this holder's (reaped as
    /// abandoned, or taken over after it expired): the run should stop.
    ///
    /// # Errors
    /// [`StoreError::TtlOutOfRange`] or a database error.
    pub async fn heartbeat(
        &self,
        id: i64,
        lease: &LeaseHolder,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let expires_at = expiry(now, lease.ttl)?;
        let renewed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE job_leases SET heartbeat_at = $3, expires_at = $4 \
                 WHERE execution_id = $1 AND holder = $2",
            )
            .bind(id)
            .bind(&lease.holder)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(renewed > 0)
    }

    /// Records which plugin (name and version) execution `id` loaded.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or a database error.
    pub async fn set_plugin(&self, id: i64, name: &str, version: &str) -> Result<(), StoreError> {
        let updated = with_pool!(self, pool => {
            sqlx::query("UPDATE executions SET plugin = $2, plugin_version = $3 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(id, updated)
    }

    /// Records when execution `id` entered the plugin's `run`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or a database error.
    pub async fn set_entered(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let updated = with_pool!(self, pool => {
            sqlx::query("UPDATE executions SET entered_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(id, updated)
    }

    /// Ends execution `id` (running or queued) with `status` and `error` at `now`, and releases
    /// its job's lease if this execution holds it.
    ///
    /// # Errors
    /// [`StoreError::NotFinal`] for a live `status`, [`StoreError::NotFound`],
    /// [`StoreError::AlreadyFinished`] when the execution has already ended (its outcome is kept),
    /// or a database error.
    pub async fn finish(
        &self,
        id: i64,
        status: Status,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Execution, StoreError> {
        self.finish_with_notice(id, status, error, now, None)
            .await
            .map(|(ended, _)| ended)
    }

    /// Ends every `running` execution whose lease is gone or expired at `now` as `abandoned`
    /// (its scheduler or CLI died or lost the store), deletes the stale leases, and returns the
    /// executions so the caller can retry them by policy.
    ///
    /// A lease renewed while the reaper looks is left alone. Each execution is reaped in its own
    /// short transaction.
    ///
    /// # Errors
    /// A database error; executions reaped before it stay reaped.
    pub async fn reap_abandoned(&self, now: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        type Candidate = (i64, String, Option<String>, Option<DateTime<Utc>>);
        let candidates: Vec<Candidate> = with_pool!(self, pool => {
            sqlx::query_as(ABANDONED_CANDIDATES).bind(now).fetch_all(pool).await?
        });
        let mut reaped = Vec::new();
        for (id, host, holder, heartbeat_at) in candidates {
            let reason = match (holder, heartbeat_at) {
                (Some(holder), Some(at)) => format!(
                    "heartbeat lost: {holder} stopped renewing the lease at {}",
                    rfc3339(at)
                ),
                _ => format!("heartbeat lost: run #{id} on {host} no longer holds its job's lease"),
            };
            let ended = with_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                let ended = sqlx::query_as::<_, ExecutionRow>(END_ABANDONED)
                    .bind(id)
                    .bind(now)
                    .bind(&reason)
                    .fetch_optional(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM job_leases WHERE execution_id = $1 AND expires_at <= $2")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let renewed: Option<i64> = sqlx::query_scalar(
                    "SELECT execution_id FROM job_leases WHERE execution_id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if ended.is_some() && renewed.is_none() {
                    tx.commit().await?;
                    ended
                } else {
                    tx.rollback().await?;
                    None
                }
            });
            if let Some(ended) = rows::execution(ended)? {
                reaped.push(ended);
            }
        }
        Ok(reaped)
    }

    /// Queues the retry of `failed`: trigger `retry`, attempt + 1, `retry_of = failed.id`, the
    /// same job, params, plugin and `scheduled_for`, not starting before `not_before`.
    ///
    /// `None` when `failed` already has a retry (`retry_of` is unique), so two schedulers
    /// reacting to one failure queue one retry.
    ///
    /// # Errors
    /// [`StoreError::NotFinal`] when `failed` has not ended, or a database error.
    pub async fn schedule_retry(
        &self,
        failed: &Execution,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Execution>, StoreError> {
        if !failed.status.is_terminal() {
            return Err(StoreError::NotFinal {
                id: failed.id,
                status: failed.status,
            });
        }
        let retry = NewExecution {
            job: failed.job.clone(),
            trigger: Trigger::Retry,
            requested_by: "scheduler".to_owned(),
            host: failed.host.clone(),
            scheduled_for: failed.scheduled_for,
            attempt: failed.attempt.saturating_add(1),
            retry_of: Some(failed.id),
            not_before: Some(not_before),
            params: failed.params.clone(),
            plugin: failed.plugin.clone(),
        };
        let no_end: Option<DateTime<Utc>> = None;
        let no_error: Option<&str> = None;
        let inserted = with_pool!(self, pool => {
            insert_execution!(pool, retry, Status::Queued, no_end, no_error, now).await?
        });
        rows::execution(inserted)
    }

    /// Records a fire that will not run (misfire policy, overlap) as `missed` with `reason`,
    /// ended at `now`. `None` when the fire is already recorded.
    ///
    /// # Errors
    /// A database error.
    pub async fn record_missed(
        &self,
        new: &NewExecution,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Execution>, StoreError> {
        let inserted = with_pool!(self, pool => {
            insert_execution!(pool, new, Status::Missed, Some(now), Some(reason), now).await?
        });
        rows::execution(inserted)
    }
}

/// The lease's end: `now + ttl`, truncated to the millisecond like every stored time.
fn expiry(now: DateTime<Utc>, ttl: std::time::Duration) -> Result<DateTime<Utc>, StoreError> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .map(crate::clock::truncate)
        .ok_or(StoreError::TtlOutOfRange { ttl })
}

/// The error of a fire skipped because `running` still held the job.
fn busy_reason(running: &Execution) -> String {
    let started = running.started_at.unwrap_or(running.queued_at);
    format!(
        "skipped: run #{} (started {} on {}) was still running",
        running.id,
        rfc3339(started),
        running.host
    )
}

/// `2026-01-31T08:00:00.250Z`-style text for messages.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `NotFound` unless an update touched a row.
fn found(id: i64, updated: u64) -> Result<(), StoreError> {
    if updated == 0 {
        Err(StoreError::NotFound { id })
    } else {
        Ok(())
    }
}
