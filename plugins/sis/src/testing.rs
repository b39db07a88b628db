//! Test support (cargo feature `testing`): a throwaway SIS database for the tests of `ferry-sis`
//! and of the jobs built on it.
//!
//! Every job that reads or writes the SIS tests itself on both backends, so each of them needed
//! the same harness: a fresh SQLite file, or a fresh PostgreSQL schema on the test server, gone
//! again when the test ends, passed or failed. It lives here once. Job crates enable it for their
//! tests only:
//!
//! ```toml
//! [dev-dependencies]
//! ferry-sis = { workspace = true, features = ["testing"] }
//! ```
//!
//! PostgreSQL comes from `FERRY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, trust auth). Each [`TestDb`] there is its own
//! schema, reached through the URL's `options=-c search_path=...`, so tests run in parallel
//! without seeing each other's tables. There is no fallback when the server is missing: a
//! PostgreSQL test panics, naming the variable to set.
//!
//! A test makes a [`TestDb`] per backend ([`TestDb::sqlite`], [`TestDb::postgres`] with a schema
//! prefix of its own, or [`TestDb::new`]), loads its schema and data with [`TestDb::run`], and
//! hands [`TestDb::url`] to the code under test or opens it with [`TestDb::connect`].

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Backend, Sis};

/// The environment variable naming the PostgreSQL server for tests.
pub const DATABASE_URL_VAR: &str = "FERRY_TEST_DATABASE_URL";

/// The PostgreSQL server for tests when [`DATABASE_URL_VAR`] is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL: [`DATABASE_URL_VAR`], or else [`DEFAULT_DATABASE_URL`].
#[must_use]
pub fn postgres_base_url() -> String {
    std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// One test's empty database: a SQLite file in a temporary directory, or a schema of its own on
/// the PostgreSQL test server. Dropping it removes the file or drops the schema (`CASCADE`).
///
/// Setup failures panic: this is for tests, where a missing server must fail loudly.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    backend: Backend,
    /// Keeps the SQLite file's directory alive; removed on drop.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema this database owns.
    schema: Option<String>,
}

impl TestDb {
    /// An empty database on `backend`; `schema_prefix` names a PostgreSQL schema (see
    /// [`TestDb::postgres`]) and is unused on SQLite.
    #[must_use]
    pub fn new(backend: Backend, schema_prefix: &str) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres(schema_prefix),
        }
    }

    /// An empty SQLite file, `sis.db` in a fresh temporary directory.
    #[must_use]
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir for the test SQLite database");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("sis.db").display());
        TestDb {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A fresh, empty schema on the PostgreSQL test server, named
    /// `{schema_prefix}_{pid}_{nanos}_{n}` so that neither parallel tests nor a schema a killed
    /// run left behind collide with it.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or the schema not created, or when `schema_prefix` is
    /// not a lowercase SQL identifier (`[a-z_][a-z0-9_]*`).
    #[must_use]
    pub fn postgres(schema_prefix: &str) -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        assert!(
            schema_prefix.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && schema_prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "schema prefix {schema_prefix:?} is not a lowercase SQL identifier"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let schema = format!(
            "{schema_prefix}_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let base = postgres_base_url();
        let mut admin = Sis::connect(&base, None).unwrap_or_else(|e| {
            panic!("PostgreSQL test database {base}: {e} (set {DATABASE_URL_VAR})")
        });
        let mut tx = admin.transaction().expect("begin");
        tx.batch(&format!("CREATE SCHEMA {schema}"))
            .expect("create the test schema");
        tx.commit().expect("commit");
        let sep = if base.contains('?') { '&' } else { '?' };
        TestDb {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            backend: Backend::Postgres,
            _dir: None,
            schema: Some(schema),
        }
    }

    /// The URL that reaches this database (for [`Sis::connect`], or a job's settings).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend this is.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A new connection, checked to be on the expected backend.
    #[must_use]
    pub fn connect(&self) -> Sis {
        let sis = Sis::connect(&self.url, None).expect("connect to the test database");
        assert_eq!(sis.backend(), self.backend);
        sis
    }

    /// Runs SQL scripts (each may hold several statements) in one transaction and commits it.
    pub fn run(&self, scripts: &[&str]) {
        let mut sis = self.connect();
        let mut tx = sis.transaction().expect("begin");
        for script in scripts {
            tx.batch(script).expect("script runs");
        }
        tx.commit().expect("commit");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: a drop must not panic (it may run while a failed test unwinds).
        if let Some(schema) = &self.schema
            && let Ok(mut admin) = Sis::connect(&postgres_base_url(), None)
            && let Ok(mut tx) = admin.transaction()
        {
            let _ = tx.batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            let _ = tx.commit();
        }
    }
}
