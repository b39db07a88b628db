//! The crate's one error type. Every error that comes from the SIS names the relation, the row
//! (by its key columns), the column and the value, so an operator can find and fix the row
//! without reading the job's code; errors in settings name the setting and the value.

use crate::client::ApiError;
use crate::model::Resource;

/// Why the job could not read, transform or build something.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EdfiError {
    /// The SIS database refused a query (missing relation or column, lost connection), kept as
    /// its message so the error stays comparable.
    #[error("reading the SIS: {message}")]
    Sis { message: String },
    /// A setting is missing or holds something it cannot mean.
    #[error("setting {name} = {value}: {reason}")]
    Setting {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// A SIS value that cannot be what its column holds (or a NULL where one is required).
    #[error("{relation} row {key}: column {column} = {value} is not {expected}")]
    Malformed {
        relation: &'static str,
        key: String,
        column: &'static str,
        value: String,
        expected: &'static str,
    },
    /// Seed "Class Periods": Period Schedule Name + Period Name + Schedule Structure ID may be at
    /// most 20 characters, and the names "may have to be abbreviated" in the SIS. The job does
    /// not truncate: two periods cut to the same 20 characters would become one record.
    #[error(
        "{relation} row {key}: class period name {name:?} is {length} characters; Ed-Fi allows \
         at most 20 (abbreviate the period schedule or period name in the SIS)"
    )]
    ClassPeriodNameTooLong {
        relation: &'static str,
        key: String,
        name: String,
        length: usize,
    },
    /// Rows that make one record (terms grouped into a session, class periods of one section)
    /// disagree on a column that must be the same.
    #[error("{relation} rows {key}: column {column} differs between rows ({first} vs {second})")]
    Conflict {
        relation: &'static str,
        key: String,
        column: &'static str,
        first: String,
        second: String,
    },
    /// A row refers to a parent the SIS does not have at all (not one that was excluded): the
    /// mapping of the SIS onto the relations is incomplete.
    #[error("{relation} row {key}: refers to {parent} {parent_key}, which is not in the source")]
    MissingParent {
        relation: &'static str,
        key: String,
        parent: Resource,
        parent_key: String,
    },
    /// Seed "Sessions": "If there is not a Grading Period association with the Session, the
    /// array will be NULL and the Session record will error." The job refuses it before the
    /// host does.
    #[error("edfi_sessions {key}: no grading period of the school falls within {begin} – {end}")]
    SessionWithoutGradingPeriod {
        key: String,
        begin: String,
        end: String,
    },
    /// Two different bodies for one natural key: the host would keep only the last.
    #[error("{resource} {key}: two different records have this natural key")]
    DuplicateKey { resource: Resource, key: String },
    /// A built body lacks a natural-key field its Data Standard declares (a bug in the body
    /// builder, caught before anything is sent).
    #[error("{resource}: the body has no natural-key field {field}")]
    MissingKeyField {
        resource: Resource,
        field: &'static str,
    },
    /// The job's stored knowledge of what the host holds cannot be read; guessing would resend
    /// or delete on no evidence (`--set full=true` rebuilds it from the host).
    #[error(
        "the stored state of {resource} cannot be read ({reason}); run with --set full=true to rebuild it from the host"
    )]
    State { resource: Resource, reason: String },
    /// The Ed-Fi host refused a request or could not be reached ([`crate::client`]).
    #[error("Ed-Fi API: {0}")]
    Api(#[from] ApiError),
}

impl EdfiError {
    /// The SIS database's error, by its message.
    pub fn sis(error: ferry_sis::SisError) -> EdfiError {
        EdfiError::Sis {
            message: error.to_string(),
        }
    }
}
