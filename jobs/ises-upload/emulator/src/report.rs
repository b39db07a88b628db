//! Writing the answers: the Load Results Report and the CSV Error Report (B.4, HTML), the Load
//! Failure File (B.3, CSV) and the CSV error's `.ERR` detail. The layouts are described in the
//! crate's README; the HTML is the shape the ises-upload job's `parse_load_results` reads.

use std::fmt::Write as _;

use crate::load::{CsvError, LoadFile};
use crate::names::LoadFileName;
use crate::rules::{Checked, FileError, Finding, Status, Target};

/// One row of the report's record table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub wsn: String,
    pub collection: String,
    pub year: String,
    pub enroll_date: String,
    pub element: String,
    pub value: String,
    pub line: u64,
    pub status: Status,
    pub reason: String,
}

/// The record table's rows: one per finding, a school-level finding once per incident of the
/// school (the report lists students, and only a student's record has a WSN).
pub fn report_rows(file: &LoadFile, checked: &Checked) -> Vec<ReportRow> {
    let mut rows = Vec::new();
    for f in &checked.findings {
        let (si, incidents): (usize, Vec<usize>) = match f.target {
            Target::School(si) => (si, (0..file.schools[si].incidents.len()).collect()),
            Target::Incident(si, ii) | Target::Removal(si, ii, _) => (si, vec![ii]),
        };
        let school = &file.schools[si];
        for ii in incidents {
            let incident = &school.incidents[ii];
            rows.push(ReportRow {
                wsn: incident.wsn_id.clone(),
                collection: file.header.collection.clone(),
                year: school.year.clone(),
                enroll_date: incident.enroll_date.clone(),
                element: f.element.to_owned(),
                value: f.value.clone(),
                line: f.line,
                status: f.status,
                reason: f.reason.to_owned(),
            });
        }
    }
    rows
}

/// HTML text with `< > & " '` escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Error => "Error",
        Status::Warning => "Warning",
    }
}

/// The business rule behind a reason code, for the report's Reasons list (the Reason links
/// there, as B.4's Reason "is a link to a further explanation").
pub fn reason_text(code: &str) -> &'static str {
    match code {
        "1" => "DAYS_REMOVED_CURRENT_TERM is required; decimal values may be .0 or .5.",
        "10" => {
            "EARLY_REINSTATE_CONDITIONS must be 'Y' or 'N'; expected only when REMOVAL_TYPE = 'EX'."
        }
        "13" => "ENG_PROF_CODE must be a valid English Proficiency Code (D.1).",
        "17" => "ENROLL_DATE is required when YEAR_INCIDENT = YEAR.",
        "18" => {
            "If YEAR_INCIDENT = YEAR, the record must match an existing WSLS record for this DISTRICT, SCHOOL, WSN_ID and ENROLL_DATE."
        }
        "20" => "EXPULSION_RETURN_YEAR: FORMAT YYYY; expected only when REMOVAL_TYPE = 'EX'.",
        "29" => "INCIDENT_DATE must be provided when YEAR_INCIDENT = YEAR.",
        "31" => {
            "MODIFIED_TERM must be a valid Modified Term Code (D.9), 'Y' not after 2006-07; expected only when REMOVAL_TYPE = 'EX'."
        }
        "34" => "PRIM_DISAB must be a valid Primary Disability Code (D.5).",
        "41" => "INCIDENT_TYPE_PRIMARY must be a valid Primary Incident Type (D.2).",
        "45" => "REMOVAL_START_DATE is required: FORMAT MM/DD/YYYY or MM-DD-YYYY.",
        "46" => {
            "REMOVAL_START_DATE must be on or after INCIDENT_DATE, on or after 7/1 of YEAR - 1 and by the 10th day after the term start of YEAR."
        }
        "49" => "REMOVAL_TYPE must be a valid Removal Type (D.8).",
        "53" => {
            "RETURN_TO_SCHOOL must be 'Y' or 'N'; expected only when REMOVAL_TYPE = 'EX' and EXPULSION_RETURN_YEAR = YEAR."
        }
        "56" => "SCHOOL must be a valid School Code from the DPI table.",
        "57" => "SCHOOL: FORMAT 0009, leading zeroes.",
        "59" => "INCIDENT_TYPE_SECONDARY must be a valid Secondary Incident Type (D.2).",
        "60" => "SERIOUS_BODILY_INJURY must be 'Y' or 'N'.",
        "63" => "SERVICES_PROVIDED must be 'Y' or 'N'; expected only when REMOVAL_TYPE = 'EX'.",
        "68" => "The record must be unique based on the criteria of Appendix A.4.",
        "69" => "RECORD_TYPE must be 'D'.",
        "70" => "YEAR: FORMAT YYYY.",
        "71" => "YEAR_INCIDENT: FORMAT YYYY.",
        "72" => {
            "YEAR_INCIDENT must be equal to or less than YEAR; if less, INCIDENT_DATE or INCIDENT_ID must identify the prior record."
        }
        "73" => "WSN_ID: FORMAT 0000000009.",
        "74" => "ENROLL_DATE: FORMAT MM/DD/YYYY or MM-DD-YYYY.",
        "75" => "INCIDENT_DATE: FORMAT MM/DD/YYYY or MM-DD-YYYY.",
        "76" => "INCIDENT_TYPE_PRIMARY: at most 2 characters.",
        "77" => "INCIDENT_TYPE_SECONDARY: at most 2 characters.",
        "78" => "INCIDENT_ID: at most 16 characters.",
        "79" => {
            "YEAR_REMOVAL_TYPE: FORMAT YYYY, equal to or greater than YEAR_INCIDENT and at most YEAR + 1."
        }
        "80" => "REMOVAL_ID: at most 16 characters.",
        "DTG" => "DTG: FORMAT MM-DD-YYYY HH:MM:SS CST, 24-hour Central Standard Time (B.1).",
        "SEQ_NUM" => {
            "SEQ_NUM: FORMAT 00009; must match the sequence number of the file name (A.2)."
        }
        "COLLECTION" => "COLLECTION must be 'YED' (B.1).",
        "DISTRICT" => "DISTRICT: FORMAT 0009; must be the file name's district (B.1).",
        "SCHOOL_SCOPE" => {
            "The file name's school code is 0000 exactly when the file holds more than one school (2.3.1.1)."
        }
        "SEQ_NUM_REUSED" => "Each file, and each re-submittal, takes a new sequence number (A.2).",
        _ => "",
    }
}

fn now_row(html: &mut String, label: &str, value: &str) {
    let _ = writeln!(
        html,
        "<tr><th>{}</th><td>{}</td></tr>",
        esc(label),
        esc(value)
    );
}

/// The Load Results Report.
pub fn load_results_html(
    name: &LoadFileName,
    file: &LoadFile,
    checked: &Checked,
    rows: &[ReportRow],
    failure: bool,
    processed: &str,
) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html>\n<head><meta charset=\"us-ascii\"><title>ISES Discipline Load Results Report</title></head>\n<body>\n<h1>Load Results Report</h1>\n<table class=\"summary\">\n");
    now_row(&mut html, "District Number", &name.district);
    now_row(&mut html, "School Number", &name.school);
    now_row(&mut html, "File Name", &name.name);
    now_row(
        &mut html,
        "File Status",
        if failure { "Failure" } else { "Success" },
    );
    now_row(&mut html, "Processed", processed);
    html.push_str("</table>\n");

    if !checked.file_errors.is_empty() {
        html.push_str("<h2>File Errors</h2>\n<table class=\"file-errors\">\n<tr><th>Code</th><th>Rule</th><th>Detail</th></tr>\n");
        for FileError { reason, message } in &checked.file_errors {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(reason),
                esc(reason_text(reason)),
                esc(message)
            );
        }
        html.push_str("</table>\n");
    }

    html.push_str("<h2>Record Status</h2>\n<table class=\"records\">\n<tr><th>WSN</th><th>Collection Type</th><th>Year</th><th>Enroll Date</th><th>Data Element</th><th>Data Element Value</th><th>Line</th><th>Record Status</th><th>Reason</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"#reason-{}\">{}</a></td></tr>",
            esc(&r.wsn),
            esc(&r.collection),
            esc(&r.year),
            esc(&r.enroll_date),
            esc(&r.element),
            esc(&r.value),
            r.line,
            status_text(r.status),
            esc(&r.reason),
            esc(&r.reason)
        );
    }
    html.push_str("</table>\n");

    let mut codes: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    if !codes.is_empty() {
        html.push_str("<h2>Reasons</h2>\n<table class=\"reasons\">\n<tr><th>Code</th><th>Rule</th><th>Source</th></tr>\n");
        for code in codes {
            let _ = writeln!(
                html,
                "<tr id=\"reason-{}\"><td>{}</td><td>{}</td><td>Table B-2 Cross Reference</td></tr>",
                esc(code),
                esc(code),
                esc(reason_text(code))
            );
        }
        html.push_str("</table>\n");
    }

    html.push_str("<h2>Schools Submitted in the Load File</h2>\n<table class=\"schools\">\n<tr><th>Schools Submitted</th></tr>\n");
    for s in &file.schools {
        let _ = writeln!(html, "<tr><td>{}</td></tr>", esc(&s.school));
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

/// The CSV Error Report (B.4): the summary rows and the spec's sentence, last on the page.
pub fn csv_error_html(name: &LoadFileName, err_name: &str, processed: &str) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html>\n<head><meta charset=\"us-ascii\"><title>ISES Discipline CSV Error Report</title></head>\n<body>\n<h1>CSV Error Report</h1>\n<table class=\"summary\">\n");
    now_row(&mut html, "District Number", &name.district);
    now_row(&mut html, "School Number", &name.school);
    now_row(&mut html, "File Name", &name.name);
    now_row(&mut html, "File Status", "Failure");
    now_row(&mut html, "Processed", processed);
    now_row(&mut html, "Details", err_name);
    html.push_str("</table>\n");
    let _ = writeln!(
        html,
        "<p>File {} erred due to CSV errors. Please contact your district staff or vendor.</p>",
        esc(&name.name)
    );
    html.push_str("</body>\n</html>\n");
    html
}

/// The `.ERR` detail of a CSV error.
pub fn err_text(name: &LoadFileName, error: &CsvError) -> String {
    let at = if error.line == 0 {
        String::new()
    } else {
        format!("line {}: ", error.line)
    };
    format!(
        "File {} erred due to CSV errors.\r\n{at}{}\r\n",
        name.name, error.detail
    )
}

fn quoted_line(out: &mut Vec<u8>, fields: &[&str]) {
    let line: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    out.extend_from_slice(line.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The findings that apply to removal `ri` of incident `ii` of school `si` (`ri` = `None` for
/// an incident without removals): its own, its incident's and its school's.
fn applicable(findings: &[Finding], si: usize, ii: usize, ri: Option<usize>) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| match f.target {
            Target::School(s) => s == si,
            Target::Incident(s, i) => s == si && i == ii,
            Target::Removal(s, i, r) => s == si && i == ii && Some(r) == ri,
        })
        .collect()
}

/// The Load Failure File (Table B-3): the Load File's header, a `02` per school, `03` rows per
/// removal (one per error reason; one `WARNING` or `SUCCESS` row otherwise), `"04","EOF"`.
pub fn failure_file(file: &LoadFile, checked: &Checked) -> Vec<u8> {
    let mut out = Vec::new();
    let h = &file.header;
    quoted_line(
        &mut out,
        &["01", &h.dtg, &h.seq_num, &h.collection, &h.district],
    );
    for (si, s) in file.schools.iter().enumerate() {
        quoted_line(&mut out, &["02", &s.school, "D", &s.year]);
        for (ii, i) in s.incidents.iter().enumerate() {
            let mut removals: Vec<(Option<usize>, &str, &str)> = i
                .removals
                .iter()
                .enumerate()
                .map(|(ri, r)| (Some(ri), r.start_date.as_str(), r.removal_id.as_str()))
                .collect();
            if removals.is_empty() {
                removals.push((None, "", ""));
            }
            for (ri, start, removal_id) in removals {
                let found = applicable(&checked.findings, si, ii, ri);
                let mut errors: Vec<&str> = Vec::new();
                for f in found.iter().filter(|f| f.status == Status::Error) {
                    if !errors.contains(&f.reason) {
                        errors.push(f.reason);
                    }
                }
                let statuses: Vec<(&str, &str)> = if !errors.is_empty() {
                    errors.into_iter().map(|code| ("ERROR", code)).collect()
                } else if found.iter().any(|f| f.status == Status::Warning) {
                    vec![("WARNING", "")]
                } else {
                    vec![("SUCCESS", "")]
                };
                for (status, code) in statuses {
                    quoted_line(
                        &mut out,
                        &[
                            "03",
                            &i.wsn_id,
                            &i.enroll_date,
                            &i.year_incident,
                            &i.incident_date,
                            start,
                            &i.incident_id,
                            removal_id,
                            status,
                            code,
                        ],
                    );
                }
            }
        }
    }
    quoted_line(&mut out, &["04", "EOF"]);
    out
}
