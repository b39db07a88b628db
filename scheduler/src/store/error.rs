//! [`StoreError`]: what can go wrong in the store, as kinds callers can match on.
//!
//! Database errors are classified at this boundary (unique, foreign-key and check violations,
//! busy/locked, unreachable) so no caller ever compares SQLSTATE strings or SQLite codes.

use super::model::Status;
use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store URL names neither `sqlite:` nor `postgres://`. Only the scheme is kept, since
    /// the rest of a URL may hold a password.
    #[error("unsupported store url scheme {scheme:?} (expected sqlite://PATH or postgres://...)")]
    UnsupportedUrl { scheme: String },
    /// The store URL could not be parsed.
    #[error("invalid {backend} store url: {source}")]
    InvalidUrl {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A PostgreSQL schema name that is not a plain lowercase identifier.
    #[error("invalid schema name {schema:?} (expected [a-z_][a-z0-9_]*)")]
    InvalidSchema { schema: String },
    /// The folder of the SQLite file could not be created.
    #[error("cannot create the store folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or reached.
    #[error("cannot connect to the {backend} store: {source}")]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The schema migrations failed, or the database holds a migration this build does not know.
    #[error("cannot migrate the {backend} store: {source}")]
    Migrate {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// No execution has this id.
    #[error("run #{id} not found")]
    NotFound { id: i64 },
    /// No notice has this id.
    #[error("notice #{id} not found")]
    NoticeNotFound { id: i64 },
    /// The execution has already ended; its outcome is never overwritten.
    #[error("run #{id} already finished as {status}")]
    AlreadyFinished { id: i64, status: Status },
    /// A live status (`queued`, `running`) where a final one is required: finishing an execution
    /// as live, or retrying an execution that has not ended.
    #[error("run #{id}: status {status} is not final")]
    NotFinal { id: i64, status: Status },
    /// A lease time-to-live too large to add to a timestamp.
    #[error("lease ttl of {ttl:?} is out of range")]
    TtlOutOfRange { ttl: std::time::Duration },
    /// A claim found its job's lease changing hands on every look (PostgreSQL, heavy
    /// contention). Nothing was recorded; claiming again may succeed.
    #[error("the lease of job {job:?} kept changing hands during the claim")]
    LeaseContended { job: String },
    /// A unique key was violated (a duplicate log sequence number, a second retry of one run).
    #[error("duplicate record: {0}")]
    UniqueViolation(#[source] sqlx::Error),
    /// A record refers to an execution that does not exist.
    #[error("the run referred to does not exist: {0}")]
    ForeignKeyViolation(#[source] sqlx::Error),
    /// A value was rejected by a CHECK or NOT NULL constraint (an unknown table action, ...).
    #[error("value rejected by the schema: {0}")]
    ConstraintViolation(#[source] sqlx::Error),
    /// The database stayed locked past the busy timeout (SQLite), or the transaction hit a
    /// serialization failure or deadlock (PostgreSQL). Retrying later may succeed.
    #[error("the store is busy: {0}")]
    Busy(#[source] sqlx::Error),
    /// The database could not be reached (I/O, TLS, pool timeout, closed pool).
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored value that this build cannot read (an unknown status name, ...).
    #[error("unreadable value in the store: {what}")]
    Corrupt { what: String },
    /// Any other database error.
    #[error("store query failed: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::UniqueViolation(error),
                ErrorKind::ForeignKeyViolation => StoreError::ForeignKeyViolation(error),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    StoreError::ConstraintViolation(error)
                }
                _ if super::dialect::is_busy(db.as_ref()) => StoreError::Busy(error),
                _ => StoreError::Database(error),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error),
            _ => StoreError::Database(error),
        }
    }
}
