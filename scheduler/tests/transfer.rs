//! The transfer library against real servers: OpenSSH sshd for SFTP and pyftpdlib for FTP and
//! explicit FTPS, both started on loopback by `scripts/peers start` (which `scripts/test` runs),
//! plus local folders and a TCP listener that never speaks.
//!
//! The servers are described by `FERRY_TEST_*` variables; without them every test here fails
//! with instructions rather than skipping. Each test works in its own directory under the
//! servers' roots, so the tests run in parallel.

use ferry::transfer::hostkey::{append_known_host, fetch_host_key};
use ferry::transfer::{
    After, Direction, Endpoint, FetchSpec, FtpsTls, Progress, RemoteFile, Session, Timeouts,
    TransferError, UploadSpec, connect, fetch, upload, with_retries,
};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

const HOW: &str = "run the suite with scripts/test, which starts sshd and the FTP server \
                   (or `scripts/peers start && source .ci-peers/env`)";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW}"))
}

fn path_var(name: &str) -> PathBuf {
    PathBuf::from(var(name))
}

fn port_var(name: &str) -> u16 {
    var(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a port: {HOW}"))
}

/// Generous limits: only the stalled-server tests rely on a timeout firing.
fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(10),
        io: Duration::from_secs(30),
    }
}

/// How an SFTP test logs in.
enum Auth {
    Key,
    EncryptedKey(Option<String>),
    Password(String),
}

fn sftp_endpoint(auth: Auth, known_hosts: PathBuf) -> Endpoint {
    let (private_key, passphrase, password) = match auth {
        Auth::Key => (Some(path_var("FERRY_TEST_SSHD_KEY")), None, None),
        Auth::EncryptedKey(passphrase) => (
            Some(path_var("FERRY_TEST_SSHD_KEY_ENCRYPTED")),
            passphrase,
            None,
        ),
        Auth::Password(password) => (None, None, Some(password)),
    };
    Endpoint::Sftp {
        host: var("FERRY_TEST_SSHD_HOST"),
        port: port_var("FERRY_TEST_SSHD_PORT"),
        user: var("FERRY_TEST_SSHD_USER"),
        private_key,
        passphrase,
        password,
        known_hosts,
    }
}

fn sftp() -> Endpoint {
    sftp_endpoint(Auth::Key, path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"))
}

fn ftp_endpoint(tls: Option<FtpsTls>, passive: bool, password: Option<String>) -> Endpoint {
    Endpoint::Ftp {
        host: var("FERRY_TEST_FTP_HOST"),
        port: port_var("FERRY_TEST_FTP_PORT"),
        user: var("FERRY_TEST_FTP_USER"),
        password: Some(password.unwrap_or_else(|| var("FERRY_TEST_FTP_PASSWORD"))),
        tls,
        passive,
    }
}

fn ftps() -> Endpoint {
    let tls = FtpsTls {
        ca_file: Some(path_var("FERRY_TEST_CA")),
    };
    ftp_endpoint(Some(tls), true, None)
}

/// A fresh directory `name` under the endpoint's login directory (handed to the SFTP user for
/// sshd), returned as (local path, path relative to the login directory).
fn server_dir(endpoint: &Endpoint, name: &str) -> (PathBuf, String) {
    let root = match endpoint {
        Endpoint::Sftp { .. } => path_var("FERRY_TEST_SSHD_HOME"),
        Endpoint::Ftp { .. } => path_var("FERRY_TEST_FTP_ROOT"),
        Endpoint::Local { root } => root.clone(),
    };
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    if matches!(endpoint, Endpoint::Sftp { .. }) {
        let uid = var("FERRY_TEST_SSHD_UID").parse().unwrap();
        let gid = var("FERRY_TEST_SSHD_GID").parse().unwrap();
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    }
    (dir, name.to_owned())
}

fn open(endpoint: &Endpoint) -> Box<dyn Session> {
    connect(endpoint, timeouts()).unwrap_or_else(|e| panic!("connect {endpoint:?}: {e}"))
}

fn names(files: &[RemoteFile]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

fn no_progress() -> impl FnMut(u64) {
    |_| {}
}

fn ignore(_: Progress<'_>) {}

/// Bytes that a text-mode transfer would alter: LF, CRLF, CR and NUL.
fn binary_content(len: usize) -> Vec<u8> {
    let pattern = b"id,name\nline two\r\nlone cr\r\0\xff\xfe";
    pattern.iter().copied().cycle().take(len).collect()
}

/// The fingerprint `ssh-keygen -lf` prints for the first key of a known_hosts file.
fn openssh_fingerprint(known_hosts: &Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(known_hosts)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_owned()
}

/// List, download (whole and resumed), upload, rename onto an existing file, size, delete and
/// mkdir, on any endpoint.
fn exercise_session(endpoint: &Endpoint, test: &str) {
    let (dir, rel) = server_dir(endpoint, test);
    let content = binary_content(700_000);
    std::fs::write(dir.join("a.csv"), &content).unwrap();
    std::fs::write(dir.join("b.txt"), b"old").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let local = tempfile::tempdir().unwrap();
    let mut session = open(endpoint);

    let listed = session.list(&rel).unwrap();
    assert_eq!(
        names(&listed),
        ["a.csv", "b.txt"],
        "directories are not listed"
    );
    assert_eq!(listed[0].size, content.len() as u64);
    assert_eq!(listed[0].path, format!("{rel}/a.csv"));
    assert!(listed[0].modified.is_some());

    // Whole download, with progress reaching the size.
    let target = local.path().join("a.csv");
    let mut last = 0;
    let copied = session
        .download(&format!("{rel}/a.csv"), &target, 0, &mut |n| last = n)
        .unwrap();
    assert_eq!(copied, content.len() as u64);
    assert_eq!(last, content.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), content, "bytes unchanged");

    // Resumed download: keep the first 100 000 bytes, fetch the rest.
    std::fs::write(&target, &content[..100_000]).unwrap();
    let copied = session
        .download(
            &format!("{rel}/a.csv"),
            &target,
            100_000,
            &mut no_progress(),
        )
        .unwrap();
    assert_eq!(copied, content.len() as u64 - 100_000);
    assert_eq!(std::fs::read(&target).unwrap(), content);

    // Upload, then rename onto an existing file, which is replaced.
    let up = local.path().join("up.bin");
    std::fs::write(&up, &content[..5000]).unwrap();
    let sent = session
        .upload(&up, &format!("{rel}/.b.txt.part"), &mut no_progress())
        .unwrap();
    assert_eq!(sent, 5000);
    assert_eq!(
        session.size(&format!("{rel}/.b.txt.part")).unwrap(),
        Some(5000)
    );
    session
        .rename(&format!("{rel}/.b.txt.part"), &format!("{rel}/b.txt"))
        .unwrap();
    assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), &content[..5000]);
    assert!(!dir.join(".b.txt.part").exists());

    assert_eq!(session.size(&format!("{rel}/missing")).unwrap(), None);
    session.delete(&format!("{rel}/b.txt")).unwrap();
    assert!(!dir.join("b.txt").exists());
    let err = session
        .download(
            &format!("{rel}/b.txt"),
            &local.path().join("x"),
            0,
            &mut no_progress(),
        )
        .unwrap_err();
    assert!(matches!(err, TransferError::NotFound { .. }), "{err}");
    assert!(!err.is_transient());

    session.mkdir_all(&format!("{rel}/x/y/z")).unwrap();
    session.mkdir_all(&format!("{rel}/x/y")).unwrap();
    assert!(dir.join("x/y/z").is_dir());

    // Absolute paths stay absolute.
    if !matches!(endpoint, Endpoint::Ftp { .. }) {
        let absolute = dir.join("a.csv").display().to_string();
        assert_eq!(session.size(&absolute).unwrap(), Some(content.len() as u64));
    }
}

#[test]
fn sftp_with_key_auth_lists_transfers_resumes_and_renames_replacing() {
    exercise_session(&sftp(), "sftp-session");
}

#[test]
fn sftp_with_password_auth_connects() {
    let endpoint = sftp_endpoint(
        Auth::Password(var("FERRY_TEST_SSHD_PASSWORD")),
        path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"),
    );
    let (_dir, rel) = server_dir(&endpoint, "sftp-password");
    assert!(open(&endpoint).list(&rel).unwrap().is_empty());
}

#[test]
fn sftp_with_a_passphrase_protected_key_connects_and_a_wrong_passphrase_is_refused() {
    let known = path_var("FERRY_TEST_SSHD_KNOWN_HOSTS");
    let good = sftp_endpoint(
        Auth::EncryptedKey(Some(var("FERRY_TEST_SSHD_KEY_PASSPHRASE"))),
        known.clone(),
    );
    open(&good).list("").unwrap();
    let bad = sftp_endpoint(Auth::EncryptedKey(Some("not-it".into())), known);
    let err = connect(&bad, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::Auth { .. }), "{err}");
    assert!(!err.is_transient());
}

#[test]
fn sftp_wrong_password_is_a_permanent_auth_error_that_does_not_show_the_password() {
    let endpoint = sftp_endpoint(
        Auth::Password("wrong-password-123".into()),
        path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"),
    );
    let err = connect(&endpoint, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::Auth { .. }), "{err}");
    assert!(!err.is_transient());
    let shown = format!("{err} {err:?} {endpoint:?}");
    assert!(!shown.contains("wrong-password-123"), "{shown}");
}

#[test]
fn sftp_unknown_host_key_is_refused_showing_its_fingerprint_until_trusted() {
    let scratch = tempfile::tempdir().unwrap();
    let known_hosts = scratch.path().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let expected = openssh_fingerprint(&path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"));
    let endpoint = sftp_endpoint(Auth::Key, known_hosts.clone());

    let err = connect(&endpoint, timeouts()).err().expect("refused");
    let TransferError::UnknownHostKey { fingerprint, .. } = &err else {
        panic!("expected an unknown host key, got {err}");
    };
    assert_eq!(*fingerprint, expected);
    let message = err.to_string();
    let host = var("FERRY_TEST_SSHD_HOST");
    let port = port_var("FERRY_TEST_SSHD_PORT");
    assert!(
        message.starts_with(&format!("host key for {host}:{port} is not in ")),
        "{message}"
    );
    assert!(
        message.contains(&format!("offered ssh-ed25519 {expected}")),
        "{message}"
    );
    assert!(message.contains("ferry connections trust"), "{message}");
    assert!(!err.is_transient());

    // What `ferry connections trust` does: fetch the key, show it, record it.
    let key = fetch_host_key(&host, port, timeouts()).unwrap();
    assert_eq!(key.fingerprint, expected);
    append_known_host(&known_hosts, &host, port, &key.key_type, &key.key_base64).unwrap();
    open(&endpoint).list("").unwrap();
}

#[test]
fn sftp_changed_host_key_is_refused_loudly() {
    let endpoint = sftp_endpoint(Auth::Key, path_var("FERRY_TEST_SSHD_KNOWN_HOSTS_CHANGED"));
    let err = connect(&endpoint, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::HostKeyChanged { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("HOST KEY CHANGED"), "{message}");
    let real = openssh_fingerprint(&path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"));
    assert!(message.contains(&real), "{message}");
    assert!(!err.is_transient());
}

#[test]
fn sftp_server_without_a_key_of_the_recorded_type_is_a_changed_host_key() {
    // known_hosts records an ECDSA key; the server has none, so the pinned key exchange fails
    // and the error shows what the server does offer.
    let scratch = tempfile::tempdir().unwrap();
    let key = scratch.path().join("ecdsa");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ecdsa", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut fields = public.split_whitespace();
    let known_hosts = scratch.path().join("known_hosts");
    let host = var("FERRY_TEST_SSHD_HOST");
    let port = port_var("FERRY_TEST_SSHD_PORT");
    append_known_host(
        &known_hosts,
        &host,
        port,
        fields.next().unwrap(),
        fields.next().unwrap(),
    )
    .unwrap();

    let err = connect(&sftp_endpoint(Auth::Key, known_hosts), timeouts())
        .err()
        .expect("refused");
    assert!(matches!(err, TransferError::HostKeyChanged { .. }), "{err}");
    let message = err.to_string();
    let real = openssh_fingerprint(&path_var("FERRY_TEST_SSHD_KNOWN_HOSTS"));
    assert!(message.contains(&real), "{message}");
    assert!(message.contains("ecdsa-sha2-nistp256"), "{message}");
}

#[test]
fn listing_a_missing_directory_is_not_found_on_every_kind() {
    let root = tempfile::tempdir().unwrap();
    let endpoints = [
        sftp(),
        ftp_endpoint(None, true, None),
        ftps(),
        Endpoint::Local {
            root: root.path().to_owned(),
        },
    ];
    for endpoint in &endpoints {
        let err = open(endpoint).list("no-such-dir-anywhere").unwrap_err();
        assert!(
            matches!(err, TransferError::NotFound { .. }),
            "{endpoint:?}: {err}"
        );
    }
    // An empty listing of a directory that exists is no error (FTP looks again when a server
    // answers with nothing).
    for (endpoint, test) in
        endpoints
            .iter()
            .zip(["sftp-empty", "ftp-empty", "ftps-empty", "local-empty"])
    {
        let (_, rel) = server_dir(endpoint, test);
        assert!(
            open(endpoint).list(&rel).unwrap().is_empty(),
            "{endpoint:?}"
        );
    }
}

#[test]
fn renaming_a_missing_file_is_not_found_and_keeps_the_target_on_every_kind() {
    let root = tempfile::tempdir().unwrap();
    let endpoints = [
        (sftp(), "sftp-rename-missing"),
        (ftp_endpoint(None, true, None), "ftp-rename-missing"),
        (
            Endpoint::Local {
                root: root.path().to_owned(),
            },
            "local-rename-missing",
        ),
    ];
    for (endpoint, test) in &endpoints {
        let (dir, rel) = server_dir(endpoint, test);
        std::fs::write(dir.join("done.csv"), b"kept").unwrap();
        let err = open(endpoint)
            .rename(&format!("{rel}/missing.csv"), &format!("{rel}/done.csv"))
            .unwrap_err();
        assert!(
            matches!(err, TransferError::NotFound { .. }),
            "{endpoint:?}: {err}"
        );
        assert_eq!(std::fs::read(dir.join("done.csv")).unwrap(), b"kept");
    }
}

#[test]
fn sftp_with_only_the_servers_rsa_key_known_pins_the_key_type_and_connects() {
    // libssh2 would negotiate ed25519 first and report a mismatch without pinning.
    let endpoint = sftp_endpoint(Auth::Key, path_var("FERRY_TEST_SSHD_KNOWN_HOSTS_RSA"));
    open(&endpoint).list("").unwrap();
}

#[test]
fn plain_ftp_in_passive_mode_transfers_bytes_unchanged() {
    exercise_session(&ftp_endpoint(None, true, None), "ftp-passive");
}

#[test]
fn plain_ftp_in_active_mode_transfers() {
    let endpoint = ftp_endpoint(None, false, None);
    let (dir, rel) = server_dir(&endpoint, "ftp-active");
    std::fs::write(dir.join("a.csv"), binary_content(10_000)).unwrap();
    let local = tempfile::tempdir().unwrap();
    let mut session = open(&endpoint);
    assert_eq!(names(&session.list(&rel).unwrap()), ["a.csv"]);
    session
        .download(
            &format!("{rel}/a.csv"),
            &local.path().join("a"),
            0,
            &mut no_progress(),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(local.path().join("a")).unwrap(),
        binary_content(10_000)
    );
}

#[test]
fn ftps_verified_against_the_test_ca_transfers() {
    exercise_session(&ftps(), "ftps-session");
}

#[test]
fn ftps_is_refused_when_only_the_system_roots_are_trusted() {
    let endpoint = ftp_endpoint(Some(FtpsTls { ca_file: None }), true, None);
    let err = connect(&endpoint, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(!err.is_transient());
}

#[test]
fn ftp_wrong_password_is_a_permanent_auth_error() {
    let endpoint = ftp_endpoint(None, true, Some("wrong-password-456".into()));
    let err = connect(&endpoint, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::Auth { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(!format!("{err} {err:?}").contains("wrong-password-456"));
}

#[test]
fn connection_refused_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = Endpoint::Ftp {
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        password: None,
        tls: None,
        passive: true,
    };
    let err = connect(&endpoint, timeouts()).err().expect("refused");
    assert!(matches!(err, TransferError::Connect { .. }), "{err}");
    assert!(err.is_transient());
}

/// A server that accepts connections and never says anything.
fn silent_server() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            held.push(stream);
        }
    });
    (port, done)
}

#[test]
fn a_server_that_accepts_and_then_stalls_times_out_instead_of_hanging() {
    let (port, done) = silent_server();
    let short = Timeouts {
        connect: Duration::from_secs(1),
        io: Duration::from_secs(1),
    };
    let endpoints = [
        Endpoint::Sftp {
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            private_key: None,
            passphrase: None,
            password: Some("p".into()),
            known_hosts: PathBuf::from("/nonexistent/known_hosts"),
        },
        Endpoint::Ftp {
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            password: None,
            tls: None,
            passive: true,
        },
    ];
    for endpoint in &endpoints {
        let started = Instant::now();
        let err = connect(endpoint, short)
            .err()
            .expect("no session with a silent server");
        let waited = started.elapsed();
        assert!(
            matches!(err, TransferError::Timeout { .. }),
            "{endpoint:?}: {err}"
        );
        assert!(err.is_transient());
        // The bound is what the test is about: a 1 s timeout must not turn into minutes.
        assert!(
            waited < Duration::from_secs(10),
            "{endpoint:?} waited {waited:?}"
        );
    }
    done.store(true, Ordering::SeqCst);
}

/// Appends to `path` every 100 ms until told to stop.
#[expect(
    clippy::disallowed_methods,
    reason = "a plain thread playing a slow writer; no async runtime here"
)]
fn keep_appending(path: PathBuf) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        while !flag.load(Ordering::SeqCst) {
            file.write_all(b"more,rows\n").unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    (stop, handle)
}

fn fetch_spec(rel: &str, pattern: &str) -> FetchSpec {
    FetchSpec {
        remote_dir: rel.to_owned(),
        pattern: pattern.to_owned(),
        required: Vec::new(),
        after: After::Keep,
        settle: Duration::from_millis(1500),
    }
}

#[test]
fn fetch_leaves_a_file_that_is_still_growing_for_the_next_run() {
    let endpoint = sftp();
    let (dir, rel) = server_dir(&endpoint, "fetch-growing");
    std::fs::write(dir.join("stable.csv"), b"id\n1\n").unwrap();
    std::fs::write(dir.join("growing.csv"), b"id\n").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not matched").unwrap();
    let (stop, writer) = keep_appending(dir.join("growing.csv"));
    let inbox = tempfile::tempdir().unwrap();

    let mut session = open(&endpoint);
    let report = fetch(
        &mut *session,
        &fetch_spec(&rel, "*.csv"),
        inbox.path(),
        &mut ignore,
    );
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let report = report.unwrap();

    let fetched: Vec<_> = report
        .transferred
        .iter()
        .map(|t| t.remote_path.as_str())
        .collect();
    assert_eq!(fetched, [format!("{rel}/stable.csv")]);
    assert_eq!(report.still_growing, ["growing.csv"]);
    let mut inbox_files: Vec<_> = std::fs::read_dir(inbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    inbox_files.sort();
    assert_eq!(
        inbox_files,
        ["stable.csv"],
        "nothing else, not even a .part"
    );
    let t = &report.transferred[0];
    assert_eq!(t.direction, Direction::Download);
    assert_eq!(t.bytes, 5);
    assert_eq!(t.local_path, inbox.path().join("stable.csv"));
    assert_eq!(t.sha256, sha256_hex(b"id\n1\n"));
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .expect("run sha256sum");
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// A real session whose downloads can be cut short, as if the connection dropped, and which
/// records the operations it is asked for.
struct Observed {
    inner: Box<dyn Session>,
    /// Cut the next download at this many bytes of the local file, then fail.
    cut_next_download_at: Option<u64>,
    log: Vec<String>,
}

impl Observed {
    fn new(inner: Box<dyn Session>) -> Observed {
        Observed {
            inner,
            cut_next_download_at: None,
            log: Vec::new(),
        }
    }
}

impl Session for Observed {
    fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }
    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>, TransferError> {
        self.inner.list(dir)
    }
    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        offset: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        self.log.push(format!("download {remote} from {offset}"));
        let copied = self.inner.download(remote, local, offset, progress)?;
        if let Some(cut) = self.cut_next_download_at.take() {
            let file = std::fs::OpenOptions::new().write(true).open(local).unwrap();
            file.set_len(cut).unwrap();
            return Err(TransferError::Remote {
                endpoint: self.endpoint().to_owned(),
                operation: "download",
                path: remote.to_owned(),
                reason: "connection lost (cut by the test)".to_owned(),
                transient: true,
            });
        }
        Ok(copied)
    }
    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        self.log.push(format!("upload {remote}"));
        self.inner.upload(local, remote, progress)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), TransferError> {
        self.log.push(format!("rename {from} {to}"));
        self.inner.rename(from, to)
    }
    fn delete(&mut self, path: &str) -> Result<(), TransferError> {
        self.log.push(format!("delete {path}"));
        self.inner.delete(path)
    }
    fn size(&mut self, path: &str) -> Result<Option<u64>, TransferError> {
        self.log.push(format!("size {path}"));
        self.inner.size(path)
    }
    fn mkdir_all(&mut self, dir: &str) -> Result<(), TransferError> {
        self.log.push(format!("mkdir {dir}"));
        self.inner.mkdir_all(dir)
    }
}

/// An interrupted fetch leaves no file under the final name, only the `.part`; the next fetch
/// resumes it where it stopped and ends with the complete file.
fn interrupted_download_resumes(endpoint: &Endpoint, test: &str) {
    let (dir, rel) = server_dir(endpoint, test);
    let content = binary_content(1_000_000);
    std::fs::write(dir.join("big.csv"), &content).unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut spec = fetch_spec(&rel, "*.csv");
    spec.settle = Duration::ZERO;

    let mut session = Observed::new(open(endpoint));
    session.cut_next_download_at = Some(400_000);
    let err = fetch(&mut session, &spec, inbox.path(), &mut ignore).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        !inbox.path().join("big.csv").exists(),
        "no partial file under the final name"
    );
    let part = inbox.path().join(".big.csv.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 400_000);

    let mut last = 0;
    let mut session = Observed::new(open(endpoint));
    let report = fetch(&mut session, &spec, inbox.path(), &mut |p| last = p.bytes).unwrap();
    assert_eq!(session.log, [format!("download {rel}/big.csv from 400000")]);
    assert_eq!(last, content.len() as u64);
    let t = &report.transferred[0];
    assert_eq!((t.bytes, t.resumed_from), (content.len() as u64, 400_000));
    assert_eq!(
        std::fs::read(inbox.path().join("big.csv")).unwrap(),
        content
    );
    assert!(!part.exists());
    assert_eq!(t.sha256, sha256_hex(&content));
}

#[test]
fn sftp_fetch_interrupted_never_leaves_a_partial_file_and_resumes() {
    interrupted_download_resumes(&sftp(), "fetch-resume-sftp");
}

#[test]
fn ftp_fetch_interrupted_never_leaves_a_partial_file_and_resumes_with_rest() {
    interrupted_download_resumes(&ftps(), "fetch-resume-ftps");
}

#[test]
fn fetch_restarts_instead_of_resuming_a_part_older_than_the_remote_file() {
    let endpoint = sftp();
    let (dir, rel) = server_dir(&endpoint, "fetch-stale-part");
    let content = binary_content(50_000);
    std::fs::write(dir.join("a.csv"), &content).unwrap();
    let inbox = tempfile::tempdir().unwrap();
    // A part of another version of the file, written an hour before the current one.
    let part = inbox.path().join(".a.csv.part");
    std::fs::write(&part, vec![b'x'; 20_000]).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(file);

    let mut spec = fetch_spec(&rel, "a.csv");
    spec.settle = Duration::ZERO;
    let report = fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
    assert_eq!(report.transferred[0].resumed_from, 0);
    assert_eq!(std::fs::read(inbox.path().join("a.csv")).unwrap(), content);
}

#[test]
fn fetch_fails_naming_the_required_files_that_are_missing_before_downloading_anything() {
    let endpoint = sftp();
    let (dir, rel) = server_dir(&endpoint, "fetch-required");
    std::fs::write(dir.join("roster.csv"), b"r").unwrap();
    std::fs::write(dir.join("staff.txt"), b"not a csv").unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut spec = fetch_spec(&rel, "*.csv");
    spec.required = vec![
        "roster.csv".into(),
        "staff_*.csv".into(),
        "enroll.csv".into(),
    ];

    let err = fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap_err();
    let TransferError::RequiredMissing { names, .. } = &err else {
        panic!("expected missing required files, got {err}");
    };
    assert_eq!(names, &["staff_*.csv", "enroll.csv"]);
    assert!(err.to_string().contains("staff_*.csv, enroll.csv"), "{err}");
    assert!(!err.is_transient());
    assert_eq!(
        std::fs::read_dir(inbox.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn fetch_then_delete_removes_the_remote_files() {
    let endpoint = ftp_endpoint(None, true, None);
    let (dir, rel) = server_dir(&endpoint, "fetch-delete");
    std::fs::write(dir.join("a.csv"), b"a").unwrap();
    std::fs::write(dir.join("b.csv"), b"bb").unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut spec = fetch_spec(&rel, "*.csv");
    spec.after = After::Delete;

    let report = fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
    assert_eq!(report.deleted, 2);
    assert!(!dir.join("a.csv").exists() && !dir.join("b.csv").exists());
    assert_eq!(std::fs::read(inbox.path().join("b.csv")).unwrap(), b"bb");
}

#[test]
fn fetch_then_archive_moves_the_remote_files_into_a_created_directory() {
    for (endpoint, test) in [
        (sftp(), "fetch-archive-sftp"),
        (ftps(), "fetch-archive-ftps"),
    ] {
        let (dir, rel) = server_dir(&endpoint, test);
        std::fs::write(dir.join("a.csv"), b"new a").unwrap();
        std::fs::create_dir_all(dir.join("done/2026")).unwrap();
        std::fs::write(dir.join("done/2026/a.csv"), b"yesterday's a").unwrap();
        std::fs::write(dir.join("b.csv"), b"b").unwrap();
        if matches!(endpoint, Endpoint::Sftp { .. }) {
            // The SFTP user must be able to replace the archived file.
            let (uid, gid) = (
                var("FERRY_TEST_SSHD_UID").parse().unwrap(),
                var("FERRY_TEST_SSHD_GID").parse().unwrap(),
            );
            for d in ["done", "done/2026"] {
                std::os::unix::fs::chown(dir.join(d), Some(uid), Some(gid)).unwrap();
            }
        }
        let inbox = tempfile::tempdir().unwrap();
        let mut spec = fetch_spec(&rel, "*.csv");
        spec.settle = Duration::ZERO;
        spec.after = After::Archive(format!("{rel}/done/2026"));

        let report = fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
        assert_eq!(report.archived, 2, "{test}");
        assert_eq!(
            std::fs::read(dir.join("done/2026/a.csv")).unwrap(),
            b"new a"
        );
        assert!(dir.join("done/2026/b.csv").exists());
        assert!(!dir.join("a.csv").exists() && !dir.join("b.csv").exists());

        // A fresh archive directory is created.
        std::fs::write(dir.join("c.csv"), b"c").unwrap();
        spec.after = After::Archive(format!("{rel}/fresh/archive"));
        fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
        assert!(dir.join("fresh/archive/c.csv").exists(), "{test}");
    }
}

#[test]
fn upload_writes_a_temporary_name_checks_the_size_then_renames_over_the_old_file() {
    for (endpoint, test) in [
        (sftp(), "upload-sftp"),
        (ftp_endpoint(None, true, None), "upload-ftp"),
    ] {
        let (dir, rel) = server_dir(&endpoint, test);
        std::fs::write(dir.join("out.csv"), b"last week's").unwrap();
        let outbox = tempfile::tempdir().unwrap();
        let content = binary_content(300_000);
        std::fs::write(outbox.path().join("out.csv"), &content).unwrap();
        std::fs::write(outbox.path().join(".hidden.csv"), b"never sent").unwrap();
        std::fs::write(outbox.path().join("log.txt"), b"not matched").unwrap();

        let mut session = Observed::new(open(&endpoint));
        let spec = UploadSpec {
            remote_dir: rel.clone(),
            pattern: "*.csv".into(),
        };
        let mut seen = 0;
        let sent = upload(&mut session, &spec, outbox.path(), &mut |p| seen = p.bytes).unwrap();
        assert_eq!(
            session.log,
            [
                format!("upload {rel}/.out.csv.part"),
                format!("size {rel}/.out.csv.part"),
                format!("rename {rel}/.out.csv.part {rel}/out.csv"),
            ],
            "{test}"
        );
        assert_eq!(seen, content.len() as u64);
        assert_eq!(
            std::fs::read(dir.join("out.csv")).unwrap(),
            content,
            "{test}"
        );
        assert!(!dir.join(".out.csv.part").exists());
        assert!(!dir.join(".hidden.csv").exists());
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].direction, Direction::Upload);
        assert_eq!(sent[0].remote_path, format!("{rel}/out.csv"));
        assert_eq!(sent[0].bytes, content.len() as u64);
        assert_eq!(sent[0].sha256, sha256_hex(&content));
    }
}

#[test]
fn local_endpoint_fetches_and_uploads_with_the_same_semantics() {
    let root = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::Local {
        root: root.path().to_owned(),
    };
    exercise_session(&endpoint, "local-session");

    let (dir, rel) = server_dir(&endpoint, "local-steps");
    std::fs::write(dir.join("a.csv"), b"a").unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut spec = fetch_spec(&rel, "*.csv");
    spec.settle = Duration::ZERO;
    spec.after = After::Archive("archive".into());
    let report = fetch(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
    assert_eq!(report.archived, 1);
    assert_eq!(
        std::fs::read(root.path().join("archive/a.csv")).unwrap(),
        b"a"
    );

    let spec = UploadSpec {
        remote_dir: dir.display().to_string(),
        pattern: "*".into(),
    };
    let sent = upload(&mut *open(&endpoint), &spec, inbox.path(), &mut ignore).unwrap();
    assert_eq!(sent[0].remote_path, format!("{}/a.csv", dir.display()));
    assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), b"a");
}

#[test]
fn retries_reconnect_after_a_transient_failure_and_complete_the_fetch() {
    let endpoint = sftp();
    let (dir, rel) = server_dir(&endpoint, "fetch-retry");
    let content = binary_content(200_000);
    std::fs::write(dir.join("a.csv"), &content).unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut spec = fetch_spec(&rel, "*.csv");
    spec.settle = Duration::ZERO;

    let mut attempts = 0;
    let report = with_retries(3, Duration::from_millis(10), || {
        attempts += 1;
        let mut session = Observed::new(open(&endpoint));
        if attempts == 1 {
            session.cut_next_download_at = Some(1000);
        }
        fetch(&mut session, &spec, inbox.path(), &mut ignore)
    })
    .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(report.transferred[0].resumed_from, 1000);
    assert_eq!(std::fs::read(inbox.path().join("a.csv")).unwrap(), content);
}
