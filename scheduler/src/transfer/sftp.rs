//! The SFTP [`Session`], over libssh2 (the `ssh2` crate), blocking.
//!
//! Connecting: TCP with a deadline and TCP_NODELAY (without it, ssh2 reaches a third of
//! OpenSSH's throughput, see `limits.md`), the key exchange pinned to the host-key types
//! known_hosts records for the server, the offered key checked against that file (never skipped),
//! then public-key and/or password authentication. libssh2's session timeout bounds every
//! blocking wait: the connect timeout during the handshake, the I/O timeout afterwards.
//!
//! Transfers move [`super::CHUNK`]-sized (256 KiB) buffers. Renaming onto an existing file fails on
//! OpenSSH's SFTP v3 server (libssh2 does not use `posix-rename@openssh.com`), so a failed rename
//! whose target exists removes the target and renames again: not atomic, but the window is tiny.

use super::hostkey::{self, HandshakeFailure, HostKey, KnownKeys, Verdict};
use super::{
    CopyError, Endpoint, RemoteFile, Session, Timeouts, TransferError, copy_chunks,
    open_download_target, remote_join,
};
use chrono::{DateTime, Utc};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;

/// libssh2 error codes this module tells apart.
mod code {
    pub(super) const TIMEOUT: i32 = -9;
    pub(super) const SOCKET_SEND: i32 = -7;
    pub(super) const SOCKET_DISCONNECT: i32 = -13;
    pub(super) const SOCKET_TIMEOUT: i32 = -30;
    pub(super) const SOCKET_RECV: i32 = -43;
    pub(super) const CHANNEL_CLOSED: i32 = -26;
    pub(super) const FX_NO_SUCH_FILE: i32 = 2;
    pub(super) const FX_NO_CONNECTION: i32 = 6;
    pub(super) const FX_CONNECTION_LOST: i32 = 7;
    pub(super) const FX_NO_SUCH_PATH: i32 = 10;
}

/// An authenticated SFTP session.
pub(crate) struct SftpSession {
    label: String,
    timeouts: Timeouts,
    sftp: ssh2::Sftp,
    /// Kept for the connection's lifetime (the SFTP channel runs on it).
    _session: ssh2::Session,
}

impl SftpSession {
    /// Connects, verifies the host key, authenticates and opens the SFTP subsystem.
    pub(crate) fn connect(
        endpoint: &Endpoint,
        timeouts: Timeouts,
    ) -> Result<SftpSession, TransferError> {
        let label = endpoint.label();
        let Endpoint::Sftp {
            host,
            port,
            user,
            private_key,
            passphrase,
            password,
            known_hosts,
        } = endpoint
        else {
            return Err(TransferError::Setup {
                endpoint: label,
                reason: "not an SFTP endpoint".to_owned(),
            });
        };
        let port = *port;
        let known = KnownKeys::load(known_hosts, host, port).map_err(|e| TransferError::Setup {
            endpoint: label.clone(),
            reason: format!("cannot read known_hosts {}: {e}", known_hosts.display()),
        })?;
        let preference = known.method_preference();
        let session = match hostkey::handshake(&label, host, port, timeouts, preference.as_deref())
        {
            Ok(session) => session,
            Err(failure) => {
                return Err(Self::explain_pinned_failure(
                    failure,
                    &known,
                    host,
                    port,
                    known_hosts,
                    timeouts,
                ));
            }
        };
        let offered = HostKey::of_session(&session).ok_or_else(|| TransferError::Connect {
            endpoint: label.clone(),
            reason: "the server sent no host key".to_owned(),
            transient: false,
        })?;
        match known.verdict(&offered) {
            Verdict::Match => {}
            Verdict::Unknown => {
                return Err(TransferError::UnknownHostKey {
                    host: host.clone(),
                    port,
                    known_hosts: known_hosts.clone(),
                    key_type: offered.key_type,
                    fingerprint: offered.fingerprint,
                });
            }
            Verdict::Changed => {
                return Err(TransferError::HostKeyChanged {
                    host: host.clone(),
                    port,
                    known_hosts: known_hosts.clone(),
                    key_type: offered.key_type,
                    fingerprint: offered.fingerprint,
                });
            }
        }
        authenticate(
            &session,
            &label,
            user,
            private_key.as_deref(),
            passphrase.as_deref(),
            password.as_deref(),
            timeouts,
        )?;
        session.set_timeout(hostkey::millis(timeouts.io));
        let sftp = session.sftp().map_err(|e| TransferError::Connect {
            endpoint: label.clone(),
            reason: format!("cannot start the SFTP subsystem: {e}"),
            transient: is_transient_code(e.code()),
        })?;
        tracing::debug!(endpoint = %label, key_type = %offered.key_type, "SFTP session open.");
        Ok(SftpSession {
            label,
            timeouts,
            sftp,
            _session: session,
        })
    }

    /// A pinned handshake that found no common host-key method means the server no longer has
    /// a key of any type known_hosts records: a changed key. Fetch what it does offer, to show.
    fn explain_pinned_failure(
        failure: HandshakeFailure,
        known: &KnownKeys,
        host: &str,
        port: u16,
        known_hosts: &Path,
        timeouts: Timeouts,
    ) -> TransferError {
        let HandshakeFailure { error, negotiation } = failure;
        if !negotiation || known.is_empty() {
            return error;
        }
        match hostkey::fetch_host_key(host, port, timeouts) {
            Ok(offered) => TransferError::HostKeyChanged {
                host: host.to_owned(),
                port,
                known_hosts: known_hosts.to_owned(),
                key_type: format!(
                    "only {} (known_hosts has {})",
                    offered.key_type,
                    known.types().join(", ")
                ),
                fingerprint: offered.fingerprint,
            },
            Err(_) => error,
        }
    }

    /// Maps an ssh2 error of `operation` on `path`.
    fn error(&self, operation: &'static str, path: &str, e: &ssh2::Error) -> TransferError {
        match e.code() {
            ssh2::ErrorCode::SFTP(code::FX_NO_SUCH_FILE | code::FX_NO_SUCH_PATH) => {
                TransferError::NotFound {
                    endpoint: self.label.clone(),
                    operation,
                    path: path.to_owned(),
                }
            }
            ssh2::ErrorCode::Session(code::TIMEOUT | code::SOCKET_TIMEOUT) => {
                TransferError::Timeout {
                    endpoint: self.label.clone(),
                    operation: format!("{operation} {path}"),
                    after: self.timeouts.io,
                }
            }
            code => TransferError::Remote {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
                reason: e.message().to_owned(),
                transient: is_transient_code(code),
            },
        }
    }

    /// Maps an I/O error reading or writing a remote file handle (ssh2 reports those as
    /// `io::Error`, with timeouts as `TimedOut` and most connection failures as `Other`).
    fn io_error(&self, operation: &'static str, path: &str, e: &io::Error) -> TransferError {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransferError::Timeout {
                endpoint: self.label.clone(),
                operation: format!("{operation} {path}"),
                after: self.timeouts.io,
            },
            io::ErrorKind::NotFound => TransferError::NotFound {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
            },
            kind => TransferError::Remote {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
                reason: e.to_string(),
                // Mid-transfer failures are nearly always the connection.
                transient: kind != io::ErrorKind::PermissionDenied,
            },
        }
    }

    /// The attributes of `path`, following links; `None` when it does not exist.
    fn stat(
        &self,
        operation: &'static str,
        path: &str,
    ) -> Result<Option<ssh2::FileStat>, TransferError> {
        match self.sftp.stat(Path::new(path)) {
            Ok(stat) => Ok(Some(stat)),
            Err(e) => match self.error(operation, path, &e) {
                TransferError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }
}

/// Whether an ssh2 error code means the connection failed (worth a retry).
fn is_transient_code(code: ssh2::ErrorCode) -> bool {
    matches!(
        code,
        ssh2::ErrorCode::Session(
            code::TIMEOUT
                | code::SOCKET_SEND
                | code::SOCKET_DISCONNECT
                | code::SOCKET_TIMEOUT
                | code::SOCKET_RECV
                | code::CHANNEL_CLOSED
        ) | ssh2::ErrorCode::SFTP(code::FX_NO_CONNECTION | code::FX_CONNECTION_LOST)
    )
}

/// Public key first (with its passphrase), then the password; at least one must be given.
fn authenticate(
    session: &ssh2::Session,
    label: &str,
    user: &str,
    private_key: Option<&Path>,
    passphrase: Option<&str>,
    password: Option<&str>,
    timeouts: Timeouts,
) -> Result<(), TransferError> {
    let mut failures: Vec<String> = Vec::new();
    let timed_out = |e: &ssh2::Error| {
        matches!(
            e.code(),
            ssh2::ErrorCode::Session(code::TIMEOUT | code::SOCKET_TIMEOUT)
        )
    };
    let timeout = || TransferError::Timeout {
        endpoint: label.to_owned(),
        operation: "authentication".to_owned(),
        after: timeouts.connect,
    };
    if let Some(key) = private_key {
        if !key.is_file() {
            return Err(TransferError::Setup {
                endpoint: label.to_owned(),
                reason: format!("private key {} does not exist", key.display()),
            });
        }
        match session.userauth_pubkey_file(user, None, key, passphrase) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => failures.push(format!("public key {}: not accepted", key.display())),
            Err(e) if timed_out(&e) => return Err(timeout()),
            Err(e) => failures.push(format!("public key {}: {}", key.display(), e.message())),
        }
    }
    if let Some(password) = password {
        match session.userauth_password(user, password) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => failures.push("password: not accepted".to_owned()),
            Err(e) if timed_out(&e) => return Err(timeout()),
            Err(e) => failures.push(format!("password: {}", e.message())),
        }
    }
    if failures.is_empty() {
        failures.push("no private key or password configured".to_owned());
    }
    Err(TransferError::Auth {
        endpoint: label.to_owned(),
        user: user.to_owned(),
        reason: failures.join("; "),
    })
}

/// Seconds since the epoch as a UTC instant.
fn from_epoch(secs: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

impl Session for SftpSession {
    fn endpoint(&self) -> &str {
        &self.label
    }

    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>, TransferError> {
        let listed = if dir.is_empty() { "." } else { dir };
        let entries = self
            .sftp
            .readdir(Path::new(listed))
            .map_err(|e| self.error("list", listed, &e))?;
        let mut files = Vec::new();
        for (path, mut stat) in entries {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let remote = remote_join(dir, name);
            // readdir reports links themselves; a link to a regular file counts as one.
            if stat.file_type().is_symlink() {
                match self.stat("list", &remote)? {
                    Some(target) => stat = target,
                    None => continue,
                }
            }
            if !stat.is_file() {
                continue;
            }
            files.push(RemoteFile {
                name: name.to_owned(),
                path: remote,
                size: stat.size.unwrap_or(0),
                modified: stat.mtime.and_then(from_epoch),
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        offset: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        let mut file = self
            .sftp
            .open(Path::new(remote))
            .map_err(|e| self.error("download", remote, &e))?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| self.io_error("download", remote, &e))?;
        }
        let mut target = open_download_target(local, offset)?;
        copy_chunks(&mut file, &mut target, offset, progress).map_err(|e| match e {
            CopyError::Read(e) => self.io_error("download", remote, &e),
            CopyError::Write(e) => TransferError::local("write", local, e),
        })
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        let mut source =
            std::fs::File::open(local).map_err(|e| TransferError::local("open", local, e))?;
        let mut file = self
            .sftp
            .create(Path::new(remote))
            .map_err(|e| self.error("upload", remote, &e))?;
        copy_chunks(&mut source, &mut file, 0, progress).map_err(|e| match e {
            CopyError::Read(e) => TransferError::local("read", local, e),
            CopyError::Write(e) => self.io_error("upload", remote, &e),
        })
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), TransferError> {
        let Err(first) = self.sftp.rename(Path::new(from), Path::new(to), None) else {
            return Ok(());
        };
        // SFTP v3 refuses to replace an existing target: remove it, then rename again; but a
        // missing source must not cost the target.
        if let error @ TransferError::NotFound { .. } = self.error("rename", from, &first) {
            return Err(error);
        }
        if self.stat("rename", to)?.is_none() {
            return Err(self.error("rename", from, &first));
        }
        self.sftp
            .unlink(Path::new(to))
            .map_err(|e| self.error("rename", to, &e))?;
        self.sftp
            .rename(Path::new(from), Path::new(to), None)
            .map_err(|e| self.error("rename", from, &e))
    }

    fn delete(&mut self, path: &str) -> Result<(), TransferError> {
        self.sftp
            .unlink(Path::new(path))
            .map_err(|e| self.error("delete", path, &e))
    }

    fn size(&mut self, path: &str) -> Result<Option<u64>, TransferError> {
        Ok(self.stat("size", path)?.map(|stat| stat.size.unwrap_or(0)))
    }

    fn mkdir_all(&mut self, dir: &str) -> Result<(), TransferError> {
        let mut prefix = if dir.starts_with('/') {
            String::from("/")
        } else {
            String::new()
        };
        for part in dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
            prefix = remote_join(&prefix, part);
            match self.stat("mkdir", &prefix)? {
                Some(stat) if stat.is_dir() => continue,
                Some(_) => {
                    return Err(TransferError::Remote {
                        endpoint: self.label.clone(),
                        operation: "mkdir",
                        path: prefix,
                        reason: "exists and is not a directory".to_owned(),
                        transient: false,
                    });
                }
                None => {}
            }
            if let Err(e) = self.sftp.mkdir(Path::new(&prefix), 0o755) {
                // Someone else may have created it in the meantime.
                if !self.stat("mkdir", &prefix)?.is_some_and(|s| s.is_dir()) {
                    return Err(self.error("mkdir", &prefix, &e));
                }
            }
        }
        Ok(())
    }
}
