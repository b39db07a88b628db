//! Synthetic FLDOE PEER files and a matching SIS fixture, for the florida-peer job's tests, quick
//! start and benchmark.
//!
//! Real PEER extracts hold students' disability plans, so they can never be committed or shared;
//! this crate writes files that look and misbehave like real ones instead: the fifteen CSV files
//! with the seed's headers, realistic codes and wording, and every edge case the import must
//! handle (excluded schools, inactive students, blank "time with non-disabled peers", zero
//! values, expired accommodations, duplicate rows, quoted commas, a byte order mark, CRLF lines,
//! ...), plus `sis-data.sql`, the SIS students, enrollments and log entries those files are meant
//! for. Everything is a pure function of [`GenOptions`]: the same options give the same bytes.
//!
//! [`generate`] returns a [`GenSummary`] with the rows per file and, for each [`EdgeCase`], the
//! local ids (or files) where it occurs, so tests can assert on exactly those students.

mod edge;
mod generator;
mod out;
mod pools;
mod rng;
mod spec;

use std::io;
use std::path::Path;

use chrono::NaiveDate;

pub use edge::{EdgeCase, EdgeCaseHits};
pub use spec::{
    EXCLUDED_SCHOOLS, FILES, FileSpec, LOG_FIELDS, SIS_DATA_FILE, SIS_SCHEMA_POSTGRES,
    SIS_SCHEMA_SQLITE,
};

/// The fewest students [`generate`] accepts: one per designated edge-case role, so every
/// [`EdgeCase`] occurs in any generated set.
pub const MIN_STUDENTS: usize = generator::ROLES.len();

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOptions {
    /// Students in the SIS fixture (at least [`MIN_STUDENTS`]). The files also hold a few local
    /// ids that match no student (about one per 200 students, at least three).
    pub students: usize,
    /// Seed of the generator: the same options give byte-identical files.
    pub seed: u64,
    /// The FLDOE district number (in the fixture's header and the student info URLs).
    pub district_id: String,
    /// The school year as the SIS's syear: the calendar year it starts in.
    pub school_year: i32,
    /// The night the import is meant to run; "active", "expired" and "future" are relative to
    /// it. Must fall in the school year, at least four weeks after it starts (August 11).
    pub run_date: NaiveDate,
    /// Aim for about this many data rows across the fifteen files (within a few percent for a
    /// few hundred students or more); `None` gives about 11 rows per student. Rows per student
    /// are bounded (accommodations and services are distinct within a plan), so a target above
    /// about 25 rows per student is not reached; the summary says what was written.
    pub target_rows: Option<usize>,
}

impl GenOptions {
    /// `students` students with the sample's settings: seed 1, district 13, school year 2025,
    /// run date 2026-01-15, no row target.
    pub fn new(students: usize) -> GenOptions {
        GenOptions {
            students,
            seed: 1,
            district_id: "13".to_string(),
            school_year: 2025,
            run_date: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default(),
            target_rows: None,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// Data rows (header excluded, a duplicated row counted twice) per file, in [`FILES`] order.
    pub files: Vec<(&'static str, usize)>,
    /// Sum of `files`.
    pub total_rows: usize,
    /// Rows in `sis-data.sql` per table.
    pub students: usize,
    pub enrollments: usize,
    pub log_entries: usize,
    /// Local ids of the students the import must touch (active in the school year on the run
    /// date and not primarily enrolled at an excluded school), in generation order.
    pub touched: Vec<String>,
    /// Every edge case, in [`EdgeCase::ALL`] order, with where it occurs.
    pub edge_cases: Vec<EdgeCaseHits>,
}

impl GenSummary {
    /// Data rows written to `file` (a name from [`FILES`]).
    pub fn rows(&self, file: &str) -> Option<usize> {
        self.files.iter().find(|(f, _)| *f == file).map(|(_, n)| *n)
    }

    /// Where `case` occurs.
    pub fn hits(&self, case: EdgeCase) -> &EdgeCaseHits {
        &self.edge_cases[case as usize]
    }
}

/// Writes the fifteen PEER CSV files and `sis-data.sql` into `dir` (created if missing,
/// existing files of those names replaced).
///
/// # Errors
/// `InvalidInput` for options outside the documented ranges; otherwise the I/O error.
pub fn generate(dir: &Path, opts: &GenOptions) -> io::Result<GenSummary> {
    generator::generate(dir, opts)
}
