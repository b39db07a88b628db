//! Buffered writers for the CSV files and the SQL fixture.
//!
//! Both build one row at a time in a reused buffer and hand whole rows to a `BufWriter`, so a
//! million rows cost no allocation beyond formatting, and a row can be written twice (the
//! duplicate-row edge case) without being generated twice.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};

/// How one student's dates are written: FLDOE mostly writes M/D/YYYY; some extracts have
/// zero-padded MM/DD/YYYY or ISO dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateStyle {
    Us,
    UsPadded,
    Iso,
}

/// One CSV file being written.
pub(crate) struct CsvOut {
    w: BufWriter<File>,
    row: Vec<u8>,
    first: bool,
    crlf: bool,
    quote_all: bool,
    pub(crate) rows: usize,
    /// Set when a field with a comma (or a quote) was written since the last `take_flags`.
    saw_comma: bool,
    saw_quote: bool,
}

impl CsvOut {
    pub(crate) fn create(
        path: &Path,
        header: &[&str],
        bom: bool,
        crlf: bool,
        quote_all: bool,
    ) -> io::Result<CsvOut> {
        let mut out = CsvOut {
            w: BufWriter::with_capacity(256 * 1024, File::create(path)?),
            row: Vec::with_capacity(512),
            first: true,
            crlf,
            quote_all,
            rows: 0,
            saw_comma: false,
            saw_quote: false,
        };
        if bom {
            out.w.write_all(b"\xEF\xBB\xBF")?;
        }
        for column in header {
            out.t(column);
        }
        out.finish_row(1)?;
        out.rows = 0;
        Ok(out)
    }

    fn sep(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.row.push(b',');
        }
    }

    /// A text field, quoted (RFC 4180) when it needs it or when the file quotes everything.
    pub(crate) fn t(&mut self, value: &str) -> &mut Self {
        self.sep();
        let comma = value.contains(',');
        let quote = value.contains('"');
        let needs = comma || quote || value.contains('\n') || value.contains('\r');
        self.saw_comma |= comma;
        self.saw_quote |= quote;
        if needs || self.quote_all {
            self.row.push(b'"');
            if quote {
                for byte in value.bytes() {
                    if byte == b'"' {
                        self.row.push(b'"');
                    }
                    self.row.push(byte);
                }
            } else {
                self.row.extend_from_slice(value.as_bytes());
            }
            self.row.push(b'"');
        } else {
            self.row.extend_from_slice(value.as_bytes());
        }
        self
    }

    /// A date field in the given style; `None` is a blank field.
    pub(crate) fn d(&mut self, date: Option<NaiveDate>, style: DateStyle) -> &mut Self {
        self.sep();
        if self.quote_all {
            self.row.push(b'"');
        }
        if let Some(d) = date {
            // Writing into a Vec cannot fail.
            let _ = match style {
                DateStyle::Us => write!(self.row, "{}/{}/{}", d.month(), d.day(), d.year()),
                DateStyle::UsPadded => {
                    write!(self.row, "{:02}/{:02}/{}", d.month(), d.day(), d.year())
                }
                DateStyle::Iso => {
                    write!(self.row, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
                }
            };
        }
        if self.quote_all {
            self.row.push(b'"');
        }
        self
    }

    /// Ends the row, writing it `times` times (2 for a duplicated row).
    pub(crate) fn finish_row(&mut self, times: usize) -> io::Result<()> {
        self.row
            .extend_from_slice(if self.crlf { b"\r\n" } else { b"\n" });
        for _ in 0..times {
            self.w.write_all(&self.row)?;
        }
        self.rows += times;
        self.row.clear();
        self.first = true;
        Ok(())
    }

    /// Whether a field with a comma / a double quote was written since the last call.
    pub(crate) fn take_flags(&mut self) -> (bool, bool) {
        let flags = (self.saw_comma, self.saw_quote);
        self.saw_comma = false;
        self.saw_quote = false;
        flags
    }

    pub(crate) fn close(mut self) -> io::Result<usize> {
        self.w.flush()?;
        Ok(self.rows)
    }
}

/// A value in the SQL fixture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Sql<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Date(NaiveDate),
}

/// One table's pending multi-row INSERT.
struct Batch {
    head: &'static str,
    body: Vec<u8>,
    rows: usize,
    total: usize,
}

/// Rows per INSERT statement: small enough for any SQLite build's limits, large enough that
/// loading 100,000 students is a few hundred statements.
const ROWS_PER_STATEMENT: usize = 500;

pub(crate) const STUDENTS: usize = 0;
pub(crate) const ENROLLMENT: usize = 1;
pub(crate) const LOG_ENTRIES: usize = 2;

/// The SQL fixture: multi-row INSERTs that run unchanged on SQLite and PostgreSQL.
pub(crate) struct SqlOut {
    w: BufWriter<File>,
    batches: [Batch; 3],
}

impl SqlOut {
    pub(crate) fn create(path: &Path, preamble: &str) -> io::Result<SqlOut> {
        let mut w = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        w.write_all(preamble.as_bytes())?;
        let batch = |head| Batch {
            head,
            body: Vec::with_capacity(64 * 1024),
            rows: 0,
            total: 0,
        };
        Ok(SqlOut {
            w,
            batches: [
                batch(
                    "INSERT INTO students (student_id, last_name, first_name, custom_53, \
                     custom_873, custom_940, custom_256, custom_863, custom_878, custom_879, \
                     custom_200000272, custom_200000273, custom_200000274, custom_200000293) VALUES\n",
                ),
                batch(
                    "INSERT INTO student_enrollment (id, student_id, syear, school_id, \
                     start_date, end_date) VALUES\n",
                ),
                batch(
                    "INSERT INTO custom_field_log_entries (student_id, field_id, syear, \
                     log_field1, log_field2, log_field3, log_field4, log_field5, log_field6) VALUES\n",
                ),
            ],
        })
    }

    /// Adds one row to `table`'s pending statement, writing the statement out when it is full.
    pub(crate) fn row(&mut self, table: usize, values: &[Sql<'_>]) -> io::Result<()> {
        let batch = &mut self.batches[table];
        if batch.rows > 0 {
            batch.body.extend_from_slice(b",\n");
        }
        batch.body.push(b'(');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                batch.body.extend_from_slice(b", ");
            }
            // Writing into a Vec cannot fail.
            let _ = match value {
                Sql::Null => batch.body.write_all(b"NULL"),
                Sql::Int(n) => write!(batch.body, "{n}"),
                Sql::Date(d) => write!(
                    batch.body,
                    "'{:04}-{:02}-{:02}'",
                    d.year(),
                    d.month(),
                    d.day()
                ),
                Sql::Text(s) => {
                    batch.body.push(b'\'');
                    for byte in s.bytes() {
                        if byte == b'\'' {
                            batch.body.push(b'\'');
                        }
                        batch.body.push(byte);
                    }
                    batch.body.push(b'\'');
                    Ok(())
                }
            };
        }
        batch.body.push(b')');
        batch.rows += 1;
        batch.total += 1;
        if batch.rows == ROWS_PER_STATEMENT {
            Self::flush_batch(&mut self.w, batch)?;
        }
        Ok(())
    }

    fn flush_batch(w: &mut BufWriter<File>, batch: &mut Batch) -> io::Result<()> {
        if batch.rows == 0 {
            return Ok(());
        }
        w.write_all(batch.head.as_bytes())?;
        w.write_all(&batch.body)?;
        w.write_all(b";\n")?;
        batch.body.clear();
        batch.rows = 0;
        Ok(())
    }

    /// Writes what is pending; returns the rows written per table.
    pub(crate) fn close(mut self) -> io::Result<[usize; 3]> {
        for batch in &mut self.batches {
            Self::flush_batch(&mut self.w, batch)?;
        }
        self.w.flush()?;
        Ok([
            self.batches[0].total,
            self.batches[1].total,
            self.batches[2].total,
        ])
    }
}
