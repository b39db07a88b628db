//! Job state: small key/value pairs a job keeps between runs (ISES sequence numbers, Ed-Fi sync
//! hashes), reached by plugins through the host's `state_get`/`state_set` service rather than
//! through a store of their own.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// The value `job` stored under `key`, if any.
    ///
    /// # Errors
    /// A database error.
    pub async fn state_get(&self, job: &str, key: &str) -> Result<Option<String>, StoreError> {
        let value = with_pool!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT value FROM job_state WHERE job = $1 AND key = $2",
            )
            .bind(job)
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(value)
    }

    /// Stores `value` under `key` for `job` (replacing any previous value), or deletes the key
    /// when `value` is `None`.
    ///
    /// # Errors
    /// A database error.
    pub async fn state_set(
        &self,
        job: &str,
        key: &str,
        value: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            match value {
                Some(value) => sqlx::query(
                    "INSERT INTO job_state (job, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (job, key) DO UPDATE \
                     SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(job)
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(pool)
                .await?,
                None => sqlx::query("DELETE FROM job_state WHERE job = $1 AND key = $2")
                    .bind(job)
                    .bind(key)
                    .execute(pool)
                    .await?,
            };
        });
        Ok(())
    }
}
