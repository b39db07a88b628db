//! The problems a run reported about its input (`run_problems`): rejected rows and bad values,
//! each naming file, line, field and value, for the run's result notice.
//!
//! A single import can reject thousands of rows, so problems are written in multi-row inserts
//! inside one transaction (one statement per row through sqlx costs 30 to 65 times more; see
//! /work/shared/notes/limits.md), and read back either in order or counted per category.
//! They are deleted with their execution (`ON DELETE CASCADE`), so retention needs no step of
//! its own.

use super::dialect::Dialect;
use super::history::limit_or_all;
use super::model::{ProblemCount, ProblemRecord};
use super::records::multi_row_insert;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// Problems per `INSERT`: 10 binds each, 10,000 per statement, well below SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters; past a few hundred rows a bigger statement saves little.
const PROBLEMS_PER_INSERT: usize = 1_000;

impl Store {
    /// Appends `problems` to execution `id`, in multi-row inserts within one transaction: either
    /// all of them are stored or none.
    ///
    /// # Errors
    /// [`StoreError::UniqueViolation`] when a `seq` is already stored for this execution,
    /// [`StoreError::ForeignKeyViolation`] when the execution does not exist,
    /// [`StoreError::ConstraintViolation`] for a severity other than `warning` or `error`, a
    /// `seq` below 1 or a negative line, or a database error.
    pub async fn append_problems(
        &self,
        id: i64,
        problems: &[ProblemRecord],
    ) -> Result<(), StoreError> {
        if problems.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for chunk in problems.chunks(PROBLEMS_PER_INSERT) {
                let sql = multi_row_insert(
                    "INSERT INTO run_problems (execution_id, seq, at, severity, category, file, \
                     line, field, value, message) VALUES ",
                    10,
                    chunk.len(),
                );
                // The statement text holds only placeholders; every value is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for problem in chunk {
                    query = query
                        .bind(id)
                        .bind(problem.seq)
                        .bind(problem.at)
                        .bind(&problem.severity)
                        .bind(&problem.category)
                        .bind(&problem.file)
                        .bind(problem.line)
                        .bind(&problem.field)
                        .bind(&problem.value)
                        .bind(&problem.message);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Execution `id`'s problems in the order they were reported, the first `limit` of them
    /// (all when `limit <= 0`).
    ///
    /// # Errors
    /// A database error.
    pub async fn problems(&self, id: i64, limit: i64) -> Result<Vec<ProblemRecord>, StoreError> {
        type Row = (
            i64,
            DateTime<Utc>,
            String,
            String,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
            String,
        );
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT seq, at, severity, category, file, line, field, value, message \
                 FROM run_problems WHERE execution_id = $1 ORDER BY seq LIMIT $2",
            )
            .bind(id)
            .bind(limit_or_all(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(
                |(seq, at, severity, category, file, line, field, value, message)| ProblemRecord {
                    seq,
                    at,
                    severity,
                    category,
                    file,
                    line,
                    field,
                    value,
                    message,
                },
            )
            .collect())
    }

    /// How many problems execution `id` reported per severity and category, the largest group
    /// first (ties by category, then `error` before `warning`). Empty when it reported none.
    ///
    /// # Errors
    /// A database error.
    pub async fn problem_counts(&self, id: i64) -> Result<Vec<ProblemCount>, StoreError> {
        type Row = (String, String, i64);
        let found: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT severity, category, COUNT(*) AS n FROM run_problems \
                 WHERE execution_id = $1 GROUP BY severity, category \
                 ORDER BY n DESC, category, severity",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(found
            .into_iter()
            .map(|(severity, category, count)| ProblemCount {
                severity,
                category,
                count,
            })
            .collect())
    }
}
