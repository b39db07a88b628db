//! File transfers: SFTP, FTP/FTPS and local folders behind one blocking [`Session`] trait, and the
//! job steps built on it (`steps`: fetch into an inbox, upload from an outbox, retries).
//!
//! Everything here is synchronous and runs inside the `ferry worker` child process, before and
//! after the plugin; no tokio. Every network operation has a timeout ([`Timeouts`]), so a server
//! that stops answering fails the step instead of hanging the run.
//!
//! Path rule, the same for every kind: a directory or file path given relative is relative to
//! the connection's root (the login directory for SFTP and FTP, `root` for a local endpoint); an
//! absolute one stays absolute.
//!
//! **Invariant:** credentials arrive already resolved in an [`Endpoint`] and never leave it: its
//! `Debug` masks them and no [`TransferError`] carries one.

mod error;
mod ftp;
pub mod hostkey;
mod local;
mod sftp;
pub mod steps;

pub use error::TransferError;
pub use steps::{
    After, Direction, FetchReport, FetchSpec, Progress, Transferred, UploadSpec, fetch, matches,
    put_verified, upload, with_retries,
};

use chrono::{DateTime, Utc};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where and how to connect. Credentials are already resolved by the host; `Debug` masks them.
pub enum Endpoint {
    /// An SSH server's SFTP subsystem (OpenSSH `internal-sftp` or `sftp-server`).
    Sftp {
        /// Host name or address.
        host: String,
        /// TCP port, usually 22.
        port: u16,
        /// Login name.
        user: String,
        /// A private key file (OpenSSH or PEM format) to authenticate with.
        private_key: Option<PathBuf>,
        /// The private key's passphrase, if it is encrypted.
        passphrase: Option<String>,
        /// A password, tried after the key (or alone).
        password: Option<String>,
        /// The OpenSSH `known_hosts` file the server's host key must be in.
        known_hosts: PathBuf,
    },
    /// An FTP server, in plain text or with explicit TLS (`AUTH TLS`).
    Ftp {
        /// Host name or address; also the name the TLS certificate must carry.
        host: String,
        /// TCP port, usually 21.
        port: u16,
        /// Login name.
        user: String,
        /// Password (`None` sends an empty one).
        password: Option<String>,
        /// `None` is plain FTP; `Some` is FTPS with explicit TLS on control and data.
        tls: Option<FtpsTls>,
        /// Passive data connections (EPSV, or PASV when the server does not offer EPSV); `false`
        /// is active mode (PORT), where the server connects back to us.
        passive: bool,
    },
    /// A directory on this machine, for drop folders and servers mounted locally.
    Local {
        /// The directory relative paths are resolved against.
        root: PathBuf,
    },
}

impl Endpoint {
    /// A short name for logs and errors, without any secret: `sftp://user@host:22`,
    /// `ftps://user@host:21`, `local:/srv/drop`.
    pub fn label(&self) -> String {
        match self {
            Endpoint::Sftp {
                host, port, user, ..
            } => format!("sftp://{user}@{host}:{port}"),
            Endpoint::Ftp {
                host,
                port,
                user,
                tls,
                ..
            } => {
                let scheme = if tls.is_some() { "ftps" } else { "ftp" };
                format!("{scheme}://{user}@{host}:{port}")
            }
            Endpoint::Local { root } => format!("local:{}", root.display()),
        }
    }
}

/// `Some("***")` or `None`: how a secret shows in `Debug`.
fn mask(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "***")
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Sftp {
                host,
                port,
                user,
                private_key,
                passphrase,
                password,
                known_hosts,
            } => f
                .debug_struct("Sftp")
                .field("host", host)
                .field("port", port)
                .field("user", user)
                .field("private_key", private_key)
                .field("passphrase", &mask(passphrase))
                .field("password", &mask(password))
                .field("known_hosts", known_hosts)
                .finish(),
            Endpoint::Ftp {
                host,
                port,
                user,
                password,
                tls,
                passive,
            } => f
                .debug_struct("Ftp")
                .field("host", host)
                .field("port", port)
                .field("user", user)
                .field("password", &mask(password))
                .field("tls", tls)
                .field("passive", passive)
                .finish(),
            Endpoint::Local { root } => f.debug_struct("Local").field("root", root).finish(),
        }
    }
}

/// How an FTPS connection verifies the server's certificate.
#[derive(Debug, Clone, Default)]
pub struct FtpsTls {
    /// A PEM file of CA certificates to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// Limits on waiting for the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP connection and the protocol handshake (SSH key exchange, FTP
    /// greeting, TLS).
    pub connect: Duration,
    /// Any single read or write after that: a server silent for longer fails the operation.
    pub io: Duration,
}

impl Default for Timeouts {
    /// 15 s to connect, 60 s per read or write.
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(15),
            io: Duration::from_secs(60),
        }
    }
}

/// A regular file in a remote listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file name, without directory.
    pub name: String,
    /// The path to hand back to [`Session`] methods (the listed directory joined with `name`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, when the server reports it (to the second).
    pub modified: Option<DateTime<Utc>>,
}

/// One connected, authenticated session with a file server. Blocking; every call is bounded by
/// the [`Timeouts`] it was opened with.
pub trait Session: Send {
    /// The endpoint's label ([`Endpoint::label`]), for logs and errors.
    fn endpoint(&self) -> &str;

    /// The regular files (no directories, no links to directories) in `dir`.
    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>, TransferError>;

    /// Copies `remote` into the local file `local`, starting at byte `offset` of the remote file
    /// (resume): with `offset > 0`, `local` must hold at least `offset` bytes, which are kept and
    /// appended to (anything after them is cut); with `offset == 0` it is created or truncated.
    /// `progress` receives the local file's size so far. Returns the bytes copied by this call.
    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        offset: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError>;

    /// Copies the local file `local` to `remote`, creating or truncating it. `progress` receives
    /// the bytes sent so far. Returns the bytes sent.
    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError>;

    /// Renames `from` to `to`, replacing `to` if it exists (on SFTP v3 servers, which refuse to
    /// overwrite, by removing `to` first: not atomic there).
    fn rename(&mut self, from: &str, to: &str) -> Result<(), TransferError>;

    /// Removes the file `path`.
    fn delete(&mut self, path: &str) -> Result<(), TransferError>;

    /// The size of `path`, or `None` when it does not exist.
    fn size(&mut self, path: &str) -> Result<Option<u64>, TransferError>;

    /// Creates `dir` and any missing parents; an existing directory is fine.
    fn mkdir_all(&mut self, dir: &str) -> Result<(), TransferError>;
}

/// Opens and authenticates a session with `endpoint`.
///
/// # Errors
/// [`TransferError::Connect`] / [`TransferError::Timeout`] when the server cannot be reached or
/// does not answer in time (transient); [`TransferError::UnknownHostKey`],
/// [`TransferError::HostKeyChanged`], [`TransferError::Tls`] and [`TransferError::Auth`] when it
/// must not or cannot be trusted or logged into; [`TransferError::Setup`] for unreadable local
/// inputs (known_hosts, CA file, key file).
pub fn connect(endpoint: &Endpoint, timeouts: Timeouts) -> Result<Box<dyn Session>, TransferError> {
    match endpoint {
        Endpoint::Sftp { .. } => Ok(Box::new(sftp::SftpSession::connect(endpoint, timeouts)?)),
        Endpoint::Ftp { .. } => Ok(Box::new(ftp::FtpSession::connect(endpoint, timeouts)?)),
        Endpoint::Local { root } => Ok(Box::new(local::LocalSession::open(root)?)),
    }
}

/// `dir/name` for remote paths: `name` alone when `dir` is empty or `.`.
pub fn remote_join(dir: &str, name: &str) -> String {
    match dir {
        "" | "." => name.to_owned(),
        _ if dir.ends_with('/') => format!("{dir}{name}"),
        _ => format!("{dir}/{name}"),
    }
}

/// Opens a TCP connection to `host:port` within `timeouts.connect` (trying each address the name
/// resolves to), with Nagle's algorithm off. Name resolution itself uses the system resolver and
/// its own timeouts.
pub(crate) fn tcp_connect(
    endpoint: &str,
    host: &str,
    port: u16,
    timeouts: Timeouts,
) -> Result<TcpStream, TransferError> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| TransferError::Connect {
            endpoint: endpoint.to_owned(),
            reason: format!("cannot resolve {host}: {e}"),
            transient: true,
        })?;
    let deadline = Instant::now() + timeouts.connect;
    let mut last: Option<std::io::Error> = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                stream
                    .set_nodelay(true)
                    .map_err(|e| TransferError::connect_io(endpoint, &e))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => TransferError::Timeout {
            endpoint: endpoint.to_owned(),
            operation: "connect".to_owned(),
            after: timeouts.connect,
        },
        Some(e) => TransferError::connect_io(endpoint, &e),
        None => TransferError::Connect {
            endpoint: endpoint.to_owned(),
            reason: format!("{host} resolved to no address"),
            transient: true,
        },
    })
}

/// Reads and writes move this much at a time: large enough for SFTP to keep the link busy
/// (`limits.md`: 256 KiB reads plus TCP_NODELAY reach OpenSSH's throughput).
pub(crate) const CHUNK: usize = 256 * 1024;

/// Opens the local file a download writes to: created or truncated when `offset` is 0; otherwise
/// it must already hold `offset` bytes, anything after them is cut, and writing continues there.
pub(crate) fn open_download_target(local: &Path, offset: u64) -> Result<File, TransferError> {
    if offset == 0 {
        return File::create(local).map_err(|e| TransferError::local("create", local, e));
    }
    let mut file = OpenOptions::new()
        .write(true)
        .open(local)
        .map_err(|e| TransferError::local("open", local, e))?;
    let len = file
        .metadata()
        .map_err(|e| TransferError::local("stat", local, e))?
        .len();
    if len < offset {
        return Err(TransferError::local(
            "resume",
            local,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("holds {len} bytes, cannot resume at byte {offset}"),
            ),
        ));
    }
    file.set_len(offset)
        .and_then(|()| file.seek(SeekFrom::Start(offset)).map(|_| ()))
        .map_err(|e| TransferError::local("resume", local, e))?;
    Ok(file)
}

/// Which side of a copy failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the source.
    Read(io::Error),
    /// Writing the destination.
    Write(io::Error),
}

/// Copies `reader` to `writer` in [`CHUNK`]s, calling `progress` with `start` plus the bytes
/// copied so far after each chunk. Returns the bytes copied.
pub(crate) fn copy_chunks(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    start: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; CHUNK];
    let mut copied: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        writer.write_all(&buf[..n]).map_err(CopyError::Write)?;
        copied += n as u64;
        progress(start + copied);
    }
    writer.flush().map_err(CopyError::Write)?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_join_keeps_relative_and_absolute_dirs() {
        assert_eq!(remote_join("", "a.csv"), "a.csv");
        assert_eq!(remote_join(".", "a.csv"), "a.csv");
        assert_eq!(remote_join("in", "a.csv"), "in/a.csv");
        assert_eq!(remote_join("in/", "a.csv"), "in/a.csv");
        assert_eq!(remote_join("/srv/in", "a.csv"), "/srv/in/a.csv");
        assert_eq!(remote_join("/", "a.csv"), "/a.csv");
    }

    #[test]
    fn endpoint_debug_masks_secrets() {
        let sftp = Endpoint::Sftp {
            host: "h".into(),
            port: 22,
            user: "u".into(),
            private_key: None,
            passphrase: Some("key-secret".into()),
            password: Some("pw-secret".into()),
            known_hosts: PathBuf::from("/k"),
        };
        let ftp = Endpoint::Ftp {
            host: "h".into(),
            port: 21,
            user: "u".into(),
            password: Some("ftp-secret".into()),
            tls: None,
            passive: true,
        };
        let shown = format!("{sftp:?} {ftp:?} {sftp:#?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("***"));
        assert_eq!(ftp.label(), "ftp://u@h:21");
    }
}
