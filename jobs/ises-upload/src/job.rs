//! The run: read the SIS in a read-only transaction, build and validate the Load File, and
//! upload it only when ISES would accept it, so the state never sees a file that fails locally.
//!
//! Order matters for the sequence numbers (spec A.2): a file that fails validation, and a
//! `validate_only` run, use none; the number is consumed and stored *before* the upload is
//! attempted, because ISES expects a new number after every attempted upload. A file of the same
//! name already in the upload folder fails the run instead of being overwritten.
//!
//! With `response_dir` set, the run then waits for the state's answer ([`answer`](crate::answer))
//! and ends as ISES says: Failure fails the run, flagged warnings end it `warning`, and every
//! record ISES flagged is a problem of the run with the state's reason code.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use ferry_plugin::{Context, Description, Job, JobError, Outcome, TableAction};
use ferry_sis::Sis;

use crate::answer::{self, Answer};
use crate::failure::{failure_file, failure_file_name};
use crate::record::{Dtg, Header, LoadFile};
use crate::report::report_text;
use crate::response::{self, ReportKind};
use crate::sequence::Sequences;
use crate::settings::{self, Settings};
use crate::source::{self, Source};
use crate::validate::{Rules, validate};
use crate::write::{file_name, load_file_bytes};

/// The job-state key holding the last sequence number per district, school scope and year.
pub const SEQUENCE_STATE_KEY: &str = "sequences";

/// The file kind of the failure file and the readable report in the run's files.
pub const REPORT_KIND: &str = "report";

/// The file kind of the Load File in the run's files.
pub const LOAD_FILE_KIND: &str = "load file";

/// The ISES Discipline upload.
#[derive(Debug, Default)]
pub struct IsesUpload;

impl Job for IsesUpload {
    fn describe(&self) -> Description {
        settings::describe()
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let settings = Settings::from_context(ctx)?;
        ctx.info(format!(
            "ISES Discipline Load File for district {}, school {}, YEAR {}{}",
            settings.district_code,
            settings.school_code,
            settings.year,
            if settings.validate_only {
                " (validate only: nothing is uploaded)"
            } else {
                ""
            }
        ));

        let started = Instant::now();
        let source = match read_source(&settings) {
            Ok(source) => source,
            Err(message) => {
                ctx.error(&message);
                return Ok(Outcome::failed(format!("{message}; nothing was uploaded")));
            }
        };
        let read_seconds = started.elapsed().as_secs_f64();
        ctx.debug(format!(
            "SIS read: {} incidents, {} removals in {read_seconds:.2} s",
            source.incidents.len(),
            source.removals.len()
        ));

        let mut sequences = Sequences::from_state(ctx.state_get(SEQUENCE_STATE_KEY)?.as_deref())
            .map_err(JobError::msg)?;
        // Peeked, not consumed: only an attempted upload uses the number.
        let seq_num = sequences
            .next(
                &settings.district_code,
                &settings.school_code,
                settings.year,
            )
            .map_err(JobError::msg)?;
        let header = Header {
            dtg: Dtg::from_utc(Utc::now()),
            seq_num,
            district_code: settings.district_code.clone(),
        };
        let districts: Vec<(String, String)> = source
            .incidents
            .iter()
            .map(|i| (i.incident_key.clone(), settings.district_code.clone()))
            .collect();
        let file = match LoadFile::build(
            header,
            settings.year,
            &settings.schools,
            source.incidents,
            source.removals,
        ) {
            Ok(file) => file.with_source_districts(districts),
            Err(error) => {
                ctx.error(format!("building the Load File: {error}"));
                return Ok(Outcome::failed(format!(
                    "the Load File cannot be built: {error}; nothing was uploaded"
                )));
            }
        };
        let findings = validate(
            &file,
            &Rules {
                year: settings.year,
                district_code: settings.district_code.clone(),
                next_term_start_date: settings.next_term_start_date,
            },
        );
        let name = file_name(file.header(), &settings.school_code).map_err(JobError::msg)?;
        let errors = findings.iter().filter(|f| f.is_error()).count();
        let warnings = findings.len() - errors;
        for finding in &findings {
            ctx.problem(finding.problem(Some(&name)));
        }
        let seconds = started.elapsed().as_secs_f64();
        ctx.info(format!(
            "{name}: built and validated in {seconds:.2} s; validation found {errors} errors and \
             {warnings} warnings"
        ));
        let action = if errors > 0 {
            TableAction::Failed
        } else if settings.validate_only {
            TableAction::Imported
        } else {
            TableAction::Sent
        };
        report_counts(ctx, &file, seconds, action);

        let work = ctx.work_dir().to_path_buf();
        if !findings.is_empty() {
            let report = work.join(format!("{name}.report.txt"));
            write(&report, report_text(&name, &file, &findings).as_bytes())?;
            ctx.file(&report, REPORT_KIND);
        }
        if errors > 0 {
            let failure_name =
                failure_file_name(&name).unwrap_or_else(|| format!("{name}.failure.csv"));
            let bytes = failure_file(&file, &findings).map_err(JobError::msg)?;
            let path = work.join(failure_name);
            write(&path, &bytes)?;
            ctx.file(&path, REPORT_KIND);
            return Ok(Outcome::failed(format!(
                "{name} fails validation with {errors} errors and {warnings} warnings; nothing \
                 was uploaded and no sequence number was used (see the problems, the failure \
                 file and the report)"
            )));
        }

        let bytes = load_file_bytes(&file).map_err(JobError::msg)?;
        let local = work.join(&name);
        write(&local, &bytes)?;

        if settings.validate_only {
            ctx.file(&local, LOAD_FILE_KIND);
            return Ok(finish(
                format!(
                    "validate only: {name} passes validation; not uploaded, no sequence number used"
                ),
                warnings,
            ));
        }

        if let Some(existing) = remote_file(ctx, &settings, &name)? {
            return Ok(Outcome::failed(format!(
                "{existing} already exists on {}; refusing to overwrite it (nothing was \
                 uploaded, no sequence number was used)",
                settings.upload_connection
            )));
        }

        // The attempted upload uses the number, whatever its outcome.
        sequences
            .consume(
                &settings.district_code,
                &settings.school_code,
                settings.year,
            )
            .map_err(JobError::msg)?;
        ctx.state_set(SEQUENCE_STATE_KEY, Some(&sequences.to_state()))?;

        let remote = remote_path(&settings.upload_dir, &name);
        ctx.put_file(&settings.upload_connection, &local, &remote)?;
        ctx.file(&local, LOAD_FILE_KIND);
        let uploaded = format!(
            "{name} uploaded to {}:{remote} (sequence number {seq_num})",
            settings.upload_connection
        );
        let Some(response) = &settings.response else {
            return Ok(finish(uploaded, warnings));
        };
        let answer = answer::wait(
            ctx,
            &answer::Wait {
                connection: &response.connection,
                dir: &response.dir,
                load_file: &name,
                timeout: response.timeout,
            },
        )?;
        Ok(judge(ctx, &uploaded, warnings, removals(&file), answer))
    }
}

/// The run's outcome from the state's answer.
fn judge(
    ctx: &Context,
    uploaded: &str,
    local_warnings: usize,
    removals: usize,
    answer: Answer,
) -> Outcome {
    match answer {
        Answer::None { waited } => Outcome::warning(format!(
            "{uploaded}; ISES did not answer within {} s: look for the Load Results Report in \
             the ISES web application (the file is with the state; do not upload it again \
             without a new sequence number)",
            waited.as_secs()
        )),
        Answer::Unreadable {
            report_name,
            reason,
        } => Outcome::failed(format!(
            "{uploaded}; the state's answer {report_name} cannot be read ({reason}): open it \
             from the run's files or in the ISES web application"
        )),
        Answer::Report {
            report,
            report_name,
            failure,
        } => {
            let counts = answer::record(ctx, &report, &report_name, failure.as_ref());
            record_statuses(ctx, &report, failure.as_ref(), &counts, removals);
            let reasons = counts.reasons_text();
            let reasons = if reasons.is_empty() {
                String::new()
            } else {
                format!("; {reasons}")
            };
            match report.outcome() {
                response::Outcome::Failure => {
                    let why = match (report.kind, &failure) {
                        (ReportKind::CsvError, _) => format!(
                            "the file erred due to CSV errors{}",
                            report
                                .message
                                .as_deref()
                                .map(|m| format!(" ({m})"))
                                .unwrap_or_default()
                        ),
                        (ReportKind::LoadResults, Some((_, dlf))) => format!(
                            "{} errors, {} warnings (see {dlf} and {report_name})",
                            counts.errors, counts.warnings
                        ),
                        (ReportKind::LoadResults, None) if counts.errors == 0 => format!(
                            "the report lists no reason (see {report_name}; no Load Failure \
                             File arrived)"
                        ),
                        (ReportKind::LoadResults, None) => format!(
                            "{} errors listed (see {report_name}; no Load Failure File \
                             arrived)",
                            counts.errors
                        ),
                    };
                    Outcome::failed(format!(
                        "{uploaded}; ISES answered File Status Failure: {why}{reasons}. No \
                         record was loaded: correct the SIS and run again (a new sequence \
                         number is used)"
                    ))
                }
                response::Outcome::Warning => Outcome::warning(format!(
                    "{uploaded}; ISES answered File Status Success with {} warnings{reasons}",
                    counts.warnings
                )),
                response::Outcome::Success => finish(
                    format!("{uploaded}; ISES answered File Status Success"),
                    local_warnings,
                ),
            }
        }
    }
}

/// Reads the two relations in a transaction that is always rolled back: the job never writes
/// to the SIS.
fn read_source(settings: &Settings) -> Result<Source, String> {
    let mut sis = Sis::connect(
        &settings.source_database,
        settings.source_password.as_deref(),
    )
    .map_err(|e| format!("SIS database: {e}"))?;
    let mut tx = sis
        .transaction()
        .map_err(|e| format!("SIS database: {e}"))?;
    let read = source::read(&mut tx, &settings.district_code, &settings.school_code);
    tx.rollback().map_err(|e| format!("SIS database: {e}"))?;
    read.map_err(|e| e.to_string())
}

/// The state's record statuses as table stats: per status from the failure file when there is
/// one (nothing was loaded), otherwise the removals loaded on Success.
fn record_statuses(
    ctx: &Context,
    report: &response::LoadResults,
    failure: Option<&(response::FailureFile, String)>,
    counts: &answer::Counts,
    removals: usize,
) {
    let rows = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match (report.outcome(), failure) {
        (response::Outcome::Failure, Some((file, _))) => {
            for status in [
                response::RecordStatus::Success,
                response::RecordStatus::Warning,
                response::RecordStatus::Error,
            ] {
                let n = file.count(status);
                if n > 0 {
                    ctx.table(
                        format!("ISES answer: {} rows", status.as_str()),
                        rows(n),
                        0.0,
                        TableAction::Failed,
                    );
                }
            }
        }
        (response::Outcome::Failure, None) => ctx.table(
            "ISES answer: records in error",
            rows(counts.errors),
            0.0,
            TableAction::Failed,
        ),
        (response::Outcome::Success | response::Outcome::Warning, _) => ctx.table(
            "ISES answer: removals loaded",
            rows(removals),
            0.0,
            TableAction::Imported,
        ),
    }
}

/// How many `04` removals the file holds.
fn removals(file: &LoadFile) -> usize {
    file.schools()
        .iter()
        .flat_map(|s| &s.incidents)
        .map(|g| g.removals.len())
        .sum()
}

/// Table stats: schools (02), incidents (03) and removals (04) in the file.
fn report_counts(ctx: &Context, file: &LoadFile, seconds: f64, action: TableAction) {
    let schools = file.schools().len();
    let incidents: usize = file.schools().iter().map(|s| s.incidents.len()).sum();
    let removals = removals(file);
    for (table, rows) in [
        ("schools (02)", schools),
        ("incidents (03)", incidents),
        ("removals (04)", removals),
    ] {
        ctx.table(
            table,
            i64::try_from(rows).unwrap_or(i64::MAX),
            seconds,
            action,
        );
    }
}

/// The name of a file called `name` already in the upload folder, if there is one. A folder
/// that does not exist yet holds nothing (the upload creates it).
fn remote_file(ctx: &Context, settings: &Settings, name: &str) -> Result<Option<String>, JobError> {
    match ctx.list_files(&settings.upload_connection, &settings.upload_dir, None) {
        Ok(files) => Ok(files.into_iter().find(|f| f.name == name).map(|f| f.path)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// `dir/name` on the remote side (`.` is the connection's root).
fn remote_path(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_owned(),
        dir => format!("{dir}/{name}"),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), JobError> {
    std::fs::write(path, bytes).map_err(|e| {
        JobError::msg(format!(
            "cannot write {}: {e}",
            PathBuf::from(path).display()
        ))
    })
}

fn finish(summary: String, warnings: usize) -> Outcome {
    if warnings > 0 {
        Outcome::warning(format!("{summary}; {warnings} warnings"))
    } else {
        Outcome::succeeded(summary)
    }
}
