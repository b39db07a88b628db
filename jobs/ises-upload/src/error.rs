//! The crate's one error type: everything that keeps a Load File from being read, built or
//! answered names the relation or spec field and the offending value, so an operator can find
//! the row in the SIS.

/// Why a Load File (or one of its records) could not be read, built or answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IsesError {
    /// The SIS database refused a query (missing relation or column, lost connection). Kept as
    /// its message so the error stays comparable and cloneable.
    #[error("reading the SIS: {message}")]
    Sis { message: String },
    /// The district or school code the job was given is not a code at all.
    #[error("{field} setting {value:?} is not a numeric code of at most 4 digits")]
    Setting { field: &'static str, value: String },
    /// An incident belongs to another district: the mapping is wrong, and dropping the row
    /// quietly would hide that.
    #[error(
        "ises_incidents row {incident_key:?} is of district {district:?}, not {expected:?} (rows of another district are not dropped)"
    )]
    OtherDistrict {
        incident_key: String,
        district: String,
        expected: String,
    },
    /// A removal's `incident_key` names no incident.
    #[error(
        "ises_removals row (incident_key {incident_key:?}, removal_id {removal_id:?}) refers to an incident that is not in ises_incidents"
    )]
    OrphanRemoval {
        incident_key: String,
        removal_id: Option<String>,
    },
    /// A SIS value that cannot be what its column holds.
    #[error("{table} row {key}: column {column} = {value} is not {expected}")]
    Malformed {
        table: &'static str,
        key: String,
        column: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A zero-padded numeric field (district, school, WSN, sequence) holds something that is
    /// not all ASCII digits, or nothing at all.
    #[error("{field}: {value:?} is not numeric (FORMAT is {width} digits with leading zeroes)")]
    NotNumeric {
        field: &'static str,
        value: String,
        width: usize,
    },
    /// A zero-padded numeric field is longer than its FORMAT width; truncating would report
    /// another school or student, so it is refused.
    #[error("{field}: {value:?} is longer than its FORMAT width of {width} digits")]
    TooLong {
        field: &'static str,
        value: String,
        width: usize,
    },
    /// A year (or the year of a date) that cannot be written as exactly four digits.
    #[error("{field}: year {value} is not a four-digit year (FORMAT YYYY)")]
    Year { field: &'static str, value: i32 },
    /// Days removed must be a non-negative number with at most one decimal and at most three
    /// digits before the point (the spec's size 3); anything else would be rounded silently.
    #[error("DAYS_REMOVED_CURRENT_TERM: {value} cannot be written with one decimal")]
    DaysRemoved { value: f64 },
    /// The Load File is ASCII; ISES fails a file with any other character.
    #[error("{field}: {value:?} contains a non-ASCII character")]
    NonAscii { field: &'static str, value: String },
    /// A double quote, line break or other control character cannot be carried inside the
    /// Load File's double-quoted fields.
    #[error("{field}: {value:?} contains a double quote or control character")]
    Unquotable { field: &'static str, value: String },
    /// Two incidents share one `incident_key`, so their removals cannot be told apart.
    #[error("incident_key {key:?} appears more than once")]
    DuplicateIncidentKey { key: String },
    /// A removal points at an incident that is not in the file.
    #[error("removal {removal_id:?} refers to incident_key {key:?}, which is not in the file")]
    UnknownIncident {
        key: String,
        removal_id: Option<String>,
    },
    /// The job's stored sequence-number state cannot be read; resetting it would reuse
    /// sequence numbers ISES has already seen, so it is refused.
    #[error("the stored sequence numbers cannot be read: {reason}")]
    SequenceState { reason: String },
    /// A school year has used every five-digit sequence number.
    #[error("no sequence number is left for {key} (the last one was {last})")]
    SequenceExhausted { key: String, last: u32 },
    /// The state's answer (Load Results Report or Load Failure File) lacks something it must
    /// carry; guessing it would report a run as passed or failed on no evidence.
    #[error("{document}: {what} is missing")]
    ResponseMissing {
        document: &'static str,
        what: String,
    },
    /// The state's answer holds something it cannot mean (an unknown status, a record out of
    /// order, statuses that contradict each other).
    #[error("{document} is malformed: {reason}")]
    ResponseMalformed {
        document: &'static str,
        reason: String,
    },
    /// A Load Failure File without its `"04","EOF"` trailer was cut off in transfer; the
    /// records it would have listed are unknown.
    #[error(
        "{document} ends without its \"04\",\"EOF\" trailer after {records} records: it is truncated"
    )]
    ResponseTruncated {
        document: &'static str,
        records: usize,
    },
}

impl IsesError {
    /// The SIS database's error, by its message.
    pub fn sis(error: ferry_sis::SisError) -> IsesError {
        IsesError::Sis {
            message: error.to_string(),
        }
    }
}
