//! `edfi-source`: creates the ten relations the Ed-Fi resync reads (`edfi_*`) and fills them,
//! in one transaction: the stand-in for a district's SIS in load tests and the benchmark, with
//! no `sqlite3` or `psql` needed. SQLite files are created when missing; rows already in the
//! relations are replaced.
//!
//! Usage:
//! - `edfi-source sqlite://var/edfi.db` (or a postgres:// URL): the shipped sample district.
//! - `edfi-source DATABASE_URL --students N [--seed S]`: a generated district of N students
//!   that the job's rules accept without a rejected row (see [`generate`]).
//! - `--lookups-out FILE` (with either): writes what the Ed-Fi host must already hold for that
//!   district (schools, courses, staff, school years, descriptors), shaped as
//!   `fixtures/lookups.json`, for seeding an emulator.
//! - `edfi-source DATABASE_URL --change-percent P [--seed S]`: renames P% of the students of
//!   the district already there, and prints how many records changed per resource (the next
//!   delta run must send exactly those).

mod generate;

use std::process::ExitCode;
use std::time::Instant;

use ferry_sis::{Backend, Sis};

const SCHEMA_SQLITE: &str = include_str!("../../../fixtures/source-sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../../fixtures/sample-data.sql");
/// The sample district's lookups; the generated district's are made from it.
pub(crate) const LOOKUPS: &str = include_str!("../../../fixtures/lookups.json");

const USAGE: &str = "usage: edfi-source DATABASE_URL [--students N] [--seed S] \
     [--lookups-out FILE] [--change-percent P]\n  \
     DATABASE_URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DB\n  \
     without --students: the shipped sample district; with it: N generated students (the same \
     for the same seed, default 1)\n  \
     --lookups-out FILE: the host's lookups for the district, as fixtures/lookups.json\n  \
     --change-percent P: rename P% of the students already there; prints the changed records";

/// What to do.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// Load the shipped sample district.
    Sample,
    /// Load a generated district.
    Generated(generate::Options),
    /// Change a share of the students already there.
    Change { percent: f64, seed: u64 },
}

#[derive(Debug, Clone, PartialEq)]
struct Args {
    database: String,
    action: Action,
    lookups_out: Option<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("edfi-source: {message}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edfi-source: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut database = None;
    let (mut students, mut seed, mut percent, mut lookups_out) = (None, 1u64, None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match arg.as_str() {
            "--students" => {
                let v = value(arg)?;
                students = Some(
                    v.parse::<usize>()
                        .map_err(|_| format!("--students {v:?}: not a count"))?,
                );
            }
            "--seed" => {
                let v = value(arg)?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed {v:?}: not a number"))?;
            }
            "--change-percent" => {
                let v = value(arg)?;
                let p: f64 = v
                    .parse()
                    .map_err(|_| format!("--change-percent {v:?}: not a number"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("--change-percent {v}: must be 0 to 100"));
                }
                percent = Some(p);
            }
            "--lookups-out" => lookups_out = Some(value(arg)?),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if database.is_none() => database = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let database = database.ok_or("DATABASE_URL is missing")?;
    let action = match (students, percent) {
        (Some(_), Some(_)) => {
            return Err("--change-percent changes an existing district: no --students".into());
        }
        (None, Some(_)) if lookups_out.is_some() => {
            return Err("--lookups-out goes with loading a district, not --change-percent".into());
        }
        (None, Some(percent)) => Action::Change { percent, seed },
        (Some(students), None) => Action::Generated(generate::Options { students, seed }),
        (None, None) => Action::Sample,
    };
    Ok(Args {
        database,
        action,
        lookups_out,
    })
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let mut sis = Sis::connect_creating(&args.database, None).map_err(|e| e.to_string())?;
    let mut tx = sis.transaction().map_err(|e| e.to_string())?;
    if let Action::Change { percent, seed } = args.action {
        let changes = generate::change(&mut tx, percent, seed).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        println!(
            "{}: {percent}% of the students renamed in {:.2} s",
            args.database,
            started.elapsed().as_secs_f64()
        );
        for (resource, n) in &changes.records {
            println!("  {resource}: {n} changed");
        }
        println!("changed records: {}", changes.total());
        return Ok(());
    }
    let schema = match tx.backend() {
        Backend::Sqlite => SCHEMA_SQLITE,
        Backend::Postgres => SCHEMA_POSTGRES,
    };
    // Replace: drop what is there, then create the contract afresh.
    let mut drop = String::new();
    for (relation, _) in ferry_job_edfi_resync::source::Source::default().counts() {
        drop.push_str(&format!("DROP TABLE IF EXISTS {relation};\n"));
    }
    tx.batch(&drop).map_err(|e| e.to_string())?;
    tx.batch(schema).map_err(|e| e.to_string())?;
    let (lookups, summary) = match args.action {
        Action::Generated(options) => {
            let summary = generate::load(&mut tx, &options).map_err(|e| e.to_string())?;
            (summary.lookups.clone(), Some(summary))
        }
        _ => {
            tx.batch(SAMPLE_DATA).map_err(|e| e.to_string())?;
            (
                serde_json::from_str(LOOKUPS).map_err(|e| e.to_string())?,
                None,
            )
        }
    };
    tx.commit().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.lookups_out {
        let text = serde_json::to_string_pretty(&lookups).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    match (summary, &args.action) {
        (Some(summary), Action::Generated(options)) => {
            let rows: u64 = summary.rows.iter().map(|(_, n)| n).sum();
            println!(
                "{}: {} students generated (seed {}), {rows} rows loaded in {seconds:.2} s",
                args.database, options.students, options.seed
            );
            for (relation, n) in &summary.rows {
                println!("  {relation}: {n} rows");
            }
            let records: u64 = summary.expected.iter().map(|(_, n)| n).sum();
            println!("records the job builds: {records}");
            for (resource, n) in &summary.expected {
                println!("  {resource}: {n}");
            }
        }
        _ => println!("{}: the sample district loaded", args.database),
    }
    Ok(())
}
