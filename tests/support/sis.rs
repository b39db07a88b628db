//! A district SIS database for end-to-end tests of jobs that write into one (the florida-peer
//! import): a SQLite file in the test's sandbox, or a PostgreSQL schema of its own on the suite's
//! server, dropped when the guard goes. Reads go through `ferry-sis`, the very API the jobs use,
//! so a test sees values as the job does; [`SisDb::dump`] captures every table of the database
//! so a test can prove a run changed nothing at all.

use crate::{Backend, Sandbox, postgres_url, sql};
use ferry_sis::{Sis, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Distinguishes the schemas of one test process.
static NEXT_SCHEMA: AtomicUsize = AtomicUsize::new(1);

/// One SIS database, removed (PostgreSQL schema) on `Drop`; a SQLite file goes with its sandbox.
#[derive(Debug)]
pub struct SisDb {
    backend: Backend,
    url: String,
    /// The PostgreSQL schema this guard owns.
    schema: Option<String>,
}

impl SisDb {
    /// An empty SIS database on `backend`; a SQLite one is the file `sis.db` in `sandbox`.
    pub fn new(backend: Backend, sandbox: &Sandbox) -> SisDb {
        match backend {
            Backend::Sqlite => SisDb::sqlite(sandbox),
            Backend::Postgres => SisDb::postgres(),
        }
    }

    /// An empty SQLite SIS, the file `sis.db` in `sandbox`.
    pub fn sqlite(sandbox: &Sandbox) -> SisDb {
        let path = sandbox.path().join("sis.db");
        // Creates the file, so the job can open it with a plain URL.
        Sis::connect(&format!("sqlite://{}?mode=rwc", path.display()), None)
            .expect("create the SQLite SIS")
            .close()
            .expect("close");
        SisDb {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            schema: None,
        }
    }

    /// An empty PostgreSQL SIS: a fresh schema on the suite's server, which the URL selects.
    pub fn postgres() -> SisDb {
        let base = postgres_url();
        let schema = format!(
            "ferry_sis_{}_{}",
            std::process::id(),
            NEXT_SCHEMA.fetch_add(1, Ordering::SeqCst)
        );
        sql(
            &base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        );
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        SisDb {
            backend: Backend::Postgres,
            url,
            schema: Some(schema),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL a job's `target_database` names (no password: the suite's server trusts).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostgreSQL schema, if this is one.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// A new connection of the test's own.
    pub fn connect(&self) -> Sis {
        Sis::connect(&self.url, None).expect("connect to the SIS")
    }

    /// Runs a script (`;`-separated statements, no parameters) in one committed transaction.
    pub fn batch(&self, script: &str) {
        let mut sis = self.connect();
        let mut tx = sis.transaction().expect("begin");
        tx.batch(script).expect("SIS script");
        tx.commit().expect("commit");
    }

    /// The rows of one query.
    pub fn query(&self, statement: &str) -> Vec<Vec<Value>> {
        let mut sis = self.connect();
        let mut tx = sis.transaction().expect("begin");
        let rows = tx
            .query(statement, &[])
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        tx.rollback().expect("rollback");
        rows
    }

    /// The rows of one query as text (dates ISO, NULL as `None`).
    pub fn rows(&self, statement: &str) -> Vec<Vec<Option<String>>> {
        self.query(statement)
            .iter()
            .map(|row| row.iter().map(text).collect())
            .collect()
    }

    /// The single integer one query returns (`SELECT COUNT(*) ...`).
    pub fn count(&self, statement: &str) -> i64 {
        let rows = self.query(statement);
        rows.first()
            .and_then(|row| row.first())
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{statement}: not one integer: {rows:?}"))
    }

    /// The names of the database's tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let statement = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY 1"
            }
        };
        self.rows(statement)
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect()
    }

    /// Every row of every table, each row written out in full and sorted: two dumps are equal
    /// exactly when the database holds the same tables with the same rows.
    pub fn dump(&self) -> BTreeMap<String, Vec<String>> {
        let tables = self.tables();
        let mut sis = self.connect();
        let mut tx = sis.transaction().expect("begin");
        let mut dump = BTreeMap::new();
        for table in tables {
            let mut rows: Vec<String> = tx
                .query(&format!("SELECT * FROM {table}"), &[])
                .unwrap_or_else(|e| panic!("dump {table}: {e}"))
                .iter()
                .map(|row| format!("{row:?}"))
                .collect();
            rows.sort();
            dump.insert(table, rows);
        }
        tx.rollback().expect("rollback");
        dump
    }
}

impl Drop for SisDb {
    fn drop(&mut self) {
        if let (Some(schema), Ok(base)) = (&self.schema, std::env::var("FERRY_TEST_DATABASE_URL")) {
            sql(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A value as text: dates ISO, numbers as written, NULL as `None`.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Real(r) => Some(r.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
    }
}
