//! [`Context`]: what a running job sees of its run and of the host.
//!
//! Everything here is safe Rust. Events and host calls are serialized to the JSON shapes of
//! [`crate::wire`] and handed to the host through `ffi` (or, for a context made with
//! [`Context::offline`], kept in memory so a job's logic can be unit-tested without Ferry).

use crate::error::JobError;
use crate::ffi::HostLink;
use crate::wire::{Event, HostCall, HostReply, Level, RunRequest, TableAction};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The run a job performs, and the host services it may use.
///
/// Emitting methods (`log`, `table`, `file`, `progress`) never fail: if the host cannot take an
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

    /// True once the host asked the run to stop (timeout, shutdown). Long work should check
    /// this between steps and return, e.g. with `Err(JobError::Cancelled)`.
    pub fn cancelled(&self) -> bool {
        match &self.link {
            Link::Host(host) => host.cancelled(),
            Link::Offline(_) => false,
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

    fn call(&self, call: &HostCall) -> Result<Option<String>, JobError> {
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
            HostReply::Ok { value } => Ok(value),
            HostReply::Error { message } => Err(JobError::Host { message }),
        }
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
}
