//! The history store: every SQL statement Ferry runs against its own database lives here.
//!
//! One [`Store`] serves two backends, SQLite (the embedded default: one file, WAL) and PostgreSQL
//! (several schedulers sharing one history). There is one body per method: `with_pool!`
//! expands the same sqlx code once per pool type, and the few statements that must differ per
//! backend live in `dialect.rs`. The schema comes from twin migration folders
//! (`migrations/sqlite`, `migrations/postgres`, identical version lists), embedded at compile time
//! and applied by [`Store::open`].
//!
//! The store owns the invariants that keep several schedulers honest: a scheduled fire is
//! inserted at most once (unique fire key), and a job runs at most once at a time (its lease in
//! `job_leases`, taken in the same transaction as the claim). Nothing here reads the clock:
//! every method that needs "now" takes it as an argument, so tests and catch-up control time.
//!
//! Files: `executions.rs` (claims, leases, life cycle), `history.rs` (reads), `records.rs`
//! (logs, table stats, files), `problems.rs` (input problems runs reported), `notices.rs`
//! (result notices and their delivery attempts),
//! `transfers.rs` (files moved to and from file servers), `state.rs` (job key/value state),
//! `retention.rs` (pruning),
//! `rows.rs` (row decoding), `error.rs`, `dialect.rs`, and `tests.rs`, the suite that runs every
//! test on both backends.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Runs the same sqlx code against whichever pool the store has.
///
/// `with_pool!(self, pool => expr)` expands to a `match` with one arm per backend, binding
/// `pool` to the `SqlitePool` or the `PgPool`; `expr` is type-checked once per backend, so it may
/// only use SQL and bind types both drivers accept (`$N` placeholders work on SQLite too).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}

mod dialect;
mod error;
mod executions;
mod history;
pub mod model;
mod notices;
mod problems;
mod records;
mod retention;
mod rows;
mod state;
#[cfg(test)]
mod tests;
mod transfers;

pub use error::StoreError;

/// The SQLite schema, embedded from `migrations/sqlite`.
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
/// The PostgreSQL schema, embedded from `migrations/postgres`.
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long SQLite waits for another writer before a statement fails as busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per SQLite pool: WAL lets readers run beside the one writer.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Connections per PostgreSQL pool.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The history store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// The pool behind a [`Store`]; matched by `with_pool!`.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Opens the store at `url` and brings its schema up to date.
    ///
    /// - `sqlite://PATH` (or `sqlite:PATH`): a relative `PATH` is relative to the current
    ///   directory, `sqlite:///abs/path` is absolute. The folder and the file are created when
    ///   missing. Connections use WAL, `synchronous=NORMAL`, foreign keys and a 10 s busy timeout.
    /// - `postgres://...` or `postgresql://...`: any libpq-style URL sqlx accepts, including
    ///   `?options[search_path]=SCHEMA` for an existing schema (see
    ///   [`Store::open_postgres_in_schema`] to create it).
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`] for another scheme, [`StoreError::InvalidUrl`],
    /// [`StoreError::CreateDir`], [`StoreError::Connect`] or [`StoreError::Migrate`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            Store::open_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
                    backend: "postgres",
                    source,
                })?;
            Store::open_postgres(options).await
        } else {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            Err(StoreError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            })
        }
    }

    /// Opens a PostgreSQL store whose tables live in `schema` (created when missing), by setting
    /// the connections' `search_path`. Test suites use it to give every test its own empty store
    /// inside one database.
    ///
    /// # Errors
    /// [`StoreError::InvalidSchema`] unless `schema` is a plain identifier (`[a-z_][a-z0-9_]*`),
    /// otherwise as [`Store::open`].
    pub async fn open_postgres_in_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        let valid = schema
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && schema.len() <= 63;
        if !valid {
            return Err(StoreError::InvalidSchema {
                schema: schema.to_owned(),
            });
        }
        let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
            backend: "postgres",
            source,
        })?;
        let mut conn = options
            .connect()
            .await
            .map_err(|source| StoreError::Connect {
                backend: "postgres",
                source,
            })?;
        // The schema name was checked above to be a plain lowercase identifier.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Store::open_postgres(options.options([("search_path", schema)])).await
    }

    /// Creates the database file if needed and takes an exclusive flock on it (see
    /// `open_sqlite`). The lock is released when the returned value is dropped.
    async fn lock_for_setup(
        path: &std::path::Path,
    ) -> Result<Option<nix::fcntl::Flock<std::fs::File>>, StoreError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|source| StoreError::CreateDir {
                path: path.to_owned(),
                source,
            })?;
        Ok(tokio::task::spawn_blocking(move || {
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        })
        .await
        .ok()
        .and_then(Result::ok))
    }

    async fn open_sqlite(url: &str) -> Result<Store, StoreError> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
                backend: "sqlite",
                source,
            })?;
        let path = options.get_filename().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !is_in_memory(&path)
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        // Opening a store sets WAL mode (which needs an exclusive lock while the file is new)
        // and applies migrations (sqlx's SQLite migrator takes no lock), so two processes
        // opening a new store at once (`ferry serve` and `ferry history`, say) would collide.
        // An exclusive flock on the database file, held from before the first connection until
        // the migrations are done, serialises them; SQLite's own locks are POSIX record locks,
        // which flock does not touch.
        let migrating = if is_in_memory(&path) {
            None
        } else {
            Self::lock_for_setup(&path).await?
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "sqlite",
                source,
            })?;
        SQLITE_MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: "sqlite",
                source,
            })?;
        drop(migrating);
        tracing::debug!(path = %path.display(), "Store opened.");
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    async fn open_postgres(options: PgConnectOptions) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "postgres",
                source,
            })?;
        POSTGRES_MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: "postgres",
                source,
            })?;
        tracing::debug!("Store opened.");
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool, waiting for checked-out connections to come back. Clones of this store
    /// fail afterwards.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}

/// True for SQLite's in-memory databases, which have no folder to create.
fn is_in_memory(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.starts_with(":memory:") || name.starts_with("file:")
}
