//! Reading one PEER CSV file into the rows of its background table.
//!
//! FLDOE's files are CSV with a header row, but the header's exact spelling, its column order
//! and the date format are not something the job can count on: columns are matched by
//! normalized name (case, spaces and underscores ignored) or a configured alias, dates are
//! accepted as M/D/YYYY or YYYY-MM-DD and stored ISO, and anything the job cannot read for
//! certain (a missing column, a bad date, a ragged or truncated row) is an error that names
//! the file, the physical line, the column and the value. Extra columns are only warnings.
//!
//! The reader streams ([`PeerReader::next_row`] lends each row without allocating) so the
//! loader can insert a million rows without holding them; [`read_file`] and [`read_all`]
//! collect a whole file for callers that want it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use ferry_plugin::Problem;

use crate::error::PeerError;
use crate::spec::{FileSpec, is_date_column};

/// A whole PEER file, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFile {
    pub spec: &'static FileSpec,
    pub rows: Vec<PeerRow>,
    pub warnings: Vec<ReadWarning>,
}

/// One data row: its values in [`FileSpec::columns`] order, `None` for a blank cell, dates
/// in ISO form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    /// The physical line the row starts on (the header is line 1).
    pub line: u64,
    pub values: Vec<Option<String>>,
}

/// Something about a file that did not stop the import but deserves a look: a header column
/// that is not one of the table's (it is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadWarning {
    pub file: String,
    /// The header text of the column, as written in the file.
    pub column: String,
    /// 1-based position of the column in the header.
    pub position: usize,
}

impl ReadWarning {
    /// The warning as an SDK problem.
    pub fn problem(&self) -> Problem {
        Problem::warning(
            "Extra column",
            format!(
                "column {} is not a PEER column of this file; ignored",
                self.position
            ),
        )
        .at(self.file.clone(), 1)
        .field_name(self.column.clone())
    }
}

impl fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: extra column {:?} (column {}) ignored",
            self.file, self.column, self.position
        )
    }
}

/// Reads a whole PEER file from disk. `aliases` maps header names found in the file to the
/// table's column names (both compared normalized, see [`normalize`]).
pub fn read_file(
    spec: &'static FileSpec,
    path: &Path,
    aliases: &BTreeMap<String, String>,
) -> Result<PeerFile, PeerError> {
    let file = std::fs::File::open(path).map_err(|e| PeerError::Io {
        file: spec.file.to_owned(),
        message: format!("{}: {e}", path.display()),
    })?;
    read_all(spec, file, aliases)
}

/// Reads a whole PEER file from any reader.
pub fn read_all<R: Read>(
    spec: &'static FileSpec,
    input: R,
    aliases: &BTreeMap<String, String>,
) -> Result<PeerFile, PeerError> {
    let mut reader = PeerReader::new(spec, input, aliases)?;
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row.to_owned_row());
    }
    Ok(PeerFile {
        spec,
        rows,
        warnings: reader.warnings,
    })
}

/// A header name or alias as it is compared: lowercase, without whitespace or underscores.
pub fn normalize(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A date as PEER files write it: M/D/YYYY (month and day of one or two digits) or
/// YYYY-MM-DD, and a real calendar date with a year from 1 to 9999.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let (year, month, day) = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
    } else {
        let mut parts = text.split('/');
        let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
            return None;
        }
        if y.len() != 4 {
            return None;
        }
        (
            digits(y.as_bytes())?,
            digits(m.as_bytes())?,
            digits(d.as_bytes())?,
        )
    };
    if year == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// The value of a run of ASCII digits (at most four, as dates need).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 {
        return None;
    }
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// Whether text is already an ISO date as stored (so it can be lent as it is).
fn is_iso(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-'
}

/// Writes a date as `YYYY-MM-DD` into a reused buffer (no formatting machinery per cell).
fn write_iso(date: NaiveDate, out: &mut String) {
    out.clear();
    let push = |out: &mut String, n: u32, width: u32| {
        for p in (0..width).rev() {
            let digit = (n / 10u32.pow(p)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    };
    // parse_date only makes years 1..=9999.
    push(out, date.year().unsigned_abs(), 4);
    out.push('-');
    push(out, date.month(), 2);
    out.push('-');
    push(out, date.day(), 2);
}

/// Where a column's value of the current row is.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Blank,
    /// The record's field at this index, trimmed.
    Field(usize),
    /// The ISO date written in `iso[column]`.
    Iso,
}

/// The input as the CSV parser sees it: without a leading byte order mark, with a count of
/// the double quotes read, so a file ending inside a quoted field (which the CSV parser
/// silently accepts) is caught. Counting a byte is cheaper than tracking quote state.
#[derive(Debug)]
struct Input<R> {
    inner: R,
    /// Bytes read ahead while looking for a byte order mark, to be handed out first.
    pending: Vec<u8>,
    started: bool,
    quotes: u64,
    eof: bool,
}

impl<R: Read> Input<R> {
    fn new(inner: R) -> Input<R> {
        Input {
            inner,
            pending: Vec::new(),
            started: false,
            quotes: 0,
            eof: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        let mut head = [0u8; 3];
        let mut filled = 0;
        while filled < head.len() {
            match self.inner.read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if head[..filled] != [0xEF, 0xBB, 0xBF] {
            self.pending.extend_from_slice(&head[..filled]);
        }
        Ok(())
    }
}

impl<R> Input<R> {
    /// Whether the input has ended inside a quoted field: every well-formed quoted field
    /// holds an even number of quotes (its two and its doubled ones), so an odd count at the
    /// end means the last one was never closed. Only asked of a record that ran into the end
    /// of the input, where an unclosed quote always ends up; a stray quote inside an
    /// unquoted field earlier (which RFC 4180 forbids but the parser takes literally) then
    /// only matters if the file also lacks its final line end.
    fn unterminated(&self) -> bool {
        self.eof && self.quotes % 2 == 1
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.start()?;
        }
        let n = if self.pending.is_empty() {
            self.inner.read(buf)?
        } else {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            n
        };
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        self.quotes += buf[..n].iter().filter(|&&b| b == b'"').count() as u64;
        Ok(n)
    }
}

/// A PEER file being read row by row, header already checked.
#[derive(Debug)]
pub struct PeerReader<R> {
    spec: &'static FileSpec,
    csv: csv::Reader<Input<R>>,
    /// The current row, checked as text.
    record: Option<csv::StringRecord>,
    /// The record each row is read into before its text is checked; its buffers and
    /// `record`'s trade places on every row, so reading a row allocates nothing.
    raw: csv::ByteRecord,
    /// The parser's line count after the last record (1 + line ends consumed).
    consumed: u64,
    /// For each of the spec's columns, the index of its field in a record.
    sources: Vec<usize>,
    dates: Vec<bool>,
    cells: Vec<Cell>,
    iso: Vec<String>,
    header: Vec<String>,
    warnings: Vec<ReadWarning>,
    /// The line of the last row read (1, the header's, before any).
    line: u64,
}

impl<R: Read> PeerReader<R> {
    /// Reads and checks the header: every stored column of `spec` must be found, by
    /// normalized name or through `aliases` (header name → column name). Extra columns become
    /// warnings; the spec's read-only columns are recognized and skipped.
    pub fn new(
        spec: &'static FileSpec,
        input: R,
        aliases: &BTreeMap<String, String>,
    ) -> Result<PeerReader<R>, PeerError> {
        let file = || spec.file.to_owned();
        // Records end at LF only: a CR before it stays in the last field, where trimming
        // drops it. That way every record but the last consumes exactly its own line end,
        // which is what lets `next_record` name physical lines (the parser's own positions
        // are off by one after a CRLF and ignore skipped blank lines). Ragged rows are
        // checked here rather than by the parser, so a whitespace-only line can be skipped.
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(256 * 1024)
            .from_reader(Input::new(input));
        let mut raw = csv::ByteRecord::new();
        let mut consumed = 1;
        let Some(header_line) = next_record(spec, &mut csv, &mut raw, &mut consumed)? else {
            return Err(PeerError::Empty { file: file() });
        };
        if csv.get_ref().unterminated() {
            return Err(PeerError::UnterminatedQuote {
                file: file(),
                line: header_line,
            });
        }
        let header: Vec<String> = raw
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            .collect();

        // Normalized alias → column, each target checked against the spec.
        let mut alias_of: BTreeMap<String, &'static str> = BTreeMap::new();
        for (from, to) in aliases {
            let target = normalize(to);
            let column = spec
                .columns
                .iter()
                .chain(spec.read_only)
                .find(|c| normalize(c) == target)
                .ok_or_else(|| PeerError::UnknownAliasTarget {
                    file: file(),
                    table: spec.table.to_owned(),
                    header: from.clone(),
                    column: to.clone(),
                    columns: spec.columns.iter().map(|c| (*c).to_owned()).collect(),
                })?;
            alias_of.insert(normalize(from), column);
        }

        let mut sources: Vec<Option<usize>> = vec![None; spec.columns.len()];
        let mut read_only_seen: Vec<Option<usize>> = vec![None; spec.read_only.len()];
        let mut warnings = Vec::new();
        for (index, name) in header.iter().enumerate() {
            let key = normalize(name);
            let column = alias_of.get(&key).copied().or_else(|| {
                spec.columns
                    .iter()
                    .chain(spec.read_only)
                    .copied()
                    .find(|c| normalize(c) == key)
            });
            let slot = column.and_then(|column| {
                spec.column_index(column)
                    .map(|i| (column, &mut sources[i]))
                    .or_else(|| {
                        let i = spec.read_only.iter().position(|c| *c == column)?;
                        Some((column, &mut read_only_seen[i]))
                    })
            });
            match slot {
                Some((column, slot)) => {
                    if let Some(first) = *slot {
                        return Err(PeerError::DuplicateColumn {
                            file: file(),
                            column: column.to_owned(),
                            first: first + 1,
                            second: index + 1,
                        });
                    }
                    *slot = Some(index);
                }
                None => warnings.push(ReadWarning {
                    file: file(),
                    column: name.clone(),
                    position: index + 1,
                }),
            }
        }
        let missing: Vec<String> = spec
            .columns
            .iter()
            .zip(&sources)
            .filter(|(_, source)| source.is_none())
            .map(|(column, _)| (*column).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(PeerError::MissingColumns {
                file: file(),
                columns: missing,
                header,
            });
        }
        let sources: Vec<usize> = sources.into_iter().flatten().collect();
        let n = spec.columns.len();
        Ok(PeerReader {
            spec,
            csv,
            record: None,
            raw,
            consumed,
            sources,
            dates: spec.columns.iter().map(|c| is_date_column(c)).collect(),
            cells: vec![Cell::Blank; n],
            iso: vec![String::with_capacity(10); n],
            header,
            warnings,
            line: 1,
        })
    }

    /// The file's spec.
    pub fn spec(&self) -> &'static FileSpec {
        self.spec
    }

    /// The extra columns found in the header.
    pub fn warnings(&self) -> &[ReadWarning] {
        &self.warnings
    }

    /// The header as found in the file (trimmed, without a byte order mark).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next data row, or `None` at the end of the file. Blank lines are skipped. The
    /// row is lent: it is valid until the next call.
    pub fn next_row(&mut self) -> Result<Option<RowRef<'_>>, PeerError> {
        let Some(line) = next_record(self.spec, &mut self.csv, &mut self.raw, &mut self.consumed)?
        else {
            return Ok(None);
        };
        self.line = line;
        // A row that ran into the end of the input has no line end: either the last line
        // lacks one (fine) or a quote was never closed, so the parser swallowed the rest of
        // the file into one field (which it accepts silently).
        if self.csv.get_ref().unterminated() {
            return Err(self.unterminated());
        }
        if self.raw.len() != self.header.len() {
            return Err(PeerError::FieldCount {
                file: self.spec.file.to_owned(),
                line,
                expected: self.header.len(),
                found: self.raw.len(),
            });
        }
        // The row read becomes `record` (checked as text) and the previous row's buffers
        // become the next read buffer: moves only, no allocation.
        let previous = self
            .record
            .take()
            .map(csv::StringRecord::into_byte_record)
            .unwrap_or_default();
        let current = std::mem::replace(&mut self.raw, previous);
        let record = csv::StringRecord::from_byte_record(current).map_err(|e| {
            let field = e.utf8_error().field();
            PeerError::NotUtf8 {
                file: self.spec.file.to_owned(),
                line,
                column: self
                    .header
                    .get(field)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", field + 1)),
            }
        })?;
        let record = self.record.insert(record);
        for (column, &source) in self.sources.iter().enumerate() {
            let text = record.get(source).unwrap_or_default().trim();
            self.cells[column] = if text.is_empty() {
                Cell::Blank
            } else if !self.dates[column] {
                Cell::Field(source)
            } else {
                match parse_date(text) {
                    Some(_) if is_iso(text) => Cell::Field(source),
                    Some(date) => {
                        write_iso(date, &mut self.iso[column]);
                        Cell::Iso
                    }
                    None => {
                        return Err(PeerError::BadDate {
                            file: self.spec.file.to_owned(),
                            line: self.line,
                            column: self.spec.columns[column].to_owned(),
                            value: text.to_owned(),
                        });
                    }
                }
            };
        }
        Ok(Some(RowRef {
            line: self.line,
            record,
            cells: &self.cells,
            iso: &self.iso,
        }))
    }

    fn unterminated(&self) -> PeerError {
        PeerError::UnterminatedQuote {
            file: self.spec.file.to_owned(),
            line: self.line,
        }
    }
}

/// One data row, lent by [`PeerReader::next_row`].
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    cells: &'a [Cell],
    iso: &'a [String],
}

impl<'a> RowRef<'a> {
    /// The physical line the row starts on (the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The value of the spec's column at `column` (its index in [`FileSpec::columns`]):
    /// trimmed, `None` when blank, ISO for a date.
    pub fn get(&self, column: usize) -> Option<&'a str> {
        match *self.cells.get(column)? {
            Cell::Blank => None,
            Cell::Field(source) => self.record.get(source).map(str::trim),
            Cell::Iso => self.iso.get(column).map(String::as_str),
        }
    }

    /// The number of values (the spec's column count).
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the row has no values (never, for a real spec).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The values in the spec's column order.
    pub fn values(&self) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let row = *self;
        (0..row.len()).map(move |i| row.get(i))
    }

    /// The row, owned.
    pub fn to_owned_row(&self) -> PeerRow {
        PeerRow {
            line: self.line,
            values: self.values().map(|v| v.map(str::to_owned)).collect(),
        }
    }
}

/// Reads the next record that is not a blank line into `raw` and returns the physical line
/// it starts on, or `None` at the end of the input. `consumed` is the parser's line count
/// after the previous record, updated here.
///
/// The line is worked out backwards from the parser's count of line ends consumed: a record
/// consumed its own LF (unless it ended the input) and the LFs inside its quoted fields,
/// which are in its fields as read. Counting those is only needed when more than one line
/// end went by, so an ordinary row costs nothing extra.
fn next_record<R: Read>(
    spec: &FileSpec,
    csv: &mut csv::Reader<Input<R>>,
    raw: &mut csv::ByteRecord,
    consumed: &mut u64,
) -> Result<Option<u64>, PeerError> {
    loop {
        if !csv.read_byte_record(raw).map_err(|e| csv_error(spec, e))? {
            return Ok(None);
        }
        let now = csv.position().line();
        let own_end = u64::from(!csv.get_ref().eof);
        let went_by = now - *consumed;
        *consumed = now;
        let inner = if went_by == own_end {
            0
        } else {
            raw.as_slice().iter().filter(|&&b| b == b'\n').count() as u64
        };
        let blank = raw.len() == 1 && raw[0].trim_ascii().is_empty();
        if !blank {
            return Ok(Some(now - own_end - inner));
        }
    }
}

/// A CSV parser error, located and worded for a person.
fn csv_error(spec: &FileSpec, error: csv::Error) -> PeerError {
    let file = spec.file.to_owned();
    let line = error.position().map_or(1, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(e) => PeerError::Io {
            file,
            message: e.to_string(),
        },
        other => PeerError::Csv {
            file,
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::spec_for_file;
    use ferry_plugin::Severity;

    fn spec(file: &str) -> &'static FileSpec {
        spec_for_file(file).expect("known file")
    }

    fn no_aliases() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn read(file: &str, text: &str) -> Result<PeerFile, PeerError> {
        read_all(spec(file), text.as_bytes(), &no_aliases())
    }

    fn values(row: &PeerRow) -> Vec<Option<&str>> {
        row.values.iter().map(Option::as_deref).collect()
    }

    #[test]
    fn dates_are_read_in_both_formats_and_checked_against_the_calendar() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 2);
        assert_eq!(parse_date("1/2/2024"), day);
        assert_eq!(parse_date("01/02/2024"), day);
        assert_eq!(parse_date("1/02/2024"), day);
        assert_eq!(parse_date("2024-01-02"), day);
        assert_eq!(
            parse_date("2/29/2024"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(
            parse_date("12/31/1999"),
            NaiveDate::from_ymd_opt(1999, 12, 31)
        );
        for bad in [
            "2/30/2024",
            "2/29/2023",
            "2024-13-01",
            "2024-02-30",
            "13/1/2024",
            "0/1/2024",
            "1/0/2024",
            "1/2/24",
            "001/2/2024",
            "1/2/20245",
            "1/2/2024/1",
            "1/2",
            "2024-1-02",
            "2024/01/02",
            "0000-01-01",
            "1/2/0000",
            "+1/2/2024",
            "1/ 2/2024",
            "20240102",
            "",
            "a/b/cdef",
            "13/45/2020",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
        let mut out = String::from("junk");
        write_iso(NaiveDate::from_ymd_opt(7, 3, 9).expect("date"), &mut out);
        assert_eq!(out, "0007-03-09");
    }

    #[test]
    fn names_are_compared_without_case_spaces_or_underscores() {
        assert_eq!(normalize("EP Start Date"), "epstartdate");
        assert_eq!(normalize("ep_start_date"), "epstartdate");
        assert_eq!(normalize("\u{feff} Local_ID "), "localid");
        assert_eq!(normalize("Sec-504"), "sec-504");
    }

    #[test]
    fn a_file_is_read_by_header_name_in_any_order_with_dates_made_iso() {
        let text = "Local ID,EP_START_DATE,ep end date,InitiationDate,Ammendment_Date\n\
                    00123,1/2/2024,2024-06-30,  ,\n\
                    \x20 456 ,12/31/2023,,3/4/2023,2023-03-05\n";
        let file = read("ActiveEPs.csv", text).expect("read");
        assert_eq!(file.spec.table, "fl_peer_active_eps");
        assert!(file.warnings.is_empty());
        // Spec order: ammendment_date, ep_end_date, ep_start_date, initiation_date, local_id.
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[0].line, 2);
        assert_eq!(
            values(&file.rows[0]),
            [
                None,
                Some("2024-06-30"),
                Some("2024-01-02"),
                None,
                Some("00123")
            ]
        );
        assert_eq!(file.rows[1].line, 3);
        assert_eq!(
            values(&file.rows[1]),
            [
                Some("2023-03-05"),
                None,
                Some("2023-12-31"),
                Some("2023-03-04"),
                Some("456")
            ]
        );
    }

    #[test]
    fn a_bom_and_crlf_line_ends_are_accepted() {
        let text = "\u{feff}local_id,ammendment_date,ep_end_date,ep_start_date,initiation_date\r\n\
                    1,1/1/2024,,,\r\n\
                    2,,,,\r\n";
        let file = read("ActiveEPs.csv", text).expect("read");
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        assert_eq!(
            file.rows
                .iter()
                .map(|r| (r.line, r.values[0].clone(), r.values[4].clone()))
                .collect::<Vec<_>>(),
            [
                (2, Some("2024-01-01".to_owned()), Some("1".to_owned())),
                (3, None, Some("2".to_owned()))
            ]
        );
        // A quoted first header name after a BOM is still recognized.
        let quoted = "\u{feff}\"local_id\",ammendment_date,ep_end_date,ep_start_date,initiation_date\n7,,,,\n";
        let file = read("ActiveEPs.csv", quoted).expect("read");
        assert_eq!(file.rows[0].values[4].as_deref(), Some("7"));
        // A file that is only a BOM is empty.
        assert_eq!(
            read("ActiveEPs.csv", "\u{feff}"),
            Err(PeerError::Empty {
                file: "ActiveEPs.csv".to_owned()
            })
        );
    }

    #[test]
    fn quoted_commas_and_embedded_newlines_keep_physical_line_numbers() {
        let text = "local_id,school_num,school_title,grade,url\n\
                    1,0101,\"Oak, Elementary\",05,\"http://x/?a=1,b=2\"\n\
                    2,0102,\"Two\nline\r\nname\",06,\n\
                    \n\
                    3,0103,\"He said \"\"hi\"\"\",07,\n";
        let file = read("PEERStudentInfo.csv", text).expect("read");
        // Spec order: grade, local_id, school_num, school_title, url.
        let rows: Vec<(u64, Vec<Option<&str>>)> =
            file.rows.iter().map(|r| (r.line, values(r))).collect();
        assert_eq!(
            rows,
            [
                (
                    2,
                    vec![
                        Some("05"),
                        Some("1"),
                        Some("0101"),
                        Some("Oak, Elementary"),
                        Some("http://x/?a=1,b=2")
                    ]
                ),
                (
                    3,
                    vec![
                        Some("06"),
                        Some("2"),
                        Some("0102"),
                        Some("Two\nline\r\nname"),
                        None
                    ]
                ),
                (
                    7,
                    vec![
                        Some("07"),
                        Some("3"),
                        Some("0103"),
                        Some("He said \"hi\""),
                        None
                    ]
                ),
            ]
        );
        // An error after a multi-line field names the physical line.
        let text = "local_id,initiation_date,duration_date,early_childhood_program,setting,time_non_disabled_peers,total_time\r\n\
                    1,1/2/2024,,\"a\r\nb\r\nc\",X,0,0\r\n\
                    2,13/45/2020,,,,,\r\n";
        let err = read("IEPLRE.csv", text).expect_err("bad date");
        assert_eq!(
            err.to_string(),
            "IEPLRE.csv:5: column initiation_date: \"13/45/2020\" is not a date (expected M/D/YYYY or YYYY-MM-DD)"
        );
        assert_eq!(
            err,
            PeerError::BadDate {
                file: "IEPLRE.csv".to_owned(),
                line: 5,
                column: "initiation_date".to_owned(),
                value: "13/45/2020".to_owned(),
            }
        );
        let problem = err.problem();
        assert_eq!(problem.severity, Severity::Error);
        assert_eq!(problem.category, "Invalid date");
        assert_eq!(
            (
                problem.file.as_deref(),
                problem.line,
                problem.field.as_deref(),
                problem.value.as_deref()
            ),
            (
                Some("IEPLRE.csv"),
                Some(5),
                Some("initiation_date"),
                Some("13/45/2020")
            )
        );
        assert_eq!(
            problem.message,
            "\"13/45/2020\" is not a date (expected M/D/YYYY or YYYY-MM-DD)"
        );
    }

    /// A reader that hands out its bytes a few at a time, as a slow network stream would.
    struct Chunked<'a> {
        data: &'a [u8],
        size: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.size.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn row_lines_are_physical_whatever_the_line_ends_and_chunking() {
        // Each row's local id (R1, R2, ...) marks where it starts; its line is found by
        // counting the LFs before it.
        let rows = [
            "R1,0101,Oak,05,\r\n",
            "\r\n",
            "R2,0102,\"Two\r\nlines\",06,\n",
            "\n",
            "   \n",
            "\t\r\n",
            "R3,0103,\"a\nb\nc\",07,\"x\"\r\n",
            "R4,0104,Elm,08,\n",
            "R5,\"0105\",\"\"\"Q\"\"\",09,",
        ];
        let text = format!(
            "local_id,school_num,school_title,grade,url\r\n{}",
            rows.concat()
        );
        let expected: Vec<(String, u64)> = (1..=5)
            .map(|i| {
                let at = text.find(&format!("R{i},")).expect("marker");
                let line = text[..at].matches('\n').count() as u64 + 1;
                (format!("R{i}"), line)
            })
            .collect();
        assert_eq!(
            expected.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
            [2, 4, 9, 12, 13]
        );
        for size in [1, 2, 3, 7, 64, 1 << 20] {
            let input = Chunked {
                data: text.as_bytes(),
                size,
            };
            let file = read_all(spec("PEERStudentInfo.csv"), input, &no_aliases()).expect("read");
            let got: Vec<(String, u64)> = file
                .rows
                .iter()
                .map(|r| (r.values[1].clone().unwrap_or_default(), r.line))
                .collect();
            assert_eq!(got, expected, "chunks of {size}");
            assert_eq!(file.rows[2].values[3].as_deref(), Some("a\nb\nc"));
            assert_eq!(file.rows[4].values[3].as_deref(), Some("\"Q\""));
            assert_eq!(file.rows[4].values[2].as_deref(), Some("0105"));
        }
        // The last row, without a line end, has a bad date: its line is still right.
        let text = "local_id,initiation_date,duration_date,early_childhood_program,setting,time_non_disabled_peers,total_time\r\n\
                    1,,,\"x\r\ny\",,,\r\n\r\n2,2/30/2024,,,,,";
        for size in [1, 5, 4096] {
            let input = Chunked {
                data: text.as_bytes(),
                size,
            };
            let err = read_all(spec("IEPLRE.csv"), input, &no_aliases()).expect_err("bad date");
            assert_eq!(
                err.to_string(),
                "IEPLRE.csv:5: column initiation_date: \"2/30/2024\" is not a date (expected M/D/YYYY or YYYY-MM-DD)",
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn aliases_map_other_header_names_to_columns() {
        let text = "Student Local Number,Amendment Date,EP End,EP Start,Initiated\n\
                    9,1/5/2024,,,2/6/2024\n";
        let aliases: BTreeMap<String, String> = [
            ("Amendment Date", "ammendment_date"),
            ("student local number", "Local ID"),
            ("EP_End", "ep_end_date"),
            ("ep start", "EP Start Date"),
            ("INITIATED", "initiation_date"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let file = read_all(spec("ActiveEPs.csv"), text.as_bytes(), &aliases).expect("read");
        assert!(file.warnings.is_empty());
        assert_eq!(
            values(&file.rows[0]),
            [
                Some("2024-01-05"),
                None,
                None,
                Some("2024-02-06"),
                Some("9")
            ]
        );

        let wrong: BTreeMap<String, String> =
            [("Amendment Date".to_owned(), "amendment_date".to_owned())].into();
        let err = read_all(spec("ActiveEPs.csv"), text.as_bytes(), &wrong).expect_err("alias");
        assert_eq!(
            err.to_string(),
            "ActiveEPs.csv: the column alias \"Amendment Date\" = \"amendment_date\" names no \
             column of fl_peer_active_eps (its columns: ammendment_date, ep_end_date, \
             ep_start_date, initiation_date, local_id)"
        );
        assert_eq!(err.problem().category, "Unknown column alias");
    }

    #[test]
    fn a_missing_column_names_the_file_the_column_and_the_header() {
        let text = "local_id,ep_start_date,ep_end_date,initiation_date\n1,,,\n";
        let err = read("ActiveEPs.csv", text).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "ActiveEPs.csv: missing column ammendment_date (the header has: local_id, \
             ep_start_date, ep_end_date, initiation_date)"
        );
        let problem = err.problem();
        assert_eq!(problem.category, "Missing column");
        assert_eq!(problem.file.as_deref(), Some("ActiveEPs.csv"));
        assert_eq!(problem.field.as_deref(), Some("ammendment_date"));
        assert_eq!(
            problem.message,
            "missing column ammendment_date (the header has: local_id, ep_start_date, \
             ep_end_date, initiation_date)"
        );

        let err = read("ActiveEPs.csv", "local_id,ep_start_date\n").expect_err("missing");
        assert_eq!(
            err.to_string(),
            "ActiveEPs.csv: missing columns ammendment_date, ep_end_date, initiation_date \
             (the header has: local_id, ep_start_date)"
        );
    }

    #[test]
    fn extra_columns_are_ignored_with_a_warning_and_read_only_ones_silently() {
        let text = "local_id,accommodation,Notes,accommodation_type,Primary Exceptionality,start_date,temp_plan_end_date,\n\
                    5,Extended time,see file,Testing,K,8/1/2024,5/31/2025,\n";
        let file = read("Sec504AssessmentAccommodations.csv", text).expect("read");
        assert_eq!(
            file.warnings,
            [
                ReadWarning {
                    file: "Sec504AssessmentAccommodations.csv".to_owned(),
                    column: "Notes".to_owned(),
                    position: 3,
                },
                ReadWarning {
                    file: "Sec504AssessmentAccommodations.csv".to_owned(),
                    column: String::new(),
                    position: 8,
                }
            ]
        );
        assert_eq!(
            file.warnings[0].to_string(),
            "Sec504AssessmentAccommodations.csv: extra column \"Notes\" (column 3) ignored"
        );
        let problem = file.warnings[0].problem();
        assert_eq!(problem.severity, Severity::Warning);
        assert_eq!(problem.category, "Extra column");
        assert_eq!(problem.field.as_deref(), Some("Notes"));
        // primary_exceptionality is read but not stored: five values, none of them "K".
        assert_eq!(
            values(&file.rows[0]),
            [
                Some("Extended time"),
                Some("Testing"),
                Some("5"),
                Some("2024-08-01"),
                Some("2025-05-31")
            ]
        );
        // The read-only column is not required either.
        let text =
            "local_id,accommodation,accommodation_type,start_date,temp_plan_end_date\n5,a,b,,\n";
        let file = read("Sec504AssessmentAccommodations.csv", text).expect("read");
        assert!(file.warnings.is_empty());
        assert_eq!(file.rows.len(), 1);
        // In any other file primary_exceptionality is stored like any column.
        let text = "local_id,accommodation,accommodation_type,iep_end_date,initiation_date,primary_exceptionality\n5,a,b,,,K\n";
        let file = read("IEPAssessmentAccommodations.csv", text).expect("read");
        assert_eq!(file.rows[0].values[5].as_deref(), Some("K"));
    }

    #[test]
    fn a_column_given_twice_is_an_error() {
        let text = "local_id,grade,Local ID,school_num,school_title,url\n";
        let err = read("PEERStudentInfo.csv", text).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "PEERStudentInfo.csv: columns 1 and 3 of the header both give column local_id"
        );
    }

    #[test]
    fn a_file_with_another_delimiter_is_named_as_such() {
        let tabs = "local_id\tgrade\tschool_num\tschool_title\turl\n1\t05\t0101\tOak\t\n";
        let err = read("PEERStudentInfo.csv", tabs).expect_err("tabs");
        assert_eq!(
            err.to_string(),
            "PEERStudentInfo.csv: missing columns grade, local_id, school_num, school_title, \
             url: the header looks like one column (\"local_id\\tgrade\\tschool_num\\tschool_title\\turl\"); \
             the file seems separated by tabs, but PEER files must be comma-separated"
        );
        let semicolons = "local_id;grade;school_num;school_title;url\n1;05;0101;Oak;\n";
        let err = read("PEERStudentInfo.csv", semicolons).expect_err("semicolons");
        assert!(
            err.to_string()
                .contains("the file seems separated by semicolons"),
            "{err}"
        );
        assert_eq!(err.problem().line, Some(1));
    }

    #[test]
    fn a_truncated_file_is_an_error_at_its_last_line() {
        let header = "local_id,school_num,school_title,grade,url\n";
        // The last row lost its last fields.
        let text = format!("{header}1,0101,Oak,05,\n2,0102,Pi");
        let err = read("PEERStudentInfo.csv", &text).expect_err("short row");
        assert_eq!(
            err.to_string(),
            "PEERStudentInfo.csv:3: the row has 3 fields but the header has 5 (a truncated \
             file, an unquoted comma or a stray quote?)"
        );
        assert_eq!(err.problem().line, Some(3));
        // The file ends inside a quoted field.
        let text = format!("{header}1,0101,Oak,05,\n\n2,0102,\"Pine\nHill,06,http");
        let err = read("PEERStudentInfo.csv", &text).expect_err("open quote");
        assert_eq!(
            err,
            PeerError::UnterminatedQuote {
                file: "PEERStudentInfo.csv".to_owned(),
                line: 4
            }
        );
        // Through the streaming reader, the bad row is never lent.
        let mut reader =
            PeerReader::new(spec("PEERStudentInfo.csv"), text.as_bytes(), &no_aliases())
                .expect("header");
        assert_eq!(reader.next_row().expect("row 1").map(|r| r.line()), Some(2));
        assert!(reader.next_row().is_err());
        // A stray quote inside an unquoted field is taken literally, not as an open quote.
        let file = read(
            "PEERStudentInfo.csv",
            &format!("{header}1,0101,Room 5\" wide,05,\n"),
        )
        .expect("stray quote");
        assert_eq!(file.rows[0].values[3].as_deref(), Some("Room 5\" wide"));
        // A last line without a line end is fine.
        let file = read(
            "PEERStudentInfo.csv",
            &format!("{header}1,0101,\"Oak\",05,x"),
        )
        .expect("read");
        assert_eq!(file.rows[0].values[4].as_deref(), Some("x"));
        // A row with one field too many.
        let err =
            read("PEERStudentInfo.csv", &format!("{header}1,2,3,4,5,6\n")).expect_err("long row");
        assert!(matches!(
            err,
            PeerError::FieldCount {
                line: 2,
                expected: 5,
                found: 6,
                ..
            }
        ));
    }

    #[test]
    fn empty_files_header_only_files_and_bad_bytes() {
        assert_eq!(
            read("IEPLRE.csv", "").map(|f| f.rows.len()),
            Err(PeerError::Empty {
                file: "IEPLRE.csv".to_owned()
            })
        );
        assert_eq!(
            read("IEPLRE.csv", "\n\n").map(|f| f.rows.len()),
            Err(PeerError::Empty {
                file: "IEPLRE.csv".to_owned()
            })
        );
        let file = read(
            "PEERStudentInfo.csv",
            "local_id,grade,school_num,school_title,url\r\n",
        )
        .expect("header only");
        assert!(file.rows.is_empty());

        let bytes =
            b"local_id,grade,school_num,school_title,url\n1,05,0101,Oak,\n2,06,0102,\xE9cole,\n";
        let err =
            read_all(spec("PEERStudentInfo.csv"), &bytes[..], &no_aliases()).expect_err("latin-1");
        assert_eq!(
            err.to_string(),
            "PEERStudentInfo.csv:3: column school_title: the text is not valid UTF-8"
        );
    }

    #[test]
    fn the_streaming_reader_lends_rows_without_copying() {
        let text = "local_id,grade,school_num,school_title,url\n1,05, 0101 ,Oak,\n";
        let mut reader =
            PeerReader::new(spec("PEERStudentInfo.csv"), text.as_bytes(), &no_aliases())
                .expect("header");
        assert_eq!(
            reader.header(),
            ["local_id", "grade", "school_num", "school_title", "url"]
        );
        assert!(reader.warnings().is_empty());
        assert_eq!(reader.spec().table, "fl_peer_student_info");
        let row = reader.next_row().expect("row").expect("some");
        assert_eq!((row.line(), row.len(), row.is_empty()), (2, 5, false));
        assert_eq!(row.get(2), Some("0101"));
        assert_eq!(row.get(4), None);
        assert_eq!(row.get(9), None);
        assert_eq!(
            row.values().collect::<Vec<_>>(),
            [Some("05"), Some("1"), Some("0101"), Some("Oak"), None]
        );
        assert!(reader.next_row().expect("end").is_none());
    }

    #[test]
    fn read_file_reads_from_disk_and_names_an_unreadable_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("PEERStudentInfo.csv");
        std::fs::write(
            &path,
            "local_id,grade,school_num,school_title,url\n1,05,0101,Oak,\n",
        )
        .expect("write");
        let file = read_file(spec("PEERStudentInfo.csv"), &path, &no_aliases()).expect("read");
        assert_eq!(file.rows.len(), 1);
        let err = read_file(
            spec("IEPLRE.csv"),
            &dir.path().join("IEPLRE.csv"),
            &no_aliases(),
        )
        .expect_err("missing file");
        assert!(
            matches!(&err, PeerError::Io { file, .. } if file == "IEPLRE.csv"),
            "{err:?}"
        );
        assert_eq!(err.problem().category, "Unreadable file");
    }

    /// Run with `cargo test --release -p ferry-job-florida-peer -- --ignored`: a million rows
    /// of the widest file must parse in well under two seconds.
    #[test]
    #[ignore = "timing; meaningful only in release"]
    fn a_million_rows_parse_quickly() {
        let spec = spec("ActiveIEPs.csv");
        let mut text = spec.columns.join(",");
        text.push('\n');
        for i in 0..1_000_000u32 {
            text.push_str(&format!(
                "Y,1/{}/2024,Standard,\"Std, diploma\",Y,G{},N,2025-06-30,06/{:02}/2024,,{:07},A B,K,,,\n",
                i % 28 + 1,
                i % 5,
                i % 28 + 1,
                i
            ));
        }
        let started = std::time::Instant::now();
        let mut reader = PeerReader::new(spec, text.as_bytes(), &no_aliases()).expect("header");
        let mut count = 0u64;
        let mut bytes = 0usize;
        while let Some(row) = reader.next_row().expect("row") {
            count += 1;
            bytes += row.values().flatten().map(str::len).sum::<usize>();
        }
        let streamed = started.elapsed();
        let started = std::time::Instant::now();
        let file = read_all(spec, text.as_bytes(), &no_aliases()).expect("read");
        let owned = started.elapsed();
        println!("1M rows: streamed {streamed:?}, owned {owned:?}, {bytes} value bytes");
        assert_eq!((count, file.rows.len()), (1_000_000, 1_000_000));
        assert!(owned.as_secs_f64() < 2.0, "{owned:?}");
    }
}
