//! `fs163-source`: creates the relations the edfacts-fs163 job reads (`edfacts_units`, and the
//! ises-upload job's `ises_incidents` that `derive_from_incidents` consults) and fills them with
//! the shipped sample rows of the made-up state "EU", in one transaction: the quick start's
//! stand-in for a state's source database, with no `sqlite3` or `psql` needed. SQLite files are
//! created when missing. Rows already in the relations are replaced.
//!
//! Usage: `fs163-source sqlite://var/fs163.db` (or a postgres:// URL).

use std::process::ExitCode;

use ferry_sis::{Backend, Sis, Tx, Value};

const UNITS_SQLITE: &str = include_str!("../../fixtures/source-sqlite.sql");
const UNITS_POSTGRES: &str = include_str!("../../fixtures/source-postgres.sql");
/// The ises-upload job's relations, shared rather than copied: one contract for both jobs.
const INCIDENTS_SQLITE: &str = include_str!("../../../ises-upload/fixtures/source-sqlite.sql");
const INCIDENTS_POSTGRES: &str = include_str!("../../../ises-upload/fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");

const USAGE: &str = "usage: fs163-source DATABASE_URL\n  \
     DATABASE_URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DB\n  \
     creates edfacts_units and ises_incidents and loads the sample rows of state EU";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let database = match args.as_slice() {
        [url] if !url.starts_with('-') => url.clone(),
        _ => {
            eprintln!("fs163-source: expected one DATABASE_URL\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match load(&database) {
        Ok((units, incidents)) => {
            println!("{database}: {units} sample units and {incidents} sample incidents loaded");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fs163-source: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Creates the relations (when missing) and replaces their rows, in one transaction; returns
/// the numbers of units and incidents loaded.
fn load(database: &str) -> Result<(i64, i64), String> {
    let mut sis = Sis::connect_creating(database, None).map_err(|e| e.to_string())?;
    let mut tx = sis.transaction().map_err(|e| e.to_string())?;
    let (units, incidents, clear) = match tx.backend() {
        Backend::Sqlite => (
            UNITS_SQLITE,
            INCIDENTS_SQLITE,
            "DELETE FROM edfacts_units; DELETE FROM ises_removals; DELETE FROM ises_incidents;",
        ),
        Backend::Postgres => (
            UNITS_POSTGRES,
            INCIDENTS_POSTGRES,
            "TRUNCATE edfacts_units, ises_removals, ises_incidents;",
        ),
    };
    tx.batch(units).map_err(|e| e.to_string())?;
    tx.batch(incidents).map_err(|e| e.to_string())?;
    // Loading twice would duplicate the rows; start from the sample alone.
    tx.batch(clear).map_err(|e| e.to_string())?;
    tx.batch(SAMPLE_DATA).map_err(|e| e.to_string())?;
    let units = count(&mut tx, "edfacts_units")?;
    let incidents = count(&mut tx, "ises_incidents")?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok((units, incidents))
}

fn count(tx: &mut Tx<'_>, table: &str) -> Result<i64, String> {
    let rows = tx
        .query(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .map_err(|e| e.to_string())?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .and_then(Value::as_i64)
        .unwrap_or_default())
}
