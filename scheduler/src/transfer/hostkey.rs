//! SSH host keys: reading OpenSSH `known_hosts` files, verifying the key a server offers, and
//! fetching and recording a server's key for `ferry connections trust`.
//!
//! Ferry reads known_hosts itself rather than through libssh2, for two reasons. First, libssh2
//! negotiates the first host-key algorithm both sides support (ed25519), so a file holding only
//! the server's RSA key would report a mismatch: the session must be pinned to the key types the
//! file records for that host, which means knowing them before the handshake. Second, OpenSSH's
//! rules are kept exactly: `host` entries are for port 22, other ports are written `[host]:port`;
//! hashed entries (`|1|salt|hash`, `HashKnownHosts yes`) and `*`/`?`/`!` patterns are understood.
//! Marker lines (`@cert-authority`, `@revoked`) are ignored: Ferry does not verify host
//! certificates.

use super::{Timeouts, TransferError, tcp_connect};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Digest as _;
use std::io::{self, Write as _};
use std::path::Path;

/// A server's host key as offered in the SSH handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    /// The key type as known_hosts writes it, e.g. `ssh-ed25519`, `ssh-rsa`.
    pub key_type: String,
    /// The public key blob in base64, as known_hosts writes it.
    pub key_base64: String,
    /// `SHA256:<base64, no padding>`, the fingerprint OpenSSH prints.
    pub fingerprint: String,
}

impl HostKey {
    /// The key a connected session's server offered.
    pub(crate) fn of_session(session: &ssh2::Session) -> Option<HostKey> {
        let (blob, kind) = session.host_key()?;
        Some(HostKey {
            key_type: key_type_name(kind).to_owned(),
            key_base64: STANDARD.encode(blob),
            fingerprint: fingerprint(blob),
        })
    }
}

/// Connects to `host:port`, completes the SSH key exchange (without authenticating) and returns
/// the host key the server offers by default. For `ferry connections trust`: show the
/// fingerprint, and on confirmation [`append_known_host`].
///
/// # Errors
/// Connection errors and timeouts as for a session.
pub fn fetch_host_key(host: &str, port: u16, timeouts: Timeouts) -> Result<HostKey, TransferError> {
    let endpoint = format!("ssh://{host}:{port}");
    let session = handshake(&endpoint, host, port, timeouts, None).map_err(|f| f.error)?;
    let key = HostKey::of_session(&session).ok_or_else(|| TransferError::Connect {
        endpoint: endpoint.clone(),
        reason: "the server sent no host key".to_owned(),
        transient: false,
    });
    // Best effort: the key exchange is all that was wanted.
    let _ = session.disconnect(None, "host key fetched", None);
    key
}

/// Appends `host:port`'s key to `known_hosts` (creating the file and its directory if needed) as
/// OpenSSH writes it: `host type key` for port 22, `[host]:port type key` otherwise.
///
/// # Errors
/// [`TransferError::Setup`] for a key type or key that is not a single word;
/// [`TransferError::Local`] when the file cannot be written.
pub fn append_known_host(
    known_hosts: &Path,
    host: &str,
    port: u16,
    key_type: &str,
    key_base64: &str,
) -> Result<(), TransferError> {
    let is_word = |s: &str| !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || c == '#');
    if !is_word(host) || !is_word(key_type) || !is_word(key_base64) || host.contains(',') {
        return Err(TransferError::Setup {
            endpoint: format!("ssh://{host}:{port}"),
            reason: "host, key type and key must each be a single word".to_owned(),
        });
    }
    if let Some(dir) = known_hosts.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TransferError::local("create", dir, e))?;
    }
    let needs_newline = match std::fs::read(known_hosts) {
        Ok(bytes) => bytes.last().is_some_and(|b| *b != b'\n'),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(TransferError::local("read", known_hosts, e)),
    };
    let line = format!(
        "{}{} {key_type} {key_base64}\n",
        if needs_newline { "\n" } else { "" },
        host_pattern(host, port)
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(known_hosts)
        .map_err(|e| TransferError::local("open", known_hosts, e))?;
    file.write_all(line.as_bytes())
        .map_err(|e| TransferError::local("write", known_hosts, e))
}

/// How known_hosts names `host:port`.
fn host_pattern(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The known_hosts name for the key type libssh2 reports.
fn key_type_name(kind: ssh2::HostKeyType) -> &'static str {
    match kind {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Unknown => "unknown",
    }
}

/// The libssh2 host-key methods that yield a key of the known_hosts type `key_type`.
fn methods_for(key_type: &str) -> &'static [&'static str] {
    match key_type {
        "ssh-ed25519" => &["ssh-ed25519"],
        "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        "ecdsa-sha2-nistp256" => &["ecdsa-sha2-nistp256"],
        "ecdsa-sha2-nistp384" => &["ecdsa-sha2-nistp384"],
        "ecdsa-sha2-nistp521" => &["ecdsa-sha2-nistp521"],
        "ssh-dss" => &["ssh-dss"],
        _ => &[],
    }
}

/// `SHA256:<base64>` of a key blob.
fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

/// The keys a known_hosts file records for one `host:port`.
#[derive(Debug, Default)]
pub(crate) struct KnownKeys {
    /// `(key type, base64 key)` in file order.
    keys: Vec<(String, String)>,
}

/// What the known_hosts file says about an offered key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The key is recorded for this host.
    Match,
    /// The host has a different key of the same type (or only keys of other types).
    Changed,
    /// The host is not in the file.
    Unknown,
}

impl KnownKeys {
    /// Reads the entries for `host:port` from `path`; a missing file has none.
    pub(crate) fn load(path: &Path, host: &str, port: u16) -> io::Result<KnownKeys> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(KnownKeys::parse(&text, host, port)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(KnownKeys::default()),
            Err(e) => Err(e),
        }
    }

    /// The entries for `host:port` in known_hosts text.
    fn parse(text: &str, host: &str, port: u16) -> KnownKeys {
        let name = host_pattern(host, port);
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('@'))
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let (hosts, key_type, key) = (fields.next()?, fields.next()?, fields.next()?);
                hosts_match(hosts, &name).then(|| (key_type.to_owned(), key.to_owned()))
            })
            .collect();
        KnownKeys { keys }
    }

    /// The host-key methods to offer so the server can only answer with a recorded key type, as
    /// a libssh2 preference list; `None` when nothing usable is recorded (no pinning).
    pub(crate) fn method_preference(&self) -> Option<String> {
        let mut methods: Vec<&str> = Vec::new();
        for (key_type, _) in &self.keys {
            for method in methods_for(key_type) {
                if !methods.contains(method) {
                    methods.push(method);
                }
            }
        }
        (!methods.is_empty()).then(|| methods.join(","))
    }

    /// Whether any key is recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The recorded key types, for messages.
    pub(crate) fn types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        for (key_type, _) in &self.keys {
            if !types.contains(&key_type.as_str()) {
                types.push(key_type);
            }
        }
        types
    }

    /// Checks an offered key against the recorded ones.
    pub(crate) fn verdict(&self, offered: &HostKey) -> Verdict {
        if self.keys.is_empty() {
            Verdict::Unknown
        } else if self
            .keys
            .iter()
            .any(|(t, k)| *t == offered.key_type && *k == offered.key_base64)
        {
            Verdict::Match
        } else {
            Verdict::Changed
        }
    }
}

/// Whether a known_hosts host field (comma-separated patterns, or one hashed name) names `name`
/// (`host` or `[host]:port`, lowercase). A matching negated pattern (`!pat`) excludes the line.
fn hosts_match(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        return hashed_matches(hashed, name);
    }
    let mut matched = false;
    for pattern in field.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if wildcard_match(&pattern.to_ascii_lowercase(), name) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `salt|hash` (both base64) of a hashed entry: HMAC-SHA1(salt, name) == hash.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH's host pattern matching: `*` any run of characters, `?` exactly one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A failed [`handshake`].
#[derive(Debug)]
pub(crate) struct HandshakeFailure {
    /// What to report.
    pub(crate) error: TransferError,
    /// Whether client and server found no algorithm in common (with pinned host-key methods:
    /// the server has no key of a recorded type).
    pub(crate) negotiation: bool,
}

impl From<TransferError> for HandshakeFailure {
    fn from(error: TransferError) -> HandshakeFailure {
        HandshakeFailure {
            error,
            negotiation: false,
        }
    }
}

/// Connects and completes the key exchange, offering only `methods` (a libssh2 host-key
/// preference list) when given. Waits are bounded by `timeouts.connect`.
pub(crate) fn handshake(
    endpoint: &str,
    host: &str,
    port: u16,
    timeouts: Timeouts,
    methods: Option<&str>,
) -> Result<ssh2::Session, HandshakeFailure> {
    let stream = tcp_connect(endpoint, host, port, timeouts)?;
    let mut session = ssh2::Session::new().map_err(|e| TransferError::Connect {
        endpoint: endpoint.to_owned(),
        reason: format!("cannot create an SSH session: {e}"),
        transient: false,
    })?;
    session.set_timeout(millis(timeouts.connect));
    if let Some(methods) = methods {
        session
            .method_pref(ssh2::MethodType::HostKey, methods)
            .map_err(|e| TransferError::Setup {
                endpoint: endpoint.to_owned(),
                reason: format!("host key methods {methods} not supported: {e}"),
            })?;
    }
    session.set_tcp_stream(stream);
    session.handshake().map_err(|e| HandshakeFailure {
        error: handshake_error(endpoint, timeouts, &e),
        negotiation: is_negotiation_failure(&e),
    })?;
    Ok(session)
}

/// A timeout in libssh2's unit (milliseconds, 0 meaning none, so at least 1).
pub(crate) fn millis(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// Whether a handshake failed because no host-key method (or algorithm) was acceptable to both.
fn is_negotiation_failure(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ssh2::ErrorCode::Session(
            -5 /* KEX_FAILURE */ | -8 /* KEY_EXCHANGE_FAILURE */ | -33 /* METHOD_NOT_SUPPORTED */
            | -51 /* ALGO_UNSUPPORTED */
        )
    )
}

/// Maps a failed handshake: timeouts and lost connections are transient.
fn handshake_error(endpoint: &str, timeouts: Timeouts, e: &ssh2::Error) -> TransferError {
    match e.code() {
        ssh2::ErrorCode::Session(-9 /* TIMEOUT */ | -30 /* SOCKET_TIMEOUT */) => {
            TransferError::Timeout {
                endpoint: endpoint.to_owned(),
                operation: "SSH handshake".to_owned(),
                after: timeouts.connect,
            }
        }
        code => TransferError::Connect {
            endpoint: endpoint.to_owned(),
            reason: format!("SSH handshake failed: {e}"),
            transient: matches!(
                code,
                ssh2::ErrorCode::Session(
                    -2 /* BANNER_RECV */ | -7 /* SOCKET_SEND */ | -13 /* SOCKET_DISCONNECT */
                    | -43 /* SOCKET_RECV */
                )
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const RSA: &str = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";

    #[test]
    fn entries_are_found_by_host_and_port_as_openssh_writes_them() {
        let text = format!(
            "# comment\n\
             [sftp.example.org]:2222 ssh-rsa {RSA}\n\
             sftp.example.org ssh-ed25519 {ED}\n\
             @cert-authority *.example.org ssh-ed25519 {ED}\n\
             other.example.org,10.0.0.1 ssh-ed25519 {ED}\n"
        );
        let on_2222 = KnownKeys::parse(&text, "SFTP.example.org", 2222);
        assert_eq!(on_2222.types(), vec!["ssh-rsa"]);
        assert_eq!(
            on_2222.method_preference().as_deref(),
            Some("rsa-sha2-512,rsa-sha2-256,ssh-rsa")
        );
        let on_22 = KnownKeys::parse(&text, "sftp.example.org", 22);
        assert_eq!(on_22.types(), vec!["ssh-ed25519"]);
        assert_eq!(
            KnownKeys::parse(&text, "10.0.0.1", 22).types(),
            vec!["ssh-ed25519"]
        );
        assert!(KnownKeys::parse(&text, "nowhere.example.org", 22).is_empty());
        assert_eq!(
            KnownKeys::parse(&text, "nowhere.example.org", 22).method_preference(),
            None
        );
    }

    #[test]
    fn wildcards_negation_and_hashed_names_match_like_openssh() {
        assert!(hosts_match("*.example.org", "a.example.org"));
        assert!(hosts_match("a?.example.org", "ab.example.org"));
        assert!(!hosts_match("a?.example.org", "a.example.org"));
        assert!(!hosts_match(
            "*.example.org,!bad.example.org",
            "bad.example.org"
        ));
        assert!(hosts_match("[*.example.org]:2222", "[x.example.org]:2222"));
        // What `ssh-keygen -H` writes: the name's HMAC-SHA1, keyed by a random salt.
        let salt = STANDARD.encode(b"0123456789abcdefghij");
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"0123456789abcdefghij").unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = STANDARD.encode(mac.finalize().into_bytes());
        let field = format!("|1|{salt}|{hash}");
        assert!(hosts_match(&field, "[127.0.0.1]:2222"));
        assert!(!hosts_match(&field, "[127.0.0.1]:2223"));
    }

    #[test]
    fn verdict_distinguishes_match_changed_and_unknown() {
        let known = KnownKeys::parse(&format!("h ssh-ed25519 {ED}\n"), "h", 22);
        let offered = |t: &str, k: &str| HostKey {
            key_type: t.into(),
            key_base64: k.into(),
            fingerprint: String::new(),
        };
        assert_eq!(known.verdict(&offered("ssh-ed25519", ED)), Verdict::Match);
        assert_eq!(
            known.verdict(&offered("ssh-ed25519", RSA)),
            Verdict::Changed
        );
        assert_eq!(
            KnownKeys::default().verdict(&offered("ssh-ed25519", ED)),
            Verdict::Unknown
        );
    }

    #[test]
    fn fingerprint_is_openssh_sha256_without_padding() {
        // As `ssh-keygen -lf` prints it for the ED key above.
        let blob = STANDARD.decode(ED).unwrap();
        assert_eq!(
            fingerprint(&blob),
            "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"
        );
    }

    #[test]
    fn appended_lines_use_brackets_for_other_ports_and_fix_a_missing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh/known_hosts");
        append_known_host(&path, "Example.ORG", 22, "ssh-ed25519", ED).unwrap();
        std::fs::write(&path, std::fs::read_to_string(&path).unwrap().trim_end()).unwrap();
        append_known_host(&path, "10.0.0.1", 2222, "ssh-rsa", RSA).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("example.org ssh-ed25519 {ED}\n[10.0.0.1]:2222 ssh-rsa {RSA}\n")
        );
        assert!(append_known_host(&path, "h", 22, "ssh-rsa", "AAA\nevil").is_err());
    }
}
