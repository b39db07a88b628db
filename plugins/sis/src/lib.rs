//! `ferry-sis`: the district SIS database, as job plugins see it.
//!
//! Several jobs write into the district's student information system database (the Florida PEER
//! import, an Ed-Fi resync, discipline uploads). They share this crate rather than each talking
//! to a driver: one synchronous API (a plugin's `Job::run` is synchronous) over SQLite and
//! PostgreSQL, with the same [`Value`]s, the same `?` placeholders and the same fast bulk load on
//! both, plus per-plugin schema [`migrate`]ions.
//!
//! ```no_run
//! use ferry_sis::{Sis, Value};
//! # fn main() -> Result<(), ferry_sis::SisError> {
//! let mut sis = Sis::connect("postgres://ferry@sis-db/sis", Some("secret"))?;
//! let mut tx = sis.transaction()?;
//! tx.batch("CREATE TEMP TABLE peer_in (id TEXT, grade TEXT)")?;
//! tx.bulk_insert("peer_in", &["id", "grade"], [vec![Value::from("17"), Value::from("05")]])?;
//! tx.execute("UPDATE students SET grade = p.grade FROM peer_in p WHERE students.id = p.id", &[])?;
//! tx.commit()?; // dropping `tx` instead rolls everything back
//! # Ok(()) }
//! ```
//!
//! # Speed rules
//!
//! - Load rows with [`Tx::bulk_insert`], never one `execute` per row. On PostgreSQL it streams
//!   `COPY ... FROM STDIN` (as fast as `psql \copy`; row-by-row inserts are about 60 times
//!   slower); on SQLite it steps one cached prepared `INSERT` (faster than `sqlite3 .import`).
//! - Rows made from data already in memory (a file just read): pass [`ValueRef`]s, which borrow
//!   their text, rather than copying every field into a [`Value`] first.
//! - Do everything in one [`Tx`]: a commit per row costs a disk sync per row.
//! - To update many rows, bulk-load them into a temporary table and `UPDATE ... FROM` it.
//! - SQLite goes through rusqlite, not sqlx, whose SQLite driver costs a thread round trip per
//!   statement; both link the same bundled SQLite (`libsqlite3-sys`).
//!
//! # Backend differences callers see
//!
//! - `Value::Date` is stored as ISO text on SQLite; it reads back as a `Date` from a column
//!   declared `DATE`.
//! - On PostgreSQL each value binds with its own type (int8, float8, text, date; NULL lets the
//!   server infer), so `Text` does not go into a `numeric` or `date` column without a cast:
//!   write `CAST(? AS numeric)`, which both backends accept. `numeric` reads back as exact text.
//! - [`Tx::backend`] tells which one is at hand, for the small SQL differences left.

mod error;
mod migrate;
mod postgres;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod value;

pub use error::SisError;
pub use migrate::{Migration, migrate};
pub use value::{AsValueRef, Value, ValueRef};

use postgres::PgDb;
use std::fmt;

/// Which database the SIS is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One connection to the SIS database. Work happens in [`Tx`]s, one at a time.
pub struct Sis {
    db: Db,
    /// The path or URL (password masked), for messages.
    target: String,
}

enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(PgDb),
}

impl fmt::Debug for Sis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sis")
            .field("backend", &self.backend())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Sis {
    /// Connects to the SIS database.
    ///
    /// - `sqlite://PATH` (or `sqlite:PATH`): the file must exist; `?mode=rwc` creates it (tests,
    ///   benchmarks), `?mode=ro` opens it read-only. The database's own settings (journal mode,
    ///   foreign keys) are kept; a 30 s busy timeout is set. `password` is not used.
    /// - `postgres://...` (or `postgresql://`): every option sqlx reads from a URL, for example
    ///   `?options=-c%20search_path%3Dsis`. `password`, when given, is set on the connection
    ///   options, never put into a URL, and never appears in an error.
    pub fn connect(url: &str, password: Option<&str>) -> Result<Sis, SisError> {
        let target = mask_url(url);
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(sqlite::open(url)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(PgDb::connect(url, password, &target)?)
        } else {
            return Err(SisError::Url {
                url: target,
                reason: "expected sqlite://PATH or postgres://...".to_owned(),
            });
        };
        Ok(Sis { db, target })
    }

    /// Connects like [`Sis::connect`], but a `sqlite://PATH` database (without options) that
    /// does not exist yet is created, with its folder: for tools that set up a stand-in SIS
    /// (quick starts, benchmarks), never for a job, which must not invent the district's SIS.
    ///
    /// # Errors
    /// As [`Sis::connect`], or the folder cannot be created.
    pub fn connect_creating(url: &str, password: Option<&str>) -> Result<Sis, SisError> {
        let Some(path) = url.strip_prefix("sqlite://").filter(|_| !url.contains('?')) else {
            return Sis::connect(url, password);
        };
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| SisError::Connect {
                target: mask_url(url),
                detail: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        Sis::connect(&format!("{url}?mode=rwc"), password)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// it waits (up to the busy timeout) for other writers instead of failing half-way.
    pub fn transaction(&mut self) -> Result<Tx<'_>, SisError> {
        match &mut self.db {
            Db::Sqlite(conn) => sqlite::batch(conn, "BEGIN IMMEDIATE")?,
            Db::Postgres(pg) => pg.batch("BEGIN")?,
        }
        Ok(Tx {
            sis: self,
            open: true,
            failed: false,
        })
    }

    /// Closes the connection, reporting a failure to do so cleanly (dropping closes too, quietly).
    pub fn close(mut self) -> Result<(), SisError> {
        match &mut self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(pg) => pg.close(),
        }
    }
}

/// One database transaction. [`commit`](Tx::commit) keeps its work; dropping it (or
/// [`rollback`](Tx::rollback)) undoes it.
///
/// SQL uses `?` placeholders on both backends (rewritten to `$1, $2, ...` for PostgreSQL, except
/// inside quotes and comments), bound from a slice of [`Value`]s.
///
/// After any error the transaction is spoilt, on both backends alike: later calls and `commit`
/// return [`SisError::Aborted`] and nothing is kept. (PostgreSQL aborts a transaction at its
/// first failed statement and would quietly turn the `COMMIT` into a rollback; SQLite would keep
/// whatever a failed bulk load had inserted so far.)
#[derive(Debug)]
pub struct Tx<'a> {
    sis: &'a mut Sis,
    /// Still to be committed or rolled back.
    open: bool,
    /// A call has failed: only a rollback is left.
    failed: bool,
}

impl Tx<'_> {
    /// Which database this is, for the small SQL differences callers must branch on.
    pub fn backend(&self) -> Backend {
        self.sis.backend()
    }

    /// Runs one statement and returns the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, SisError> {
        self.run(|db| match db {
            Db::Sqlite(conn) => sqlite::execute(conn, sql, params),
            Db::Postgres(pg) => pg.execute(sql, params),
        })
    }

    /// Runs one query and returns all its rows. Columns read as: integers → `Int`, floating
    /// point → `Real`, text → `Text`, dates → `Date` (on SQLite: ISO text in a column declared
    /// `DATE`), NULL → `Null`; on PostgreSQL also `numeric` and `timestamp` → `Text`, `boolean`
    /// → `Int` (0/1). Other types are an error naming the column: cast them in the SQL.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, SisError> {
        self.run(|db| match db {
            Db::Sqlite(conn) => sqlite::query(conn, sql, params),
            Db::Postgres(pg) => pg.query(sql, params),
        })
    }

    /// Runs a script of several `;`-separated statements without parameters (migrations, temp
    /// table setup). It must not contain `BEGIN`/`COMMIT`: it runs inside this transaction.
    pub fn batch(&mut self, script: &str) -> Result<(), SisError> {
        self.run(|db| match db {
            Db::Sqlite(conn) => sqlite::batch(conn, script),
            Db::Postgres(pg) => pg.batch(script),
        })
    }

    /// Loads rows into `table` (`columns` in the order of each row's values) the fast way:
    /// `COPY FROM STDIN` on PostgreSQL, a cached prepared `INSERT` on SQLite. Returns the number
    /// of rows loaded. Names may be schema-qualified or double-quoted; anything else that is not
    /// a plain SQL identifier is refused. Temporary tables work.
    ///
    /// Rows are slices of [`Value`]s or of [`ValueRef`]s; the latter borrow their text, so rows
    /// made from data already in memory need not copy it.
    pub fn bulk_insert<R: AsRef<[V]>, V: AsValueRef>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, SisError> {
        self.run(|db| match db {
            Db::Sqlite(conn) => sqlite::bulk_insert(conn, table, columns, rows),
            Db::Postgres(pg) => pg.bulk_insert(table, columns, rows),
        })
    }

    /// Makes the transaction's work permanent; after an earlier error it rolls back instead and
    /// returns [`SisError::Aborted`].
    pub fn commit(mut self) -> Result<(), SisError> {
        if self.failed {
            self.open = false;
            let _ = self.end("ROLLBACK");
            return Err(SisError::Aborted);
        }
        self.end("COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Undoes the transaction's work (as dropping it does, but reporting a failure).
    pub fn rollback(mut self) -> Result<(), SisError> {
        self.open = false;
        self.end("ROLLBACK")
    }

    /// Runs one call unless an earlier one failed, and remembers a failure.
    fn run<T>(&mut self, call: impl FnOnce(&mut Db) -> Result<T, SisError>) -> Result<T, SisError> {
        if self.failed {
            return Err(SisError::Aborted);
        }
        let result = call(&mut self.sis.db);
        self.failed = result.is_err();
        result
    }

    fn end(&mut self, statement: &str) -> Result<(), SisError> {
        match &mut self.sis.db {
            Db::Sqlite(conn) => sqlite::batch(conn, statement),
            Db::Postgres(pg) => pg.batch(statement),
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // Also reached when COMMIT failed: SQLite may keep the transaction open after a failed
        // COMMIT (a busy database), PostgreSQL only warns about a ROLLBACK outside one.
        if self.open {
            let _ = self.end("ROLLBACK");
        }
    }
}

/// The URL as messages may show it: a password in the user part or in a `password=` option is
/// replaced by `***`.
fn mask_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
                    None => base.to_owned(),
                },
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_url;

    #[test]
    fn masks_passwords_in_urls() {
        assert_eq!(
            mask_url("postgres://u:s3cr%40t@db:5432/sis?sslmode=require"),
            "postgres://u:***@db:5432/sis?sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://u@db/sis?password=hunter2&x=1"),
            "postgres://u@db/sis?password=***&x=1"
        );
        assert_eq!(mask_url("postgres://db/sis"), "postgres://db/sis");
        assert_eq!(
            mask_url("sqlite:///tmp/a.db?mode=rwc"),
            "sqlite:///tmp/a.db?mode=rwc"
        );
    }
}
