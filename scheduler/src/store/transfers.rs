//! The record of every file a run moved (`transfers`): direction, connection, both paths, size,
//! time taken and checksum, in the order the transfers finished.
//!
//! Rows are deleted with their execution (`ON DELETE CASCADE`), so retention needs nothing here.
//! The direction is a `CHECK` in the schema; a bad one comes back as
//! [`StoreError::ConstraintViolation`].

use super::model::TransferRecord;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Records a transfer of execution `id`, after those already recorded.
    ///
    /// # Errors
    /// [`StoreError::ConstraintViolation`] for a direction other than `download` or `upload`, or
    /// negative bytes or seconds, [`StoreError::ForeignKeyViolation`] when the execution does
    /// not exist, or a database error.
    pub async fn add_transfer(&self, id: i64, transfer: &TransferRecord) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO transfers (execution_id, position, direction, connection, \
                 remote_path, local_path, bytes, seconds, sha256, recorded_at) \
                 SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 \
                 FROM transfers WHERE execution_id = $1",
            )
            .bind(id)
            .bind(&transfer.direction)
            .bind(&transfer.connection)
            .bind(&transfer.remote_path)
            .bind(&transfer.local_path)
            .bind(transfer.bytes)
            .bind(transfer.seconds)
            .bind(&transfer.sha256)
            .bind(transfer.recorded_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Execution `id`'s transfers in the order they were recorded (empty for an unknown run).
    ///
    /// # Errors
    /// A database error.
    pub async fn transfers(&self, id: i64) -> Result<Vec<TransferRecord>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            f64,
            String,
            DateTime<Utc>,
        );
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT direction, connection, remote_path, local_path, bytes, seconds, sha256, \
                 recorded_at FROM transfers WHERE execution_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(
                |(
                    direction,
                    connection,
                    remote_path,
                    local_path,
                    bytes,
                    seconds,
                    sha256,
                    recorded_at,
                )| {
                    TransferRecord {
                        direction,
                        connection,
                        remote_path,
                        local_path,
                        bytes,
                        seconds,
                        sha256,
                        recorded_at,
                    }
                },
            )
            .collect())
    }
}
