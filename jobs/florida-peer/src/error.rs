//! The crate's one error type.
//!
//! Every error about a PEER file names the file, and where it can the physical line (the
//! header is line 1), the column and the value, because the person who reads it has to find
//! the cell in a file FLDOE sent and ask for it to be fixed. [`PeerError::problem`] turns an
//! error into the SDK's [`Problem`] so the run records it in the same terms.

use ferry_plugin::Problem;

/// Something that stops the import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read the file: {message}")]
    Io { file: String, message: String },

    /// The file has no header row (it is empty, or holds only blank lines).
    #[error("{file}: the file is empty; a header row is required")]
    Empty { file: String },

    /// Columns the table needs are not in the header.
    #[error("{}", missing_columns_message(.file, .columns, .header))]
    MissingColumns {
        file: String,
        /// The missing columns, by the table's names, in table order.
        columns: Vec<String>,
        /// The header as found, one entry per column.
        header: Vec<String>,
    },

    /// Two header columns name the same table column (directly or through an alias).
    #[error("{file}: columns {first} and {second} of the header both give column {column}")]
    DuplicateColumn {
        file: String,
        column: String,
        /// 1-based positions in the header.
        first: usize,
        second: usize,
    },

    /// A configured alias maps a header name to a column the table does not have.
    #[error(
        "{file}: the column alias {header:?} = {column:?} names no column of {table} \
         (its columns: {columns})",
        columns = .columns.join(", ")
    )]
    UnknownAliasTarget {
        file: String,
        table: String,
        header: String,
        column: String,
        columns: Vec<String>,
    },

    /// A date column holds something that is not a date.
    #[error(
        "{file}:{line}: column {column}: {value:?} is not a date (expected M/D/YYYY or YYYY-MM-DD)"
    )]
    BadDate {
        file: String,
        line: u64,
        column: String,
        value: String,
    },

    /// A row has more or fewer fields than the header.
    #[error(
        "{file}:{line}: the row has {found} fields but the header has {expected} \
         (a truncated file, an unquoted comma or a stray quote?)"
    )]
    FieldCount {
        file: String,
        line: u64,
        expected: usize,
        found: usize,
    },

    /// The file ends inside a quoted field.
    #[error(
        "{file}:{line}: a quoted field is never closed; the file ends inside it (truncated file?)"
    )]
    UnterminatedQuote { file: String, line: u64 },

    /// A row is not valid UTF-8.
    #[error("{file}:{line}: column {column}: the text is not valid UTF-8")]
    NotUtf8 {
        file: String,
        line: u64,
        column: String,
    },

    /// Any other malformed CSV.
    #[error("{file}:{line}: malformed CSV: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
}

/// The message of [`PeerError::MissingColumns`]. A header that came out as one column holding
/// a tab, semicolon or pipe means the file is not comma-separated, which is said plainly.
fn missing_columns_message(file: &str, columns: &[String], header: &[String]) -> String {
    let what = if columns.len() == 1 {
        format!("missing column {}", columns[0])
    } else {
        format!("missing columns {}", columns.join(", "))
    };
    match header {
        [single] => {
            let shown: String = single.chars().take(80).collect();
            let ellipsis = if shown.len() < single.len() {
                "…"
            } else {
                ""
            };
            let separator = [('\t', "tabs"), (';', "semicolons"), ('|', "pipes")]
                .into_iter()
                .find(|(c, _)| single.contains(*c));
            match separator {
                Some((_, name)) => format!(
                    "{file}: {what}: the header looks like one column ({shown:?}{ellipsis}); \
                     the file seems separated by {name}, but PEER files must be \
                     comma-separated"
                ),
                None => format!(
                    "{file}: {what}: the header looks like one column ({shown:?}{ellipsis}); \
                     is the file comma-separated?"
                ),
            }
        }
        _ => format!("{file}: {what} (the header has: {})", header.join(", ")),
    }
}

impl PeerError {
    /// The error as an SDK problem, located as precisely as the error knows.
    pub fn problem(&self) -> Problem {
        match self {
            PeerError::Io { file, message } => {
                Problem::error("Unreadable file", message.clone()).in_file(file.clone())
            }
            PeerError::Empty { file } => {
                Problem::error("Empty file", "no header row").in_file(file.clone())
            }
            PeerError::MissingColumns { file, columns, .. } => {
                let message = self.to_string();
                let message = message
                    .strip_prefix(&format!("{file}: "))
                    .unwrap_or(&message)
                    .to_owned();
                Problem::error("Missing column", message)
                    .at(file.clone(), 1)
                    .field_name(columns.join(", "))
            }
            PeerError::DuplicateColumn {
                file,
                column,
                first,
                second,
            } => Problem::error(
                "Duplicate column",
                format!("header columns {first} and {second} both give this column"),
            )
            .at(file.clone(), 1)
            .field_name(column.clone()),
            PeerError::UnknownAliasTarget {
                file,
                table,
                header,
                column,
                ..
            } => Problem::error(
                "Unknown column alias",
                format!("the alias {header:?} names no column of {table}"),
            )
            .in_file(file.clone())
            .field(header.clone(), column.clone()),
            PeerError::BadDate {
                file,
                line,
                column,
                value,
            } => Problem::error(
                "Invalid date",
                format!("{value:?} is not a date (expected M/D/YYYY or YYYY-MM-DD)"),
            )
            .at(file.clone(), *line)
            .field(column.clone(), value.clone()),
            PeerError::FieldCount {
                file,
                line,
                expected,
                found,
            } => Problem::error(
                "Malformed row",
                format!("the row has {found} fields but the header has {expected}"),
            )
            .at(file.clone(), *line),
            PeerError::UnterminatedQuote { file, line } => Problem::error(
                "Malformed row",
                "a quoted field is never closed; the file ends inside it",
            )
            .at(file.clone(), *line),
            PeerError::NotUtf8 { file, line, column } => {
                Problem::error("Malformed row", "the text is not valid UTF-8")
                    .at(file.clone(), *line)
                    .field_name(column.clone())
            }
            PeerError::Csv {
                file,
                line,
                message,
            } => Problem::error("Malformed row", message.clone()).at(file.clone(), *line),
        }
    }
}
