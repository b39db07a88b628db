//! What hangs off an execution: its log lines (`execution_logs`), rows and seconds per table
//! (`table_stats`) and the files it produced (`execution_files`).
//!
//! All three are deleted with their execution (`ON DELETE CASCADE`). Log lines carry the
//! sequence number the caller assigned; table stats and files keep their insertion order in a
//! `position` column.

use super::history::limit_or_all;
use super::model::{FileRecord, LogLine, TableStat};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// Log lines per `INSERT`: 5 binds each stays far below both drivers' parameter limits while
/// saving almost all per-statement overhead (see /work/shared/notes/limits.md).
const LOG_LINES_PER_INSERT: usize = 500;

impl Store {
    /// Appends `lines` to execution `id`'s log, in multi-row inserts.
    ///
    /// # Errors
    /// [`StoreError::UniqueViolation`] when a `seq` is already stored for this execution,
    /// [`StoreError::ForeignKeyViolation`] when the execution does not exist, or a database
    /// error. A failed call stores none of the lines of its batch.
    pub async fn append_logs(&self, id: i64, lines: &[LogLine]) -> Result<(), StoreError> {
        for chunk in lines.chunks(LOG_LINES_PER_INSERT) {
            let sql = multi_row_insert(
                "INSERT INTO execution_logs (execution_id, seq, ts, level, message) VALUES ",
                5,
                chunk.len(),
            );
            with_pool!(self, pool => {
                // The statement text holds only placeholders; every value is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for line in chunk {
                    query = query
                        .bind(id)
                        .bind(line.seq)
                        .bind(line.ts)
                        .bind(&line.level)
                        .bind(&line.message);
                }
                query.execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Adds one table's rows and seconds to execution `id`, after those already recorded.
    ///
    /// # Errors
    /// [`StoreError::ConstraintViolation`] for an unknown action,
    /// [`StoreError::ForeignKeyViolation`] when the execution does not exist, or a database
    /// error.
    pub async fn add_table_stat(&self, id: i64, stat: &TableStat) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO table_stats \
                 (execution_id, position, table_name, rows, seconds, action) \
                 SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3, $4, $5 \
                 FROM table_stats WHERE execution_id = $1",
            )
            .bind(id)
            .bind(&stat.table)
            .bind(stat.rows)
            .bind(stat.seconds)
            .bind(&stat.action)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a file execution `id` produced, after those already recorded.
    ///
    /// # Errors
    /// [`StoreError::ForeignKeyViolation`] when the execution does not exist, or a database
    /// error.
    pub async fn add_file(&self, id: i64, file: &FileRecord) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO execution_files (execution_id, position, path, kind, recorded_at) \
                 SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3, $4 \
                 FROM execution_files WHERE execution_id = $1",
            )
            .bind(id)
            .bind(&file.path)
            .bind(&file.kind)
            .bind(file.recorded_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Execution `id`'s log lines with `seq` greater than `after_seq` (all when `None`), in `seq`
    /// order, at most `limit` of them (all when `limit <= 0`). `ferry logs -f` pages with the
    /// last `seq` it printed.
    ///
    /// # Errors
    /// A database error.
    pub async fn logs(
        &self,
        id: i64,
        after_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<LogLine>, StoreError> {
        type Row = (i64, DateTime<Utc>, String, String);
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT seq, ts, level, message FROM execution_logs \
                 WHERE execution_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(id)
            .bind(after_seq.unwrap_or(i64::MIN))
            .bind(limit_or_all(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(|(seq, ts, level, message)| LogLine {
                seq,
                ts,
                level,
                message,
            })
            .collect())
    }

    /// Execution `id`'s table stats in the order they were recorded.
    ///
    /// # Errors
    /// A database error.
    pub async fn tables(&self, id: i64) -> Result<Vec<TableStat>, StoreError> {
        type Row = (String, i64, f64, String);
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT table_name, rows, seconds, action FROM table_stats \
                 WHERE execution_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(|(table, rows, seconds, action)| TableStat {
                table,
                rows,
                seconds,
                action,
            })
            .collect())
    }

    /// The files execution `id` produced, in the order they were recorded.
    ///
    /// # Errors
    /// A database error.
    pub async fn files(&self, id: i64) -> Result<Vec<FileRecord>, StoreError> {
        type Row = (String, String, DateTime<Utc>);
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT path, kind, recorded_at FROM execution_files \
                 WHERE execution_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(|(path, kind, recorded_at)| FileRecord {
                path,
                kind,
                recorded_at,
            })
            .collect())
    }
}

/// `prefix` followed by `rows` tuples of `columns` consecutive placeholders:
/// `($1, $2), ($3, $4)`.
pub(super) fn multi_row_insert(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(sql, "${}", row * columns + column + 1);
        }
        sql.push(')');
    }
    sql
}
