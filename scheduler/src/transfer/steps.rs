//! The transfer steps a job runs around its plugin: [`fetch`] matching files into the inbox
//! before it, [`upload`] the outbox's files after it, and [`with_retries`] for transient failures.
//!
//! Both directions copy to a temporary name (`.NAME.part`), check the size, then rename, so a
//! file under its final name is always complete. A fetch leaves alone files still being written
//! (their size or time changes between two listings `settle` apart) and resumes a download that
//! an earlier run left as a `.part`, when the remote file has not changed since.

use super::{Session, TransferError, remote_join};
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The pause between the two listings of a fetch when none is configured.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(3);

/// The longest pause between two attempts of [`with_retries`].
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a fetch does with a remote file once it is safely in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Leave it on the server.
    Keep,
    /// Remove it from the server.
    Delete,
    /// Move it into this directory on the server (created when missing; relative to the
    /// connection's root like every remote path), replacing a file of the same name there.
    Archive(String),
}

/// Which files a fetch takes, from where, and what happens to them afterwards.
#[derive(Debug, Clone)]
pub struct FetchSpec {
    /// The remote directory, relative to the connection's root unless absolute.
    pub remote_dir: String,
    /// A glob on file names (`*.csv`, `roster_??.txt`); `*` does not match a leading dot.
    pub pattern: String,
    /// Names or globs that must each match at least one ready file, or the fetch fails before
    /// downloading anything.
    pub required: Vec<String>,
    /// What to do with each remote file after it is in the inbox.
    pub after: After,
    /// The pause between the two listings that tell settled files from growing ones; zero skips
    /// the second listing.
    pub settle: Duration,
}

impl Default for FetchSpec {
    /// Every file of the connection's root, nothing required, kept, 3 s settle.
    fn default() -> FetchSpec {
        FetchSpec {
            remote_dir: String::new(),
            pattern: "*".to_owned(),
            required: Vec::new(),
            after: After::Keep,
            settle: DEFAULT_SETTLE,
        }
    }
}

/// Which local files an upload sends, and where.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    /// The remote directory, relative to the connection's root unless absolute. It must exist.
    pub remote_dir: String,
    /// A glob on the outbox's file names; `*` does not match a leading dot.
    pub pattern: String,
}

/// The direction of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the server into the inbox.
    Download,
    /// From the outbox to the server.
    Upload,
}

impl Direction {
    /// `download` or `upload`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
        }
    }
}

/// One file moved, for the `transfers` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Transferred {
    /// Which way.
    pub direction: Direction,
    /// The file's path on the server (its final name).
    pub remote_path: String,
    /// The file's path on this machine (its final name).
    pub local_path: PathBuf,
    /// The file's size.
    pub bytes: u64,
    /// Where this transfer started: the bytes an interrupted earlier download had already
    /// fetched (0 for a full transfer).
    pub resumed_from: u64,
    /// How long the copy took.
    pub seconds: f64,
    /// SHA-256 of the file's content, lowercase hex.
    pub sha256: String,
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchReport {
    /// The files now in the inbox, in name order.
    pub transferred: Vec<Transferred>,
    /// Matching files whose size or time changed between the two listings: left for next time.
    pub still_growing: Vec<String>,
    /// Matching files that disappeared between the two listings.
    pub vanished: Vec<String>,
    /// Remote files left in place (`After::Keep`).
    pub kept: usize,
    /// Remote files removed (`After::Delete`).
    pub deleted: usize,
    /// Remote files moved to the archive directory (`After::Archive`).
    pub archived: usize,
}

/// Progress of one file's transfer, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Which way.
    pub direction: Direction,
    /// The file name.
    pub name: &'a str,
    /// Bytes of the file transferred so far (including a resumed part).
    pub bytes: u64,
    /// The file's size.
    pub total: u64,
}

/// A compiled file-name glob.
fn glob(pattern: &str) -> Result<glob::Pattern, TransferError> {
    glob::Pattern::new(pattern).map_err(|e| TransferError::Pattern {
        pattern: pattern.to_owned(),
        reason: e.msg.to_owned(),
    })
}

/// Name matching for every file pattern Ferry applies (fetch and upload steps, arrival
/// triggers, plugins' host calls): case-sensitive, `*` never crosses `/` nor matches a leading
/// dot (so our own `.NAME.part` files and other hidden files are never picked up).
pub fn matches(pattern: &glob::Pattern, name: &str) -> bool {
    pattern.matches_with(
        name,
        glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        },
    )
}

/// Uploads `local` (`size` bytes) to the temporary name `temp`, checks the size the server
/// reports, then renames it to `dest` (replacing an existing file). A failed upload removes the
/// temporary file (best effort), so nothing partial is ever left under `dest`.
///
/// # Errors
/// [`TransferError::SizeMismatch`] when the server holds another size; any session error.
pub fn put_verified(
    session: &mut dyn Session,
    local: &Path,
    size: u64,
    temp: &str,
    dest: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<(), TransferError> {
    let result = session
        .upload(local, temp, progress)
        .and_then(|_| session.size(temp))
        .and_then(|remote_size| match remote_size {
            Some(n) if n == size => Ok(()),
            other => Err(TransferError::SizeMismatch {
                endpoint: session.endpoint().to_owned(),
                path: temp.to_owned(),
                expected: size,
                actual: other.unwrap_or(0),
            }),
        });
    if let Err(error) = result {
        let _ = session.delete(temp);
        return Err(error);
    }
    session.rename(temp, dest)
}

/// The temporary name of `name` while it is being transferred.
fn part_name(name: &str) -> String {
    format!(".{name}.part")
}

/// Downloads the settled files of `spec.remote_dir` matching `spec.pattern` into `inbox`, then
/// applies `spec.after` to each on the server.
///
/// Each file goes to `inbox/.NAME.part`, resuming a part left by an earlier attempt when it is
/// smaller than the remote file and no older than the remote file's modification time; its size
/// is checked against the listing, then it is renamed to `inbox/NAME` (replacing a file of that
/// name) and hashed. A failed download never leaves anything under the final name.
///
/// # Errors
/// [`TransferError::RequiredMissing`] (before any download) when a `required` name matches no
/// settled file; [`TransferError::SizeMismatch`] when a file changed while being copied; any
/// session error. Files fetched before an error stay in the inbox.
pub fn fetch(
    session: &mut dyn Session,
    spec: &FetchSpec,
    inbox: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<FetchReport, TransferError> {
    let pattern = glob(&spec.pattern)?;
    let required = spec
        .required
        .iter()
        .map(|r| glob(r).map(|g| (r.as_str(), g)))
        .collect::<Result<Vec<_>, _>>()?;
    let first: Vec<_> = session
        .list(&spec.remote_dir)?
        .into_iter()
        .filter(|f| matches(&pattern, &f.name))
        .collect();
    let mut report = FetchReport::default();
    let mut ready = Vec::new();
    if spec.settle.is_zero() || first.is_empty() {
        ready = first;
    } else {
        pause(spec.settle);
        let second: HashMap<String, _> = session
            .list(&spec.remote_dir)?
            .into_iter()
            .map(|f| (f.name.clone(), f))
            .collect();
        for file in first {
            match second.get(&file.name) {
                None => report.vanished.push(file.name),
                Some(now) if now.size != file.size || now.modified != file.modified => {
                    report.still_growing.push(file.name);
                }
                Some(_) => ready.push(file),
            }
        }
    }
    for name in &report.still_growing {
        tracing::info!(endpoint = %session.endpoint(), file = %name, "File still being written; left for the next run.");
    }

    let missing: Vec<String> = required
        .iter()
        .filter(|(name, glob)| {
            !ready
                .iter()
                .any(|f| f.name == *name || matches(glob, &f.name))
        })
        .map(|(name, glob)| {
            let growing = report
                .still_growing
                .iter()
                .any(|g| g == name || matches(glob, g));
            if growing {
                format!("{name} (still being written)")
            } else {
                (*name).to_owned()
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(TransferError::RequiredMissing {
            endpoint: session.endpoint().to_owned(),
            dir: spec.remote_dir.clone(),
            names: missing,
        });
    }

    fs::create_dir_all(inbox).map_err(|e| TransferError::local("create", inbox, e))?;
    let mut archive_ready = false;
    for file in ready {
        let part = inbox.join(part_name(&file.name));
        let dest = inbox.join(&file.name);
        let offset = resume_offset(&part, file.size, file.modified)?;
        let started = Instant::now();
        let name = file.name.as_str();
        let total = file.size;
        let downloaded = session.download(&file.path, &part, offset, &mut |bytes| {
            progress(Progress {
                direction: Direction::Download,
                name,
                bytes,
                total,
            });
        });
        if let Err(error) = downloaded {
            // Keep what arrived for the next attempt to resume; an empty part is just litter.
            if fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
                let _ = fs::remove_file(&part);
            }
            return Err(error);
        }
        let seconds = started.elapsed().as_secs_f64();
        let actual = fs::metadata(&part)
            .map_err(|e| TransferError::local("stat", &part, e))?
            .len();
        if actual != file.size {
            // A longer part is useless; a shorter one can be resumed next time.
            if actual > file.size {
                let _ = fs::remove_file(&part);
            }
            return Err(TransferError::SizeMismatch {
                endpoint: session.endpoint().to_owned(),
                path: file.path,
                expected: file.size,
                actual,
            });
        }
        let sha256 = sha256_file(&part)?;
        fs::rename(&part, &dest).map_err(|e| TransferError::local("rename", &part, e))?;
        tracing::info!(
            endpoint = %session.endpoint(),
            file = %file.path,
            bytes = file.size,
            resumed_from = offset,
            seconds,
            "File fetched."
        );
        match &spec.after {
            After::Keep => report.kept += 1,
            After::Delete => {
                session.delete(&file.path)?;
                report.deleted += 1;
            }
            After::Archive(dir) => {
                if !archive_ready {
                    session.mkdir_all(dir)?;
                    archive_ready = true;
                }
                session.rename(&file.path, &remote_join(dir, &file.name))?;
                report.archived += 1;
            }
        }
        report.transferred.push(Transferred {
            direction: Direction::Download,
            remote_path: file.path,
            local_path: dest,
            bytes: file.size,
            resumed_from: offset,
            seconds,
            sha256,
        });
    }
    Ok(report)
}

/// Where to resume a download into `part`: its length when it is shorter than the remote file
/// and was last written after the remote file last changed (so it is a prefix of this version);
/// otherwise 0, removing a stale part.
fn resume_offset(
    part: &Path,
    size: u64,
    modified: Option<DateTime<Utc>>,
) -> Result<u64, TransferError> {
    let meta = match fs::metadata(part) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(TransferError::local("stat", part, e)),
    };
    let written = meta.modified().ok().map(DateTime::<Utc>::from);
    let same_version = match (modified, written) {
        (Some(remote), Some(local)) => remote <= local,
        (None, _) => true,
        (Some(_), None) => false,
    };
    if meta.is_file() && meta.len() > 0 && meta.len() < size && same_version {
        return Ok(meta.len());
    }
    fs::remove_file(part).map_err(|e| TransferError::local("remove", part, e))?;
    Ok(0)
}

/// Uploads the files of `outbox` matching `spec.pattern` (in name order) to `spec.remote_dir`:
/// each to `.NAME.part` there, size checked, then renamed to `NAME`, replacing an existing file.
///
/// # Errors
/// [`TransferError::SizeMismatch`] when the server holds a different size after the upload (the
/// temporary file is removed); any session or local error. Files uploaded before an error stay.
pub fn upload(
    session: &mut dyn Session,
    spec: &UploadSpec,
    outbox: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Transferred>, TransferError> {
    let pattern = glob(&spec.pattern)?;
    let mut files = Vec::new();
    let entries = fs::read_dir(outbox).map_err(|e| TransferError::local("list", outbox, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TransferError::local("list", outbox, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        let meta = fs::metadata(&path).map_err(|e| TransferError::local("stat", &path, e))?;
        if meta.is_file() && matches(&pattern, &name) {
            files.push((name, path, meta.len()));
        }
    }
    files.sort();

    let mut sent = Vec::new();
    for (name, local, size) in files {
        let temp = remote_join(&spec.remote_dir, &part_name(&name));
        let dest = remote_join(&spec.remote_dir, &name);
        let started = Instant::now();
        put_verified(session, &local, size, &temp, &dest, &mut |bytes| {
            progress(Progress {
                direction: Direction::Upload,
                name: &name,
                bytes,
                total: size,
            });
        })?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(endpoint = %session.endpoint(), file = %dest, bytes = size, seconds, "File uploaded.");
        sent.push(Transferred {
            direction: Direction::Upload,
            remote_path: dest,
            sha256: sha256_file(&local)?,
            local_path: local,
            bytes: size,
            resumed_from: 0,
            seconds,
        });
    }
    Ok(sent)
}

/// Runs `op` up to `attempts` times (at least once), retrying only transient errors
/// ([`TransferError::is_transient`]) after `backoff`, doubling each time (capped at 5 minutes).
/// `op` should open its own session, since a transient failure usually leaves it unusable.
///
/// # Errors
/// The last error, or the first permanent one.
pub fn with_retries<T>(
    attempts: u32,
    backoff: Duration,
    mut op: impl FnMut() -> Result<T, TransferError>,
) -> Result<T, TransferError> {
    let attempts = attempts.max(1);
    let mut delay = backoff;
    let mut attempt = 1;
    loop {
        match op() {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() && attempt < attempts => {
                tracing::warn!(
                    attempt,
                    attempts,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    %error,
                    "Transfer failed; retrying."
                );
                pause(delay);
                delay = (delay * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Blocks this thread for `d`.
#[expect(
    clippy::disallowed_methods,
    reason = "transfers run synchronously in the worker process, outside any async runtime"
)]
fn pause(d: Duration) {
    std::thread::sleep(d);
}

/// SHA-256 of a file, lowercase hex.
fn sha256_file(path: &Path) -> Result<String, TransferError> {
    let mut file = fs::File::open(path).map_err(|e| TransferError::local("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; super::CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::local("read", path, e)),
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
    use std::cell::Cell;

    #[test]
    fn patterns_skip_hidden_and_part_files() {
        let star = glob("*").unwrap();
        assert!(matches(&star, "a.csv"));
        assert!(!matches(&star, ".a.csv.part"));
        let csv = glob("roster_??.CSV").unwrap();
        assert!(matches(&csv, "roster_01.CSV"));
        assert!(!matches(&csv, "roster_01.csv"));
        assert!(matches!(glob("[a"), Err(TransferError::Pattern { .. })));
    }

    #[test]
    fn sha256_of_a_file_is_lowercase_hex() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn transient() -> TransferError {
        TransferError::Timeout {
            endpoint: "e".into(),
            operation: "list".into(),
            after: Duration::from_secs(1),
        }
    }

    #[test]
    fn retries_transient_errors_until_success_or_attempts_run_out() {
        let calls = Cell::new(0);
        let result = with_retries(3, Duration::from_millis(1), || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(transient())
            } else {
                Ok(calls.get())
            }
        });
        assert_eq!(result.unwrap(), 3);

        calls.set(0);
        let result: Result<(), _> = with_retries(2, Duration::from_millis(1), || {
            calls.set(calls.get() + 1);
            Err(transient())
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let calls = Cell::new(0);
        let result: Result<(), _> = with_retries(5, Duration::from_millis(1), || {
            calls.set(calls.get() + 1);
            Err(TransferError::Auth {
                endpoint: "e".into(),
                user: "u".into(),
                reason: "refused".into(),
            })
        });
        assert!(matches!(result, Err(TransferError::Auth { .. })));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn a_stale_or_oversized_part_is_discarded_and_a_fresh_prefix_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join(".a.part");
        assert_eq!(resume_offset(&part, 10, None).unwrap(), 0);
        fs::write(&part, b"12345").unwrap();
        let before = Utc::now() - chrono::TimeDelta::seconds(60);
        assert_eq!(resume_offset(&part, 10, Some(before)).unwrap(), 5);
        // The remote file changed after the part was written: start over.
        let after = Utc::now() + chrono::TimeDelta::seconds(60);
        assert_eq!(resume_offset(&part, 10, Some(after)).unwrap(), 0);
        assert!(!part.exists());
        fs::write(&part, b"1234567890AB").unwrap();
        assert_eq!(resume_offset(&part, 10, None).unwrap(), 0);
        assert!(!part.exists());
    }
}
