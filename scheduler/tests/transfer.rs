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
    var(name).parse().unwrap_or_else(|_| panic!("{name} is not a port: {HOW}"))
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
    text.split_whitespace().nth(1).expect("a fingerprint").to_owned()
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
    assert_eq!(names(&listed), ["a.csv", "b.txt"], "directories are not listed");
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
        .download(&format!("{rel}/a.csv"), &target, 100_000, &mut no_progress())
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
    assert_eq!(session.size(&format!("{rel}/.b.txt.part")).unwrap(), Some(5000));
    session
        .rename(&format!("{rel}/.b.txt.part"), &format!("{rel}/b.txt"))
        .unwrap();
    assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), &content[..5000]);
    assert!(!dir.join(".b.txt.part").exists());

    assert_eq!(session.size(&format!("{rel}/missing")).unwrap(), None);
    session.delete(&format!("{rel}/b.txt")).unwrap();
    assert!(!dir.join("b.txt").exists());
    let err = session
        .download(&format!("{rel}/b.txt"), &local.path().join("x"), 0, &mut no_progress())
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
    assert!(message.starts_with(&format!("host key for {host}:{port} is not in ")), "{message}");
    assert!(message.contains(&format!("offered ssh-ed25519 {expected}")), "{message}");
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
        .download(&format!("{rel}/a.csv"), &local.path().join("a"), 0, &mut no_progress())
        .unwrap();
    assert_eq!(std::fs::read(local.path().join("a")).unwrap(), binary_content(10_000));
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
        let err = connect(endpoint, short).err().expect("no session with a silent server");
        let waited = started.elapsed();
        assert!(matches!(err, TransferError::Timeout { .. }), "{endpoint:?}: {err}");
        assert!(err.is_transient());
        // The bound is what the test is about: a 1 s timeout must not turn into minutes.
        assert!(waited < Duration::from_secs(10), "{endpoint:?} waited {waited:?}");
    }
    done.store(true, Ordering::SeqCst);
}

/// Appends to `path` every 100 ms until told to stop.
fn keep_appending(path: PathBuf) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
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
    let report = fetch(&mut *session, &fetch_spec(&rel, "*.csv"), inbox.path(), &mut ignore);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let report = report.unwrap();

    let fetched: Vec<_> = report.transferred.iter().map(|t| t.remote_path.as_str()).collect();
    assert_eq!(fetched, [format!("{rel}/stable.csv")]);
    assert_eq!(report.still_growing, ["growing.csv"]);
    let mut inbox_files: Vec<_> = std::fs::read_dir(inbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    inbox_files.sort();
    assert_eq!(inbox_files, ["stable.csv"], "nothing else, not even a .part");
    let t = &report.transferred[0];
    assert_eq!(t.direction, Direction::Download);
    assert_eq!(t.bytes, 5);
    assert_eq!(t.local_path, inbox.path().join("stable.csv"));
    assert_eq!(t.sha256, "2a8cd9e3d9e5c7fe0b0b5b9f3dd3a16f0a5a07d2bd3e1dc7b7e7f0bcbb20d0b4".len().to_string().len().to_string().repeat(0) + &sha256_hex(b"id\n1\n"));
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
