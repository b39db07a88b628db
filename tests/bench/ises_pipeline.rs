//! `ferry-bench-ises`: the in-process half of `ferry-bench`'s `ises` section. It runs the
//! ises-upload job's own pipeline once, as the job runs it (`source::read` in a rolled-back
//! transaction, `LoadFile::build`, `validate`, `load_file_bytes`), times each step inside the
//! process, and prints the figures as one JSON object for ferry-bench to collect.
//!
//! A process of its own because every job plugin crate exports the same `ferry_plugin_v1`
//! symbol: ferry-bench, which links the florida-peer crate, cannot link this one too.
//!
//!   ferry-bench-ises DATABASE_URL DISTRICT YEAR
#![allow(
    clippy::print_stdout,
    reason = "a benchmark helper whose output is its result"
)]

use chrono::Utc;
use ferry_job_ises_upload::record::{Dtg, Header, LoadFile};
use ferry_job_ises_upload::source;
use ferry_job_ises_upload::validate::{Rules, validate};
use ferry_job_ises_upload::write::load_file_bytes;
use ferry_sis::Sis;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, district, year] = args.as_slice() else {
        panic!("usage: ferry-bench-ises DATABASE_URL DISTRICT YEAR");
    };
    let year: i32 = year.parse().expect("YEAR");

    let started = Instant::now();
    let mut sis = Sis::connect(url, None).expect("connect to the SIS");
    let mut tx = sis.transaction().expect("begin");
    let read = source::read(&mut tx, district, source::ALL_SCHOOLS).expect("read the SIS");
    tx.rollback().expect("rollback");
    let read_s = started.elapsed().as_secs_f64();
    let (incidents, removals) = (read.incidents.len(), read.removals.len());

    let t = Instant::now();
    let districts: Vec<(String, String)> = read
        .incidents
        .iter()
        .map(|i| (i.incident_key.clone(), district.clone()))
        .collect();
    let header = Header {
        dtg: Dtg::from_utc(Utc::now()),
        seq_num: 1,
        district_code: district.clone(),
    };
    let file = LoadFile::build(header, year, &[], read.incidents, read.removals)
        .expect("build the Load File")
        .with_source_districts(districts);
    let build_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let findings = validate(
        &file,
        &Rules {
            year,
            district_code: district.clone(),
            next_term_start_date: None,
        },
    );
    let validate_s = t.elapsed().as_secs_f64();
    let errors = findings.iter().filter(|f| f.is_error()).count();

    // As the job does: a file with errors is never serialized (it may not even be writable).
    let t = Instant::now();
    let bytes = if errors == 0 {
        load_file_bytes(&file).expect("serialize the Load File")
    } else {
        Vec::new()
    };
    let serialize_s = t.elapsed().as_secs_f64();
    let total_s = started.elapsed().as_secs_f64();

    let schools = file.schools().len();
    let written: usize = file.schools().iter().map(|s| s.incidents.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "total": total_s,
            "read": read_s,
            "build": build_s,
            "validate": validate_s,
            "serialize": serialize_s,
            "bytes": bytes.len(),
            "incidents_read": incidents,
            "removals_read": removals,
            "schools": schools,
            "incidents_written": written,
            "errors": errors,
            "warnings": findings.len() - errors,
            "first_finding": findings.first().map(|f| format!("{f:?}")),
        })
    );
}
