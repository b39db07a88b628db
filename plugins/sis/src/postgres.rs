//! The PostgreSQL side: sqlx's `PgConnection` driven by a private current-thread tokio runtime,
//! so job plugins (synchronous) never see async code or share a runtime with anyone.
//!
//! Speed: bulk loads go through `COPY ... FROM STDIN` in text format, streamed in ~1 MiB chunks
//! (as fast as `psql \copy`); anything row by row is 50–60 times slower.
//!
//! Binding: each [`Value`] binds with its own type (int8, float8, text, date; NULL as
//! "unspecified", so the server infers it from the column). sqlx caches prepared statements by
//! their text, and a statement's parameter types are fixed when it is prepared, so the text sent
//! starts with a comment naming the parameters' kinds: the same SQL bound with other kinds gets
//! its own prepared statement instead of misreading the bytes.

use crate::sql::{checked_name, excerpt, numbered_placeholders};
use crate::{AsValueRef, SisError, Value, ValueRef as Borrowed};
use chrono::Datelike;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgConnectOptions, PgConnection, PgRow, PgTypeInfo, PgTypeKind, PgValueFormat,
    PgValueRef, Postgres,
};
use sqlx::{
    AssertSqlSafe, Column, ConnectOptions, Connection, Decode, Encode, Row, Type, TypeInfo,
    ValueRef,
};
use std::str::FromStr;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How long connecting may take before it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long closing the connection may take when the `Sis` is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// COPY data is sent whenever this much has been encoded.
const COPY_CHUNK: usize = 1 << 20;

/// A connection and the runtime that drives it.
#[derive(Debug)]
pub(crate) struct PgDb {
    rt: Runtime,
    /// Taken only when the `PgDb` is dropped, to close it politely.
    conn: Option<PgConnection>,
}

impl PgDb {
    /// Connects to `url`, with `password` set on the options (never spliced into the URL).
    /// `masked` is the URL as errors may show it.
    pub(crate) fn connect(
        url: &str,
        password: Option<&str>,
        masked: &str,
    ) -> Result<PgDb, SisError> {
        let scrub = |text: String| match password {
            Some(p) if !p.is_empty() => text.replace(p, "***"),
            _ => text,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SisError::Runtime(e.to_string()))?;
        let mut options = PgConnectOptions::from_str(url).map_err(|e| SisError::Url {
            url: masked.to_owned(),
            reason: scrub(e.to_string()),
        })?;
        if let Some(password) = password {
            options = options.password(password);
        }
        if options.get_application_name().is_none() {
            options = options.application_name("ferry-sis");
        }
        let options = options.disable_statement_logging();
        let connect_error = |detail: String| SisError::Connect {
            target: masked.to_owned(),
            detail: scrub(detail),
        };
        let conn = rt
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await })
            .map_err(|_| {
                connect_error(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))
            })?
            .map_err(|e| connect_error(error_text(&e)))?;
        let mut conn = conn;
        // A plugin's worker can be killed mid-transaction (timeout, shutdown). A backend waiting
        // on a lock would not notice its client is gone and would keep every lock the import
        // took; with this check (PostgreSQL 14 and later; older servers refuse the setting,
        // which is harmless) it aborts and rolls back within seconds.
        let _ = rt.block_on(
            sqlx::raw_sql("SET client_connection_check_interval = '2s'").execute(&mut conn),
        );
        Ok(PgDb {
            rt,
            conn: Some(conn),
        })
    }

    /// The runtime and the connection (present until the `PgDb` is closed or dropped).
    fn parts(&mut self) -> Result<(&Runtime, &mut PgConnection), SisError> {
        match self.conn.as_mut() {
            Some(conn) => Ok((&self.rt, conn)),
            None => Err(SisError::Runtime("the connection is closed".to_owned())),
        }
    }

    /// Closes the connection politely (a Terminate message, so the server logs nothing).
    pub(crate) fn close(&mut self) -> Result<(), SisError> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        // The timer must be made inside the runtime, hence the async block.
        let closing = async { tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await };
        match self.rt.block_on(closing) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SisError::Sql {
                sql: "(closing the connection)".to_owned(),
                detail: error_text(&e),
            }),
            Err(_) => Err(SisError::Sql {
                sql: "(closing the connection)".to_owned(),
                detail: format!("no answer within {} s", CLOSE_TIMEOUT.as_secs()),
            }),
        }
    }

    /// Runs statements through the simple-query protocol (no parameters; several allowed).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), SisError> {
        let (rt, conn) = self.parts()?;
        rt.block_on(sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn))
            .map(drop)
            .map_err(sql_error(sql))
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, SisError> {
        let text = typed_sql(sql, params);
        let (rt, conn) = self.parts()?;
        let mut query = sqlx::query(AssertSqlSafe(text));
        for value in params {
            query = query.bind(Param(value));
        }
        rt.block_on(query.execute(conn))
            .map(|done| done.rows_affected())
            .map_err(sql_error(sql))
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, SisError> {
        let text = typed_sql(sql, params);
        let (rt, conn) = self.parts()?;
        let mut query = sqlx::query(AssertSqlSafe(text));
        for value in params {
            query = query.bind(Param(value));
        }
        let rows = rt.block_on(query.fetch_all(conn)).map_err(sql_error(sql))?;
        rows.iter().map(|row| read_row(row, sql)).collect()
    }

    /// `COPY table (columns) FROM STDIN`, text format, streamed in chunks.
    pub(crate) fn bulk_insert<R: AsRef<[V]>, V: AsValueRef>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, SisError> {
        let statement = copy_sql(table, columns)?;
        let load_error = |e: sqlx::Error| SisError::BulkLoad {
            table: table.to_owned(),
            detail: error_text(&e),
        };
        let (rt, conn) = self.parts()?;
        rt.block_on(async {
            let mut copy = conn.copy_in_raw(&statement).await.map_err(load_error)?;
            let mut buf = Vec::with_capacity(COPY_CHUNK + (64 << 10));
            for (index, row) in rows.into_iter().enumerate() {
                let row = row.as_ref();
                if row.len() != columns.len() {
                    // The reason goes to the server's log; ours is the error returned.
                    let _ = copy
                        .abort("ferry-sis: a row had the wrong number of values")
                        .await;
                    return Err(SisError::RowWidth {
                        table: table.to_owned(),
                        row: index as u64 + 1,
                        expected: columns.len(),
                        found: row.len(),
                    });
                }
                encode_copy_row(&mut buf, row);
                if buf.len() >= COPY_CHUNK {
                    copy.send(buf.as_slice()).await.map_err(load_error)?;
                    buf.clear();
                }
            }
            if !buf.is_empty() {
                copy.send(buf.as_slice()).await.map_err(load_error)?;
            }
            copy.finish().await.map_err(load_error)
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Best effort: nobody is left to hear about a failure here.
        let _ = self.close();
    }
}

fn sql_error(sql: &str) -> impl Fn(sqlx::Error) -> SisError + '_ {
    move |e| SisError::Sql {
        sql: excerpt(sql),
        detail: error_text(&e),
    }
}

/// A driver error as text, with PostgreSQL's detail, context and code when there are any (the
/// context of a COPY error names the line and column of the bad data).
fn error_text(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else {
        return e.to_string();
    };
    let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() else {
        return db.message().to_owned();
    };
    let mut text = pg.message().to_owned();
    if let Some(detail) = pg.detail() {
        text.push_str(&format!(" ({detail})"));
    }
    if let Some(context) = pg.r#where() {
        text.push_str(&format!(" [{context}]"));
    }
    text.push_str(&format!(" [SQLSTATE {}]", pg.code()));
    text
}

/// The statement as sent: placeholders numbered, prefixed by the parameters' kinds (see the
/// module doc for why).
fn typed_sql(sql: &str, params: &[Value]) -> String {
    let sql = numbered_placeholders(sql);
    if params.is_empty() {
        return sql.into_owned();
    }
    let kinds: String = params
        .iter()
        .map(|v| match v {
            Value::Null => 'N',
            Value::Int(_) => 'I',
            Value::Real(_) => 'R',
            Value::Text(_) => 'T',
            Value::Date(_) => 'D',
        })
        .collect();
    format!("/* ferry-sis {kinds} */ {sql}")
}

/// Binds a [`Value`] with the PostgreSQL type of its kind.
struct Param<'a>(&'a Value);

impl Type<Postgres> for Param<'_> {
    fn type_info() -> PgTypeInfo {
        unspecified()
    }
}

/// OID 0: the server infers the parameter's type from where it is used.
fn unspecified() -> PgTypeInfo {
    PgTypeInfo::with_oid(Oid(0))
}

impl Encode<'_, Postgres> for Param<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => <i64 as Encode<'_, Postgres>>::encode_by_ref(v, buf),
            Value::Real(v) => <f64 as Encode<'_, Postgres>>::encode_by_ref(v, buf),
            Value::Text(v) => <&str as Encode<'_, Postgres>>::encode_by_ref(&v.as_str(), buf),
            Value::Date(v) => <chrono::NaiveDate as Encode<'_, Postgres>>::encode_by_ref(v, buf),
        }
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(match self.0 {
            Value::Null => unspecified(),
            Value::Int(_) => <i64 as Type<Postgres>>::type_info(),
            Value::Real(_) => <f64 as Type<Postgres>>::type_info(),
            Value::Text(_) => <&str as Type<Postgres>>::type_info(),
            Value::Date(_) => <chrono::NaiveDate as Type<Postgres>>::type_info(),
        })
    }
}

/// Reads one result row into [`Value`]s.
fn read_row(row: &PgRow, sql: &str) -> Result<Vec<Value>, SisError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(sql_error(sql))?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let info = raw.type_info().into_owned();
        let base = match info.kind() {
            PgTypeKind::Domain(base) => base.clone(),
            _ => info,
        };
        let read_error = |e: BoxDynError| SisError::Sql {
            sql: excerpt(sql),
            detail: format!("cannot read column {}: {e}", column.name()),
        };
        let value = match base.name() {
            "INT2" => Value::Int(i64::from(decode::<i16>(raw).map_err(read_error)?)),
            "INT4" => Value::Int(i64::from(decode::<i32>(raw).map_err(read_error)?)),
            "INT8" => Value::Int(decode::<i64>(raw).map_err(read_error)?),
            "BOOL" => Value::Int(i64::from(decode::<bool>(raw).map_err(read_error)?)),
            "FLOAT4" => Value::Real(f64::from(decode::<f32>(raw).map_err(read_error)?)),
            "FLOAT8" => Value::Real(decode::<f64>(raw).map_err(read_error)?),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "UNKNOWN" | "CITEXT" => {
                Value::Text(raw.as_str().map_err(read_error)?.to_owned())
            }
            "DATE" => Value::Date(decode::<chrono::NaiveDate>(raw).map_err(read_error)?),
            "TIMESTAMP" => Value::Text(
                decode::<chrono::NaiveDateTime>(raw)
                    .map_err(read_error)?
                    .format("%Y-%m-%d %H:%M:%S%.f")
                    .to_string(),
            ),
            "NUMERIC" => Value::Text(match raw.format() {
                PgValueFormat::Text => raw.as_str().map_err(read_error)?.to_owned(),
                PgValueFormat::Binary => numeric_text(raw.as_bytes().map_err(read_error)?)
                    .ok_or_else(|| read_error("malformed numeric value".into()))?,
            }),
            other => {
                return Err(SisError::UnsupportedColumn {
                    column: column.name().to_owned(),
                    type_name: other.to_lowercase(),
                });
            }
        };
        values.push(value);
    }
    Ok(values)
}

fn decode<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> Result<T, BoxDynError> {
    T::decode(raw)
}

/// The text of a `numeric` in PostgreSQL's binary format (base-10000 digits), exactly as
/// PostgreSQL prints it: `-12.50`, `0.001`, `NaN`, `Infinity`.
fn numeric_text(bytes: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    let digits = (0..ndigits)
        .map(|k| word(8 + 2 * k))
        .collect::<Option<Vec<u16>>>()?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Some("NaN".to_owned()),
        0xD000 => return Some("Infinity".to_owned()),
        0xF000 => return Some("-Infinity".to_owned()),
        _ => return None,
    }
    let digit = |pos: i64| -> u16 {
        usize::try_from(pos)
            .ok()
            .and_then(|p| digits.get(p).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for pos in 1..=weight {
            text.push_str(&format!("{:04}", digit(pos)));
        }
    }
    if dscale > 0 {
        let mut fraction = String::with_capacity(dscale + 4);
        let mut pos = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(pos)));
            pos += 1;
        }
        fraction.truncate(dscale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

fn copy_sql(table: &str, columns: &[&str]) -> Result<String, SisError> {
    let table = checked_name(table)?;
    if columns.is_empty() {
        return Err(SisError::BulkLoad {
            table: table.to_owned(),
            detail: "no columns named".to_owned(),
        });
    }
    let names = columns
        .iter()
        .map(|c| checked_name(c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("COPY {table} ({}) FROM STDIN", names.join(", ")))
}

/// Appends one row in COPY text format: tab-separated, `\N` for NULL (so an empty string stays
/// an empty string), backslash escapes for backslash, tab, newline and carriage return.
fn encode_copy_row<V: AsValueRef>(buf: &mut Vec<u8>, row: &[V]) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        match value.as_value_ref() {
            Borrowed::Null => buf.extend_from_slice(b"\\N"),
            Borrowed::Int(v) => push_int(buf, v),
            Borrowed::Real(v) => {
                if v.is_nan() {
                    buf.extend_from_slice(b"NaN");
                } else if v.is_infinite() {
                    buf.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
                } else {
                    // Rust prints the shortest text that reads back as the same f64.
                    buf.extend_from_slice(v.to_string().as_bytes());
                }
            }
            Borrowed::Text(v) => push_escaped(buf, v.as_bytes()),
            Borrowed::Date(d) => {
                push_padded(buf, i64::from(d.year()), 4);
                buf.push(b'-');
                push_padded(buf, i64::from(d.month()), 2);
                buf.push(b'-');
                push_padded(buf, i64::from(d.day()), 2);
            }
        }
    }
    buf.push(b'\n');
}

fn push_escaped(buf: &mut Vec<u8>, text: &[u8]) {
    if !text
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(text);
        return;
    }
    for &b in text {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Decimal digits of an integer without going through `fmt` (a load writes millions of them).
fn push_int(buf: &mut Vec<u8>, v: i64) {
    push_padded(buf, v, 1);
}

fn push_padded(buf: &mut Vec<u8>, v: i64, width: usize) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    for _ in len..width {
        buf.push(b'0');
    }
    buf.extend(digits[..len].iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn encoded(row: &[Value]) -> String {
        let mut buf = Vec::new();
        encode_copy_row(&mut buf, row);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn copy_text_keeps_null_and_empty_apart_and_escapes() {
        assert_eq!(
            encoded(&[
                Value::Null,
                Value::Text(String::new()),
                Value::Text("a\\b\tc\nd\re,\"f'".into()),
                Value::Text("\\N".into()),
            ]),
            "\\N\t\ta\\\\b\\tc\\nd\\re,\"f'\t\\\\N\n"
        );
    }

    #[test]
    fn copy_text_numbers_and_dates() {
        let d = NaiveDate::from_ymd_opt(987, 3, 4).unwrap();
        assert_eq!(
            encoded(&[
                Value::Int(0),
                Value::Int(-42),
                Value::Int(i64::MIN),
                Value::Int(i64::MAX),
                Value::Real(0.1),
                Value::Real(f64::NEG_INFINITY),
                Value::Date(d),
            ]),
            "0\t-42\t-9223372036854775808\t9223372036854775807\t0.1\t-Infinity\t0987-03-04\n"
        );
    }

    #[test]
    fn typed_sql_names_kinds_and_numbers_placeholders() {
        assert_eq!(
            typed_sql(
                "UPDATE t SET a = ? WHERE b = '?' AND c = ?",
                &[Value::Null, Value::Int(1)]
            ),
            "/* ferry-sis NI */ UPDATE t SET a = $1 WHERE b = '?' AND c = $2"
        );
        assert_eq!(typed_sql("SELECT 1", &[]), "SELECT 1");
    }

    #[test]
    fn numeric_binary_to_text() {
        // ndigits, weight, sign, dscale, digits...
        let enc = |words: &[u16]| {
            words
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect::<Vec<u8>>()
        };
        assert_eq!(
            numeric_text(&enc(&[2, 0, 0x4000, 2, 12, 5000])).unwrap(),
            "-12.50"
        );
        assert_eq!(numeric_text(&enc(&[1, 0xFFFF, 0, 3, 10])).unwrap(), "0.001");
        assert_eq!(numeric_text(&enc(&[0, 0, 0, 0])).unwrap(), "0");
        assert_eq!(numeric_text(&enc(&[1, 1, 0, 0, 1])).unwrap(), "10000");
        assert_eq!(numeric_text(&enc(&[0, 0, 0xC000, 0])).unwrap(), "NaN");
        assert!(numeric_text(&[0, 1]).is_none());
    }
}
