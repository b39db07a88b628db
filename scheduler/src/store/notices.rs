//! Result notices (`notices`) and their delivery attempts (`notice_attempts`): the outbox.
//!
//! A notice is written in the same transaction that records its run's final status
//! ([`Store::finish_with_notice`]), before any send is tried, so a run's notice is never lost and
//! a run's status never depends on SMTP. The sender picks pending notices with
//! [`Store::due_notices`] and reports each try with [`Store::record_attempt`]; operators list,
//! read and re-queue them. Rows are deleted with their execution (`ON DELETE CASCADE`).

use super::dialect::Dialect;
use super::executions::END_LIVE;
use super::model::{Execution, NewNotice, Notice, NoticeAttempt, NoticeFilter, Status};
use super::rows::{self, ExecutionRow};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// Notices per page when the filter names no page size.
pub const DEFAULT_NOTICE_PAGE_SIZE: i64 = 25;

/// The columns of `notices` in the order of [`NoticeRow`].
macro_rules! notice_columns {
    () => {
        "id, execution_id, job, created_at, subject, recipients, message_id, raw, delivery, \
         attempts, next_attempt_at, last_error, sent_at"
    };
}

/// The `WHERE` clause of a notice listing: `$1` job, `$2` execution status, `$3` delivery, each
/// NULL for "any".
const NOTICE_FILTER: &str = "WHERE (CAST($1 AS TEXT) IS NULL OR job = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR execution_id IN (SELECT id FROM executions WHERE status = $2)) \
     AND (CAST($3 AS TEXT) IS NULL OR delivery = $3)";

/// One `notices` row as stored.
#[derive(Debug, sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    execution_id: i64,
    job: String,
    created_at: DateTime<Utc>,
    subject: String,
    recipients: String,
    message_id: String,
    raw: String,
    delivery: String,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;

    fn try_from(row: NoticeRow) -> Result<Notice, StoreError> {
        let recipients: Vec<String> =
            serde_json::from_str(&row.recipients).map_err(|e| StoreError::Corrupt {
                what: format!("recipients of notice #{}: {e}", row.id),
            })?;
        Ok(Notice {
            id: row.id,
            execution_id: row.execution_id,
            job: row.job,
            created_at: row.created_at,
            subject: row.subject,
            recipients,
            message_id: row.message_id,
            raw: row.raw,
            delivery: row.delivery,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            sent_at: row.sent_at,
        })
    }
}

fn notices(rows: Vec<NoticeRow>) -> Result<Vec<Notice>, StoreError> {
    rows.into_iter().map(Notice::try_from).collect()
}

impl Store {
    /// Ends execution `id` like [`Store::finish`] and, in the same transaction, stores `notice`
    /// (if any) as a pending notice of that execution, due at `now`.
    ///
    /// Either both are recorded or neither is.
    ///
    /// # Errors
    /// As [`Store::finish`]; also [`StoreError::UniqueViolation`] when the notice's Message-ID
    /// is already stored (then the execution is not ended either).
    pub async fn finish_with_notice(
        &self,
        id: i64,
        status: Status,
        error: Option<&str>,
        now: DateTime<Utc>,
        notice: Option<&NewNotice>,
    ) -> Result<(Execution, Option<Notice>), StoreError> {
        if !status.is_terminal() {
            return Err(StoreError::NotFinal { id, status });
        }
        let recipients = notice
            .map(|n| serde_json::to_string(&n.recipients))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                what: format!("recipients of run #{id}'s notice: {e}"),
            })?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ended = sqlx::query_as::<_, ExecutionRow>(END_LIVE)
                .bind(id)
                .bind(status.as_str())
                .bind(error)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(ended) = rows::execution(ended)? else {
                let current: Option<String> =
                    sqlx::query_scalar("SELECT status FROM executions WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.rollback().await?;
                return Err(match current {
                    None => StoreError::NotFound { id },
                    Some(name) => StoreError::AlreadyFinished {
                        id,
                        status: rows::parse_status(id, &name)?,
                    },
                });
            };
            sqlx::query("DELETE FROM job_leases WHERE execution_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let stored = match (notice, &recipients) {
                (Some(n), Some(recipients)) => {
                    let row = sqlx::query_as::<_, NoticeRow>(concat!(
                        "INSERT INTO notices (execution_id, job, created_at, subject, \
                         recipients, message_id, raw, delivery, attempts, next_attempt_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $3) RETURNING ",
                        notice_columns!()
                    ))
                    .bind(id)
                    .bind(&n.job)
                    .bind(now)
                    .bind(&n.subject)
                    .bind(recipients)
                    .bind(&n.message_id)
                    .bind(&n.raw)
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(Notice::try_from(row)?)
                }
                _ => None,
            };
            tx.commit().await?;
            Ok((ended, stored))
        })
    }

    /// Pending notices due at `now` (`next_attempt_at <= now`), oldest due first, at most
    /// `limit` (0 or less: all).
    ///
    /// # Errors
    /// A database error.
    pub async fn due_notices(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>, StoreError> {
        let limit = if limit > 0 { limit } else { i64::MAX };
        let found: Vec<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                notice_columns!(),
                " FROM notices WHERE delivery = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $2"
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        notices(found)
    }

    /// Records a delivery attempt of notice `id` made at `now` and moves its delivery on:
    /// `ok` → `sent` (with `sent_at`); a `permanent` failure → `failed`; any other failure stays
    /// `pending`, next tried at `next_attempt_at` (`now` when `None`). Returns the notice as it
    /// now stands.
    ///
    /// # Errors
    /// [`StoreError::NoticeNotFound`], or a database error.
    pub async fn record_attempt(
        &self,
        id: i64,
        ok: bool,
        response: &str,
        permanent: bool,
        next_attempt_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Notice, StoreError> {
        let delivery = match (ok, permanent) {
            (true, _) => "sent",
            (false, true) => "failed",
            (false, false) => "pending",
        };
        let next = if delivery == "pending" {
            Some(next_attempt_at.unwrap_or(now))
        } else {
            None
        };
        let sent_at = ok.then_some(now);
        let last_error = (!ok).then_some(response);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query_as::<_, NoticeRow>(concat!(
                "UPDATE notices SET attempts = attempts + 1, delivery = $2, \
                 next_attempt_at = $3, sent_at = COALESCE($4, sent_at), \
                 last_error = COALESCE($5, last_error) WHERE id = $1 RETURNING ",
                notice_columns!()
            ))
            .bind(id)
            .bind(delivery)
            .bind(next)
            .bind(sent_at)
            .bind(last_error)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Err(StoreError::NoticeNotFound { id });
            };
            sqlx::query(
                "INSERT INTO notice_attempts (notice_id, attempt, at, ok, response) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(row.attempts)
            .bind(now)
            .bind(ok)
            .bind(response)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Notice::try_from(row)
        })
    }

    /// Notice `id`.
    ///
    /// # Errors
    /// [`StoreError::NoticeNotFound`], or a database error.
    pub async fn notice(&self, id: i64) -> Result<Notice, StoreError> {
        let found: Option<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", notice_columns!(), " FROM notices WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        found
            .ok_or(StoreError::NoticeNotFound { id })
            .and_then(Notice::try_from)
    }

    /// Notice `id`'s delivery attempts, first first (empty for an unknown notice).
    ///
    /// # Errors
    /// A database error.
    pub async fn notice_attempts(&self, id: i64) -> Result<Vec<NoticeAttempt>, StoreError> {
        let found: Vec<(i32, DateTime<Utc>, bool, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT attempt, at, ok, response FROM notice_attempts WHERE notice_id = $1 \
                 ORDER BY attempt",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(|(attempt, at, ok, response)| NoticeAttempt {
                attempt,
                at,
                ok,
                response,
            })
            .collect())
    }

    /// One page of the notices `filter` selects, newest first, and how many it selects in all.
    ///
    /// # Errors
    /// A database error.
    pub async fn notices(&self, filter: &NoticeFilter) -> Result<(Vec<Notice>, i64), StoreError> {
        let page_size = if filter.page_size > 0 {
            filter.page_size
        } else {
            DEFAULT_NOTICE_PAGE_SIZE
        };
        let offset = filter
            .page
            .max(1)
            .saturating_sub(1)
            .saturating_mul(page_size);
        let status = filter.status.map(Status::as_str);
        let (found, total): (Vec<NoticeRow>, i64) = with_pool!(self, pool => {
            let list_sql = format!(
                "SELECT {} FROM notices {NOTICE_FILTER} \
                 ORDER BY id DESC LIMIT $4 OFFSET $5",
                notice_columns!()
            );
            // Only constant text is spliced in; every value is bound.
            let found = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
                .bind(filter.job.as_deref())
                .bind(status)
                .bind(filter.delivery.as_deref())
                .bind(page_size)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let count_sql = format!(
                "SELECT COUNT(*) FROM notices \
                 {NOTICE_FILTER}"
            );
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
                .bind(filter.job.as_deref())
                .bind(status)
                .bind(filter.delivery.as_deref())
                .fetch_one(pool)
                .await?;
            (found, total)
        });
        Ok((notices(found)?, total))
    }

    /// The notices of execution `id`, oldest first.
    ///
    /// # Errors
    /// A database error.
    pub async fn notices_for_execution(&self, id: i64) -> Result<Vec<Notice>, StoreError> {
        let found: Vec<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                notice_columns!(),
                " FROM notices WHERE execution_id = $1 ORDER BY id"
            ))
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        notices(found)
    }

    /// Puts notice `id` back in the outbox for a resend: `pending`, due at `now`. The
    /// Message-ID and the message stay the same; past attempts are kept.
    ///
    /// # Errors
    /// [`StoreError::NoticeNotFound`], or a database error.
    pub async fn requeue_notice(&self, id: i64, now: DateTime<Utc>) -> Result<Notice, StoreError> {
        let row: Option<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "UPDATE notices SET delivery = 'pending', next_attempt_at = $2 \
                 WHERE id = $1 RETURNING ",
                notice_columns!()
            ))
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NoticeNotFound { id })
            .and_then(Notice::try_from)
    }

    /// Stores `notice` as a pending notice of the already finished execution `id`, due at
    /// `now`: for runs ended outside [`Store::finish_with_notice`] (the abandoned-run reaper).
    ///
    /// # Errors
    /// [`StoreError::UniqueViolation`] for a Message-ID already stored, or a database error.
    pub async fn add_notice(
        &self,
        id: i64,
        notice: &NewNotice,
        now: DateTime<Utc>,
    ) -> Result<Notice, StoreError> {
        let recipients =
            serde_json::to_string(&notice.recipients).map_err(|e| StoreError::Corrupt {
                what: format!("recipients of run #{id}'s notice: {e}"),
            })?;
        let row: NoticeRow = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "INSERT INTO notices (execution_id, job, created_at, subject, \
                 recipients, message_id, raw, delivery, attempts, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $3) RETURNING ",
                notice_columns!()
            ))
            .bind(id)
            .bind(&notice.job)
            .bind(now)
            .bind(&notice.subject)
            .bind(recipients)
            .bind(&notice.message_id)
            .bind(&notice.raw)
            .fetch_one(pool)
            .await?
        });
        Notice::try_from(row)
    }

    /// Takes pending notice `id` for one delivery attempt if it is due at `now`: its next
    /// attempt moves to `until`, so no other sender (another scheduler on the same database)
    /// picks it meanwhile; a sender that dies mid-attempt leaves it to be retried at `until`.
    /// `None` when the notice is not pending, not due, or another sender took it first.
    ///
    /// # Errors
    /// A database error.
    pub async fn claim_notice(
        &self,
        id: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Notice>, StoreError> {
        let row: Option<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "UPDATE notices SET next_attempt_at = $3 \
                 WHERE id = $1 AND delivery = 'pending' AND next_attempt_at <= $2 RETURNING ",
                notice_columns!()
            ))
            .bind(id)
            .bind(now)
            .bind(until)
            .fetch_optional(pool)
            .await?
        });
        row.map(Notice::try_from).transpose()
    }
}
