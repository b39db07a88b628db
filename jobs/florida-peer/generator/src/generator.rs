//! The generator proper: one student at a time, every file at once.
//!
//! A student's profile (which plans, which enrollment pattern, which edge cases) is drawn from
//! its own random stream, then its rows are written to all fifteen files and its SIS rows to the
//! fixture. The first students play fixed roles (`ROLES`) so every edge case exists in any
//! generated set; the rest are drawn at random with realistic proportions, a few of them
//! awkward too. With a row target, the per-student row counts are steered as the students are
//! written, so the total lands near the target whatever the proportions turned out to be.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use chrono::{NaiveDate, TimeDelta};

use crate::edge::{EdgeCase, EdgeCaseHits};
use crate::out::{CsvOut, DateStyle, ENROLLMENT, LOG_ENTRIES, STUDENTS, Sql, SqlOut};
use crate::pools::{
    AREAS_OF_CONCERN, ASSESSMENT_ACCOMMODATIONS, ASSESSMENT_TYPES, CLASSROOM_ACCOMMODATIONS,
    DIPLOMAS, EARLY_CHILDHOOD, ELEMENTARY, ESE_SERVICES, ESY_SERVICES, EXCLUDED_TITLES,
    FIRST_NAMES, FREQUENCIES, GIFTED, GRADES, GRADUATION_OPTIONS, HIGH, IEP_EXCEPTIONALITIES,
    LAST_NAMES, LOCATIONS, MIDDLE, PERSONS_RESPONSIBLE, SEC504_CLASSROOM, SERVICE_FREQUENCIES,
    SERVICE_LOCATIONS, SUPP_AIDS, TOTAL_TIMES, TRANSPORTATION,
};
use crate::rng::Rng;
use crate::spec::{
    ASSESS_504, ASSESS_ACC, BOM_FILES, CLASS_504, CLASS_ACC, CRLF_FILES, EPS, ESE_SERVICE, ESY,
    EXCLUDED_SCHOOLS, FILES, IEPS, LRE, MATRIX, PLANS_504, QUOTE_ALL_FILES, SIS_DATA_FILE, SPS,
    STUDENT_INFO, SUPP_AIDS as SUPP_AIDS_FILE, TRANSPORT,
};
use crate::{GenOptions, GenSummary};

/// What a designated student is there to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Normal,
    LeadingZero,
    Excluded(usize),
    Ended,
    NotStarted,
    OtherYearOnly,
    LatestCounts,
    LatestExcluded,
    FutureIgnored,
    Tie,
    IepEpSp,
    EpSp,
    IepEp,
    MultiRows,
    WinnerBlanks,
    Blank879Only,
    Blank879Latest,
    ZerosMatrix,
    ZerosLre,
    Duplicates,
    ExpiredIep,
    Expired504,
    LogsIep,
    Logs504,
    Absent,
    IsoDates,
    ValuesIdentical,
    KeepsFields,
    Names,
}

/// The designated students, in order: student index i plays `ROLES[i]`.
pub(crate) const ROLES: [Role; 35] = [
    Role::LeadingZero,
    Role::Excluded(0),
    Role::Excluded(1),
    Role::Excluded(2),
    Role::Excluded(3),
    Role::Excluded(4),
    Role::Excluded(5),
    Role::Excluded(6),
    Role::Excluded(7),
    Role::Ended,
    Role::NotStarted,
    Role::OtherYearOnly,
    Role::LatestCounts,
    Role::LatestExcluded,
    Role::FutureIgnored,
    Role::Tie,
    Role::IepEpSp,
    Role::EpSp,
    Role::IepEp,
    Role::MultiRows,
    Role::WinnerBlanks,
    Role::Blank879Only,
    Role::Blank879Latest,
    Role::ZerosMatrix,
    Role::ZerosLre,
    Role::Duplicates,
    Role::ExpiredIep,
    Role::Expired504,
    Role::LogsIep,
    Role::Logs504,
    Role::Absent,
    Role::IsoDates,
    Role::ValuesIdentical,
    Role::KeepsFields,
    Role::Names,
];

/// Expected rows per random student at scale 0 (fixed) and per unit of scale (variable), from
/// the proportions in `Profile::random`; only a starting point, since the steering corrects.
const FIXED_ROWS: f64 = 3.46;
const VARIABLE_ROWS: f64 = 8.0;
const MAX_SCALE: f64 = 8.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enroll {
    Normal,
    Excluded(usize),
    Ended,
    NotStarted,
    OtherYearOnly,
    LatestCounts,
    LatestExcluded,
    FutureIgnored,
    Tie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lre {
    One,
    Two,
    OnlyBlank,
    LaterBlank,
    Zeros,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matrix {
    One,
    Two,
    Zeros,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Init {
    Empty,
    Identical,
    Stale,
}

/// Everything decided about a student before its rows are written.
#[derive(Debug, Clone)]
struct Profile {
    iep: bool,
    ep: bool,
    sp: bool,
    s504: bool,
    enroll: Enroll,
    style: DateStyle,
    iep_two: bool,
    winner_blanks: bool,
    lre: Lre,
    matrix: Matrix,
    dup: bool,
    expired: bool,
    blank_end: bool,
    on_run_date: bool,
    /// Designated: boundary dates exactly (expired = the day before the run date).
    exact: bool,
    min_rows: usize,
    esy: Option<bool>,
    transport: Option<bool>,
    values: Init,
    logs_identical: bool,
    logs_stale: bool,
    logs_other_year: bool,
    absent: bool,
    name: Option<(&'static str, &'static str)>,
}

impl Profile {
    /// A designated student's starting point: one IEP, a regular school, nothing odd.
    fn plain() -> Profile {
        Profile {
            iep: true,
            ep: false,
            sp: false,
            s504: false,
            enroll: Enroll::Normal,
            style: DateStyle::Us,
            iep_two: false,
            winner_blanks: false,
            lre: Lre::One,
            matrix: Matrix::One,
            dup: false,
            expired: false,
            blank_end: false,
            on_run_date: false,
            exact: true,
            min_rows: 1,
            esy: None,
            transport: None,
            values: Init::Empty,
            logs_identical: false,
            logs_stale: false,
            logs_other_year: false,
            absent: false,
            name: None,
        }
    }

    fn for_role(role: Role, rng: &mut Rng) -> Profile {
        let mut p = Profile::plain();
        let untouched = |p: &mut Profile, enroll| {
            p.enroll = enroll;
            p.values = Init::Stale;
            p.logs_stale = true;
        };
        match role {
            Role::Normal => return Profile::random(rng),
            Role::LeadingZero => {}
            Role::Excluded(k) => untouched(&mut p, Enroll::Excluded(k)),
            Role::Ended => untouched(&mut p, Enroll::Ended),
            Role::NotStarted => untouched(&mut p, Enroll::NotStarted),
            Role::OtherYearOnly => untouched(&mut p, Enroll::OtherYearOnly),
            Role::LatestCounts => p.enroll = Enroll::LatestCounts,
            Role::LatestExcluded => untouched(&mut p, Enroll::LatestExcluded),
            Role::FutureIgnored => p.enroll = Enroll::FutureIgnored,
            Role::Tie => p.enroll = Enroll::Tie,
            Role::IepEpSp => {
                p.ep = true;
                p.sp = true;
            }
            Role::EpSp => {
                p.iep = false;
                p.ep = true;
                p.sp = true;
            }
            Role::IepEp => p.ep = true,
            Role::MultiRows => {
                p.iep_two = true;
                p.lre = Lre::Two;
                p.matrix = Matrix::Two;
                p.values = Init::Stale;
            }
            Role::WinnerBlanks => {
                p.iep_two = true;
                p.winner_blanks = true;
                p.values = Init::Stale;
            }
            Role::Blank879Only => {
                p.lre = Lre::OnlyBlank;
                p.values = Init::Stale;
            }
            Role::Blank879Latest => {
                p.lre = Lre::LaterBlank;
                p.values = Init::Stale;
            }
            Role::ZerosMatrix => {
                p.matrix = Matrix::Zeros;
                p.values = Init::Stale;
            }
            Role::ZerosLre => p.lre = Lre::Zeros,
            Role::Duplicates => {
                p.dup = true;
                p.transport = Some(true);
            }
            Role::ExpiredIep => {
                p.expired = true;
                p.blank_end = true;
                p.on_run_date = true;
            }
            Role::Expired504 => {
                p.iep = false;
                p.s504 = true;
                p.expired = true;
                p.blank_end = true;
                p.on_run_date = true;
            }
            Role::LogsIep => {
                p.esy = Some(true);
                p.transport = Some(true);
                p.logs_identical = true;
                p.logs_stale = true;
                p.logs_other_year = true;
            }
            Role::Logs504 => {
                p.iep = false;
                p.s504 = true;
                p.logs_identical = true;
                p.logs_stale = true;
                p.logs_other_year = true;
            }
            Role::Absent => {
                p.absent = true;
                p.values = Init::Stale;
                p.logs_stale = true;
                p.logs_other_year = true;
            }
            Role::IsoDates => p.style = DateStyle::Iso,
            Role::ValuesIdentical => p.values = Init::Identical,
            Role::KeepsFields => {
                p.lre = Lre::Missing;
                p.matrix = Matrix::Missing;
                p.values = Init::Stale;
            }
            Role::Names => {
                p.name = Some(("José", "Núñez-O'Brien"));
                p.style = DateStyle::UsPadded;
            }
        }
        p
    }

    /// A student drawn at random, in roughly a district's proportions.
    fn random(rng: &mut Rng) -> Profile {
        let mut p = Profile::plain();
        p.exact = false;
        p.min_rows = 0;
        (p.iep, p.ep, p.sp, p.s504) = band(
            rng.unit(),
            &[
                (0.62, (true, false, false, false)),
                (0.65, (true, true, false, false)),
                (0.79, (false, true, false, false)),
                (0.82, (false, false, true, false)),
            ],
            (false, false, false, true),
        );
        if p.ep && !p.iep && rng.chance(0.03) {
            p.sp = true;
        }
        let v = rng.unit();
        p.enroll = if v < 0.02 {
            Enroll::Excluded(rng.below(EXCLUDED_SCHOOLS.len() as u64) as usize)
        } else {
            band(
                v,
                &[
                    (0.035, Enroll::Ended),
                    (0.04, Enroll::NotStarted),
                    (0.05, Enroll::OtherYearOnly),
                    (0.06, Enroll::LatestCounts),
                    (0.065, Enroll::LatestExcluded),
                    (0.07, Enroll::FutureIgnored),
                    (0.072, Enroll::Tie),
                ],
                Enroll::Normal,
            )
        };
        p.style = band(
            rng.unit(),
            &[(0.1, DateStyle::Iso), (0.2, DateStyle::UsPadded)],
            DateStyle::Us,
        );
        p.iep_two = p.iep && rng.chance(0.04);
        p.winner_blanks = p.iep_two && rng.chance(0.1);
        p.lre = band(
            rng.unit(),
            &[
                (0.02, Lre::OnlyBlank),
                (0.03, Lre::LaterBlank),
                (0.04, Lre::Zeros),
                (0.07, Lre::Missing),
                (0.09, Lre::Two),
            ],
            Lre::One,
        );
        p.matrix = band(
            rng.unit(),
            &[
                (0.01, Matrix::Zeros),
                (0.06, Matrix::Missing),
                (0.09, Matrix::Two),
            ],
            Matrix::One,
        );
        p.dup = rng.chance(0.01);
        p.expired = rng.chance(0.05);
        p.blank_end = rng.chance(0.05);
        p.on_run_date = rng.chance(0.01);
        p.values = band(
            rng.unit(),
            &[(0.10, Init::Identical), (0.25, Init::Stale)],
            Init::Empty,
        );
        p.logs_identical = rng.chance(0.1);
        p.logs_stale = rng.chance(0.1);
        p.logs_other_year = rng.chance(0.1);
        if rng.chance(0.01) {
            p.absent = true;
            p.logs_stale = true;
        }
        p
    }
}

/// What the files give the single-valued fields (the row that wins under the rules).
#[derive(Debug, Default, Clone)]
struct Winners {
    c873: Option<NaiveDate>,
    c940: Option<NaiveDate>,
    c256: Option<&'static str>,
    c863: Option<&'static str>,
    c878: Option<String>,
    c879: Option<String>,
    c272: Option<String>,
    c273: Option<&'static str>,
    c274: Option<NaiveDate>,
    c293: Option<&'static str>,
}

/// What was actually written for a student, for the edge-case lists.
#[derive(Debug, Default, Clone, Copy)]
struct Facts {
    plans: u8,
    several: bool,
    blank879_only: bool,
    blank879_latest: bool,
    zeros: bool,
    winner_blanks: bool,
    expired: bool,
    on_run: bool,
    blank_end: bool,
    dup: bool,
    no_lre: bool,
    no_matrix: bool,
    logs_identical: bool,
    logs_stale: bool,
    logs_other: bool,
}

/// An accommodation row's end date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Plan,
    Expired,
    Blank,
    OnRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Null,
    Text(&'static str),
    Date(NaiveDate),
}

/// One log entry as the job would write it from a file row.
#[derive(Debug, Clone, Copy)]
struct LogRow {
    field: i64,
    cells: [Cell; 6],
}

/// The student being written.
#[derive(Debug)]
struct Who<'a> {
    local: &'a str,
    style: DateStyle,
    grade: &'static str,
    school: (&'static str, &'static str),
}

fn add(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(TimeDelta::days(days))
        .unwrap_or(date)
}

fn ymd(y: i32, m: u32, d: u32) -> io::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| invalid(format!("no such date {y}-{m}-{d}")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn yn(b: bool) -> &'static str {
    if b { "Y" } else { "N" }
}

/// A student's local id: ten digits, a third of them with leading zeros (student 0's is
/// 0000004217). Distinct for any realistic count: the multiplier is coprime to 10^9.
pub(crate) fn local_id(index: usize) -> String {
    format!(
        "{}{:09}",
        index % 3,
        (index as u64).wrapping_mul(387_420_489).wrapping_add(4_217) % 1_000_000_000
    )
}

/// A local id in the files that matches no student (they all start with 9).
fn orphan_id(index: usize) -> String {
    format!(
        "9{:09}",
        (index as u64).wrapping_mul(7_654_321).wrapping_add(13_579) % 1_000_000_000
    )
}

fn expired_end(run: NaiveDate, exact: bool, rng: &mut Rng) -> NaiveDate {
    if exact {
        add(run, -1)
    } else {
        add(run, -rng.range(1, 90))
    }
}

/// Row end-date kinds for one accommodation file: `base` ordinary rows, then the profile's
/// awkward ones, at most `cap` in all (accommodation texts are distinct within a plan).
fn end_kinds(p: &Profile, base: usize, cap: usize) -> ([End; 3], usize, usize) {
    let mut extras = [End::Plan; 3];
    let mut n = 0;
    for (flag, kind) in [
        (p.expired, End::Expired),
        (p.blank_end, End::Blank),
        (p.on_run_date, End::OnRun),
    ] {
        if flag {
            extras[n] = kind;
            n += 1;
        }
    }
    let base = base.max(p.min_rows).min(cap.saturating_sub(n));
    (extras, n, base)
}

struct Generator<'o> {
    opts: &'o GenOptions,
    year_start: NaiveDate,
    run: NaiveDate,
    csv: Vec<CsvOut>,
    sql: SqlOut,
    next_enrollment: i64,
    hits: Vec<Vec<String>>,
    touched: Vec<String>,
    logs: Vec<LogRow>,
    scratch: String,
}

pub(crate) fn generate(dir: &Path, opts: &GenOptions) -> io::Result<GenSummary> {
    if opts.students < ROLES.len() {
        return Err(invalid(format!(
            "at least {} students are needed to hold every edge case (asked for {})",
            ROLES.len(),
            opts.students
        )));
    }
    if opts.district_id.is_empty() || !opts.district_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(format!(
            "the district id must be letters and digits, not {:?}",
            opts.district_id
        )));
    }
    if !(1901..=9000).contains(&opts.school_year) {
        return Err(invalid(format!(
            "unlikely school year {}",
            opts.school_year
        )));
    }
    let year_start = ymd(opts.school_year, 8, 11)?;
    let earliest = add(year_start, 28);
    let latest = ymd(opts.school_year + 1, 6, 30)?;
    if opts.run_date < earliest || opts.run_date > latest {
        return Err(invalid(format!(
            "the run date {} is not within school year {} ({earliest} to {latest})",
            opts.run_date, opts.school_year
        )));
    }
    std::fs::create_dir_all(dir)?;
    let mut g = Generator::open(dir, opts, year_start)?;
    for (index, role) in ROLES.iter().enumerate() {
        g.student(index, *role, 1.0)?;
    }
    g.orphan(
        0,
        local_id(0).trim_start_matches('0').to_string(),
        Role::LeadingZero,
    )?;
    for j in 0..2 + opts.students / 200 {
        g.orphan(j + 1, orphan_id(j), Role::Normal)?;
    }
    for index in ROLES.len()..opts.students {
        let scale = match opts.target_rows {
            None => 1.0,
            Some(target) => {
                let left = (opts.students - index) as f64;
                let per_student = (target as f64 - g.rows() as f64) / left;
                ((per_student - FIXED_ROWS) / VARIABLE_ROWS).clamp(0.0, MAX_SCALE)
            }
        };
        g.student(index, Role::Normal, scale)?;
    }
    g.finish()
}

impl<'o> Generator<'o> {
    fn open(dir: &Path, opts: &'o GenOptions, year_start: NaiveDate) -> io::Result<Self> {
        let mut csv = Vec::with_capacity(FILES.len());
        for (i, file) in FILES.iter().enumerate() {
            csv.push(CsvOut::create(
                &dir.join(file.file),
                &file.header(),
                BOM_FILES.contains(&i),
                CRLF_FILES.contains(&i),
                QUOTE_ALL_FILES.contains(&i),
            )?);
        }
        let preamble = format!(
            "-- SIS fixture written by peer-gen (ferry-peer-generator): seed {}, {} students, \
             district {}, school year {}, run date {}.\n\
             -- Load it after fixtures/sis-sqlite.sql or fixtures/sis-postgres.sql; it runs \
             unchanged on both.\n",
            opts.seed, opts.students, opts.district_id, opts.school_year, opts.run_date
        );
        let sql = SqlOut::create(&dir.join(SIS_DATA_FILE), &preamble)?;
        Ok(Generator {
            opts,
            year_start,
            run: opts.run_date,
            csv,
            sql,
            next_enrollment: 1,
            hits: vec![Vec::new(); EdgeCase::ALL.len()],
            touched: Vec::new(),
            logs: Vec::with_capacity(64),
            scratch: String::with_capacity(128),
        })
    }

    fn rows(&self) -> usize {
        self.csv.iter().map(|c| c.rows).sum()
    }

    fn hit(&mut self, case: EdgeCase, local: &str) {
        self.hits[case as usize].push(local.to_string());
    }

    fn student(&mut self, index: usize, role: Role, scale: f64) -> io::Result<()> {
        let mut rng = Rng::for_item(self.opts.seed, 0, index as u64);
        let p = Profile::for_role(role, &mut rng);
        let local = local_id(index);
        let sid = index as i64 + 1;
        let grade = rng.pick(&GRADES);
        let (first, last) = match p.name {
            Some(name) => name,
            None => (rng.pick(&FIRST_NAMES), rng.pick(&LAST_NAMES)),
        };
        let home = home_school(grade, &mut rng);
        let (touched, school) = self.enroll(sid, &p, home, &mut rng)?;
        if touched {
            self.touched.push(local.clone());
        }
        let who = Who {
            local: &local,
            style: p.style,
            grade,
            school,
        };
        let mut w = Winners::default();
        let mut f = Facts::default();
        self.logs.clear();
        if !p.absent {
            self.plans(&who, &p, &mut rng, scale, &mut w, &mut f)?;
        }
        let (mut comma, mut quote) = (false, false);
        for c in &mut self.csv {
            let (a, b) = c.take_flags();
            comma |= a;
            quote |= b;
        }
        self.student_row(sid, first, last, &local, &p, &w)?;
        self.existing_logs(sid, &p, &mut f)?;

        let t = touched;
        let non_ascii =
            !first.is_ascii() || !last.is_ascii() || (!p.absent && !school.1.is_ascii());
        let cases = [
            (EdgeCase::LeadingZeroLocalId, role == Role::LeadingZero),
            (
                EdgeCase::ExcludedSchool,
                matches!(p.enroll, Enroll::Excluded(_)),
            ),
            (EdgeCase::InactiveEnded, p.enroll == Enroll::Ended),
            (EdgeCase::InactiveNotStarted, p.enroll == Enroll::NotStarted),
            (
                EdgeCase::InactiveOtherYear,
                p.enroll == Enroll::OtherYearOnly,
            ),
            (
                EdgeCase::TwoEnrollmentsLatestCounts,
                p.enroll == Enroll::LatestCounts,
            ),
            (
                EdgeCase::TwoEnrollmentsLatestExcluded,
                p.enroll == Enroll::LatestExcluded,
            ),
            (
                EdgeCase::TwoEnrollmentsFutureIgnored,
                p.enroll == Enroll::FutureIgnored,
            ),
            (EdgeCase::EnrollmentTieLowestId, p.enroll == Enroll::Tie),
            (EdgeCase::Blank879Only, t && f.blank879_only),
            (EdgeCase::Blank879Latest, t && f.blank879_latest),
            (EdgeCase::ZeroValues, t && f.zeros),
            (EdgeCase::BlankSingleValues, t && f.winner_blanks),
            (EdgeCase::ExpiredAccommodations, t && f.expired),
            (EdgeCase::AccommodationEndsOnRunDate, t && f.on_run),
            (EdgeCase::BlankEndDates, t && f.blank_end),
            (EdgeCase::DuplicateRows, t && f.dup),
            (EdgeCase::QuotedCommas, comma),
            (EdgeCase::EmbeddedQuotes, quote),
            (EdgeCase::IsoDates, !p.absent && p.style == DateStyle::Iso),
            (
                EdgeCase::PaddedDates,
                !p.absent && p.style == DateStyle::UsPadded,
            ),
            (EdgeCase::MultiplePlans, t && f.plans >= 2),
            (EdgeCase::SeveralRowsPerStudent, t && f.several),
            (
                EdgeCase::ExistingValuesIdentical,
                t && !p.absent && p.values == Init::Identical,
            ),
            (EdgeCase::ExistingValuesStale, t && p.values == Init::Stale),
            (EdgeCase::ExistingLogsIdentical, t && f.logs_identical),
            (EdgeCase::ExistingLogsStale, t && f.logs_stale),
            (EdgeCase::ExistingLogsOtherYear, t && f.logs_other),
            (EdgeCase::AbsentFromFiles, t && p.absent),
            (
                EdgeCase::KeepsFieldsWithoutRows,
                t && p.iep && !p.absent && p.values == Init::Stale && (f.no_lre || f.no_matrix),
            ),
            (EdgeCase::NonAsciiText, non_ascii),
            (
                EdgeCase::QuoteInName,
                first.contains('\'') || last.contains('\''),
            ),
        ];
        for (case, yes) in cases {
            if yes {
                self.hit(case, &local);
            }
        }
        Ok(())
    }

    /// Rows for a local id that matches no student.
    fn orphan(&mut self, j: usize, local: String, role: Role) -> io::Result<()> {
        let mut rng = Rng::for_item(self.opts.seed, 1, j as u64);
        let mut p = Profile::for_role(role, &mut rng);
        p.absent = false;
        let grade = rng.pick(&GRADES);
        let school = home_school(grade, &mut rng);
        let who = Who {
            local: &local,
            style: p.style,
            grade,
            school,
        };
        let mut w = Winners::default();
        let mut f = Facts::default();
        self.logs.clear();
        self.plans(&who, &p, &mut rng, 1.0, &mut w, &mut f)?;
        for c in &mut self.csv {
            c.take_flags();
        }
        self.hit(EdgeCase::NotInSis, &local);
        Ok(())
    }

    /// Writes the student's enrollment rows; returns whether the import touches the student
    /// (computed from the rows by the rule, not from the role) and the school PEER
    /// reports for it.
    fn enroll(
        &mut self,
        sid: i64,
        p: &Profile,
        home: (&'static str, &'static str),
        rng: &mut Rng,
    ) -> io::Result<(bool, (&'static str, &'static str))> {
        let sy = self.opts.school_year;
        let (ys, run) = (self.year_start, self.run);
        let mid = add(ys, (run - ys).num_days() / 2);
        let prior = (add(ys, -364), ymd(sy, 5, 29)?);
        let ex = |k: usize| (EXCLUDED_SCHOOLS[k], EXCLUDED_TITLES[k]);
        type Row = (
            i32,
            (&'static str, &'static str),
            NaiveDate,
            Option<NaiveDate>,
        );
        let mut rows: Vec<Row> = Vec::with_capacity(3);
        match p.enroll {
            Enroll::Normal => {
                if rng.chance(0.4) {
                    rows.push((sy - 1, home, prior.0, Some(prior.1)));
                }
                let start = if rng.chance(0.15) {
                    add(ys, rng.range(1, ((run - ys).num_days() / 2).clamp(2, 60)))
                } else {
                    ys
                };
                rows.push((sy, home, start, None));
            }
            Enroll::Excluded(k) => {
                rows.push((sy - 1, home, prior.0, Some(prior.1)));
                rows.push((sy, ex(k), ys, None));
            }
            Enroll::Ended => rows.push((sy, home, ys, Some(add(run, -27)))),
            Enroll::NotStarted => {
                rows.push((sy - 1, home, prior.0, Some(prior.1)));
                rows.push((sy, home, add(run, 18), None));
            }
            Enroll::OtherYearOnly => rows.push((sy - 1, home, prior.0, None)),
            Enroll::LatestCounts => {
                rows.push((sy, ex(0), ys, Some(add(mid, -3))));
                rows.push((sy, home, mid, None));
            }
            Enroll::LatestExcluded => {
                rows.push((sy, home, ys, None));
                rows.push((sy, ex(2), mid, None));
            }
            Enroll::FutureIgnored => {
                rows.push((sy, home, ys, None));
                rows.push((sy, ex(7), add(run, 18), None));
            }
            Enroll::Tie => {
                rows.push((sy, home, ys, None));
                rows.push((sy, ex(3), ys, None));
            }
        }
        let mut active = false;
        let mut primary: Option<(NaiveDate, (&'static str, &'static str))> = None;
        for (syear, school, start, end) in &rows {
            let id = self.next_enrollment;
            self.next_enrollment += 1;
            self.sql.row(
                ENROLLMENT,
                &[
                    Sql::Int(id),
                    Sql::Int(sid),
                    Sql::Int(i64::from(*syear)),
                    Sql::Text(school.0),
                    Sql::Date(*start),
                    end.map_or(Sql::Null, Sql::Date),
                ],
            )?;
            if *syear == sy && *start <= run {
                active |= end.is_none_or(|e| e >= run);
                // Rows come in id order, so only a strictly later start replaces the primary:
                // ties go to the lowest id.
                if primary.is_none_or(|(s, _)| *start > s) {
                    primary = Some((*start, *school));
                }
            }
        }
        let touched = active && primary.is_some_and(|(_, s)| !EXCLUDED_SCHOOLS.contains(&s.0));
        let school = primary
            .map(|(_, s)| s)
            .or_else(|| rows.last().map(|r| r.1))
            .unwrap_or(home);
        Ok((touched, school))
    }

    fn plans(
        &mut self,
        who: &Who<'_>,
        p: &Profile,
        rng: &mut Rng,
        scale: f64,
        w: &mut Winners,
        f: &mut Facts,
    ) -> io::Result<()> {
        if p.iep {
            self.iep(who, p, rng, scale, w, f)?;
            f.plans += 1;
        }
        if p.ep {
            self.ep(who, p, rng, w)?;
            f.plans += 1;
        }
        if p.sp {
            self.sp(who, p, rng, w)?;
            f.plans += 1;
        }
        if p.s504 {
            self.sec504(who, p, rng, scale, f)?;
        }
        self.scratch.clear();
        let _ = write!(
            self.scratch,
            "https://peer.fldoe.org/district/{}/students/{}",
            self.opts.district_id, who.local
        );
        self.csv[STUDENT_INFO]
            .t(who.grade)
            .t(who.local)
            .t(who.school.0)
            .t(who.school.1)
            .t(&self.scratch)
            .finish_row(1)
    }

    fn iep(
        &mut self,
        who: &Who<'_>,
        p: &Profile,
        rng: &mut Rng,
        scale: f64,
        w: &mut Winners,
        f: &mut Facts,
    ) -> io::Result<()> {
        let (run, st, local) = (self.run, who.style, who.local);
        let sy = self.opts.school_year;
        let collect = p.logs_identical || p.logs_stale || p.logs_other_year;
        let prim = rng.pick(&IEP_EXCEPTIONALITIES);
        // A twice-exceptional student's IEP lists gifted among its other exceptionalities.
        let other = if p.ep {
            GIFTED
        } else if rng.chance(0.25) {
            let o = rng.pick(&IEP_EXCEPTIONALITIES);
            if o != prim {
                o
            } else if prim == "F" {
                "G"
            } else {
                "F"
            }
        } else {
            ""
        };
        let start = add(run, -rng.range(10, 330));
        let end = add(start, 364);
        let init = add(start, rng.range(0, 8));
        let since = (run - start).num_days();
        let amend = if since > 20 && rng.chance(0.25) {
            Some(add(start, rng.range(10, since)))
        } else {
            None
        };
        let esy = p.esy.unwrap_or_else(|| rng.chance(0.2));
        let high = matches!(who.grade, "09" | "10" | "11" | "12");
        let assessment = rng.pick(&ASSESSMENT_TYPES);
        let (aice, ib, diploma, graduation) = if high {
            (
                yn(rng.chance(0.05)),
                yn(rng.chance(0.05)),
                rng.pick(&DIPLOMAS),
                rng.pick(&GRADUATION_OPTIONS),
            )
        } else {
            ("", "", "", "")
        };
        let special = if high && rng.chance(0.1) {
            "Access Points"
        } else {
            ""
        };
        let reeval = add(start, rng.range(200, 1000));

        // ActiveIEPs: the current plan first; an older one after it (so file order never
        // decides which wins).
        let (end_cell, esy_cell) = if p.winner_blanks {
            (None, "")
        } else {
            (Some(end), yn(esy))
        };
        self.csv[IEPS]
            .t(aice)
            .d(amend, st)
            .t(assessment)
            .t(diploma)
            .t(esy_cell)
            .t(graduation)
            .t(ib)
            .d(end_cell, st)
            .d(Some(start), st)
            .d(Some(init), st)
            .t(local)
            .t(other)
            .t(prim)
            .d(Some(reeval), st)
            .d(Some(end), st)
            .t(special)
            .finish_row(1)?;
        if p.iep_two {
            let o_start = add(start, -rng.range(120, 300));
            let o_end = add(o_start, 364);
            self.csv[IEPS]
                .t(aice)
                .d(None, st)
                .t(assessment)
                .t(diploma)
                .t(yn(esy || p.winner_blanks))
                .t(graduation)
                .t(ib)
                .d(Some(o_end), st)
                .d(Some(o_start), st)
                .d(Some(add(o_start, 3)), st)
                .t(local)
                .t(other)
                .t(prim)
                .d(Some(add(o_start, 900)), st)
                .d(Some(o_end), st)
                .t(special)
                .finish_row(1)?;
            f.several = true;
        }
        w.c873 = Some(start);
        w.c940 = end_cell;
        w.c256 = Some(esy_cell);
        f.winner_blanks = p.winner_blanks;

        // IEPAssessmentAccommodations → log 200000262.
        let (extras, n_extra, base) =
            end_kinds(p, rng.count(3.0 * scale), ASSESSMENT_ACCOMMODATIONS.len());
        let offset = rng.below(ASSESSMENT_ACCOMMODATIONS.len() as u64) as usize;
        for k in 0..base + n_extra {
            let (kind, text) =
                ASSESSMENT_ACCOMMODATIONS[(offset + k) % ASSESSMENT_ACCOMMODATIONS.len()];
            let which = if k < base {
                End::Plan
            } else {
                extras[k - base]
            };
            let (e, i) = self.end_for(which, end, init, p.exact, rng, f);
            self.csv[ASSESS_ACC]
                .t(text)
                .t(kind)
                .d(e, st)
                .d(Some(i), st)
                .t(local)
                .t(prim)
                .finish_row(1)?;
            if let (true, Some(e)) = (collect, e) {
                self.log(
                    200000262,
                    [
                        Cell::Text(kind),
                        Cell::Date(e),
                        Cell::Text(text),
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                    ],
                );
            }
        }

        // IEPClassroomAccommodations → log 200000261.
        let mut base_rows = rng.count(4.0 * scale);
        if p.dup {
            base_rows = base_rows.max(1);
        }
        let (extras, n_extra, base) = end_kinds(p, base_rows, CLASSROOM_ACCOMMODATIONS.len());
        let offset = rng.below(CLASSROOM_ACCOMMODATIONS.len() as u64) as usize;
        for k in 0..base + n_extra {
            let (kind, text) =
                CLASSROOM_ACCOMMODATIONS[(offset + k) % CLASSROOM_ACCOMMODATIONS.len()];
            let which = if k < base {
                End::Plan
            } else {
                extras[k - base]
            };
            let (e, i) = self.end_for(which, end, init, p.exact, rng, f);
            let frequency = rng.pick(&FREQUENCIES);
            let location = rng.pick(&LOCATIONS);
            let times = if p.dup && k == 0 { 2 } else { 1 };
            f.dup |= times == 2;
            self.csv[CLASS_ACC]
                .t(text)
                .t(kind)
                .d(e, st)
                .t(frequency)
                .d(Some(i), st)
                .t(local)
                .t(location)
                .t(prim)
                .finish_row(times)?;
            if let (true, Some(e)) = (collect, e) {
                self.log(
                    200000261,
                    [
                        Cell::Text(kind),
                        Cell::Text(text),
                        Cell::Date(e),
                        Cell::Text(frequency),
                        Cell::Text(location),
                        Cell::Date(i),
                    ],
                );
            }
        }

        self.lre(who, p, rng, end, init, w, f)?;
        self.matrix(who, p, rng, start, prim, other, w, f)?;

        // IEPESYService → log 200000275.
        if esy {
            let n = rng.count(1.5 * scale).max(1).min(ESY_SERVICES.len());
            let offset = rng.below(ESY_SERVICES.len() as u64) as usize;
            let (e_init, e_end) = (ymd(sy + 1, 6, 10)?, ymd(sy + 1, 7, 31)?);
            for k in 0..n {
                let service = ESY_SERVICES[(offset + k) % ESY_SERVICES.len()];
                let frequency = rng.pick(&SERVICE_FREQUENCIES);
                let location = rng.pick(&SERVICE_LOCATIONS);
                self.csv[ESY]
                    .d(Some(e_end), st)
                    .t(service)
                    .t(frequency)
                    .d(Some(e_init), st)
                    .t(local)
                    .t(location)
                    .t(prim)
                    .finish_row(1)?;
                if collect {
                    self.log(
                        200000275,
                        [
                            Cell::Date(e_init),
                            Cell::Date(e_end),
                            Cell::Text(frequency),
                            Cell::Text(location),
                            Cell::Text(service),
                            Cell::Null,
                        ],
                    );
                }
            }
        }

        // IEPTransportationFTE → log 200000305.
        if p.transport.unwrap_or_else(|| rng.chance(0.12)) {
            let (code, description) = rng.pick(&TRANSPORTATION);
            let times = if p.dup { 2 } else { 1 };
            f.dup |= times == 2;
            self.csv[TRANSPORT]
                .t(description)
                .d(Some(end), st)
                .t(local)
                .d(Some(init), st)
                .t(code)
                .finish_row(times)?;
            if collect {
                self.log(
                    200000305,
                    [
                        Cell::Date(init),
                        Cell::Date(end),
                        Cell::Text(code),
                        Cell::Text(description),
                        Cell::Null,
                        Cell::Null,
                    ],
                );
            }
        }

        // IEPSuppAidsServices (stored only).
        let n = rng.count(1.5 * scale).max(p.min_rows).min(SUPP_AIDS.len());
        let offset = rng.below(SUPP_AIDS.len() as u64) as usize;
        for k in 0..n {
            let service = SUPP_AIDS[(offset + k) % SUPP_AIDS.len()];
            let frequency = rng.pick(&FREQUENCIES);
            let location = rng.pick(&LOCATIONS);
            self.csv[SUPP_AIDS_FILE]
                .d(Some(end), st)
                .t(frequency)
                .d(Some(init), st)
                .t(local)
                .t(location)
                .t(prim)
                .t(service)
                .finish_row(1)?;
        }

        // IEPESEService → log 200000311.
        let mut n = rng
            .count(2.0 * scale)
            .max(p.min_rows)
            .min(ESE_SERVICES.len());
        if p.dup {
            n = n.max(1);
        }
        let offset = rng.below(ESE_SERVICES.len() as u64) as usize;
        for k in 0..n {
            let service = ESE_SERVICES[(offset + k) % ESE_SERVICES.len()];
            let frequency = rng.pick(&SERVICE_FREQUENCIES);
            let location = rng.pick(&SERVICE_LOCATIONS);
            let times = if p.dup && k == 0 { 2 } else { 1 };
            f.dup |= times == 2;
            self.csv[ESE_SERVICE]
                .d(Some(end), st)
                .t(frequency)
                .d(Some(init), st)
                .t(local)
                .t(location)
                .t(prim)
                .t(service)
                .finish_row(times)?;
            if collect {
                self.log(
                    200000311,
                    [
                        Cell::Date(init),
                        Cell::Date(end),
                        Cell::Text(frequency),
                        Cell::Text(location),
                        Cell::Text(service),
                        Cell::Null,
                    ],
                );
            }
        }
        Ok(())
    }

    /// The end and initiation dates of an accommodation row of the given kind.
    fn end_for(
        &self,
        which: End,
        plan_end: NaiveDate,
        init: NaiveDate,
        exact: bool,
        rng: &mut Rng,
        f: &mut Facts,
    ) -> (Option<NaiveDate>, NaiveDate) {
        match which {
            End::Plan => (Some(plan_end), init),
            End::Expired => {
                f.expired = true;
                let e = expired_end(self.run, exact, rng);
                (Some(e), add(e, -364))
            }
            End::Blank => {
                f.blank_end = true;
                (None, init)
            }
            End::OnRun => {
                f.on_run = true;
                (Some(self.run), add(self.run, -364))
            }
        }
    }

    fn log(&mut self, field: i64, cells: [Cell; 6]) {
        self.logs.push(LogRow { field, cells });
    }

    #[allow(clippy::too_many_arguments)]
    fn lre(
        &mut self,
        who: &Who<'_>,
        p: &Profile,
        rng: &mut Rng,
        end: NaiveDate,
        init: NaiveDate,
        w: &mut Winners,
        f: &mut Facts,
    ) -> io::Result<()> {
        let (st, local) = (who.style, who.local);
        let early = if who.grade == "PK" {
            rng.pick(&EARLY_CHILDHOOD)
        } else {
            ""
        };
        let draw = |rng: &mut Rng| {
            let total = rng.pick(&TOTAL_TIMES);
            let pct = rng.pick(&[100i64, 90, 80, 75, 60, 40, 20]);
            let non = (total * pct / 100 + 2) / 5 * 5;
            let setting = if pct >= 80 {
                "A"
            } else if pct >= 40 {
                "B"
            } else {
                "C"
            };
            (setting, non, total)
        };
        let older = add(init, -rng.range(100, 300));
        // One IEPLRE row; `non` and `total` as written (blank and zero forms included).
        let row = |g: &mut Self, i: NaiveDate, setting: &str, non: &str, total: &str| {
            g.csv[LRE]
                .d(Some(if i == init { end } else { add(i, 364) }), st)
                .t(early)
                .d(Some(i), st)
                .t(local)
                .t(setting)
                .t(non)
                .t(total)
                .finish_row(1)
        };
        let win = |w: &mut Winners, setting: &'static str, non: String, total: String| {
            w.c863 = Some(setting);
            w.c879 = Some(non);
            w.c878 = Some(total);
        };
        match p.lre {
            Lre::One => {
                let (s, n, t) = draw(rng);
                row(self, init, s, &n.to_string(), &t.to_string())?;
                win(w, s, n.to_string(), t.to_string());
            }
            Lre::Two => {
                let (s0, n0, t0) = draw(rng);
                let (s, n, t) = draw(rng);
                row(self, older, s0, &n0.to_string(), &t0.to_string())?;
                row(self, init, s, &n.to_string(), &t.to_string())?;
                win(w, s, n.to_string(), t.to_string());
                f.several = true;
            }
            Lre::OnlyBlank => {
                let (s, _, t) = draw(rng);
                row(self, init, s, "", &t.to_string())?;
                f.blank879_only = true;
            }
            Lre::LaterBlank => {
                let (s0, n0, t0) = draw(rng);
                let (_, _, t) = draw(rng);
                row(self, init, "C", "", &t.to_string())?;
                row(self, older, s0, &n0.to_string(), &t0.to_string())?;
                win(w, s0, n0.to_string(), t0.to_string());
                f.blank879_latest = true;
                f.several = true;
            }
            Lre::Zeros => {
                let (s, _, _) = draw(rng);
                row(self, init, s, "00", "0")?;
                win(w, s, "00".to_string(), "0".to_string());
                f.zeros = true;
            }
            Lre::Missing => f.no_lre = true,
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn matrix(
        &mut self,
        who: &Who<'_>,
        p: &Profile,
        rng: &mut Rng,
        start: NaiveDate,
        prim: &'static str,
        other: &'static str,
        w: &mut Winners,
        f: &mut Facts,
    ) -> io::Result<()> {
        let (st, local) = (who.style, who.local);
        let completed = add(start, -rng.range(0, 10));
        let grade_band = match who.grade {
            "PK" | "KG" | "01" | "02" | "03" => "111",
            "09" | "10" | "11" | "12" => "113",
            _ => "112",
        };
        // Writes one matrix row with drawn ratings; returns (total, cost factor, FEFP number).
        let rated = |g: &mut Self,
                     rng: &mut Rng,
                     done: NaiveDate|
         -> io::Result<(i64, &'static str, &'static str)> {
            let mut domains = [0i64; 5];
            for d in &mut domains {
                *d = 1 + rng.range(0, 3) + i64::from(rng.chance(0.2));
            }
            let special = rng.chance(0.1);
            let total: i64 = domains.iter().sum::<i64>() + i64::from(special);
            let fefp = if total <= 9 {
                grade_band
            } else if total <= 14 {
                "254"
            } else {
                "255"
            };
            let cost = match fefp {
                "111" => "1.126",
                "112" => "1.000",
                "113" => "1.011",
                "254" => "3.674",
                _ => "5.401",
            };
            g.scratch.clear();
            if rng.chance(0.4) {
                let r1 = add(done, 180);
                let r2 = add(done, 365);
                let _ = write!(
                    g.scratch,
                    "{}, {}",
                    r1.format("%-m/%-d/%Y"),
                    r2.format("%-m/%-d/%Y")
                );
            }
            let c = &mut g.csv[MATRIX];
            c.t(cost).d(Some(done), st);
            for d in domains {
                c.t(DIGITS[d as usize]);
            }
            c.t(fefp)
                .t(local)
                .t(other)
                .t(prim)
                .t(&g.scratch)
                .t(if special { "1" } else { "" })
                .t(&total.to_string())
                .finish_row(1)?;
            Ok((total, cost, fefp))
        };
        match p.matrix {
            Matrix::One | Matrix::Two => {
                let (total, cost, fefp) = rated(self, rng, completed)?;
                if p.matrix == Matrix::Two {
                    let older = add(completed, -rng.range(100, 300));
                    rated(self, rng, older)?;
                    f.several = true;
                }
                w.c272 = Some(total.to_string());
                w.c273 = Some(cost);
                w.c274 = Some(completed);
                w.c293 = Some(fefp);
            }
            Matrix::Zeros => {
                let c = &mut self.csv[MATRIX];
                c.t("0.0").d(Some(completed), st);
                for _ in 0..5 {
                    c.t("0");
                }
                c.t("00")
                    .t(local)
                    .t(other)
                    .t(prim)
                    .t("")
                    .t("")
                    .t("0")
                    .finish_row(1)?;
                w.c272 = Some("0".to_string());
                w.c273 = Some("0.0");
                w.c274 = Some(completed);
                w.c293 = Some("00");
                f.zeros = true;
            }
            Matrix::Missing => f.no_matrix = true,
        }
        Ok(())
    }

    fn ep(&mut self, who: &Who<'_>, p: &Profile, rng: &mut Rng, w: &mut Winners) -> io::Result<()> {
        let run = self.run;
        let start = add(run, -rng.range(30, 700));
        let end = add(start, 3 * 365 - 1);
        let init = add(start, rng.range(0, 5));
        let amend = if rng.chance(0.15) {
            Some(add(start, rng.range(10, 25)))
        } else {
            None
        };
        self.csv[EPS]
            .d(amend, who.style)
            .d(Some(end), who.style)
            .d(Some(start), who.style)
            .d(Some(init), who.style)
            .t(who.local)
            .finish_row(1)?;
        if !p.iep {
            w.c873 = Some(start);
            w.c940 = Some(end);
        }
        Ok(())
    }

    fn sp(&mut self, who: &Who<'_>, p: &Profile, rng: &mut Rng, w: &mut Winners) -> io::Result<()> {
        let meeting = add(self.run, -rng.range(20, 300));
        let duration = add(meeting, 364);
        let init = add(meeting, rng.range(0, 5));
        let amend = if rng.chance(0.1) {
            Some(add(meeting, rng.range(5, 20)))
        } else {
            None
        };
        self.csv[SPS]
            .d(amend, who.style)
            .d(Some(duration), who.style)
            .d(Some(init), who.style)
            .t(who.local)
            .d(Some(meeting), who.style)
            .finish_row(1)?;
        if !p.iep && !p.ep {
            w.c873 = Some(meeting);
            w.c940 = Some(duration);
        }
        Ok(())
    }

    fn sec504(
        &mut self,
        who: &Who<'_>,
        p: &Profile,
        rng: &mut Rng,
        scale: f64,
        f: &mut Facts,
    ) -> io::Result<()> {
        let (st, local) = (who.style, who.local);
        let collect = p.logs_identical || p.logs_stale || p.logs_other_year;
        let meeting = add(self.run, -rng.range(20, 330));
        let original = add(meeting, -rng.range(365, 1500));
        let end = add(meeting, 364);
        let temp = rng.chance(0.75);
        self.csv[PLANS_504]
            .t(local)
            .d(Some(meeting), st)
            .d(Some(original), st)
            .d(temp.then_some(meeting), st)
            .d(temp.then_some(end), st)
            .finish_row(1)?;

        // Sec504AssessmentAccommodations → log 200000264.
        let (extras, n_extra, base) =
            end_kinds(p, rng.count(2.5 * scale), ASSESSMENT_ACCOMMODATIONS.len());
        let offset = rng.below(ASSESSMENT_ACCOMMODATIONS.len() as u64) as usize;
        for k in 0..base + n_extra {
            let (kind, text) =
                ASSESSMENT_ACCOMMODATIONS[(offset + k) % ASSESSMENT_ACCOMMODATIONS.len()];
            let which = if k < base {
                End::Plan
            } else {
                extras[k - base]
            };
            let (e, s) = self.end_for(which, end, meeting, p.exact, rng, f);
            self.csv[ASSESS_504]
                .t(text)
                .t(kind)
                .t(local)
                .t("")
                .d(Some(s), st)
                .d(e, st)
                .finish_row(1)?;
            if let (true, Some(e)) = (collect, e) {
                self.log(
                    200000264,
                    [
                        Cell::Text(kind),
                        Cell::Date(e),
                        Cell::Text(text),
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                    ],
                );
            }
        }

        // Sec504PlansGeneralClassroomAcc-Services → log 200000263.
        let (extras, n_extra, base) = end_kinds(p, rng.count(3.0 * scale), SEC504_CLASSROOM.len());
        let offset = rng.below(SEC504_CLASSROOM.len() as u64) as usize;
        for k in 0..base + n_extra {
            let text = SEC504_CLASSROOM[(offset + k) % SEC504_CLASSROOM.len()];
            let which = if k < base {
                End::Plan
            } else {
                extras[k - base]
            };
            let (e, s) = self.end_for(which, end, meeting, p.exact, rng, f);
            let area = rng.pick(&AREAS_OF_CONCERN);
            let persons = rng.pick(&PERSONS_RESPONSIBLE);
            self.csv[CLASS_504]
                .t(text)
                .t(area)
                .t(local)
                .t(persons)
                .d(Some(s), st)
                .d(e, st)
                .finish_row(1)?;
            if let (true, Some(e)) = (collect, e) {
                self.log(
                    200000263,
                    [
                        Cell::Text(area),
                        Cell::Text(persons),
                        Cell::Date(e),
                        Cell::Text(text),
                        Cell::Null,
                        Cell::Null,
                    ],
                );
            }
        }
        Ok(())
    }

    fn student_row(
        &mut self,
        sid: i64,
        first: &str,
        last: &str,
        local: &str,
        p: &Profile,
        w: &Winners,
    ) -> io::Result<()> {
        let date = |d: Option<NaiveDate>| d.map_or(Sql::Null, Sql::Date);
        fn text(s: Option<&str>) -> Sql<'_> {
            match s {
                Some(s) if !s.is_empty() => Sql::Text(s),
                _ => Sql::Null,
            }
        }
        let base = w.c873.unwrap_or_else(|| add(self.run, -200));
        let differ = |current: Option<&str>, a: &'static str, b: &'static str| {
            if current == Some(a) { b } else { a }
        };
        let stale_874 = add(base, -372);
        let values: [Sql<'_>; 10] = match p.values {
            Init::Empty => [Sql::Null; 10],
            Init::Identical => [
                date(w.c873),
                date(w.c940),
                text(w.c256),
                text(w.c863),
                text(w.c878.as_deref()),
                text(w.c879.as_deref()),
                text(w.c272.as_deref()),
                text(w.c273),
                date(w.c274),
                text(w.c293),
            ],
            Init::Stale => [
                Sql::Date(add(base, -365)),
                Sql::Date(add(base, -1)),
                Sql::Text(differ(w.c256, "Y", "N")),
                Sql::Text(differ(w.c863, "C", "B")),
                Sql::Text("1500"),
                Sql::Text("600"),
                Sql::Text(differ(w.c272.as_deref(), "7", "8")),
                Sql::Text("2.000"),
                Sql::Date(stale_874),
                Sql::Text("130"),
            ],
        };
        let mut row = vec![
            Sql::Int(sid),
            Sql::Text(last),
            Sql::Text(first),
            Sql::Text(local),
        ];
        row.extend_from_slice(&values);
        self.sql.row(STUDENTS, &row)
    }

    /// The student's log entries before the import: copies of its file rows, stale ones, and
    /// ones of the previous school year.
    fn existing_logs(&mut self, sid: i64, p: &Profile, f: &mut Facts) -> io::Result<()> {
        let sy = i64::from(self.opts.school_year);
        let run = self.run;
        let logs = std::mem::take(&mut self.logs);
        if p.logs_identical {
            for l in &logs {
                self.log_entry(sid, l.field, sy, &l.cells)?;
                f.logs_identical = true;
            }
        }
        if p.logs_stale {
            let (old_end, old_init) = (add(run, -200), add(run, -564));
            if p.s504 && !p.iep {
                self.log_entry(
                    sid,
                    200000264,
                    sy,
                    &[
                        Cell::Text("Setting"),
                        Cell::Date(old_end),
                        Cell::Text("Separate room, old plan"),
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                    ],
                )?;
                self.log_entry(
                    sid,
                    200000263,
                    sy,
                    &[
                        Cell::Text("Reading"),
                        Cell::Text("Classroom teacher"),
                        Cell::Date(old_end),
                        Cell::Text("Audio books, old plan"),
                        Cell::Null,
                        Cell::Null,
                    ],
                )?;
            } else {
                self.log_entry(
                    sid,
                    200000261,
                    sy,
                    &[
                        Cell::Text("Presentation"),
                        Cell::Text("Read tests aloud, old plan"),
                        Cell::Date(old_end),
                        Cell::Text("Daily"),
                        Cell::Text("General Education Classroom"),
                        Cell::Date(old_init),
                    ],
                )?;
                self.log_entry(
                    sid,
                    200000311,
                    sy,
                    &[
                        Cell::Date(old_init),
                        Cell::Date(old_end),
                        Cell::Text("30 min daily"),
                        Cell::Text("Speech Room"),
                        Cell::Text("Speech Therapy, old plan"),
                        Cell::Null,
                    ],
                )?;
            }
            // The same row as in the file but for one date: stale too.
            if let Some(first) = logs.first() {
                let mut cells = first.cells;
                for cell in &mut cells {
                    if let Cell::Date(d) = *cell {
                        *cell = Cell::Date(add(d, -365));
                        break;
                    }
                }
                self.log_entry(sid, first.field, sy, &cells)?;
            }
            f.logs_stale = true;
        }
        if p.logs_other_year {
            match logs.first() {
                Some(first) => self.log_entry(sid, first.field, sy - 1, &first.cells)?,
                None => self.log_entry(
                    sid,
                    200000261,
                    sy - 1,
                    &[
                        Cell::Text("Setting"),
                        Cell::Text("Small group, separate room"),
                        Cell::Date(add(run, -150)),
                        Cell::Text("During assessments"),
                        Cell::Text("Testing Location"),
                        Cell::Date(add(run, -514)),
                    ],
                )?,
            }
            f.logs_other = true;
        }
        self.logs = logs;
        Ok(())
    }

    fn log_entry(&mut self, sid: i64, field: i64, syear: i64, cells: &[Cell; 6]) -> io::Result<()> {
        let mut row = [Sql::Null; 9];
        row[0] = Sql::Int(sid);
        row[1] = Sql::Int(field);
        row[2] = Sql::Int(syear);
        for (slot, cell) in row[3..].iter_mut().zip(cells) {
            *slot = match *cell {
                Cell::Null => Sql::Null,
                Cell::Text(t) => Sql::Text(t),
                Cell::Date(d) => Sql::Date(d),
            };
        }
        self.sql.row(LOG_ENTRIES, &row)
    }

    fn finish(self) -> io::Result<GenSummary> {
        let mut files = Vec::with_capacity(FILES.len());
        for (file, csv) in FILES.iter().zip(self.csv) {
            files.push((file.file, csv.close()?));
        }
        let [students, enrollments, log_entries] = self.sql.close()?;
        let names = |list: &[usize]| list.iter().map(|&i| FILES[i].file).collect::<Vec<_>>();
        let edge_cases = EdgeCase::ALL
            .iter()
            .zip(self.hits)
            .map(|(&case, local_ids)| EdgeCaseHits {
                case,
                local_ids,
                files: match case {
                    EdgeCase::Bom => names(&BOM_FILES),
                    EdgeCase::Crlf => names(&CRLF_FILES),
                    EdgeCase::QuoteAllFields => names(&QUOTE_ALL_FILES),
                    _ => Vec::new(),
                },
            })
            .collect();
        Ok(GenSummary {
            total_rows: files.iter().map(|(_, n)| n).sum(),
            files,
            students,
            enrollments,
            log_entries,
            touched: self.touched,
            edge_cases,
        })
    }
}

/// Which outcome a uniform draw `u` in [0, 1) picks: the first of `bands` whose cumulative
/// upper bound is above `u`, else `rest` (so each band's chance is its bound minus the one
/// before).
fn band<T: Copy>(u: f64, bands: &[(f64, T)], rest: T) -> T {
    bands
        .iter()
        .find(|(bound, _)| u < *bound)
        .map_or(rest, |&(_, outcome)| outcome)
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// The school a student of this grade attends (a regular one).
fn home_school(grade: &str, rng: &mut Rng) -> (&'static str, &'static str) {
    match grade {
        "06" | "07" | "08" => rng.pick(&MIDDLE),
        "09" | "10" | "11" | "12" => rng.pick(&HIGH),
        _ => rng.pick(&ELEMENTARY),
    }
}
