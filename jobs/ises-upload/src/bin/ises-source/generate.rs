//! Generated SIS rows for `ises-source --incidents N`: a district's worth of discipline incidents
//! (district 0130, twelve schools, one to three removals each) that pass every upload rule of
//! the job's validator, for load tests and the benchmark, which need far more rows than the
//! spec's three-record example.
//!
//! The rows are realistic rather than uniform: students with repeat incidents keep their WSN,
//! enrollment date, disability and English proficiency; incident dates fall on school days of
//! the 2007-08 term (collection YEAR 2008); removal types, days removed and the expulsion-only
//! fields follow their removal type (an `EX` has them, every other type has none, so no warning
//! either). Codes come from the spec's Appendix D tables; days removed are in .5 steps; every
//! incident has its own INCIDENT_ID and its removals distinct start dates, so each removal is
//! unique by A.4.
//!
//! `--invalid K` breaks one rule in each of K incidents spread over the file (a bad code,
//! days not in .5 steps, a removal before its incident, a malformed WSN), so a run can be made to
//! fail validation on purpose.
//!
//! The same seed gives the same rows: a small splitmix64 generator, no external crate. Rows go
//! in through [`Tx::bulk_insert`] (COPY on PostgreSQL, one prepared INSERT on SQLite) in the
//! caller's transaction.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use ferry_sis::{SisError, Tx, ValueRef};

/// The district every generated row belongs to.
pub const DISTRICT: &str = "0130";

/// The collection YEAR the rows are for: the 2007-08 school term.
pub const YEAR: i32 = 2008;

/// The district's schools.
pub const SCHOOLS: [&str; 12] = [
    "0020", "0040", "0060", "0080", "0100", "0120", "0140", "0160", "0180", "0200", "0220", "0240",
];

/// D.2 incident types, weighted: most incidents are plain rule violations.
const INCIDENT_TYPES: &[(&str, u32)] = &[
    ("SR", 50),
    ("AE", 15),
    ("AS", 10),
    ("DG", 8),
    ("AL", 6),
    ("DW", 6),
    ("HG", 2),
    ("OF", 2),
    ("SG", 1),
];

/// D.8 removal types, weighted: suspensions far outnumber expulsions and IAES placements.
const REMOVAL_TYPES: &[(&str, u32)] = &[("OS", 55), ("IS", 30), ("SP", 6), ("EX", 5), ("HO", 4)];

/// D.5 primary disabilities, weighted: most students are not IDEA eligible.
const DISABILITIES: &[(&str, u32)] = &[
    ("N", 80),
    ("LD", 6),
    ("EBD", 5),
    ("OHI", 3),
    ("SL", 2),
    ("CD", 2),
    ("A", 1),
    ("SDD", 1),
];

/// D.1 English proficiency codes, weighted: most students were never English learners.
const ENGLISH_PROFICIENCY: &[(&str, u32)] = &[
    ("7", 85),
    ("6", 6),
    ("5", 3),
    ("4", 2),
    ("3", 2),
    ("2", 1),
    ("1", 1),
];

/// D.9 modified terms valid in 2007-08 (`Y` is not, after 2006-07).
const MODIFIED_TERMS: &[(&str, u32)] = &[("N", 70), ("I", 15), ("M", 15)];

/// The columns rows are written in: the ones the job reads, in its order (so
/// [`IncidentRow::values`] and [`RemovalRow::values`] follow the job's own lists).
pub use ferry_job_ises_upload::source::{INCIDENT_COLUMNS, REMOVAL_COLUMNS};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Number of incidents.
    pub incidents: usize,
    /// The PRNG seed: the same seed gives the same rows.
    pub seed: u64,
    /// Number of incidents with one rule broken (at most `incidents`).
    pub invalid: usize,
}

/// What was generated (and loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Incident rows.
    pub incidents: u64,
    /// Removal rows.
    pub removals: u64,
    /// The `incident_key`s of the incidents with a rule broken, in key order.
    pub invalid_keys: Vec<String>,
}

/// One `ises_incidents` row.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub incident_key: String,
    pub school_code: &'static str,
    pub incident_id: String,
    pub wsn_id: String,
    pub enroll_date: NaiveDate,
    pub incident_date: NaiveDate,
    pub incident_type_primary: &'static str,
    pub incident_type_secondary: Option<&'static str>,
}

impl IncidentRow {
    /// The row's values in [`INCIDENT_COLUMNS`] order, borrowing its text.
    pub fn values(&self) -> [ValueRef<'_>; 10] {
        [
            ValueRef::Text(&self.incident_key),
            ValueRef::Text(DISTRICT),
            ValueRef::Text(self.school_code),
            ValueRef::Text(&self.incident_id),
            ValueRef::Text(YEAR_TEXT),
            ValueRef::Text(&self.wsn_id),
            ValueRef::Date(self.enroll_date),
            ValueRef::Date(self.incident_date),
            ValueRef::Text(self.incident_type_primary),
            self.incident_type_secondary.into(),
        ]
    }
}

/// One `ises_removals` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalRow {
    pub incident_key: String,
    pub removal_id: String,
    pub removal_type: &'static str,
    pub removal_start_date: NaiveDate,
    pub serious_bodily_injury: Option<&'static str>,
    pub early_reinstate_conditions: Option<&'static str>,
    pub expulsion_return_year: Option<&'static str>,
    pub modified_term: Option<&'static str>,
    pub prim_disab: &'static str,
    pub eng_prof_code: &'static str,
    pub days_removed_current_term: f64,
    pub services_provided: Option<&'static str>,
    pub return_to_school: Option<&'static str>,
}

impl RemovalRow {
    /// The row's values in [`REMOVAL_COLUMNS`] order, borrowing its text.
    pub fn values(&self) -> [ValueRef<'_>; 14] {
        [
            ValueRef::Text(&self.incident_key),
            ValueRef::Text(&self.removal_id),
            ValueRef::Text(YEAR_TEXT),
            ValueRef::Text(self.removal_type),
            ValueRef::Date(self.removal_start_date),
            self.serious_bodily_injury.into(),
            self.early_reinstate_conditions.into(),
            self.expulsion_return_year.into(),
            self.modified_term.into(),
            ValueRef::Text(self.prim_disab),
            ValueRef::Text(self.eng_prof_code),
            ValueRef::Real(self.days_removed_current_term),
            self.services_provided.into(),
            self.return_to_school.into(),
        ]
    }
}

/// The generated rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub incidents: Vec<IncidentRow>,
    pub removals: Vec<RemovalRow>,
    /// The keys of the incidents with a rule broken.
    pub invalid_keys: Vec<String>,
}

const YEAR_TEXT: &str = "2008";

/// splitmix64: tiny, fast and good enough for test data; the same seed, the same sequence.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the tiny modulo bias does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn yes_no(&mut self, yes_percent: u64) -> &'static str {
        if self.chance(yes_percent) { "Y" } else { "N" }
    }

    /// A code drawn by weight.
    fn weighted(&mut self, table: &[(&'static str, u32)]) -> &'static str {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut pick = self.below(total);
        for (code, weight) in table {
            let weight = u64::from(*weight);
            if pick < weight {
                return code;
            }
            pick -= weight;
        }
        table.last().map_or("", |(code, _)| code)
    }
}

/// A student of one school: the fields every incident of theirs repeats.
#[derive(Debug, Clone)]
struct Student {
    wsn_id: String,
    enroll_date: NaiveDate,
    prim_disab: &'static str,
    eng_prof_code: &'static str,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn plus_days(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_add_days(Days::new(n)).unwrap_or(day)
}

/// The next school day on or after `day`.
fn school_day(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => plus_days(day, 2),
        Weekday::Sun => plus_days(day, 1),
        _ => day,
    }
}

/// Generates the rows of `options`, the same for the same seed.
pub fn rows(options: &Options) -> Rows {
    let mut rng = Rng(options.seed);
    let n = options.incidents;
    // About two incidents per student: repeat offenders are the rule, not the exception.
    let per_school = (n / SCHOOLS.len() / 2).max(8) as u64;
    let term_start = date(YEAR - 1, 9, 4);
    let term_days = (date(YEAR, 6, 6) - term_start).num_days().unsigned_abs();
    let first_enroll = date(YEAR - 8, 8, 28);
    let enroll_days = (term_start - first_enroll).num_days().unsigned_abs();
    let students: Vec<Vec<Student>> = (0..SCHOOLS.len() as u64)
        .map(|school| {
            (0..per_school)
                .map(|i| Student {
                    wsn_id: format!("{:010}", 1_000_000_000 + school * 10_000_000 + i * 7 + 3),
                    enroll_date: school_day(plus_days(first_enroll, rng.below(enroll_days + 1))),
                    prim_disab: rng.weighted(DISABILITIES),
                    eng_prof_code: rng.weighted(ENGLISH_PROFICIENCY),
                })
                .collect()
        })
        .collect();

    let mut out = Rows {
        incidents: Vec::with_capacity(n),
        removals: Vec::with_capacity(n * 2),
        invalid_keys: Vec::new(),
    };
    let width = n.to_string().len().max(6);
    for i in 0..n {
        let school = rng.below(SCHOOLS.len() as u64) as usize;
        let school_code = SCHOOLS[school];
        let student = &students[school][rng.below(per_school) as usize];
        let incident_key = format!("{YEAR}-{school_code}-{i:0width$}");
        let incident_date = school_day(plus_days(term_start, rng.below(term_days + 1)));
        let primary = rng.weighted(INCIDENT_TYPES);
        let secondary = if rng.chance(20) {
            Some(rng.weighted(INCIDENT_TYPES)).filter(|s| *s != primary)
        } else {
            None
        };
        let mut start = plus_days(incident_date, rng.below(3));
        for r in 0..rng.range(1, 3) {
            if r > 0 {
                start = plus_days(start, rng.range(1, 10));
            }
            out.removals
                .push(removal(&mut rng, &incident_key, r, start, student));
        }
        out.incidents.push(IncidentRow {
            incident_id: format!("{}{i:07}", &school_code[1..]),
            incident_key,
            school_code,
            wsn_id: student.wsn_id.clone(),
            enroll_date: student.enroll_date,
            incident_date,
            incident_type_primary: primary,
            incident_type_secondary: secondary,
        });
    }
    break_rules(&mut out, options.invalid.min(n));
    out
}

fn removal(
    rng: &mut Rng,
    incident_key: &str,
    index: u64,
    start: NaiveDate,
    student: &Student,
) -> RemovalRow {
    let removal_type = rng.weighted(REMOVAL_TYPES);
    let halves = match removal_type {
        "IS" => rng.range(1, 10),
        "OS" => rng.range(1, 20),
        "EX" => rng.range(20, 360),
        _ => rng.range(10, 90),
    };
    let mut row = RemovalRow {
        incident_key: incident_key.to_owned(),
        removal_id: format!("{}-{}", &incident_key[10..], index + 1),
        removal_type,
        removal_start_date: start,
        serious_bodily_injury: None,
        early_reinstate_conditions: None,
        expulsion_return_year: None,
        modified_term: None,
        prim_disab: student.prim_disab,
        eng_prof_code: student.eng_prof_code,
        days_removed_current_term: halves as f64 / 2.0,
        services_provided: None,
        return_to_school: None,
    };
    match removal_type {
        // Appendix A ties serious bodily injury to IAES placements.
        "SP" | "HO" => row.serious_bodily_injury = Some(rng.yes_no(30)),
        "EX" => {
            let returns_this_year = rng.chance(40);
            row.early_reinstate_conditions = Some(rng.yes_no(50));
            row.expulsion_return_year = Some(if returns_this_year { "2008" } else { "2009" });
            row.modified_term = Some(rng.weighted(MODIFIED_TERMS));
            row.services_provided = Some(rng.yes_no(60));
            // Expected only when the student returns within the collection year.
            row.return_to_school = returns_this_year.then(|| rng.yes_no(70));
        }
        _ => {}
    }
    row
}

/// Breaks one rule in each of `k` incidents spread evenly over the rows, cycling through a few
/// kinds of mistakes a SIS makes. Each breaks exactly one error rule of the incident.
fn break_rules(rows: &mut Rows, k: usize) {
    let n = rows.incidents.len();
    if k == 0 || n == 0 {
        return;
    }
    // Index of the first removal of each incident, in generation order.
    let mut first_removal = Vec::with_capacity(n);
    let mut next = 0;
    for incident in &rows.incidents {
        first_removal.push(next);
        while rows
            .removals
            .get(next)
            .is_some_and(|r| r.incident_key == incident.incident_key)
        {
            next += 1;
        }
    }
    for j in 0..k {
        let i = j * n / k;
        let removal = first_removal[i];
        let incident = &mut rows.incidents[i];
        match j % 6 {
            0 => rows.removals[removal].removal_type = "XX",
            1 => rows.removals[removal].days_removed_current_term = 2.25,
            2 => rows.removals[removal].prim_disab = "Q",
            3 => {
                rows.removals[removal].removal_start_date = incident
                    .incident_date
                    .pred_opt()
                    .unwrap_or(incident.incident_date);
            }
            4 => incident.wsn_id = format!("{}AB", &incident.wsn_id[..8]),
            _ => incident.incident_type_primary = "ZZ",
        }
        rows.invalid_keys.push(incident.incident_key.clone());
    }
    rows.invalid_keys.sort();
}

/// Generates the rows of `options` and loads them into the two relations (which must exist)
/// with [`Tx::bulk_insert`], in the caller's transaction.
pub fn load(tx: &mut Tx<'_>, options: &Options) -> Result<Summary, SisError> {
    let rows = rows(options);
    let incidents = tx.bulk_insert(
        "ises_incidents",
        &INCIDENT_COLUMNS,
        rows.incidents.iter().map(IncidentRow::values),
    )?;
    let removals = tx.bulk_insert(
        "ises_removals",
        &REMOVAL_COLUMNS,
        rows.removals.iter().map(RemovalRow::values),
    )?;
    Ok(Summary {
        incidents,
        removals,
        invalid_keys: rows.invalid_keys,
    })
}

#[cfg(test)]
mod tests;
