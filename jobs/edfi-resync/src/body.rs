//! Each record's JSON body for the chosen Data Standard, with its natural key, a canonical key
//! string and a content hash.
//!
//! The sync engine keeps, per resource and canonical key, the host's id and the content hash of
//! what it last sent, and sends only records whose hash changed; so the key must be stable across
//! runs (natural-key values in the table's order, JSON-encoded) and the hash must not depend on
//! field order (SHA-256 of the body's JSON with object keys sorted). The natural key is taken out
//! of the built body with the paths of [`crate::model`], never assembled apart, so key and body
//! cannot disagree. Descriptors are `uri://{namespace}/{Name}Descriptor#{code}` on v3 and the
//! bare code value on v2 (seed: "If the element is reporting a Descriptor, the Ed-Fi Code Value
//! is reported"); v2 Types are their short descriptions.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::EdfiError;
use crate::model::{self, Resource, Standard};
use crate::transform::{Plan, Section, SectionAssociation};

/// One record to be in the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub resource: Resource,
    /// The natural-key values, in the order of the standard's table.
    pub natural_key: Vec<(String, Value)>,
    pub body: Value,
}

impl Record {
    /// The stable key of the record among its resource's records: `path=json|path=json…`.
    pub fn key(&self) -> String {
        canonical_key(&self.natural_key)
    }

    /// SHA-256 (lower-case hex) of the body's canonical JSON (object keys sorted).
    pub fn hash(&self) -> String {
        content_hash(&self.body)
    }
}

/// The canonical key string of natural-key values.
pub fn canonical_key(natural_key: &[(String, Value)]) -> String {
    natural_key
        .iter()
        .map(|(path, value)| format!("{path}={}", canonical_json(value)))
        .collect::<Vec<_>>()
        .join("|")
}

/// SHA-256 of [`canonical_json`], in lower-case hex.
pub fn content_hash(body: &Value) -> String {
    let digest = Sha256::digest(canonical_json(body).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// How descriptors and standard-specific values are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyOptions {
    pub standard: Standard,
    /// v3 only: `uri://ed-fi.org` or the state's namespace.
    pub descriptor_namespace: String,
}

impl BodyOptions {
    /// A descriptor value: a URI on v3, the code value on v2.
    pub fn descriptor(&self, name: &str, code: &str) -> Value {
        match self.standard {
            Standard::Ds5 => Value::String(format!(
                "{}/{name}Descriptor#{code}",
                self.descriptor_namespace
            )),
            Standard::V2 => Value::String(code.to_owned()),
        }
    }
}

/// Seed "Section" medium of instruction: the code table (1–13) and its short descriptions,
/// which are also Data Standard 5's MediumOfInstructionDescriptor code values.
pub const MEDIUM_OF_INSTRUCTION: [(&str, &str); 13] = [
    ("1", "Center-based instruction"),
    ("2", "Correspondence instruction"),
    ("3", "Distance Learning (other than online)"),
    ("4", "Face-to-face instruction"),
    ("5", "Independent study"),
    ("6", "Internship"),
    ("7", "Other"),
    ("8", "Other technology-based instruction"),
    ("9", "Technology-based instruction in classroom"),
    ("10", "Telepresence/video conference"),
    ("11", "Televised"),
    ("12", "Videotaped/prerecorded video"),
    ("13", "Virtual/On-line Distance learning"),
];

/// The short description of a medium of instruction given as its code (1–13) or its text.
pub fn medium_of_instruction(value: &str) -> Option<&'static str> {
    MEDIUM_OF_INSTRUCTION
        .iter()
        .find(|(code, text)| *code == value || text.eq_ignore_ascii_case(value))
        .map(|(_, text)| *text)
}

/// Every record of `plan`, resource by resource in the standard's write order.
///
/// # Errors
/// A medium of instruction outside the seed's table, or two different bodies with one natural
/// key.
pub fn build(plan: &Plan, options: &BodyOptions) -> Result<Vec<Record>, EdfiError> {
    let table = model::table(options.standard);
    let mut records = Vec::new();
    for spec in table.write {
        let bodies = bodies(plan, options, spec.resource)?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for body in bodies {
            let record = record(options.standard, spec.resource, body)?;
            let key = record.key();
            match seen.get(&key) {
                Some(&i) if records_equal(&records, i, &record) => {}
                Some(_) => {
                    return Err(EdfiError::DuplicateKey {
                        resource: spec.resource,
                        key,
                    });
                }
                None => {
                    seen.insert(key, records.len());
                    records.push(record);
                }
            }
        }
    }
    Ok(records)
}

fn records_equal(records: &[Record], i: usize, record: &Record) -> bool {
    records.get(i).is_some_and(|r| r.body == record.body)
}

/// A record of `resource` from its body: the natural key is read out of the body.
///
/// # Errors
/// [`EdfiError::MissingKeyField`] when the body lacks a natural-key field.
pub fn record(standard: Standard, resource: Resource, body: Value) -> Result<Record, EdfiError> {
    let spec = model::table(standard)
        .spec(resource)
        .ok_or(EdfiError::MissingKeyField {
            resource,
            field: "(resource not in this Data Standard)",
        })?;
    let natural_key = spec
        .natural_key
        .iter()
        .map(|path| {
            model::value_at(&body, path)
                .filter(|v| !v.is_null())
                .map(|v| ((*path).to_owned(), v.clone()))
                .ok_or(EdfiError::MissingKeyField {
                    resource,
                    field: path,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Record {
        resource,
        natural_key,
        body,
    })
}

/// Puts `value` under `key` when it is `Some`.
fn opt(map: &mut Value, key: &str, value: Option<Value>) {
    if let (Some(value), Value::Object(map)) = (value, map) {
        map.insert(key.to_owned(), value);
    }
}

fn school(id: i64) -> Value {
    json!({ "schoolId": id })
}

/// The bodies of one resource.
fn bodies(plan: &Plan, o: &BodyOptions, resource: Resource) -> Result<Vec<Value>, EdfiError> {
    let v3 = o.standard == Standard::Ds5;
    let mut out = Vec::new();
    match resource {
        Resource::Locations => {
            for l in &plan.locations {
                let mut b = json!({
                    "schoolReference": school(l.school_id),
                    "classroomIdentificationCode": l.classroom_identification_code,
                });
                opt(
                    &mut b,
                    "maximumNumberOfSeats",
                    l.maximum_number_of_seats.map(Value::from),
                );
                out.push(b);
            }
        }
        Resource::ClassPeriods => {
            let name = if v3 { "classPeriodName" } else { "name" };
            for c in &plan.class_periods {
                let mut b = json!({ "schoolReference": school(c.school_id) });
                opt(&mut b, name, Some(Value::from(c.name.clone())));
                out.push(b);
            }
        }
        Resource::GradingPeriods => {
            for g in &plan.grading_periods {
                let mut b = if v3 {
                    json!({
                        "schoolReference": school(g.school_id),
                        "schoolYearTypeReference": {"schoolYear": g.school_year},
                        "gradingPeriodDescriptor": o.descriptor("GradingPeriod", &g.descriptor),
                        "gradingPeriodName": g.name,
                        "beginDate": g.begin_date.to_string(),
                        "endDate": g.end_date.to_string(),
                    })
                } else {
                    json!({
                        "schoolReference": school(g.school_id),
                        "descriptor": g.descriptor,
                        "beginDate": g.begin_date.to_string(),
                        "endDate": g.end_date.to_string(),
                    })
                };
                opt(
                    &mut b,
                    "totalInstructionalDays",
                    g.total_instructional_days.map(Value::from),
                );
                out.push(b);
            }
        }
        Resource::Sessions => {
            for s in &plan.sessions {
                let refs: Vec<Value> = s
                    .grading_periods
                    .iter()
                    .filter_map(|i| plan.grading_periods.get(*i))
                    .map(|g| {
                        let r = if v3 {
                            json!({
                                "schoolId": g.school_id,
                                "schoolYear": g.school_year,
                                "gradingPeriodDescriptor": o.descriptor("GradingPeriod", &g.descriptor),
                                "gradingPeriodName": g.name,
                            })
                        } else {
                            json!({
                                "schoolId": g.school_id,
                                "descriptor": g.descriptor,
                                "beginDate": g.begin_date.to_string(),
                            })
                        };
                        json!({ "gradingPeriodReference": r })
                    })
                    .collect();
                let mut b = json!({
                    "schoolReference": school(s.school_id),
                    "schoolYearTypeReference": {"schoolYear": s.school_year},
                    "termDescriptor": o.descriptor("Term", &s.term_descriptor),
                    "beginDate": s.begin_date.to_string(),
                    "endDate": s.end_date.to_string(),
                    "totalInstructionalDays": s.total_instructional_days,
                    "gradingPeriods": refs,
                });
                opt(
                    &mut b,
                    if v3 { "sessionName" } else { "name" },
                    Some(Value::from(s.name.clone())),
                );
                out.push(b);
            }
        }
        Resource::CourseOfferings => {
            for c in &plan.course_offerings {
                let mut b = if v3 {
                    json!({
                        "courseReference": {
                            "courseCode": c.course_code,
                            "educationOrganizationId": c.course_education_organization_id,
                        },
                        "schoolReference": school(c.school_id),
                        "sessionReference": {
                            "schoolId": c.school_id,
                            "schoolYear": c.school_year,
                            "sessionName": c.session_name,
                        },
                        "localCourseCode": c.local_course_code,
                    })
                } else {
                    json!({
                        "courseReference": {
                            "educationOrganizationId": c.course_education_organization_id,
                            "code": c.course_code,
                        },
                        "schoolReference": school(c.school_id),
                        "sessionReference": {
                            "schoolId": c.school_id,
                            "schoolYear": c.school_year,
                            "termDescriptor": c.term_descriptor,
                        },
                        "localCourseCode": c.local_course_code,
                    })
                };
                opt(
                    &mut b,
                    "localCourseTitle",
                    c.local_course_title.clone().map(Value::from),
                );
                out.push(b);
            }
        }
        Resource::Sections => {
            for s in &plan.sections {
                let medium =
                    match &s.medium_of_instruction {
                        None => None,
                        Some(m) => Some(medium_of_instruction(m).ok_or_else(|| {
                            EdfiError::Malformed {
                                relation: crate::source::SECTIONS,
                                key: s.id.to_string(),
                                column: "medium_of_instruction",
                                value: format!("{m:?}"),
                                expected: "a medium of instruction code 1-13 (seed \"Section\")",
                            }
                        })?),
                    };
                if v3 {
                    let mut b = json!({
                        "courseOfferingReference": ds5_offering_ref(s),
                        "locationReference": {
                            "schoolId": s.id.school_id,
                            "classroomIdentificationCode": s.location,
                        },
                        "sectionIdentifier": s.id.section_id,
                        "sequenceOfCourse": s.sequence_of_course,
                        "classPeriods": s.class_periods.iter().map(|cp| json!({
                            "classPeriodReference": {"schoolId": s.id.school_id, "classPeriodName": cp}
                        })).collect::<Vec<_>>(),
                    });
                    opt(
                        &mut b,
                        "sectionName",
                        s.section_name.clone().map(Value::from),
                    );
                    opt(
                        &mut b,
                        "mediumOfInstructionDescriptor",
                        medium.map(|m| o.descriptor("MediumOfInstruction", m)),
                    );
                    out.push(b);
                } else {
                    for cp in &s.class_periods {
                        let mut b = json!({
                            "classPeriodReference": {"schoolId": s.id.school_id, "name": cp},
                            "courseOfferingReference": {
                                "localCourseCode": s.id.local_course_code,
                                "schoolId": s.id.school_id,
                                "schoolYear": s.id.school_year,
                                "termDescriptor": s.id.term_descriptor,
                            },
                            "locationReference": {
                                "schoolId": s.id.school_id,
                                "classroomIdentificationCode": s.location,
                            },
                            "schoolReference": school(s.id.school_id),
                            "uniqueSectionCode": s.id.section_id,
                            "sequenceOfCourse": s.sequence_of_course,
                        });
                        opt(&mut b, "mediumOfInstructionType", medium.map(Value::from));
                        out.push(b);
                    }
                }
            }
        }
        Resource::Students => {
            for s in &plan.students {
                let mut b = json!({
                    "studentUniqueId": s.student_unique_id,
                    "firstName": s.first_name,
                    "lastSurname": s.last_surname,
                    "birthDate": s.birth_date.to_string(),
                });
                opt(&mut b, "middleName", s.middle_name.clone().map(Value::from));
                opt(
                    &mut b,
                    "generationCodeSuffix",
                    s.generation_code_suffix.clone().map(Value::from),
                );
                if !v3 {
                    // Data Standard 5 keeps sex and ethnicity on the student's education
                    // organization association, which this job does not write.
                    opt(&mut b, "sexType", Some(Value::from(s.sex)));
                    opt(
                        &mut b,
                        "hispanicLatinoEthnicity",
                        Some(Value::from(s.hispanic_latino_ethnicity)),
                    );
                }
                out.push(b);
            }
        }
        Resource::StudentSchoolAssociations => {
            for e in &plan.enrollments {
                let mut b = json!({
                    "schoolReference": school(e.school_id),
                    "studentReference": {"studentUniqueId": e.student_unique_id},
                    "entryDate": e.entry_date.to_string(),
                    "entryGradeLevelDescriptor": o.descriptor("GradeLevel", &e.entry_grade_level),
                    // Seed "Student School Association": primarySchool "Always True".
                    "primarySchool": true,
                });
                opt(
                    &mut b,
                    "entryTypeDescriptor",
                    e.entry_type
                        .as_deref()
                        .map(|c| o.descriptor("EntryType", c)),
                );
                opt(
                    &mut b,
                    "exitWithdrawDate",
                    e.exit_withdraw_date.map(|d| Value::from(d.to_string())),
                );
                opt(
                    &mut b,
                    "exitWithdrawTypeDescriptor",
                    e.exit_withdraw_type
                        .as_deref()
                        .map(|c| o.descriptor("ExitWithdrawType", c)),
                );
                out.push(b);
            }
        }
        Resource::StudentSectionAssociations | Resource::StaffSectionAssociations => {
            let staff = resource == Resource::StaffSectionAssociations;
            let list = if staff { &plan.staff } else { &plan.rosters };
            for a in list {
                let Some(section) = plan.sections.get(a.section) else {
                    continue;
                };
                for reference in section_refs(section, v3) {
                    out.push(association(o, staff, a, reference));
                }
            }
        }
        Resource::Schools | Resource::Courses | Resource::Staffs | Resource::SchoolYearTypes => {}
    }
    Ok(out)
}

fn ds5_offering_ref(s: &Section) -> Value {
    json!({
        "localCourseCode": s.id.local_course_code,
        "schoolId": s.id.school_id,
        "schoolYear": s.id.school_year,
        "sessionName": s.session_name,
    })
}

/// The section references of a section: one on v3, one per class period on v2 (each is its own
/// v2 Section record).
fn section_refs(s: &Section, v3: bool) -> Vec<Value> {
    if v3 {
        let mut r = ds5_offering_ref(s);
        opt(
            &mut r,
            "sectionIdentifier",
            Some(Value::from(s.id.section_id.clone())),
        );
        vec![r]
    } else {
        s.class_periods
            .iter()
            .map(|cp| {
                json!({
                    "schoolId": s.id.school_id,
                    "classPeriodName": cp,
                    "classroomIdentificationCode": s.location,
                    "localCourseCode": s.id.local_course_code,
                    "termDescriptor": s.id.term_descriptor,
                    "schoolYear": s.id.school_year,
                    "uniqueSectionCode": s.id.section_id,
                    "sequenceOfCourse": s.sequence_of_course,
                })
            })
            .collect()
    }
}

fn association(o: &BodyOptions, staff: bool, a: &SectionAssociation, section: Value) -> Value {
    let mut b = Map::new();
    b.insert("sectionReference".into(), section);
    if staff {
        b.insert("staffReference".into(), json!({"staffUniqueId": a.person}));
        if let Some(p) = &a.classroom_position {
            b.insert(
                "classroomPositionDescriptor".into(),
                o.descriptor("ClassroomPosition", p),
            );
        }
    } else {
        b.insert(
            "studentReference".into(),
            json!({"studentUniqueId": a.person}),
        );
    }
    b.insert("beginDate".into(), Value::from(a.begin_date.to_string()));
    b.insert("endDate".into(), Value::from(a.end_date.to_string()));
    Value::Object(b)
}

#[cfg(test)]
mod tests;
