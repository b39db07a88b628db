//! The seed's transformation rules, as pure functions from SIS rows to what should be in the
//! state's ODS for one scope year, before any Data Standard's JSON is chosen.
//!
//! Each rule names the seed section it comes from (`docs/README.md` lists them all): future
//! scope years are suppressed until the Active Year reaches them; School Exclude, Calendar
//! Exclude and Summer School calendars send nothing; a class period is named Period Schedule +
//! Period + Structure ID with spaces and may not exceed 20 characters (an error, not a
//! truncation); terms of one term descriptor are grouped into one session with the earliest
//! start and latest end; a section without a room goes to the school's `unknown` location;
//! inactive or State Exclude courses and courses without a State Course Code send nothing;
//! enrollments that are No Show, State Exclude, WISE Exclude or Partial (S) send nothing, and P
//! wins over N on the same start date; students are sent only with a reportable enrollment;
//! roster and staff dates follow the seed's latest-of / earliest-of rules. A record whose parent
//! is not sent is not sent either ([`Reason::ParentNotSent`]), so nothing refers to a record the
//! host will not have. What is left out is listed with its reason ([`Skip`]); rows that cannot
//! be sent as they are (a too-long class period name, conflicting rows) are errors
//! ([`Plan::rejected`]) and everything else still goes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;

use crate::error::EdfiError;
use crate::model::Resource;
use crate::source::{self, Calendar, EnrollmentRow, SectionId, SessionRow, Source, StudentRow};

/// The longest class period name Ed-Fi v2 accepts (seed "Class Periods").
pub const CLASS_PERIOD_NAME_MAX: usize = 20;
/// The location a section without a room points at (seed "Section", locationReference).
pub const UNKNOWN_LOCATION: &str = "unknown";
/// The classroom position that means "Not State Reported" (seed "Staff Section Association").
pub const NOT_STATE_REPORTED: &str = "XX";

/// What the transformation rules need from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The scope year (end year).
    pub school_year: i32,
    /// The SIS's Active Year (end year).
    pub active_year: i32,
    pub exclude_schools: Vec<i64>,
    pub exclude_calendars: Vec<String>,
    /// The education organization that owns the courses.
    pub course_education_organization_id: i64,
}

impl Rules {
    /// The rules of a run's settings.
    pub fn from_settings(s: &crate::settings::Settings) -> Rules {
        Rules {
            school_year: s.school_year,
            active_year: s.active_year,
            exclude_schools: s.exclude_schools.clone(),
            exclude_calendars: s.exclude_calendars.clone(),
            course_education_organization_id: s.course_education_organization_id,
        }
    }
}

/// Why a row is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The scope year is after the Active Year (seed: "Future Years data is suppressed until the
    /// Active Year is changed"; "Only past and present data is synced").
    FutureYear,
    /// School Exclude (`exclude_schools`).
    SchoolExcluded,
    /// Calendar Exclude (the row's `calendar_exclude`, or its calendar in `exclude_calendars`).
    CalendarExcluded,
    /// The calendar is marked Summer School.
    SummerSchool,
    /// The course is marked Inactive.
    CourseInactive,
    /// The course is marked State Exclude.
    CourseStateExclude,
    /// Seed "Course Offerings": "If the State Course Code is NULL, do not process".
    NoStateCourseCode,
    /// Enrollment marked No Show.
    NoShow,
    /// Enrollment marked State Exclude.
    StateExclude,
    /// Enrollment marked WISE Exclude.
    WiseExclude,
    /// Enrollment service type Partial (S).
    PartialService,
    /// Another enrollment with the same school and start date wins (P over N).
    LowerPriorityEnrollment,
    /// A student or roster with no reportable enrollment in the scope year.
    NoReportableEnrollment,
    /// Seed "Student Section Association": roster start after the term end.
    RosterStartsAfterTerm,
    /// Seed: roster end date before the term start.
    RosterEndsBeforeTerm,
    /// Seed "Staff Section Association": no Ed-Fi ID.
    NoStaffId,
    /// Role not mapped, or `XX` Not State Reported.
    NoClassroomPosition,
    /// Assignment ends before the section starts.
    AssignmentEndsBeforeSection,
    /// "Do not report a record if there are 0 students rostered into the section."
    NoStudentsRostered,
    /// Its parent record is not sent (or was rejected).
    ParentNotSent(Resource),
}

/// A row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub resource: Resource,
    /// The row as messages name it.
    pub row: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub school_id: i64,
    pub classroom_identification_code: String,
    pub maximum_number_of_seats: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassPeriod {
    pub school_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradingPeriod {
    pub school_id: i64,
    pub school_year: i32,
    pub descriptor: String,
    /// Data Standard 5's `gradingPeriodName` (the row's name, else its descriptor).
    pub name: String,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
    pub total_instructional_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub name: String,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
    pub total_instructional_days: i64,
    /// Indexes into [`Plan::grading_periods`].
    pub grading_periods: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CourseOffering {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub session_name: String,
    pub local_course_code: String,
    pub local_course_title: Option<String>,
    pub course_code: String,
    pub course_education_organization_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub id: SectionId,
    pub session_name: String,
    pub sequence_of_course: i64,
    /// Class period names, sorted (v2 sends one record per class period).
    pub class_periods: Vec<String>,
    pub location: String,
    pub medium_of_instruction: Option<String>,
    pub section_name: Option<String>,
    /// The session's dates (rosters and staff assignments are bounded by them).
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Student {
    pub student_unique_id: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_surname: String,
    pub generation_code_suffix: Option<String>,
    /// `Female`, `Male` or `Not Selected`.
    pub sex: &'static str,
    pub birth_date: NaiveDate,
    pub hispanic_latino_ethnicity: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    pub student_unique_id: String,
    pub school_id: i64,
    pub entry_date: NaiveDate,
    pub entry_grade_level: String,
    pub entry_type: Option<String>,
    pub exit_withdraw_date: Option<NaiveDate>,
    pub exit_withdraw_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SectionAssociation {
    /// The student's or staff member's unique id.
    pub person: String,
    /// Index into [`Plan::sections`].
    pub section: usize,
    /// Staff only: the classroom position descriptor code.
    pub classroom_position: Option<String>,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// What should be in the ODS for one scope year, standard-neutral.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub locations: Vec<Location>,
    pub class_periods: Vec<ClassPeriod>,
    pub grading_periods: Vec<GradingPeriod>,
    pub sessions: Vec<Session>,
    pub course_offerings: Vec<CourseOffering>,
    pub sections: Vec<Section>,
    pub students: Vec<Student>,
    pub enrollments: Vec<Enrollment>,
    pub rosters: Vec<SectionAssociation>,
    pub staff: Vec<SectionAssociation>,
    pub skipped: Vec<Skip>,
    pub rejected: Vec<EdfiError>,
}

/// Seed "Class Periods": `PeriodSchedule.name + " " + Period.name + " " + structureID`, at most
/// 20 characters. Longer is an error naming the row: the seed has the district abbreviate the
/// names in the SIS, and cutting them could merge two periods into one record.
pub fn class_period_name(
    period_schedule: &str,
    period: &str,
    structure_id: &str,
    row: &str,
) -> Result<String, EdfiError> {
    let name = format!("{period_schedule} {period} {structure_id}");
    let length = name.chars().count();
    if length > CLASS_PERIOD_NAME_MAX {
        return Err(EdfiError::ClassPeriodNameTooLong {
            relation: source::CLASS_PERIODS,
            key: row.to_owned(),
            name,
            length,
        });
    }
    Ok(name)
}

/// Seed "Sessions": the session's name is `Schedule Structure + " - " + Term Name`.
pub fn session_name(structure_name: &str, term_name: &str) -> String {
    format!("{structure_name} - {term_name}")
}

/// Whether a scope year is future data: after the Active Year.
pub fn is_future(rules: &Rules) -> bool {
    rules.school_year > rules.active_year
}

/// The exclusion that keeps a calendar-scoped row of `school_id` out, if any (School Exclude,
/// then Calendar Exclude, then Summer School).
pub fn calendar_exclusion(rules: &Rules, school_id: i64, calendar: &Calendar) -> Option<Reason> {
    if rules.exclude_schools.contains(&school_id) {
        Some(Reason::SchoolExcluded)
    } else if calendar.exclude
        || calendar
            .name
            .as_ref()
            .is_some_and(|n| rules.exclude_calendars.iter().any(|c| c == n))
    {
        Some(Reason::CalendarExcluded)
    } else if calendar.summer_school {
        Some(Reason::SummerSchool)
    } else {
        None
    }
}

/// Seed "Student School Association" and "No Show/Excludes": why an enrollment is not
/// reportable, if it is not.
pub fn enrollment_exclusion(rules: &Rules, row: &EnrollmentRow) -> Option<Reason> {
    if let Some(reason) = calendar_exclusion(rules, row.school_id, &row.calendar) {
        Some(reason)
    } else if row.no_show {
        Some(Reason::NoShow)
    } else if row.state_exclude {
        Some(Reason::StateExclude)
    } else if row.wise_exclude {
        Some(Reason::WiseExclude)
    } else if row.service_type.eq_ignore_ascii_case("S") {
        Some(Reason::PartialService)
    } else {
        None
    }
}

/// Seed "Student School Association": of enrollments with the same school and start date, the
/// Primary (P) one wins over Special Ed (N). Lower rank wins.
pub fn service_rank(service_type: &str) -> u8 {
    match service_type.to_ascii_uppercase().as_str() {
        "P" => 0,
        "N" => 1,
        _ => 2,
    }
}

/// Seed "Student School Association": exit withdraw codes pass through except `CCS`, sent as
/// `TC`.
pub fn exit_withdraw_type(code: Option<&str>) -> Option<String> {
    code.map(|c| {
        if c == "CCS" {
            "TC".to_owned()
        } else {
            c.to_owned()
        }
    })
}

/// Seed "Student": legal names first; the common names only when legal first and last are both
/// blank. Legal names set with a blank legal middle name or suffix send a blank (not the common
/// one). Returns first, middle, last, suffix.
pub fn student_names(
    row: &StudentRow,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    if row.legal_first_name.is_none() && row.legal_last_surname.is_none() {
        (
            row.first_name.clone(),
            row.middle_name.clone(),
            row.last_surname.clone(),
            row.generation_code_suffix.clone(),
        )
    } else {
        (
            row.legal_first_name
                .clone()
                .or_else(|| row.first_name.clone()),
            row.legal_middle_name.clone(),
            row.legal_last_surname
                .clone()
                .or_else(|| row.last_surname.clone()),
            row.legal_generation_code_suffix.clone(),
        )
    }
}

/// Seed "Student" sexType: legal gender first; F → Female, M → Male, anything else (or none) →
/// Not Selected.
pub fn student_sex(row: &StudentRow) -> &'static str {
    match row
        .legal_sex
        .as_deref()
        .or(row.sex.as_deref())
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("F") => "Female",
        Some("M") => "Male",
        _ => "Not Selected",
    }
}

/// Seed "Student Section Association" beginDate: the latest of the enrollment start, the roster
/// start (the term start when NULL) and the term start.
pub fn roster_begin(
    entry: NaiveDate,
    roster: Option<NaiveDate>,
    term_begin: NaiveDate,
) -> NaiveDate {
    entry.max(roster.unwrap_or(term_begin)).max(term_begin)
}

/// Seed "Staff Section Association": the assignment start, raised to the term start when before
/// it (or NULL); the end, the term end when NULL.
pub fn staff_dates(
    begin: Option<NaiveDate>,
    end: Option<NaiveDate>,
    term_begin: NaiveDate,
    term_end: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    (
        begin.unwrap_or(term_begin).max(term_begin),
        end.unwrap_or(term_end),
    )
}

/// Applies every rule to `source` for the scope year of `rules`.
pub fn plan(source: &Source, rules: &Rules) -> Plan {
    let mut plan = Plan::default();
    if is_future(rules) {
        plan.skipped.push(Skip {
            resource: Resource::Locations,
            row: format!(
                "scope year {} (Active Year {})",
                rules.school_year, rules.active_year
            ),
            reason: Reason::FutureYear,
        });
        return plan;
    }
    let year = rules.school_year;
    let source_class_periods = source
        .class_periods
        .iter()
        .filter(|r| r.school_year == year)
        .map(|r| {
            (
                r.school_id,
                r.period_schedule.clone(),
                r.period.clone(),
                r.structure_id.clone(),
            )
        })
        .collect();
    let mut p = Planner {
        rules,
        plan,
        source_class_periods,
        sections_by_id: None,
    };
    p.locations(source);
    p.class_periods(source, year);
    p.grading_periods(source, year);
    p.sessions(source, year);
    p.course_offerings(source, year);
    p.sections(source, year);
    p.enrollments_and_students(source, year);
    p.rosters(source, year);
    p.staff(source, year);
    p.plan
}

struct Planner<'a> {
    rules: &'a Rules,
    plan: Plan,
    /// (school, period schedule, period, structure) of every class period row of the year.
    source_class_periods: HashSet<(i64, String, String, String)>,
    /// Where each sent section is in `plan.sections`, and every section the SIS has: built once
    /// the sections are planned, so finding a roster's section is a lookup, not a scan (a
    /// district has hundreds of thousands of rosters).
    sections_by_id: Option<(HashMap<SectionId, usize>, HashSet<SectionId>)>,
}

impl Planner<'_> {
    fn skip(&mut self, resource: Resource, row: String, reason: Reason) {
        self.plan.skipped.push(Skip {
            resource,
            row,
            reason,
        });
    }

    fn locations(&mut self, source: &Source) {
        let mut seen = HashSet::new();
        for row in &source.locations {
            let name = format!(
                "(school_id={}, classroom_identification_code={:?})",
                row.school_id, row.classroom_identification_code
            );
            if self.rules.exclude_schools.contains(&row.school_id) {
                self.skip(Resource::Locations, name, Reason::SchoolExcluded);
                continue;
            }
            if !seen.insert((row.school_id, row.classroom_identification_code.clone())) {
                self.plan.rejected.push(EdfiError::DuplicateKey {
                    resource: Resource::Locations,
                    key: name,
                });
                continue;
            }
            self.plan.locations.push(Location {
                school_id: row.school_id,
                classroom_identification_code: row.classroom_identification_code.clone(),
                maximum_number_of_seats: row.maximum_number_of_seats,
            });
        }
    }

    fn class_periods(&mut self, source: &Source, year: i32) {
        let mut seen = HashSet::new();
        for row in source
            .class_periods
            .iter()
            .filter(|r| r.school_year == year)
        {
            let name = format!(
                "(school_id={}, school_year={}, period_schedule={:?}, period={:?}, structure_id={:?})",
                row.school_id, row.school_year, row.period_schedule, row.period, row.structure_id
            );
            if let Some(reason) = calendar_exclusion(self.rules, row.school_id, &row.calendar) {
                self.skip(Resource::ClassPeriods, name, reason);
                continue;
            }
            match class_period_name(&row.period_schedule, &row.period, &row.structure_id, &name) {
                Ok(cp) => {
                    if seen.insert((row.school_id, cp.clone())) {
                        self.plan.class_periods.push(ClassPeriod {
                            school_id: row.school_id,
                            name: cp,
                        });
                    }
                }
                Err(e) => self.plan.rejected.push(e),
            }
        }
    }

    fn grading_periods(&mut self, source: &Source, year: i32) {
        for row in source
            .grading_periods
            .iter()
            .filter(|r| r.school_year == year)
        {
            let name = format!(
                "(school_id={}, school_year={}, descriptor={:?}, begin_date={})",
                row.school_id, row.school_year, row.descriptor, row.begin_date
            );
            if let Some(reason) = calendar_exclusion(self.rules, row.school_id, &row.calendar) {
                self.skip(Resource::GradingPeriods, name, reason);
                continue;
            }
            let gp = GradingPeriod {
                school_id: row.school_id,
                school_year: row.school_year,
                descriptor: row.descriptor.clone(),
                name: row.name.clone().unwrap_or_else(|| row.descriptor.clone()),
                begin_date: row.begin_date,
                end_date: row.end_date,
                total_instructional_days: row.total_instructional_days,
            };
            // The same grading period from several calendars of a school is one record.
            if !self.plan.grading_periods.contains(&gp) {
                self.plan.grading_periods.push(gp);
            }
        }
    }

    fn sessions(&mut self, source: &Source, year: i32) {
        // Seed "Sessions": one record per school and term descriptor, earliest start, latest end.
        let mut groups: BTreeMap<(i64, String), Vec<&SessionRow>> = BTreeMap::new();
        for row in source.sessions.iter().filter(|r| r.school_year == year) {
            let name = format!(
                "(school_id={}, school_year={}, term_descriptor={:?}, structure_name={:?}, term_name={:?})",
                row.school_id,
                row.school_year,
                row.term_descriptor,
                row.structure_name,
                row.term_name
            );
            if let Some(reason) = calendar_exclusion(self.rules, row.school_id, &row.calendar) {
                self.skip(Resource::Sessions, name, reason);
                continue;
            }
            groups
                .entry((row.school_id, row.term_descriptor.clone()))
                .or_default()
                .push(row);
        }
        for ((school_id, term), rows) in groups {
            let Some(first) = rows
                .iter()
                .min_by_key(|r| (r.begin_date, session_name(&r.structure_name, &r.term_name)))
            else {
                continue;
            };
            let begin_date = first.begin_date;
            let end_date = rows
                .iter()
                .map(|r| r.end_date)
                .max()
                .unwrap_or(first.end_date);
            let grading_periods: Vec<usize> = self
                .plan
                .grading_periods
                .iter()
                .enumerate()
                .filter(|(_, gp)| {
                    gp.school_id == school_id
                        && gp.begin_date <= end_date
                        && gp.end_date >= begin_date
                })
                .map(|(i, _)| i)
                .collect();
            let key =
                format!("(school_id={school_id}, school_year={year}, term_descriptor={term:?})");
            if grading_periods.is_empty() {
                self.plan
                    .rejected
                    .push(EdfiError::SessionWithoutGradingPeriod {
                        key,
                        begin: begin_date.to_string(),
                        end: end_date.to_string(),
                    });
                continue;
            }
            self.plan.sessions.push(Session {
                school_id,
                school_year: year,
                term_descriptor: term,
                name: session_name(&first.structure_name, &first.term_name),
                begin_date,
                end_date,
                total_instructional_days: rows
                    .iter()
                    .map(|r| r.total_instructional_days)
                    .max()
                    .unwrap_or(0),
                grading_periods,
            });
        }
    }

    /// The sent session of a school and term, or why there is none.
    fn session(
        &self,
        source: &Source,
        school_id: i64,
        year: i32,
        term: &str,
    ) -> Result<usize, bool> {
        match self
            .plan
            .sessions
            .iter()
            .position(|s| s.school_id == school_id && s.term_descriptor == term)
        {
            Some(i) => Ok(i),
            // Err(true): the SIS has the term but it is not sent; Err(false): no such term.
            None => Err(source.sessions.iter().any(|r| {
                r.school_id == school_id && r.school_year == year && r.term_descriptor == term
            })),
        }
    }

    fn course_offerings(&mut self, source: &Source, year: i32) {
        let mut seen: HashMap<(i64, String, String), usize> = HashMap::new();
        for row in source
            .course_offerings
            .iter()
            .filter(|r| r.school_year == year)
        {
            let name = format!(
                "(school_id={}, school_year={}, term_descriptor={:?}, local_course_code={:?})",
                row.school_id, row.school_year, row.term_descriptor, row.local_course_code
            );
            let reason = calendar_exclusion(self.rules, row.school_id, &row.calendar).or(
                if row.course_inactive {
                    Some(Reason::CourseInactive)
                } else if row.course_state_exclude {
                    Some(Reason::CourseStateExclude)
                } else if row.state_course_code.is_none() {
                    Some(Reason::NoStateCourseCode)
                } else {
                    None
                },
            );
            if let Some(reason) = reason {
                self.skip(Resource::CourseOfferings, name, reason);
                continue;
            }
            let session = match self.session(source, row.school_id, year, &row.term_descriptor) {
                Ok(i) => i,
                Err(true) => {
                    self.skip(
                        Resource::CourseOfferings,
                        name,
                        Reason::ParentNotSent(Resource::Sessions),
                    );
                    continue;
                }
                Err(false) => {
                    self.plan.rejected.push(EdfiError::MissingParent {
                        relation: source::COURSE_OFFERINGS,
                        key: name,
                        parent: Resource::Sessions,
                        parent_key: format!(
                            "(school_id={}, school_year={year}, term_descriptor={:?})",
                            row.school_id, row.term_descriptor
                        ),
                    });
                    continue;
                }
            };
            let offering = CourseOffering {
                school_id: row.school_id,
                school_year: year,
                term_descriptor: row.term_descriptor.clone(),
                session_name: self.plan.sessions[session].name.clone(),
                local_course_code: row.local_course_code.clone(),
                local_course_title: row.local_course_title.clone(),
                course_code: row.state_course_code.clone().unwrap_or_default(),
                course_education_organization_id: self.rules.course_education_organization_id,
            };
            let key = (
                row.school_id,
                row.term_descriptor.clone(),
                row.local_course_code.clone(),
            );
            match seen.get(&key) {
                None => {
                    seen.insert(key, self.plan.course_offerings.len());
                    self.plan.course_offerings.push(offering);
                }
                Some(&i) if self.plan.course_offerings[i] == offering => {}
                Some(&i) => {
                    let (first, second) = if self.plan.course_offerings[i].course_code
                        != offering.course_code
                    {
                        (
                            "state_course_code",
                            (
                                self.plan.course_offerings[i].course_code.clone(),
                                offering.course_code,
                            ),
                        )
                    } else {
                        (
                            "local_course_title",
                            (
                                format!("{:?}", self.plan.course_offerings[i].local_course_title),
                                format!("{:?}", offering.local_course_title),
                            ),
                        )
                    };
                    self.plan.rejected.push(EdfiError::Conflict {
                        relation: source::COURSE_OFFERINGS,
                        key: name,
                        column: first,
                        first: second.0,
                        second: second.1,
                    });
                }
            }
        }
    }

    fn sections(&mut self, source: &Source, year: i32) {
        let mut groups: BTreeMap<SectionId, Vec<&source::SectionRow>> = BTreeMap::new();
        for row in source.sections.iter().filter(|r| r.school_year == year) {
            let id = SectionId {
                school_id: row.school_id,
                school_year: row.school_year,
                term_descriptor: row.term_descriptor.clone(),
                local_course_code: row.local_course_code.clone(),
                section_id: row.section_id.clone(),
            };
            if let Some(reason) = calendar_exclusion(self.rules, row.school_id, &row.calendar) {
                self.skip(Resource::Sections, id.to_string(), reason);
                continue;
            }
            groups.entry(id).or_default().push(row);
        }
        let sent_locations: HashSet<(i64, String)> = self
            .plan
            .locations
            .iter()
            .map(|l| (l.school_id, l.classroom_identification_code.clone()))
            .collect();
        // Lookups, not scans: a district has thousands of sections and offerings.
        let mut offerings: HashMap<(i64, String, String), usize> = HashMap::new();
        for (i, o) in self.plan.course_offerings.iter().enumerate() {
            offerings
                .entry((
                    o.school_id,
                    o.term_descriptor.clone(),
                    o.local_course_code.clone(),
                ))
                .or_insert(i);
        }
        let source_offerings: HashSet<(i64, i32, &str, &str)> = source
            .course_offerings
            .iter()
            .map(|o| {
                (
                    o.school_id,
                    o.school_year,
                    o.term_descriptor.as_str(),
                    o.local_course_code.as_str(),
                )
            })
            .collect();
        let mut session_dates: HashMap<(i64, String), (NaiveDate, NaiveDate)> = HashMap::new();
        for s in &self.plan.sessions {
            session_dates
                .entry((s.school_id, s.term_descriptor.clone()))
                .or_insert((s.begin_date, s.end_date));
        }
        let mut unknown_rooms: HashSet<i64> = self
            .plan
            .locations
            .iter()
            .filter(|l| l.classroom_identification_code == UNKNOWN_LOCATION)
            .map(|l| l.school_id)
            .collect();
        for (id, rows) in groups {
            let name = id.to_string();
            let Some(&offering) = offerings.get(&(
                id.school_id,
                id.term_descriptor.clone(),
                id.local_course_code.clone(),
            )) else {
                let known = source_offerings.contains(&(
                    id.school_id,
                    id.school_year,
                    id.term_descriptor.as_str(),
                    id.local_course_code.as_str(),
                ));
                if known {
                    self.skip(
                        Resource::Sections,
                        name,
                        Reason::ParentNotSent(Resource::CourseOfferings),
                    );
                } else {
                    self.plan.rejected.push(EdfiError::MissingParent {
                        relation: source::SECTIONS,
                        key: name,
                        parent: Resource::CourseOfferings,
                        parent_key: format!(
                            "(school_id={}, term_descriptor={:?}, local_course_code={:?})",
                            id.school_id, id.term_descriptor, id.local_course_code
                        ),
                    });
                }
                continue;
            };
            match self.section(&id, &rows, &sent_locations) {
                Ok(mut section) => {
                    section.session_name =
                        self.plan.course_offerings[offering].session_name.clone();
                    if let Some((begin, end)) =
                        session_dates.get(&(id.school_id, id.term_descriptor.clone()))
                    {
                        section.begin_date = *begin;
                        section.end_date = *end;
                    }
                    if section.location == UNKNOWN_LOCATION && unknown_rooms.insert(id.school_id) {
                        // Seed "Section": post the school's "unknown" location if missing.
                        self.plan.locations.push(Location {
                            school_id: id.school_id,
                            classroom_identification_code: UNKNOWN_LOCATION.to_owned(),
                            maximum_number_of_seats: None,
                        });
                    }
                    self.plan.sections.push(section);
                }
                Err(Some(e)) => self.plan.rejected.push(e),
                Err(None) => self.skip(
                    Resource::Sections,
                    name,
                    Reason::ParentNotSent(Resource::ClassPeriods),
                ),
            }
        }
    }

    /// One section from its rows (one per class period); `Err(None)` when a class period is not
    /// sent.
    fn section(
        &self,
        id: &SectionId,
        rows: &[&source::SectionRow],
        sent_locations: &HashSet<(i64, String)>,
    ) -> Result<Section, Option<EdfiError>> {
        let name = id.to_string();
        let first = rows.first().ok_or(None)?;
        let mut class_periods = BTreeSet::new();
        for row in rows {
            let cp = class_period_name(&row.period_schedule, &row.period, &row.structure_id, &name)
                .map_err(|e| match e {
                    EdfiError::ClassPeriodNameTooLong {
                        key, name, length, ..
                    } => EdfiError::ClassPeriodNameTooLong {
                        relation: source::SECTIONS,
                        key,
                        name,
                        length,
                    },
                    other => other,
                })
                .map_err(Some)?;
            if !self
                .plan
                .class_periods
                .iter()
                .any(|c| c.school_id == id.school_id && c.name == cp)
            {
                let known = self.class_period_known(id, row);
                return Err(if known {
                    None
                } else {
                    Some(EdfiError::MissingParent {
                        relation: source::SECTIONS,
                        key: name,
                        parent: Resource::ClassPeriods,
                        parent_key: format!("(school_id={}, name={cp:?})", id.school_id),
                    })
                });
            }
            class_periods.insert(cp);
            for (column, a, b) in [
                ("room", &first.room, &row.room),
                (
                    "medium_of_instruction",
                    &first.medium_of_instruction,
                    &row.medium_of_instruction,
                ),
                ("section_name", &first.section_name, &row.section_name),
            ] {
                if a != b {
                    return Err(Some(EdfiError::Conflict {
                        relation: source::SECTIONS,
                        key: name,
                        column,
                        first: format!("{a:?}"),
                        second: format!("{b:?}"),
                    }));
                }
            }
            if first.sequence_of_course != row.sequence_of_course {
                return Err(Some(EdfiError::Conflict {
                    relation: source::SECTIONS,
                    key: name,
                    column: "sequence_of_course",
                    first: format!("{:?}", first.sequence_of_course),
                    second: format!("{:?}", row.sequence_of_course),
                }));
            }
        }
        let location = match &first.room {
            None => UNKNOWN_LOCATION.to_owned(),
            Some(room) => {
                if !sent_locations.contains(&(id.school_id, room.clone())) {
                    return Err(Some(EdfiError::MissingParent {
                        relation: source::SECTIONS,
                        key: name,
                        parent: Resource::Locations,
                        parent_key: format!(
                            "(school_id={}, classroom_identification_code={room:?})",
                            id.school_id
                        ),
                    }));
                }
                room.clone()
            }
        };
        Ok(Section {
            id: id.clone(),
            session_name: String::new(),
            // Seed "Section": "If null, reports 1."
            sequence_of_course: first.sequence_of_course.unwrap_or(1),
            class_periods: class_periods.into_iter().collect(),
            location,
            medium_of_instruction: first.medium_of_instruction.clone(),
            section_name: first.section_name.clone(),
            begin_date: NaiveDate::MIN,
            end_date: NaiveDate::MAX,
        })
    }

    /// Whether the SIS has the class period of a section row (then it was excluded or
    /// rejected, not missing).
    fn class_period_known(&self, id: &SectionId, row: &source::SectionRow) -> bool {
        self.source_class_periods.contains(&(
            id.school_id,
            row.period_schedule.clone(),
            row.period.clone(),
            row.structure_id.clone(),
        ))
    }

    fn enrollments_and_students(&mut self, source: &Source, year: i32) {
        let mut best: BTreeMap<(String, i64, NaiveDate), &EnrollmentRow> = BTreeMap::new();
        let mut with_rows: HashSet<&str> = HashSet::new();
        for row in source.enrollments.iter().filter(|r| r.school_year == year) {
            with_rows.insert(&row.student_unique_id);
            let name = format!(
                "(student_unique_id={:?}, school_id={}, entry_date={})",
                row.student_unique_id, row.school_id, row.entry_date
            );
            if let Some(reason) = enrollment_exclusion(self.rules, row) {
                self.skip(Resource::StudentSchoolAssociations, name, reason);
                continue;
            }
            let key = (row.student_unique_id.clone(), row.school_id, row.entry_date);
            match best.get(&key) {
                Some(kept)
                    if service_rank(&kept.service_type) <= service_rank(&row.service_type) =>
                {
                    self.skip(
                        Resource::StudentSchoolAssociations,
                        name,
                        Reason::LowerPriorityEnrollment,
                    );
                }
                Some(_) => {
                    self.skip(
                        Resource::StudentSchoolAssociations,
                        name.clone(),
                        Reason::LowerPriorityEnrollment,
                    );
                    best.insert(key, row);
                }
                None => {
                    best.insert(key, row);
                }
            }
        }
        let students: HashMap<&str, &StudentRow> = source
            .students
            .iter()
            .map(|s| (s.student_unique_id.as_str(), s))
            .collect();
        let mut reportable: BTreeSet<String> = BTreeSet::new();
        for ((student, school_id, entry_date), row) in &best {
            if !students.contains_key(student.as_str()) {
                self.plan.rejected.push(EdfiError::MissingParent {
                    relation: source::STUDENT_SCHOOL_ASSOCIATIONS,
                    key: format!(
                        "(student_unique_id={student:?}, school_id={school_id}, entry_date={entry_date})"
                    ),
                    parent: Resource::Students,
                    parent_key: format!("(student_unique_id={student:?})"),
                });
                continue;
            }
            reportable.insert(student.clone());
            self.plan.enrollments.push(Enrollment {
                student_unique_id: student.clone(),
                school_id: *school_id,
                entry_date: *entry_date,
                entry_grade_level: row.entry_grade_level.clone(),
                entry_type: row.entry_type.clone(),
                exit_withdraw_date: row.exit_withdraw_date,
                exit_withdraw_type: exit_withdraw_type(row.exit_withdraw_type.as_deref()),
            });
        }
        let mut sent_ids: HashSet<String> = HashSet::new();
        for row in &source.students {
            if !reportable.contains(&row.student_unique_id) {
                if with_rows.contains(row.student_unique_id.as_str()) {
                    self.skip(
                        Resource::Students,
                        format!("(student_unique_id={:?})", row.student_unique_id),
                        Reason::NoReportableEnrollment,
                    );
                }
                continue;
            }
            let (first, middle, last, suffix) = student_names(row);
            let name = format!("(student_unique_id={:?})", row.student_unique_id);
            let (Some(first_name), Some(last_surname)) = (first, last) else {
                self.plan.rejected.push(EdfiError::Malformed {
                    relation: source::STUDENTS,
                    key: name,
                    column: "first_name",
                    value: "NULL".into(),
                    expected: "a first and last name (legal or common)",
                });
                continue;
            };
            if !sent_ids.insert(row.student_unique_id.clone()) {
                self.plan.rejected.push(EdfiError::DuplicateKey {
                    resource: Resource::Students,
                    key: name,
                });
                continue;
            }
            self.plan.students.push(Student {
                student_unique_id: row.student_unique_id.clone(),
                first_name,
                middle_name: middle,
                last_surname,
                generation_code_suffix: suffix,
                sex: student_sex(row),
                birth_date: row.birth_date,
                hispanic_latino_ethnicity: row.hispanic_latino_ethnicity,
            });
        }
        let sent: HashSet<&str> = self
            .plan
            .students
            .iter()
            .map(|s| s.student_unique_id.as_str())
            .collect();
        let before = self.plan.enrollments.len();
        let mut dropped = Vec::new();
        self.plan.enrollments.retain(|e| {
            let keep = sent.contains(e.student_unique_id.as_str());
            if !keep {
                dropped.push(format!(
                    "(student_unique_id={:?}, school_id={}, entry_date={})",
                    e.student_unique_id, e.school_id, e.entry_date
                ));
            }
            keep
        });
        debug_assert!(self.plan.enrollments.len() + dropped.len() == before);
        for row in dropped {
            self.skip(
                Resource::StudentSchoolAssociations,
                row,
                Reason::ParentNotSent(Resource::Students),
            );
        }
    }

    /// The sent section of a roster or staff row, or why not.
    fn find_section(
        &mut self,
        source: &Source,
        resource: Resource,
        relation: &'static str,
        id: &SectionId,
        name: &str,
    ) -> Option<usize> {
        let (sent, all) = self.sections_by_id.get_or_insert_with(|| {
            let mut sent = HashMap::new();
            for (i, s) in self.plan.sections.iter().enumerate() {
                sent.entry(s.id.clone()).or_insert(i);
            }
            let all = source
                .sections
                .iter()
                .map(|s| SectionId {
                    school_id: s.school_id,
                    school_year: s.school_year,
                    term_descriptor: s.term_descriptor.clone(),
                    local_course_code: s.local_course_code.clone(),
                    section_id: s.section_id.clone(),
                })
                .collect();
            (sent, all)
        });
        if let Some(&i) = sent.get(id) {
            return Some(i);
        }
        let known = all.contains(id);
        if known {
            self.skip(
                resource,
                name.to_owned(),
                Reason::ParentNotSent(Resource::Sections),
            );
        } else {
            self.plan.rejected.push(EdfiError::MissingParent {
                relation,
                key: name.to_owned(),
                parent: Resource::Sections,
                parent_key: id.to_string(),
            });
        }
        None
    }

    fn rosters(&mut self, source: &Source, year: i32) {
        let mut seen = HashSet::new();
        // Each student's enrollment dates per school, once, instead of a scan per roster.
        let mut entries: HashMap<(String, i64), Vec<NaiveDate>> = HashMap::new();
        for e in &self.plan.enrollments {
            entries
                .entry((e.student_unique_id.clone(), e.school_id))
                .or_default()
                .push(e.entry_date);
        }
        for row in source
            .rosters
            .iter()
            .filter(|r| r.section.school_year == year)
        {
            let name = format!(
                "(student_unique_id={:?}, section={})",
                row.student_unique_id, row.section
            );
            let Some(section) = self.find_section(
                source,
                Resource::StudentSectionAssociations,
                source::STUDENT_SECTION_ASSOCIATIONS,
                &row.section,
                &name,
            ) else {
                continue;
            };
            let (term_begin, term_end) = {
                let s = &self.plan.sections[section];
                (s.begin_date, s.end_date)
            };
            // Seed: only with a reportable enrollment in the section's school.
            let enrollments: Vec<NaiveDate> = entries
                .get(&(row.student_unique_id.clone(), row.section.school_id))
                .into_iter()
                .flatten()
                .copied()
                .filter(|d| row.entry_date.is_none_or(|r| r == *d))
                .collect();
            let reference = row.begin_date.unwrap_or(term_begin).max(term_begin);
            let entry = enrollments
                .iter()
                .filter(|d| **d <= reference)
                .max()
                .or_else(|| enrollments.iter().min())
                .copied();
            let Some(entry) = entry else {
                self.skip(
                    Resource::StudentSectionAssociations,
                    name,
                    Reason::NoReportableEnrollment,
                );
                continue;
            };
            if row.begin_date.is_some_and(|b| b > term_end) {
                self.skip(
                    Resource::StudentSectionAssociations,
                    name,
                    Reason::RosterStartsAfterTerm,
                );
                continue;
            }
            if row.end_date.is_some_and(|e| e < term_begin) {
                self.skip(
                    Resource::StudentSectionAssociations,
                    name,
                    Reason::RosterEndsBeforeTerm,
                );
                continue;
            }
            let begin_date = roster_begin(entry, row.begin_date, term_begin);
            let end_date = row.end_date.unwrap_or(term_end);
            if !seen.insert((row.student_unique_id.clone(), section, begin_date)) {
                continue;
            }
            self.plan.rosters.push(SectionAssociation {
                person: row.student_unique_id.clone(),
                section,
                classroom_position: None,
                begin_date,
                end_date,
            });
        }
    }

    fn staff(&mut self, source: &Source, year: i32) {
        let rostered: HashSet<usize> = self.plan.rosters.iter().map(|r| r.section).collect();
        for row in source
            .staff_assignments
            .iter()
            .filter(|r| r.section.school_year == year)
        {
            let name = format!(
                "(staff_unique_id={:?}, section={})",
                row.staff_unique_id, row.section
            );
            let Some(section) = self.find_section(
                source,
                Resource::StaffSectionAssociations,
                source::STAFF_SECTION_ASSOCIATIONS,
                &row.section,
                &name,
            ) else {
                continue;
            };
            let Some(staff) = row.staff_unique_id.clone() else {
                self.skip(Resource::StaffSectionAssociations, name, Reason::NoStaffId);
                continue;
            };
            let Some(position) = row
                .classroom_position
                .clone()
                .filter(|p| !p.eq_ignore_ascii_case(NOT_STATE_REPORTED))
            else {
                self.skip(
                    Resource::StaffSectionAssociations,
                    name,
                    Reason::NoClassroomPosition,
                );
                continue;
            };
            let (term_begin, term_end) = {
                let s = &self.plan.sections[section];
                (s.begin_date, s.end_date)
            };
            if row.end_date.is_some_and(|e| e < term_begin) {
                self.skip(
                    Resource::StaffSectionAssociations,
                    name,
                    Reason::AssignmentEndsBeforeSection,
                );
                continue;
            }
            if !rostered.contains(&section) {
                self.skip(
                    Resource::StaffSectionAssociations,
                    name,
                    Reason::NoStudentsRostered,
                );
                continue;
            }
            let (begin_date, end_date) =
                staff_dates(row.begin_date, row.end_date, term_begin, term_end);
            self.plan.staff.push(SectionAssociation {
                person: staff,
                section,
                classroom_position: Some(position),
                begin_date,
                end_date,
            });
        }
    }
}

#[cfg(test)]
mod tests;
