//! Reading the state's answer to an upload, so a run can be marked passed, warned or failed
//! from what ISES actually said rather than from the transfer alone.
//!
//! ISES answers every processed Load File with a Load Results Report (`R_…html`, spec 2.3.2
//! and Appendix B.4) and, when the file failed, a Load Failure File (`…_DLF_NNNNN.csv`, 2.3.3
//! and Table B-3). [`parse_load_results`] reads the first, [`parse_failure_file`] the second.
//!
//! What the seed says about the Load Results Report, and so what is read:
//! - It lists the District Number, School Number, File Name, File Status (`Success` or
//!   `Failure`), a Record Status (`Success`, `Error` or `Warning`) for records listed below the
//!   File Status, and the Schools Submitted in the Load File (B.4). The seed gives no HTML
//!   layout and names no counts; the only counts here are those of the listed records.
//! - Details of a record are the student's WSN, Collection Type, Year, Enroll Date, the Data
//!   Element, its Value, the Line, and the Reason (a link to its explanation).
//! - A record Error always means file Failure; a report claiming Success with an Error record
//!   is refused as contradictory.
//! - A file that stops on a format error gets a CSV Error Report instead, whose text is
//!   "File xxxxx erred due to CSV errors. Please contact your district staff or vendor."; it is
//!   read as a Failure of that file ([`ReportKind::CsvError`]).
//!
//! Labels are matched case-insensitively with tags stripped, entities decoded and whitespace
//! collapsed, either as a two-cell table row (`<th>File Status</th><td>Failure</td>`) or as a
//! `Label: value` line of text. The record table is the one whose header row names a WSN and
//! a Reason column; the schools are the rows after a cell naming "Schools Submitted".
//!
//! The Load Failure File is read with the same tolerance for the spec's typography (curly
//! quotes become ASCII ones, stray spaces and quotes around a value are dropped) but strictly
//! in structure: `01` first, `02` before its `03` rows, and `"04","EOF"` last; a file without
//! the trailer is truncated. REASON_CODE is split on `;` (as [`failure`](mod@crate::failure)
//! writes it) and DPI's numeric codes are kept as text.

use crate::error::IsesError;

const REPORT: &str = "Load Results Report";
const FAILURE_FILE: &str = "Load Failure File";

/// A Load File's status in the Load Results Report (B.4): all records inserted, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// The file loaded; it says nothing about the later lock validation (2.3.2).
    Success,
    /// No record was inserted; the whole file must be resubmitted.
    Failure,
}

/// A record's status in the report or the failure file (B.3 STATUS, B.4 Record Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordStatus {
    Success,
    Warning,
    Error,
}

impl RecordStatus {
    /// `SUCCESS`, `WARNING` or `ERROR`, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "SUCCESS" => Some(Self::Success),
            "WARNING" => Some(Self::Warning),
            "ERROR" => Some(Self::Error),
            _ => None,
        }
    }

    /// The spec's spelling (`SUCCESS`, `WARNING`, `ERROR`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// What the run's status should be from the state's answer: failed on Failure, warning when
/// the file loaded but a record carries a Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Warning,
    Failure,
}

/// Which of B.4's two reports the HTML is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The Load Results Report proper.
    LoadResults,
    /// The CSV Error Report: the file could not even be read as CSV.
    CsvError,
}

/// One record listed in the Load Results Report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportRecord {
    pub wsn_id: String,
    pub collection_type: String,
    pub year: String,
    pub enroll_date: String,
    pub data_element: String,
    pub data_element_value: String,
    pub line: String,
    /// `Error` when the report has no Record Status column (it lists only errors, B.4).
    pub status: Option<RecordStatus>,
    /// The Reason as shown (DPI's code or text), kept as text.
    pub reason: String,
    /// Where the Reason links to, when it is a link.
    pub reason_link: Option<String>,
}

impl ReportRecord {
    /// The record's status, `Error` when the report gave none (only errors are listed).
    pub fn effective_status(&self) -> RecordStatus {
        self.status.unwrap_or(RecordStatus::Error)
    }
}

/// A problem with the file as a whole (its header, name or sequence number), listed in the
/// report's table of file errors: a header row naming a Code and a Detail column.
/// The seed names no such table; it is read so that a Failure with no record listed still
/// says why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileError {
    pub code: String,
    pub rule: String,
    pub detail: String,
}

/// The Load Results Report, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadResults {
    pub kind: ReportKind,
    pub district: Option<String>,
    pub school: Option<String>,
    /// The Load File the report answers.
    pub file_name: String,
    pub file_status: FileStatus,
    pub records: Vec<ReportRecord>,
    /// Problems with the file as a whole, when the report lists any.
    pub file_errors: Vec<FileError>,
    pub schools: Vec<String>,
    /// The CSV Error Report's message, as shown.
    pub message: Option<String>,
}

impl LoadResults {
    /// The run's status from this report.
    pub fn outcome(&self) -> Outcome {
        if self.file_status == FileStatus::Failure {
            Outcome::Failure
        } else if self
            .records
            .iter()
            .any(|r| r.effective_status() == RecordStatus::Warning)
        {
            Outcome::Warning
        } else {
            Outcome::Success
        }
    }

    /// How many listed records have `status`.
    pub fn count(&self, status: RecordStatus) -> usize {
        self.records
            .iter()
            .filter(|r| r.effective_status() == status)
            .count()
    }
}

/// The `01` header of a Load Failure File: the Load File's, echoed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailureHeader {
    pub dtg: String,
    pub seq_num: String,
    pub collection: String,
    pub district: String,
}

/// A `02` school record of a Load Failure File.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureSchool {
    pub school: String,
    pub record_type: String,
    pub year: String,
}

/// A `03` row of a Load Failure File: one removal (or one reason of it, in the seed's example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRow {
    /// The `02` school the row follows.
    pub school: String,
    pub wsn_id: String,
    pub enroll_date: String,
    pub year_incident: String,
    pub incident_date: String,
    pub removal_start_date: String,
    pub incident_id: String,
    pub removal_id: String,
    pub status: RecordStatus,
    /// REASON_CODE split on `;`, each kept as text (`"18"`, `"D8-REMOVAL-TYPE"`).
    pub reason_codes: Vec<String>,
}

/// A Load Failure File (Table B-3), as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureFile {
    pub header: FailureHeader,
    pub schools: Vec<FailureSchool>,
    pub rows: Vec<FailureRow>,
}

impl FailureFile {
    /// The worst row status (`Success` for a file with no rows).
    pub fn worst_status(&self) -> RecordStatus {
        self.rows
            .iter()
            .map(|r| r.status)
            .max()
            .unwrap_or(RecordStatus::Success)
    }

    /// How many rows have `status`.
    pub fn count(&self, status: RecordStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// Reads a Load Results Report (or a CSV Error Report) from its HTML.
pub fn parse_load_results(html: &str) -> Result<LoadResults, IsesError> {
    let doc = Document::parse(html);
    let missing = |what: &str| IsesError::ResponseMissing {
        document: REPORT,
        what: what.to_owned(),
    };
    let malformed = |reason: String| IsesError::ResponseMalformed {
        document: REPORT,
        reason,
    };

    let district = doc.label(&["district number", "district", "district code"]);
    let school = doc.label(&["school number", "school", "school code"]);
    let labelled_name = doc.label(&["file name", "filename", "load file", "file"]);
    let labelled_status = doc.label(&["file status"]);

    let csv_error = doc.csv_error();
    let kind = if csv_error.is_some() {
        ReportKind::CsvError
    } else {
        ReportKind::LoadResults
    };

    let file_status = match labelled_status.as_deref() {
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "success" => FileStatus::Success,
            "failure" | "failed" => FileStatus::Failure,
            _ => {
                return Err(malformed(format!(
                    "File Status {text:?} is neither Success nor Failure"
                )));
            }
        },
        None if csv_error.is_some() => FileStatus::Failure,
        None => return Err(missing("File Status")),
    };

    let (file_name, message) = match &csv_error {
        Some((name, message)) => (
            labelled_name.or_else(|| name.clone()),
            Some(message.clone()),
        ),
        None => (labelled_name, None),
    };
    let file_name = file_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing("File Name"))?;

    if kind == ReportKind::LoadResults {
        if district.is_none() {
            return Err(missing("District Number"));
        }
        if school.is_none() {
            return Err(missing("School Number"));
        }
    } else if file_status == FileStatus::Success {
        return Err(malformed(
            "a CSV Error Report with File Status Success".to_owned(),
        ));
    }

    let records = doc.records()?;
    if file_status == FileStatus::Success
        && records
            .iter()
            .any(|r| r.effective_status() == RecordStatus::Error)
    {
        return Err(malformed(
            "File Status Success with a record Error (a record Error always fails the file)"
                .to_owned(),
        ));
    }

    Ok(LoadResults {
        kind,
        district,
        school,
        file_name,
        file_status,
        records,
        file_errors: doc.file_errors(),
        schools: doc.schools(),
        message,
    })
}

/// Reads a Load Failure File (Table B-3).
pub fn parse_failure_file(bytes: &[u8]) -> Result<FailureFile, IsesError> {
    let text = normalize_quotes(&decode(bytes));
    let malformed = |reason: String| IsesError::ResponseMalformed {
        document: FAILURE_FILE,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());

    let mut header: Option<FailureHeader> = None;
    let mut schools: Vec<FailureSchool> = Vec::new();
    let mut rows = Vec::new();
    let mut records = 0usize;
    let mut ended = false;
    for result in reader.records() {
        let record = result.map_err(|e| malformed(format!("unreadable CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let fields: Vec<String> = record.iter().map(clean_field).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if ended {
            return Err(malformed(format!(
                "line {line}: a record after the \"04\",\"EOF\" trailer"
            )));
        }
        records += 1;
        let tag = fields[0].as_str();
        let need = |n: usize, what: &str| {
            if fields.len() < n {
                Err(malformed(format!(
                    "line {line}: the {what} record has {} fields, {n} expected",
                    fields.len()
                )))
            } else {
                Ok(())
            }
        };
        match tag {
            "01" => {
                if header.is_some() {
                    return Err(malformed(format!("line {line}: a second 01 header")));
                }
                need(5, "01 header")?;
                header = Some(FailureHeader {
                    dtg: fields[1].clone(),
                    seq_num: fields[2].clone(),
                    collection: fields[3].clone(),
                    district: fields[4].clone(),
                });
            }
            _ if header.is_none() => {
                return Err(IsesError::ResponseMissing {
                    document: FAILURE_FILE,
                    what: format!("the 01 header (line {line} is a {tag:?} record)"),
                });
            }
            "02" => {
                need(4, "02 school")?;
                schools.push(FailureSchool {
                    school: fields[1].clone(),
                    record_type: fields[2].clone(),
                    year: fields[3].clone(),
                });
            }
            "03" => {
                need(9, "03 student")?;
                let school = schools.last().map(|s| s.school.clone()).ok_or_else(|| {
                    malformed(format!("line {line}: a 03 record before any 02 school"))
                })?;
                let status = RecordStatus::parse(&fields[8]).ok_or_else(|| {
                    malformed(format!(
                        "line {line}: STATUS {:?} is not SUCCESS, ERROR or WARNING",
                        fields[8]
                    ))
                })?;
                let reason_codes = fields
                    .get(9)
                    .map(|codes| {
                        codes
                            .split(';')
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                rows.push(FailureRow {
                    school,
                    wsn_id: fields[1].clone(),
                    enroll_date: fields[2].clone(),
                    year_incident: fields[3].clone(),
                    incident_date: fields[4].clone(),
                    removal_start_date: fields[5].clone(),
                    incident_id: fields[6].clone(),
                    removal_id: fields[7].clone(),
                    status,
                    reason_codes,
                });
            }
            "04" => {
                if fields.get(1).map(String::as_str) != Some("EOF") {
                    return Err(malformed(format!(
                        "line {line}: the 04 record is not \"04\",\"EOF\""
                    )));
                }
                ended = true;
            }
            other => {
                return Err(malformed(format!(
                    "line {line}: unknown record type {other:?}"
                )));
            }
        }
    }
    let header = header.ok_or_else(|| IsesError::ResponseMissing {
        document: FAILURE_FILE,
        what: "the 01 header (the file is empty)".to_owned(),
    })?;
    if !ended {
        return Err(IsesError::ResponseTruncated {
            document: FAILURE_FILE,
            records,
        });
    }
    Ok(FailureFile {
        header,
        schools,
        rows,
    })
}

/// UTF-8, else Windows-1252 (whose 0x91–0x94 are the curly quotes), without a byte-order mark.
fn decode(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| match b {
                0x91 => '\u{2018}',
                0x92 => '\u{2019}',
                0x93 => '\u{201C}',
                0x94 => '\u{201D}',
                other => char::from(other),
            })
            .collect(),
    };
    text.strip_prefix('\u{FEFF}').unwrap_or(&text).to_owned()
}

/// Curly and low double/single quotes become their ASCII forms.
fn normalize_quotes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => '"',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            other => other,
        })
        .collect()
}

/// A field without the stray spaces and quotes of the spec's typesetting (`" 2223334444"`,
/// ` "2007"`, `09/02/2007"`).
fn clean_field(field: &str) -> String {
    field
        .trim_matches(|c: char| c == '"' || c.is_whitespace())
        .to_owned()
}

/// A table cell: its text (tags stripped, entities decoded, whitespace collapsed) and the
/// first link in it.
#[derive(Debug, Default, Clone)]
struct Cell {
    text: String,
    link: Option<String>,
}

type Row = Vec<Cell>;

/// The parts of the HTML the report is read from: its tables and its lines of text.
#[derive(Debug, Default)]
struct Document {
    tables: Vec<Vec<Row>>,
    lines: Vec<String>,
}

impl Document {
    fn parse(html: &str) -> Self {
        let mut doc = Document::default();
        // Open tables (nested tables each collect their own rows).
        let mut open: Vec<Vec<Row>> = Vec::new();
        let mut cell: Option<Cell> = None;
        let mut line = String::new();
        let mut rest = html;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                push_text(&mut line, &mut cell, rest);
                break;
            };
            push_text(&mut line, &mut cell, &rest[..lt]);
            rest = &rest[lt..];
            if let Some(after) = rest.strip_prefix("<!--") {
                rest = after.find("-->").map_or("", |end| &after[end + 3..]);
                continue;
            }
            let Some(gt) = rest.find('>') else {
                break;
            };
            let tag = &rest[1..gt];
            rest = &rest[gt + 1..];
            let closing = tag.starts_with('/');
            let body = tag.trim_start_matches('/');
            let name: String = body
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            match (name.as_str(), closing) {
                ("script" | "style", false) => {
                    let end = format!("</{name}");
                    let lower = rest.to_ascii_lowercase();
                    rest = lower.find(&end).map_or("", |at| &rest[at..]);
                }
                ("table", false) => {
                    end_line(&mut doc.lines, &mut line);
                    open.push(Vec::new());
                }
                ("table", true) => {
                    finish_cell(&mut open, &mut cell);
                    end_line(&mut doc.lines, &mut line);
                    if let Some(table) = open.pop() {
                        doc.tables.push(table);
                    }
                }
                ("tr", _) => {
                    finish_cell(&mut open, &mut cell);
                    end_line(&mut doc.lines, &mut line);
                    if !closing && let Some(table) = open.last_mut() {
                        table.push(Vec::new());
                    }
                }
                ("td" | "th", false) => {
                    finish_cell(&mut open, &mut cell);
                    if !line.trim().is_empty() {
                        line.push('\t');
                    }
                    cell = Some(Cell::default());
                }
                ("td" | "th", true) => finish_cell(&mut open, &mut cell),
                ("a", false) => {
                    if let Some(c) = cell.as_mut()
                        && c.link.is_none()
                    {
                        c.link = attribute(body, "href");
                    }
                }
                (
                    "br" | "p" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5"
                    | "h6" | "body" | "html" | "title" | "caption" | "thead" | "tbody",
                    _,
                ) => {
                    end_line(&mut doc.lines, &mut line);
                }
                _ => {}
            }
        }
        finish_cell(&mut open, &mut cell);
        end_line(&mut doc.lines, &mut line);
        doc.tables.extend(open);
        for table in &mut doc.tables {
            for row in table.iter_mut() {
                for c in row.iter_mut() {
                    c.text = collapse(&c.text);
                }
            }
        }
        doc
    }

    /// The value given to the first of `labels` found: a two-cell row, else a `Label: value`
    /// line.
    fn label(&self, labels: &[&str]) -> Option<String> {
        for wanted in labels {
            for table in &self.tables {
                for row in table {
                    let cells: Vec<&Cell> = row.iter().filter(|c| !c.text.is_empty()).collect();
                    if cells.len() == 2 && normal_label(&cells[0].text) == *wanted {
                        return Some(cells[1].text.clone());
                    }
                }
            }
            for line in &self.lines {
                if let Some((label, value)) = line.split_once(':')
                    && normal_label(label) == *wanted
                {
                    let value = collapse(value);
                    if !value.is_empty() {
                        return Some(value);
                    }
                }
            }
        }
        None
    }

    /// The CSV Error Report's file name and message, when this is one.
    fn csv_error(&self) -> Option<(Option<String>, String)> {
        let all = self.lines.join(" ");
        let lower = all.to_ascii_lowercase();
        let at = lower.find("erred due to csv errors")?;
        let start = lower[..at].rfind("file ").unwrap_or(0);
        let message = all[start..].trim().to_owned();
        let name = all[start..at]
            .trim()
            .strip_prefix("File ")
            .or_else(|| all[start..at].trim().strip_prefix("file "))
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        Some((name, message))
    }

    /// The listed records: rows after a header row naming a WSN and a Reason column.
    fn records(&self) -> Result<Vec<ReportRecord>, IsesError> {
        let mut records = Vec::new();
        for table in &self.tables {
            let mut columns: Option<Vec<Column>> = None;
            for row in table {
                let names: Vec<String> = row.iter().map(|c| c.text.to_ascii_lowercase()).collect();
                if names.iter().any(|n| n.contains("wsn")) && names.iter().any(|n| n == "reason") {
                    columns = Some(names.iter().map(|n| Column::of(n)).collect());
                    continue;
                }
                let Some(columns) = &columns else { continue };
                if row.iter().all(|c| c.text.is_empty()) {
                    continue;
                }
                let mut record = ReportRecord::default();
                for (column, cell) in columns.iter().zip(row) {
                    let text = cell.text.clone();
                    match column {
                        Column::Wsn => record.wsn_id = text,
                        Column::Collection => record.collection_type = text,
                        Column::Year => record.year = text,
                        Column::Enroll => record.enroll_date = text,
                        Column::Element => record.data_element = text,
                        Column::Value => record.data_element_value = text,
                        Column::Line => record.line = text,
                        Column::Status => {
                            record.status = Some(RecordStatus::parse(&text).ok_or_else(|| {
                                IsesError::ResponseMalformed {
                                    document: REPORT,
                                    reason: format!(
                                        "Record Status {text:?} is not Success, Error or Warning"
                                    ),
                                }
                            })?);
                        }
                        Column::Reason => {
                            record.reason = text;
                            record.reason_link = cell.link.clone();
                        }
                        Column::Other => {}
                    }
                }
                if record.wsn_id.is_empty() {
                    return Err(IsesError::ResponseMissing {
                        document: REPORT,
                        what: format!("the WSN of a listed record (reason {:?})", record.reason),
                    });
                }
                if record.reason.is_empty() && record.effective_status() != RecordStatus::Success {
                    return Err(IsesError::ResponseMissing {
                        document: REPORT,
                        what: format!("the Reason of the record for WSN {}", record.wsn_id),
                    });
                }
                records.push(record);
            }
        }
        Ok(records)
    }

    /// The file errors: rows after a header row naming a Code and a Detail column (a legend of
    /// reason codes, Code and Rule alone, is not a list of errors).
    fn file_errors(&self) -> Vec<FileError> {
        let mut errors = Vec::new();
        for table in &self.tables {
            let mut columns: Option<(usize, Option<usize>, Option<usize>)> = None;
            for row in table {
                let names: Vec<String> = row.iter().map(|c| c.text.to_ascii_lowercase()).collect();
                let find = |name: &str| names.iter().position(|n| n == name);
                if let Some(code) = find("code")
                    && find("detail").is_some()
                {
                    columns = Some((code, find("rule"), find("detail")));
                    continue;
                }
                let Some((code, rule, detail)) = columns else {
                    continue;
                };
                let cell = |i: Option<usize>| {
                    i.and_then(|i| row.get(i))
                        .map(|c| c.text.clone())
                        .unwrap_or_default()
                };
                let error = FileError {
                    code: cell(Some(code)),
                    rule: cell(rule),
                    detail: cell(detail),
                };
                if !(error.code.is_empty() && error.rule.is_empty() && error.detail.is_empty()) {
                    errors.push(error);
                }
            }
        }
        errors
    }

    /// The Schools Submitted: the cells after one naming them, or a labelled list.
    fn schools(&self) -> Vec<String> {
        let mut schools = Vec::new();
        for table in &self.tables {
            let mut listing = false;
            for row in table {
                let texts: Vec<&str> = row
                    .iter()
                    .map(|c| c.text.as_str())
                    .filter(|t| !t.is_empty())
                    .collect();
                if texts
                    .iter()
                    .any(|t| t.to_ascii_lowercase().contains("schools submitted"))
                {
                    listing = true;
                    continue;
                }
                if listing && let Some(first) = texts.first() {
                    schools.push((*first).to_owned());
                }
            }
        }
        if schools.is_empty()
            && let Some(list) =
                self.label(&["schools submitted", "schools submitted in the load file"])
        {
            schools = list
                .split([',', ' ', ';'])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        schools
    }
}

/// A record-table column, known by its header text.
enum Column {
    Wsn,
    Collection,
    Year,
    Enroll,
    Element,
    Value,
    Line,
    Status,
    Reason,
    Other,
}

impl Column {
    fn of(name: &str) -> Self {
        if name.contains("wsn") {
            Self::Wsn
        } else if name.contains("collection") {
            Self::Collection
        } else if name.contains("enroll") {
            Self::Enroll
        } else if name == "year" {
            Self::Year
        } else if name.contains("value") {
            Self::Value
        } else if name.contains("element") {
            Self::Element
        } else if name == "line" {
            Self::Line
        } else if name.contains("status") {
            Self::Status
        } else if name.contains("reason") {
            Self::Reason
        } else {
            Self::Other
        }
    }
}

fn push_text(line: &mut String, cell: &mut Option<Cell>, raw: &str) {
    let text = decode_entities(raw);
    line.push_str(&text);
    if let Some(c) = cell.as_mut() {
        c.text.push_str(&text);
    }
}

fn finish_cell(open: &mut [Vec<Row>], cell: &mut Option<Cell>) {
    if let Some(done) = cell.take()
        && let Some(table) = open.last_mut()
    {
        if table.is_empty() {
            table.push(Vec::new());
        }
        if let Some(row) = table.last_mut() {
            row.push(done);
        }
    }
}

fn end_line(lines: &mut Vec<String>, line: &mut String) {
    let text = collapse(line);
    if !text.is_empty() {
        lines.push(text);
    }
    line.clear();
}

/// Whitespace (including non-breaking spaces) collapsed to single spaces, trimmed.
fn collapse(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{A0}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A label as compared: lower case, collapsed, without a trailing colon.
fn normal_label(text: &str) -> String {
    collapse(text)
        .trim_end_matches(':')
        .trim()
        .to_ascii_lowercase()
}

/// The value of attribute `name` in a tag's text, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let text = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value.split(char::is_whitespace).next().unwrap_or(""),
        };
        return Some(decode_entities(text));
    }
    None
}

/// HTML character references: the common named ones and numeric ones; anything else is kept.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity.to_ascii_lowercase().as_str() {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
