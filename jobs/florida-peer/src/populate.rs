//! Deciding what the import changes in the students' fields, as a pure function of the files
//! just read, a snapshot of the SIS, and the settings: the seed's mapping rules live here, and
//! only here, so they can be tested without a database ([`crate::apply`] writes the plan).
//!
//! The rules, as the job's docs state them:
//! - Only students active in the school year on the run date (an enrollment with start ≤ run
//!   date and no end or end ≥ run date) whose primary school (the year's enrollment with the
//!   latest start on or before the run date, ties to the lowest id) is not excluded are touched.
//! - Plan fields (873, 940, 256): ActiveIEPs wins over ActiveEPs over ActiveSPs; within the file,
//!   the row with the latest start (meeting) date wins, ties to the later line; that row supplies
//!   every plan field (256 from ActiveIEPs only), and a blank in it is a blank.
//! - LRE fields (863, 878, 879): only rows with a non-blank 879; the latest initiation date wins.
//! - Matrix fields (200000272/273/274/293): the latest `date_completed` wins.
//! - A student with no row in a file keeps the fields that file feeds.
//! - Blank or all-zero values are written only with `allow_zero_or_null_updates`; dates are
//!   never blanked. Only changed values are written.
//! - Log fields: each touched student's entries for the year become exactly the distinct rows
//!   of the file: identical entries are kept (same id), missing ones inserted, others deleted.

use crate::fields::{
    LOG_FIELDS, LRE_FIELDS, LRE_FILE, LRE_ORDER, LRE_REQUIRED, LogField, MATRIX_FIELDS,
    MATRIX_FILE, MATRIX_ORDER, PLAN_SOURCES, STUDENT_FIELDS,
};
use crate::read::{PeerFile, PeerRow};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A student as the SIS holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub id: i64,
    /// `custom_53`, the PEER local id, compared as text (leading zeros count).
    pub local_id: Option<String>,
    /// Current values of the single-valued fields, keyed by column (dates as ISO text).
    pub values: BTreeMap<&'static str, Option<String>>,
}

/// One `student_enrollment` row of the school year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub id: i64,
    pub student_id: i64,
    pub school_id: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// The values of LOG_FIELD1..6 (blank = `None`).
pub type LogValues = [Option<String>; 6];

/// One `custom_field_log_entries` row of the school year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i64,
    pub student_id: i64,
    pub field_id: i64,
    pub values: LogValues,
}

/// The settings that shape the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub run_date: NaiveDate,
    pub excluded_schools: Vec<String>,
    pub allow_zero_or_null_updates: bool,
    pub exclude_expired_accommodations: bool,
    /// The elements to import; empty = all.
    pub elements: BTreeSet<String>,
}

impl Options {
    fn wants(&self, element: &str) -> bool {
        self.elements.is_empty() || self.elements.contains(element)
    }
}

/// A local id in a file that matches no student in the SIS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub file: &'static str,
    pub line: u64,
    pub local_id: String,
}

/// What the import changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Students touched (active, not at an excluded school, with a local id).
    pub touched: Vec<i64>,
    /// Per imported student field: (student, new value) for values that change.
    pub field_updates: BTreeMap<&'static str, Vec<(i64, Option<String>)>>,
    /// Per log field id: entries to insert.
    pub log_inserts: BTreeMap<i64, Vec<(i64, LogValues)>>,
    /// Per log field id: entry ids to delete.
    pub log_deletes: BTreeMap<i64, Vec<i64>>,
    /// Per log field id: identical entries kept as they are.
    pub log_kept: BTreeMap<i64, usize>,
    /// Local ids matching no student (first occurrence per file and id).
    pub unmatched: Vec<Unmatched>,
}

/// Rows of one file by local id, with the column positions the plan needs.
struct Indexed<'a> {
    file: &'a PeerFile,
    by_local_id: HashMap<&'a str, Vec<&'a PeerRow>>,
}

impl<'a> Indexed<'a> {
    fn new(file: &'a PeerFile) -> Indexed<'a> {
        let mut by_local_id: HashMap<&str, Vec<&PeerRow>> = HashMap::new();
        if let Some(at) = file.spec.column_index("local_id") {
            for row in &file.rows {
                if let Some(Some(id)) = row.values.get(at) {
                    by_local_id.entry(id.as_str()).or_default().push(row);
                }
            }
        }
        Indexed { file, by_local_id }
    }

    fn rows(&self, local_id: &str) -> &[&'a PeerRow] {
        self.by_local_id.get(local_id).map_or(&[], Vec::as_slice)
    }

    fn column(&self, name: &str) -> usize {
        // The mapping's columns are checked against the specs by the fields tests.
        self.file.spec.column_index(name).unwrap_or(usize::MAX)
    }
}

fn value(row: &PeerRow, at: usize) -> Option<&str> {
    row.values.get(at).and_then(|v| v.as_deref())
}

/// The row with the greatest value in column `order` (blank lowest), ties to the later line.
fn latest<'r>(rows: impl Iterator<Item = &'r PeerRow>, order: usize) -> Option<&'r PeerRow> {
    rows.max_by(|a, b| {
        value(a, order)
            .cmp(&value(b, order))
            .then(a.line.cmp(&b.line))
    })
}

/// True for a value made only of zeros (`0`, `00`, `0.0`), however written.
pub fn is_zero(text: &str) -> bool {
    let t = text.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    digits > 0
        && t.chars().filter(|c| *c == '.').count() <= 1
        && t.chars().all(|c| c == '0' || c == '.')
}

/// What to write for a field whose winning row says `new`, given its `current` value:
/// `None` to leave it alone.
fn decide(
    current: Option<&str>,
    new: Option<&str>,
    is_date: bool,
    allow_zero_or_null: bool,
) -> Option<Option<String>> {
    let new = new.map(str::trim).filter(|v| !v.is_empty());
    let write = match new {
        None if is_date || !allow_zero_or_null => return None,
        Some(v) if !is_date && is_zero(v) && !allow_zero_or_null => return None,
        other => other,
    };
    let current = current.map(str::trim).filter(|v| !v.is_empty());
    (write != current).then(|| write.map(str::to_owned))
}

/// The students to touch: active on the run date and not primarily at an excluded school.
fn touched<'s>(
    students: &'s [Student],
    enrollments: &[Enrollment],
    opts: &Options,
) -> Vec<&'s Student> {
    let mut by_student: HashMap<i64, Vec<&Enrollment>> = HashMap::new();
    for e in enrollments {
        by_student.entry(e.student_id).or_default().push(e);
    }
    let run = opts.run_date;
    students
        .iter()
        .filter(|s| s.local_id.as_deref().is_some_and(|l| !l.trim().is_empty()))
        .filter(|s| {
            let Some(rows) = by_student.get(&s.id) else {
                return false;
            };
            let started = || {
                rows.iter()
                    .filter(|e| e.start_date.is_some_and(|d| d <= run))
            };
            let active = started().any(|e| e.end_date.is_none_or(|d| d >= run));
            let primary =
                started().max_by(|a, b| a.start_date.cmp(&b.start_date).then(b.id.cmp(&a.id)));
            let excluded = primary
                .and_then(|e| e.school_id.as_deref())
                .is_some_and(|school| opts.excluded_schools.iter().any(|x| x == school.trim()));
            active && !excluded
        })
        .collect()
}

/// Builds the plan. `files` holds every file read, by file name.
pub fn plan(
    files: &BTreeMap<&'static str, PeerFile>,
    students: &[Student],
    enrollments: &[Enrollment],
    existing: &[LogEntry],
    opts: &Options,
) -> Plan {
    let indexed: BTreeMap<&str, Indexed<'_>> = files
        .iter()
        .map(|(name, file)| (*name, Indexed::new(file)))
        .collect();
    let mut plan = Plan {
        unmatched: unmatched(files, students),
        ..Plan::default()
    };
    let touched = touched(students, enrollments, opts);
    plan.touched = touched.iter().map(|s| s.id).collect();

    let is_date: HashMap<&str, bool> = STUDENT_FIELDS
        .iter()
        .map(|f| (f.column, f.is_date))
        .collect();
    // Every wanted field has an entry (empty when nothing changes), so stats list them all.
    let mut updates: BTreeMap<&'static str, Vec<(i64, Option<String>)>> = STUDENT_FIELDS
        .iter()
        .filter(|f| opts.wants(f.column))
        .map(|f| (f.column, Vec::new()))
        .collect();
    let mut set = |student: &Student, field: &'static str, new: Option<&str>| {
        if !opts.wants(field) {
            return;
        }
        let current = student.values.get(field).and_then(|v| v.as_deref());
        let date = is_date.get(field).copied().unwrap_or(false);
        if let Some(write) = decide(current, new, date, opts.allow_zero_or_null_updates) {
            updates.entry(field).or_default().push((student.id, write));
        }
    };

    for student in &touched {
        let local = student.local_id.as_deref().unwrap_or("").trim();
        // Plan fields: the first source file with a row for the student, its latest row.
        for source in PLAN_SOURCES {
            let Some(file) = indexed.get(source.file) else {
                continue;
            };
            let rows = file.rows(local);
            let Some(row) = latest(rows.iter().copied(), file.column(source.start)) else {
                continue;
            };
            set(student, "custom_873", value(row, file.column(source.start)));
            set(student, "custom_940", value(row, file.column(source.end)));
            if let Some(esy) = source.esy {
                set(student, "custom_256", value(row, file.column(esy)));
            }
            break;
        }
        if let Some(file) = indexed.get(LRE_FILE) {
            let required = file.column(LRE_REQUIRED);
            let rows = file
                .rows(local)
                .iter()
                .copied()
                .filter(|r| value(r, required).is_some_and(|v| !v.trim().is_empty()));
            if let Some(row) = latest(rows, file.column(LRE_ORDER)) {
                for (column, field) in LRE_FIELDS {
                    set(student, field, value(row, file.column(column)));
                }
            }
        }
        if let Some(file) = indexed.get(MATRIX_FILE) {
            let rows = file.rows(local).iter().copied();
            if let Some(row) = latest(rows, file.column(MATRIX_ORDER)) {
                for (column, field) in MATRIX_FIELDS {
                    set(student, field, value(row, file.column(column)));
                }
            }
        }
    }
    plan.field_updates = updates;

    let touched_ids: HashSet<i64> = plan.touched.iter().copied().collect();
    for log in LOG_FIELDS.iter().filter(|l| opts.wants(&l.element())) {
        let Some(file) = indexed.get(log.file) else {
            continue;
        };
        reconcile_log(log, file, &touched, &touched_ids, existing, opts, &mut plan);
    }
    plan
}

/// Plans one log field's entries for every touched student.
fn reconcile_log(
    log: &LogField,
    file: &Indexed<'_>,
    touched: &[&Student],
    touched_ids: &HashSet<i64>,
    existing: &[LogEntry],
    opts: &Options,
    plan: &mut Plan,
) {
    let mut have: HashMap<i64, Vec<&LogEntry>> = HashMap::new();
    for entry in existing
        .iter()
        .filter(|e| e.field_id == log.field_id && touched_ids.contains(&e.student_id))
    {
        have.entry(entry.student_id).or_default().push(entry);
    }
    let positions: Vec<Option<usize>> = log
        .columns
        .iter()
        .map(|c| c.map(|c| file.column(c)))
        .collect();
    let expiry = log
        .expires_by
        .filter(|_| opts.exclude_expired_accommodations)
        .map(|c| file.column(c));
    let run_date = opts.run_date.to_string();
    let (mut inserts, mut deletes, mut kept) = (Vec::new(), Vec::new(), 0);
    for student in touched {
        let local = student.local_id.as_deref().unwrap_or("").trim();
        let mut wanted: Vec<LogValues> = Vec::new();
        for row in file.rows(local) {
            // A blank end date is not expired; ISO dates compare as text.
            if let Some(at) = expiry
                && value(row, at).is_some_and(|end| end < run_date.as_str())
            {
                continue;
            }
            let values: LogValues =
                std::array::from_fn(|i| positions[i].and_then(|p| normalized(value(row, p))));
            if !wanted.contains(&values) {
                wanted.push(values);
            }
        }
        let mut current: Vec<&LogEntry> = have.remove(&student.id).unwrap_or_default();
        current.sort_by_key(|e| e.id);
        let mut matched = vec![false; current.len()];
        for values in wanted {
            let found = current.iter().enumerate().position(|(i, e)| {
                !matched[i]
                    && e.values
                        .iter()
                        .map(|v| normalized(v.as_deref()))
                        .eq(values.iter().cloned())
            });
            match found {
                Some(i) => {
                    matched[i] = true;
                    kept += 1;
                }
                None => inserts.push((student.id, values)),
            }
        }
        deletes.extend(
            current
                .iter()
                .zip(&matched)
                .filter(|(_, m)| !**m)
                .map(|(e, _)| e.id),
        );
    }
    plan.log_inserts.insert(log.field_id, inserts);
    plan.log_deletes.insert(log.field_id, deletes);
    plan.log_kept.insert(log.field_id, kept);
}

/// A log value as compared and stored: trimmed, blank = `None`.
fn normalized(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Local ids in any file that match no student at all (first line per file and id).
fn unmatched(files: &BTreeMap<&'static str, PeerFile>, students: &[Student]) -> Vec<Unmatched> {
    let known: HashSet<&str> = students
        .iter()
        .filter_map(|s| s.local_id.as_deref().map(str::trim))
        .collect();
    let mut out = Vec::new();
    for (name, file) in files {
        let Some(at) = file.spec.column_index("local_id") else {
            continue;
        };
        let mut seen: HashSet<&str> = HashSet::new();
        for row in &file.rows {
            if let Some(id) = value(row, at)
                && !known.contains(id.trim())
                && seen.insert(id)
            {
                out.push(Unmatched {
                    file: name,
                    line: row.line,
                    local_id: id.to_owned(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
