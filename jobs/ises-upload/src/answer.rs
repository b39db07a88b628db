//! Waiting for the state's answer to an upload and turning it into the run's result, so a run
//! is marked passed, warned or failed by what ISES said rather than by the transfer alone.
//!
//! ISES answers every Load File it processes with a Load Results Report named after it
//! (`R_<stem>.html`, spec 2.3.2) and, when the file failed record validation, a Load Failure
//! File (`S_DDDD_SSSS_MMDDYYYY_DLF_NNNNN.csv`, 2.3.3) whose date is the day ISES made it, so it
//! is found by district, school and sequence number. A file that stops on a CSV error gets no
//! failure file (B.3: "If translation fails the Load Failure File is not generated").
//!
//! The report is the signal: the job polls `response_dir` for it (1 s, doubling to 15 s, within
//! `response_timeout`), downloads it through the host (recorded as a file moved), and, when it
//! says Failure, waits out the rest of the timeout for the failure file. Every record the state
//! flagged becomes a problem of the run, with the state's reason code as its category, so the
//! notice and `ferry show` group them; the failure file's rows are preferred because they name
//! each removal, the report's records are used when there is no failure file.
//!
//! No answer within the timeout is not a failure of the upload: the file is on the state's
//! server and its sequence number is spent. The run ends `warning` saying where to look, and is
//! never retried into a second submission by this job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_plugin::{Context, JobError, Problem};

use crate::response::{
    FailureFile, LoadResults, Outcome, RecordStatus, ReportKind, parse_failure_file,
    parse_load_results,
};

/// The file kind under which the state's answer is listed in the run's files.
pub const RESPONSE_KIND: &str = "response";

/// The longest pause between two looks at the response folder.
const MAX_POLL: Duration = Duration::from_secs(15);

/// Where to look for the answer, and for how long.
#[derive(Debug, Clone)]
pub struct Wait<'a> {
    /// The connection the answer appears on.
    pub connection: &'a str,
    /// The folder on that connection.
    pub dir: &'a str,
    /// The uploaded Load File's name (`S_…_IDL_NNNNN.csv`).
    pub load_file: &'a str,
    /// How long to wait in all.
    pub timeout: Duration,
}

/// What came back.
#[derive(Debug)]
pub enum Answer {
    /// Nothing within the timeout.
    None { waited: Duration },
    /// The report, read, and the failure file when there is one.
    Report {
        report: Box<LoadResults>,
        report_name: String,
        failure: Option<(FailureFile, String)>,
    },
    /// The report arrived but cannot be read; it is listed in the run's files as received.
    Unreadable { report_name: String, reason: String },
}

/// `R_<stem>.html` for the Load File `name` (2.3.2.1: the report's name is the Load File's
/// with `R` for `S` and `.html` for `.csv`).
pub fn report_name(load_file: &str) -> Option<String> {
    let stem = load_file.strip_suffix(".csv")?.strip_prefix("S_")?;
    Some(format!("R_{stem}.html"))
}

/// The glob matching the failure file of the Load File `name`: same district, school and
/// sequence number, any date (the state dates it when it processes the file).
pub fn failure_pattern(load_file: &str) -> Option<String> {
    let stem = load_file.strip_suffix(".csv")?;
    let parts: Vec<&str> = stem.split('_').collect();
    match parts.as_slice() {
        ["S", district, school, _date, _kind, seq] => {
            Some(format!("S_{district}_{school}_*_DLF_{seq}.csv"))
        }
        _ => None,
    }
}

/// Polls for the report (then the failure file) until both are in or the timeout passes.
///
/// # Errors
/// [`JobError::Cancelled`] when the host stops the run; a host error other than a missing
/// folder (an unreachable server fails the wait rather than passing as "no answer").
pub fn wait(ctx: &Context, wait: &Wait<'_>) -> Result<Answer, JobError> {
    let started = Instant::now();
    let deadline = started + wait.timeout;
    let report_name = report_name(wait.load_file)
        .ok_or_else(|| JobError::msg(format!("{} is not a Load File name", wait.load_file)))?;
    let failure_pattern = failure_pattern(wait.load_file)
        .ok_or_else(|| JobError::msg(format!("{} is not a Load File name", wait.load_file)))?;
    ctx.info(format!(
        "waiting up to {} for the state's answer ({report_name}) in {}:{}",
        describe(wait.timeout),
        wait.connection,
        wait.dir
    ));

    let mut pause = Duration::from_secs(1);
    let report_path = loop {
        if let Some(path) = find(ctx, wait, &report_name)? {
            break path;
        }
        if !sleep_until_next(ctx, &mut pause, deadline)? {
            return Ok(Answer::None {
                waited: started.elapsed(),
            });
        }
    };
    let local = ctx.fetch_file(wait.connection, &report_path)?;
    ctx.file(&local, RESPONSE_KIND);
    let html = read_text(&local)?;
    let report = match parse_load_results(&html) {
        Ok(report) => report,
        Err(error) => {
            return Ok(Answer::Unreadable {
                report_name,
                reason: error.to_string(),
            });
        }
    };
    ctx.info(format!(
        "{report_name}: File Status {}",
        match report.outcome() {
            Outcome::Failure => "Failure",
            Outcome::Success | Outcome::Warning => "Success",
        }
    ));

    let failure = if report.outcome() == Outcome::Failure && report.kind == ReportKind::LoadResults
    {
        wait_for_failure_file(ctx, wait, &failure_pattern, deadline)?
    } else {
        None
    };
    Ok(Answer::Report {
        report: Box::new(report),
        report_name,
        failure,
    })
}

/// The failure file, once it is in (ISES may write it after the report), or `None` at the
/// deadline. An unreadable one is logged and left to the report.
fn wait_for_failure_file(
    ctx: &Context,
    wait: &Wait<'_>,
    pattern: &str,
    deadline: Instant,
) -> Result<Option<(FailureFile, String)>, JobError> {
    let mut pause = Duration::from_secs(1);
    let path = loop {
        if let Some(path) = find(ctx, wait, pattern)? {
            break path;
        }
        if !sleep_until_next(ctx, &mut pause, deadline)? {
            ctx.warn(format!(
                "no Load Failure File ({pattern}) arrived within the timeout; the report's \
                 records are all there is"
            ));
            return Ok(None);
        }
    };
    let local = ctx.fetch_file(wait.connection, &path)?;
    ctx.file(&local, RESPONSE_KIND);
    let name = file_name(&local);
    let bytes = std::fs::read(&local)
        .map_err(|e| JobError::io(format!("reading {}", local.display()), e))?;
    match parse_failure_file(&bytes) {
        Ok(file) => Ok(Some((file, name))),
        Err(error) => {
            ctx.warn(format!("{name} cannot be read: {error}"));
            Ok(None)
        }
    }
}

/// The remote path of the newest file matching `pattern` in the response folder. A folder
/// that does not exist yet holds nothing.
fn find(ctx: &Context, wait: &Wait<'_>, pattern: &str) -> Result<Option<String>, JobError> {
    let files = match ctx.list_files(wait.connection, wait.dir, Some(pattern)) {
        Ok(files) => files,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(files
        .into_iter()
        .max_by(|a, b| a.modified.cmp(&b.modified).then(a.name.cmp(&b.name)))
        .map(|f| f.path))
}

/// Pauses for `pause` (at most until `deadline`), doubling it up to [`MAX_POLL`]. False when
/// the deadline has passed.
fn sleep_until_next(
    ctx: &Context,
    pause: &mut Duration,
    deadline: Instant,
) -> Result<bool, JobError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ok(false);
    }
    ctx.pause((*pause).min(left))?;
    *pause = (*pause * 2).min(MAX_POLL);
    Ok(true)
}

/// Records every file error and every record the state flagged as a problem of the run;
/// returns the counts of errors and warnings.
pub fn record(
    ctx: &Context,
    report: &LoadResults,
    report_name: &str,
    failure: Option<&(FailureFile, String)>,
) -> Counts {
    let mut counts = Counts::default();
    for error in &report.file_errors {
        counts.add(RecordStatus::Error, &error.code);
        let what = [error.rule.as_str(), error.detail.as_str()]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        ctx.problem(
            Problem::error(
                category(&error.code),
                format!(
                    "ISES: the file{}",
                    if what.is_empty() {
                        String::new()
                    } else {
                        format!(": {what}")
                    }
                ),
            )
            .in_file(report_name),
        );
    }
    match failure {
        Some((file, name)) => {
            for row in &file.rows {
                let severity = match row.status {
                    RecordStatus::Success => {
                        counts.success += 1;
                        continue;
                    }
                    RecordStatus::Warning => ferry_plugin::Severity::Warning,
                    RecordStatus::Error => ferry_plugin::Severity::Error,
                };
                let reasons = if row.reason_codes.is_empty() {
                    vec![String::new()]
                } else {
                    row.reason_codes.clone()
                };
                for reason in reasons {
                    counts.add(row.status, &reason);
                    let removal = if row.removal_id.is_empty() {
                        format!("removal starting {}", row.removal_start_date)
                    } else {
                        format!("removal {}", row.removal_id)
                    };
                    let incident = if row.incident_id.is_empty() {
                        format!("incident of {}", row.incident_date)
                    } else {
                        format!("incident {}", row.incident_id)
                    };
                    ctx.problem(
                        Problem::new(
                            severity,
                            category(&reason),
                            format!(
                                "ISES: {} for school {}, {incident}, {removal}{}",
                                row.status.as_str(),
                                row.school,
                                reason_suffix(&reason)
                            ),
                        )
                        .in_file(name.clone())
                        .field("WSN_ID", row.wsn_id.clone()),
                    );
                }
            }
        }
        None => {
            for record in &report.records {
                let status = record.effective_status();
                if status == RecordStatus::Success {
                    counts.success += 1;
                    continue;
                }
                counts.add(status, &record.reason);
                let severity = if status == RecordStatus::Error {
                    ferry_plugin::Severity::Error
                } else {
                    ferry_plugin::Severity::Warning
                };
                let mut problem = Problem::new(
                    severity,
                    category(&record.reason),
                    format!(
                        "ISES: {} for WSN {} ({} {}){}",
                        status.as_str(),
                        record.wsn_id,
                        record.collection_type,
                        record.year,
                        reason_suffix(&record.reason)
                    ),
                );
                problem = match record.line.trim().parse::<u64>() {
                    Ok(line) => problem.at(report_name, line),
                    Err(_) => problem.in_file(report_name),
                };
                if !record.data_element.is_empty() {
                    problem = problem.field(
                        record.data_element.clone(),
                        record.data_element_value.clone(),
                    );
                }
                ctx.problem(problem);
            }
        }
    }
    counts
}

/// How many records the state flagged, and with which reasons.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub success: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Reason code → how many times given.
    pub reasons: BTreeMap<String, usize>,
}

impl Counts {
    fn add(&mut self, status: RecordStatus, reason: &str) {
        match status {
            RecordStatus::Error => self.errors += 1,
            RecordStatus::Warning => self.warnings += 1,
            RecordStatus::Success => self.success += 1,
        }
        if !reason.trim().is_empty() {
            *self.reasons.entry(reason.trim().to_owned()).or_default() += 1;
        }
    }

    /// `reasons 18 ×2, 47 ×1`, or nothing when no reason was given.
    pub fn reasons_text(&self) -> String {
        if self.reasons.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self
            .reasons
            .iter()
            .map(|(code, n)| format!("{code} ×{n}"))
            .collect();
        format!("reasons {}", list.join(", "))
    }
}

/// The problem category for a state reason code: alike reasons group in the notice.
fn category(reason: &str) -> String {
    match reason.trim() {
        "" => "ISES record status".to_owned(),
        code => format!("ISES reason {code}"),
    }
}

fn reason_suffix(reason: &str) -> String {
    match reason.trim() {
        "" => String::new(),
        code => format!(" (reason {code})"),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The report as text; ISES writes ASCII, anything else is decoded lossily rather than refused.
fn read_text(path: &PathBuf) -> Result<String, JobError> {
    let bytes =
        std::fs::read(path).map_err(|e| JobError::io(format!("reading {}", path.display()), e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `90 s`, `5 min`, `2 h` for a log line.
fn describe(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_examples() {
        assert_eq!(
            report_name("S_0130_0000_08012007_IDL_00002.csv").as_deref(),
            Some("R_0130_0000_08012007_IDL_00002.html")
        );
        assert_eq!(
            failure_pattern("S_0130_0001_08202007_IDL_00002.csv").as_deref(),
            Some("S_0130_0001_*_DLF_00002.csv")
        );
        assert_eq!(report_name("load.txt"), None);
        assert_eq!(failure_pattern("S_0130.csv"), None);
    }

    #[test]
    fn reason_counts_read_as_a_list() {
        let mut counts = Counts::default();
        counts.add(RecordStatus::Error, "18");
        counts.add(RecordStatus::Error, "18");
        counts.add(RecordStatus::Error, "47");
        counts.add(RecordStatus::Warning, "");
        assert_eq!((counts.errors, counts.warnings), (3, 1));
        assert_eq!(counts.reasons_text(), "reasons 18 ×2, 47 ×1");
        assert_eq!(describe(Duration::from_secs(1800)), "30 min");
        assert_eq!(describe(Duration::from_secs(90)), "90 s");
    }
}
