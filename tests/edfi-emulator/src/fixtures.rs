//! The standard test district that [`crate::Emulator::seed_fixtures`] loads: what a state
//! pre-loads before a district's first resync (school years, schools, state courses, staff with
//! state ids, descriptors). Constants are public so job tests can build matching SIS data.

use serde_json::{Value, json};

use crate::{Config, Mode};

/// School years (`schoolYearTypes`); [`CURRENT_SCHOOL_YEAR`] is flagged current.
pub const SCHOOL_YEARS: &[i32] = &[2023, 2024, 2025, 2026];
/// The current school year of the fixtures.
pub const CURRENT_SCHOOL_YEAR: i32 = 2025;

/// v3 schools: (schoolId, name).
pub const V3_SCHOOLS: &[(i64, &str)] = &[
    (255_901_001, "Grand Bend High School"),
    (255_901_044, "Grand Bend Middle School"),
];
/// v3 course owner (the LEA).
pub const V3_COURSE_EDORG: i64 = 255_901;
/// v2 (Wisconsin-style) schools: (schoolId, name).
pub const V2_SCHOOLS: &[(i64, &str)] = &[
    (1234, "Lincoln Middle School"),
    (5678, "Washington High School"),
];
/// v2 course owner: Wisconsin DPI's state edOrg, which owns all state courses.
pub const V2_COURSE_EDORG: i64 = 48856;
/// Courses: (code, title) — `courseCode` in v3, the state course `code` in v2.
pub const COURSES: &[(&str, &str)] = &[
    ("02052", "Algebra I"),
    ("01001", "English/Language Arts I"),
    ("03151", "Physics"),
];
/// Staff: (staffUniqueId, first name, last surname).
pub const STAFF: &[(&str, &str, &str)] = &[
    ("1000000001", "Tamika", "Mcpherson"),
    ("1000000002", "Derek", "Lindsey"),
    ("1000000003", "Anna", "Park"),
];

/// v3 (Data Standard 5) descriptor code values by descriptor name.
pub const V3_DESCRIPTORS: &[(&str, &[&str])] = &[
    (
        "TermDescriptor",
        &[
            "Fall Semester",
            "Spring Semester",
            "Year Round",
            "First Quarter",
            "Second Quarter",
            "Third Quarter",
            "Fourth Quarter",
        ],
    ),
    (
        "GradingPeriodDescriptor",
        &[
            "First Six Weeks",
            "Second Six Weeks",
            "First Semester",
            "Second Semester",
            "First Nine Weeks",
            "End of Year",
        ],
    ),
    (
        "GradeLevelDescriptor",
        &[
            "Kindergarten",
            "First grade",
            "Sixth grade",
            "Seventh grade",
            "Eighth grade",
            "Ninth grade",
            "Tenth grade",
            "Eleventh grade",
            "Twelfth grade",
        ],
    ),
    (
        "EntryTypeDescriptor",
        &[
            "Transfer from a public school in the same local education agency",
            "Next year school",
            "Re-entry",
        ],
    ),
    (
        "ExitWithdrawTypeDescriptor",
        &["Graduated", "Transferred", "Dropped out"],
    ),
    (
        "ClassroomPositionDescriptor",
        &[
            "Teacher of Record",
            "Assistant Teacher",
            "Support Teacher",
            "Substitute Teacher",
        ],
    ),
    ("SexDescriptor", &["Female", "Male", "Not Selected"]),
    (
        "EducationalEnvironmentDescriptor",
        &["Classroom", "Laboratory", "Virtual"],
    ),
];

/// v2 (Wisconsin code tables, seed Part 1) descriptor code values by descriptor name.
pub const V2_DESCRIPTORS: &[(&str, &[&str])] = &[
    (
        "TermDescriptor",
        &["1S", "2S", "1Q", "2Q", "3Q", "4Q", "1T", "2T", "3T", "A"],
    ),
    (
        "GradingPeriodDescriptor",
        &["01", "03", "04", "05", "10", "11", "12"],
    ),
    (
        "GradeLevelDescriptor",
        &[
            "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
        ],
    ),
    ("EntryTypeDescriptor", &["01", "02", "03", "04", "05"]),
    (
        "ExitWithdrawTypeDescriptor",
        &["HSC", "TC", "TNC", "TOS", "DE", "ODO"],
    ),
    (
        "ClassroomPositionDescriptor",
        &["05971", "05972", "05973", "73071", "09999"],
    ),
];

/// The namespace stored for descriptor `name`: v3 `{ns}/{name}`, v2 `{ns}/Descriptor/{name}.xml`.
#[must_use]
pub fn descriptor_namespace(config: &Config, name: &str) -> String {
    match config.mode {
        Mode::V3 => format!("{}/{name}", config.descriptor_namespace),
        Mode::V2 => format!("{}/Descriptor/{name}.xml", config.descriptor_namespace),
    }
}

/// The value a body sends for descriptor `name` code `code`: v3 `uri://…/Name#code`, v2 the bare code.
#[must_use]
pub fn descriptor(config: &Config, name: &str, code: &str) -> String {
    match config.mode {
        Mode::V3 => format!("{}#{code}", descriptor_namespace(config, name)),
        Mode::V2 => code.to_owned(),
    }
}

/// All fixtures, lookups in dependency order: (collection, items).
#[must_use]
pub fn all(config: &Config) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let descriptors = match config.mode {
        Mode::V3 => V3_DESCRIPTORS,
        Mode::V2 => V2_DESCRIPTORS,
    };
    for (name, codes) in descriptors {
        let ns = descriptor_namespace(config, name);
        let items = codes
            .iter()
            .map(|code| json!({"namespace": ns, "codeValue": code, "shortDescription": code, "description": code}))
            .collect();
        out.push((crate::resources::descriptor_collection(name), items));
    }
    let years = SCHOOL_YEARS
        .iter()
        .map(|y| json!({"schoolYear": y, "schoolYearDescription": format!("{}-{}", y - 1, y), "currentSchoolYear": *y == CURRENT_SCHOOL_YEAR}))
        .collect();
    out.push(("schoolYearTypes".to_owned(), years));
    let (schools, edorg) = match config.mode {
        Mode::V3 => (V3_SCHOOLS, V3_COURSE_EDORG),
        Mode::V2 => (V2_SCHOOLS, V2_COURSE_EDORG),
    };
    out.push((
        "schools".to_owned(),
        schools
            .iter()
            .map(|(id, name)| json!({"schoolId": id, "nameOfInstitution": name}))
            .collect(),
    ));
    let courses = COURSES
        .iter()
        .map(|(code, title)| match config.mode {
            Mode::V3 => json!({"educationOrganizationReference": {"educationOrganizationId": edorg}, "courseCode": code, "courseTitle": title, "numberOfParts": 1}),
            Mode::V2 => json!({"educationOrganizationReference": {"educationOrganizationId": edorg}, "code": code, "title": title, "numberOfParts": 1}),
        })
        .collect();
    out.push(("courses".to_owned(), courses));
    let staff = STAFF.iter().map(|(id, first, last)| json!({"staffUniqueId": id, "firstName": first, "lastSurname": last})).collect();
    out.push(("staffs".to_owned(), staff));
    out
}
