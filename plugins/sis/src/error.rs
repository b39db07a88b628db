//! The crate's one error type. Every message is meant for the operator reading a failed run: it
//! names the database, table or statement involved, and never carries a password (connect
//! errors show the URL with its password masked, and the password given apart is scrubbed).

/// Everything that can go wrong talking to the SIS database.
#[derive(Debug, thiserror::Error)]
pub enum SisError {
    /// The URL is neither `sqlite://...` nor `postgres://...`, or has an unknown option.
    #[error("unusable SIS database URL {url}: {reason}")]
    Url {
        /// The URL, with any password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A SQLite SIS database file that does not exist (it is never created by accident).
    #[error(
        "the SIS database {path} does not exist (check the path; add ?mode=rwc to the URL only \
         to create a new, empty database)"
    )]
    Missing {
        /// The file looked for.
        path: String,
    },
    /// Connecting or opening failed.
    #[error("cannot connect to the SIS database {target}: {detail}")]
    Connect {
        /// The path or URL, with any password masked.
        target: String,
        /// The driver's reason.
        detail: String,
    },
    /// A statement failed.
    #[error("SIS database error: {detail} (in: {sql})")]
    Sql {
        /// The start of the statement, on one line.
        sql: String,
        /// The database's reason.
        detail: String,
    },
    /// A bulk load failed.
    #[error("bulk load into {table} failed: {detail}")]
    BulkLoad {
        /// The target table.
        table: String,
        /// The database's reason (on PostgreSQL it names the line and column of the data).
        detail: String,
    },
    /// A bulk-load row does not have one value per named column.
    #[error(
        "bulk load into {table}: row {row} has {found} values but {expected} columns were named"
    )]
    RowWidth {
        /// The target table.
        table: String,
        /// The 1-based row number among the rows given.
        row: u64,
        /// The number of columns named.
        expected: usize,
        /// The number of values in the row.
        found: usize,
    },
    /// A table or column name that is not a plain or double-quoted SQL identifier.
    #[error("`{0}` is not a valid table or column name")]
    Identifier(String),
    /// A result column of a type this crate does not read.
    #[error(
        "result column {column} has type {type_name}, which ferry-sis does not read; cast it in \
         the query (for example to text)"
    )]
    UnsupportedColumn {
        /// The column's name in the result.
        column: String,
        /// The database's name for its type.
        type_name: String,
    },
    /// The migration list itself is unusable (versions not strictly increasing).
    #[error("migrations of {owner}: {detail}")]
    Migration {
        /// Whose migrations.
        owner: String,
        /// What is wrong.
        detail: String,
    },
    /// The database has a migration this code does not know: a newer plugin ran before.
    #[error(
        "the SIS database has migration {version} of {owner}, which this plugin does not know: a \
         newer version of the plugin has already run against this database"
    )]
    UnknownMigration {
        /// Whose migrations.
        owner: String,
        /// The unknown version found in `ferry_job_migrations`.
        version: i64,
    },
    /// An earlier call of this transaction failed, so it can only be rolled back (see [`Tx`]).
    ///
    /// [`Tx`]: crate::Tx
    #[error(
        "an earlier statement of this transaction failed, so the transaction was abandoned and \
         nothing of it is kept"
    )]
    Aborted,
    /// The private runtime for the PostgreSQL driver could not start.
    #[error("cannot start the PostgreSQL driver's runtime: {0}")]
    Runtime(String),
}
