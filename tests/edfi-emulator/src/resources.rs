//! The one table of emulated Ed-Fi resources: for each API generation (v3 = ODS/API 7.x with
//! Data Standard 5, v2 = ODS/API 2.x with Data Standard 2 as Wisconsin uses it) the natural key,
//! the validated fields (type, required, maximum length, descriptor) and the references with the
//! resource each one points at.
//!
//! Everything the server does per resource (validation, upsert by natural key, referential
//! integrity on POST/PUT/DELETE, key-change rules, query by example) is driven from here, so a
//! change to the emulated data model is a change to this file only.
//!
//! A reference object's properties are, by construction, the natural-key names of its target
//! (e.g. `sectionReference` carries exactly the `sections` key names), as in the Ed-Fi model.

use crate::Mode;

/// The JSON type a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string of at most this many characters.
    Str(usize),
    /// A JSON integer in the `i32` range.
    Int,
    /// Any JSON number.
    Number,
    /// A JSON boolean.
    Bool,
    /// A `YYYY-MM-DD` string.
    Date,
    /// A descriptor value of the named descriptor (e.g. `TermDescriptor`).
    Descriptor(&'static str),
    /// A JSON array (its elements are not validated unless a reference names it).
    Array,
}

/// A validated field; `path` is dot-separated from the body's root.
#[derive(Debug)]
pub struct Field {
    /// Dot-separated path, e.g. `classPeriodName` or `educationOrganizationReference.educationOrganizationId`.
    pub path: &'static str,
    /// Required type.
    pub kind: Kind,
    /// Whether it must be present and non-empty.
    pub required: bool,
}

/// A reference from one resource to another, checked for form and for existence.
#[derive(Debug)]
pub struct Reference {
    /// Property holding the reference object, e.g. `schoolReference`.
    pub field: &'static str,
    /// Collection name of the referenced resource, e.g. `schools`.
    pub target: &'static str,
    /// Whether the reference must be present (ignored for references inside a collection).
    pub required: bool,
    /// If set, the reference sits in each element of this array (e.g. `classPeriods`).
    pub collection: Option<&'static str>,
}

/// One emulated resource.
#[derive(Debug)]
pub struct Resource {
    /// Collection name as in the URL, e.g. `studentSchoolAssociations`.
    pub name: &'static str,
    /// Entity name as the API's messages spell it, e.g. `StudentSchoolAssociation`.
    pub entity: &'static str,
    /// Natural key: (flattened key name, dot path in the body), in key order.
    pub key: &'static [(&'static str, &'static str)],
    /// Validated fields.
    pub fields: &'static [Field],
    /// References to other resources.
    pub references: &'static [Reference],
    /// v3 only: whether PUT may change the natural key (cascading into referencing items).
    pub key_change: bool,
    /// A lookup the state pre-loads (schools, courses, staffs, school years, descriptors):
    /// writable only when [`crate::Config::allow_lookup_writes`] is set.
    pub lookup: bool,
}

const fn f(path: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        path,
        kind,
        required,
    }
}

const fn r(field: &'static str, target: &'static str, required: bool) -> Reference {
    Reference {
        field,
        target,
        required,
        collection: None,
    }
}

const fn rc(collection: &'static str, field: &'static str, target: &'static str) -> Reference {
    Reference {
        field,
        target,
        required: false,
        collection: Some(collection),
    }
}

use Kind::{Array, Bool, Date, Descriptor, Int, Number, Str};

// ---------------------------------------------------------------------------------------------
// What both standards share, word for word.

/// `schoolReference`, required.
const SCHOOL_REF: Reference = r("schoolReference", "schools", true);
/// `schoolYearTypeReference`, required.
const SCHOOL_YEAR_REF: Reference = r("schoolYearTypeReference", "schoolYearTypes", true);
/// `studentReference`, required.
const STUDENT_REF: Reference = r("studentReference", "students", true);
/// `staffReference`, required.
const STAFF_REF: Reference = r("staffReference", "staffs", true);
/// `sectionReference`, required (its key names differ per standard; the target's key decides).
const SECTION_REF: Reference = r("sectionReference", "sections", true);
/// A session's `gradingPeriods[].gradingPeriodReference`.
const GRADING_PERIODS_REF: Reference =
    rc("gradingPeriods", "gradingPeriodReference", "gradingPeriods");

/// School years: a lookup, the same in both standards.
const SCHOOL_YEAR_TYPES: Resource = Resource {
    name: "schoolYearTypes",
    entity: "SchoolYearType",
    key: &[("schoolYear", "schoolYear")],
    fields: &[
        f("schoolYear", Int, true),
        f("schoolYearDescription", Str(50), true),
        f("currentSchoolYear", Bool, true),
    ],
    references: &[],
    key_change: false,
    lookup: true,
};

/// Staff (WISEid-populated in Wisconsin): a lookup, the same in both standards.
const STAFFS: Resource = Resource {
    name: "staffs",
    entity: "Staff",
    key: &[("staffUniqueId", "staffUniqueId")],
    fields: &[
        f("staffUniqueId", Str(32), true),
        f("firstName", Str(75), true),
        f("lastSurname", Str(75), true),
    ],
    references: &[],
    key_change: false,
    lookup: true,
};

/// Student school associations' fields: the same in both standards.
const STUDENT_SCHOOL_ASSOCIATION_FIELDS: &[Field] = &[
    f("entryDate", Date, true),
    f(
        "entryGradeLevelDescriptor",
        Descriptor("GradeLevelDescriptor"),
        true,
    ),
    f(
        "entryTypeDescriptor",
        Descriptor("EntryTypeDescriptor"),
        false,
    ),
    f("exitWithdrawDate", Date, false),
    f(
        "exitWithdrawTypeDescriptor",
        Descriptor("ExitWithdrawTypeDescriptor"),
        false,
    ),
    f("primarySchool", Bool, false),
];

/// Student school associations: the same fields and references in both standards; the key's
/// order and whether PUT may change it differ.
const fn student_school_associations(
    key: &'static [(&'static str, &'static str)],
    key_change: bool,
) -> Resource {
    Resource {
        name: "studentSchoolAssociations",
        entity: "StudentSchoolAssociation",
        key,
        fields: STUDENT_SCHOOL_ASSOCIATION_FIELDS,
        references: &[SCHOOL_REF, STUDENT_REF],
        key_change,
        lookup: false,
    }
}

/// v3 section key (DS 5): the course offering's key plus `sectionIdentifier`.
const V3_SECTION_REF_KEY: [(&str, &str); 5] = [
    ("localCourseCode", "sectionReference.localCourseCode"),
    ("schoolId", "sectionReference.schoolId"),
    ("schoolYear", "sectionReference.schoolYear"),
    ("sectionIdentifier", "sectionReference.sectionIdentifier"),
    ("sessionName", "sectionReference.sessionName"),
];

/// Resources of ODS/API 7.x, Data Standard 5.
pub static V3: &[Resource] = &[
    SCHOOL_YEAR_TYPES,
    Resource {
        name: "schools",
        entity: "School",
        key: &[("schoolId", "schoolId")],
        fields: &[
            f("schoolId", Int, true),
            f("nameOfInstitution", Str(75), true),
            f("shortNameOfInstitution", Str(75), false),
        ],
        references: &[],
        key_change: false,
        lookup: true,
    },
    Resource {
        name: "courses",
        entity: "Course",
        key: &[
            ("courseCode", "courseCode"),
            (
                "educationOrganizationId",
                "educationOrganizationReference.educationOrganizationId",
            ),
        ],
        fields: &[
            f("courseCode", Str(60), true),
            f(
                "educationOrganizationReference.educationOrganizationId",
                Int,
                true,
            ),
            f("courseTitle", Str(60), true),
            f("numberOfParts", Int, true),
        ],
        references: &[],
        key_change: false,
        lookup: true,
    },
    STAFFS,
    Resource {
        name: "locations",
        entity: "Location",
        key: &[
            ("classroomIdentificationCode", "classroomIdentificationCode"),
            ("schoolId", "schoolReference.schoolId"),
        ],
        fields: &[
            f("classroomIdentificationCode", Str(60), true),
            f("maximumNumberOfSeats", Int, false),
            f("optimalNumberOfSeats", Int, false),
        ],
        references: &[SCHOOL_REF],
        key_change: true,
        lookup: false,
    },
    Resource {
        name: "classPeriods",
        entity: "ClassPeriod",
        key: &[
            ("classPeriodName", "classPeriodName"),
            ("schoolId", "schoolReference.schoolId"),
        ],
        fields: &[
            f("classPeriodName", Str(60), true),
            f("officialAttendancePeriod", Bool, false),
            f("meetingTimes", Array, false),
        ],
        references: &[SCHOOL_REF],
        key_change: true,
        lookup: false,
    },
    Resource {
        name: "gradingPeriods",
        entity: "GradingPeriod",
        key: &[
            ("gradingPeriodDescriptor", "gradingPeriodDescriptor"),
            ("gradingPeriodName", "gradingPeriodName"),
            ("schoolId", "schoolReference.schoolId"),
            ("schoolYear", "schoolYearTypeReference.schoolYear"),
        ],
        fields: &[
            f(
                "gradingPeriodDescriptor",
                Descriptor("GradingPeriodDescriptor"),
                true,
            ),
            f("gradingPeriodName", Str(60), true),
            f("periodSequence", Int, false),
            f("beginDate", Date, true),
            f("endDate", Date, true),
            f("totalInstructionalDays", Int, true),
        ],
        references: &[SCHOOL_REF, SCHOOL_YEAR_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "sessions",
        entity: "Session",
        key: &[
            ("schoolId", "schoolReference.schoolId"),
            ("schoolYear", "schoolYearTypeReference.schoolYear"),
            ("sessionName", "sessionName"),
        ],
        fields: &[
            f("sessionName", Str(60), true),
            f("beginDate", Date, true),
            f("endDate", Date, true),
            f("termDescriptor", Descriptor("TermDescriptor"), true),
            f("totalInstructionalDays", Int, true),
            f("gradingPeriods", Array, false),
            f("academicWeeks", Array, false),
        ],
        references: &[SCHOOL_REF, SCHOOL_YEAR_REF, GRADING_PERIODS_REF],
        key_change: true,
        lookup: false,
    },
    Resource {
        name: "courseOfferings",
        entity: "CourseOffering",
        key: &[
            ("localCourseCode", "localCourseCode"),
            ("schoolId", "schoolReference.schoolId"),
            ("schoolYear", "sessionReference.schoolYear"),
            ("sessionName", "sessionReference.sessionName"),
        ],
        fields: &[
            f("localCourseCode", Str(60), true),
            f("localCourseTitle", Str(60), false),
            f("instructionalTimePlanned", Int, false),
        ],
        references: &[
            r("courseReference", "courses", true),
            SCHOOL_REF,
            r("sessionReference", "sessions", true),
        ],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "sections",
        entity: "Section",
        key: &[
            ("localCourseCode", "courseOfferingReference.localCourseCode"),
            ("schoolId", "courseOfferingReference.schoolId"),
            ("schoolYear", "courseOfferingReference.schoolYear"),
            ("sectionIdentifier", "sectionIdentifier"),
            ("sessionName", "courseOfferingReference.sessionName"),
        ],
        fields: &[
            f("sectionIdentifier", Str(255), true),
            f("sectionName", Str(100), false),
            f("sequenceOfCourse", Int, false),
            f("availableCredits", Number, false),
            f(
                "educationalEnvironmentDescriptor",
                Descriptor("EducationalEnvironmentDescriptor"),
                false,
            ),
            f("classPeriods", Array, false),
        ],
        references: &[
            r("courseOfferingReference", "courseOfferings", true),
            r("locationReference", "locations", false),
            r("locationSchoolReference", "schools", false),
            rc("classPeriods", "classPeriodReference", "classPeriods"),
        ],
        key_change: true,
        lookup: false,
    },
    Resource {
        name: "students",
        entity: "Student",
        key: &[("studentUniqueId", "studentUniqueId")],
        fields: &[
            f("studentUniqueId", Str(32), true),
            f("firstName", Str(75), true),
            f("middleName", Str(75), false),
            f("lastSurname", Str(75), true),
            f("birthDate", Date, true),
            f("birthSexDescriptor", Descriptor("SexDescriptor"), false),
        ],
        references: &[],
        key_change: false,
        lookup: false,
    },
    student_school_associations(
        &[
            ("entryDate", "entryDate"),
            ("schoolId", "schoolReference.schoolId"),
            ("studentUniqueId", "studentReference.studentUniqueId"),
        ],
        true,
    ),
    Resource {
        name: "studentSectionAssociations",
        entity: "StudentSectionAssociation",
        key: &[
            ("beginDate", "beginDate"),
            V3_SECTION_REF_KEY[0],
            V3_SECTION_REF_KEY[1],
            V3_SECTION_REF_KEY[2],
            V3_SECTION_REF_KEY[3],
            V3_SECTION_REF_KEY[4],
            ("studentUniqueId", "studentReference.studentUniqueId"),
        ],
        fields: &[
            f("beginDate", Date, true),
            f("endDate", Date, false),
            f("homeroomIndicator", Bool, false),
        ],
        references: &[SECTION_REF, STUDENT_REF],
        key_change: true,
        lookup: false,
    },
    Resource {
        name: "staffSectionAssociations",
        entity: "StaffSectionAssociation",
        key: &[
            ("beginDate", "beginDate"),
            V3_SECTION_REF_KEY[0],
            V3_SECTION_REF_KEY[1],
            V3_SECTION_REF_KEY[2],
            V3_SECTION_REF_KEY[3],
            V3_SECTION_REF_KEY[4],
            ("staffUniqueId", "staffReference.staffUniqueId"),
        ],
        fields: &[
            f("beginDate", Date, true),
            f("endDate", Date, false),
            f(
                "classroomPositionDescriptor",
                Descriptor("ClassroomPositionDescriptor"),
                true,
            ),
        ],
        references: &[SECTION_REF, STAFF_REF],
        key_change: false,
        lookup: false,
    },
];

/// v2 section key (DS 2): volatile, it includes the class period, the room and the term.
const V2_SECTION_REF_KEY: [(&str, &str); 8] = [
    ("schoolId", "sectionReference.schoolId"),
    ("classPeriodName", "sectionReference.classPeriodName"),
    (
        "classroomIdentificationCode",
        "sectionReference.classroomIdentificationCode",
    ),
    ("localCourseCode", "sectionReference.localCourseCode"),
    ("termDescriptor", "sectionReference.termDescriptor"),
    ("schoolYear", "sectionReference.schoolYear"),
    ("uniqueSectionCode", "sectionReference.uniqueSectionCode"),
    ("sequenceOfCourse", "sectionReference.sequenceOfCourse"),
];

/// Resources of ODS/API 2.x (Data Standard 2) as the Wisconsin v2 host needs them.
pub static V2: &[Resource] = &[
    SCHOOL_YEAR_TYPES,
    Resource {
        name: "schools",
        entity: "School",
        key: &[("schoolId", "schoolId")],
        fields: &[
            f("schoolId", Int, true),
            f("nameOfInstitution", Str(75), true),
        ],
        references: &[],
        key_change: false,
        lookup: true,
    },
    Resource {
        name: "courses",
        entity: "Course",
        key: &[
            (
                "educationOrganizationId",
                "educationOrganizationReference.educationOrganizationId",
            ),
            ("code", "code"),
        ],
        fields: &[
            f("code", Str(60), true),
            f(
                "educationOrganizationReference.educationOrganizationId",
                Int,
                true,
            ),
            f("title", Str(60), true),
            f("numberOfParts", Int, true),
        ],
        references: &[],
        key_change: false,
        lookup: true,
    },
    STAFFS,
    Resource {
        name: "locations",
        entity: "Location",
        key: &[
            ("schoolId", "schoolReference.schoolId"),
            ("classroomIdentificationCode", "classroomIdentificationCode"),
        ],
        fields: &[
            f("classroomIdentificationCode", Str(20), true),
            f("maximumNumberOfSeats", Int, false),
            f("optimalNumberOfSeats", Int, false),
        ],
        references: &[SCHOOL_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "classPeriods",
        entity: "ClassPeriod",
        key: &[("schoolId", "schoolReference.schoolId"), ("name", "name")],
        fields: &[f("name", Str(20), true)],
        references: &[SCHOOL_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "gradingPeriods",
        entity: "GradingPeriod",
        key: &[
            ("schoolId", "schoolReference.schoolId"),
            ("descriptor", "descriptor"),
            ("beginDate", "beginDate"),
        ],
        fields: &[
            f("descriptor", Descriptor("GradingPeriodDescriptor"), true),
            f("beginDate", Date, true),
            f("endDate", Date, true),
            f("totalInstructionalDays", Int, true),
            f("periodSequence", Int, false),
        ],
        references: &[SCHOOL_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "sessions",
        entity: "Session",
        key: &[
            ("schoolId", "schoolReference.schoolId"),
            ("schoolYear", "schoolYearTypeReference.schoolYear"),
            ("termDescriptor", "termDescriptor"),
        ],
        fields: &[
            f("name", Str(60), true),
            f("termDescriptor", Descriptor("TermDescriptor"), true),
            f("beginDate", Date, true),
            f("endDate", Date, true),
            f("totalInstructionalDays", Int, true),
            f("gradingPeriods", Array, false),
        ],
        references: &[SCHOOL_REF, SCHOOL_YEAR_REF, GRADING_PERIODS_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "courseOfferings",
        entity: "CourseOffering",
        key: &[
            ("localCourseCode", "localCourseCode"),
            ("schoolId", "schoolReference.schoolId"),
            ("schoolYear", "sessionReference.schoolYear"),
            ("termDescriptor", "sessionReference.termDescriptor"),
        ],
        fields: &[
            f("localCourseCode", Str(60), true),
            f("localCourseTitle", Str(60), false),
        ],
        references: &[
            r("courseReference", "courses", true),
            SCHOOL_REF,
            r("sessionReference", "sessions", true),
        ],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "sections",
        entity: "Section",
        key: &[
            ("schoolId", "schoolReference.schoolId"),
            ("classPeriodName", "classPeriodReference.name"),
            (
                "classroomIdentificationCode",
                "locationReference.classroomIdentificationCode",
            ),
            ("localCourseCode", "courseOfferingReference.localCourseCode"),
            ("termDescriptor", "courseOfferingReference.termDescriptor"),
            ("schoolYear", "courseOfferingReference.schoolYear"),
            ("uniqueSectionCode", "uniqueSectionCode"),
            ("sequenceOfCourse", "sequenceOfCourse"),
        ],
        fields: &[
            f("uniqueSectionCode", Str(255), true),
            f("sequenceOfCourse", Int, true),
            f("mediumOfInstructionType", Str(50), false),
            f("availableCredits", Number, false),
        ],
        references: &[
            r("classPeriodReference", "classPeriods", true),
            r("courseOfferingReference", "courseOfferings", true),
            r("locationReference", "locations", true),
            SCHOOL_REF,
        ],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "students",
        entity: "Student",
        key: &[("studentUniqueId", "studentUniqueId")],
        fields: &[
            f("studentUniqueId", Str(32), true),
            f("firstName", Str(75), true),
            f("middleName", Str(75), false),
            f("lastSurname", Str(75), true),
            f("birthDate", Date, true),
            f("sexType", Str(15), false),
            f("hispanicLatinoEthnicity", Bool, false),
        ],
        references: &[],
        key_change: false,
        lookup: false,
    },
    student_school_associations(
        &[
            ("studentUniqueId", "studentReference.studentUniqueId"),
            ("schoolId", "schoolReference.schoolId"),
            ("entryDate", "entryDate"),
        ],
        false,
    ),
    Resource {
        name: "studentSectionAssociations",
        entity: "StudentSectionAssociation",
        key: &[
            ("studentUniqueId", "studentReference.studentUniqueId"),
            V2_SECTION_REF_KEY[0],
            V2_SECTION_REF_KEY[1],
            V2_SECTION_REF_KEY[2],
            V2_SECTION_REF_KEY[3],
            V2_SECTION_REF_KEY[4],
            V2_SECTION_REF_KEY[5],
            V2_SECTION_REF_KEY[6],
            V2_SECTION_REF_KEY[7],
            ("beginDate", "beginDate"),
        ],
        fields: &[f("beginDate", Date, true), f("endDate", Date, false)],
        references: &[SECTION_REF, STUDENT_REF],
        key_change: false,
        lookup: false,
    },
    Resource {
        name: "staffSectionAssociations",
        entity: "StaffSectionAssociation",
        key: &[
            ("staffUniqueId", "staffReference.staffUniqueId"),
            V2_SECTION_REF_KEY[0],
            V2_SECTION_REF_KEY[1],
            V2_SECTION_REF_KEY[2],
            V2_SECTION_REF_KEY[3],
            V2_SECTION_REF_KEY[4],
            V2_SECTION_REF_KEY[5],
            V2_SECTION_REF_KEY[6],
            V2_SECTION_REF_KEY[7],
        ],
        fields: &[
            f(
                "classroomPositionDescriptor",
                Descriptor("ClassroomPositionDescriptor"),
                true,
            ),
            f("beginDate", Date, false),
            f("endDate", Date, false),
        ],
        references: &[SECTION_REF, STAFF_REF],
        key_change: false,
        lookup: false,
    },
];

/// Every `{x}Descriptors` collection (e.g. `termDescriptors`) uses this shape; the entity name
/// is derived from the collection name.
pub static DESCRIPTOR: Resource = Resource {
    name: "descriptors",
    entity: "Descriptor",
    key: &[("namespace", "namespace"), ("codeValue", "codeValue")],
    fields: &[
        f("namespace", Str(255), true),
        f("codeValue", Str(50), true),
        f("shortDescription", Str(75), true),
        f("description", Str(1024), false),
    ],
    references: &[],
    key_change: false,
    lookup: true,
};

/// The table for a mode.
#[must_use]
pub fn table(mode: Mode) -> &'static [Resource] {
    match mode {
        Mode::V3 => V3,
        Mode::V2 => V2,
    }
}

/// Whether `name` is a descriptor collection (`termDescriptors`, …).
#[must_use]
pub fn is_descriptor_collection(name: &str) -> bool {
    name.len() > "Descriptors".len()
        && name.ends_with("Descriptors")
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The spec of collection `name` in `mode` (descriptor collections included).
#[must_use]
pub fn find(mode: Mode, name: &str) -> Option<&'static Resource> {
    table(mode)
        .iter()
        .find(|res| res.name == name)
        .or_else(|| is_descriptor_collection(name).then_some(&DESCRIPTOR))
}

/// The collection holding a descriptor's values: `TermDescriptor` → `termDescriptors`.
#[must_use]
pub fn descriptor_collection(descriptor: &str) -> String {
    let mut chars = descriptor.chars();
    chars.next().map_or_else(String::new, |c| {
        format!("{}{}s", c.to_ascii_lowercase(), chars.as_str())
    })
}

/// The entity name of a collection: the table's, or `TermDescriptor` for `termDescriptors`.
#[must_use]
pub fn entity_name(spec: &Resource, collection: &str) -> String {
    if std::ptr::eq(spec, &DESCRIPTOR) {
        let singular = collection.strip_suffix('s').unwrap_or(collection);
        pascal(singular)
    } else {
        spec.entity.to_owned()
    }
}

/// `lastSurname` → `LastSurname` (the API's message style).
#[must_use]
pub fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| {
        format!("{}{}", c.to_ascii_uppercase(), chars.as_str())
    })
}

/// Persons whose unresolved references ODS/API ≤ 5.x answered with 400 instead of 409.
#[must_use]
pub fn is_person(target: &str) -> bool {
    matches!(target, "students" | "staffs" | "parents" | "contacts")
}
