//! The FTP and FTPS [`Session`], over suppaftp's synchronous client with rustls (ring).
//!
//! FTPS is explicit TLS: connect in plain text, `AUTH TLS`, then `PBSZ 0` / `PROT P` so data
//! connections are encrypted too; the certificate is verified against the system's roots or the
//! configured CA file, for the configured host name. The transfer type is always binary (suppaftp
//! starts in ASCII, which rewrites line endings). Data connections are passive by default (EPSV
//! when the server lists it, else PASV using the control connection's address, which survives
//! NAT), or active (PORT) on request. Every socket, control and data (passive or accepted in
//! active mode), carries read and write timeouts, and `REST` resumes a download.

use super::error::{io_is_timeout, io_is_transient};
use super::{
    CopyError, Endpoint, FtpsTls, RemoteFile, Session, Timeouts, TransferError, copy_chunks,
    open_download_target, remote_join, tcp_connect,
};
use chrono::{DateTime, Utc};
use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;
use suppaftp::list::ListParser;
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, RustlsConnector, RustlsFtpStream, Status};

/// An authenticated FTP or FTPS session. (`RustlsFtpStream` without `AUTH TLS` is plain FTP.)
pub(crate) struct FtpSession {
    label: String,
    timeouts: Timeouts,
    ftp: RustlsFtpStream,
    /// The login directory, where relative paths start.
    home: String,
    /// Whether the server offers MLSD (exact sizes and UTC times) rather than only LIST.
    mlsd: bool,
}

impl std::fmt::Debug for FtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpSession")
            .field("label", &self.label)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

impl FtpSession {
    /// Connects, secures (FTPS), logs in and switches to binary.
    pub(crate) fn connect(
        endpoint: &Endpoint,
        timeouts: Timeouts,
    ) -> Result<FtpSession, TransferError> {
        let label = endpoint.label();
        let Endpoint::Ftp {
            host,
            port,
            user,
            password,
            tls,
            passive,
        } = endpoint
        else {
            return Err(TransferError::Setup {
                endpoint: label,
                reason: "not an FTP endpoint".to_owned(),
            });
        };
        let stream = tcp_connect(&label, host, *port, timeouts)?;
        // The greeting, TLS and login are bounded by the connect timeout; later calls by `io`.
        set_socket_timeouts(&stream, timeouts.connect)
            .map_err(|e| TransferError::connect_io(&label, &e))?;
        let setup = |operation: &str, e: FtpError| setup_error(&label, operation, timeouts, e);
        let data_timeouts = timeouts;
        let mut ftp = RustlsFtpStream::connect_with_stream(stream)
            .map_err(|e| setup("greeting", e))?
            .passive_stream_builder(move |addr| {
                let stream = TcpStream::connect_timeout(&addr, data_timeouts.connect)
                    .map_err(FtpError::ConnectionError)?;
                stream
                    .set_nodelay(true)
                    .map_err(FtpError::ConnectionError)?;
                set_socket_timeouts(&stream, data_timeouts.io)
                    .map_err(FtpError::ConnectionError)?;
                Ok(stream)
            });
        if let Some(tls) = tls {
            let connector = tls_connector(&label, tls)?;
            ftp = ftp
                .into_secure(connector, host)
                .map_err(|e| setup("TLS", e))?;
        }
        let password = password.as_deref().unwrap_or("");
        ftp.login(user.as_str(), password).map_err(|e| match e {
            FtpError::UnexpectedResponse(ref response)
                if matches!(
                    response.status,
                    Status::NotLoggedIn | Status::InvalidCredentials
                ) =>
            {
                TransferError::Auth {
                    endpoint: label.clone(),
                    user: user.clone(),
                    reason: response_text(response),
                }
            }
            e => setup("login", e),
        })?;
        ftp.transfer_type(FileType::Binary)
            .map_err(|e| setup("TYPE I", e))?;
        // A server without FEAT (rare) gets the conservative choices.
        let features = ftp.feat().unwrap_or_default();
        let mlsd = features.contains_key("MLST");
        if *passive {
            if features.contains_key("EPSV") {
                ftp.set_mode(Mode::ExtendedPassive);
            } else {
                ftp.set_mode(Mode::Passive);
                ftp.set_passive_nat_workaround(true);
            }
        } else {
            ftp = ftp.active_mode(timeouts.connect);
        }
        let home = ftp.pwd().map_err(|e| setup("PWD", e))?;
        set_socket_timeouts(&ftp.get_ref(), timeouts.io)
            .map_err(|e| TransferError::connect_io(&label, &e))?;
        tracing::debug!(endpoint = %label, mlsd, "FTP session open.");
        Ok(FtpSession {
            label,
            timeouts,
            ftp,
            home,
            mlsd,
        })
    }

    /// Maps a suppaftp error of `operation` on `path`. A `550` reply is "not found".
    fn error(&self, operation: &'static str, path: &str, e: FtpError) -> TransferError {
        match e {
            FtpError::ConnectionError(e) if io_is_timeout(e.kind()) => TransferError::Timeout {
                endpoint: self.label.clone(),
                operation: format!("{operation} {path}"),
                after: self.timeouts.io,
            },
            FtpError::ConnectionError(e) => TransferError::Remote {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
                reason: e.to_string(),
                transient: io_is_transient(e.kind()) || e.kind() == io::ErrorKind::Other,
            },
            FtpError::UnexpectedResponse(response)
                if response.status == Status::FileUnavailable =>
            {
                TransferError::NotFound {
                    endpoint: self.label.clone(),
                    operation,
                    path: path.to_owned(),
                }
            }
            FtpError::UnexpectedResponse(response) => TransferError::Remote {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
                // 4xx replies are temporary by definition (RFC 959).
                transient: (400..500).contains(&response.status.code()),
                reason: response_text(&response),
            },
            FtpError::SecureError(reason) => TransferError::Tls {
                endpoint: self.label.clone(),
                reason,
            },
            other => TransferError::Remote {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
                reason: other.to_string(),
                transient: false,
            },
        }
    }

    /// Lists with MLSD, or LIST parsed as Unix or DOS output.
    fn listing(&mut self, dir: &str) -> Result<Vec<suppaftp::list::File>, TransferError> {
        let listed = if dir.is_empty() { "." } else { dir };
        let verb = if self.mlsd { "MLSD" } else { "LIST" };
        let command = if dir.is_empty() {
            verb.to_owned()
        } else {
            format!("{verb} {dir}")
        };
        let lines = match self.data_lines(&command, listed) {
            Ok(lines) => lines,
            // Servers answer a missing directory with 550 or 501: tell by looking.
            Err(TransferError::Remote {
                transient: false, ..
            }) if !self.is_dir(listed)? => {
                return Err(TransferError::NotFound {
                    endpoint: self.label.clone(),
                    operation: "list",
                    path: listed.to_owned(),
                });
            }
            Err(error) => return Err(error),
        };
        // Some servers (vsftpd) answer LIST of a missing directory with an empty listing.
        if lines.is_empty() && !self.is_dir(listed)? {
            return Err(TransferError::NotFound {
                endpoint: self.label.clone(),
                operation: "list",
                path: listed.to_owned(),
            });
        }
        Ok(lines
            .iter()
            .filter_map(|line| {
                if self.mlsd {
                    ListParser::parse_mlsd(line).ok()
                } else {
                    ListParser::parse_posix(line)
                        .or_else(|_| ListParser::parse_dos(line))
                        .ok()
                }
            })
            .collect())
    }

    /// Runs a listing command and reads its data connection as lines. (suppaftp's own `mlsd` and
    /// `list` cannot put a timeout on an active-mode data connection; this can.)
    fn data_lines(&mut self, command: &str, listed: &str) -> Result<Vec<String>, TransferError> {
        let (_, mut stream) = self
            .ftp
            .custom_data_command(command, &[Status::AboutToSend, Status::AlreadyOpen])
            .map_err(|e| self.error("list", listed, e))?;
        set_socket_timeouts(stream.get_ref().get_ref(), self.timeouts.io)
            .map_err(|e| self.error("list", listed, FtpError::ConnectionError(e)))?;
        let mut bytes = Vec::new();
        let read = io::Read::read_to_end(&mut stream, &mut bytes);
        let finished = stream.finish();
        read.map_err(|e| self.error("list", listed, FtpError::ConnectionError(e)))?;
        finished.map_err(|e| self.error("list", listed, e))?;
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| line.trim_end_matches('\r').to_owned())
            .filter(|line| !line.is_empty())
            .collect())
    }

    /// Whether `dir` is an existing directory (CWD into it and back home). A refused CWD means
    /// no; a lost connection or a busy server is an error, not a missing directory.
    fn is_dir(&mut self, dir: &str) -> Result<bool, TransferError> {
        if let Err(e) = self.ftp.cwd(dir) {
            let error = self.error("cwd", dir, e);
            return if error.is_transient() {
                Err(error)
            } else {
                Ok(false)
            };
        }
        let home = self.home.clone();
        self.ftp
            .cwd(&home)
            .map_err(|e| self.error("cwd", &home, e))?;
        Ok(true)
    }
}

/// Read and write timeouts on a socket.
fn set_socket_timeouts(stream: &TcpStream, timeout: std::time::Duration) -> io::Result<()> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))
}

/// Maps an error while connecting, securing or logging in.
fn setup_error(label: &str, operation: &str, timeouts: Timeouts, e: FtpError) -> TransferError {
    match e {
        FtpError::ConnectionError(e) if io_is_timeout(e.kind()) => TransferError::Timeout {
            endpoint: label.to_owned(),
            operation: format!("FTP {operation}"),
            after: timeouts.connect,
        },
        // rustls reports certificate and handshake failures as `InvalidData` I/O errors.
        FtpError::ConnectionError(e) if e.kind() == io::ErrorKind::InvalidData => {
            TransferError::Tls {
                endpoint: label.to_owned(),
                reason: e.to_string(),
            }
        }
        FtpError::ConnectionError(e) => TransferError::Connect {
            endpoint: label.to_owned(),
            reason: format!("{operation}: {e}"),
            transient: io_is_transient(e.kind()),
        },
        FtpError::SecureError(reason) => TransferError::Tls {
            endpoint: label.to_owned(),
            reason,
        },
        FtpError::UnexpectedResponse(response) => TransferError::Connect {
            endpoint: label.to_owned(),
            reason: format!("{operation}: {}", response_text(&response)),
            transient: (400..500).contains(&response.status.code()),
        },
        other => TransferError::Connect {
            endpoint: label.to_owned(),
            reason: format!("{operation}: {other}"),
            transient: false,
        },
    }
}

/// A server reply as one line of text.
fn response_text(response: &suppaftp::types::Response) -> String {
    response
        .as_string()
        .unwrap_or_else(|_| format!("{} (undecodable reply)", response.status.code()))
        .trim()
        .to_owned()
}

/// A rustls client (ring) trusting the CA file, or the system's roots.
fn tls_connector(label: &str, tls: &FtpsTls) -> Result<RustlsConnector, TransferError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let setup = |reason: String| TransferError::Setup {
        endpoint: label.to_owned(),
        reason,
    };
    // Only ring is compiled in, but rustls wants a process default before `builder()`; a second
    // install (another session got there first) is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| setup(format!("cannot read CA file {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(setup(format!(
                    "CA file {} holds no usable certificate",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(setup(format!(
                    "no system CA certificates found ({} errors); configure a CA file",
                    found.errors.len()
                )));
            }
        }
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(RustlsConnector::from(Arc::new(config)))
}

/// A listing time as UTC; MLSD without a `modify` fact reports the epoch, meaning unknown.
fn modified(time: SystemTime) -> Option<DateTime<Utc>> {
    (time != SystemTime::UNIX_EPOCH).then(|| DateTime::<Utc>::from(time))
}

impl Session for FtpSession {
    fn endpoint(&self) -> &str {
        &self.label
    }

    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>, TransferError> {
        let mut files: Vec<RemoteFile> = self
            .listing(dir)?
            .into_iter()
            .filter(|f| f.is_file())
            .map(|f| RemoteFile {
                name: f.name().to_owned(),
                path: remote_join(dir, f.name()),
                size: f.size() as u64,
                modified: modified(f.modified()),
            })
            .collect();
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
        let mut target = open_download_target(local, offset)?;
        if offset > 0 {
            let offset = usize::try_from(offset).map_err(|_| TransferError::Remote {
                endpoint: self.label.clone(),
                operation: "download",
                path: remote.to_owned(),
                reason: format!("cannot resume at byte {offset} on this platform"),
                transient: false,
            })?;
            self.ftp
                .resume_transfer(offset)
                .map_err(|e| self.error("download", remote, e))?;
        }
        let mut stream = self
            .ftp
            .retr_as_stream(remote)
            .map_err(|e| self.error("download", remote, e))?;
        // Passive sockets got their timeouts when opened; an accepted active one did not.
        set_socket_timeouts(stream.get_ref().get_ref(), self.timeouts.io)
            .map_err(|e| self.error("download", remote, FtpError::ConnectionError(e)))?;
        let copied = copy_chunks(&mut stream, &mut target, offset, progress);
        // Finishing reads the server's completion reply; a failed copy still finishes (on drop)
        // so the control connection stays usable, but its error is the one reported.
        let finished = stream.finish();
        let copied = copied.map_err(|e| match e {
            CopyError::Read(e) => self.error("download", remote, FtpError::ConnectionError(e)),
            CopyError::Write(e) => TransferError::local("write", local, e),
        })?;
        finished.map_err(|e| self.error("download", remote, e))?;
        Ok(copied)
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        let mut source =
            std::fs::File::open(local).map_err(|e| TransferError::local("open", local, e))?;
        let mut stream = self
            .ftp
            .put_with_stream(remote)
            .map_err(|e| self.error("upload", remote, e))?;
        set_socket_timeouts(stream.get_ref().get_ref(), self.timeouts.io)
            .map_err(|e| self.error("upload", remote, FtpError::ConnectionError(e)))?;
        let copied = copy_chunks(&mut source, &mut stream, 0, progress);
        let finished = stream.finish();
        let copied = copied.map_err(|e| match e {
            CopyError::Read(e) => TransferError::local("read", local, e),
            CopyError::Write(e) => self.error("upload", remote, FtpError::ConnectionError(e)),
        })?;
        finished.map_err(|e| self.error("upload", remote, e))?;
        Ok(copied)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), TransferError> {
        let Err(first) = self.ftp.rename(from, to) else {
            return Ok(());
        };
        // Some servers refuse to replace an existing target: remove it, then rename again.
        let first = self.error("rename", from, first);
        if first.is_transient() {
            return Err(first);
        }
        // A missing source must not cost the target; and a 550 (mapped to "not found") for a
        // source that exists is a refusal.
        if self.size(from)?.is_none() {
            return Err(TransferError::NotFound {
                endpoint: self.label.clone(),
                operation: "rename",
                path: from.to_owned(),
            });
        }
        if self.size(to)?.is_none() {
            return Err(match first {
                TransferError::NotFound { endpoint, .. } => TransferError::Remote {
                    endpoint,
                    operation: "rename",
                    path: from.to_owned(),
                    reason: format!("the server refused to rename it to {to}"),
                    transient: false,
                },
                other => other,
            });
        }
        self.ftp.rm(to).map_err(|e| self.error("rename", to, e))?;
        self.ftp
            .rename(from, to)
            .map_err(|e| self.error("rename", from, e))
    }

    fn delete(&mut self, path: &str) -> Result<(), TransferError> {
        self.ftp.rm(path).map_err(|e| self.error("delete", path, e))
    }

    fn size(&mut self, path: &str) -> Result<Option<u64>, TransferError> {
        match self.ftp.size(path) {
            Ok(size) => Ok(Some(size as u64)),
            Err(e) => match self.error("size", path, e) {
                TransferError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    fn mkdir_all(&mut self, dir: &str) -> Result<(), TransferError> {
        let mut prefix = if dir.starts_with('/') {
            String::from("/")
        } else {
            String::new()
        };
        for part in dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
            prefix = remote_join(&prefix, part);
            if self.is_dir(&prefix)? {
                continue;
            }
            if let Err(e) = self.ftp.mkdir(&prefix) {
                let error = self.error("mkdir", &prefix, e);
                // Someone else may have created it in the meantime.
                if !self.is_dir(&prefix)? {
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}
