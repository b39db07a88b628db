//! An emulator of the Wisconsin ISES Discipline Collection's drop box, for Ferry's tests of the
//! `ises-upload` job: the state's system cannot run here, so this watches a folder the test
//! SFTP server's users write to and answers every Load File it finds the way the seed
//! specification says ISES does (sections 2.3.2–2.3.3, Appendices A, B.1–B.4, D, E).
//!
//! The checks are a second reading of the spec, written without the job's validator, so a
//! misreading in one shows up as a disagreement with the other. For each Load File
//! `S_DDDD_SSSS_MMDDYYYY_IDL_NNNNN.csv` in [`Config::watch_dir`] it writes, in
//! [`Config::answer_dir`]:
//! - on a record failure, the Load Failure File `S_DDDD_SSSS_MMDDYYYY_DLF_NNNNN.csv` (B.3);
//! - on a CSV error, the `<stem>.ERR` detail (B.4);
//! - last, the report `R_<stem>.html` (Load Results Report or CSV Error Report), whose
//!   appearance means the answer is complete.
//!
//! Every file is written under a hidden temporary name and renamed. [`answer_bytes`] is the pure
//! core; [`DropBox`] adds the folder, the memory of answered files and of received sequence
//! numbers; [`DropBox::spawn`] polls in a background thread. See the crate's README for the
//! rules, reason codes and layouts.

pub mod codes;
pub mod load;
pub mod names;
pub mod report;
pub mod rules;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset as _, Utc};

use crate::names::LoadFileName;
use crate::rules::{References, SequenceKey, Status};

/// Where the drop box is and what the state knows that a district does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The folder Load Files arrive in.
    pub watch_dir: PathBuf,
    /// The folder answers are written to (may be `watch_dir`).
    pub answer_dir: PathBuf,
    /// DPI's school table for the district: a `02` SCHOOL outside it is an error (56).
    pub valid_schools: Option<BTreeSet<String>>,
    /// WSLS's students: a WSN_ID outside it is an error (18) when YEAR_INCIDENT = YEAR.
    pub known_wsns: Option<BTreeSet<String>>,
}

impl Config {
    /// A drop box answering in the folder it watches, with no state-only checks.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            watch_dir: dir.clone(),
            answer_dir: dir,
            valid_schools: None,
            known_wsns: None,
        }
    }

    fn references(&self) -> References<'_> {
        References {
            valid_schools: self.valid_schools.as_ref(),
            known_wsns: self.known_wsns.as_ref(),
        }
    }
}

/// A Load File's status in the Load Results Report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Success,
    Failure,
}

/// What the drop box answered to one Load File.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The Load File's name.
    pub load_file: String,
    /// The `R_…html` report written.
    pub report: PathBuf,
    /// The Load Failure File, when one was written.
    pub failure_file: Option<PathBuf>,
    /// The `.ERR` detail, for a CSV error.
    pub error_file: Option<PathBuf>,
    pub status: FileStatus,
    /// The file stopped on a format error (CSV Error Report).
    pub csv_error: bool,
    /// Record rows listed with status Error in the report.
    pub errors: usize,
    /// Record rows listed with status Warning in the report.
    pub warnings: usize,
    /// Every reason code given, file-level ones included, each once, sorted.
    pub reasons: Vec<String>,
}

/// The emulator's own failures (not the Load File's).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} is not a Load File name (S_DDDD_SSSS_MMDDYYYY_IDL_NNNNN.csv)")]
    NotALoadFile(String),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let path = path.to_owned();
    move |source| EmulatorError::Io {
        action,
        path,
        source,
    }
}

/// The answer to one Load File, not yet written anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub load_file: String,
    /// `R_<stem>.html` and its HTML.
    pub report: (String, String),
    /// The Load Failure File's name and bytes.
    pub failure_file: Option<(String, Vec<u8>)>,
    /// The `.ERR` file's name and text.
    pub error_file: Option<(String, String)>,
    pub status: FileStatus,
    pub csv_error: bool,
    pub errors: usize,
    pub warnings: usize,
    pub reasons: Vec<String>,
    /// The sequence number this file used, to refuse it from now on (`None` for CSV errors).
    pub sequence: Option<SequenceKey>,
}

/// Central Standard Time, which ISES keeps all year (B.1).
fn cst() -> FixedOffset {
    FixedOffset::west_opt(6 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Answers the Load File `name` holding `bytes`, processed at `now`, given the sequence numbers
/// already `received` and the state-only references of `config`.
pub fn answer_bytes(
    name: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
    config: &Config,
    received: &BTreeSet<SequenceKey>,
) -> Result<Reply, EmulatorError> {
    let name =
        LoadFileName::parse(name).ok_or_else(|| EmulatorError::NotALoadFile(name.to_owned()))?;
    let local = now.with_timezone(&cst());
    let processed = local.format("%m-%d-%Y %H:%M:%S CST").to_string();
    let report_name = name.report_name();
    let file = match load::read(bytes) {
        Ok(file) => file,
        Err(error) => {
            let err_name = name.err_name();
            return Ok(Reply {
                load_file: name.name.clone(),
                report: (
                    report_name,
                    report::csv_error_html(&name, &err_name, &processed),
                ),
                failure_file: None,
                error_file: Some((err_name, report::err_text(&name, &error))),
                status: FileStatus::Failure,
                csv_error: true,
                errors: 0,
                warnings: 0,
                reasons: Vec::new(),
                sequence: None,
            });
        }
    };
    let checked = rules::check(&name, &file, received, config.references());
    let rows = report::report_rows(&file, &checked);
    let record_errors = checked.findings.iter().any(|f| f.status == Status::Error);
    let failure = record_errors || !checked.file_errors.is_empty();
    let failure_file = record_errors.then(|| {
        (
            name.failure_name(&local.format("%m%d%Y").to_string()),
            report::failure_file(&file, &checked),
        )
    });
    let html = report::load_results_html(&name, &file, &checked, &rows, failure, &processed);
    let mut reasons: Vec<String> = checked
        .file_errors
        .iter()
        .map(|e| e.reason.to_owned())
        .chain(checked.findings.iter().map(|f| f.reason.to_owned()))
        .collect();
    reasons.sort();
    reasons.dedup();
    Ok(Reply {
        load_file: name.name.clone(),
        report: (report_name, html),
        failure_file,
        error_file: None,
        status: if failure {
            FileStatus::Failure
        } else {
            FileStatus::Success
        },
        csv_error: false,
        errors: rows.iter().filter(|r| r.status == Status::Error).count(),
        warnings: rows.iter().filter(|r| r.status == Status::Warning).count(),
        reasons,
        sequence: Some(rules::sequence_key(&name, &file)),
    })
}

/// Writes `bytes` to `dir/name` through a hidden temporary name and a rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, EmulatorError> {
    let temp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    std::fs::write(&temp, bytes).map_err(io("writing", &temp))?;
    std::fs::rename(&temp, &path).map_err(io("renaming into", &path))?;
    Ok(path)
}

/// The drop box: its configuration and what it has answered and received.
#[derive(Debug)]
pub struct DropBox {
    config: Config,
    answered: BTreeSet<String>,
    received: BTreeSet<SequenceKey>,
}

impl DropBox {
    pub fn new(config: Config) -> DropBox {
        DropBox {
            config,
            answered: BTreeSet::new(),
            received: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers every Load File in the watch folder not answered yet (in memory, or by an
    /// `R_` report already in the answer folder), in name order.
    pub fn process_pending(&mut self) -> Result<Vec<Answer>, EmulatorError> {
        self.process_pending_at(Utc::now())
    }

    /// [`process_pending`](Self::process_pending) with the processing time given.
    pub fn process_pending_at(&mut self, now: DateTime<Utc>) -> Result<Vec<Answer>, EmulatorError> {
        let watch = self.config.watch_dir.clone();
        let mut names: Vec<LoadFileName> = Vec::new();
        for entry in std::fs::read_dir(&watch).map_err(io("listing", &watch))? {
            let entry = entry.map_err(io("listing", &watch))?;
            if let Some(name) = entry.file_name().to_str().and_then(LoadFileName::parse)
                && !self.answered.contains(&name.name)
            {
                names.push(name);
            }
        }
        names.sort_by(|a, b| a.name.cmp(&b.name));
        let mut answers = Vec::new();
        for name in names {
            if self.config.answer_dir.join(name.report_name()).exists() {
                self.answered.insert(name.name);
                continue;
            }
            let path = watch.join(&name.name);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                // Taken away between the listing and now: nothing to answer.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("reading", &path)(e)),
            };
            let reply = answer_bytes(&name.name, &bytes, now, &self.config, &self.received)?;
            answers.push(self.write(reply)?);
            self.answered.insert(name.name);
        }
        Ok(answers)
    }

    fn write(&mut self, reply: Reply) -> Result<Answer, EmulatorError> {
        let dir = self.config.answer_dir.clone();
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let failure_file = match &reply.failure_file {
            Some((name, bytes)) => Some(write_atomic(&dir, name, bytes)?),
            None => None,
        };
        let error_file = match &reply.error_file {
            Some((name, text)) => Some(write_atomic(&dir, name, text.as_bytes())?),
            None => None,
        };
        let report = write_atomic(&dir, &reply.report.0, reply.report.1.as_bytes())?;
        if let Some(key) = reply.sequence {
            self.received.insert(key);
        }
        Ok(Answer {
            load_file: reply.load_file,
            report,
            failure_file,
            error_file,
            status: reply.status,
            csv_error: reply.csv_error,
            errors: reply.errors,
            warnings: reply.warnings,
            reasons: reply.reasons,
        })
    }

    /// Polls the watch folder every `poll` in a background thread until the returned
    /// [`Running`] is dropped.
    pub fn spawn(mut self, poll: Duration) -> Running {
        let answered: Arc<Mutex<Vec<Answer>>> = Arc::default();
        let failures: Arc<Mutex<Vec<String>>> = Arc::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let (a, f) = (Arc::clone(&answered), Arc::clone(&failures));
        let handle = std::thread::spawn(move || {
            loop {
                match self.process_pending() {
                    Ok(new) => a.lock().unwrap_or_else(PoisonError::into_inner).extend(new),
                    Err(e) => f
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(e.to_string()),
                }
                match stopped.recv_timeout(poll) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        Running {
            stop: Some(stop),
            handle: Some(handle),
            answered,
            failures,
        }
    }
}

/// A drop box polling in the background; stops and joins its thread when dropped.
#[derive(Debug)]
pub struct Running {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
    answered: Arc<Mutex<Vec<Answer>>>,
    failures: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Everything answered so far, in order.
    pub fn answered(&self) -> Vec<Answer> {
        self.answered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The emulator's own errors so far (unreadable folder, unwritable answer).
    pub fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.handle.take() {
            // A panic in the thread has already been reported; nothing more to do with it.
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests;
