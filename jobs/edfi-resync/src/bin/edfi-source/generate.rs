//! Generated SIS rows for `edfi-source --students N`: a district's worth of Ed-Fi source data
//! (the ten `edfi_*` relations) that the job's rules accept without a rejected row, for load
//! tests and the benchmark, which need far more rows than the shipped sample district.
//!
//! Shape, for N students: one school per thousand students (at least two, at most 99; ids
//! `255901001`…), students spread over them in blocks. Each school has one calendar, two
//! semesters (a session and a grading period each), three class periods (`Main P1 S1`…), and
//! per semester and class period its students split into sections of 25 (so ~1 section per 25
//! rosters); every student is rostered in one section per semester and period: six rosters.
//! A section's course comes from a 40-course catalog, its room is one of the school's rooms
//! (one per group of 25), and the group's teacher (`T{school}{group}`) is assigned to it.
//! Every student has one primary enrollment. The host's lookups for exactly this district
//! (schools, courses, staff, school years, descriptors) come from [`lookups`], in the shape of
//! `fixtures/lookups.json`.
//!
//! [`change`] renames a given share of the students (first name), so that a delta run has a
//! known number of changed records: one student record per renamed student, nothing else.
//!
//! The same seed gives the same rows: a small splitmix64 generator, no external crate. Rows go
//! in through [`Tx::bulk_insert`] (COPY on PostgreSQL, one prepared INSERT on SQLite) in the
//! caller's transaction.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use ferry_job_edfi_resync::model::Resource;
use ferry_job_edfi_resync::source;
use ferry_sis::{SisError, Tx, Value, ValueRef};
use serde_json::json;

/// The scope year of every generated row (2025-26).
pub const SCHOOL_YEAR: i64 = 2026;
/// The course owner the job sends by default (`course_education_organization_id`).
pub const COURSE_EDORG: i64 = 48856;
/// The district's LEA id, as the host's schools name it.
const LEA: i64 = 2559;
/// Students per section.
const SECTION_SIZE: usize = 25;
/// Class periods per semester (one roster each).
const SLOTS: usize = 3;
/// A date as (year, month, day).
type Ymd = (i32, u32, u32);
/// A semester: term descriptor, term name, begin, end, instructional days, grading period
/// descriptor.
type Term = (&'static str, &'static str, Ymd, Ymd, i64, &'static str);
/// The two semesters.
const TERMS: [Term; 2] = [
    (
        "1st Semester",
        "Term 1",
        (2025, 9, 2),
        (2026, 1, 16),
        88,
        "04",
    ),
    (
        "2nd Semester",
        "Term 2",
        (2026, 1, 20),
        (2026, 6, 5),
        90,
        "11",
    ),
];
const PERIODS: [&str; SLOTS] = ["P1", "P2", "P3"];
const SUBJECTS: [(&str, &str); 10] = [
    ("ENG", "English"),
    ("ALG", "Algebra"),
    ("BIO", "Biology"),
    ("HIS", "History"),
    ("SPA", "Spanish"),
    ("ART", "Art"),
    ("MUS", "Music"),
    ("PE", "Physical Education"),
    ("CHE", "Chemistry"),
    ("GEO", "Geometry"),
];
const LEVELS: [&str; 4] = ["I", "II", "III", "IV"];
const GRADES: [&str; 4] = [
    "Ninth grade",
    "Tenth grade",
    "Eleventh grade",
    "Twelfth grade",
];
const FIRST_NAMES: [&str; 24] = [
    "Ava", "Liam", "Mia", "Noah", "Emma", "Owen", "Sofia", "Lucas", "Ella", "Mason", "Aria",
    "Ethan", "Chloe", "Logan", "Nora", "Caleb", "Zoe", "Henry", "Lily", "Jack", "Ruby", "Leo",
    "Grace", "Isaac",
];
const LAST_NAMES: [&str; 24] = [
    "Olson", "Schmidt", "Nguyen", "Johnson", "Vang", "Larson", "Garcia", "Muller", "Thao",
    "Anderson", "Brown", "Hansen", "Lopez", "Peterson", "Xiong", "Miller", "Wilson", "Meyer",
    "Davis", "Klein", "Moore", "Young", "Berg", "Ortiz",
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub students: usize,
    pub seed: u64,
}

/// The splitmix64 generator: small, seedable, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// One school of the district.
#[derive(Debug, Clone)]
struct School {
    id: i64,
    calendar: String,
    /// Its students: indexes into [`District::students`].
    first: usize,
    count: usize,
    /// Groups of [`SECTION_SIZE`] (rooms, teachers, sections per semester and period).
    groups: usize,
}

/// One generated student.
#[derive(Debug, Clone)]
struct Student {
    id: String,
    first: &'static str,
    middle: Option<&'static str>,
    last: &'static str,
    sex: &'static str,
    birth: NaiveDate,
    grade: &'static str,
}

/// The generated district, from which every relation's rows are made.
struct District {
    schools: Vec<School>,
    students: Vec<Student>,
}

/// The course a section of `school` (by index), semester `term`, period `slot` and group
/// `group` teaches: an index into the catalog.
fn course_of(school: usize, term: usize, slot: usize, group: usize) -> usize {
    (school * 7 + term * 11 + slot * 13 + group) % (SUBJECTS.len() * LEVELS.len())
}

/// The catalog's `course`: local code, title, state course code.
fn course(course: usize) -> (String, String, String) {
    let (code, subject) = SUBJECTS[course / LEVELS.len()];
    let level = LEVELS[course % LEVELS.len()];
    (
        format!("{code}{}", course % LEVELS.len() + 1),
        format!("{subject} {level}"),
        format!("{:05}", 10_000 + course * 3),
    )
}

fn section_id(term: usize, slot: usize, group: usize) -> String {
    format!("{}{}{group:03}", term + 1, slot + 1)
}

fn room(group: usize) -> String {
    format!("R{}", 100 + group)
}

fn teacher(school: usize, group: usize) -> String {
    format!("T{:02}{group:03}", school + 1)
}

fn date((y, m, d): Ymd) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

impl District {
    fn new(options: &Options) -> District {
        let n = options.students;
        let schools = n.div_ceil(1000).clamp(if n >= 2 { 2 } else { 1 }, 99);
        let mut rng = Rng(options.seed);
        let students = (0..n)
            .map(|i| {
                let grade = rng.below(GRADES.len());
                let birth_year = 2011 - i32::try_from(grade).unwrap_or(0);
                let day = u32::try_from(rng.below(365)).unwrap_or(0);
                Student {
                    id: format!("{}", 2_000_000_001 + i),
                    first: FIRST_NAMES[rng.below(FIRST_NAMES.len())],
                    middle: (rng.below(4) == 0).then_some("J"),
                    last: LAST_NAMES[rng.below(LAST_NAMES.len())],
                    sex: if rng.below(2) == 0 { "F" } else { "M" },
                    birth: NaiveDate::from_yo_opt(birth_year, day + 1).unwrap_or(NaiveDate::MIN),
                    grade: GRADES[grade],
                }
            })
            .collect();
        let schools = (0..schools)
            .map(|s| {
                let first = s * n / schools;
                let count = (s + 1) * n / schools - first;
                School {
                    id: 255_901_001 + i64::try_from(s).unwrap_or(0),
                    calendar: format!("School {} 25-26", s + 1),
                    first,
                    count,
                    groups: count.div_ceil(SECTION_SIZE),
                }
            })
            .collect();
        District { schools, students }
    }

    /// The (school index, semester, course) of every course offering, each once.
    fn offerings(&self) -> BTreeSet<(usize, usize, usize)> {
        let mut out = BTreeSet::new();
        for (s, school) in self.schools.iter().enumerate() {
            for term in 0..TERMS.len() {
                for slot in 0..SLOTS {
                    for group in 0..school.groups {
                        out.insert((s, term, course_of(s, term, slot, group)));
                    }
                }
            }
        }
        out
    }

    /// The records the job builds from this district (Data Standard 5 and v2 alike: every
    /// section has one class period).
    fn expected(&self) -> Vec<(Resource, u64)> {
        let s = self.schools.len() as u64;
        let groups: u64 = self.schools.iter().map(|s| s.groups as u64).sum();
        let sections = groups * (TERMS.len() * SLOTS) as u64;
        let n = self.students.len() as u64;
        vec![
            (Resource::Locations, groups),
            (Resource::ClassPeriods, s * SLOTS as u64),
            (Resource::GradingPeriods, s * TERMS.len() as u64),
            (Resource::Sessions, s * TERMS.len() as u64),
            (Resource::CourseOfferings, self.offerings().len() as u64),
            (Resource::Sections, sections),
            (Resource::Students, n),
            (Resource::StudentSchoolAssociations, n),
            (
                Resource::StudentSectionAssociations,
                n * (TERMS.len() * SLOTS) as u64,
            ),
            (Resource::StaffSectionAssociations, sections),
        ]
    }
}

/// One generated section (one class period, so one row).
struct Sec {
    school: usize,
    term: usize,
    slot: usize,
    group: usize,
    id: String,
    room: String,
    teacher: String,
}

/// The SIS identity columns of `sec` (school, year, term, course, section id).
fn section_key<'a>(
    d: &District,
    catalog: &'a [(String, String, String)],
    sec: &'a Sec,
) -> [ValueRef<'a>; 5] {
    let c = course_of(sec.school, sec.term, sec.slot, sec.group);
    [
        ValueRef::Int(d.schools[sec.school].id),
        ValueRef::Int(SCHOOL_YEAR),
        ValueRef::Text(TERMS[sec.term].0),
        ValueRef::Text(&catalog[c].0),
        ValueRef::Text(&sec.id),
    ]
}

/// What [`load`] wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Rows per relation, in contract order.
    pub rows: Vec<(&'static str, u64)>,
    /// Records per resource the job builds from them.
    pub expected: Vec<(Resource, u64)>,
    /// The host's lookups for this district, shaped as `fixtures/lookups.json`.
    pub lookups: serde_json::Value,
}

/// Generates the district and bulk-loads it into the (empty) relations within `tx`.
pub fn load(tx: &mut Tx<'_>, options: &Options) -> Result<Summary, SisError> {
    let d = District::new(options);
    let year = ValueRef::Int(SCHOOL_YEAR);
    let no = ValueRef::Int(0);
    let mut rows = Vec::new();

    // Rooms: one per group.
    let rooms: Vec<(i64, String)> = d
        .schools
        .iter()
        .flat_map(|s| (0..s.groups).map(|g| (s.id, room(g))))
        .collect();
    rows.push((
        source::LOCATIONS,
        tx.bulk_insert(
            source::LOCATIONS,
            &source::LOCATIONS_COLUMNS,
            rooms
                .iter()
                .map(|(id, r)| [ValueRef::Int(*id), ValueRef::Text(r), ValueRef::Int(30)]),
        )?,
    ));

    let cols = [
        &source::CLASS_PERIODS_COLUMNS[..],
        &source::CALENDAR_COLUMNS[..],
    ]
    .concat();
    rows.push((
        source::CLASS_PERIODS,
        tx.bulk_insert(
            source::CLASS_PERIODS,
            &cols,
            d.schools.iter().flat_map(|s| {
                PERIODS.iter().map(move |p| {
                    [
                        ValueRef::Int(s.id),
                        year,
                        ValueRef::Text("Main"),
                        ValueRef::Text(p),
                        ValueRef::Text("S1"),
                        ValueRef::Text(&s.calendar),
                        no,
                        no,
                    ]
                })
            }),
        )?,
    ));

    let cols = [
        &source::GRADING_PERIODS_COLUMNS[..],
        &source::CALENDAR_COLUMNS[..],
    ]
    .concat();
    let gp_names = ["2025-26 First Semester", "2025-26 Second Semester"];
    rows.push((
        source::GRADING_PERIODS,
        tx.bulk_insert(
            source::GRADING_PERIODS,
            &cols,
            d.schools.iter().flat_map(|s| {
                TERMS.iter().zip(gp_names).map(move |(t, name)| {
                    [
                        ValueRef::Int(s.id),
                        year,
                        ValueRef::Text(t.5),
                        ValueRef::Date(date(t.2)),
                        ValueRef::Text(name),
                        ValueRef::Date(date(t.3)),
                        ValueRef::Int(t.4),
                        ValueRef::Text(&s.calendar),
                        no,
                        no,
                    ]
                })
            }),
        )?,
    ));

    let cols = [&source::SESSIONS_COLUMNS[..], &source::CALENDAR_COLUMNS[..]].concat();
    rows.push((
        source::SESSIONS,
        tx.bulk_insert(
            source::SESSIONS,
            &cols,
            d.schools.iter().flat_map(|s| {
                TERMS.iter().map(move |t| {
                    [
                        ValueRef::Int(s.id),
                        year,
                        ValueRef::Text(t.0),
                        ValueRef::Text("Main"),
                        ValueRef::Text(t.1),
                        ValueRef::Date(date(t.2)),
                        ValueRef::Date(date(t.3)),
                        ValueRef::Int(t.4),
                        ValueRef::Text(&s.calendar),
                        no,
                        no,
                    ]
                })
            }),
        )?,
    ));

    let catalog: Vec<(String, String, String)> =
        (0..SUBJECTS.len() * LEVELS.len()).map(course).collect();
    let cols = [
        &source::COURSE_OFFERINGS_COLUMNS[..],
        &source::CALENDAR_COLUMNS[..],
    ]
    .concat();
    let offerings = d.offerings();
    rows.push((
        source::COURSE_OFFERINGS,
        tx.bulk_insert(
            source::COURSE_OFFERINGS,
            &cols,
            offerings.iter().map(|&(s, t, c)| {
                let school = &d.schools[s];
                [
                    ValueRef::Int(school.id),
                    year,
                    ValueRef::Text(TERMS[t].0),
                    ValueRef::Text(&catalog[c].0),
                    ValueRef::Text(&catalog[c].1),
                    ValueRef::Text(&catalog[c].2),
                    no,
                    no,
                    ValueRef::Text(&school.calendar),
                    no,
                    no,
                ]
            }),
        )?,
    ));

    // Sections: per school, semester, period and group; ids and rooms made once.
    let mut sections = Vec::new();
    for (s, school) in d.schools.iter().enumerate() {
        for term in 0..TERMS.len() {
            for slot in 0..SLOTS {
                for group in 0..school.groups {
                    sections.push(Sec {
                        school: s,
                        term,
                        slot,
                        group,
                        id: section_id(term, slot, group),
                        room: room(group),
                        teacher: teacher(s, group),
                    });
                }
            }
        }
    }
    let section_ref = |sec| section_key(&d, &catalog, sec);
    let mut cols = vec![
        "school_id",
        "school_year",
        "term_descriptor",
        "local_course_code",
        "section_id",
        "period_schedule",
        "period",
        "structure_id",
        "sequence_of_course",
        "room",
        "medium_of_instruction",
        "section_name",
    ];
    cols.extend(source::CALENDAR_COLUMNS);
    rows.push((
        source::SECTIONS,
        tx.bulk_insert(
            source::SECTIONS,
            &cols,
            sections.iter().map(|sec| {
                let [a, b, c, e, f] = section_ref(sec);
                let course = course_of(sec.school, sec.term, sec.slot, sec.group);
                [
                    a,
                    b,
                    c,
                    e,
                    f,
                    ValueRef::Text("Main"),
                    ValueRef::Text(PERIODS[sec.slot]),
                    ValueRef::Text("S1"),
                    ValueRef::Null,
                    ValueRef::Text(&sec.room),
                    ValueRef::Text("4"),
                    ValueRef::Text(&catalog[course].1),
                    ValueRef::Text(&d.schools[sec.school].calendar),
                    no,
                    no,
                ]
            }),
        )?,
    ));

    rows.push((
        source::STUDENTS,
        tx.bulk_insert(
            source::STUDENTS,
            &source::STUDENTS_COLUMNS,
            d.students.iter().map(|st| {
                [
                    ValueRef::Text(&st.id),
                    ValueRef::Text(st.first),
                    st.middle.map_or(ValueRef::Null, ValueRef::Text),
                    ValueRef::Text(st.last),
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Text(st.sex),
                    ValueRef::Null,
                    ValueRef::Date(st.birth),
                    no,
                ]
            }),
        )?,
    ));

    let entry = date(TERMS[0].2);
    let cols = [
        &source::STUDENT_SCHOOL_ASSOCIATIONS_COLUMNS[..],
        &source::CALENDAR_COLUMNS[..],
    ]
    .concat();
    rows.push((
        source::STUDENT_SCHOOL_ASSOCIATIONS,
        tx.bulk_insert(
            source::STUDENT_SCHOOL_ASSOCIATIONS,
            &cols,
            d.schools.iter().flat_map(|school| {
                d.students[school.first..school.first + school.count]
                    .iter()
                    .map(move |st| {
                        [
                            ValueRef::Text(&st.id),
                            ValueRef::Int(school.id),
                            ValueRef::Date(entry),
                            year,
                            ValueRef::Text(st.grade),
                            ValueRef::Text("01"),
                            ValueRef::Null,
                            ValueRef::Null,
                            ValueRef::Text("P"),
                            no,
                            no,
                            no,
                            ValueRef::Text(&school.calendar),
                            no,
                            no,
                        ]
                    })
            }),
        )?,
    ));

    // Rosters: student p of a school, in semester t and period k, is in group
    // ((p + 11k) mod n) / 25, so each period mixes the groups a little differently.
    let mut base = Vec::with_capacity(d.schools.len());
    let mut next = 0;
    for school in &d.schools {
        base.push(next);
        next += school.groups * TERMS.len() * SLOTS;
    }
    let students = &d.students;
    let sections = &sections;
    let section_ref = &section_ref;
    let rosters = d.schools.iter().enumerate().flat_map(|(s, school)| {
        let base = base[s];
        (0..school.count).flat_map(move |p| {
            let st = &students[school.first + p];
            (0..TERMS.len() * SLOTS).map(move |ts| {
                let group = ((p + 11 * (ts % SLOTS)) % school.count) / SECTION_SIZE;
                let sec = &sections[base + ts * school.groups + group];
                let [a, b, c, e, f] = section_ref(sec);
                [
                    ValueRef::Text(&st.id),
                    a,
                    b,
                    c,
                    e,
                    f,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                ]
            })
        })
    });
    rows.push((
        source::STUDENT_SECTION_ASSOCIATIONS,
        tx.bulk_insert(
            source::STUDENT_SECTION_ASSOCIATIONS,
            &[
                "student_unique_id",
                "school_id",
                "school_year",
                "term_descriptor",
                "local_course_code",
                "section_id",
                "entry_date",
                "begin_date",
                "end_date",
            ],
            rosters,
        )?,
    ));

    rows.push((
        source::STAFF_SECTION_ASSOCIATIONS,
        tx.bulk_insert(
            source::STAFF_SECTION_ASSOCIATIONS,
            &[
                "staff_unique_id",
                "school_id",
                "school_year",
                "term_descriptor",
                "local_course_code",
                "section_id",
                "classroom_position",
                "begin_date",
                "end_date",
            ],
            sections.iter().map(|sec| {
                let [a, b, c, e, f] = section_ref(sec);
                [
                    ValueRef::Text(&sec.teacher),
                    a,
                    b,
                    c,
                    e,
                    f,
                    ValueRef::Text("05971"),
                    ValueRef::Null,
                    ValueRef::Null,
                ]
            }),
        )?,
    ));

    Ok(Summary {
        rows,
        expected: d.expected(),
        lookups: lookups(&d, &catalog),
    })
}

/// The host's lookups for the district, in the shape of `fixtures/lookups.json`: its school
/// years, descriptors and types as shipped, and the district's own schools, courses and staff
/// for both Data Standards.
fn lookups(d: &District, catalog: &[(String, String, String)]) -> serde_json::Value {
    let mut out: serde_json::Value =
        serde_json::from_str(crate::LOOKUPS).unwrap_or_else(|_| json!({}));
    out["about"] = json!(
        "What the state's ODS holds for a district generated by `edfi-source --students N`: \
         the read-only lookups and the descriptors/types the job's records use (see \
         fixtures/lookups.json for the conventions)."
    );
    let used: BTreeSet<usize> = d.offerings().iter().map(|o| o.2).collect();
    let staff: Vec<String> = d
        .schools
        .iter()
        .enumerate()
        .flat_map(|(s, school)| (0..school.groups).map(move |g| teacher(s, g)))
        .collect();
    for standard in ["ds5", "v2"] {
        let v2 = standard == "v2";
        let schools: Vec<serde_json::Value> = d
            .schools
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let category = if v2 {
                    json!({"type": "School"})
                } else {
                    json!({"educationOrganizationCategoryDescriptor":
                        "uri://ed-fi.org/EducationOrganizationCategoryDescriptor#School"})
                };
                json!({
                    "schoolId": s.id,
                    "nameOfInstitution": format!("District School {}", i + 1),
                    "localEducationAgencyReference": {"localEducationAgencyId": LEA},
                    "educationOrganizationCategories": [category],
                    "gradeLevels": [],
                })
            })
            .collect();
        let courses: Vec<serde_json::Value> = used
            .iter()
            .map(|&c| {
                let (_, title, code) = &catalog[c];
                let edorg = json!({"educationOrganizationId": COURSE_EDORG});
                if v2 {
                    json!({"code": code, "title": title, "numberOfParts": 1,
                           "educationOrganizationReference": edorg})
                } else {
                    json!({"courseCode": code, "courseTitle": title, "numberOfParts": 1,
                           "educationOrganizationReference": edorg, "identificationCodes": []})
                }
            })
            .collect();
        let staffs: Vec<serde_json::Value> = staff
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut s = json!({
                    "staffUniqueId": id,
                    "firstName": FIRST_NAMES[i % FIRST_NAMES.len()],
                    "lastSurname": LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()],
                });
                if v2 {
                    s["sexType"] = json!("Not Selected");
                    s["birthDate"] = json!("1980-01-01");
                    s["hispanicLatinoEthnicity"] = json!(false);
                }
                s
            })
            .collect();
        out[standard]["schools"] = json!(schools);
        out[standard]["courses"] = json!(courses);
        out[standard]["staffs"] = json!(staffs);
    }
    out
}

/// What [`change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Records that differ for the job, per resource (only resources with changes).
    pub records: Vec<(Resource, u64)>,
}

impl Changes {
    pub fn total(&self) -> u64 {
        self.records.iter().map(|(_, n)| n).sum()
    }
}

/// Renames `percent`% of the students in `tx` (first name; spread evenly, starting at an offset
/// from `seed`), so a delta run sends exactly that many student records and nothing else.
/// Only students the job sends under their common names are picked (no legal names, a
/// reportable enrollment in the scope year), so the count is exact for any district, the
/// shipped sample included (with its default settings: no excluded schools or calendars).
pub fn change(tx: &mut Tx<'_>, percent: f64, seed: u64) -> Result<Changes, SisError> {
    let rows = tx.query(
        &format!(
            "SELECT student_unique_id, first_name FROM {} \
             WHERE legal_first_name IS NULL AND legal_last_surname IS NULL \
             AND student_unique_id IN (SELECT student_unique_id FROM {} \
             WHERE school_year = {SCHOOL_YEAR} AND service_type IN ('P', 'N') \
             AND NOT no_show AND NOT state_exclude AND NOT wise_exclude \
             AND NOT calendar_exclude AND NOT summer_school) \
             ORDER BY student_unique_id",
            source::STUDENTS,
            source::STUDENT_SCHOOL_ASSOCIATIONS
        ),
        &[],
    )?;
    let n = rows.len();
    let k = ((n as f64) * percent / 100.0).round().clamp(0.0, n as f64) as usize;
    let offset = if n == 0 {
        0
    } else {
        usize::try_from(seed % n as u64).unwrap_or(0)
    };
    let sql = format!(
        "UPDATE {} SET first_name = ? WHERE student_unique_id = ?",
        source::STUDENTS
    );
    for i in 0..k {
        let row = &rows[(offset + i * n / k) % n];
        let (Some(Value::Text(id)), first) = (row.first(), row.get(1)) else {
            continue;
        };
        let current = match first {
            Some(Value::Text(s)) => s.trim(),
            _ => "",
        };
        let at = FIRST_NAMES.iter().position(|f| *f == current);
        let renamed = match at {
            Some(j) => FIRST_NAMES[(j + 1) % FIRST_NAMES.len()].to_owned(),
            None => format!("{current}a"),
        };
        tx.execute(&sql, &[Value::Text(renamed), Value::Text(id.clone())])?;
    }
    Ok(Changes {
        records: vec![(Resource::Students, k as u64)],
    })
}

#[cfg(test)]
mod tests;
