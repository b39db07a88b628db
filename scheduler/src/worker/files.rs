//! The file service a plugin reaches through the host ABI's `call`: list, fetch, put and rename
//! files on the connections configured in Ferry (`[connections.NAME]`), for jobs that must wait
//! for a response file (ISES) or pick files themselves.
//!
//! The plugin only names a connection; the worker connects with the credentials the runner
//! resolved ([`RunOrder::connections`](super::protocol::RunOrder::connections)), so a plugin
//! never sees them. Files move the same way the job's steps move them: a fetch downloads into the
//! run's inbox under `.NAME.part`, checks the size, then renames; a put uploads to `.NAME.part`
//! beside the target, checks the size on the server, then renames. Every file moved is reported
//! as a [`WorkerEvent::Transfer`], so it lands in the run's `transfers` record.
//!
//! A failure whose cause is a [`TransferError::NotFound`] (listing a missing folder, fetching a
//! missing file, renaming a missing source) is sent with `not_found` set, so the plugin gets
//! `JobError::NotFound` instead of having to read the message.
//!
//! One session per connection is kept for the run and reused by the next call; a transient
//! failure drops it and, within the connection's retry policy, the call is tried again on a new
//! session.

use super::protocol::{ConnectionOrder, WorkerEvent};
use crate::plugin::{FileService, HostFailure};
use crate::transfer::{self, Endpoint, Session, Timeouts, TransferError, matches, remote_join};
use ferry_plugin::wire::{Event, Level, RemoteFileInfo};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the service reports transfers and log lines (the worker's event pipe).
pub(crate) type Report<'a> = &'a (dyn Fn(WorkerEvent) + Sync);

/// The files of one run's connections, served to its plugin.
pub(crate) struct HostFiles<'a> {
    connections: BTreeMap<String, ConnectionOrder>,
    /// Open sessions, by connection name, kept between calls.
    sessions: Mutex<HashMap<String, Box<dyn Session>>>,
    inbox: PathBuf,
    work_dir: PathBuf,
    report: Report<'a>,
}

impl std::fmt::Debug for HostFiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFiles")
            .field("connections", &self.connections.keys().collect::<Vec<_>>())
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

impl<'a> HostFiles<'a> {
    /// A service for `connections`, fetching into `inbox`, resolving relative local paths
    /// against `work_dir`, and reporting to `report`.
    pub(crate) fn new(
        connections: &[ConnectionOrder],
        inbox: &Path,
        work_dir: &Path,
        report: Report<'a>,
    ) -> HostFiles<'a> {
        HostFiles {
            connections: connections
                .iter()
                .map(|c| (c.name.clone(), c.clone()))
                .collect(),
            sessions: Mutex::new(HashMap::new()),
            inbox: inbox.to_owned(),
            work_dir: work_dir.to_owned(),
            report,
        }
    }

    fn connection(&self, name: &str) -> Result<&ConnectionOrder, String> {
        self.connections.get(name).ok_or_else(|| {
            if self.connections.is_empty() {
                format!("unknown connection {name:?}: no connections are configured")
            } else {
                let known: Vec<&str> = self.connections.keys().map(String::as_str).collect();
                format!(
                    "unknown connection {name:?}; the configured connections are: {}",
                    known.join(", ")
                )
            }
        })
    }

    /// Runs `op` on the connection's session (the kept one, or a new one), retrying transient
    /// failures with the connection's policy. A kept session that fails transiently may simply
    /// have been closed by the server while idle, so the call is tried once more on a new
    /// session before that counts as an attempt. A final [`TransferError::NotFound`] is a
    /// [`HostFailure`] with `not_found` set.
    fn with_session<T>(
        &self,
        name: &str,
        mut op: impl FnMut(&mut dyn Session) -> Result<T, TransferError>,
    ) -> Result<T, HostFailure> {
        let connection = self.connection(name)?;
        let endpoint = Endpoint::from(&connection.endpoint);
        let timeouts = Timeouts {
            connect: Duration::from_millis(connection.connect_timeout_ms),
            io: Duration::from_millis(connection.io_timeout_ms),
        };
        // Plugin calls come from the plugin's one thread; the lock only satisfies `Sync`.
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        transfer::with_retries(
            connection.attempts,
            Duration::from_millis(connection.retry_backoff_ms),
            || {
                let kept = sessions.remove(name);
                let was_kept = kept.is_some();
                let mut session = match kept {
                    Some(session) => session,
                    None => transfer::connect(&endpoint, timeouts)?,
                };
                let mut result = op(session.as_mut());
                if was_kept && result.as_ref().is_err_and(TransferError::is_transient) {
                    session = transfer::connect(&endpoint, timeouts)?;
                    result = op(session.as_mut());
                }
                // A permanent error (a missing file) leaves the session usable; a transient
                // one does not.
                if result.as_ref().is_ok() || result.as_ref().is_err_and(|e| !e.is_transient()) {
                    sessions.insert(name.to_owned(), session);
                }
                result
            },
        )
        .map_err(|error| HostFailure {
            message: format!("connection {name}: {error}"),
            not_found: matches!(error, TransferError::NotFound { .. }),
        })
    }

    fn log(&self, level: Level, message: String) {
        (self.report)(WorkerEvent::Plugin {
            at: crate::clock::now(),
            event: Event::Log { level, message },
        });
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one flat record; a struct for it would only rename the fields"
    )]
    fn transferred(
        &self,
        connection: &str,
        direction: &str,
        remote_path: &str,
        local_path: &Path,
        bytes: u64,
        seconds: f64,
        sha256: String,
    ) {
        (self.report)(WorkerEvent::Transfer {
            at: crate::clock::now(),
            connection: connection.to_owned(),
            direction: direction.to_owned(),
            remote_path: remote_path.to_owned(),
            local_path: local_path.display().to_string(),
            bytes,
            seconds,
            sha256,
        });
    }
}

impl FileService for HostFiles<'_> {
    fn list(
        &self,
        connection: &str,
        dir: &str,
        pattern: Option<&str>,
    ) -> Result<Vec<RemoteFileInfo>, HostFailure> {
        let pattern = pattern.map(compile).transpose()?;
        let mut files = self.with_session(connection, |session| session.list(dir))?;
        files.retain(|f| pattern.as_ref().is_none_or(|p| matches(p, &f.name)));
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files
            .into_iter()
            .map(|f| RemoteFileInfo {
                name: f.name,
                path: f.path,
                size: f.size,
                modified: f.modified.map(|t| t.to_rfc3339()),
            })
            .collect())
    }

    fn fetch(
        &self,
        connection: &str,
        remote_path: &str,
        local_name: Option<&str>,
    ) -> Result<PathBuf, HostFailure> {
        self.connection(connection)?;
        let name = local_name.unwrap_or_else(|| base_name(remote_path));
        check_local_name(name)?;
        fs::create_dir_all(&self.inbox)
            .map_err(|e| format!("cannot create {}: {e}", self.inbox.display()))?;
        let part = self.inbox.join(format!(".{name}.part"));
        let dest = self.inbox.join(name);
        let started = Instant::now();
        let fetched = self.with_session(connection, |session| {
            let expected = session
                .size(remote_path)?
                .ok_or_else(|| TransferError::NotFound {
                    endpoint: session.endpoint().to_owned(),
                    operation: "fetch",
                    path: remote_path.to_owned(),
                })?;
            session.download(remote_path, &part, 0, &mut |_| {})?;
            let actual = fs::metadata(&part)
                .map_err(|e| TransferError::local("stat", &part, e))?
                .len();
            if actual != expected {
                return Err(TransferError::SizeMismatch {
                    endpoint: session.endpoint().to_owned(),
                    path: remote_path.to_owned(),
                    expected,
                    actual,
                });
            }
            Ok(actual)
        });
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(failure) => {
                // Nothing is ever left under the final name; the part is of no further use.
                let _ = fs::remove_file(&part);
                return Err(failure.context(format!("fetch {remote_path}")));
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let sha256 =
            sha256_file(&part).map_err(|e| format!("cannot read {}: {e}", part.display()))?;
        fs::rename(&part, &dest).map_err(|e| {
            format!(
                "cannot rename {} to {}: {e}",
                part.display(),
                dest.display()
            )
        })?;
        self.transferred(
            connection,
            "download",
            remote_path,
            &dest,
            bytes,
            seconds,
            sha256,
        );
        self.log(
            Level::Info,
            format!("fetched {remote_path} from {connection} ({bytes} bytes)"),
        );
        Ok(dest)
    }

    fn put(
        &self,
        connection: &str,
        local_path: &Path,
        remote_path: &str,
    ) -> Result<(), HostFailure> {
        self.connection(connection)?;
        let local = self.work_dir.join(local_path);
        let size = match fs::metadata(&local) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => return Err(format!("{} is not a file", local.display()).into()),
            Err(e) => return Err(format!("cannot read {}: {e}", local.display()).into()),
        };
        let (dir, name) = split_remote(remote_path);
        if name.is_empty() || name == "." || name == ".." {
            return Err(format!("put: {remote_path:?} does not name a file").into());
        }
        let temp = remote_join(dir, &format!(".{name}.part"));
        let started = Instant::now();
        self.with_session(connection, |session| {
            if !dir.is_empty() {
                session.mkdir_all(dir)?;
            }
            crate::transfer::put_verified(session, &local, size, &temp, remote_path, &mut |_| {})
        })
        // `not_found` is about what a call names on the server; a put names its target, which
        // it creates.
        .map_err(|failure| HostFailure::from(format!("put {remote_path}: {failure}")))?;
        let seconds = started.elapsed().as_secs_f64();
        let sha256 =
            sha256_file(&local).map_err(|e| format!("cannot read {}: {e}", local.display()))?;
        self.transferred(
            connection,
            "upload",
            remote_path,
            &local,
            size,
            seconds,
            sha256,
        );
        self.log(
            Level::Info,
            format!("put {remote_path} on {connection} ({size} bytes)"),
        );
        Ok(())
    }

    fn rename(&self, connection: &str, from: &str, to: &str) -> Result<(), HostFailure> {
        let (dir, _) = split_remote(to);
        self.with_session(connection, |session| {
            if !dir.is_empty() {
                session.mkdir_all(dir)?;
            }
            session.rename(from, to)
        })
        .map_err(|failure| failure.context(format!("rename {from} to {to}")))?;
        self.log(
            Level::Info,
            format!("renamed {from} to {to} on {connection}"),
        );
        Ok(())
    }
}

/// The last component of a remote path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `(folder, name)` of a remote path: `("", "a.csv")`, `("out", "a.csv")`, `("/", "a.csv")`.
fn split_remote(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// A name for the inbox must be a plain, visible file name: no folders, and no leading dot
/// (hidden names are the temporary files of transfers in progress).
fn check_local_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.starts_with('.') {
        return Err(format!(
            "cannot fetch into the inbox as {name:?}: a local name must be a plain file name \
             without folders or a leading dot"
        ));
    }
    Ok(())
}

fn compile(pattern: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(pattern).map_err(|e| format!("invalid file pattern {pattern:?}: {}", e.msg))
}

/// SHA-256 of a file, lowercase hex.
fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::EndpointOrder;

    fn local(name: &str, root: &Path) -> ConnectionOrder {
        ConnectionOrder {
            name: name.to_owned(),
            endpoint: EndpointOrder::Local {
                root: root.to_owned(),
            },
            connect_timeout_ms: 1000,
            io_timeout_ms: 1000,
            attempts: 1,
            retry_backoff_ms: 1,
        }
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        drop: PathBuf,
        work: PathBuf,
        events: Mutex<Vec<WorkerEvent>>,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let drop = tmp.path().join("drop");
        let work = tmp.path().join("work");
        fs::create_dir_all(drop.join("in")).expect("drop");
        fs::create_dir_all(&work).expect("work");
        fs::write(drop.join("in/a.csv"), b"id\n1\n").expect("a");
        fs::write(drop.join("in/b.txt"), b"b").expect("b");
        fs::write(drop.join("in/.c.csv.part"), b"partial").expect("c");
        Fixture {
            _tmp: tmp,
            drop,
            work,
            events: Mutex::new(Vec::new()),
        }
    }

    fn transfers(events: &[WorkerEvent]) -> Vec<(String, String, String, u64)> {
        events
            .iter()
            .filter_map(|e| match e {
                WorkerEvent::Transfer {
                    connection,
                    direction,
                    remote_path,
                    bytes,
                    ..
                } => Some((
                    connection.clone(),
                    direction.clone(),
                    remote_path.clone(),
                    *bytes,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn list_fetch_put_and_rename_work_on_a_local_connection_and_report_transfers() {
        let fx = fixture();
        let report = |e: WorkerEvent| fx.events.lock().expect("lock").push(e);
        let connections = [local("drop", &fx.drop)];
        let files = HostFiles::new(&connections, &fx.work.join("inbox"), &fx.work, &report);

        let listed = files.list("drop", "in", Some("*.csv")).expect("list");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].name, "a.csv");
        assert_eq!(listed[0].path, "in/a.csv");
        assert_eq!(listed[0].size, 5);
        assert!(listed[0].modified.is_some());
        let all = files.list("drop", "in", None).expect("list all");
        let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [".c.csv.part", "a.csv", "b.txt"]);

        let fetched = files.fetch("drop", "in/a.csv", None).expect("fetch");
        assert_eq!(fetched, fx.work.join("inbox/a.csv"));
        assert_eq!(fs::read(&fetched).expect("fetched"), b"id\n1\n");
        assert!(!fx.work.join("inbox/.a.csv.part").exists());
        let renamed = files
            .fetch("drop", "in/b.txt", Some("response.txt"))
            .expect("fetch as");
        assert_eq!(fs::read(renamed).expect("fetched"), b"b");

        fs::write(fx.work.join("answer.csv"), b"answer").expect("answer");
        files
            .put("drop", Path::new("answer.csv"), "out/sub/answer.csv")
            .expect("put");
        assert_eq!(
            fs::read(fx.drop.join("out/sub/answer.csv")).expect("put"),
            b"answer"
        );
        assert!(!fx.drop.join("out/sub/.answer.csv.part").exists());

        files
            .rename("drop", "in/a.csv", "done/a.csv")
            .expect("rename");
        assert!(!fx.drop.join("in/a.csv").exists());
        assert!(fx.drop.join("done/a.csv").is_file());

        let events = fx.events.lock().expect("lock");
        assert_eq!(
            transfers(&events),
            [
                ("drop".into(), "download".into(), "in/a.csv".into(), 5),
                ("drop".into(), "download".into(), "in/b.txt".into(), 1),
                (
                    "drop".into(),
                    "upload".into(),
                    "out/sub/answer.csv".into(),
                    6
                ),
            ]
        );
        let sha = events.iter().find_map(|e| match e {
            WorkerEvent::Transfer {
                sha256, local_path, ..
            } if local_path.ends_with("answer.csv") => Some(sha256.clone()),
            _ => None,
        });
        assert_eq!(
            sha.as_deref(),
            Some("0db52f4076c082518412afd3dd3576e2cb0c63703fd7fed5e23ade60efef31d9")
        );
    }

    #[test]
    fn an_unknown_connection_is_refused_naming_the_configured_ones() {
        let fx = fixture();
        let report = |e: WorkerEvent| fx.events.lock().expect("lock").push(e);
        let connections = [local("drop", &fx.drop), local("archive", &fx.drop)];
        let files = HostFiles::new(&connections, &fx.work.join("inbox"), &fx.work, &report);
        let error = files.list("sftp-main", "in", None).expect_err("unknown");
        assert_eq!(
            error.message,
            "unknown connection \"sftp-main\"; the configured connections are: archive, drop"
        );
        assert!(
            !error.not_found,
            "an unknown connection is not a missing folder"
        );
        let none = HostFiles::new(&[], &fx.work.join("inbox"), &fx.work, &report);
        let error = none.fetch("drop", "in/a.csv", None).expect_err("unknown");
        assert_eq!(
            error.message,
            "unknown connection \"drop\": no connections are configured"
        );
    }

    #[test]
    fn a_missing_file_fails_the_fetch_and_leaves_nothing_in_the_inbox() {
        let fx = fixture();
        let report = |e: WorkerEvent| fx.events.lock().expect("lock").push(e);
        let connections = [local("drop", &fx.drop)];
        let inbox = fx.work.join("inbox");
        let files = HostFiles::new(&connections, &inbox, &fx.work, &report);
        let error = files
            .fetch("drop", "in/missing.csv", None)
            .expect_err("missing");
        assert!(error.message.contains("in/missing.csv"), "{error}");
        assert!(error.message.contains("no such file"), "{error}");
        assert!(error.not_found, "{error}");
        assert_eq!(fs::read_dir(&inbox).expect("inbox").count(), 0);
        // The session survives a permanent error: the next call works.
        assert!(files.fetch("drop", "in/a.csv", None).is_ok());
    }

    #[test]
    fn a_missing_folder_or_rename_source_is_not_found_and_other_failures_are_not() {
        let fx = fixture();
        let report = |e: WorkerEvent| fx.events.lock().expect("lock").push(e);
        let connections = [local("drop", &fx.drop)];
        let files = HostFiles::new(&connections, &fx.work.join("inbox"), &fx.work, &report);

        let error = files
            .list("drop", "responses", Some("*.csv"))
            .expect_err("no such folder");
        assert!(error.not_found, "{error}");
        assert!(error.message.starts_with("connection drop: "), "{error}");
        assert!(error.message.contains("responses"), "{error}");

        fs::write(fx.drop.join("in/done.csv"), b"kept").expect("target");
        let error = files
            .rename("drop", "in/missing.csv", "in/done.csv")
            .expect_err("no such source");
        assert!(error.not_found, "{error}");
        assert!(
            error
                .message
                .starts_with("rename in/missing.csv to in/done.csv: ")
        );
        assert_eq!(
            fs::read(fx.drop.join("in/done.csv")).expect("kept"),
            b"kept"
        );

        // A listing of a file is a failure, but not a missing folder.
        let error = files.list("drop", "in/a.csv", None).expect_err("a file");
        assert!(!error.not_found, "{error}");
        // Once the folder exists, the same call works.
        fs::create_dir(fx.drop.join("responses")).expect("mkdir");
        assert!(
            files
                .list("drop", "responses", None)
                .expect("list")
                .is_empty()
        );
    }

    #[test]
    fn local_names_with_folders_or_a_leading_dot_are_refused() {
        let fx = fixture();
        let report = |e: WorkerEvent| fx.events.lock().expect("lock").push(e);
        let connections = [local("drop", &fx.drop)];
        let files = HostFiles::new(&connections, &fx.work.join("inbox"), &fx.work, &report);
        for bad in ["../escape.csv", "sub/a.csv", ".hidden", ""] {
            let error = files
                .fetch("drop", "in/a.csv", Some(bad))
                .expect_err("refused");
            assert!(error.message.contains("plain file name"), "{bad}: {error}");
            assert!(!error.not_found);
        }
        assert!(!fx.work.join("escape.csv").exists());
        assert!(
            files
                .put("drop", Path::new("missing.csv"), "out/x.csv")
                .expect_err("no local file")
                .message
                .contains("missing.csv")
        );
    }

    #[test]
    fn split_remote_separates_folder_and_name() {
        assert_eq!(split_remote("a.csv"), ("", "a.csv"));
        assert_eq!(split_remote("out/a.csv"), ("out", "a.csv"));
        assert_eq!(split_remote("/a.csv"), ("/", "a.csv"));
        assert_eq!(split_remote("/srv/out/a.csv"), ("/srv/out", "a.csv"));
        assert_eq!(base_name("/srv/out/a.csv"), "a.csv");
    }
}
