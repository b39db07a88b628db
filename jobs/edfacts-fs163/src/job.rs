//! The run: read the source in a read-only transaction, derive missing statuses from incidents
//! when asked, validate, render, and deliver the file only when it passes, so the state never
//! receives a file that fails locally.
//!
//! Every validation finding fails the run before anything is delivered. Each is a problem of
//! the run (unit and field in its message, the seed's field name and the value as its field),
//! and all of them are in a readable report among the run's files (kind `report`). A file that
//! passes is written into the run's work folder, uploaded through `upload_connection` into
//! `upload_dir` (to a temporary name, then renamed, so the receiving side never sees half a
//! file) and kept among the run's files (kind `fs163`). A file of the same name on the
//! connection is replaced: the name carries the SEA's submission id (`version`), which is what
//! tells one submission from the next.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use ferry_plugin::{Context, Description, Job, JobError, Outcome, Problem, TableAction};
use ferry_sis::Sis;

use crate::derive;
use crate::file::{file_name, render};
use crate::model::{FileSpec, Status, Unit};
use crate::settings::{self, Settings};
use crate::source::{self, Source};
use crate::validate::{Finding, validate};

/// The file kind of the FS163 file in the run's files.
pub const FILE_KIND: &str = "fs163";

/// The file kind of the validation report in the run's files.
pub const REPORT_KIND: &str = "report";

/// The problem category of a validation finding.
pub const INVALID_CATEGORY: &str = "Invalid FS163 value";

/// The EDFacts FS163 file job.
#[derive(Debug, Default)]
pub struct Fs163;

/// What reading the source gave: the units to report and the ones derived.
#[derive(Debug)]
struct Read {
    source: Source,
    /// Indexes into `source.units` of the units reported `YESWITHREP` from incidents.
    derived: Vec<usize>,
}

impl Job for Fs163 {
    fn describe(&self) -> Description {
        settings::describe()
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let settings = Settings::from_context(ctx)?;
        let spec = settings.spec();
        let name = file_name(&spec).ok();
        // The name the run's messages use even when it cannot be built (it is then a finding).
        let shown = name.clone().unwrap_or_else(|| {
            format!(
                "{}{}DISCDATA{}.{}",
                spec.state.to_ascii_lowercase(),
                spec.level.code().to_ascii_lowercase(),
                spec.version,
                spec.format.extension()
            )
        });
        ctx.info(format!(
            "EDFacts FS163 {} file {shown} for {}, reporting period {}{}",
            spec.level.code(),
            spec.state,
            spec.reporting_period,
            if settings.derive_from_incidents {
                " (missing statuses derived from firearm incidents)"
            } else {
                ""
            }
        ));

        let started = Instant::now();
        let read = match read_source(ctx, &settings) {
            Ok(read) => read,
            Err(message) => {
                ctx.error(&message);
                return Ok(Outcome::failed(format!("{message}; nothing was delivered")));
            }
        };
        let Read { source, derived } = read;
        ctx.info(format!(
            "{}: {} units to report at level {}; left out: {} not operational, {} without \
             students ({} rows of the other level)",
            source::UNITS,
            source.units.len(),
            spec.level.code(),
            source.not_operational,
            source.no_students,
            source.other_level
        ));
        for &i in &derived {
            if let Some(unit) = source.units.get(i) {
                ctx.info(format!(
                    "derived {} for {}: no status in {}, a firearm incident in {}",
                    Status::YesWithRep.code(),
                    unit.unit.label(),
                    source::UNITS,
                    derive::INCIDENTS
                ));
            }
        }
        let missing = source
            .units
            .iter()
            .filter(|u| u.status_missing)
            .count()
            .saturating_sub(derived.len());
        if missing > 0 {
            ctx.info(format!(
                "{missing} units without a status are reported {} (the guidance: a missing \
                 status means no report was filed)",
                Status::No.code()
            ));
        }
        let units: Vec<Unit> = source.units.into_iter().map(|u| u.unit).collect();

        let findings = validate(&spec, &units);
        let work = ctx.work_dir().to_path_buf();
        if !findings.is_empty() {
            for finding in &findings {
                ctx.problem(problem(finding, &shown));
            }
            let report = work.join(format!("{shown}.report.txt"));
            write(
                &report,
                report_text(&spec, &shown, &units, &findings).as_bytes(),
            )?;
            ctx.file(&report, REPORT_KIND);
            ctx.table(
                "units reported",
                rows(units.len()),
                started.elapsed().as_secs_f64(),
                TableAction::Failed,
            );
            return Ok(Outcome::failed(format!(
                "{shown} fails validation with {} errors (first: {}); nothing was delivered \
                 (see the problems and the report)",
                findings.len(),
                findings
                    .first()
                    .map(|f| format!("{}, {}: {}", f.unit, f.field, f.message))
                    .unwrap_or_default()
            )));
        }
        let (Some(name), Ok(bytes)) = (name, render(&spec, &units)) else {
            // Validation passed, so this is the renderer refusing what the validator let
            // through: say so rather than deliver.
            let why = match file_name(&spec).and_then(|_| render(&spec, &units)) {
                Err(e) => e.to_string(),
                Ok(_) => "unknown".to_owned(),
            };
            ctx.error(format!("{shown} cannot be written: {why}"));
            return Ok(Outcome::failed(format!(
                "{shown} cannot be written: {why}; nothing was delivered"
            )));
        };

        let local = work.join(&name);
        write(&local, &bytes)?;
        let remote = remote_path(&settings.upload_dir, &name);
        ctx.put_file(&settings.upload_connection, &local, &remote)?;
        ctx.file(&local, FILE_KIND);
        let seconds = started.elapsed().as_secs_f64();
        ctx.table(
            "units reported",
            rows(units.len()),
            seconds,
            TableAction::Sent,
        );
        let derived_text = if settings.derive_from_incidents {
            format!("; {} derived from incidents", derived.len())
        } else {
            String::new()
        };
        Ok(Outcome::succeeded(format!(
            "{name} delivered to {}:{remote}: {} units ({}){derived_text}",
            settings.upload_connection,
            units.len(),
            status_counts(&units)
        )))
    }
}

/// Reads the units (and, with `derive_from_incidents`, the firearm incidents) in a transaction
/// that is always rolled back: the job never writes to the source.
fn read_source(ctx: &Context, settings: &Settings) -> Result<Read, String> {
    let mut sis = Sis::connect(
        &settings.source_database,
        settings.source_password.as_deref(),
    )
    .map_err(|e| format!("source database: {e}"))?;
    let mut tx = sis
        .transaction()
        .map_err(|e| format!("source database: {e}"))?;
    let mut source = source::read(&mut tx, settings.level).map_err(|e| e.to_string())?;
    let mut derived = Vec::new();
    if settings.derive_from_incidents && source.units.iter().any(|u| u.status_missing) {
        match derive::end_year(&settings.reporting_period) {
            // Validation reports the period; nothing can be derived without its year.
            None => ctx.warn(format!(
                "reporting_period {:?} is not CCYY-CCYY: no status derived from incidents",
                settings.reporting_period
            )),
            Some(year) => {
                let incidents =
                    derive::read_firearm_incidents(&mut tx, year).map_err(|e| e.to_string())?;
                ctx.debug(format!(
                    "{}: firearm incidents of {year} at {} schools",
                    derive::INCIDENTS,
                    incidents.len()
                ));
                derived = derive::derive(&mut source.units, settings.level, &incidents);
            }
        }
    }
    tx.rollback().map_err(|e| format!("source database: {e}"))?;
    Ok(Read { source, derived })
}

/// A finding as a problem of the run: the unit in the message, the field and value as the
/// problem's field.
fn problem(finding: &Finding, file: &str) -> Problem {
    Problem::error(
        INVALID_CATEGORY,
        format!("{}: {}", finding.unit, finding.message),
    )
    .in_file(file)
    .field(finding.field, finding.value.clone())
}

/// The readable validation report: what was checked, then one block per finding naming the
/// unit, the field, the value and what is wrong.
pub fn report_text(spec: &FileSpec, name: &str, units: &[Unit], findings: &[Finding]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "EDFacts FS163 validation report: {name}");
    let _ = writeln!(
        text,
        "Level {}, format {}, reporting period {}, {} units",
        spec.level.code(),
        spec.format.extension(),
        spec.reporting_period,
        units.len()
    );
    let _ = writeln!(
        text,
        "{} errors; the file was NOT delivered. Correct the source (or the settings) and run \
         again.",
        findings.len()
    );
    for (i, finding) in findings.iter().enumerate() {
        let _ = writeln!(text);
        let _ = writeln!(text, "{}. {}", i + 1, finding.unit);
        let _ = writeln!(text, "   field:   {}", finding.field);
        let _ = writeln!(text, "   value:   {:?}", finding.value);
        let _ = writeln!(text, "   problem: {}", finding.message);
    }
    text
}

/// `YESWITHREP 1, YESWOREP 2, NO 3, NA 0`: every permitted status with its count.
pub fn status_counts(units: &[Unit]) -> String {
    Status::ALL
        .iter()
        .map(|status| {
            let n = units.iter().filter(|u| u.status == status.code()).count();
            format!("{} {n}", status.code())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `dir/name` on the remote side (`.` is the connection's root).
fn remote_path(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_owned(),
        dir => format!("{dir}/{name}"),
    }
}

fn rows(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), JobError> {
    std::fs::write(path, bytes)
        .map_err(|e| JobError::msg(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(status: &str) -> Unit {
        Unit {
            state_code: "80".to_owned(),
            state_agency_number: "01".to_owned(),
            lea_id: "00606EUPHORIA".to_owned(),
            school_id: None,
            status: status.to_owned(),
            explanation: None,
        }
    }

    #[test]
    fn counts_every_status() {
        let units = [unit("NO"), unit("YESWITHREP"), unit("NO")];
        assert_eq!(
            status_counts(&units),
            "YESWITHREP 1, YESWOREP 0, NO 2, NA 0"
        );
    }

    #[test]
    fn remote_paths() {
        assert_eq!(remote_path(".", "a.csv"), "a.csv");
        assert_eq!(remote_path("", "a.csv"), "a.csv");
        assert_eq!(remote_path("out/", "a.csv"), "out/a.csv");
    }
}
