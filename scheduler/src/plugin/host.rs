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

/// Files on the connections configured in Ferry, as the worker serves them to a plugin: the
/// plugin names a connection, the host connects with its credentials and moves the file.
///
/// Errors are messages for the plugin: they travel back as [`HostReply::Error`].
pub trait FileService: Sync {
    /// The regular files of `dir` on `connection`, in name order; only names matching the glob
    /// `pattern` when given.
    ///
    /// # Errors
    /// A message naming the connection and what failed.
    fn list(
        &self,
        connection: &str,
        dir: &str,
        pattern: Option<&str>,
    ) -> Result<Vec<RemoteFileInfo>, String>;

    /// Downloads `remote_path` into the run's inbox (as `local_name`, or the remote file's name)
    /// and returns the local path.
    ///
    /// # Errors
    /// A message naming the connection and what failed.
    fn fetch(
        &self,
        connection: &str,
        remote_path: &str,
        local_name: Option<&str>,
    ) -> Result<PathBuf, String>;

    /// Uploads the local file `local_path` to `remote_path`.
    ///
    /// # Errors
    /// A message naming the connection and what failed.
    fn put(&self, connection: &str, local_path: &Path, remote_path: &str) -> Result<(), String>;

    /// Renames `from` to `to` on `connection`.
    ///
    /// # Errors
    /// A message naming the connection and what failed.
    fn rename(&self, connection: &str, from: &str, to: &str) -> Result<(), String>;
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
    ) -> Result<Vec<RemoteFileInfo>, String> {
        Err(NoFiles::refuse(connection))
    }
    fn fetch(&self, connection: &str, _: &str, _: Option<&str>) -> Result<PathBuf, String> {
        Err(NoFiles::refuse(connection))
    }
    fn put(&self, connection: &str, _: &Path, _: &str) -> Result<(), String> {
        Err(NoFiles::refuse(connection))
    }
    fn rename(&self, connection: &str, _: &str, _: &str) -> Result<(), String> {
        Err(NoFiles::refuse(connection))
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
                Err(message) => HostReply::Error { message },
            },
            Ok(HostCall::StateSet { key, value }) => match self.state.set(&key, value.as_deref()) {
                Ok(()) => HostReply::Ok { value: None },
                Err(message) => HostReply::Error { message },
            },
            Ok(HostCall::ListFiles {
                connection,
                dir,
                pattern,
            }) => match self.files.list(&connection, &dir, pattern.as_deref()) {
                Ok(files) => HostReply::Files { files },
                Err(message) => HostReply::Error { message },
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
                Err(message) => HostReply::Error { message },
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
            Err(error) => HostReply::Error {
                message: format!("unknown or malformed host call: {error}"),
            },
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
fn done(result: Result<(), String>) -> HostReply {
    match result {
        Ok(()) => HostReply::Ok { value: None },
        Err(message) => HostReply::Error { message },
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
                message: "store is down".to_owned()
            }
        );
        assert!(matches!(
            reply(&host, r#"{"op":"list_files"}"#),
            HostReply::Error { message } if message.starts_with("unknown or malformed host call")
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
                    .to_owned()
            }
        );
        assert!(matches!(
            reply(&host, r#"{"op":"rename_file","connection":"x","from":"a","to":"b"}"#),
            HostReply::Error { message } if message.contains("\"x\"")
        ));
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
