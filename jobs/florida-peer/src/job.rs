//! The run: read every file, then in one SIS transaction migrate, load the background tables,
//! plan and apply the student updates, and commit (or roll back for a dry run or any error).
//!
//! Reading comes first and completely: a missing file, a missing column or a bad value stops
//! the run before the SIS is touched, every such error reported as a problem with file, line,
//! column and value.

use crate::apply::{self, Applied};
use crate::populate::{self, Plan};
use crate::read::{self, PeerFile};
use crate::settings::{self, Settings};
use crate::spec::{FILES, MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
use ferry_plugin::{Context, Description, Job, JobError, Outcome, Problem, TableAction};
use ferry_sis::{Backend, Migration, Sis, SisError, Tx};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The owner name of the job's migrations in `ferry_job_migrations`.
const MIGRATION_OWNER: &str = "florida-peer";

/// Unmatched local ids reported one by one; the rest are counted.
const UNMATCHED_LISTED: usize = 1000;

/// The Florida PEER nightly import.
#[derive(Debug, Default)]
pub struct FloridaPeer;

impl Job for FloridaPeer {
    fn describe(&self) -> Description {
        settings::describe()
    }

    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError> {
        let settings = Settings::from_context(ctx)?;
        ctx.info(format!(
            "PEER import for district {}, school year {}, run date {}{}",
            settings.district_id,
            settings.school_year,
            settings.options.run_date,
            if settings.dry_run {
                " (dry run: nothing will be kept)"
            } else {
                ""
            }
        ));
        let Some(files) = read_files(ctx, &settings) else {
            return Ok(Outcome::failed(
                "the PEER files have errors; nothing was imported (see the problems)",
            ));
        };
        let mut warnings: usize = files.values().map(|f| f.warnings.len()).sum();
        for warning in files.values().flat_map(|f| &f.warnings) {
            ctx.problem(warning.problem());
        }

        let mut sis = Sis::connect(
            &settings.target_database,
            settings.target_password.as_deref(),
        )
        .map_err(|e| JobError::msg(format!("SIS database: {e}")))?;
        let mut tx = sis
            .transaction()
            .map_err(|e| JobError::msg(format!("SIS database: {e}")))?;
        let result = import(ctx, &mut tx, &settings, &files);
        let (plan, applied) = match result {
            Ok(done) => done,
            Err(error) => {
                // Dropping the transaction rolls back; say so plainly.
                drop(tx);
                ctx.error(format!("SIS database: {error}"));
                return Ok(Outcome::failed(format!(
                    "SIS database: {error}; nothing was imported"
                )));
            }
        };
        warnings += report_unmatched(ctx, &plan);
        if settings.dry_run {
            tx.rollback()
                .map_err(|e| JobError::msg(format!("SIS database: {e}")))?;
            ctx.info("Dry run: every change was rolled back.");
        } else {
            tx.commit()
                .map_err(|e| JobError::msg(format!("SIS database: {e}")))?;
        }
        let rows: usize = files.values().map(|f| f.rows.len()).sum();
        let updated: u64 = applied.fields.iter().map(|(_, w)| w.rows).sum();
        let (inserted, deleted) = applied
            .logs
            .values()
            .fold((0, 0), |(i, d), (ins, del)| (i + ins.rows, d + del.rows));
        let summary = format!(
            "{}{rows} PEER rows imported; {} students touched; {updated} field values updated; \
             {inserted} log entries inserted, {deleted} deleted",
            if settings.dry_run { "dry run: " } else { "" },
            plan.touched.len()
        );
        Ok(if warnings > 0 {
            Outcome::warning(format!("{summary}; {warnings} warnings"))
        } else {
            Outcome::succeeded(summary)
        })
    }
}

/// Reads all fifteen files from the inbox; `None` (with every error reported) if any fails.
fn read_files(ctx: &Context, settings: &Settings) -> Option<BTreeMap<&'static str, PeerFile>> {
    let inbox = ctx.inbox();
    let mut files = BTreeMap::new();
    let mut failed = false;
    let empty = BTreeMap::new();
    for (i, spec) in FILES.iter().enumerate() {
        ctx.progress(
            i as u64,
            Some(FILES.len() as u64),
            Some(&format!("reading {}", spec.file)),
        );
        let Some(path) = find(inbox, spec.file) else {
            ctx.problem(
                Problem::error(
                    "Missing file",
                    format!("not in the inbox {}", inbox.display()),
                )
                .in_file(spec.file),
            );
            failed = true;
            continue;
        };
        let aliases = settings
            .column_aliases
            .iter()
            .find(|(file, _)| file.eq_ignore_ascii_case(spec.file))
            .map_or(&empty, |(_, a)| a);
        let started = Instant::now();
        match read::read_file(spec, &path, aliases) {
            Ok(file) => {
                ctx.debug(format!(
                    "{} read: {} rows in {:.2} s",
                    spec.file,
                    file.rows.len(),
                    started.elapsed().as_secs_f64()
                ));
                files.insert(spec.file, file);
            }
            Err(error) => {
                ctx.problem(error.problem());
                ctx.error(error.to_string());
                failed = true;
            }
        }
    }
    ctx.progress(
        FILES.len() as u64,
        Some(FILES.len() as u64),
        Some("files read"),
    );
    (!failed).then_some(files)
}

/// The inbox file named `name`, compared without case (FLDOE's names, a copy may differ).
fn find(inbox: &Path, name: &str) -> Option<PathBuf> {
    let exact = inbox.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    std::fs::read_dir(inbox)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.is_file()
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(name))
        })
}

/// Everything inside the transaction: migrations, background tables, plan, apply.
fn import(
    ctx: &Context,
    tx: &mut Tx<'_>,
    settings: &Settings,
    files: &BTreeMap<&'static str, PeerFile>,
) -> Result<(Plan, Applied), SisError> {
    let migrations: Vec<Migration> = match tx.backend() {
        Backend::Sqlite => MIGRATIONS_SQLITE,
        Backend::Postgres => MIGRATIONS_POSTGRES,
    }
    .iter()
    .map(|(version, name, sql)| Migration::new(*version, name, sql))
    .collect();
    let applied = ferry_sis::migrate(tx, MIGRATION_OWNER, &migrations)?;
    if !applied.is_empty() {
        ctx.info(format!(
            "Background tables migrated to version {applied:?}."
        ));
    }
    for (i, spec) in FILES.iter().enumerate() {
        let Some(file) = files.get(spec.file) else {
            continue;
        };
        ctx.progress(
            i as u64,
            Some(FILES.len() as u64),
            Some(&format!("loading {}", spec.table)),
        );
        let started = Instant::now();
        let rows = apply::load_table(tx, file, &settings.district_id, settings.school_year)?;
        ctx.table(
            spec.table,
            i64::try_from(rows).unwrap_or(i64::MAX),
            started.elapsed().as_secs_f64(),
            TableAction::Imported,
        );
    }
    ctx.progress(
        FILES.len() as u64,
        Some(FILES.len() as u64),
        Some("background tables loaded"),
    );
    let started = Instant::now();
    let snapshot = apply::snapshot(tx, settings.school_year)?;
    let plan = populate::plan(
        files,
        &snapshot.students,
        &snapshot.enrollments,
        &snapshot.log_entries,
        &settings.options,
    );
    ctx.info(format!(
        "{} of {} students are active and not at an excluded school; planned in {:.2} s",
        plan.touched.len(),
        snapshot.students.len(),
        started.elapsed().as_secs_f64()
    ));
    let applied = apply::apply(tx, &plan, settings.school_year)?;
    for (field, written) in &applied.fields {
        ctx.table(
            format!("students.{field}"),
            i64::try_from(written.rows).unwrap_or(i64::MAX),
            written.seconds,
            TableAction::Updated,
        );
    }
    for (field_id, (inserted, deleted)) in &applied.logs {
        let name = format!("custom_field_log_entries.{field_id}");
        ctx.table(
            name.clone(),
            i64::try_from(inserted.rows).unwrap_or(i64::MAX),
            inserted.seconds,
            TableAction::Inserted,
        );
        ctx.table(
            name,
            i64::try_from(deleted.rows).unwrap_or(i64::MAX),
            deleted.seconds,
            TableAction::Deleted,
        );
    }
    Ok((plan, applied))
}

/// Reports local ids that match no student as warnings; returns how many there were.
fn report_unmatched(ctx: &Context, plan: &Plan) -> usize {
    for u in plan.unmatched.iter().take(UNMATCHED_LISTED) {
        ctx.problem(
            Problem::warning(
                "Unknown student",
                "no student has this PEER local id (custom_53)",
            )
            .at(u.file, u.line)
            .field("local_id", u.local_id.clone()),
        );
    }
    if plan.unmatched.len() > UNMATCHED_LISTED {
        ctx.warn(format!(
            "{} more local ids match no student (only the first {UNMATCHED_LISTED} are listed)",
            plan.unmatched.len() - UNMATCHED_LISTED
        ));
    }
    plan.unmatched.len()
}
