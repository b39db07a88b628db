//! `ises-source`: creates the two relations the ises-upload job reads (`ises_incidents`,
//! `ises_removals`) and fills them, in one transaction: the quick start's and the benchmark's
//! stand-in for a district's SIS, with no `sqlite3` or `psql` needed. SQLite files are created
//! when missing. Rows already in the relations are replaced.
//!
//! Usage:
//! - `ises-source sqlite://var/ises.db` (or a postgres:// URL): the shipped sample rows (the
//!   spec's own example records).
//! - `ises-source DATABASE_URL --incidents N [--seed S] [--invalid K]`: N generated incidents of
//!   district 0130 that pass validation (see [`generate`]), K of them with a rule broken.

mod generate;

use std::process::ExitCode;
use std::time::Instant;

use ferry_sis::{Backend, Sis};

const SCHEMA_SQLITE: &str = include_str!("../../../fixtures/source-sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../../fixtures/sample-data.sql");

const USAGE: &str = "usage: ises-source DATABASE_URL [--incidents N [--seed S] [--invalid K]]\n  \
     DATABASE_URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DB\n  \
     without --incidents: the spec's sample rows; with it: N generated valid incidents of \
     district 0130 (K of them with a rule broken), the same for the same seed (default 1)";

/// What to put into the relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// The shipped sample rows.
    Sample,
    /// Generated rows.
    Generated(generate::Options),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (database, fill) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("ises-source: {message}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    match load(&database, fill) {
        Ok(summary) => {
            let seconds = started.elapsed().as_secs_f64();
            match fill {
                Fill::Sample => {
                    println!("{database}: {} sample incidents loaded", summary.incidents)
                }
                Fill::Generated(options) => println!(
                    "{database}: {} incidents and {} removals generated (seed {}, {} with a \
                     rule broken) and loaded in {seconds:.2} s",
                    summary.incidents,
                    summary.removals,
                    options.seed,
                    summary.invalid_keys.len()
                ),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ises-source: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<(String, Fill), String> {
    let mut database = None;
    let (mut incidents, mut seed, mut invalid) = (None, 1u64, 0usize);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match arg.as_str() {
            "--incidents" => {
                let v = value(arg)?;
                incidents = Some(
                    v.parse()
                        .map_err(|_| format!("--incidents {v:?}: not a count"))?,
                );
            }
            "--seed" => {
                let v = value(arg)?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed {v:?}: not a number"))?;
            }
            "--invalid" => {
                let v = value(arg)?;
                invalid = v
                    .parse()
                    .map_err(|_| format!("--invalid {v:?}: not a count"))?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if database.is_none() => database = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let database = database.ok_or("DATABASE_URL is missing")?;
    let fill = match incidents {
        None if invalid > 0 => return Err("--invalid needs --incidents".to_owned()),
        None => Fill::Sample,
        Some(incidents) => Fill::Generated(generate::Options {
            incidents,
            seed,
            invalid: invalid.min(incidents),
        }),
    };
    Ok((database, fill))
}

/// Creates the relations (when missing) and replaces their rows, in one transaction.
fn load(database: &str, fill: Fill) -> Result<generate::Summary, String> {
    let mut sis = Sis::connect_creating(database, None).map_err(|e| e.to_string())?;
    let mut tx = sis.transaction().map_err(|e| e.to_string())?;
    let (schema, clear) = match tx.backend() {
        Backend::Sqlite => (
            SCHEMA_SQLITE,
            "DELETE FROM ises_removals; DELETE FROM ises_incidents;",
        ),
        Backend::Postgres => (SCHEMA_POSTGRES, "TRUNCATE ises_removals, ises_incidents;"),
    };
    tx.batch(schema).map_err(|e| e.to_string())?;
    // Loading twice would duplicate the rows; start from the new ones alone.
    tx.batch(clear).map_err(|e| e.to_string())?;
    let summary = match fill {
        Fill::Sample => {
            tx.batch(SAMPLE_DATA).map_err(|e| e.to_string())?;
            let count = |tx: &mut ferry_sis::Tx<'_>, table: &str| {
                tx.query(&format!("SELECT COUNT(*) FROM {table}"), &[])
                    .map_err(|e| e.to_string())
                    .map(|rows| {
                        rows.first()
                            .and_then(|row| row.first())
                            .and_then(ferry_sis::Value::as_i64)
                            .unwrap_or_default()
                            .unsigned_abs()
                    })
            };
            generate::Summary {
                incidents: count(&mut tx, "ises_incidents")?,
                removals: count(&mut tx, "ises_removals")?,
                invalid_keys: Vec::new(),
            }
        }
        Fill::Generated(options) => generate::load(&mut tx, &options).map_err(|e| e.to_string())?,
    };
    tx.commit().map_err(|e| e.to_string())?;
    Ok(summary)
}
