//! The mail sender against real SMTP servers: the two aiosmtpd servers of `scripts/peers start`
//! (plain, and STARTTLS required with the test CA's certificate), which keep every message in a
//! Maildir and refuse recipients `@reject.invalid` (550) and `@defer.invalid` (451).
//!
//! The servers are described by `FERRY_TEST_SMTP*` variables; without them every test here fails
//! with instructions rather than skipping. The Maildirs are shared, so each test finds its own
//! message by a unique Message-ID.

use ferry::notice::send::{Mailer, SendError, build_message};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOW: &str = "run the suite with scripts/test, which starts the SMTP servers \
                   (or `scripts/peers start && source .ci-peers/env`)";

/// A safety net against a hung exchange, never a timing check.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A password that must never show in any error or debug text.
const PASSWORD: &str = "pw-Zq8vTn3LkW";

const FROM: &str = "Ferry <ferry@district.test>";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW}"))
}

fn host() -> String {
    var("FERRY_TEST_SMTP_HOST")
}

fn port(name: &str) -> u16 {
    var(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a port: {HOW}"))
}

fn ca() -> PathBuf {
    PathBuf::from(var("FERRY_TEST_CA"))
}

fn plain_url() -> String {
    format!("smtp://{}:{}", host(), port("FERRY_TEST_SMTP_PORT"))
}

fn starttls_url() -> String {
    format!(
        "smtp://{}:{}?tls=required",
        host(),
        port("FERRY_TEST_SMTPS_PORT")
    )
}

/// A Message-ID no other test (or earlier run) uses.
fn unique_id(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("<{test}.{}.{nanos}@ferry.test>", std::process::id())
}

/// The messages in `maildir/new` holding `needle`.
fn kept(maildir: &Path, needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .map(|entry| entry.expect("read the Maildir").path())
        .filter_map(|path| std::fs::read(path).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .filter(|text| text.contains(needle))
        .collect()
}

/// The one message holding `needle`.
fn the_message(maildir: &Path, needle: &str) -> String {
    let mut found = kept(maildir, needle);
    assert_eq!(found.len(), 1, "expected one message with {needle}");
    found.remove(0)
}

fn simple(to: &str, id: &str) -> Vec<u8> {
    build_message(
        FROM,
        &[to.to_owned()],
        "[OK] demo run #1 - 3 tables loaded",
        "plain body",
        "<p>html body</p>",
        &[],
        id,
    )
    .expect("build a message")
}

fn assert_no_password(error: &SendError) {
    assert!(
        !error.message.contains(PASSWORD),
        "the password leaked: {}",
        error.message
    );
    assert!(!format!("{error:?}").contains(PASSWORD));
}

#[tokio::test]
async fn plain_send_arrives_with_recipients_subject_message_id_both_parts_and_attachment() {
    let id = unique_id("plain");
    let to = vec![
        "Data Team <data@district.test>".to_owned(),
        "ops@district.test".to_owned(),
    ];
    let csv = b"file,line,category,message\nstudents.csv,12,format,bad date\n".to_vec();
    let raw = build_message(
        FROM,
        &to,
        "[FAILED] ises-load run #42 - 1 error",
        "Run #42 failed.\nTable | Rows | Seconds\n",
        "<html><body><p>Run <b>#42</b> failed.</p></body></html>",
        &[("errors.csv".to_owned(), "text/csv".to_owned(), csv)],
        &id,
    )
    .expect("build the message");
    let mailer = Mailer::new(&plain_url(), None, None, TIMEOUT, None).expect("a plain mailer");

    let reply = mailer.send_raw(FROM, &to, &raw).await.expect("sent");

    assert!(reply.starts_with("250"), "server reply: {reply}");
    let maildir = PathBuf::from(var("FERRY_TEST_SMTP_MAILDIR"));
    let message = the_message(&maildir, &id);
    assert!(message.contains(&format!("Message-ID: {id}")), "{message}");
    assert!(
        message.contains("Subject: [FAILED] ises-load run #42 - 1 error"),
        "{message}"
    );
    assert!(
        message.contains("To: \"Data Team\" <data@district.test>, ops@district.test"),
        "{message}"
    );
    assert!(
        message.contains("From: Ferry <ferry@district.test>"),
        "{message}"
    );
    assert!(
        message.contains("X-MailFrom: ferry@district.test"),
        "{message}"
    );
    assert!(
        message.contains("X-RcptTo: data@district.test, ops@district.test"),
        "{message}"
    );
    assert!(message.contains("multipart/mixed"), "{message}");
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("Content-Type: text/plain"), "{message}");
    assert!(message.contains("Run #42 failed."), "{message}");
    assert!(message.contains("Content-Type: text/html"), "{message}");
    assert!(message.contains("<b>#42</b>"), "{message}");
    assert!(
        message.contains("Content-Disposition: attachment; filename=\"errors.csv\""),
        "{message}"
    );
    assert!(message.contains("Content-Type: text/csv"), "{message}");
    assert!(
        message.contains("students.csv,12,format,bad date"),
        "{message}"
    );
}

#[tokio::test]
async fn the_message_bytes_are_sent_unchanged_so_a_resend_keeps_the_message_id() {
    let id = unique_id("resend");
    let raw = simple("resend@district.test", &id);
    let mailer = Mailer::new(&plain_url(), None, None, TIMEOUT, None).expect("a plain mailer");
    let maildir = PathBuf::from(var("FERRY_TEST_SMTP_MAILDIR"));

    mailer
        .send_raw(FROM, &["resend@district.test".to_owned()], &raw)
        .await
        .expect("first send");
    mailer
        .send_raw(FROM, &["resend@district.test".to_owned()], &raw)
        .await
        .expect("second send");

    let copies = kept(&maildir, &id);
    assert_eq!(
        copies.len(),
        2,
        "both sends arrive, with the same Message-ID"
    );
    let body = |text: &str| text.split_once("\n\n").map(|(_, b)| b.to_owned());
    assert_eq!(body(&copies[0]), body(&copies[1]));
}

#[tokio::test]
async fn starttls_verified_against_the_test_ca_arrives() {
    let id = unique_id("starttls");
    let to = vec!["secure@district.test".to_owned()];
    let mailer =
        Mailer::new(&starttls_url(), None, None, TIMEOUT, Some(&ca())).expect("a STARTTLS mailer");

    let reply = mailer
        .send_raw(FROM, &to, &simple(&to[0], &id))
        .await
        .expect("sent over STARTTLS");

    assert!(reply.starts_with("250"), "server reply: {reply}");
    let maildir = PathBuf::from(var("FERRY_TEST_SMTPS_MAILDIR"));
    let message = the_message(&maildir, &id);
    assert!(
        message.contains("X-RcptTo: secure@district.test"),
        "{message}"
    );
}

#[tokio::test]
async fn starttls_against_webpki_roots_only_fails_as_a_transient_tls_error() {
    // The test CA is not a public root: the certificate check must fail. It is not the server's
    // answer, so it is not permanent; the outbox keeps retrying and shows the error meanwhile.
    let id = unique_id("untrusted");
    let to = vec!["untrusted@district.test".to_owned()];
    let mailer = Mailer::new(&starttls_url(), None, None, TIMEOUT, None).expect("a mailer");

    let error = mailer
        .send_raw(FROM, &to, &simple(&to[0], &id))
        .await
        .expect_err("an unknown issuer is refused");

    assert!(!error.permanent, "{error:?}");
    assert!(
        error
            .message
            .contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        error.message
    );
    let maildir = PathBuf::from(var("FERRY_TEST_SMTPS_MAILDIR"));
    assert!(kept(&maildir, &id).is_empty(), "nothing was delivered");
}

#[tokio::test]
async fn plain_send_to_a_server_requiring_starttls_is_refused_permanently() {
    let id = unique_id("nostarttls");
    let to = vec!["plain@district.test".to_owned()];
    let url = format!("smtp://{}:{}", host(), port("FERRY_TEST_SMTPS_PORT"));
    let mailer = Mailer::new(&url, None, None, TIMEOUT, None).expect("a plain mailer");

    let error = mailer
        .send_raw(FROM, &to, &simple(&to[0], &id))
        .await
        .expect_err("the server wants STARTTLS first");

    assert!(error.permanent, "{error:?}");
    assert!(error.message.contains("STARTTLS"), "{}", error.message);
}

#[tokio::test]
async fn a_closed_port_is_a_transient_error_without_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = listener.local_addr().expect("address").port();
    drop(listener);
    let url = format!("smtp://127.0.0.1:{closed}");
    let mailer = Mailer::new(
        &url,
        Some("ferry".to_owned()),
        Some(PASSWORD.to_owned()),
        TIMEOUT,
        None,
    )
    .expect("a mailer");
    assert!(!format!("{mailer:?}").contains(PASSWORD));

    let error = mailer
        .send_raw(
            FROM,
            &["x@district.test".to_owned()],
            &simple("x@district.test", &unique_id("closed")),
        )
        .await
        .expect_err("nobody listens");

    assert!(!error.permanent, "{error:?}");
    assert!(
        error.message.contains(&format!("127.0.0.1:{closed}")),
        "{}",
        error.message
    );
    assert_no_password(&error);
}

#[tokio::test]
async fn a_rejected_recipient_is_a_permanent_error_with_the_servers_answer() {
    let id = unique_id("rejected");
    let to = vec!["nobody@reject.invalid".to_owned()];
    let mailer = Mailer::new(&plain_url(), None, None, TIMEOUT, None).expect("a mailer");

    let error = mailer
        .send_raw(FROM, &to, &simple(&to[0], &id))
        .await
        .expect_err("the server refuses the recipient");

    assert!(error.permanent, "{error:?}");
    assert!(error.message.contains("550"), "{}", error.message);
    assert!(
        error
            .message
            .contains("<nobody@reject.invalid>: recipient rejected by the Ferry test server"),
        "{}",
        error.message
    );
    let maildir = PathBuf::from(var("FERRY_TEST_SMTP_MAILDIR"));
    assert!(kept(&maildir, &id).is_empty(), "nothing was delivered");
}

#[tokio::test]
async fn a_deferred_recipient_is_a_transient_error_with_the_servers_answer() {
    let to = vec!["later@defer.invalid".to_owned()];
    let mailer = Mailer::new(&plain_url(), None, None, TIMEOUT, None).expect("a mailer");

    let error = mailer
        .send_raw(FROM, &to, &simple(&to[0], &unique_id("deferred")))
        .await
        .expect_err("the server defers the recipient");

    assert!(!error.permanent, "{error:?}");
    assert!(error.message.contains("451"), "{}", error.message);
    assert!(
        error.message.contains("try again later"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn no_error_carries_the_password() {
    // The plain server offers no AUTH, so a mailer with credentials fails to log in.
    let to = vec!["auth@district.test".to_owned()];
    let with_login = |url: &str, ca_file: Option<&Path>| {
        Mailer::new(
            url,
            Some("ferry".to_owned()),
            Some(PASSWORD.to_owned()),
            TIMEOUT,
            ca_file,
        )
        .expect("a mailer")
    };
    let no_auth = with_login(&plain_url(), None)
        .send_raw(FROM, &to, &simple(&to[0], &unique_id("auth")))
        .await
        .expect_err("no AUTH offered");
    assert_no_password(&no_auth);
    let ca_path = ca();
    let rejected = with_login(&starttls_url(), Some(&ca_path))
        .send_raw(
            FROM,
            &["x@reject.invalid".to_owned()],
            &simple("x@reject.invalid", &unique_id("auth-reject")),
        )
        .await
        .expect_err("refused");
    assert_no_password(&rejected);
    let bad_url = Mailer::new(
        &format!("smtp://ferry:{PASSWORD}@127.0.0.1:25"),
        None,
        None,
        TIMEOUT,
        None,
    )
    .expect_err("credentials in the URL are refused");
    assert_no_password(&bad_url);
}

#[test]
fn an_unreadable_ca_file_is_a_permanent_setup_error() {
    let error = Mailer::new(
        "smtp://127.0.0.1:25?tls=required",
        None,
        None,
        TIMEOUT,
        Some(Path::new("/nonexistent/ca.pem")),
    )
    .expect_err("no CA file");
    assert!(error.permanent);
    assert!(
        error.message.contains("/nonexistent/ca.pem"),
        "{}",
        error.message
    );
}
