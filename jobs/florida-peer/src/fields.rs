//! Which student fields and log fields the PEER files feed, and from which columns: the seed's
//! "PEER Mapping" (the `STUDENTS.CUSTOM_*` entries) written down once.
//!
//! Single-valued fields come in three groups, each fed by one winning row per student
//! ([`crate::populate`] picks it): the plan (`custom_873` plan date, `custom_940` expiration
//! date, `custom_256` ESY, from ActiveIEPs, else ActiveEPs, else ActiveSPs), the LRE
//! (`custom_863`, `custom_878`, `custom_879` from IEPLRE) and the matrix (`custom_200000272`,
//! `…273`, `…274`, `…293` from MatrixOfServices). Log fields are lists: every distinct row of
//! their file is one entry.
//!
//! The seed also lists `IEPLRE.duration_date` under log field 200000261 (classroom
//! accommodations). LRE rows carry no accommodation, so that line is taken as a slip in the
//! seed: `duration_date` stays in `fl_peer_iep_lre` only and feeds no log entry.

/// A single-valued field of `students` the import may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StudentField {
    /// The `students` column, also the element name in `settings.elements`.
    pub column: &'static str,
    /// Date fields are never blanked, whatever `allow_zero_or_null_updates` says.
    pub is_date: bool,
}

const fn field(column: &'static str, is_date: bool) -> StudentField {
    StudentField { column, is_date }
}

/// Every single-valued field, in the order stats are reported.
pub const STUDENT_FIELDS: [StudentField; 10] = [
    field("custom_873", true),
    field("custom_940", true),
    field("custom_256", false),
    field("custom_863", false),
    field("custom_878", false),
    field("custom_879", false),
    field("custom_200000272", false),
    field("custom_200000273", false),
    field("custom_200000274", true),
    field("custom_200000293", false),
];

/// One source of the plan fields: a file, the column that orders its rows (latest wins), and
/// the columns feeding 873, 940 and (ActiveIEPs only) 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSource {
    pub file: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub esy: Option<&'static str>,
}

/// The plan sources in priority order: ActiveIEPs wins over ActiveEPs over ActiveSPs.
pub const PLAN_SOURCES: [PlanSource; 3] = [
    PlanSource {
        file: "ActiveIEPs.csv",
        start: "iep_start_date",
        end: "iep_end_date",
        esy: Some("esy_services"),
    },
    PlanSource {
        file: "ActiveEPs.csv",
        start: "ep_start_date",
        end: "ep_end_date",
        esy: None,
    },
    PlanSource {
        file: "ActiveSPs.csv",
        start: "meeting_date",
        end: "duration_date",
        esy: None,
    },
];

/// IEPLRE: the row with the latest `initiation_date` among rows whose
/// `time_non_disabled_peers` is not blank feeds these fields (file column, student field).
pub const LRE_FILE: &str = "IEPLRE.csv";
pub const LRE_ORDER: &str = "initiation_date";
pub const LRE_REQUIRED: &str = "time_non_disabled_peers";
pub const LRE_FIELDS: [(&str, &str); 3] = [
    ("setting", "custom_863"),
    ("total_time", "custom_878"),
    ("time_non_disabled_peers", "custom_879"),
];

/// MatrixOfServices: the row with the latest `date_completed` feeds these fields.
pub const MATRIX_FILE: &str = "MatrixOfServices.csv";
pub const MATRIX_ORDER: &str = "date_completed";
pub const MATRIX_FIELDS: [(&str, &str); 4] = [
    ("total_ratings", "custom_200000272"),
    ("cost_factor", "custom_200000273"),
    ("date_completed", "custom_200000274"),
    ("fefp_number", "custom_200000293"),
];

/// A log field: its id in `custom_field_log_entries.field_id`, its file, which file column
/// feeds each of LOG_FIELD1..6, and, for the four accommodation files, the end-date column
/// `exclude_expired_accommodations` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogField {
    pub field_id: i64,
    pub file: &'static str,
    pub columns: [Option<&'static str>; 6],
    pub expires_by: Option<&'static str>,
}

impl LogField {
    /// The element name in `settings.elements` (`log_200000261`).
    pub fn element(&self) -> String {
        format!("log_{}", self.field_id)
    }
}

/// Every log field, as the seed maps them.
pub const LOG_FIELDS: [LogField; 7] = [
    LogField {
        field_id: 200000261,
        file: "IEPClassroomAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("accommodation"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("initiation_date"),
        ],
        expires_by: Some("duration_date"),
    },
    LogField {
        field_id: 200000262,
        file: "IEPAssessmentAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("iep_end_date"),
            Some("accommodation"),
            None,
            None,
            None,
        ],
        expires_by: Some("iep_end_date"),
    },
    LogField {
        field_id: 200000263,
        file: "Sec504PlansGeneralClassroomAcc-Services.csv",
        columns: [
            Some("area_of_concern"),
            Some("persons_responsible"),
            Some("temp_plan_end_date"),
            Some("accommodation"),
            None,
            None,
        ],
        expires_by: Some("temp_plan_end_date"),
    },
    LogField {
        field_id: 200000264,
        file: "Sec504AssessmentAccommodations.csv",
        columns: [
            Some("accommodation_type"),
            Some("temp_plan_end_date"),
            Some("accommodation"),
            None,
            None,
            None,
        ],
        expires_by: Some("temp_plan_end_date"),
    },
    LogField {
        field_id: 200000275,
        file: "IEPESYService.csv",
        columns: [
            Some("initiation_date"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("esy_service"),
            None,
        ],
        expires_by: None,
    },
    LogField {
        field_id: 200000305,
        file: "IEPTransportationFTE.csv",
        columns: [
            Some("start_date"),
            Some("end_date"),
            Some("transportation_code"),
            Some("description"),
            None,
            None,
        ],
        expires_by: None,
    },
    LogField {
        field_id: 200000311,
        file: "IEPESEService.csv",
        columns: [
            Some("initiation_date"),
            Some("duration_date"),
            Some("frequency"),
            Some("location"),
            Some("service"),
            None,
        ],
        expires_by: None,
    },
];

/// Every name `settings.elements` accepts: the student fields, then the log fields.
pub fn element_names() -> Vec<String> {
    STUDENT_FIELDS
        .iter()
        .map(|f| f.column.to_owned())
        .chain(LOG_FIELDS.iter().map(LogField::element))
        .collect()
}

/// The districts' default `excluded_schools`: students primarily enrolled here are not touched.
pub const DEFAULT_EXCLUDED_SCHOOLS: [&str; 8] = [
    "3518", "3900", "9997", "ZZZZ", "YYYY", "WWWW", "9995", "TRAN",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::spec_for_file;

    #[test]
    fn every_mapped_column_exists_in_its_file() {
        for source in PLAN_SOURCES {
            let spec = spec_for_file(source.file).expect(source.file);
            for column in [Some(source.start), Some(source.end), source.esy]
                .into_iter()
                .flatten()
            {
                assert!(
                    spec.column_index(column).is_some(),
                    "{}.{column}",
                    source.file
                );
            }
        }
        let lre = spec_for_file(LRE_FILE).unwrap();
        for (column, _) in LRE_FIELDS {
            assert!(lre.column_index(column).is_some(), "{column}");
        }
        assert!(lre.column_index(LRE_ORDER).is_some());
        let matrix = spec_for_file(MATRIX_FILE).unwrap();
        for (column, _) in MATRIX_FIELDS {
            assert!(matrix.column_index(column).is_some(), "{column}");
        }
        for log in LOG_FIELDS {
            let spec = spec_for_file(log.file).expect(log.file);
            for column in log.columns.iter().flatten().chain(log.expires_by.iter()) {
                assert!(spec.column_index(column).is_some(), "{}.{column}", log.file);
            }
        }
    }

    #[test]
    fn fields_fed_by_files_are_all_declared() {
        let declared: Vec<&str> = STUDENT_FIELDS.iter().map(|f| f.column).collect();
        for (_, field) in LRE_FIELDS.iter().chain(MATRIX_FIELDS.iter()) {
            assert!(declared.contains(field), "{field}");
        }
        assert_eq!(element_names().len(), 17);
        assert!(element_names().contains(&"log_200000305".to_owned()));
    }
}
