//! Test support for Ferry's end-to-end tests and benchmark: a sandbox per test (its own
//! directory, configuration and store) that drives the real `ferry` binary, and the real
//! PostgreSQL server the suite runs against.
//!
//! Binaries and plugins are the ones `cargo build --workspace` left in the target directory
//! (`scripts/test` builds them first); a missing one is an error, never a skipped test.
#![allow(
    clippy::disallowed_methods,
    reason = "a synchronous harness: it polls real processes from plain test threads"
)]

pub mod edfi;
pub mod peers;
pub mod sis;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The target directory the tests were built into (`target/debug` or `target/release`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    // Test binaries live in `target/<profile>/deps`, other binaries in `target/<profile>`.
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The `ferry` binary.
pub fn ferry_bin() -> PathBuf {
    let path = target_dir().join("ferry");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (scripts/test does)",
        path.display()
    );
    path
}

/// A plugin library by crate name, e.g. `ferry_job_example`.
pub fn plugin(lib_name: &str) -> PathBuf {
    let path = target_dir().join(format!("lib{lib_name}.so"));
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (scripts/test does)",
        path.display()
    );
    path
}

/// The PostgreSQL URL the suite uses. Tests that need PostgreSQL fail (never skip) without it.
pub fn postgres_url() -> String {
    std::env::var("FERRY_TEST_DATABASE_URL").expect(
        "FERRY_TEST_DATABASE_URL is not set: run the suite with scripts/test, which starts \
         PostgreSQL, or point it at a server (e.g. postgres://postgres@127.0.0.1:5432/test)",
    )
}

/// Which store a sandbox uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's world: a directory with a configuration, a store and the `ferry` binary.
#[derive(Debug)]
pub struct Sandbox {
    dir: tempfile::TempDir,
    database: String,
    /// The PostgreSQL schema this sandbox owns, dropped on `Drop`.
    schema: Option<String>,
}

impl Sandbox {
    /// A sandbox on the given backend. A PostgreSQL sandbox gets a fresh schema of its own.
    pub fn new(backend: Backend) -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => {
                let database = format!("sqlite://{}/ferry.db", dir.path().display());
                Sandbox {
                    dir,
                    database,
                    schema: None,
                }
            }
            Backend::Postgres => {
                let base = postgres_url();
                let schema = format!(
                    "ferry_e2e_{}_{}",
                    std::process::id(),
                    dir.path()
                        .file_name()
                        .map(|n| n.to_string_lossy().to_lowercase())
                        .unwrap_or_default()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
                );
                sql(&base, &format!("CREATE SCHEMA {schema}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let database = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Sandbox {
                    dir,
                    database,
                    schema: Some(schema),
                }
            }
        }
    }

    /// A SQLite sandbox.
    pub fn sqlite() -> Sandbox {
        Sandbox::new(Backend::Sqlite)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store URL.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The configuration file path.
    pub fn config_path(&self) -> PathBuf {
        self.path().join("ferry.toml")
    }

    /// Writes `ferry.toml`: a `[scheduler]` table pointing at this sandbox, then `jobs` verbatim.
    pub fn config(&self, jobs: &str) -> &Sandbox {
        let text = format!(
            "[scheduler]\ndatabase = \"{}\"\nplugin_dir = \"{}\"\nwork_dir = \"{}\"\ntimezone = \"America/Chicago\"\n\n{jobs}",
            self.database,
            target_dir().display(),
            self.path().join("work").display(),
        );
        std::fs::write(self.config_path(), text).expect("write config");
        self
    }

    /// A `ferry` command with this sandbox's configuration.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ferry_bin());
        cmd.args(args)
            .env("FERRY_CONFIG", self.config_path())
            .env_remove("RUST_LOG")
            .current_dir(self.path());
        cmd
    }

    /// Runs `ferry ARGS` to completion.
    pub fn ferry(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run ferry");
        Run { output }
    }

    /// Starts `ferry ARGS` in the background (stdout and stderr go to files in the sandbox).
    pub fn spawn(&self, args: &[&str], name: &str) -> Child {
        let out = std::fs::File::create(self.path().join(format!("{name}.out"))).expect("out");
        let err = std::fs::File::create(self.path().join(format!("{name}.err"))).expect("err");
        self.command(args)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn ferry")
    }

    /// What a background `ferry` printed on stderr so far.
    pub fn stderr_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(format!("{name}.err"))).unwrap_or_default()
    }

    /// What every background `ferry` of this sandbox printed on stderr, for failure messages.
    pub fn background_output(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = std::fs::read_dir(self.path()) {
            for entry in dir.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "err") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    out.push_str(&format!("--- {}\n{text}\n", path.display()));
                }
            }
        }
        out
    }

    /// `ferry history --json` (all of it, newest first).
    pub fn history(&self) -> Vec<Value> {
        let run = self.ferry(&["history", "--json", "--limit", "100000"]);
        run.assert_code(0);
        match run.json() {
            Value::Array(items) => items,
            other => panic!("history --json is not an array: {other}"),
        }
    }

    /// `ferry show RUN --json`.
    pub fn show(&self, run: i64) -> Value {
        let out = self.ferry(&["show", &run.to_string(), "--json"]);
        out.assert_code(0);
        out.json()
    }

    /// Polls history until `pred` holds, or panics after `timeout` with the last history.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let history = self.history();
            if pred(&history) {
                return history;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; history: {}\n{}",
                serde_json::to_string_pretty(&history).unwrap_or_default(),
                self.background_output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs SQL against this sandbox's PostgreSQL schema or SQLite file.
    pub fn sql(&self, statement: &str) {
        sql(&self.database, statement);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let (Some(schema), Ok(base)) = (&self.schema, std::env::var("FERRY_TEST_DATABASE_URL")) {
            sql(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Runs one SQL statement against a store URL (SQLite or PostgreSQL).
pub fn sql(url: &str, statement: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use sqlx::Connection;
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        if url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
            sqlx::raw_sql(statement)
                .execute(&mut conn)
                .await
                .expect("sql");
        } else {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::raw_sql(statement)
                .execute(&mut conn)
                .await
                .expect("sql");
        }
    });
}

/// A finished `ferry` command.
#[derive(Debug)]
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, printing both streams when it differs.
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }
}

/// The executions in `history` of `job`.
pub fn of_job<'a>(history: &'a [Value], job: &str) -> Vec<&'a Value> {
    history.iter().filter(|e| e["job"] == job).collect()
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, signal).expect("kill");
}

/// Waits for a child to exit, killing it after `timeout`; returns its exit code.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The names in `dir`, sorted (hidden and temporary ones too); none when it does not exist.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The paths of the files of `kind` a run recorded, from its `ferry show --json`.
pub fn run_files(show: &Value, kind: &str) -> Vec<PathBuf> {
    show["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["kind"] == kind)
        .map(|f| PathBuf::from(f["path"].as_str().expect("path")))
        .collect()
}
