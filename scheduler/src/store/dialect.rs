//! What differs between SQLite and PostgreSQL, and nothing else.
//!
//! Everything the store does is written once (see `with_pool!`); this file holds the few
//! places where the two backends genuinely need different SQL or handling:
//! - how a writing transaction begins (SQLite must take its write lock up front);
//! - the bulk generator behind [`super::Store::generate_synthetic_history`]
//!   (`WITH RECURSIVE` vs `generate_series`);
//! - which native error codes mean "busy, try again".

use sqlx::error::DatabaseError;
use sqlx::postgres::{PgPool, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{Database, Transaction};
use std::future::Future;

/// Per-backend behaviour of a pool.
pub(super) trait Dialect {
    /// The sqlx database type of the pool.
    type Db: Database;

    /// Begins a transaction that will write.
    ///
    /// SQLite starts it with `BEGIN IMMEDIATE`, taking the database's write lock before the first
    /// read: a deferred transaction that reads and then writes fails with `SQLITE_BUSY` at once,
    /// without waiting for the busy timeout, when another connection wrote in between.
    /// PostgreSQL uses a plain `BEGIN` (READ COMMITTED); row locks and unique indexes serialize
    /// the writers there.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// One `INSERT ... SELECT` adding `$2` finished executions of job `$1`: one fire per minute,
    /// the newest a minute before the Unix time `$3`, each ended within 45 s of its fire. Fires
    /// already recorded for the job are skipped. Binds: `$1` job (text), `$2` count (int8),
    /// `$3` now as Unix seconds (int8).
    fn synthetic_history_sql(&self) -> &'static str;
}

impl Dialect for SqlitePool {
    type Db = Sqlite;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }

    fn synthetic_history_sql(&self) -> &'static str {
        // `WHERE true` keeps SQLite from reading `ON CONFLICT` as part of the SELECT's join.
        // Times are written in the same text encoding sqlx uses for whole-second DateTime<Utc>
        // values, so they compare and decode like any other row.
        concat!(
            "INSERT INTO executions (job, trigger, requested_by, host, scheduled_for, queued_at, ",
            "started_at, entered_at, finished_at, status, attempt, error, params, plugin, ",
            "plugin_version) ",
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2), ",
            "fire(i, t) AS (SELECT i, $3 - ($2 - i + 1) * 60 FROM seq) ",
            "SELECT $1, 'schedule', 'scheduler', 'synthetic', ",
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', t, 'unixepoch'), ",
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', t, 'unixepoch'), ",
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', t + 1, 'unixepoch'), ",
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', t + 2, 'unixepoch'), ",
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', t + 3 + i % 40, 'unixepoch'), ",
            "CASE WHEN i % 53 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'warning' ",
            "ELSE 'succeeded' END, ",
            "1, CASE WHEN i % 53 = 0 THEN 'synthetic failure' END, '{}', 'synthetic', '1.0.0' ",
            "FROM fire WHERE true ON CONFLICT DO NOTHING"
        )
    }
}

impl Dialect for PgPool {
    type Db = Postgres;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }

    fn synthetic_history_sql(&self) -> &'static str {
        // An anti-join rather than `ON CONFLICT DO NOTHING`: speculative insertion made a
        // million-row run about 40% slower here (20 s against 14 s).
        concat!(
            "INSERT INTO executions (job, trigger, requested_by, host, scheduled_for, queued_at, ",
            "started_at, entered_at, finished_at, status, attempt, error, params, plugin, ",
            "plugin_version) ",
            "SELECT $1, 'schedule', 'scheduler', 'synthetic', ",
            "to_timestamp(t), to_timestamp(t), to_timestamp(t + 1), to_timestamp(t + 2), ",
            "to_timestamp(t + 3 + i % 40), ",
            "CASE WHEN i % 53 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'warning' ",
            "ELSE 'succeeded' END, ",
            "1, CASE WHEN i % 53 = 0 THEN 'synthetic failure' END, '{}', 'synthetic', '1.0.0' ",
            "FROM generate_series(1::int8, $2::int8) AS g(i), ",
            "LATERAL (SELECT ($3::int8 - ($2::int8 - i + 1) * 60)::float8 AS t) AS fire ",
            "WHERE NOT EXISTS (SELECT 1 FROM executions e ",
            "WHERE e.job = $1 AND e.scheduled_for = to_timestamp(t) AND e.attempt = 1)"
        )
    }
}

/// True when a database error means "locked by someone else, try again later".
///
/// SQLite reports extended result codes (`SQLITE_BUSY` = 5 and `SQLITE_LOCKED` = 6 in the low
/// byte); PostgreSQL reports SQLSTATEs (serialization failure, deadlock, lock not available).
/// The two code spaces do not overlap, so one function serves both.
pub(super) fn is_busy(error: &dyn DatabaseError) -> bool {
    let Some(code) = error.code() else {
        return false;
    };
    if let Ok(sqlite_code) = code.parse::<i32>() {
        return matches!(sqlite_code & 0xff, 5 | 6);
    }
    matches!(code.as_ref(), "40001" | "40P01" | "55P03")
}
