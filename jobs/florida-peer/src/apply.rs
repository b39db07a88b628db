//! The import's database side, inside the one transaction the job holds: loading each file into
//! its background table, reading the SIS snapshot [`crate::populate`] plans from, and writing
//! the plan. Every write is set-based (bulk loads, then one statement per field), never a
//! statement per row, so a million-row import stays fast on SQLite and PostgreSQL alike.

use crate::fields::{LOG_FIELDS, STUDENT_FIELDS};
use crate::populate::{Enrollment, LogEntry, Plan, Student};
use crate::read::PeerFile;
use chrono::NaiveDate;
use ferry_sis::{SisError, Tx, Value, ValueRef};
use std::collections::BTreeMap;

/// The SIS as it stands, for the school year being imported.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub students: Vec<Student>,
    pub enrollments: Vec<Enrollment>,
    pub log_entries: Vec<LogEntry>,
}

/// Text of a value read from the SIS (dates as ISO, numbers as written).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Real(r) => Some(r.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Date(d) => Some(d.to_string()),
    }
}

fn date(value: &Value) -> Option<NaiveDate> {
    match value {
        Value::Date(d) => Some(*d),
        Value::Text(t) => NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok(),
        _ => None,
    }
}

fn int(value: &Value) -> i64 {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|t| t.trim().parse().ok()))
        .unwrap_or_default()
}

/// Reads students, the year's enrollments and the year's PEER log entries.
///
/// # Errors
/// A database error (e.g. the SIS lacks a table or column the job expects).
pub fn snapshot(tx: &mut Tx<'_>, school_year: i32) -> Result<Snapshot, SisError> {
    let columns: Vec<&str> = STUDENT_FIELDS.iter().map(|f| f.column).collect();
    let students = tx
        .query(
            &format!(
                "SELECT student_id, custom_53, {} FROM students",
                columns.join(", ")
            ),
            &[],
        )?
        .into_iter()
        .map(|row| Student {
            id: int(&row[0]),
            local_id: text(&row[1]),
            values: columns
                .iter()
                .zip(&row[2..])
                .map(|(c, v)| (*c, text(v)))
                .collect(),
        })
        .collect();
    let enrollments = tx
        .query(
            "SELECT id, student_id, school_id, start_date, end_date FROM student_enrollment \
             WHERE syear = ?",
            &[Value::Int(i64::from(school_year))],
        )?
        .into_iter()
        .map(|row| Enrollment {
            id: int(&row[0]),
            student_id: int(&row[1]),
            school_id: text(&row[2]),
            start_date: date(&row[3]),
            end_date: date(&row[4]),
        })
        .collect();
    let ids: Vec<String> = LOG_FIELDS.iter().map(|l| l.field_id.to_string()).collect();
    let log_entries = tx
        .query(
            &format!(
                "SELECT id, student_id, field_id, log_field1, log_field2, log_field3, log_field4, \
                 log_field5, log_field6 FROM custom_field_log_entries \
                 WHERE syear = ? AND field_id IN ({})",
                ids.join(", ")
            ),
            &[Value::Int(i64::from(school_year))],
        )?
        .into_iter()
        .map(|row| LogEntry {
            id: int(&row[0]),
            student_id: int(&row[1]),
            field_id: int(&row[2]),
            values: std::array::from_fn(|i| text(&row[3 + i])),
        })
        .collect();
    Ok(Snapshot {
        students,
        enrollments,
        log_entries,
    })
}

/// Replaces the district's and school year's rows of `file`'s background table with the file's
/// rows; returns how many were loaded.
///
/// # Errors
/// A database error.
pub fn load_table(
    tx: &mut Tx<'_>,
    file: &PeerFile,
    district_id: &str,
    school_year: i32,
) -> Result<u64, SisError> {
    let spec = file.spec;
    tx.execute(
        &format!(
            "DELETE FROM {} WHERE district_id = ? AND syear = ?",
            spec.table
        ),
        &[
            Value::Text(district_id.to_owned()),
            Value::Int(i64::from(school_year)),
        ],
    )?;
    let mut columns = vec!["district_id", "syear"];
    columns.extend_from_slice(spec.columns);
    let district = ValueRef::Text(district_id);
    let year = ValueRef::Int(i64::from(school_year));
    // The file's text is loaded where it is, borrowed: no copy per field. Dates go as the ISO
    // text the reader has already checked and written (both backends store or parse exactly
    // that), rather than through a date value and back to text.
    let rows = file.rows.iter().map(|row| {
        let mut values = Vec::with_capacity(columns.len());
        values.push(district);
        values.push(year);
        values.extend(
            row.values
                .iter()
                .map(|v| v.as_deref().map_or(ValueRef::Null, ValueRef::Text)),
        );
        values
    });
    tx.bulk_insert(spec.table, &columns, rows)
}

/// Rows one write changed, for the run's table stats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    pub rows: u64,
    pub seconds: f64,
}

/// What [`apply`] changed, per student field and per log field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Students updated per imported field (`custom_873`), in the mapping's order.
    pub fields: Vec<(&'static str, Written)>,
    /// Log field id → (inserted, deleted).
    pub logs: BTreeMap<i64, (Written, Written)>,
}

/// Writes `plan` to the SIS.
///
/// # Errors
/// A database error.
pub fn apply(tx: &mut Tx<'_>, plan: &Plan, school_year: i32) -> Result<Applied, SisError> {
    let mut applied = Applied::default();
    for field in STUDENT_FIELDS {
        let Some(updates) = plan.field_updates.get(field.column) else {
            continue;
        };
        let started = std::time::Instant::now();
        let rows = update_field(tx, field.column, field.is_date, updates)?;
        applied.fields.push((
            field.column,
            Written {
                rows,
                seconds: started.elapsed().as_secs_f64(),
            },
        ));
    }
    for log in LOG_FIELDS {
        let (Some(inserts), Some(deletes)) = (
            plan.log_inserts.get(&log.field_id),
            plan.log_deletes.get(&log.field_id),
        ) else {
            continue;
        };
        let started = std::time::Instant::now();
        let deleted = delete_entries(tx, deletes)?;
        let delete_seconds = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let year = Value::Int(i64::from(school_year));
        let field_id = Value::Int(log.field_id);
        let inserted = tx.bulk_insert(
            "custom_field_log_entries",
            &[
                "student_id",
                "field_id",
                "syear",
                "log_field1",
                "log_field2",
                "log_field3",
                "log_field4",
                "log_field5",
                "log_field6",
            ],
            inserts.iter().map(|(student, values)| {
                let mut row = vec![Value::Int(*student), field_id.clone(), year.clone()];
                row.extend(
                    values
                        .iter()
                        .map(|v| v.clone().map_or(Value::Null, Value::Text)),
                );
                row
            }),
        )?;
        applied.logs.insert(
            log.field_id,
            (
                Written {
                    rows: inserted,
                    seconds: started.elapsed().as_secs_f64(),
                },
                Written {
                    rows: deleted,
                    seconds: delete_seconds,
                },
            ),
        );
    }
    Ok(applied)
}

/// Sets `column` of each listed student through a temporary table: one bulk load, one UPDATE.
fn update_field(
    tx: &mut Tx<'_>,
    column: &str,
    is_date: bool,
    updates: &[(i64, Option<String>)],
) -> Result<u64, SisError> {
    if updates.is_empty() {
        return Ok(0);
    }
    let kind = if is_date { "DATE" } else { "TEXT" };
    tx.batch(&format!(
        "DROP TABLE IF EXISTS peer_field_update; \
         CREATE TEMPORARY TABLE peer_field_update (student_id BIGINT PRIMARY KEY, value {kind})"
    ))?;
    tx.bulk_insert(
        "peer_field_update",
        &["student_id", "value"],
        updates.iter().map(|(student, value)| {
            let value = match value {
                None => Value::Null,
                Some(v) if is_date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_or_else(|_| Value::Text(v.clone()), Value::Date),
                Some(v) => Value::Text(v.clone()),
            };
            [Value::Int(*student), value]
        }),
    )?;
    let changed = tx.execute(
        &format!(
            "UPDATE students SET {column} = (SELECT u.value FROM peer_field_update u \
             WHERE u.student_id = students.student_id) \
             WHERE student_id IN (SELECT student_id FROM peer_field_update)"
        ),
        &[],
    )?;
    tx.batch("DROP TABLE peer_field_update")?;
    Ok(changed)
}

/// Deletes log entries by id through a temporary table.
fn delete_entries(tx: &mut Tx<'_>, ids: &[i64]) -> Result<u64, SisError> {
    if ids.is_empty() {
        return Ok(0);
    }
    tx.batch(
        "DROP TABLE IF EXISTS peer_log_delete; \
         CREATE TEMPORARY TABLE peer_log_delete (id BIGINT PRIMARY KEY)",
    )?;
    tx.bulk_insert(
        "peer_log_delete",
        &["id"],
        ids.iter().map(|id| [Value::Int(*id)]),
    )?;
    let deleted = tx.execute(
        "DELETE FROM custom_field_log_entries WHERE id IN (SELECT id FROM peer_log_delete)",
        &[],
    )?;
    tx.batch("DROP TABLE peer_log_delete")?;
    Ok(deleted)
}
