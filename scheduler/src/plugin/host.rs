//! The host services a plugin reaches through the host vtable while it runs: events, job state,
//! files on the configured connections, and cancellation. Safe Rust; the C trampolines that call
//! into it live in `load.rs`.
//!
//! This file only decodes [`HostCall`]s and encodes [`HostReply`]s; what a call does is behind
//! the [`StateService`] and [`FileService`] traits, which the worker implements.

use ferry_plugin::wire::{Event, HostCall, HostReply, Level, RemoteFileInfo};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The job's persistent key-value state, as the worker serves it to a plugin.
///
/// Errors are messages for the plugin: they travel back as [`HostReply::Error`].
pub trait StateService: Sync {
    /// The value of `key`, if set.
    ///
    /// # Errors
    /// A message saying why the state could not be read.
    fn get(&self, key: &str) -> Result<Option<String>, String>;

    /// Sets `key` to `value`, or deletes it for `None`.
    ///
    /// # Errors
    /// A message saying why the state could not be written.
    fn set(&self, key: &str, value: Option<&str>) -> Result<(), String>;
}

/// Why a [`FileService`] call failed, as the plugin is told: the message, and whether the folder
/// or file the call named does not exist (sent as `not_found` in [`HostReply::Error`], which the
/// SDK turns into `JobError::NotFound`). A plain `String` converts into a failure that is not a
/// "not found", so `?` works on message-only errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFailure {
    /// What failed, naming the connection and the path.
    pub message: String,
    /// True when the named folder or file does not exist on the server.
    pub not_found: bool,
}

impl HostFailure {
    /// A failure because the named folder or file does not exist.
    pub fn not_found(message: impl Into<String>) -> HostFailure {
        HostFailure {
            message: message.into(),
            not_found: true,
        }
    }

    /// The same failure with `context` put before its message (`"fetch a.csv: ..."`).
    #[must_use]
    pub fn context(self, context: impl fmt::Display) -> HostFailure {
        HostFailure {
            message: format!("{context}: {}", self.message),
            ..self
        }
    }
}

impl From<String> for HostFailure {
    fn from(message: String) -> HostFailure {
        HostFailure {
            message,
            not_found: false,
        }
    }
}

impl fmt::Display for HostFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<HostFailure> for HostReply {
    fn from(failure: HostFailure) -> HostReply {
        HostReply::Error {
            message: failure.message,
            not_found: failure.not_found,
        }
    }
}

/// Files on the connections configured in Ferry, as the worker serves them to a plugin: the
/// plugin names a connection, the host connects with its credentials and moves the file.
///
/// Errors travel back to the plugin as [`HostReply::Error`]; a [`HostFailure`] with `not_found`
/// set when the folder (`list`), file (`fetch`) or source (`rename`) does not exist.
pub trait FileService: Sync {
    /// The regular files of `dir` on `connection`, in name order; only names matching the glob
    /// `pattern` when given.
    ///
    /// # Errors
    /// A failure naming the connection and what failed; `not_found` when `dir` does not exist.
    fn list(
        &self,
        connection: &str,
        dir: &str,
        pattern: Option<&str>,
    ) -> Result<Vec<RemoteFileInfo>, HostFailure>;

    /// Downloads `remote_path` into the run's inbox (as `local_name`, or the remote file's name)
    /// and returns the local path.
    ///
    /// # Errors
    /// A failure naming the connection and what failed; `not_found` when `remote_path` does not
    /// exist.
    fn fetch(
        &self,
        connection: &str,
        remote_path: &str,
        local_name: Option<&str>,
    ) -> Result<PathBuf, HostFailure>;

    /// Uploads the local file `local_path` to `remote_path`.
    ///
    /// # Errors
    /// A failure naming the connection and what failed.
    fn put(
        &self,
        connection: &str,
        local_path: &Path,
        remote_path: &str,
    ) -> Result<(), HostFailure>;

    /// Renames `from` to `to` on `connection`.
    ///
    /// # Errors
    /// A failure naming the connection and what failed; `not_found` when `from` does not exist.
    fn rename(&self, connection: &str, from: &str, to: &str) -> Result<(), HostFailure>;
}

/// The file service of a host that has no connections: every call fails, saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl NoFiles {
    fn refuse(connection: &str) -> String {
        format!("unknown connection {connection:?}: no connections are available to this run")
    }
}

impl FileService for NoFiles {
    fn list(
        &self,
        connection: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<Vec<RemoteFileInfo>, HostFailure> {
        Err(NoFiles::refuse(connection).into())
    }
    fn fetch(&self, connection: &str, _: &str, _: Option<&str>) -> Result<PathBuf, HostFailure> {
        Err(NoFiles::refuse(connection).into())
    }
    fn put(&self, connection: &str, _: &Path, _: &str) -> Result<(), HostFailure> {
        Err(NoFiles::refuse(connection).into())
    }
    fn rename(&self, connection: &str, _: &str, _: &str) -> Result<(), HostFailure> {
        Err(NoFiles::refuse(connection).into())
    }
}

/// What a running plugin can reach: where its events go, its job state, the files on the
/// configured connections, and the cancel flag.
///
/// The host vtable handed to the plugin points at a `Host` for the duration of one
/// [`LoadedPlugin::run`](super::LoadedPlugin::run) call.
pub struct Host<'a> {
    events: &'a (dyn Fn(Event) + Sync),
    state: &'a dyn StateService,
    files: &'a dyn FileService,
    cancelled: &'a AtomicBool,
}

impl fmt::Debug for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("cancelled", &self.cancelled.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<'a> Host<'a> {
    /// A host that hands each plugin event to `events`, serves job state from `state`, and
    /// reports `cancelled` to the plugin. It serves no files ([`NoFiles`]) until
    /// [`with_files`](Host::with_files).
    pub fn new(
        events: &'a (dyn Fn(Event) + Sync),
        state: &'a dyn StateService,
        cancelled: &'a AtomicBool,
    ) -> Host<'a> {
        Host {
            events,
            state,
            files: &NoFiles,
            cancelled,
        }
    }

    /// The same host, serving the plugin's file calls from `files`.
    #[must_use]
    pub fn with_files(self, files: &'a dyn FileService) -> Host<'a> {
        Host { files, ..self }
    }

    /// Handles the plugin's `emit(event_json)`. JSON that is not an [`Event`] becomes a warning
    /// log line saying so, so a buggy plugin's output is visible rather than lost.
    pub(crate) fn emit_json(&self, json: &str) {
        let event = serde_json::from_str::<Event>(json).unwrap_or_else(|error| Event::Log {
            level: Level::Warn,
            message: format!("the plugin emitted an unreadable event ({error}): {json}"),
        });
        (self.events)(event);
    }

    /// Handles the plugin's `call(request_json)`; returns the [`HostReply`] as JSON.
    pub(crate) fn call_json(&self, json: &str) -> String {
        let reply = match serde_json::from_str::<HostCall>(json) {
            Ok(HostCall::StateGet { key }) => match self.state.get(&key) {
                Ok(value) => HostReply::Ok { value },
                Err(message) => HostFailure::from(message).into(),
            },
            Ok(HostCall::StateSet { key, value }) => {
                done(self.state.set(&key, value.as_deref()).map_err(Into::into))
            }
            Ok(HostCall::ListFiles {
                connection,
                dir,
                pattern,
            }) => match self.files.list(&connection, &dir, pattern.as_deref()) {
                Ok(files) => HostReply::Files { files },
                Err(failure) => failure.into(),
            },
            Ok(HostCall::FetchFile {
                connection,
                remote_path,
                local_name,
            }) => match self
                .files
                .fetch(&connection, &remote_path, local_name.as_deref())
            {
                Ok(path) => HostReply::Ok {
                    value: Some(path.display().to_string()),
                },
                Err(failure) => failure.into(),
            },
            Ok(HostCall::PutFile {
                connection,
                local_path,
                remote_path,
            }) => done(self.files.put(&connection, &local_path, &remote_path)),
            Ok(HostCall::RenameFile {
                connection,
                from,
                to,
            }) => done(self.files.rename(&connection, &from, &to)),
            Err(error) => {
                HostFailure::from(format!("unknown or malformed host call: {error}")).into()
            }
        };
        serde_json::to_string(&reply).unwrap_or_else(|_| {
            r#"{"result":"error","message":"the host could not encode its reply"}"#.to_owned()
        })
    }

    /// Handles the plugin's `cancelled()`.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The reply to a call that answers nothing but success or failure.
fn done(result: Result<(), HostFailure>) -> HostReply {
    match result {
        Ok(()) => HostReply::Ok { value: None },
        Err(failure) => failure.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct MapState(Mutex<BTreeMap<String, String>>);

    impl StateService for MapState {
        fn get(&self, key: &str) -> Result<Option<String>, String> {
            if key == "broken" {
                return Err("store is down".to_owned());
            }
            Ok(self.0.lock().map_err(|e| e.to_string())?.get(key).cloned())
        }
        fn set(&self, key: &str, value: Option<&str>) -> Result<(), String> {
            let mut map = self.0.lock().map_err(|e| e.to_string())?;
            match value {
                Some(v) => map.insert(key.to_owned(), v.to_owned()),
                None => map.remove(key),
            };
            Ok(())
        }
    }

    fn reply(host: &Host<'_>, call: &str) -> HostReply {
        serde_json::from_str(&host.call_json(call)).expect("reply JSON")
    }

    #[test]
    fn state_calls_are_served_and_errors_become_error_replies() {
        let state = MapState::default();
        let flag = AtomicBool::new(false);
        let events = |_: Event| {};
        let host = Host::new(&events, &state, &flag);
        assert_eq!(
            reply(&host, r#"{"op":"state_set","key":"runs","value":"3"}"#),
            HostReply::Ok { value: None }
        );
        assert_eq!(
            reply(&host, r#"{"op":"state_get","key":"runs"}"#),
            HostReply::Ok {
                value: Some("3".to_owned())
            }
        );
        assert_eq!(
            reply(&host, r#"{"op":"state_get","key":"broken"}"#),
            HostReply::Error {
                message: "store is down".to_owned(),
                not_found: false
            }
        );
        assert!(matches!(
            reply(&host, r#"{"op":"list_files"}"#),
            HostReply::Error { message, not_found: false } if message.starts_with("unknown or malformed host call")
        ));
    }

    #[test]
    fn file_calls_without_a_file_service_are_refused_naming_the_connection() {
        let state = MapState::default();
        let flag = AtomicBool::new(false);
        let events = |_: Event| {};
        let host = Host::new(&events, &state, &flag);
        assert_eq!(
            reply(
                &host,
                r#"{"op":"list_files","connection":"drop","dir":"in","pattern":"*.csv"}"#
            ),
            HostReply::Error {
                message: "unknown connection \"drop\": no connections are available to this run"
                    .to_owned(),
                not_found: false
            }
        );
        assert!(matches!(
            reply(&host, r#"{"op":"rename_file","connection":"x","from":"a","to":"b"}"#),
            HostReply::Error { message, .. } if message.contains("\"x\"")
        ));
    }

    /// Files that exist only in name: `missing*` paths are not found, everything else works.
    struct NamedFiles;

    impl NamedFiles {
        fn check(path: &str) -> Result<(), HostFailure> {
            if path.starts_with("missing") {
                Err(HostFailure::not_found(format!(
                    "connection drop: {path}: no such file or directory"
                )))
            } else {
                Ok(())
            }
        }
    }

    impl FileService for NamedFiles {
        fn list(
            &self,
            _: &str,
            dir: &str,
            _: Option<&str>,
        ) -> Result<Vec<RemoteFileInfo>, HostFailure> {
            NamedFiles::check(dir).map(|()| Vec::new())
        }
        fn fetch(&self, _: &str, path: &str, _: Option<&str>) -> Result<PathBuf, HostFailure> {
            NamedFiles::check(path).map(|()| PathBuf::from("/inbox/a.csv"))
        }
        fn put(&self, _: &str, _: &Path, _: &str) -> Result<(), HostFailure> {
            Err("the server refused the upload".to_owned().into())
        }
        fn rename(&self, _: &str, from: &str, _: &str) -> Result<(), HostFailure> {
            NamedFiles::check(from)
        }
    }

    #[test]
    fn not_found_is_sent_only_when_true_and_old_replies_without_it_still_read() {
        let state = MapState::default();
        let flag = AtomicBool::new(false);
        let events = |_: Event| {};
        let host = Host::new(&events, &state, &flag).with_files(&NamedFiles);
        let json = |call: &str| -> serde_json::Value {
            serde_json::from_str(&host.call_json(call)).expect("reply JSON")
        };
        assert_eq!(
            json(r#"{"op":"list_files","connection":"drop","dir":"missing-out"}"#),
            serde_json::json!({
                "result": "error",
                "message": "connection drop: missing-out: no such file or directory",
                "not_found": true
            })
        );
        assert_eq!(
            json(r#"{"op":"fetch_file","connection":"drop","remote_path":"missing.csv"}"#)["not_found"],
            serde_json::json!(true)
        );
        assert_eq!(
            json(r#"{"op":"rename_file","connection":"drop","from":"missing.csv","to":"b"}"#)["not_found"],
            serde_json::json!(true)
        );
        // Any other failure leaves the field out, as hosts before it did.
        assert_eq!(
            json(r#"{"op":"put_file","connection":"drop","local_path":"a","remote_path":"b"}"#),
            serde_json::json!({ "result": "error", "message": "the server refused the upload" })
        );
        assert_eq!(
            json(r#"{"op":"state_get","key":"broken"}"#),
            serde_json::json!({ "result": "error", "message": "store is down" })
        );
        assert_eq!(
            json(r#"{"op":"list_files","connection":"drop","dir":"in"}"#),
            serde_json::json!({ "result": "files", "files": [] })
        );
        // A reply from an older host, without the field, still reads (as not "not found").
        let old: HostReply =
            serde_json::from_str(r#"{"result":"error","message":"down"}"#).expect("old reply");
        assert_eq!(
            old,
            HostReply::Error {
                message: "down".to_owned(),
                not_found: false
            }
        );
    }

    #[test]
    fn unreadable_events_become_warnings_and_cancel_reads_the_flag() {
        let state = MapState::default();
        let flag = AtomicBool::new(false);
        let seen = Mutex::new(Vec::new());
        let events = |e: Event| seen.lock().expect("lock").push(e);
        let host = Host::new(&events, &state, &flag);
        host.emit_json(r#"{"type":"log","level":"info","message":"hi"}"#);
        host.emit_json("{oops");
        assert!(!host.is_cancelled());
        flag.store(true, Ordering::SeqCst);
        assert!(host.is_cancelled());
        let seen = seen.into_inner().expect("lock");
        assert_eq!(
            seen[0],
            Event::Log {
                level: Level::Info,
                message: "hi".to_owned()
            }
        );
        assert!(matches!(&seen[1],
            Event::Log { level: Level::Warn, message } if message.contains("unreadable event") && message.contains("{oops")));
    }
}
