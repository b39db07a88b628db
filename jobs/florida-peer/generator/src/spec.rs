//! How the generator writes the fifteen PEER files, on top of the job's own file spec.
//!
//! Which files exist, their names, tables and header columns are the job's
//! ([`ferry_job_florida_peer::spec::FILES`], re-exported as [`FILES`]); a header is
//! [`FileSpec::header`], so the Section 504 assessment file also carries
//! `primary_exceptionality`, which the seed reads but does not store. The job's spec is checked
//! against the seed's mapping by the job's own tests, so the generator does not keep a copy.
//! What is here is the generator's alone: the index of each file in [`FILES`] (rows are written
//! by index), which files exercise which reader edge case, the excluded schools and the SIS
//! fixture.

pub use ferry_job_florida_peer::spec::{FILES, FileSpec};

/// The position of the file named `name` in [`FILES`]; a name the job does not know stops the
/// build, so the generator's row writers cannot drift from the job's file order.
const fn index(name: &str) -> usize {
    let mut i = 0;
    while i < FILES.len() {
        let file = FILES[i].file.as_bytes();
        let name = name.as_bytes();
        if file.len() == name.len() {
            let mut k = 0;
            while k < file.len() && file[k] == name[k] {
                k += 1;
            }
            if k == file.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a PEER file of the job's spec")
}

// Each file's index in [`FILES`], which the generator writes rows by.
pub(crate) const EPS: usize = index("ActiveEPs.csv");
pub(crate) const IEPS: usize = index("ActiveIEPs.csv");
pub(crate) const SPS: usize = index("ActiveSPs.csv");
pub(crate) const PLANS_504: usize = index("ActiveSec504Plans.csv");
pub(crate) const ASSESS_ACC: usize = index("IEPAssessmentAccommodations.csv");
pub(crate) const CLASS_ACC: usize = index("IEPClassroomAccommodations.csv");
pub(crate) const LRE: usize = index("IEPLRE.csv");
pub(crate) const MATRIX: usize = index("MatrixOfServices.csv");
pub(crate) const ASSESS_504: usize = index("Sec504AssessmentAccommodations.csv");
pub(crate) const CLASS_504: usize = index("Sec504PlansGeneralClassroomAcc-Services.csv");
pub(crate) const ESY: usize = index("IEPESYService.csv");
pub(crate) const TRANSPORT: usize = index("IEPTransportationFTE.csv");
pub(crate) const SUPP_AIDS: usize = index("IEPSuppAidsServices.csv");
pub(crate) const ESE_SERVICE: usize = index("IEPESEService.csv");
pub(crate) const STUDENT_INFO: usize = index("PEERStudentInfo.csv");

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
