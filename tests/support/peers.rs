//! The real servers the suite runs against: OpenSSH `sshd` (SFTP), pyftpdlib (FTP and explicit
//! FTPS) and two aiosmtpd SMTP servers (plain, and STARTTLS required) that keep every message in
//! a Maildir, started on loopback by `scripts/peers start` and described by the variables it
//! writes to `.ci-peers/env` (which `scripts/test` sources).
//!
//! A missing variable is a failed test with instructions, never a skipped one. Each test works
//! in its own directory under the servers' roots ([`Sshd::dir`], [`Ftp::dir`]), so tests can run
//! in parallel.

use std::path::{Path, PathBuf};

const HOW: &str = "run the suite with scripts/test, which starts sshd and the FTP server \
                   (or `scripts/peers start && source .ci-peers/env`)";

/// The value of a peer variable.
///
/// # Panics
/// When it is not set: the peers are not running.
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW}"))
}

/// A numeric peer variable.
fn number<T: std::str::FromStr>(name: &str) -> T {
    var(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {HOW}"))
}

/// A fresh, empty directory `root/name` (any earlier one removed), owned by `owner` if given.
fn fresh_dir(root: &Path, name: &str, owner: Option<(u32, u32)>) -> PathBuf {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove an old test directory");
    }
    std::fs::create_dir_all(&dir).expect("create the test directory");
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the test directory");
    }
    dir
}

/// The SFTP server: OpenSSH sshd with its own config, host keys and a dedicated user.
#[derive(Debug, Clone)]
pub struct Sshd {
    /// Always 127.0.0.1.
    pub host: String,
    /// A free high port.
    pub port: u16,
    /// The SFTP user (`ferrysftp`).
    pub user: String,
    /// The user's numeric id, to hand the user the files a test prepares.
    pub uid: u32,
    /// The user's group id.
    pub gid: u32,
    /// The user's password.
    pub password: String,
    /// An authorized ed25519 private key without passphrase.
    pub key: PathBuf,
    /// An authorized ed25519 private key protected by [`Sshd::key_passphrase`].
    pub key_encrypted: PathBuf,
    /// The passphrase of [`Sshd::key_encrypted`].
    pub key_passphrase: String,
    /// known_hosts with the server's ed25519 key as `[127.0.0.1]:PORT`.
    pub known_hosts: PathBuf,
    /// known_hosts with only the server's RSA key.
    pub known_hosts_rsa: PathBuf,
    /// known_hosts with an ed25519 key the server does not have.
    pub known_hosts_changed: PathBuf,
    /// The user's home: the SFTP login directory.
    pub home: PathBuf,
}

impl Sshd {
    /// The running server, from the environment.
    ///
    /// # Panics
    /// When the peers are not running.
    pub fn get() -> Sshd {
        Sshd {
            host: var("FERRY_TEST_SSHD_HOST"),
            port: number("FERRY_TEST_SSHD_PORT"),
            user: var("FERRY_TEST_SSHD_USER"),
            uid: number("FERRY_TEST_SSHD_UID"),
            gid: number("FERRY_TEST_SSHD_GID"),
            password: var("FERRY_TEST_SSHD_PASSWORD"),
            key: var("FERRY_TEST_SSHD_KEY").into(),
            key_encrypted: var("FERRY_TEST_SSHD_KEY_ENCRYPTED").into(),
            key_passphrase: var("FERRY_TEST_SSHD_KEY_PASSPHRASE"),
            known_hosts: var("FERRY_TEST_SSHD_KNOWN_HOSTS").into(),
            known_hosts_rsa: var("FERRY_TEST_SSHD_KNOWN_HOSTS_RSA").into(),
            known_hosts_changed: var("FERRY_TEST_SSHD_KNOWN_HOSTS_CHANGED").into(),
            home: var("FERRY_TEST_SSHD_HOME").into(),
        }
    }

    /// A fresh directory `name` in the SFTP user's home, owned by that user. Its path relative
    /// to the login directory is `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        fresh_dir(&self.home, name, Some((self.uid, self.gid)))
    }

    /// Hands `path` (a file or directory a test made as root) to the SFTP user.
    pub fn give(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).expect("chown");
    }
}

/// The FTP server: pyftpdlib serving plain FTP and explicit FTPS on one port.
#[derive(Debug, Clone)]
pub struct Ftp {
    /// Always 127.0.0.1.
    pub host: String,
    /// A free high port.
    pub port: u16,
    /// The FTP user.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The directory the user logs into.
    pub root: PathBuf,
    /// The test CA (PEM) that signed the server's certificate (for localhost and 127.0.0.1).
    pub ca: PathBuf,
}

impl Ftp {
    /// The running server, from the environment.
    ///
    /// # Panics
    /// When the peers are not running.
    pub fn get() -> Ftp {
        Ftp {
            host: var("FERRY_TEST_FTP_HOST"),
            port: number("FERRY_TEST_FTP_PORT"),
            user: var("FERRY_TEST_FTP_USER"),
            password: var("FERRY_TEST_FTP_PASSWORD"),
            root: var("FERRY_TEST_FTP_ROOT").into(),
            ca: var("FERRY_TEST_CA").into(),
        }
    }

    /// A fresh directory `name` under the FTP root; its path relative to the login directory is
    /// `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        fresh_dir(&self.root, name, None)
    }
}

/// One of the SMTP servers (aiosmtpd, `scripts/smtp-peer.py`): every accepted message becomes a
/// file in [`Smtp::maildir`]`/new`, with `X-MailFrom` and `X-RcptTo` headers added. Recipients
/// `@reject.invalid` are refused with `550`, `@defer.invalid` with `451`.
///
/// Both servers share their Maildir among all tests: find a test's own messages by a unique
/// Message-ID or recipient ([`Smtp::messages_with`]).
#[derive(Debug, Clone)]
pub struct Smtp {
    /// Always 127.0.0.1.
    pub host: String,
    /// A free high port.
    pub port: u16,
    /// Whether the server requires STARTTLS (with the test CA's leaf certificate).
    pub starttls: bool,
    /// The Maildir the server writes to.
    pub maildir: PathBuf,
    /// The test CA (PEM) that signed the server's certificate (for localhost and 127.0.0.1).
    pub ca: PathBuf,
}

impl Smtp {
    /// The plain SMTP server (no TLS offered), from the environment.
    ///
    /// # Panics
    /// When the peers are not running.
    pub fn plain() -> Smtp {
        Smtp {
            host: var("FERRY_TEST_SMTP_HOST"),
            port: number("FERRY_TEST_SMTP_PORT"),
            starttls: false,
            maildir: var("FERRY_TEST_SMTP_MAILDIR").into(),
            ca: var("FERRY_TEST_CA").into(),
        }
    }

    /// The server that requires STARTTLS, from the environment.
    ///
    /// # Panics
    /// When the peers are not running.
    pub fn starttls() -> Smtp {
        Smtp {
            host: var("FERRY_TEST_SMTP_HOST"),
            port: number("FERRY_TEST_SMTPS_PORT"),
            starttls: true,
            maildir: var("FERRY_TEST_SMTPS_MAILDIR").into(),
            ca: var("FERRY_TEST_CA").into(),
        }
    }

    /// The `smtp_url` for Ferry's `[mail]` settings (`?tls=required` for the STARTTLS server).
    pub fn url(&self) -> String {
        let tls = if self.starttls { "?tls=required" } else { "" };
        format!("smtp://{}:{}{tls}", self.host, self.port)
    }

    /// Every message the server has kept that contains `needle` (e.g. a Message-ID or a
    /// recipient), as raw text.
    pub fn messages_with(&self, needle: &str) -> Vec<String> {
        let dir = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .map(|entry| entry.expect("read the Maildir").path())
            .filter_map(|path| std::fs::read(&path).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .filter(|text| text.contains(needle))
            .collect()
    }
}

/// An SMTP server of one test's own (scripts/smtp-peer.py, plain, no TLS), for tests that need
/// the mail server down and then up: [`free_port`] first, then [`OwnSmtp::start`] on it later.
/// Its Maildir is a temporary directory; the server stops when this is dropped.
#[derive(Debug)]
pub struct OwnSmtp {
    child: std::process::Child,
    maildir: tempfile::TempDir,
}

impl OwnSmtp {
    /// Starts the server on `127.0.0.1:port` and waits until it accepts connections.
    ///
    /// # Panics
    /// When the peers' Python is not set up or the server does not come up within 20 s.
    pub fn start(port: u16) -> OwnSmtp {
        let command = var("FERRY_TEST_SMTP_COMMAND");
        let mut words = command.split_whitespace();
        let program = words
            .next()
            .expect("FERRY_TEST_SMTP_COMMAND names a program");
        let maildir = tempfile::tempdir().expect("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(maildir.path().join(sub)).expect("a Maildir folder");
        }
        let child = std::process::Command::new(program)
            .args(words)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--maildir")
            .arg(maildir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the SMTP server");
        let server = OwnSmtp { child, maildir };
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the SMTP server on port {port} did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// Every message the server kept, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| std::fs::read(entry.expect("read the Maildir").path()).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect()
    }
}

impl Drop for OwnSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
