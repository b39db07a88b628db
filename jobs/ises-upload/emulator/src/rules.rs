//! The upload business rules of Tables B-1 and B-2 and Appendices A.2 and A.4, each reported
//! with its Cross Reference number (see the crate's README for how numbers were assigned where
//! Table B-2 lists several for one element).
//!
//! Findings come in two kinds: [`FileError`]s about the file as a whole (header, file name,
//! sequence number, a bad school that has no incident to carry the error), which Table B-1 gives
//! no cross reference, and record [`Finding`]s, tied to a `02`, `03` or `04` record.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::codes;
use crate::load::{Incident, LoadFile, Removal, School};
use crate::names::LoadFileName;

/// A record's status (B.3 STATUS, B.4 Record Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Warning,
    Error,
}

/// Which record a finding is about: indexes into the Load File's schools, incidents, removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    School(usize),
    Incident(usize, usize),
    Removal(usize, usize, usize),
}

/// A broken record rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub target: Target,
    /// Line of the record in the Load File (1-based).
    pub line: u64,
    /// Appendix A's name of the data element.
    pub element: &'static str,
    /// The element's value as received.
    pub value: String,
    /// Table B-2's Cross Reference number.
    pub reason: &'static str,
    pub status: Status,
    /// What was wrong, in words.
    pub message: String,
}

/// A broken rule of the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The emulator's code for the rule (Table B-1 gives none), or a school rule's number.
    pub reason: &'static str,
    pub message: String,
}

/// Header and name codes (no cross reference exists for them in the spec).
pub const DTG: &str = "DTG";
pub const SEQ_NUM: &str = "SEQ_NUM";
pub const COLLECTION: &str = "COLLECTION";
pub const DISTRICT: &str = "DISTRICT";
pub const SCHOOL_SCOPE: &str = "SCHOOL_SCOPE";
pub const SEQ_NUM_REUSED: &str = "SEQ_NUM_REUSED";

/// Everything the rules found in one Load File.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub file_errors: Vec<FileError>,
    pub findings: Vec<Finding>,
}

/// The state-only references a district cannot check locally.
#[derive(Debug, Clone, Copy, Default)]
pub struct References<'a> {
    /// DPI's school table for the district.
    pub valid_schools: Option<&'a BTreeSet<String>>,
    /// WSLS's students.
    pub known_wsns: Option<&'a BTreeSet<String>>,
}

/// A date in Appendix A.1's format: `MM/DD/YYYY` or `MM-DD-YYYY`, exactly ten characters.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || !(b[2] == b[5] && (b[2] == b'/' || b[2] == b'-')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let year = i32::try_from(num(6..10)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(0..2)?, num(3..5)?)
}

/// Appendix A.1.2: `MM/DD/YYYY HH:MM:SS CST` or with dashes; B.1 requires Central Standard Time.
pub fn parse_dtg(text: &str) -> Option<NaiveDateTime> {
    let (date, rest) = text.split_at_checked(10)?;
    let date = parse_date(date)?;
    let rest = rest.strip_prefix(' ')?;
    let (time, zone) = rest.split_once(' ')?;
    if zone != "CST" || time.len() != 8 {
        return None;
    }
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").ok()?;
    Some(date.and_time(time))
}

/// A `YYYY` year.
pub fn parse_year(text: &str) -> Option<i32> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) && text != "0000" {
        text.parse().ok()
    } else {
        None
    }
}

fn digits(text: &str, n: usize) -> bool {
    text.len() == n && text.bytes().all(|b| b.is_ascii_digit())
}

fn yes_no(text: &str) -> bool {
    text == "Y" || text == "N"
}

/// DAYS_REMOVED_CURRENT_TERM: N 3, "Decimal values may be .0 or .5".
fn days_removed(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    !whole.is_empty()
        && whole.len() <= 3
        && whole.bytes().all(|b| b.is_ascii_digit())
        && matches!(fraction, None | Some("0" | "5"))
}

/// Largest IncidentID / RemovalID (Appendix A: A 16).
const ID_SIZE: usize = 16;

/// The first day a removal of collection `year` may start: July 1 of `year - 1` (Table B-2).
fn window_start(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year - 1, 7, 1)
}

/// The last day a removal of collection `year` may start. Table B-2 says "on or prior to the
/// 10th day after the Accountable District Term Start Date of YEAR"; term start dates are not
/// in the spec, so the emulator takes September 30 of `year` (a term starting by early
/// September, plus ten school days).
fn window_end(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 9, 30)
}

struct Collector {
    findings: Vec<Finding>,
}

impl Collector {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        target: Target,
        line: u64,
        element: &'static str,
        value: &str,
        reason: &'static str,
        status: Status,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            target,
            line,
            element,
            value: value.to_owned(),
            reason,
            status,
            message: message.into(),
        });
    }

    fn error(
        &mut self,
        target: Target,
        line: u64,
        element: &'static str,
        value: &str,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        self.push(target, line, element, value, reason, Status::Error, message);
    }
}

/// A sequence number as remembered: district, school (as in the file name), YEAR, SEQ_NUM.
pub type SequenceKey = (String, String, String, String);

/// The sequence key of `file` named `name`: the name's district, school and sequence and the
/// first `02`'s YEAR.
pub fn sequence_key(name: &LoadFileName, file: &LoadFile) -> SequenceKey {
    let year = file
        .schools
        .first()
        .map(|s| s.year.clone())
        .unwrap_or_default();
    (
        name.district.clone(),
        name.school.clone(),
        year,
        name.sequence.clone(),
    )
}

/// Checks `file` (named `name`) against every upload rule the emulator knows.
pub fn check(
    name: &LoadFileName,
    file: &LoadFile,
    received: &BTreeSet<SequenceKey>,
    refs: References<'_>,
) -> Checked {
    let mut file_errors = header_errors(name, file);
    if received.contains(&sequence_key(name, file)) {
        file_errors.push(FileError {
            reason: SEQ_NUM_REUSED,
            message: format!(
                "sequence number {} was already received for district {}, school {}, YEAR {} (A.2: each file and re-submittal takes a new number)",
                name.sequence,
                name.district,
                name.school,
                file.schools.first().map_or("", |s| s.year.as_str())
            ),
        });
    }
    let mut c = Collector {
        findings: Vec::new(),
    };
    for (si, school) in file.schools.iter().enumerate() {
        check_school(&mut c, si, school, refs);
        for (ii, incident) in school.incidents.iter().enumerate() {
            check_incident(&mut c, si, ii, school, incident, refs);
            for (ri, removal) in incident.removals.iter().enumerate() {
                check_removal(&mut c, (si, ii, ri), school, incident, removal);
            }
        }
    }
    check_uniqueness(&mut c, file);
    // A school-level error with no incident under it has no record to carry it.
    let mut findings = Vec::new();
    for f in c.findings {
        if let Target::School(si) = f.target
            && file.schools[si].incidents.is_empty()
        {
            file_errors.push(FileError {
                reason: f.reason,
                message: format!("line {}: {}", f.line, f.message),
            });
        } else {
            findings.push(f);
        }
    }
    Checked {
        file_errors,
        findings,
    }
}

/// Table B-1 and the file name rules (2.3.1.1, A.2).
fn header_errors(name: &LoadFileName, file: &LoadFile) -> Vec<FileError> {
    let h = &file.header;
    let mut errors = Vec::new();
    let mut err = |reason: &'static str, message: String| {
        errors.push(FileError { reason, message });
    };
    if parse_dtg(&h.dtg).is_none() {
        err(
            DTG,
            format!(
                "DTG {:?} is not MM-DD-YYYY HH:MM:SS CST (A.1.2, B.1: 24-hour Central Standard Time)",
                h.dtg
            ),
        );
    }
    if !digits(&h.seq_num, 5) {
        err(
            SEQ_NUM,
            format!(
                "SEQ_NUM {:?} is not five digits (B.1 FORMAT 00009)",
                h.seq_num
            ),
        );
    } else if h.seq_num != name.sequence {
        err(
            SEQ_NUM,
            format!(
                "SEQ_NUM {} does not match the file name's sequence number {} (A.2)",
                h.seq_num, name.sequence
            ),
        );
    }
    if h.collection != "YED" {
        err(
            COLLECTION,
            format!("COLLECTION {:?} is not \"YED\" (B.1)", h.collection),
        );
    }
    if !digits(&h.district, 4) {
        err(
            DISTRICT,
            format!(
                "DISTRICT {:?} is not four digits (B.1 FORMAT 0009)",
                h.district
            ),
        );
    } else if h.district != name.district {
        err(
            DISTRICT,
            format!(
                "DISTRICT {} does not match the file name's district {}",
                h.district, name.district
            ),
        );
    }
    let schools = &file.schools;
    if name.school == "0000" {
        if schools.len() < 2 {
            err(
                SCHOOL_SCOPE,
                "the file name's school code is 0000 but the file holds one school (2.3.1.1: a one-school file is named with its school code)".to_owned(),
            );
        }
    } else if schools.len() > 1 {
        err(
            SCHOOL_SCOPE,
            format!(
                "the file holds {} schools, so its name's school code must be 0000, not {} (2.3.1.1)",
                schools.len(),
                name.school
            ),
        );
    } else if schools.iter().any(|s| s.school != name.school) {
        err(
            SCHOOL_SCOPE,
            format!(
                "the file name's school code {} is not the file's school {}",
                name.school,
                schools.first().map_or("", |s| s.school.as_str())
            ),
        );
    }
    errors
}

fn check_school(c: &mut Collector, si: usize, s: &School, refs: References<'_>) {
    let t = Target::School(si);
    if !digits(&s.school, 4) {
        c.error(
            t,
            s.line,
            "SchoolCode",
            &s.school,
            "57",
            format!("SCHOOL {:?} is not four digits (FORMAT 0009)", s.school),
        );
    } else if s.school == "0000" {
        c.error(
            t,
            s.line,
            "SchoolCode",
            &s.school,
            "56",
            "SCHOOL 0000 is the district-file marker, not a school code",
        );
    } else if let Some(valid) = refs.valid_schools
        && !valid.contains(&s.school)
    {
        c.error(
            t,
            s.line,
            "SchoolCode",
            &s.school,
            "56",
            format!(
                "SCHOOL {} is not in DPI's school table for the district",
                s.school
            ),
        );
    }
    if s.record_type != "D" {
        c.error(
            t,
            s.line,
            "RecordType",
            &s.record_type,
            "69",
            format!("RECORD_TYPE {:?} is not 'D'", s.record_type),
        );
    }
    if parse_year(&s.year).is_none() {
        c.error(
            t,
            s.line,
            "YearCollection",
            &s.year,
            "70",
            format!("YEAR {:?} is not YYYY", s.year),
        );
    }
}

fn check_incident(
    c: &mut Collector,
    si: usize,
    ii: usize,
    school: &School,
    i: &Incident,
    refs: References<'_>,
) {
    let t = Target::Incident(si, ii);
    let line = i.line;
    let year = parse_year(&school.year);
    let year_incident = parse_year(&i.year_incident);

    if i.incident_id.len() > ID_SIZE {
        c.error(
            t,
            line,
            "IncidentID",
            &i.incident_id,
            "78",
            format!(
                "INCIDENT_ID is {} characters; the most is {ID_SIZE}",
                i.incident_id.len()
            ),
        );
    }
    match (year_incident, year) {
        (None, _) => c.error(t, line, "YearIncident", &i.year_incident, "71", format!("YEAR_INCIDENT {:?} is not YYYY", i.year_incident)),
        (Some(yi), Some(y)) if yi > y => c.error(t, line, "YearIncident", &i.year_incident, "72", format!("YEAR_INCIDENT {yi} is after YEAR {y}")),
        (Some(yi), Some(y)) if yi < y && i.incident_id.is_empty() && i.incident_date.is_empty() => c.error(t, line, "YearIncident", &i.year_incident, "72", format!("YEAR_INCIDENT {yi} is before YEAR {y}, so INCIDENT_DATE or INCIDENT_ID must identify the prior record, and both are empty")),
        _ => {}
    }
    // Same school term: the rules that apply "if YEAR_INCIDENT = YEAR".
    let current = matches!((year_incident, year), (Some(yi), Some(y)) if yi == y);

    if !digits(&i.wsn_id, 10) {
        c.error(
            t,
            line,
            "WSNStudentID",
            &i.wsn_id,
            "73",
            format!(
                "WSN_ID {:?} is not ten digits (FORMAT 0000000009)",
                i.wsn_id
            ),
        );
    } else if current
        && let Some(known) = refs.known_wsns
        && !known.contains(&i.wsn_id)
    {
        c.error(
            t,
            line,
            "WSNStudentID",
            &i.wsn_id,
            "18",
            format!("WSN_ID {} matches no WSLS record", i.wsn_id),
        );
    }

    if i.enroll_date.is_empty() {
        if current {
            c.error(
                t,
                line,
                "EnrollmentDate",
                &i.enroll_date,
                "17",
                "ENROLL_DATE is required when YEAR_INCIDENT = YEAR (WSLS matching)",
            );
        }
    } else if parse_date(&i.enroll_date).is_none() {
        c.error(
            t,
            line,
            "EnrollmentDate",
            &i.enroll_date,
            "74",
            format!(
                "ENROLL_DATE {:?} is not MM/DD/YYYY or MM-DD-YYYY",
                i.enroll_date
            ),
        );
    }

    if i.incident_date.is_empty() {
        if current {
            c.error(
                t,
                line,
                "IncidentDate",
                &i.incident_date,
                "29",
                "INCIDENT_DATE is required when YEAR_INCIDENT = YEAR",
            );
        }
    } else if parse_date(&i.incident_date).is_none() {
        c.error(
            t,
            line,
            "IncidentDate",
            &i.incident_date,
            "75",
            format!(
                "INCIDENT_DATE {:?} is not MM/DD/YYYY or MM-DD-YYYY",
                i.incident_date
            ),
        );
    }

    for (value, element, size_code, table_code, what) in [
        (
            &i.type_primary,
            "IncidentTypePrimary",
            "76",
            "41",
            "INCIDENT_TYPE_PRIMARY",
        ),
        (
            &i.type_secondary,
            "IncidentTypeSecondary",
            "77",
            "59",
            "INCIDENT_TYPE_SECONDARY",
        ),
    ] {
        if value.is_empty() {
            continue;
        }
        if value.len() > 2 {
            c.error(
                t,
                line,
                element,
                value,
                size_code,
                format!("{what} {value:?} is longer than its 2 characters"),
            );
        } else if !codes::contains(codes::INCIDENT_TYPE, value) {
            c.error(
                t,
                line,
                element,
                value,
                table_code,
                format!("{what} {value:?} is not in table D.2"),
            );
        }
    }

    if i.removals.is_empty() {
        c.error(
            t,
            line,
            "RemovalStartDate",
            "",
            "45",
            "the incident has no \"04\" removal, so REMOVAL_START_DATE (not nullable) is missing",
        );
    }
}

fn check_removal(
    c: &mut Collector,
    (si, ii, ri): (usize, usize, usize),
    school: &School,
    i: &Incident,
    r: &Removal,
) {
    let t = Target::Removal(si, ii, ri);
    let line = r.line;
    let year = parse_year(&school.year);
    let year_incident = parse_year(&i.year_incident);

    if r.removal_id.len() > ID_SIZE {
        c.error(
            t,
            line,
            "RemovalID",
            &r.removal_id,
            "80",
            format!(
                "REMOVAL_ID is {} characters; the most is {ID_SIZE}",
                r.removal_id.len()
            ),
        );
    }
    let year_removal = parse_year(&r.year_removal_type);
    match year_removal {
        None => c.error(
            t,
            line,
            "YearRemovalType",
            &r.year_removal_type,
            "79",
            format!("YEAR_REMOVAL_TYPE {:?} is not YYYY", r.year_removal_type),
        ),
        Some(yr) => {
            if let Some(yi) = year_incident
                && yr < yi
            {
                c.error(
                    t,
                    line,
                    "YearRemovalType",
                    &r.year_removal_type,
                    "79",
                    format!("YEAR_REMOVAL_TYPE {yr} is before YEAR_INCIDENT {yi}"),
                );
            }
            if let Some(y) = year
                && yr > y + 1
            {
                c.error(
                    t,
                    line,
                    "YearRemovalType",
                    &r.year_removal_type,
                    "79",
                    format!("YEAR_REMOVAL_TYPE {yr} is after YEAR + 1 ({})", y + 1),
                );
            }
        }
    }
    if !r.removal_type.is_empty() && !codes::contains(codes::REMOVAL_TYPE, &r.removal_type) {
        c.error(
            t,
            line,
            "RemovalType",
            &r.removal_type,
            "49",
            format!("REMOVAL_TYPE {:?} is not in table D.8", r.removal_type),
        );
    }

    match parse_date(&r.start_date) {
        None => c.error(
            t,
            line,
            "RemovalStartDate",
            &r.start_date,
            "45",
            format!(
                "REMOVAL_START_DATE {:?} is missing or not MM/DD/YYYY or MM-DD-YYYY",
                r.start_date
            ),
        ),
        Some(start) => {
            if let Some(incident) = parse_date(&i.incident_date)
                && start < incident
            {
                c.error(
                    t,
                    line,
                    "RemovalStartDate",
                    &r.start_date,
                    "46",
                    format!(
                        "REMOVAL_START_DATE {} is before INCIDENT_DATE {}",
                        r.start_date, i.incident_date
                    ),
                );
            }
            if let Some(y) = year
                && let (Some(first), Some(last)) = (window_start(y), window_end(y))
                && (start < first || start > last)
            {
                c.error(
                    t,
                    line,
                    "RemovalStartDate",
                    &r.start_date,
                    "46",
                    format!(
                        "REMOVAL_START_DATE {} is outside 07/01/{} to 09/30/{y} for YEAR {y}",
                        r.start_date,
                        first.year()
                    ),
                );
            }
        }
    }

    for (value, element, code, what) in [
        (
            &r.serious_bodily_injury,
            "SeriousBodilyInjury",
            "60",
            "SERIOUS_BODILY_INJURY",
        ),
        (
            &r.early_reinstatement,
            "EarlyReinstatementConditions",
            "10",
            "EARLY_REINSTATE_CONDITIONS",
        ),
        (
            &r.services_provided,
            "ServicesProvided",
            "63",
            "SERVICES_PROVIDED",
        ),
        (
            &r.return_to_school,
            "ReturnToSchool",
            "53",
            "RETURN_TO_SCHOOL",
        ),
    ] {
        if !value.is_empty() && !yes_no(value) {
            c.error(
                t,
                line,
                element,
                value,
                code,
                format!("{what} {value:?} is not 'Y' or 'N'"),
            );
        }
    }
    if !r.expulsion_return_year.is_empty() && parse_year(&r.expulsion_return_year).is_none() {
        c.error(
            t,
            line,
            "ExpulsionReturnYear",
            &r.expulsion_return_year,
            "20",
            format!(
                "EXPULSION_RETURN_YEAR {:?} is not YYYY",
                r.expulsion_return_year
            ),
        );
    }
    if !r.modified_term.is_empty() {
        if !codes::contains(codes::MODIFIED_TERM, &r.modified_term) {
            c.error(
                t,
                line,
                "ModifiedTerm",
                &r.modified_term,
                "31",
                format!("MODIFIED_TERM {:?} is not in table D.9", r.modified_term),
            );
        } else if r.modified_term == "Y"
            && let Some(y) = year_removal.or(year)
            && y > 2007
        {
            c.error(
                t,
                line,
                "ModifiedTerm",
                &r.modified_term,
                "31",
                format!("MODIFIED_TERM 'Y' is not valid after 2006-07 (removal year {y})"),
            );
        }
    }
    if !r.primary_disability.is_empty()
        && !codes::contains(codes::PRIMARY_DISABILITY, &r.primary_disability)
    {
        c.error(
            t,
            line,
            "PrimaryDisability",
            &r.primary_disability,
            "34",
            format!("PRIM_DISAB {:?} is not in table D.5", r.primary_disability),
        );
    }
    if !r.english_proficiency.is_empty()
        && !codes::contains(codes::ENGLISH_PROFICIENCY, &r.english_proficiency)
    {
        c.error(
            t,
            line,
            "EnglishProfCode",
            &r.english_proficiency,
            "13",
            format!(
                "ENG_PROF_CODE {:?} is not in table D.1",
                r.english_proficiency
            ),
        );
    }
    if !days_removed(&r.days_removed) {
        c.error(t, line, "DaysRemovedCurrentTerm", &r.days_removed, "1", format!("DAYS_REMOVED_CURRENT_TERM {:?} is missing or not a number of at most 3 digits ending in .0 or .5", r.days_removed));
    }

    // Warnings: the fields Table B-2 expects "only when REMOVAL_TYPE = EX".
    if !r.removal_type.is_empty() && r.removal_type != codes::EXPULSION {
        for (value, element, code, what) in [
            (
                &r.early_reinstatement,
                "EarlyReinstatementConditions",
                "10",
                "EARLY_REINSTATE_CONDITIONS",
            ),
            (
                &r.expulsion_return_year,
                "ExpulsionReturnYear",
                "20",
                "EXPULSION_RETURN_YEAR",
            ),
            (&r.modified_term, "ModifiedTerm", "31", "MODIFIED_TERM"),
            (
                &r.services_provided,
                "ServicesProvided",
                "63",
                "SERVICES_PROVIDED",
            ),
            (
                &r.return_to_school,
                "ReturnToSchool",
                "53",
                "RETURN_TO_SCHOOL",
            ),
        ] {
            if !value.is_empty() {
                c.push(
                    t,
                    line,
                    element,
                    value,
                    code,
                    Status::Warning,
                    format!(
                        "{what} is expected only when REMOVAL_TYPE = 'EX', not {:?}",
                        r.removal_type
                    ),
                );
            }
        }
    } else if r.removal_type == codes::EXPULSION
        && !r.return_to_school.is_empty()
        && r.expulsion_return_year != school.year
    {
        c.push(t, line, "ReturnToSchool", &r.return_to_school, "53", Status::Warning, format!("RETURN_TO_SCHOOL is expected only when EXPULSION_RETURN_YEAR = YEAR ({:?} is not {:?})", r.expulsion_return_year, school.year));
    }
}

/// Appendix A.4: a removal is identified by district, school, WSN, enroll date, incident date,
/// removal start date and removal type; INCIDENT_ID and REMOVAL_ID, when given, "may be
/// included to meet" it, so they are part of the key. Every repeat after the first is an error.
fn check_uniqueness(c: &mut Collector, file: &LoadFile) {
    let mut seen: BTreeMap<[&str; 8], u64> = BTreeMap::new();
    for (si, s) in file.schools.iter().enumerate() {
        for (ii, i) in s.incidents.iter().enumerate() {
            for (ri, r) in i.removals.iter().enumerate() {
                let key = [
                    s.school.as_str(),
                    i.wsn_id.as_str(),
                    i.enroll_date.as_str(),
                    i.incident_date.as_str(),
                    r.start_date.as_str(),
                    r.removal_type.as_str(),
                    i.incident_id.as_str(),
                    r.removal_id.as_str(),
                ];
                if let Some(first) = seen.get(&key) {
                    c.error(
                        Target::Removal(si, ii, ri),
                        r.line,
                        "WSNStudentID",
                        &i.wsn_id,
                        "68",
                        format!("the removal repeats the one on line {first}: same school, WSN, enroll date, incident date, removal start date and type (A.4)"),
                    );
                } else {
                    seen.insert(key, r.line);
                }
            }
        }
    }
}
