//! Decoding rows into the model: the column list every execution query selects, and the
//! conversions from stored names (`status`, `trigger`) back to enums.
//!
//! Row structs derive `sqlx::FromRow`, which is generic over the row type, so one definition
//! decodes SQLite and PostgreSQL rows alike.

use super::StoreError;
use super::model::{Execution, Status, Trigger};
use chrono::{DateTime, Utc};

/// The columns of `executions` in the order of [`ExecutionRow`], for `SELECT` and `RETURNING`.
/// A macro rather than a `const` so it can be spliced into `&'static str` SQL with `concat!`.
macro_rules! execution_columns {
    () => {
        "id, job, trigger, requested_by, host, scheduled_for, queued_at, started_at, entered_at, \
         finished_at, status, attempt, retry_of, not_before, error, params, plugin, plugin_version"
    };
}
pub(super) use execution_columns;

/// One `executions` row as stored.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ExecutionRow {
    id: i64,
    job: String,
    trigger: String,
    requested_by: String,
    host: String,
    scheduled_for: Option<DateTime<Utc>>,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    entered_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    status: String,
    attempt: i32,
    retry_of: Option<i64>,
    not_before: Option<DateTime<Utc>>,
    error: Option<String>,
    params: String,
    plugin: String,
    plugin_version: Option<String>,
}

impl TryFrom<ExecutionRow> for Execution {
    type Error = StoreError;

    fn try_from(row: ExecutionRow) -> Result<Execution, StoreError> {
        let status = parse_status(row.id, &row.status)?;
        let trigger: Trigger = row.trigger.parse().map_err(|error| StoreError::Corrupt {
            what: format!("trigger of run #{}: {error}", row.id),
        })?;
        Ok(Execution {
            id: row.id,
            job: row.job,
            trigger,
            requested_by: row.requested_by,
            host: row.host,
            scheduled_for: row.scheduled_for,
            queued_at: row.queued_at,
            started_at: row.started_at,
            entered_at: row.entered_at,
            finished_at: row.finished_at,
            status,
            attempt: row.attempt,
            retry_of: row.retry_of,
            not_before: row.not_before,
            error: row.error,
            params: row.params,
            plugin: row.plugin,
            plugin_version: row.plugin_version,
        })
    }
}

/// Reads a stored status name of run `id`.
pub(super) fn parse_status(id: i64, name: &str) -> Result<Status, StoreError> {
    name.parse().map_err(|error| StoreError::Corrupt {
        what: format!("status of run #{id}: {error}"),
    })
}

/// Converts an optional row.
pub(super) fn execution(row: Option<ExecutionRow>) -> Result<Option<Execution>, StoreError> {
    row.map(Execution::try_from).transpose()
}

/// Converts a list of rows, keeping their order.
pub(super) fn executions(rows: Vec<ExecutionRow>) -> Result<Vec<Execution>, StoreError> {
    rows.into_iter().map(Execution::try_from).collect()
}
