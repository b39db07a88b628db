//! [`Context`]: what a running job sees of its run and of the host.
//!
//! Everything here is safe Rust. Events and host calls are serialized to the JSON shapes of
//! [`crate::wire`] and handed to the host through `ffi` (or, for a context made with
//! [`Context::offline`], kept in memory so a job's logic can be unit-tested without Ferry).

use crate::error::JobError;
use crate::ffi::HostLink;
use crate::problem::Problem;
use crate::wire::{Event, HostCall, HostReply, Level, RemoteFileInfo, RunRequest, TableAction};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The run a job performs, and the host services it may use.
///
/// Emitting methods (`log`, `table`, `file`, `progress`, `problem`) never fail: if the host cannot take an
/// event there is nothing useful a job could do about it.
pub struct Context {
    request: RunRequest,
    link: Link,
}

/// Where events and host calls go.
enum Link {
    /// The Ferry worker process, through the host vtable.
    Host(HostLink),
    /// Nowhere: kept in memory (see [`Context::offline`]).
    Offline(RefCell<Offline>),
}

#[derive(Default)]
struct Offline {
    events: Vec<Event>,
    state: BTreeMap<String, String>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Settings and secrets stay out of Debug output on purpose.
        f.debug_struct("Context")
            .field("run_id", &self.request.run_id)
            .field("job", &self.request.job)
            .field("attempt", &self.request.attempt)
            .finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn with_host(request: RunRequest, host: HostLink) -> Context {
        Context {
            request,
            link: Link::Host(host),
        }
    }

    /// A context that is not connected to Ferry: events are recorded in memory (read them with
    /// [`Context::recorded_events`]), job state is an in-memory map and `cancelled()` is false.
    /// For a plugin's own unit tests.
    pub fn offline(request: RunRequest) -> Context {
        Context {
            request,
            link: Link::Offline(RefCell::new(Offline::default())),
        }
    }

    /// The events emitted so far by an [`offline`](Context::offline) context; empty when
    /// connected to Ferry (the host has them).
    pub fn recorded_events(&self) -> Vec<Event> {
        match &self.link {
            Link::Host(_) => Vec::new(),
            Link::Offline(offline) => offline.borrow().events.clone(),
        }
    }

    /// The whole request as the host sent it.
    pub fn request(&self) -> &RunRequest {
        &self.request
    }

    /// The execution id in Ferry's history.
    pub fn run_id(&self) -> i64 {
        self.request.run_id
    }

    /// The job's name from the configuration.
    pub fn job(&self) -> &str {
        &self.request.job
    }

    /// What started the run: `schedule`, `catch_up`, `retry`, `manual` or `arrival`.
    pub fn trigger(&self) -> &str {
        &self.request.trigger
    }

    /// 1 for the first try, 2 for the first retry, and so on.
    pub fn attempt(&self) -> u32 {
        self.request.attempt
    }

    /// The logical fire time (RFC 3339); a catch-up run gets the missed instant. `None` for a
    /// manual run.
    pub fn scheduled_for(&self) -> Option<&str> {
        self.request.scheduled_for.as_deref()
    }

    /// The job's `settings` table as JSON.
    pub fn settings(&self) -> &serde_json::Value {
        &self.request.settings
    }

    /// The job's `settings` table read into the job's own type.
    ///
    /// # Errors
    /// [`JobError::Settings`] naming what does not fit `T`.
    pub fn settings_as<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.request.settings.clone()).map_err(JobError::settings)
    }

    /// The `--set key=value` parameters of `ferry run`.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.request.params
    }

    /// One `--set` parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.request.params.get(name).map(String::as_str)
    }

    /// A secret the settings reference (`NAME_env` / `NAME_file`), by its base `NAME`.
    /// Ferry redacts secret values from everything it records, but do not log them anyway.
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.request.secrets.get(name).map(String::as_str)
    }

    /// A directory private to this run.
    pub fn work_dir(&self) -> &Path {
        &self.request.work_dir
    }

    /// The job's inbox: where fetched files land.
    pub fn inbox(&self) -> &Path {
        &self.request.inbox
    }

    /// The job's outbox: where files to upload are written.
    pub fn outbox(&self) -> &Path {
        &self.request.outbox
    }

    /// The job's time zone (IANA name).
    pub fn timezone(&self) -> &str {
        &self.request.timezone
    }

    /// Today's date (`YYYY-MM-DD`) in the job's time zone when the run started.
    pub fn today(&self) -> &str {
        &self.request.today
    }

    /// True when the operator asked not to fetch remote files for this run (`--no-fetch`).
    pub fn no_fetch(&self) -> bool {
        self.request.no_fetch
    }

    /// Writes a line to the run's log.
    pub fn log(&self, level: Level, message: impl Into<String>) {
        self.emit(Event::Log {
            level,
            message: message.into(),
        });
    }

    /// Writes a debug line to the run's log.
    pub fn debug(&self, message: impl Into<String>) {
        self.log(Level::Debug, message);
    }

    /// Writes an info line to the run's log.
    pub fn info(&self, message: impl Into<String>) {
        self.log(Level::Info, message);
    }

    /// Writes a warning to the run's log.
    pub fn warn(&self, message: impl Into<String>) {
        self.log(Level::Warn, message);
    }

    /// Writes an error line to the run's log.
    pub fn error(&self, message: impl Into<String>) {
        self.log(Level::Error, message);
    }

    /// Reports rows and seconds for one table (a line of the run's table summary).
    pub fn table(&self, name: impl Into<String>, rows: i64, seconds: f64, action: TableAction) {
        self.emit(Event::Table {
            table: name.into(),
            rows,
            seconds,
            action,
        });
    }

    /// Reports progress of long work; `total` is `None` when unknown.
    pub fn progress(&self, done: u64, total: Option<u64>, message: Option<&str>) {
        self.emit(Event::Progress {
            done,
            total,
            message: message.map(str::to_owned),
        });
    }

    /// Reports a file the run produced, e.g. `ctx.file(path, "csv")`.
    pub fn file(&self, path: impl Into<PathBuf>, kind: impl Into<String>) {
        self.emit(Event::File {
            path: path.into(),
            kind: kind.into(),
        });
    }

    /// Reports a problem with the run's input (a rejected row, a bad value), naming file, line,
    /// field and value where it can:
    ///
    /// ```
    /// # use ferry_plugin::{Context, Problem};
    /// # fn check(ctx: &Context) {
    /// ctx.problem(
    ///     Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
    ///         .at("PEER_STUDENT.txt", 17)
    ///         .field("BirthDate", "2019-13-01"),
    /// );
    /// # }
    /// ```
    ///
    /// Ferry stores every problem with the run (redacted like log lines) and groups them by
    /// category in the run's result notice. Reporting a problem does not change how the run
    /// ends: return [`Outcome::warning`](crate::Outcome::warning) or
    /// [`Outcome::failed`](crate::Outcome::failed) when the problems call for it.
    pub fn problem(&self, problem: Problem) {
        self.emit(problem.into());
    }

    /// Reads a value of this job's persistent state (kept by Ferry between runs).
    ///
    /// # Errors
    /// [`JobError::Host`] if the host could not read the state.
    pub fn state_get(&self, key: &str) -> Result<Option<String>, JobError> {
        self.call(&HostCall::StateGet {
            key: key.to_owned(),
        })
    }

    /// Writes a value of this job's persistent state; `None` deletes the key.
    ///
    /// # Errors
    /// [`JobError::Host`] if the host could not write the state.
    pub fn state_set(&self, key: &str, value: Option<&str>) -> Result<(), JobError> {
        self.call(&HostCall::StateSet {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        })
        .map(drop)
    }

    /// Lists the regular files of `dir` on the connection `connection` (a `[connections.NAME]`
    /// of Ferry's configuration), in name order; with `pattern`, only the names matching that
    /// glob (`*.csv`; `*` does not match a leading dot). `dir` is relative to the connection's
    /// root unless absolute. The host does the work: the job never sees credentials.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when `dir` does not exist on the server (test with
    /// [`JobError::is_not_found`], e.g. for a folder the other side creates later);
    /// [`JobError::Host`] for an unknown connection (the message lists the configured ones) or
    /// a server that cannot be reached.
    pub fn list_files(
        &self,
        connection: &str,
        dir: &str,
        pattern: Option<&str>,
    ) -> Result<Vec<RemoteFileInfo>, JobError> {
        let call = HostCall::ListFiles {
            connection: connection.to_owned(),
            dir: dir.to_owned(),
            pattern: pattern.map(str::to_owned),
        };
        match self.call_reply(&call)? {
            HostReply::Files { files } => Ok(files),
            other => Err(unexpected(&other)),
        }
    }

    /// Downloads `remote_path` from `connection` into the run's inbox, under its own name, and
    /// returns the local path. The file is complete when this returns (temporary name, size
    /// check, rename) and is recorded in the run's transfers.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when `remote_path` does not exist on the server;
    /// [`JobError::Host`] for an unknown connection or a failed transfer.
    pub fn fetch_file(&self, connection: &str, remote_path: &str) -> Result<PathBuf, JobError> {
        self.fetch_file_as(connection, remote_path, None)
    }

    /// Like [`fetch_file`](Context::fetch_file), but names the file `local_name` in the inbox
    /// (a plain file name, no folders).
    ///
    /// # Errors
    /// As [`fetch_file`](Context::fetch_file), and for a `local_name` that is not a plain name.
    pub fn fetch_file_as(
        &self,
        connection: &str,
        remote_path: &str,
        local_name: Option<&str>,
    ) -> Result<PathBuf, JobError> {
        let value = self.call(&HostCall::FetchFile {
            connection: connection.to_owned(),
            remote_path: remote_path.to_owned(),
            local_name: local_name.map(str::to_owned),
        })?;
        value.map(PathBuf::from).ok_or_else(|| JobError::Host {
            message: "the host fetched the file but did not say where to".to_owned(),
        })
    }

    /// Uploads the local file `local_path` to `remote_path` on `connection`: to a temporary
    /// name beside it, size checked, then renamed over `remote_path`. Missing remote folders are
    /// created. A relative `local_path` is relative to [`work_dir`](Context::work_dir). The file
    /// is recorded in the run's transfers.
    ///
    /// # Errors
    /// [`JobError::Host`] for an unknown connection, an unreadable local file, or a failed
    /// transfer.
    pub fn put_file(
        &self,
        connection: &str,
        local_path: impl AsRef<Path>,
        remote_path: &str,
    ) -> Result<(), JobError> {
        self.call(&HostCall::PutFile {
            connection: connection.to_owned(),
            local_path: local_path.as_ref().to_owned(),
            remote_path: remote_path.to_owned(),
        })
        .map(drop)
    }

    /// Renames (moves) `from` to `to` on `connection`, replacing `to` if it exists; e.g. to
    /// move a processed file into an archive folder.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when `from` does not exist on the server (`to` is then left
    /// alone); [`JobError::Host`] for an unknown connection or a refused rename.
    pub fn rename_file(&self, connection: &str, from: &str, to: &str) -> Result<(), JobError> {
        self.call(&HostCall::RenameFile {
            connection: connection.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
        })
        .map(drop)
    }

    /// True once the host asked the run to stop (timeout, shutdown). Long work should check
    /// this between steps and return, e.g. with `Err(JobError::Cancelled)`.
    pub fn cancelled(&self) -> bool {
        match &self.link {
            Link::Host(host) => host.cancelled(),
            Link::Offline(_) => false,
        }
    }

    /// Waits `duration` (polling a folder, backing off before a retry) while staying
    /// responsive: it wakes every quarter second to check [`cancelled`](Context::cancelled).
    ///
    /// # Errors
    /// [`JobError::Cancelled`] as soon as the host asks the run to stop.
    pub fn pause(&self, duration: std::time::Duration) -> Result<(), JobError> {
        let until = std::time::Instant::now() + duration;
        loop {
            if self.cancelled() {
                return Err(JobError::Cancelled);
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "a plugin's run is synchronous, on its own worker thread"
            )]
            std::thread::sleep(left.min(std::time::Duration::from_millis(250)));
        }
    }

    fn emit(&self, event: Event) {
        match &self.link {
            Link::Host(host) => {
                // Serializing these plain structs cannot fail; skip the event if it ever does.
                if let Ok(json) = serde_json::to_string(&event) {
                    host.emit(&json);
                }
            }
            Link::Offline(offline) => offline.borrow_mut().events.push(event),
        }
    }

    /// A call whose answer is [`HostReply::Ok`]: its value.
    fn call(&self, call: &HostCall) -> Result<Option<String>, JobError> {
        match self.call_reply(call)? {
            HostReply::Ok { value } => Ok(value),
            other => Err(unexpected(&other)),
        }
    }

    /// Any call; [`HostReply::Error`] becomes a [`JobError`] (see [`reply_error`]), other
    /// replies are returned.
    fn call_reply(&self, call: &HostCall) -> Result<HostReply, JobError> {
        let reply = match &self.link {
            Link::Host(host) => {
                let json = serde_json::to_string(call).map_err(|e| JobError::Host {
                    message: format!("cannot encode host call: {e}"),
                })?;
                let reply = host
                    .call(&json)
                    .map_err(|message| JobError::Host { message })?;
                serde_json::from_str::<HostReply>(&reply).map_err(|e| JobError::Host {
                    message: format!("unreadable host reply: {e}"),
                })?
            }
            Link::Offline(offline) => offline_call(&mut offline.borrow_mut(), call),
        };
        match reply {
            HostReply::Error { message, not_found } => Err(reply_error(message, not_found)),
            other => Ok(other),
        }
    }
}

/// The error for a [`HostReply::Error`]: [`JobError::NotFound`] when the host says the folder
/// or file does not exist, [`JobError::Host`] otherwise.
fn reply_error(message: String, not_found: bool) -> JobError {
    if not_found {
        JobError::NotFound { message }
    } else {
        JobError::Host { message }
    }
}

/// The error for a reply of the wrong kind (a host bug, or a host of another version).
fn unexpected(reply: &HostReply) -> JobError {
    let kind = match reply {
        HostReply::Ok { .. } => "ok",
        HostReply::Error { .. } => "error",
        HostReply::Files { .. } => "files",
    };
    JobError::Host {
        message: format!("the host answered with an unexpected {kind} reply"),
    }
}

fn offline_call(offline: &mut Offline, call: &HostCall) -> HostReply {
    match call {
        HostCall::StateGet { key } => HostReply::Ok {
            value: offline.state.get(key).cloned(),
        },
        HostCall::StateSet { key, value } => {
            match value {
                Some(v) => offline.state.insert(key.clone(), v.clone()),
                None => offline.state.remove(key),
            };
            HostReply::Ok { value: None }
        }
        HostCall::ListFiles { connection, .. }
        | HostCall::FetchFile { connection, .. }
        | HostCall::PutFile { connection, .. }
        | HostCall::RenameFile { connection, .. } => HostReply::Error {
            message: format!(
                "connection {connection:?} is not available: an offline context has no file connections"
            ),
            not_found: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RunRequest {
        RunRequest {
            run_id: 7,
            job: "nightly".to_owned(),
            trigger: "manual".to_owned(),
            attempt: 1,
            scheduled_for: None,
            settings: serde_json::json!({ "rows": 5, "greeting": "hi" }),
            params: BTreeMap::from([("rows".to_owned(), "2".to_owned())]),
            secrets: BTreeMap::from([("token".to_owned(), "s3cr3t".to_owned())]),
            work_dir: PathBuf::from("/w"),
            inbox: PathBuf::from("/w/in"),
            outbox: PathBuf::from("/w/out"),
            no_fetch: true,
            timezone: "America/New_York".into(),
            today: "2026-01-15".into(),
        }
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Settings {
        rows: u32,
        greeting: String,
    }

    #[test]
    fn accessors_read_the_request() {
        let ctx = Context::offline(request());
        assert_eq!(ctx.run_id(), 7);
        assert_eq!(ctx.job(), "nightly");
        assert_eq!(ctx.param("rows"), Some("2"));
        assert_eq!(ctx.secret("token"), Some("s3cr3t"));
        assert_eq!(ctx.secret("password"), None);
        assert!(ctx.no_fetch());
        assert_eq!(ctx.outbox(), Path::new("/w/out"));
        let s: Settings = ctx.settings_as().expect("settings");
        assert_eq!(
            s,
            Settings {
                rows: 5,
                greeting: "hi".to_owned()
            }
        );
    }

    #[test]
    fn pause_waits_the_whole_duration_in_short_naps() {
        let ctx = Context::offline(request());
        let started = std::time::Instant::now();
        ctx.pause(std::time::Duration::from_millis(300))
            .expect("not cancelled");
        let waited = started.elapsed();
        assert!(
            waited >= std::time::Duration::from_millis(300),
            "{waited:?}"
        );
        assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    }

    #[test]
    fn settings_as_reports_a_settings_error() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Wrong {
            rows: String,
        }
        let err = Context::offline(request())
            .settings_as::<Wrong>()
            .expect_err("rows is a number");
        assert!(matches!(err, JobError::Settings { .. }), "{err:?}");
    }

    #[test]
    fn debug_output_leaves_out_secrets() {
        let text = format!("{:?}", Context::offline(request()));
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("nightly"), "{text}");
    }

    #[test]
    fn offline_context_records_events_and_keeps_state() {
        let ctx = Context::offline(request());
        ctx.info("hello");
        ctx.table("t", 3, 0.5, TableAction::Inserted);
        assert_eq!(ctx.state_get("runs").expect("get"), None);
        ctx.state_set("runs", Some("1")).expect("set");
        assert_eq!(ctx.state_get("runs").expect("get").as_deref(), Some("1"));
        ctx.state_set("runs", None).expect("delete");
        assert_eq!(ctx.state_get("runs").expect("get"), None);
        let events = ctx.recorded_events();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            Event::Log {
                level: Level::Info,
                message: "hello".to_owned()
            }
        );
        assert!(!ctx.cancelled());
    }

    #[test]
    fn problems_are_emitted_as_problem_events_in_order() {
        let ctx = Context::offline(request());
        ctx.problem(
            Problem::error("Invalid value", "must be a date (YYYY-MM-DD)")
                .at("PEER_STUDENT.txt", 17)
                .field("BirthDate", "2019-13-01"),
        );
        ctx.problem(Problem::warning("Missing column", "no Grade column").in_file("roster.csv"));
        let events = ctx.recorded_events();
        assert_eq!(events.len(), 2);
        assert!(
            matches!(&events[0], Event::Problem { severity: crate::Severity::Error, line: Some(17),
                value: Some(value), .. } if value == "2019-13-01"),
            "{events:?}"
        );
        assert!(
            matches!(&events[1], Event::Problem { severity: crate::Severity::Warning, line: None,
                file: Some(file), .. } if file == "roster.csv"),
            "{events:?}"
        );
    }

    #[test]
    fn offline_file_calls_fail_naming_the_connection() {
        let ctx = Context::offline(request());
        let err = ctx
            .list_files("drop", "in", Some("*.csv"))
            .expect_err("no connections offline");
        assert!(
            matches!(&err, JobError::Host { message } if message.contains("\"drop\"")),
            "{err:?}"
        );
        assert!(ctx.fetch_file("drop", "in/a.csv").is_err());
        assert!(ctx.put_file("drop", "a.csv", "out/a.csv").is_err());
        assert!(ctx.rename_file("drop", "a", "b").is_err());
    }

    #[test]
    fn a_not_found_reply_becomes_job_error_not_found_and_other_errors_stay_host_errors() {
        let reply: HostReply = serde_json::from_str(
            r#"{"result":"error","message":"connection drop: list out: no such file or directory","not_found":true}"#,
        )
        .expect("error reply");
        let HostReply::Error { message, not_found } = reply else {
            panic!("not an error reply: {reply:?}");
        };
        let err = reply_error(message, not_found);
        assert!(err.is_not_found(), "{err:?}");
        assert!(
            matches!(&err, JobError::NotFound { message } if message.starts_with("connection drop")),
            "{err:?}"
        );
        // A host of an earlier version sends no `not_found`: a plain host error.
        let old: HostReply =
            serde_json::from_str(r#"{"result":"error","message":"down"}"#).expect("old reply");
        assert_eq!(
            old,
            HostReply::Error {
                message: "down".to_owned(),
                not_found: false
            }
        );
        let HostReply::Error { message, not_found } = old else {
            panic!("not an error reply");
        };
        let err = reply_error(message, not_found);
        assert!(!err.is_not_found());
        assert!(matches!(err, JobError::Host { .. }), "{err:?}");
        // Offline file calls fail for want of a connection, not because a file is missing.
        let ctx = Context::offline(request());
        assert!(
            !ctx.fetch_file("drop", "in/a.csv")
                .expect_err("offline")
                .is_not_found()
        );
    }

    #[test]
    fn file_calls_and_replies_have_the_documented_json_shape() {
        let call = HostCall::ListFiles {
            connection: "drop".to_owned(),
            dir: "in".to_owned(),
            pattern: None,
        };
        assert_eq!(
            serde_json::to_value(&call).expect("json"),
            serde_json::json!({ "op": "list_files", "connection": "drop", "dir": "in", "pattern": null })
        );
        let read: HostCall =
            serde_json::from_str(r#"{"op":"fetch_file","connection":"c","remote_path":"a"}"#)
                .expect("local_name is optional");
        assert_eq!(
            read,
            HostCall::FetchFile {
                connection: "c".to_owned(),
                remote_path: "a".to_owned(),
                local_name: None
            }
        );
        let reply: HostReply = serde_json::from_str(
            r#"{"result":"files","files":[{"name":"a.csv","path":"in/a.csv","size":3,"modified":"2026-01-02T03:04:05+00:00"}]}"#,
        )
        .expect("files reply");
        assert_eq!(
            reply,
            HostReply::Files {
                files: vec![RemoteFileInfo {
                    name: "a.csv".to_owned(),
                    path: "in/a.csv".to_owned(),
                    size: 3,
                    modified: Some("2026-01-02T03:04:05+00:00".to_owned()),
                }]
            }
        );
    }
}
