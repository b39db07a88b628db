//! The job's own Load Failure File (spec Appendix B.3, Table B-3), written when local validation
//! fails a Load File so the district gets, before anything is uploaded, the same per-record
//! answer ISES would send back: every removal with a STATUS and the reason codes that broke it.
//!
//! Layout: the Load File's `01` header, a `02` per school, one `03` row per removal, `"04","EOF"`;
//! ASCII double quotes, CR LF line ends and the Load File's field formatting
//! ([`write`](mod@crate::write)'s functions). A `03` row holds, in Table B-3's order, WSN_ID,
//! ENROLL_DATE, YEAR_INCIDENT, INCIDENT_DATE, REMOVAL_START_DATE, INCIDENT_ID, REMOVAL_ID, STATUS
//! and REASON_CODE.
//!
//! STATUS and REASON_CODE, as this job documents them:
//! - A removal's findings are those naming its incident and its removal label (REMOVAL_ID, or
//!   `#n`, its 1-based position in the incident, when it has none, as
//!   [`validate`](crate::validate::validate) labels it); incident-level findings (no
//!   `removal_id`) apply to each of that incident's removals; file-level findings (the header
//!   and `02` records, empty `incident_key`) apply to every removal, since those records have
//!   no STATUS of their own.
//! - STATUS is the worst severity among them: `ERROR`, else `WARNING`, else `SUCCESS`.
//! - REASON_CODE is the findings' [`Finding::rule`] codes (listed in the job's README),
//!   errors' codes first then warnings', each once, in
//!   finding order, joined with `;`; `""` for SUCCESS.
//! - An incident with no removal still gets one row, its removal fields `""`, so an
//!   `INCIDENT-NO-REMOVAL` error is visible in the file.
//!
//! Where this differs from the seed spec, and why:
//! - Table B-3 lists no `01` row, yet its example starts with one; the example's header is the
//!   Load File's, which is what is written.
//! - The example repeats a record once per reason (`"ERROR","18"` then `"ERROR","47"`); the job
//!   writes one row per removal with the codes joined, so rows and removals match one to one.
//! - REASON_CODE is "only included if the STATUS = ERROR"; a WARNING row carries its warning
//!   codes too, since otherwise nothing says why it is a warning. The codes are the job's rule
//!   codes, not DPI's numeric reason codes, which the spec does not list.
//! - The example's curly quotes, its stray spaces (`" 09-01-2008…"`, `" 2223334444"`) and its
//!   missing opening quote (`09/02/2007"`) are typesetting slips; the Load File's formatting is
//!   used throughout.
//! - 2.3.3.1 names the failure file of `S_0130_0001_08202007_ISL_00002.csv`
//!   `S_0130_0001_08202007_DLF_00002.csv`; `ISL` is not a Discipline file type (the Load File is
//!   `IDL`, 2.3.2.1), so [`failure_file_name`] replaces `_IDL_` with `_DLF_` and keeps the rest.
//!
//! A `03` value that the Load File could not carry (a WSN that is not ten digits, a non-ASCII
//! or quote character) is written as the SIS holds it with each such character replaced by `?`:
//! the row's reason code names the problem and the report shows the exact value. A header or
//! school record that cannot be written is an error, as ISES likewise writes no failure file
//! for a file it cannot translate (B.3).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::error::IsesError;
use crate::record::{Incident, LoadFile, Record, Removal};
use crate::validate::{Finding, Severity};
use crate::write::{LINE_END, format_date, format_year, record_line, zero_pad};

/// The file-type tag of a Discipline Load Failure file name (2.3.3.1).
pub const FAILURE_FILE_TYPE: &str = "DLF";

/// The failure file's name: the Load File's with its `_IDL_` tag replaced by `_DLF_`
/// (`S_0130_0001_08202007_IDL_00002.csv` → `S_0130_0001_08202007_DLF_00002.csv`).
///
/// `None` when the name carries no `_IDL_` tag, rather than a guess.
pub fn failure_file_name(load_file_name: &str) -> Option<String> {
    let tag = format!("_{}_", crate::write::FILE_TYPE);
    let at = load_file_name.rfind(&tag)?;
    Some(format!(
        "{}_{FAILURE_FILE_TYPE}_{}",
        &load_file_name[..at],
        &load_file_name[at + tag.len()..]
    ))
}

/// The Table B-3 Load Failure File for `file` given its validation `findings` (see the module
/// documentation for STATUS and REASON_CODE).
pub fn failure_file(file: &LoadFile, findings: &[Finding]) -> Result<Vec<u8>, IsesError> {
    let mut file_level = Vec::new();
    let mut by_incident: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        if finding.incident_key.is_empty() {
            file_level.push(finding);
        } else {
            by_incident
                .entry(finding.incident_key.as_str())
                .or_default()
                .push(finding);
        }
    }

    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push_str(LINE_END);
    };
    line(record_line(&Record::Header(file.header()))?);
    for school in file.schools() {
        line(record_line(&Record::School(&school.school))?);
        for group in &school.incidents {
            let incident = &group.incident;
            let incident_findings = by_incident
                .get(incident.incident_key.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            if group.removals.is_empty() {
                let applying: Vec<&Finding> = file_level
                    .iter()
                    .chain(incident_findings.iter().filter(|f| f.removal_id.is_none()))
                    .copied()
                    .collect();
                line(row(incident, None, &applying));
            }
            for (index, removal) in group.removals.iter().enumerate() {
                let label = removal_label(removal, index);
                let applying: Vec<&Finding> = file_level
                    .iter()
                    .chain(incident_findings.iter().filter(|f| {
                        f.removal_id.is_none() || f.removal_id.as_deref() == Some(label.as_str())
                    }))
                    .copied()
                    .collect();
                line(row(incident, Some(removal), &applying));
            }
        }
    }
    line(quoted(&["04", "EOF"]));
    Ok(out.into_bytes())
}

/// STATUS and REASON_CODE of a record given the findings that apply to it.
pub fn status_and_reasons(findings: &[&Finding]) -> (&'static str, String) {
    let mut codes: Vec<&str> = Vec::new();
    for severity in [Severity::Error, Severity::Warning] {
        for finding in findings.iter().filter(|f| f.severity == severity) {
            if !codes.contains(&finding.rule) {
                codes.push(finding.rule);
            }
        }
    }
    let status = if findings.iter().any(|f| f.severity == Severity::Error) {
        "ERROR"
    } else if findings.is_empty() {
        "SUCCESS"
    } else {
        "WARNING"
    };
    (status, codes.join(";"))
}

/// The label validation gives a removal: its REMOVAL_ID, or `#n` when it has none.
fn removal_label(removal: &Removal, index: usize) -> String {
    match removal.removal_id.as_deref() {
        None | Some("") => format!("#{}", index + 1),
        Some(id) => id.to_owned(),
    }
}

fn row(incident: &Incident, removal: Option<&Removal>, findings: &[&Finding]) -> String {
    let (status, reasons) = status_and_reasons(findings);
    let start = removal.map(|r| date("REMOVAL_START_DATE", Some(r.removal_start_date)));
    let removal_id = removal.and_then(|r| r.removal_id.clone());
    let fields = [
        "03".to_owned(),
        zero_pad("WSN_ID", &incident.wsn_id, 10).unwrap_or_else(|_| incident.wsn_id.clone()),
        date("ENROLL_DATE", incident.enroll_date),
        format_year("YEAR_INCIDENT", incident.year_incident)
            .unwrap_or_else(|_| incident.year_incident.to_string()),
        date("INCIDENT_DATE", incident.incident_date),
        start.unwrap_or_default(),
        incident.incident_id.clone().unwrap_or_default(),
        removal_id.unwrap_or_default(),
        status.to_owned(),
        reasons,
    ];
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    quoted(&fields)
}

fn date(field: &'static str, value: Option<NaiveDate>) -> String {
    match value {
        Some(d) => format_date(field, d).unwrap_or_else(|_| d.format("%m/%d/%Y").to_string()),
        None => String::new(),
    }
}

/// Fields in ASCII double quotes, comma-separated; a character no quoted field can carry
/// (non-ASCII, `"`, control) becomes `?`.
fn quoted(fields: &[&str]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push('"');
        line.extend(field.chars().map(|c| {
            if !c.is_ascii() || c == '"' || c.is_ascii_control() {
                '?'
            } else {
                c
            }
        }));
        line.push('"');
    }
    line
}

#[cfg(test)]
mod tests;
