//! The fifteen PEER files as the generator writes them: name and header columns.
//!
//! The generator keeps its own copy (rather than using the job's) so it can be built and trusted
//! on its own: a test that generates files with it checks the job against the seed, not against
//! itself. Columns are the seed's data columns of each table (without `id`, `district_id` and
//! `syear`, which the import sets), in the seed's order and spelling (`ammendment_date`). The
//! Section 504 assessment file also carries `primary_exceptionality`, which the seed says is only
//! used in a temporary table.

/// One PEER file: its name in `PEER/OUT` and its header, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerFile {
    /// The file's name as FLDOE writes it.
    pub name: &'static str,
    /// The background table the job loads it into (for reports and docs).
    pub table: &'static str,
    /// The header row's columns, in the order they are written.
    pub columns: &'static [&'static str],
}

pub(crate) const EPS: usize = 0;
pub(crate) const IEPS: usize = 1;
pub(crate) const SPS: usize = 2;
pub(crate) const PLANS_504: usize = 3;
pub(crate) const ASSESS_ACC: usize = 4;
pub(crate) const CLASS_ACC: usize = 5;
pub(crate) const LRE: usize = 6;
pub(crate) const MATRIX: usize = 7;
pub(crate) const ASSESS_504: usize = 8;
pub(crate) const CLASS_504: usize = 9;
pub(crate) const ESY: usize = 10;
pub(crate) const TRANSPORT: usize = 11;
pub(crate) const SUPP_AIDS: usize = 12;
pub(crate) const ESE_SERVICE: usize = 13;
pub(crate) const STUDENT_INFO: usize = 14;

/// Every PEER file, in the seed's order.
pub const FILES: [PeerFile; 15] = [
    PeerFile {
        name: "ActiveEPs.csv",
        table: "fl_peer_active_eps",
        columns: &[
            "ammendment_date",
            "ep_end_date",
            "ep_start_date",
            "initiation_date",
            "local_id",
        ],
    },
    PeerFile {
        name: "ActiveIEPs.csv",
        table: "fl_peer_active_ieps",
        columns: &[
            "aice",
            "ammendment_date",
            "assessment_type",
            "diploma_designation",
            "esy_services",
            "graduation_option",
            "ib",
            "iep_end_date",
            "iep_start_date",
            "initiation_date",
            "local_id",
            "other_exceptionalities",
            "primary_exceptionality",
            "reeval_due_date",
            "review_due_date",
            "special_diploma_type",
        ],
    },
    PeerFile {
        name: "ActiveSPs.csv",
        table: "fl_peer_active_service_plans",
        columns: &[
            "ammendment_date",
            "duration_date",
            "initiation_date",
            "local_id",
            "meeting_date",
        ],
    },
    PeerFile {
        name: "ActiveSec504Plans.csv",
        table: "fl_peer_active_504_plans",
        columns: &[
            "local_id",
            "meeting_date",
            "original_meeting_date",
            "temp_plan_start_date",
            "temp_plan_end_date",
        ],
    },
    PeerFile {
        name: "IEPAssessmentAccommodations.csv",
        table: "fl_peer_assessment_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "iep_end_date",
            "initiation_date",
            "local_id",
            "primary_exceptionality",
        ],
    },
    PeerFile {
        name: "IEPClassroomAccommodations.csv",
        table: "fl_peer_classroom_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
        ],
    },
    PeerFile {
        name: "IEPLRE.csv",
        table: "fl_peer_iep_lre",
        columns: &[
            "duration_date",
            "early_childhood_program",
            "initiation_date",
            "local_id",
            "setting",
            "time_non_disabled_peers",
            "total_time",
        ],
    },
    PeerFile {
        name: "MatrixOfServices.csv",
        table: "fl_peer_matrix_services",
        columns: &[
            "cost_factor",
            "date_completed",
            "domain_a",
            "domain_b",
            "domain_c",
            "domain_d",
            "domain_e",
            "fefp_number",
            "local_id",
            "other_exceptionalities",
            "primary_exceptionality",
            "review_dates",
            "special_considerations",
            "total_ratings",
        ],
    },
    PeerFile {
        name: "Sec504AssessmentAccommodations.csv",
        table: "fl_peer_504_assessment_accommodations",
        columns: &[
            "accommodation",
            "accommodation_type",
            "local_id",
            "primary_exceptionality",
            "start_date",
            "temp_plan_end_date",
        ],
    },
    PeerFile {
        name: "Sec504PlansGeneralClassroomAcc-Services.csv",
        table: "fl_peer_504_classroom_accommodations",
        columns: &[
            "accommodation",
            "area_of_concern",
            "local_id",
            "persons_responsible",
            "start_date",
            "temp_plan_end_date",
        ],
    },
    PeerFile {
        name: "IEPESYService.csv",
        table: "fl_peer_iep_esy_service",
        columns: &[
            "duration_date",
            "esy_service",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
        ],
    },
    PeerFile {
        name: "IEPTransportationFTE.csv",
        table: "fl_peer_iep_transportation_fte",
        columns: &[
            "description",
            "end_date",
            "local_id",
            "start_date",
            "transportation_code",
        ],
    },
    PeerFile {
        name: "IEPSuppAidsServices.csv",
        table: "fl_peer_iep_supp_aids_services",
        columns: &[
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
            "service",
        ],
    },
    PeerFile {
        name: "IEPESEService.csv",
        table: "fl_peer_iep_ese_service",
        columns: &[
            "duration_date",
            "frequency",
            "initiation_date",
            "local_id",
            "location",
            "primary_exceptionality",
            "service",
        ],
    },
    PeerFile {
        name: "PEERStudentInfo.csv",
        table: "fl_peer_student_info",
        columns: &["grade", "local_id", "school_num", "school_title", "url"],
    },
];

/// How each file is written, to exercise the reader: a UTF-8 byte order mark, CRLF line ends,
/// every field quoted. Files not named here are plain UTF-8, LF, quoted only where needed.
pub(crate) const BOM_FILES: [usize; 2] = [IEPS, STUDENT_INFO];
pub(crate) const CRLF_FILES: [usize; 4] = [IEPS, CLASS_ACC, MATRIX, CLASS_504];
pub(crate) const QUOTE_ALL_FILES: [usize; 2] = [MATRIX, TRANSPORT];

/// The schools the seed excludes by default: a student whose primary school is one of these is
/// never touched.
pub const EXCLUDED_SCHOOLS: [&str; 8] = [
    "3518", "3900", "9997", "ZZZZ", "YYYY", "WWWW", "9995", "TRAN",
];

/// The SIS tables the job expects, for SQLite (also `fixtures/sis-sqlite.sql`).
pub const SIS_SCHEMA_SQLITE: &str = include_str!("../../fixtures/sis-sqlite.sql");
/// The SIS tables the job expects, for PostgreSQL (also `fixtures/sis-postgres.sql`).
pub const SIS_SCHEMA_POSTGRES: &str = include_str!("../../fixtures/sis-postgres.sql");

/// The SIS fixture data file `generate` writes next to the CSV files.
pub const SIS_DATA_FILE: &str = "sis-data.sql";

/// The log fields and which file feeds each, for reference in tests and docs.
pub const LOG_FIELDS: [(i64, &str); 7] = [
    (200000261, "IEPClassroomAccommodations.csv"),
    (200000262, "IEPAssessmentAccommodations.csv"),
    (200000263, "Sec504PlansGeneralClassroomAcc-Services.csv"),
    (200000264, "Sec504AssessmentAccommodations.csv"),
    (200000275, "IEPESYService.csv"),
    (200000305, "IEPTransportationFTE.csv"),
    (200000311, "IEPESEService.csv"),
];
