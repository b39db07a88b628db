//! `peer-sis`: creates the SIS tables the florida-peer job expects and loads a generated
//! `sis-data.sql` into them, in one transaction — the quick start's (and a benchmark's) stand-in
//! for a district's real SIS. SQLite files are created when missing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferry_peer_generator::{SIS_SCHEMA_POSTGRES, SIS_SCHEMA_SQLITE};
use ferry_sis::{Backend, Sis};

/// Create the SIS tables (students, student_enrollment, custom_field_log_entries) and load
/// sis-data.sql into them.
#[derive(Debug, Parser)]
#[command(name = "peer-sis", version)]
struct Args {
    /// The SIS database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long)]
    database: String,
    /// The generated sis-data.sql to load (e.g. jobs/florida-peer/fixtures/sample/sis-data.sql).
    #[arg(long)]
    data: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match load(&args) {
        Ok(students) => {
            println!("{}: {students} students loaded", args.database);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("peer-sis: {error}");
            ExitCode::FAILURE
        }
    }
}

fn load(args: &Args) -> Result<i64, String> {
    let data = std::fs::read_to_string(&args.data)
        .map_err(|e| format!("cannot read {}: {e}", args.data.display()))?;
    let mut sis = Sis::connect_creating(&args.database, None).map_err(|e| e.to_string())?;
    let mut tx = sis.transaction().map_err(|e| e.to_string())?;
    let schema = match tx.backend() {
        Backend::Sqlite => SIS_SCHEMA_SQLITE,
        Backend::Postgres => SIS_SCHEMA_POSTGRES,
    };
    tx.batch(schema).map_err(|e| e.to_string())?;
    tx.batch(&data).map_err(|e| e.to_string())?;
    let students = tx
        .query("SELECT COUNT(*) FROM students", &[])
        .map_err(|e| e.to_string())?
        .first()
        .and_then(|row| row.first())
        .and_then(ferry_sis::Value::as_i64)
        .unwrap_or_default();
    tx.commit().map_err(|e| e.to_string())?;
    Ok(students)
}
