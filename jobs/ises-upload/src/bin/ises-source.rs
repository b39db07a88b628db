//! `ises-source`: creates the two relations the ises-upload job reads (`ises_incidents`,
//! `ises_removals`) and loads the shipped sample rows (the spec's own example records) into
//! them, in one transaction: the quick start's stand-in for a district's SIS, with no `sqlite3`
//! or `psql` needed. SQLite files are created when missing.
//!
//! Usage: `ises-source sqlite://var/ises.db` (or a postgres:// URL).

use std::process::ExitCode;

use ferry_sis::{Backend, Sis};

const SCHEMA_SQLITE: &str = include_str!("../../fixtures/source-sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../fixtures/source-postgres.sql");
const SAMPLE_DATA: &str = include_str!("../../fixtures/sample-data.sql");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [database] = args.as_slice() else {
        eprintln!(
            "usage: ises-source DATABASE_URL   (sqlite://PATH, created if missing, or postgres://USER@HOST/DB)"
        );
        return ExitCode::FAILURE;
    };
    match load(database) {
        Ok(incidents) => {
            println!("{database}: {incidents} sample incidents loaded");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ises-source: {error}");
            ExitCode::FAILURE
        }
    }
}

fn load(database: &str) -> Result<i64, String> {
    let mut sis = Sis::connect_creating(database, None).map_err(|e| e.to_string())?;
    let mut tx = sis.transaction().map_err(|e| e.to_string())?;
    let schema = match tx.backend() {
        Backend::Sqlite => SCHEMA_SQLITE,
        Backend::Postgres => SCHEMA_POSTGRES,
    };
    tx.batch(schema).map_err(|e| e.to_string())?;
    // Loading twice would duplicate the sample; start from the sample alone.
    tx.batch("DELETE FROM ises_removals; DELETE FROM ises_incidents;")
        .map_err(|e| e.to_string())?;
    tx.batch(SAMPLE_DATA).map_err(|e| e.to_string())?;
    let incidents = tx
        .query("SELECT COUNT(*) FROM ises_incidents", &[])
        .map_err(|e| e.to_string())?
        .first()
        .and_then(|row| row.first())
        .and_then(ferry_sis::Value::as_i64)
        .unwrap_or_default();
    tx.commit().map_err(|e| e.to_string())?;
    Ok(incidents)
}
