//! The Ed-Fi resources the job touches, declared once per Data Standard as data.
//!
//! Natural keys and references differ between Data Standards (a v2 Section is keyed by its class
//! period, room and term; a Data Standard 5 Section by its session and section identifier), and a
//! sync job that scattered them through code would send wrong keys the day one changed. So each
//! standard is one [`DataStandard`] table: the write set in dependency order (parents first; the
//! engine deletes in the reverse order), each resource's natural key as JSON paths into its body,
//! its references (which resource each points at and which of the target's key fields it
//! carries), whether it is ever deleted, and the state-owned lookups that are only read. The body
//! builder ([`crate::body`]) takes each record's natural key out of its body with these paths,
//! and the tests check every reference against the target's key, so body and table cannot
//! drift. Adding a Data Standard is adding one more table and its body shapes.

use serde_json::Value;

/// A Data Standard (and the API generation that serves it) the job can write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standard {
    /// Ed-Fi Data Standard 5 on ODS/API 7.x: `/data/v3/ed-fi/{resource}`, descriptor URIs.
    Ds5,
    /// The Wisconsin Ed-Fi v2.0 host (ODS/API 2.x): `/api/v2.0/{year}/{resource}`, descriptor
    /// code values and type short descriptions.
    V2,
}

impl Standard {
    /// The `api` setting that selects this standard.
    pub fn api_name(self) -> &'static str {
        match self {
            Standard::Ds5 => "v3",
            Standard::V2 => "v2",
        }
    }
}

/// A resource the job writes or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Locations,
    ClassPeriods,
    GradingPeriods,
    Sessions,
    CourseOfferings,
    Sections,
    Students,
    StudentSchoolAssociations,
    StudentSectionAssociations,
    StaffSectionAssociations,
    /// State-owned: read only.
    Schools,
    /// State-owned (DPI's education organization 48856 in Wisconsin): read only.
    Courses,
    /// State-populated (WISEid): read only.
    Staffs,
    /// The school years the host knows: read only.
    SchoolYearTypes,
}

impl Resource {
    /// The resource's name in URLs (`/data/v3/ed-fi/{name}`, `/api/v2.0/{year}/{name}`); the same
    /// in both standards.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Locations => "locations",
            Resource::ClassPeriods => "classPeriods",
            Resource::GradingPeriods => "gradingPeriods",
            Resource::Sessions => "sessions",
            Resource::CourseOfferings => "courseOfferings",
            Resource::Sections => "sections",
            Resource::Students => "students",
            Resource::StudentSchoolAssociations => "studentSchoolAssociations",
            Resource::StudentSectionAssociations => "studentSectionAssociations",
            Resource::StaffSectionAssociations => "staffSectionAssociations",
            Resource::Schools => "schools",
            Resource::Courses => "courses",
            Resource::Staffs => "staffs",
            Resource::SchoolYearTypes => "schoolYearTypes",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One reference a resource's body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// Where the reference object sits in the body: `sectionReference`, or with `[]` for each
    /// element of an array, `classPeriods[].classPeriodReference`.
    pub path: &'static str,
    /// The resource it points at (a write-set resource earlier in the order, or a lookup).
    pub target: Resource,
    /// Each field of the reference object, with the path of the target's natural-key field it
    /// holds. Together they cover the target's whole natural key.
    pub keys: &'static [(&'static str, &'static str)],
}

/// One resource of a Data Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSpec {
    pub resource: Resource,
    /// The natural key, as JSON paths into the body (`schoolReference.schoolId`,
    /// `classPeriodName`), in a fixed order: the order of [`crate::body::Record::natural_key`].
    pub natural_key: &'static [&'static str],
    /// The references the body carries.
    pub references: &'static [Reference],
    /// Never deleted from the host, even when the SIS no longer has the record (seed: students
    /// are shared across districts, sessions are "only used as a reference", grading periods are
    /// "required for Sessions").
    pub never_delete: bool,
}

/// Everything the job knows about one Data Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataStandard {
    pub standard: Standard,
    /// The ten resources the job writes, parents first (POST in this order, DELETE in reverse).
    pub write: &'static [ResourceSpec],
    /// The state-owned resources the job only reads (GET) to resolve references.
    pub lookups: &'static [ResourceSpec],
}

impl DataStandard {
    /// The write-set or lookup entry of `resource`.
    pub fn spec(&self, resource: Resource) -> Option<&'static ResourceSpec> {
        self.write
            .iter()
            .chain(self.lookups.iter())
            .find(|s| s.resource == resource)
    }

    /// The position of `resource` in the write order; `None` for a lookup.
    pub fn position(&self, resource: Resource) -> Option<usize> {
        self.write.iter().position(|s| s.resource == resource)
    }
}

/// The table of `standard`.
pub fn table(standard: Standard) -> &'static DataStandard {
    match standard {
        Standard::Ds5 => &DS5,
        Standard::V2 => &V2,
    }
}

const SCHOOL_REF: Reference = Reference {
    path: "schoolReference",
    target: Resource::Schools,
    keys: &[("schoolId", "schoolId")],
};

const SCHOOL_YEAR_REF: Reference = Reference {
    path: "schoolYearTypeReference",
    target: Resource::SchoolYearTypes,
    keys: &[("schoolYear", "schoolYear")],
};

const STUDENT_REF: Reference = Reference {
    path: "studentReference",
    target: Resource::Students,
    keys: &[("studentUniqueId", "studentUniqueId")],
};

const STAFF_REF: Reference = Reference {
    path: "staffReference",
    target: Resource::Staffs,
    keys: &[("staffUniqueId", "staffUniqueId")],
};

const LOCATION_REF: Reference = Reference {
    path: "locationReference",
    target: Resource::Locations,
    keys: &[
        ("schoolId", "schoolReference.schoolId"),
        ("classroomIdentificationCode", "classroomIdentificationCode"),
    ],
};

/// A state-owned resource the job only reads: no references, never deleted.
const fn lookup(resource: Resource, natural_key: &'static [&'static str]) -> ResourceSpec {
    ResourceSpec {
        resource,
        natural_key,
        references: &[],
        never_delete: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Resources both standards declare alike.

const LOCATIONS: ResourceSpec = ResourceSpec {
    resource: Resource::Locations,
    natural_key: &["schoolReference.schoolId", "classroomIdentificationCode"],
    references: &[SCHOOL_REF],
    never_delete: false,
};

const STUDENTS: ResourceSpec = ResourceSpec {
    resource: Resource::Students,
    natural_key: &["studentUniqueId"],
    references: &[],
    never_delete: true,
};

const STUDENT_SCHOOL_ASSOCIATIONS: ResourceSpec = ResourceSpec {
    resource: Resource::StudentSchoolAssociations,
    natural_key: &[
        "schoolReference.schoolId",
        "studentReference.studentUniqueId",
        "entryDate",
    ],
    references: &[SCHOOL_REF, STUDENT_REF],
    never_delete: false,
};

const SCHOOLS: ResourceSpec = lookup(Resource::Schools, &["schoolId"]);

const STAFFS: ResourceSpec = lookup(Resource::Staffs, &["staffUniqueId"]);

const SCHOOL_YEAR_TYPES: ResourceSpec = lookup(Resource::SchoolYearTypes, &["schoolYear"]);

// ---------------------------------------------------------------------------------------------
// Data Standard 5 (ODS/API 7.x).

const DS5_SECTION_REF: Reference = Reference {
    path: "sectionReference",
    target: Resource::Sections,
    keys: &[
        ("localCourseCode", "courseOfferingReference.localCourseCode"),
        ("schoolId", "courseOfferingReference.schoolId"),
        ("schoolYear", "courseOfferingReference.schoolYear"),
        ("sessionName", "courseOfferingReference.sessionName"),
        ("sectionIdentifier", "sectionIdentifier"),
    ],
};

const DS5_SECTION_KEY: [&str; 5] = [
    "sectionReference.localCourseCode",
    "sectionReference.schoolId",
    "sectionReference.schoolYear",
    "sectionReference.sessionName",
    "sectionReference.sectionIdentifier",
];

static DS5: DataStandard = DataStandard {
    standard: Standard::Ds5,
    write: &[
        LOCATIONS,
        ResourceSpec {
            resource: Resource::ClassPeriods,
            natural_key: &["schoolReference.schoolId", "classPeriodName"],
            references: &[SCHOOL_REF],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::GradingPeriods,
            natural_key: &[
                "schoolReference.schoolId",
                "schoolYearTypeReference.schoolYear",
                "gradingPeriodDescriptor",
                "gradingPeriodName",
            ],
            references: &[SCHOOL_REF, SCHOOL_YEAR_REF],
            never_delete: true,
        },
        ResourceSpec {
            resource: Resource::Sessions,
            natural_key: &[
                "schoolReference.schoolId",
                "schoolYearTypeReference.schoolYear",
                "sessionName",
            ],
            references: &[
                SCHOOL_REF,
                SCHOOL_YEAR_REF,
                Reference {
                    path: "gradingPeriods[].gradingPeriodReference",
                    target: Resource::GradingPeriods,
                    keys: &[
                        ("schoolId", "schoolReference.schoolId"),
                        ("schoolYear", "schoolYearTypeReference.schoolYear"),
                        ("gradingPeriodDescriptor", "gradingPeriodDescriptor"),
                        ("gradingPeriodName", "gradingPeriodName"),
                    ],
                },
            ],
            never_delete: true,
        },
        ResourceSpec {
            resource: Resource::CourseOfferings,
            natural_key: &[
                "localCourseCode",
                "schoolReference.schoolId",
                "sessionReference.schoolYear",
                "sessionReference.sessionName",
            ],
            references: &[
                Reference {
                    path: "courseReference",
                    target: Resource::Courses,
                    keys: &[
                        ("courseCode", "courseCode"),
                        (
                            "educationOrganizationId",
                            "educationOrganizationReference.educationOrganizationId",
                        ),
                    ],
                },
                SCHOOL_REF,
                Reference {
                    path: "sessionReference",
                    target: Resource::Sessions,
                    keys: &[
                        ("schoolId", "schoolReference.schoolId"),
                        ("schoolYear", "schoolYearTypeReference.schoolYear"),
                        ("sessionName", "sessionName"),
                    ],
                },
            ],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::Sections,
            natural_key: &[
                "courseOfferingReference.localCourseCode",
                "courseOfferingReference.schoolId",
                "courseOfferingReference.schoolYear",
                "courseOfferingReference.sessionName",
                "sectionIdentifier",
            ],
            references: &[
                Reference {
                    path: "courseOfferingReference",
                    target: Resource::CourseOfferings,
                    keys: &[
                        ("localCourseCode", "localCourseCode"),
                        ("schoolId", "schoolReference.schoolId"),
                        ("schoolYear", "sessionReference.schoolYear"),
                        ("sessionName", "sessionReference.sessionName"),
                    ],
                },
                LOCATION_REF,
                Reference {
                    path: "classPeriods[].classPeriodReference",
                    target: Resource::ClassPeriods,
                    keys: &[
                        ("schoolId", "schoolReference.schoolId"),
                        ("classPeriodName", "classPeriodName"),
                    ],
                },
            ],
            never_delete: false,
        },
        STUDENTS,
        STUDENT_SCHOOL_ASSOCIATIONS,
        ResourceSpec {
            resource: Resource::StudentSectionAssociations,
            natural_key: &[
                DS5_SECTION_KEY[0],
                DS5_SECTION_KEY[1],
                DS5_SECTION_KEY[2],
                DS5_SECTION_KEY[3],
                DS5_SECTION_KEY[4],
                "studentReference.studentUniqueId",
                "beginDate",
            ],
            references: &[DS5_SECTION_REF, STUDENT_REF],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::StaffSectionAssociations,
            natural_key: &[
                DS5_SECTION_KEY[0],
                DS5_SECTION_KEY[1],
                DS5_SECTION_KEY[2],
                DS5_SECTION_KEY[3],
                DS5_SECTION_KEY[4],
                "staffReference.staffUniqueId",
                "beginDate",
            ],
            references: &[DS5_SECTION_REF, STAFF_REF],
            never_delete: false,
        },
    ],
    lookups: &[
        SCHOOLS,
        lookup(
            Resource::Courses,
            &[
                "courseCode",
                "educationOrganizationReference.educationOrganizationId",
            ],
        ),
        STAFFS,
        SCHOOL_YEAR_TYPES,
    ],
};

// ---------------------------------------------------------------------------------------------
// Wisconsin v2 (ODS/API 2.x, Data Standard 2.0).

/// The v2 section reference: eight fields, class period, room and term included (seed
/// "Section"; the volatile key that makes the seed re-key sections).
const V2_SECTION_REF: Reference = Reference {
    path: "sectionReference",
    target: Resource::Sections,
    keys: &[
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
};

const V2_SECTION_KEY: [&str; 8] = [
    "sectionReference.schoolId",
    "sectionReference.classPeriodName",
    "sectionReference.classroomIdentificationCode",
    "sectionReference.localCourseCode",
    "sectionReference.termDescriptor",
    "sectionReference.schoolYear",
    "sectionReference.uniqueSectionCode",
    "sectionReference.sequenceOfCourse",
];

static V2: DataStandard = DataStandard {
    standard: Standard::V2,
    write: &[
        LOCATIONS,
        ResourceSpec {
            resource: Resource::ClassPeriods,
            natural_key: &["schoolReference.schoolId", "name"],
            references: &[SCHOOL_REF],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::GradingPeriods,
            natural_key: &["schoolReference.schoolId", "descriptor", "beginDate"],
            references: &[SCHOOL_REF],
            never_delete: true,
        },
        ResourceSpec {
            resource: Resource::Sessions,
            natural_key: &[
                "schoolReference.schoolId",
                "schoolYearTypeReference.schoolYear",
                "termDescriptor",
            ],
            references: &[
                SCHOOL_REF,
                SCHOOL_YEAR_REF,
                Reference {
                    path: "gradingPeriods[].gradingPeriodReference",
                    target: Resource::GradingPeriods,
                    keys: &[
                        ("schoolId", "schoolReference.schoolId"),
                        ("descriptor", "descriptor"),
                        ("beginDate", "beginDate"),
                    ],
                },
            ],
            never_delete: true,
        },
        ResourceSpec {
            resource: Resource::CourseOfferings,
            natural_key: &[
                "localCourseCode",
                "schoolReference.schoolId",
                "sessionReference.schoolYear",
                "sessionReference.termDescriptor",
            ],
            references: &[
                Reference {
                    path: "courseReference",
                    target: Resource::Courses,
                    keys: &[
                        (
                            "educationOrganizationId",
                            "educationOrganizationReference.educationOrganizationId",
                        ),
                        ("code", "code"),
                    ],
                },
                SCHOOL_REF,
                Reference {
                    path: "sessionReference",
                    target: Resource::Sessions,
                    keys: &[
                        ("schoolId", "schoolReference.schoolId"),
                        ("schoolYear", "schoolYearTypeReference.schoolYear"),
                        ("termDescriptor", "termDescriptor"),
                    ],
                },
            ],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::Sections,
            natural_key: &[
                "schoolReference.schoolId",
                "classPeriodReference.name",
                "locationReference.classroomIdentificationCode",
                "courseOfferingReference.localCourseCode",
                "courseOfferingReference.termDescriptor",
                "courseOfferingReference.schoolYear",
                "uniqueSectionCode",
                "sequenceOfCourse",
            ],
            references: &[
                Reference {
                    path: "classPeriodReference",
                    target: Resource::ClassPeriods,
                    keys: &[("schoolId", "schoolReference.schoolId"), ("name", "name")],
                },
                Reference {
                    path: "courseOfferingReference",
                    target: Resource::CourseOfferings,
                    keys: &[
                        ("localCourseCode", "localCourseCode"),
                        ("schoolId", "schoolReference.schoolId"),
                        ("schoolYear", "sessionReference.schoolYear"),
                        ("termDescriptor", "sessionReference.termDescriptor"),
                    ],
                },
                LOCATION_REF,
                SCHOOL_REF,
            ],
            never_delete: false,
        },
        STUDENTS,
        STUDENT_SCHOOL_ASSOCIATIONS,
        ResourceSpec {
            resource: Resource::StudentSectionAssociations,
            natural_key: &[
                V2_SECTION_KEY[0],
                V2_SECTION_KEY[1],
                V2_SECTION_KEY[2],
                V2_SECTION_KEY[3],
                V2_SECTION_KEY[4],
                V2_SECTION_KEY[5],
                V2_SECTION_KEY[6],
                V2_SECTION_KEY[7],
                "studentReference.studentUniqueId",
                "beginDate",
            ],
            references: &[V2_SECTION_REF, STUDENT_REF],
            never_delete: false,
        },
        ResourceSpec {
            resource: Resource::StaffSectionAssociations,
            natural_key: &[
                V2_SECTION_KEY[0],
                V2_SECTION_KEY[1],
                V2_SECTION_KEY[2],
                V2_SECTION_KEY[3],
                V2_SECTION_KEY[4],
                V2_SECTION_KEY[5],
                V2_SECTION_KEY[6],
                V2_SECTION_KEY[7],
                "staffReference.staffUniqueId",
            ],
            references: &[V2_SECTION_REF, STAFF_REF],
            never_delete: false,
        },
    ],
    lookups: &[
        SCHOOLS,
        lookup(
            Resource::Courses,
            &[
                "educationOrganizationReference.educationOrganizationId",
                "code",
            ],
        ),
        STAFFS,
        SCHOOL_YEAR_TYPES,
    ],
};

/// The value at a dotted path (`schoolReference.schoolId`) of a body; `None` when a step is
/// missing or not an object. Paths with `[]` are for [`values_at`].
pub fn value_at<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |v, step| v.get(step))
}

impl Reference {
    /// For each reference object this reference has in `body` (one per element inside an
    /// array), the natural key of the record it points at, as `(target key path, value)` in the
    /// order of `target_key` (the target's natural key); `None` for an object lacking one of
    /// the fields. What the sync checks against the host and the tests check against the
    /// fixtures.
    pub fn target_keys(
        &self,
        body: &Value,
        target_key: &[&str],
    ) -> Vec<Option<Vec<(String, Value)>>> {
        values_at(body, self.path)
            .into_iter()
            .map(|object| {
                target_key
                    .iter()
                    .map(|target_path| {
                        let (field, _) = self.keys.iter().find(|(_, p)| p == target_path)?;
                        let value = object.get(*field)?;
                        Some(((*target_path).to_owned(), value.clone()))
                    })
                    .collect()
            })
            .collect()
    }
}

/// Every value at a path that may step into arrays (`classPeriods[].classPeriodReference`): one
/// per array element, none when the path is missing.
pub fn values_at<'a>(body: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![body];
    for step in path.split('.') {
        let (name, each) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        current = current
            .into_iter()
            .filter_map(|v| v.get(name))
            .flat_map(|v| match (each, v) {
                (true, Value::Array(items)) => items.iter().collect::<Vec<_>>(),
                (true, _) => Vec::new(),
                (false, v) => vec![v],
            })
            .collect();
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARDS: [Standard; 2] = [Standard::Ds5, Standard::V2];

    #[test]
    fn write_order_is_the_seed_dependency_order() {
        for standard in STANDARDS {
            let names: Vec<&str> = table(standard)
                .write
                .iter()
                .map(|s| s.resource.name())
                .collect();
            assert_eq!(
                names,
                [
                    "locations",
                    "classPeriods",
                    "gradingPeriods",
                    "sessions",
                    "courseOfferings",
                    "sections",
                    "students",
                    "studentSchoolAssociations",
                    "studentSectionAssociations",
                    "staffSectionAssociations",
                ],
                "{standard:?}"
            );
            let lookups: Vec<&str> = table(standard)
                .lookups
                .iter()
                .map(|s| s.resource.name())
                .collect();
            assert_eq!(lookups, ["schools", "courses", "staffs", "schoolYearTypes"]);
        }
    }

    #[test]
    fn every_reference_points_at_an_earlier_resource_or_a_lookup() {
        for standard in STANDARDS {
            let t = table(standard);
            for (i, spec) in t.write.iter().enumerate() {
                for r in spec.references {
                    match t.position(r.target) {
                        Some(j) => assert!(
                            j < i,
                            "{standard:?}: {} refers to {} which is not earlier",
                            spec.resource,
                            r.target
                        ),
                        None => assert!(
                            t.lookups.iter().any(|l| l.resource == r.target),
                            "{standard:?}: {} refers to unknown {}",
                            spec.resource,
                            r.target
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn every_reference_carries_exactly_the_target_natural_key() {
        for standard in STANDARDS {
            let t = table(standard);
            for spec in t.write {
                for r in spec.references {
                    let target = t.spec(r.target).expect("target declared");
                    let mut carried: Vec<&str> = r.keys.iter().map(|(_, k)| *k).collect();
                    let mut key: Vec<&str> = target.natural_key.to_vec();
                    carried.sort_unstable();
                    key.sort_unstable();
                    assert_eq!(
                        carried, key,
                        "{standard:?}: {}.{} vs {}",
                        spec.resource, r.path, r.target
                    );
                }
            }
        }
    }

    #[test]
    fn never_delete_is_students_sessions_and_grading_periods() {
        for standard in STANDARDS {
            let never: Vec<Resource> = table(standard)
                .write
                .iter()
                .filter(|s| s.never_delete)
                .map(|s| s.resource)
                .collect();
            assert_eq!(
                never,
                [
                    Resource::GradingPeriods,
                    Resource::Sessions,
                    Resource::Students
                ]
            );
        }
    }

    #[test]
    fn natural_keys_have_no_duplicate_paths() {
        for standard in STANDARDS {
            let t = table(standard);
            for spec in t.write.iter().chain(t.lookups) {
                let mut seen = std::collections::HashSet::new();
                for k in spec.natural_key {
                    assert!(seen.insert(*k), "{standard:?} {}: {k} twice", spec.resource);
                }
            }
        }
    }

    #[test]
    fn the_key_differences_between_standards_are_declared() {
        let ds5 = table(Standard::Ds5);
        let v2 = table(Standard::V2);
        let key = |t: &DataStandard, r| t.spec(r).expect("declared").natural_key.to_vec();
        assert!(key(ds5, Resource::Sections).contains(&"sectionIdentifier"));
        assert!(key(v2, Resource::Sections).contains(&"classPeriodReference.name"));
        assert!(key(ds5, Resource::Sessions).contains(&"sessionName"));
        assert!(key(v2, Resource::Sessions).contains(&"termDescriptor"));
        assert!(key(ds5, Resource::StaffSectionAssociations).contains(&"beginDate"));
        assert!(!key(v2, Resource::StaffSectionAssociations).contains(&"beginDate"));
        assert_eq!(key(v2, Resource::StudentSectionAssociations).len(), 10);
    }

    #[test]
    fn paths_read_objects_and_arrays() {
        let body = serde_json::json!({
            "schoolReference": {"schoolId": 7},
            "classPeriods": [
                {"classPeriodReference": {"classPeriodName": "A"}},
                {"classPeriodReference": {"classPeriodName": "B"}}
            ]
        });
        assert_eq!(
            value_at(&body, "schoolReference.schoolId"),
            Some(&serde_json::json!(7))
        );
        assert_eq!(value_at(&body, "schoolReference.nope"), None);
        let refs = values_at(&body, "classPeriods[].classPeriodReference");
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1]["classPeriodName"], "B");
        assert!(values_at(&body, "gradingPeriods[].gradingPeriodReference").is_empty());
    }
}
