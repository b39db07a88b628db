//! [`TransferError`]: what went wrong with a transfer, where, and whether trying again may help.
//!
//! Every variant names the endpoint (`sftp://user@host:port`, never a password) and, where there
//! is one, the path and the operation. [`TransferError::is_transient`] drives the retries in
//! `steps::with_retries`: network trouble is worth retrying, a refused login or host key is not.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A failed connection or file operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The server could not be reached or dropped the connection while setting it up.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint's label.
        endpoint: String,
        /// What failed.
        reason: String,
        /// Whether trying again later may succeed (refused, reset, unreachable).
        transient: bool,
    },
    /// The server did not answer within the configured timeout.
    #[error("{endpoint}: {operation} timed out after {}s", after.as_secs_f64())]
    Timeout {
        /// The endpoint's label.
        endpoint: String,
        /// What was waited for, with its path when there is one.
        operation: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The server refused the login.
    #[error("{endpoint}: authentication as {user} failed: {reason}")]
    Auth {
        /// The endpoint's label.
        endpoint: String,
        /// The login name.
        user: String,
        /// The methods tried and what the server said.
        reason: String,
    },
    /// The SSH server's host key is not in the known_hosts file.
    #[error(
        "host key for {host}:{port} is not in {}; offered {key_type} {fingerprint}; \
         run `ferry connections trust NAME` after checking it",
        known_hosts.display()
    )]
    UnknownHostKey {
        /// The server's host name as configured.
        host: String,
        /// The server's port.
        port: u16,
        /// The known_hosts file searched.
        known_hosts: PathBuf,
        /// The offered key's type, e.g. `ssh-ed25519`.
        key_type: String,
        /// The offered key's fingerprint, `SHA256:<base64>` as OpenSSH prints it.
        fingerprint: String,
    },
    /// The SSH server offered a key different from the one in known_hosts.
    #[error(
        "HOST KEY CHANGED for {host}:{port}: the server offered {key_type} {fingerprint}, which \
         does not match the key recorded in {}; someone may be intercepting the connection, or \
         the server was reinstalled: check with its administrator before changing known_hosts",
        known_hosts.display()
    )]
    HostKeyChanged {
        /// The server's host name as configured.
        host: String,
        /// The server's port.
        port: u16,
        /// The known_hosts file holding the other key.
        known_hosts: PathBuf,
        /// The offered key's type, or the key types recorded when the server offered none of them.
        key_type: String,
        /// The offered key's fingerprint (empty when no key of a recorded type was offered).
        fingerprint: String,
    },
    /// The TLS handshake failed, typically an untrusted or mismatching certificate.
    #[error("{endpoint}: TLS failed: {reason}")]
    Tls {
        /// The endpoint's label.
        endpoint: String,
        /// Why, as rustls says it.
        reason: String,
    },
    /// A remote file or directory does not exist.
    #[error("{endpoint}: {operation} {path}: no such file or directory")]
    NotFound {
        /// The endpoint's label.
        endpoint: String,
        /// The operation, e.g. `download`.
        operation: &'static str,
        /// The remote path.
        path: String,
    },
    /// The server refused or failed a file operation.
    #[error("{endpoint}: {operation} {path} failed: {reason}")]
    Remote {
        /// The endpoint's label.
        endpoint: String,
        /// The operation, e.g. `rename`.
        operation: &'static str,
        /// The remote path.
        path: String,
        /// What the server or the connection said.
        reason: String,
        /// Whether trying again may succeed (connection lost, server busy: FTP 4xx).
        transient: bool,
    },
    /// A local file operation failed (the inbox, the outbox, a local endpoint).
    #[error("{operation} {}: {source}", path.display())]
    Local {
        /// The operation, e.g. `write`.
        operation: &'static str,
        /// The local path.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: io::Error,
    },
    /// A transferred file does not have the size it was listed with.
    #[error("{endpoint}: {path}: expected {expected} bytes after the transfer, found {actual}")]
    SizeMismatch {
        /// The endpoint's label.
        endpoint: String,
        /// The remote path.
        path: String,
        /// The size listed before the transfer.
        expected: u64,
        /// The size found after it.
        actual: u64,
    },
    /// Files a fetch requires were not there (or were still being written).
    #[error("{endpoint}: required files not found in {dir}: {}", names.join(", "))]
    RequiredMissing {
        /// The endpoint's label.
        endpoint: String,
        /// The remote directory searched.
        dir: String,
        /// The required names or patterns that matched no ready file.
        names: Vec<String>,
    },
    /// A file name pattern is not a valid glob.
    #[error("invalid file pattern {pattern:?}: {reason}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A local input the connection needs is unusable (known_hosts, CA file, key file).
    #[error("{endpoint}: {reason}")]
    Setup {
        /// The endpoint's label.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
}

impl TransferError {
    /// Whether the same operation may succeed if tried again later: connection refused or
    /// reset, timeouts, a lost connection, a busy server, a file that changed while being copied.
    /// Authentication, host keys, TLS, missing files and local errors are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            TransferError::Connect { transient, .. } | TransferError::Remote { transient, .. } => {
                *transient
            }
            TransferError::Timeout { .. } | TransferError::SizeMismatch { .. } => true,
            TransferError::Auth { .. }
            | TransferError::UnknownHostKey { .. }
            | TransferError::HostKeyChanged { .. }
            | TransferError::Tls { .. }
            | TransferError::NotFound { .. }
            | TransferError::Local { .. }
            | TransferError::RequiredMissing { .. }
            | TransferError::Pattern { .. }
            | TransferError::Setup { .. } => false,
        }
    }

    /// A local file error.
    pub(crate) fn local(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        TransferError::Local {
            operation,
            path: path.into(),
            source,
        }
    }

    /// A connection-setup error from a socket error.
    pub(crate) fn connect_io(endpoint: &str, error: &io::Error) -> Self {
        TransferError::Connect {
            endpoint: endpoint.to_owned(),
            reason: error.to_string(),
            transient: io_is_transient(error.kind()),
        }
    }
}

/// Whether a socket error is the network's fault (worth a retry) rather than ours.
pub(crate) fn io_is_transient(kind: io::ErrorKind) -> bool {
    use io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::TimedOut
            | K::WouldBlock
            | K::UnexpectedEof
            | K::Interrupted
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown
            | K::AddrNotAvailable
    )
}

/// Whether a socket error means a read or write timeout expired (`SO_RCVTIMEO` reports
/// `WouldBlock` on Unix).
pub(crate) fn io_is_timeout(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_trouble_is_transient_and_refusals_are_not() {
        let refused = TransferError::connect_io(
            "sftp://u@h:22",
            &io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert!(refused.is_transient());
        let timeout = TransferError::Timeout {
            endpoint: "ftp://u@h:21".into(),
            operation: "list in".into(),
            after: Duration::from_secs(3),
        };
        assert!(timeout.is_transient());
        assert_eq!(
            timeout.to_string(),
            "ftp://u@h:21: list in timed out after 3s"
        );
        let auth = TransferError::Auth {
            endpoint: "sftp://u@h:22".into(),
            user: "u".into(),
            reason: "password refused".into(),
        };
        assert!(!auth.is_transient());
        let missing = TransferError::RequiredMissing {
            endpoint: "local:/x".into(),
            dir: "in".into(),
            names: vec!["a.csv".into(), "b*.csv".into()],
        };
        assert!(!missing.is_transient());
        assert!(missing.to_string().ends_with("a.csv, b*.csv"), "{missing}");
    }
}
