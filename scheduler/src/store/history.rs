//! Reading executions: one run, the history list, a job's running and last finished run, the
//! schedule cursor; plus the bulk generator that fills history for benchmarks.
//!
//! Every list is newest first by id and served by an index (`executions` primary key,
//! `executions_job (job, id)`, `executions_status (status, id)`), so a page of history costs the
//! same over a million rows as over ten.

use super::dialect::Dialect;
use super::model::{Execution, HistoryFilter, Status};
use super::rows::{self, ExecutionRow, execution_columns};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

const BY_ID: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE id = $1"
);

const HISTORY_ALL: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions ORDER BY id DESC LIMIT $1"
);
const HISTORY_JOB: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE job = $2 ORDER BY id DESC LIMIT $1"
);
const HISTORY_STATUS: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE status = $2 ORDER BY id DESC LIMIT $1"
);
const HISTORY_JOB_STATUS: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE job = $2 AND status = $3 ORDER BY id DESC LIMIT $1"
);

const RUNNING: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE id = (SELECT execution_id FROM job_leases WHERE job = $1) ",
    "AND status = 'running'"
);

const LAST_FINISHED: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE job = $1 AND status NOT IN ('queued', 'running') ",
    "ORDER BY id DESC LIMIT 1"
);

impl Store {
    /// Execution `id`, if it exists.
    ///
    /// # Errors
    /// A database error.
    pub async fn execution(&self, id: i64) -> Result<Option<Execution>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as::<_, ExecutionRow>(BY_ID).bind(id).fetch_optional(pool).await?
        });
        rows::execution(row)
    }

    /// Executions matching `filter`, newest (highest id) first, at most `filter.limit` of them
    /// (all of them when `limit <= 0`).
    ///
    /// # Errors
    /// A database error.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<Execution>, StoreError> {
        let sql = match (&filter.job, filter.status) {
            (None, None) => HISTORY_ALL,
            (Some(_), None) => HISTORY_JOB,
            (None, Some(_)) => HISTORY_STATUS,
            (Some(_), Some(_)) => HISTORY_JOB_STATUS,
        };
        let limit = limit_or_all(filter.limit);
        let job = filter.job.as_deref();
        let status = filter.status.map(|s| s.as_str());
        // The filters bind in order (limit, then job, then status), matching each statement's
        // consecutive placeholders.
        let found = with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, ExecutionRow>(sql).bind(limit);
            if let Some(job) = job {
                query = query.bind(job);
            }
            if let Some(status) = status {
                query = query.bind(status);
            }
            query.fetch_all(pool).await?
        });
        rows::executions(found)
    }

    /// The execution holding `job`'s lease, if the job is running.
    ///
    /// # Errors
    /// A database error.
    pub async fn running(&self, job: &str) -> Result<Option<Execution>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as::<_, ExecutionRow>(RUNNING).bind(job).fetch_optional(pool).await?
        });
        rows::execution(row)
    }

    /// `job`'s newest execution that has ended (any final status, `missed` included).
    ///
    /// # Errors
    /// A database error.
    pub async fn last_finished(&self, job: &str) -> Result<Option<Execution>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as::<_, ExecutionRow>(LAST_FINISHED).bind(job).fetch_optional(pool).await?
        });
        rows::execution(row)
    }

    /// How `job`'s latest run before execution `before` ended: the newest earlier execution with
    /// a final status other than `missed`. Decides whether a success is a recovery.
    ///
    /// # Errors
    /// A database error.
    pub async fn previous_outcome(
        &self,
        job: &str,
        before: i64,
    ) -> Result<Option<Status>, StoreError> {
        let status: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT status FROM executions WHERE job = $1 AND id < $2 \
                 AND status IN ('succeeded', 'warning', 'failed', 'timed_out', 'cancelled', \
                 'abandoned') ORDER BY id DESC LIMIT 1",
            )
            .bind(job)
            .bind(before)
            .fetch_optional(pool)
            .await?
        });
        status.map(|s| rows::parse_status(before, &s)).transpose()
    }

    /// The newest `scheduled_for` recorded for `job`, whatever became of that fire: the cursor
    /// the scheduler resumes from after a restart.
    ///
    /// # Errors
    /// A database error.
    pub async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let fire = with_pool!(self, pool => {
            sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT scheduled_for FROM executions \
                 WHERE job = $1 AND scheduled_for IS NOT NULL \
                 ORDER BY scheduled_for DESC LIMIT 1",
            )
            .bind(job)
            .fetch_optional(pool)
            .await?
        });
        Ok(fire)
    }

    /// Adds `n` finished executions of `job` for benchmarks: one scheduled fire per minute
    /// ending a minute before `now`, mostly `succeeded`, some `warning` and `failed`, host
    /// `synthetic`. Runs as one `INSERT ... SELECT` generated in SQL (never row by row), then
    /// refreshes the planner's statistics. Fires already recorded are skipped.
    ///
    /// # Errors
    /// A database error.
    pub async fn generate_synthetic_history(
        &self,
        job: &str,
        n: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if n <= 0 {
            return Ok(());
        }
        with_pool!(self, pool => {
            sqlx::query(pool.synthetic_history_sql())
                .bind(job)
                .bind(n)
                .bind(now.timestamp())
                .execute(pool)
                .await?;
            sqlx::query("ANALYZE executions").execute(pool).await?;
        });
        Ok(())
    }
}

/// A SQL `LIMIT` for a caller's limit: non-positive means no limit.
pub(super) fn limit_or_all(limit: i64) -> i64 {
    if limit > 0 { limit } else { i64::MAX }
}
