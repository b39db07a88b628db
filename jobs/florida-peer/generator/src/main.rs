//! `peer-gen`: writes synthetic PEER files and the matching SIS fixture from the command line,
//! for the quick start's sample, tests by hand and the benchmark.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Parser;
use ferry_peer_generator::{EdgeCase, GenOptions, generate};

/// Write the fifteen PEER CSV files and sis-data.sql for N synthetic students.
#[derive(Debug, Parser)]
#[command(name = "peer-gen", version)]
struct Args {
    /// Students in the SIS fixture (at least 35, one per edge-case role).
    #[arg(long)]
    students: usize,
    /// Directory to write into (created if missing; files of the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Seed: the same arguments give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// FLDOE district number.
    #[arg(long, default_value = "13")]
    district: String,
    /// School year as the SIS's syear (the calendar year it starts in).
    #[arg(long, default_value_t = 2025)]
    school_year: i32,
    /// The night the import is meant to run (YYYY-MM-DD). Default: January 15 of the school
    /// year's second calendar year.
    #[arg(long)]
    run_date: Option<NaiveDate>,
    /// Aim for about this many data rows across the fifteen files.
    #[arg(long)]
    rows: Option<usize>,
    /// List every local id of every edge case (and the touched students), not the first few.
    #[arg(long)]
    list_all: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let run_date = match args.run_date {
        Some(date) => date,
        None => match NaiveDate::from_ymd_opt(args.school_year + 1, 1, 15) {
            Some(date) => date,
            None => {
                eprintln!(
                    "peer-gen: school year {} has no January 15",
                    args.school_year
                );
                return ExitCode::from(2);
            }
        },
    };
    let opts = GenOptions {
        students: args.students,
        seed: args.seed,
        district_id: args.district,
        school_year: args.school_year,
        run_date,
        target_rows: args.rows,
    };
    let started = Instant::now();
    let summary = match generate(&args.out, &opts) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("peer-gen: {}: {error}", args.out.display());
            return ExitCode::from(if error.kind() == std::io::ErrorKind::InvalidInput {
                2
            } else {
                1
            });
        }
    };
    let elapsed = started.elapsed();
    println!("{:<45} {:>10}", "file", "rows");
    for (file, rows) in &summary.files {
        println!("{file:<45} {rows:>10}");
    }
    println!("{:<45} {:>10}", "total", summary.total_rows);
    println!();
    println!(
        "sis-data.sql: {} students ({} touched), {} enrollments, {} log entries",
        summary.students,
        summary.touched.len(),
        summary.enrollments,
        summary.log_entries
    );
    println!();
    println!("edge cases (count: first local ids / files):");
    for case in EdgeCase::ALL {
        let hits = summary.hits(case);
        if case.is_file_case() {
            println!("  {:<32} {}", case.name(), hits.files.join(", "));
        } else {
            let limit = if args.list_all { usize::MAX } else { 8 };
            let shown: Vec<&str> = hits
                .local_ids
                .iter()
                .take(limit)
                .map(String::as_str)
                .collect();
            let more = if hits.local_ids.len() > shown.len() {
                " ..."
            } else {
                ""
            };
            println!(
                "  {:<32} {:>6}: {}{more}",
                case.name(),
                hits.local_ids.len(),
                shown.join(" ")
            );
        }
    }
    if args.list_all {
        println!(
            "  {:<32} {:>6}: {}",
            "touched",
            summary.touched.len(),
            summary.touched.join(" ")
        );
    }
    println!();
    println!(
        "wrote {} in {:.2} s",
        args.out.display(),
        elapsed.as_secs_f64()
    );
    if let Some(target) = opts.target_rows {
        let off = summary.total_rows as f64 / target.max(1) as f64 - 1.0;
        if off.abs() > 0.1 {
            eprintln!(
                "peer-gen: warning: {} rows written for a target of {target} ({:+.0}%); rows per \
                 student are bounded, so use more students",
                summary.total_rows,
                off * 100.0
            );
        }
    }
    ExitCode::SUCCESS
}
