//! The crate's one error type.
//!
//! Every variant that concerns one education unit names it the way an operator finds it in the
//! source (`LEA 00606EUPHORIA`, `school EU000001 of LEA 00606EUPHORIA`, or `file` for the
//! header) together with the seed's field name (Tables 4.1-1 and 4.2-1), so a failed run says
//! which row and which column to fix.

use crate::validate::Finding;

/// Why an FS163 file could not be configured, read, built or delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fs163Error {
    /// The file breaks one or more of the seed's rules; nothing may be delivered. The findings
    /// are in unit order, each naming its unit and field.
    #[error("{} validation error(s): {}", findings.len(), summary(findings))]
    Invalid {
        /// Every broken rule (never empty).
        findings: Vec<Finding>,
    },
    /// The external file name is longer than the 25 characters section 3.0 allows.
    #[error("file name {name:?} is {length} characters; section 3.0 allows at most 25")]
    FileNameTooLong {
        /// The name as it would have been built.
        name: String,
        /// Its length in characters.
        length: usize,
    },
    /// A value does not fit its field (fixed positions cannot be widened or cut).
    #[error("{unit}: {field} {value:?} is longer than its {length} characters")]
    FieldTooLong {
        /// The unit (or `file`).
        unit: String,
        /// The seed's field name.
        field: &'static str,
        /// The value found.
        value: String,
        /// The field's length.
        length: usize,
    },
    /// A value holds a character the chosen format cannot carry.
    #[error("{unit}: {field} {value:?} cannot be written: {message}")]
    Unrepresentable {
        /// The unit (or `file`).
        unit: String,
        /// The seed's field name.
        field: &'static str,
        /// The value found.
        value: String,
        /// Which character and why.
        message: String,
    },
    /// A job setting is missing or not one of its permitted values.
    #[error("setting {field} = {value:?}: {message}")]
    Setting {
        /// The setting's name.
        field: &'static str,
        /// The value found (empty when missing).
        value: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the source database failed (relation missing, malformed row, lost connection).
    #[error("reading the source: {message}")]
    Source {
        /// The database's or the reader's message.
        message: String,
    },
    /// Delivering the file through the upload connection failed.
    #[error("delivering the file: {message}")]
    Delivery {
        /// The connection's message.
        message: String,
    },
}

/// The first few findings, for the one-line message of [`Fs163Error::Invalid`].
fn summary(findings: &[Finding]) -> String {
    const SHOWN: usize = 3;
    let mut text = findings
        .iter()
        .take(SHOWN)
        .map(Finding::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if findings.len() > SHOWN {
        text.push_str(&format!("; and {} more", findings.len() - SHOWN));
    }
    text
}
