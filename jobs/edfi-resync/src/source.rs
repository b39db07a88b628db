//! Reading the district's SIS: one relation per Ed-Fi resource, tables or views a district maps
//! its student information system onto, turned into typed rows.
//!
//! The job never knows a vendor's schema; it reads this contract (shipped as
//! `fixtures/source-sqlite.sql` and `fixtures/source-postgres.sql`, every column documented in
//! `docs/README.md`): [`LOCATIONS`], [`CLASS_PERIODS`], [`GRADING_PERIODS`], [`SESSIONS`],
//! [`COURSE_OFFERINGS`], [`SECTIONS`], [`STUDENTS`], [`STUDENT_SCHOOL_ASSOCIATIONS`],
//! [`STUDENT_SECTION_ASSOCIATIONS`] and [`STAFF_SECTION_ASSOCIATIONS`]. All are read in one
//! transaction that is rolled back, so the job never changes the SIS.
//!
//! Reading is strict where guessing would send the state wrong data: a value that does not parse
//! or a NULL where the seed needs a value is an error naming the relation, the row's key, the
//! column and the value. Text is trimmed and an empty text is NULL; dates are `DATE` (ISO text
//! in SQLite); flags are booleans (`0`/`1` in SQLite; `true`/`false`, `Y`/`N` text also read);
//! NULL flags are false. Which rows are sent is [`crate::transform`]'s business, not this
//! module's.

use chrono::NaiveDate;
use ferry_sis::{Sis, Tx, Value};

use crate::error::EdfiError;

pub const LOCATIONS: &str = "edfi_locations";
pub const CLASS_PERIODS: &str = "edfi_class_periods";
pub const GRADING_PERIODS: &str = "edfi_grading_periods";
pub const SESSIONS: &str = "edfi_sessions";
pub const COURSE_OFFERINGS: &str = "edfi_course_offerings";
pub const SECTIONS: &str = "edfi_sections";
pub const STUDENTS: &str = "edfi_students";
pub const STUDENT_SCHOOL_ASSOCIATIONS: &str = "edfi_student_school_associations";
pub const STUDENT_SECTION_ASSOCIATIONS: &str = "edfi_student_section_associations";
pub const STAFF_SECTION_ASSOCIATIONS: &str = "edfi_staff_section_associations";

/// The calendar a year-scoped row comes from, with the seed's calendar checkboxes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    /// The calendar's name (matched against the `exclude_calendars` setting).
    pub name: Option<String>,
    /// Seed: "Data in calendars marked as Exclude will not send data to Ed-Fi."
    pub exclude: bool,
    /// Seed: "Records are not sent if the Calendar is marked Summer School."
    pub summer_school: bool,
}

/// `edfi_locations`: one row per room (rooms have no year; seed "Locations").
#[derive(Debug, Clone, PartialEq)]
pub struct LocationRow {
    pub school_id: i64,
    pub classroom_identification_code: String,
    pub maximum_number_of_seats: Option<i64>,
}

/// `edfi_class_periods`: one row per Period Schedule × Period × Schedule Structure.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPeriodRow {
    pub school_id: i64,
    pub school_year: i32,
    pub period_schedule: String,
    pub period: String,
    pub structure_id: String,
    pub calendar: Calendar,
}

/// `edfi_grading_periods`: one row per Ed-Fi grading period of a calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct GradingPeriodRow {
    pub school_id: i64,
    pub school_year: i32,
    pub descriptor: String,
    pub name: Option<String>,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
    pub total_instructional_days: Option<i64>,
    pub calendar: Calendar,
}

/// `edfi_sessions`: one row per term of a calendar and schedule structure (grouped by term
/// descriptor into one session by [`crate::transform`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub structure_name: String,
    pub term_name: String,
    pub begin_date: NaiveDate,
    pub end_date: NaiveDate,
    pub total_instructional_days: i64,
    pub calendar: Calendar,
}

/// `edfi_course_offerings`: one row per course × term descriptor with a section placement.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseOfferingRow {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub local_course_code: String,
    pub local_course_title: Option<String>,
    pub state_course_code: Option<String>,
    pub course_inactive: bool,
    pub course_state_exclude: bool,
    pub calendar: Calendar,
}

/// `edfi_sections`: one row per section × term descriptor × class period.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionRow {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub local_course_code: String,
    pub section_id: String,
    pub sequence_of_course: Option<i64>,
    pub period_schedule: String,
    pub period: String,
    pub structure_id: String,
    pub room: Option<String>,
    pub medium_of_instruction: Option<String>,
    pub section_name: Option<String>,
    pub calendar: Calendar,
}

/// `edfi_students`: one row per student (identity as of today).
#[derive(Debug, Clone, PartialEq)]
pub struct StudentRow {
    pub student_unique_id: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_surname: Option<String>,
    pub generation_code_suffix: Option<String>,
    pub legal_first_name: Option<String>,
    pub legal_middle_name: Option<String>,
    pub legal_last_surname: Option<String>,
    pub legal_generation_code_suffix: Option<String>,
    pub sex: Option<String>,
    pub legal_sex: Option<String>,
    pub birth_date: NaiveDate,
    pub hispanic_latino_ethnicity: bool,
}

/// `edfi_student_school_associations`: one row per enrollment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentRow {
    pub student_unique_id: String,
    pub school_id: i64,
    pub school_year: i32,
    pub entry_date: NaiveDate,
    pub entry_grade_level: String,
    pub entry_type: Option<String>,
    pub exit_withdraw_date: Option<NaiveDate>,
    pub exit_withdraw_type: Option<String>,
    pub service_type: String,
    pub no_show: bool,
    pub state_exclude: bool,
    pub wise_exclude: bool,
    pub calendar: Calendar,
}

/// The SIS identity of a section (all its term × class period rows): what rosters and staff
/// assignments point at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId {
    pub school_id: i64,
    pub school_year: i32,
    pub term_descriptor: String,
    pub local_course_code: String,
    pub section_id: String,
}

impl std::fmt::Display for SectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(school {}, year {}, term {:?}, course {:?}, section {:?})",
            self.school_id,
            self.school_year,
            self.term_descriptor,
            self.local_course_code,
            self.section_id
        )
    }
}

/// `edfi_student_section_associations`: one row per student rostered in a section and term.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterRow {
    pub student_unique_id: String,
    pub section: SectionId,
    pub entry_date: Option<NaiveDate>,
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// `edfi_staff_section_associations`: one row per staff member on a section's staff history.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffAssignmentRow {
    pub staff_unique_id: Option<String>,
    pub section: SectionId,
    pub classroom_position: Option<String>,
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// Everything read from the SIS, one vector per relation, in the database's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    pub locations: Vec<LocationRow>,
    pub class_periods: Vec<ClassPeriodRow>,
    pub grading_periods: Vec<GradingPeriodRow>,
    pub sessions: Vec<SessionRow>,
    pub course_offerings: Vec<CourseOfferingRow>,
    pub sections: Vec<SectionRow>,
    pub students: Vec<StudentRow>,
    pub enrollments: Vec<EnrollmentRow>,
    pub rosters: Vec<RosterRow>,
    pub staff_assignments: Vec<StaffAssignmentRow>,
}

impl Source {
    /// The number of rows read per relation, in contract order.
    pub fn counts(&self) -> [(&'static str, usize); 10] {
        [
            (LOCATIONS, self.locations.len()),
            (CLASS_PERIODS, self.class_periods.len()),
            (GRADING_PERIODS, self.grading_periods.len()),
            (SESSIONS, self.sessions.len()),
            (COURSE_OFFERINGS, self.course_offerings.len()),
            (SECTIONS, self.sections.len()),
            (STUDENTS, self.students.len()),
            (STUDENT_SCHOOL_ASSOCIATIONS, self.enrollments.len()),
            (STUDENT_SECTION_ASSOCIATIONS, self.rosters.len()),
            (STAFF_SECTION_ASSOCIATIONS, self.staff_assignments.len()),
        ]
    }
}

pub const CALENDAR_COLUMNS: [&str; 3] = ["calendar", "calendar_exclude", "summer_school"];

const SECTION_ID_COLUMNS: [&str; 5] = [
    "school_id",
    "school_year",
    "term_descriptor",
    "local_course_code",
    "section_id",
];

/// The columns of `CLASS_PERIODS` the job reads (then [`CALENDAR_COLUMNS`]), in its order.
pub const CLASS_PERIODS_COLUMNS: [&str; 5] = [
    "school_id",
    "school_year",
    "period_schedule",
    "period",
    "structure_id",
];

/// The columns of `GRADING_PERIODS` the job reads (then [`CALENDAR_COLUMNS`]), in its order.
pub const GRADING_PERIODS_COLUMNS: [&str; 7] = [
    "school_id",
    "school_year",
    "descriptor",
    "begin_date",
    "name",
    "end_date",
    "total_instructional_days",
];

/// The columns of `SESSIONS` the job reads (then [`CALENDAR_COLUMNS`]), in its order.
pub const SESSIONS_COLUMNS: [&str; 8] = [
    "school_id",
    "school_year",
    "term_descriptor",
    "structure_name",
    "term_name",
    "begin_date",
    "end_date",
    "total_instructional_days",
];

/// The columns of `COURSE_OFFERINGS` the job reads (then [`CALENDAR_COLUMNS`]), in its order.
pub const COURSE_OFFERINGS_COLUMNS: [&str; 8] = [
    "school_id",
    "school_year",
    "term_descriptor",
    "local_course_code",
    "local_course_title",
    "state_course_code",
    "course_inactive",
    "course_state_exclude",
];

/// The columns of `STUDENT_SCHOOL_ASSOCIATIONS` the job reads (then [`CALENDAR_COLUMNS`]), in its order.
pub const STUDENT_SCHOOL_ASSOCIATIONS_COLUMNS: [&str; 12] = [
    "student_unique_id",
    "school_id",
    "entry_date",
    "school_year",
    "entry_grade_level",
    "entry_type",
    "exit_withdraw_date",
    "exit_withdraw_type",
    "service_type",
    "no_show",
    "state_exclude",
    "wise_exclude",
];

/// The columns of `LOCATIONS` the job reads, in the order it reads them.
pub const LOCATIONS_COLUMNS: [&str; 3] = [
    "school_id",
    "classroom_identification_code",
    "maximum_number_of_seats",
];

/// The columns of `STUDENTS` the job reads, in the order it reads them.
pub const STUDENTS_COLUMNS: [&str; 13] = [
    "student_unique_id",
    "first_name",
    "middle_name",
    "last_surname",
    "generation_code_suffix",
    "legal_first_name",
    "legal_middle_name",
    "legal_last_surname",
    "legal_generation_code_suffix",
    "sex",
    "legal_sex",
    "birth_date",
    "hispanic_latino_ethnicity",
];

/// Connects to the SIS and reads every relation in one transaction, rolled back afterwards.
pub fn read_database(url: &str, password: Option<&str>) -> Result<Source, EdfiError> {
    let mut sis = Sis::connect(url, password).map_err(EdfiError::sis)?;
    let mut tx = sis.transaction().map_err(EdfiError::sis)?;
    let source = read(&mut tx)?;
    tx.rollback().map_err(EdfiError::sis)?;
    Ok(source)
}

/// Reads every relation of the contract within `tx` (which the caller rolls back).
pub fn read(tx: &mut Tx<'_>) -> Result<Source, EdfiError> {
    let mut source = Source::default();

    for row in select(tx, LOCATIONS, &LOCATIONS_COLUMNS, 2)? {
        source.locations.push(LocationRow {
            school_id: row.req_int("school_id")?,
            classroom_identification_code: row.req_text("classroom_identification_code")?,
            maximum_number_of_seats: row.int("maximum_number_of_seats")?,
        });
    }

    let cols = [&CLASS_PERIODS_COLUMNS[..], &CALENDAR_COLUMNS[..]].concat();
    for row in select(tx, CLASS_PERIODS, &cols, 5)? {
        source.class_periods.push(ClassPeriodRow {
            school_id: row.req_int("school_id")?,
            school_year: row.year("school_year")?,
            period_schedule: row.req_text("period_schedule")?,
            period: row.req_text("period")?,
            structure_id: row.req_text("structure_id")?,
            calendar: row.calendar()?,
        });
    }

    let cols = [&GRADING_PERIODS_COLUMNS[..], &CALENDAR_COLUMNS[..]].concat();
    for row in select(tx, GRADING_PERIODS, &cols, 4)? {
        source.grading_periods.push(GradingPeriodRow {
            school_id: row.req_int("school_id")?,
            school_year: row.year("school_year")?,
            descriptor: row.req_text("descriptor")?,
            name: row.text("name")?,
            begin_date: row.req_date("begin_date")?,
            end_date: row.req_date("end_date")?,
            total_instructional_days: row.int("total_instructional_days")?,
            calendar: row.calendar()?,
        });
    }

    let cols = [&SESSIONS_COLUMNS[..], &CALENDAR_COLUMNS[..]].concat();
    for row in select(tx, SESSIONS, &cols, 5)? {
        source.sessions.push(SessionRow {
            school_id: row.req_int("school_id")?,
            school_year: row.year("school_year")?,
            term_descriptor: row.req_text("term_descriptor")?,
            structure_name: row.req_text("structure_name")?,
            term_name: row.req_text("term_name")?,
            begin_date: row.req_date("begin_date")?,
            end_date: row.req_date("end_date")?,
            total_instructional_days: row.req_int("total_instructional_days")?,
            calendar: row.calendar()?,
        });
    }

    let cols = [&COURSE_OFFERINGS_COLUMNS[..], &CALENDAR_COLUMNS[..]].concat();
    for row in select(tx, COURSE_OFFERINGS, &cols, 4)? {
        source.course_offerings.push(CourseOfferingRow {
            school_id: row.req_int("school_id")?,
            school_year: row.year("school_year")?,
            term_descriptor: row.req_text("term_descriptor")?,
            local_course_code: row.req_text("local_course_code")?,
            local_course_title: row.text("local_course_title")?,
            state_course_code: row.text("state_course_code")?,
            course_inactive: row.flag("course_inactive")?,
            course_state_exclude: row.flag("course_state_exclude")?,
            calendar: row.calendar()?,
        });
    }

    let mut cols = SECTION_ID_COLUMNS.to_vec();
    cols.extend([
        "period_schedule",
        "period",
        "structure_id",
        "sequence_of_course",
        "room",
        "medium_of_instruction",
        "section_name",
    ]);
    cols.extend(CALENDAR_COLUMNS);
    for row in select(tx, SECTIONS, &cols, 8)? {
        let section = row.section_id()?;
        source.sections.push(SectionRow {
            school_id: section.school_id,
            school_year: section.school_year,
            term_descriptor: section.term_descriptor,
            local_course_code: section.local_course_code,
            section_id: section.section_id,
            sequence_of_course: row.int("sequence_of_course")?,
            period_schedule: row.req_text("period_schedule")?,
            period: row.req_text("period")?,
            structure_id: row.req_text("structure_id")?,
            room: row.text("room")?,
            medium_of_instruction: row.text("medium_of_instruction")?,
            section_name: row.text("section_name")?,
            calendar: row.calendar()?,
        });
    }

    for row in select(tx, STUDENTS, &STUDENTS_COLUMNS, 1)? {
        source.students.push(StudentRow {
            student_unique_id: row.req_text("student_unique_id")?,
            first_name: row.text("first_name")?,
            middle_name: row.text("middle_name")?,
            last_surname: row.text("last_surname")?,
            generation_code_suffix: row.text("generation_code_suffix")?,
            legal_first_name: row.text("legal_first_name")?,
            legal_middle_name: row.text("legal_middle_name")?,
            legal_last_surname: row.text("legal_last_surname")?,
            legal_generation_code_suffix: row.text("legal_generation_code_suffix")?,
            sex: row.text("sex")?,
            legal_sex: row.text("legal_sex")?,
            birth_date: row.req_date("birth_date")?,
            hispanic_latino_ethnicity: row.flag("hispanic_latino_ethnicity")?,
        });
    }

    let cols = [
        &STUDENT_SCHOOL_ASSOCIATIONS_COLUMNS[..],
        &CALENDAR_COLUMNS[..],
    ]
    .concat();
    for row in select(tx, STUDENT_SCHOOL_ASSOCIATIONS, &cols, 3)? {
        source.enrollments.push(EnrollmentRow {
            student_unique_id: row.req_text("student_unique_id")?,
            school_id: row.req_int("school_id")?,
            school_year: row.year("school_year")?,
            entry_date: row.req_date("entry_date")?,
            entry_grade_level: row.req_text("entry_grade_level")?,
            entry_type: row.text("entry_type")?,
            exit_withdraw_date: row.date("exit_withdraw_date")?,
            exit_withdraw_type: row.text("exit_withdraw_type")?,
            service_type: row.req_text("service_type")?,
            no_show: row.flag("no_show")?,
            state_exclude: row.flag("state_exclude")?,
            wise_exclude: row.flag("wise_exclude")?,
            calendar: row.calendar()?,
        });
    }

    let mut cols = vec!["student_unique_id"];
    cols.extend(SECTION_ID_COLUMNS);
    cols.extend(["entry_date", "begin_date", "end_date"]);
    for row in select(tx, STUDENT_SECTION_ASSOCIATIONS, &cols, 6)? {
        source.rosters.push(RosterRow {
            student_unique_id: row.req_text("student_unique_id")?,
            section: row.section_id()?,
            entry_date: row.date("entry_date")?,
            begin_date: row.date("begin_date")?,
            end_date: row.date("end_date")?,
        });
    }

    let mut cols = vec!["staff_unique_id"];
    cols.extend(SECTION_ID_COLUMNS);
    cols.extend(["classroom_position", "begin_date", "end_date"]);
    for row in select(tx, STAFF_SECTION_ASSOCIATIONS, &cols, 6)? {
        source.staff_assignments.push(StaffAssignmentRow {
            staff_unique_id: row.text("staff_unique_id")?,
            section: row.section_id()?,
            classroom_position: row.text("classroom_position")?,
            begin_date: row.date("begin_date")?,
            end_date: row.date("end_date")?,
        });
    }

    Ok(source)
}

/// Reads all rows of `relation`; the first `key_columns` columns name a row in errors.
fn select(
    tx: &mut Tx<'_>,
    relation: &'static str,
    columns: &[&'static str],
    key_columns: usize,
) -> Result<Vec<Row>, EdfiError> {
    let sql = format!("SELECT {} FROM {relation}", columns.join(", "));
    let rows = tx.query(&sql, &[]).map_err(EdfiError::sis)?;
    Ok(rows
        .into_iter()
        .map(|values| {
            let key = columns
                .iter()
                .zip(&values)
                .take(key_columns)
                .map(|(c, v)| format!("{c}={}", v.for_message()))
                .collect::<Vec<_>>()
                .join(", ");
            Row {
                relation,
                columns: columns.to_vec(),
                values,
                key: format!("({key})"),
            }
        })
        .collect())
}

/// One row read, with what error messages need to name it.
struct Row {
    relation: &'static str,
    columns: Vec<&'static str>,
    values: Vec<Value>,
    key: String,
}

impl Row {
    fn value(&self, column: &str) -> &Value {
        self.columns
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&Value::Null)
    }

    fn malformed(&self, column: &'static str, expected: &'static str) -> EdfiError {
        EdfiError::Malformed {
            relation: self.relation,
            key: self.key.clone(),
            column,
            value: self.value(column).for_message(),
            expected,
        }
    }

    /// Text, trimmed; empty is NULL. An integer column reads as its digits.
    fn text(&self, column: &'static str) -> Result<Option<String>, EdfiError> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::Text(s) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            }
            Value::Int(n) => Ok(Some(n.to_string())),
            Value::Real(_) | Value::Date(_) => Err(self.malformed(column, "text")),
        }
    }

    fn req_text(&self, column: &'static str) -> Result<String, EdfiError> {
        self.text(column)?
            .ok_or_else(|| self.malformed(column, "a non-empty text"))
    }

    /// An integer; integer text is accepted (a `numeric` column reads as text in PostgreSQL).
    fn int(&self, column: &'static str) -> Result<Option<i64>, EdfiError> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            Value::Text(s) if s.trim().is_empty() => Ok(None),
            Value::Text(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.malformed(column, "an integer")),
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 9e15 => Ok(Some(*r as i64)),
            Value::Real(_) | Value::Date(_) => Err(self.malformed(column, "an integer")),
        }
    }

    fn req_int(&self, column: &'static str) -> Result<i64, EdfiError> {
        self.int(column)?
            .ok_or_else(|| self.malformed(column, "an integer"))
    }

    /// A school year: the four-digit end year (2026 for 2025-26).
    fn year(&self, column: &'static str) -> Result<i32, EdfiError> {
        let expected = "a four-digit school end year (2026 for 2025-26)";
        match self.int(column) {
            Ok(Some(y)) if (1900..=2999).contains(&y) => {
                i32::try_from(y).map_err(|_| self.malformed(column, expected))
            }
            _ => Err(self.malformed(column, expected)),
        }
    }

    fn date(&self, column: &'static str) -> Result<Option<NaiveDate>, EdfiError> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::Date(d) => Ok(Some(*d)),
            Value::Text(s) if s.trim().is_empty() => Ok(None),
            Value::Text(s) => Value::Text(s.trim().to_owned())
                .as_date()
                .map(Some)
                .ok_or_else(|| self.malformed(column, "a date (YYYY-MM-DD)")),
            Value::Int(_) | Value::Real(_) => Err(self.malformed(column, "a date (YYYY-MM-DD)")),
        }
    }

    fn req_date(&self, column: &'static str) -> Result<NaiveDate, EdfiError> {
        self.date(column)?
            .ok_or_else(|| self.malformed(column, "a date (YYYY-MM-DD)"))
    }

    /// A checkbox: boolean (0/1), or text true/false, y/n, yes/no, 1/0. NULL is false.
    fn flag(&self, column: &'static str) -> Result<bool, EdfiError> {
        let expected = "a flag (true/false, 1/0, Y/N)";
        match self.value(column) {
            Value::Null => Ok(false),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" | "0" | "n" | "no" | "f" | "false" => Ok(false),
                "1" | "y" | "yes" | "t" | "true" => Ok(true),
                _ => Err(self.malformed(column, expected)),
            },
            _ => Err(self.malformed(column, expected)),
        }
    }

    fn calendar(&self) -> Result<Calendar, EdfiError> {
        Ok(Calendar {
            name: self.text("calendar")?,
            exclude: self.flag("calendar_exclude")?,
            summer_school: self.flag("summer_school")?,
        })
    }

    fn section_id(&self) -> Result<SectionId, EdfiError> {
        Ok(SectionId {
            school_id: self.req_int("school_id")?,
            school_year: self.year("school_year")?,
            term_descriptor: self.req_text("term_descriptor")?,
            local_course_code: self.req_text("local_course_code")?,
            section_id: self.req_text("section_id")?,
        })
    }
}

#[cfg(test)]
mod tests;
