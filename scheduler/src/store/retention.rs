//! Retention: deleting old finished executions, with everything that hangs off them.
//!
//! Pruning never touches live (`queued`, `running`) executions and works in small batches, so
//! a large backlog never holds the database's write lock for long.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Deletes executions that ended before `before`, with their logs, table stats, files,
    /// transfers, problems and notices (all `ON DELETE CASCADE`), `batch` executions per
    /// statement until none are left. Returns how many were deleted.
    /// Live executions are never deleted, whatever their age.
    ///
    /// # Errors
    /// A database error; batches deleted before it stay deleted.
    pub async fn prune(&self, before: DateTime<Utc>, batch: i64) -> Result<u64, StoreError> {
        let batch = batch.max(1);
        let mut total = 0;
        loop {
            let deleted = with_pool!(self, pool => {
                sqlx::query(
                    "DELETE FROM executions WHERE id IN (\
                     SELECT id FROM executions \
                     WHERE finished_at < $1 AND status NOT IN ('queued', 'running') \
                     ORDER BY finished_at LIMIT $2)",
                )
                .bind(before)
                .bind(batch)
                .execute(pool)
                .await?
                .rows_affected()
            });
            total += deleted;
            if deleted < batch.unsigned_abs() {
                return Ok(total);
            }
        }
    }
}
