//! Result notices delivered to real SMTP servers: recipients by outcome, subject, the table and
//! attachments, STARTTLS, a server that is down and comes back (delivered exactly once), a
//! permanent refusal, and no secret in any notice.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests poll a Maildir and the CLI from plain threads, not a runtime"
)]

use ferry_tests::peers::{OwnSmtp, Smtp, free_port};
use ferry_tests::{Backend, Sandbox};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A secret the example job logs on purpose (`token is …`); it must never reach a notice.
const TOKEN: &str = "tok-9f8e7d6c5b4a-notice";

/// A string unique to this test run, for addresses in the shared Maildir.
fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// One leaf part of a message: content type, attachment file name, decoded text.
#[derive(Debug)]
struct Part {
    content_type: String,
    filename: Option<String>,
    body: String,
}

/// A received message, parsed and decoded.
#[derive(Debug)]
struct Mail {
    subject: String,
    message_id: String,
    /// The envelope recipients the server recorded (`X-RcptTo`).
    rcpt_to: String,
    parts: Vec<Part>,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let parsed = mailparse::parse_mail(raw.as_bytes()).expect("a parsable message");
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        let mut parts = Vec::new();
        collect(&parsed, &mut parts);
        Mail {
            subject: header("Subject"),
            message_id: header("Message-ID"),
            rcpt_to: header("X-RcptTo"),
            parts,
        }
    }

    fn text(&self) -> &str {
        self.parts
            .iter()
            .find(|p| p.content_type == "text/plain" && p.filename.is_none())
            .map(|p| p.body.as_str())
            .expect("a text/plain body")
    }

    fn html(&self) -> &str {
        self.parts
            .iter()
            .find(|p| p.content_type == "text/html" && p.filename.is_none())
            .map(|p| p.body.as_str())
            .expect("a text/html body")
    }

    fn attachment(&self, name: &str) -> &Part {
        self.parts
            .iter()
            .find(|p| p.filename.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no attachment {name}: {:?}", self.attachment_names()))
    }

    fn attachment_names(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| p.filename.clone())
            .collect()
    }

    /// Everything a reader could see, decoded.
    fn everything(&self) -> String {
        let mut all = format!("{}\n", self.subject);
        for p in &self.parts {
            all.push_str(&p.body);
            all.push('\n');
        }
        all
    }
}

fn collect(part: &mailparse::ParsedMail<'_>, out: &mut Vec<Part>) {
    if part.subparts.is_empty() {
        let filename = part
            .get_content_disposition()
            .params
            .get("filename")
            .cloned();
        out.push(Part {
            content_type: part.ctype.mimetype.clone(),
            filename,
            body: part.get_body().expect("a decodable body"),
        });
    }
    for sub in &part.subparts {
        collect(sub, out);
    }
}

/// Waits until `server` holds exactly `count` messages containing `needle`.
fn wait_for_mail(server: &Smtp, needle: &str, count: usize) -> Vec<Mail> {
    let start = Instant::now();
    loop {
        let found = server.messages_with(needle);
        if found.len() >= count {
            assert_eq!(
                found.len(),
                count,
                "more messages than expected for {needle}"
            );
            return found.iter().map(|m| Mail::parse(m)).collect();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no message for {needle} after 20 s ({} found)",
            found.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `ferry notices list --json` with extra arguments.
fn notices(sb: &Sandbox, extra: &[&str]) -> Value {
    let mut args = vec!["notices", "list", "--json"];
    args.extend_from_slice(extra);
    let out = sb.ferry(&args);
    out.assert_code(0);
    out.json()
}

fn mail_config(server: &Smtp, extra: &str, jobs: &str) -> String {
    let ca = if server.starttls {
        format!("ca_file = \"{}\"\n", server.ca.display())
    } else {
        String::new()
    };
    format!(
        "[mail]\nsmtp_url = \"{}\"\nfrom = \"Ferry <ferry@district.example>\"\ntimeout = \"10s\"\n{ca}{extra}\n{jobs}",
        server.url()
    )
}

/// One job, `imports`, of the example plugin, logging a secret token on purpose.
fn imports_job(notify: &str) -> String {
    format!(
        r#"
[jobs.imports]
plugin = "example"
description = "Nightly student import"
schedule = "0 2 * * *"
notify = {notify}
[jobs.imports.settings]
rows = 3
token_env = "FERRY_TEST_NOTICE_TOKEN"
"#
    )
}

fn run_imports(sb: &Sandbox, args: &[&str]) -> ferry_tests::Run {
    let mut all = vec!["run", "imports"];
    all.extend_from_slice(args);
    let output = sb
        .command(&all)
        .env("FERRY_TEST_NOTICE_TOKEN", TOKEN)
        .output()
        .expect("run ferry");
    ferry_tests::Run { output }
}

fn notices_go_to_the_right_people_with_tables_and_attachments(backend: Backend) {
    let server = Smtp::plain();
    let tag = unique("notice");
    let (ops, oncall, lead, fans) = (
        format!("ops-{tag}@district.example"),
        format!("oncall-{tag}@district.example"),
        format!("lead-{tag}@district.example"),
        format!("fans-{tag}@district.example"),
    );
    let sb = Sandbox::new(backend);
    sb.config(&mail_config(
        &server,
        "",
        &imports_job(&format!(
            "{{ always = [\"{ops}\"], on_failure = [\"{oncall}\"], on_success = [\"{fans}\"], on_recovery = [\"{lead}\"] }}"
        )),
    ));

    // 1. Success: `always` and `on_success`.
    let first = run_imports(&sb, &[]);
    first.assert_code(0);
    assert!(
        first.stderr().contains("Notice #1 sent to"),
        "{}",
        first.stderr()
    );
    let ok = wait_for_mail(&server, &fans, 1).remove(0);
    assert_eq!(
        ok.subject, "[OK] imports run #1 — succeeded",
        "{}",
        ok.subject
    );
    assert!(ok.rcpt_to.contains(&ops) && ok.rcpt_to.contains(&fans));
    assert!(!ok.rcpt_to.contains(&oncall) && !ok.rcpt_to.contains(&lead));
    let text = ok.text();
    for expected in [
        "Nightly student import",
        "Run          #1",
        "manual by ",
        "Table | Rows | Seconds",
        "greetings | 3 |",
        "Next run",
        "CST",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    assert!(ok.html().contains("<td>greetings</td><td>3</td>"));
    let names = ok.attachment_names();
    assert!(
        names.iter().any(|n| n.ends_with(".csv")) && names.contains(&"log-tail.txt".to_owned()),
        "{names:?}"
    );
    let tail = &ok.attachment("log-tail.txt").body;
    assert!(tail.contains("this is run number 1"), "{tail}");

    // 2. Failure: `always` and `on_failure`, with the error grouped and errors.csv attached.
    let second = run_imports(&sb, &["--set", "fail=true"]);
    second.assert_code(1);
    let failed = wait_for_mail(&server, &oncall, 1).remove(0);
    assert_eq!(
        failed.subject,
        "[FAILED] imports run #2 — failed on purpose (fail = true)"
    );
    assert!(failed.rcpt_to.contains(&ops) && !failed.rcpt_to.contains(&fans));
    assert!(
        failed.text().contains("Errors by category"),
        "{}",
        failed.text()
    );
    let errors = &failed.attachment("errors.csv").body;
    assert!(
        errors.starts_with("severity,category,file,line,field,value,message,time"),
        "{errors}"
    );
    assert!(errors.contains("failed on purpose"), "{errors}");

    // 3. Recovery: the success after a failure also goes to `on_recovery`.
    run_imports(&sb, &[]).assert_code(0);
    let recovered = wait_for_mail(&server, &lead, 1).remove(0);
    assert_eq!(recovered.subject, "[OK] imports run #3 — succeeded");

    // 4. Input problems the job reported: grouped by category, the first listed with file,
    //    line, field and value, all of them in errors.csv.
    run_imports(&sb, &["--set", "problems=30"]).assert_code(0);
    let warned = wait_for_mail(&server, &fans, 3)
        .into_iter()
        .find(|m| m.subject.starts_with("[WARNING] imports run #4"))
        .expect("the warning notice");
    let text = warned.text();
    assert!(text.contains("   15  Invalid value (error)"), "{text}");
    assert!(text.contains("   15  Unknown school (warning)"), "{text}");
    assert!(
        text.contains("- error Invalid value: STUDENTS.txt:2 BirthDate="),
        "{text}"
    );
    let csv = &warned.attachment("errors.csv").body;
    assert_eq!(
        csv.lines().filter(|l| l.contains("STUDENTS.txt")).count(),
        30,
        "{csv}"
    );

    // No secret anywhere: not in any message (decoded), not in what `notices show` prints.
    for mail in [&ok, &failed, &recovered, &warned] {
        assert!(
            !mail.everything().contains(TOKEN),
            "secret in {}",
            mail.subject
        );
        assert!(
            mail.message_id.contains("ferry.run-"),
            "{}",
            mail.message_id
        );
    }
    let listed = notices(&sb, &[]);
    assert_eq!(listed["records"], 4, "{listed}");
    for notice in listed["notices"].as_array().expect("notices") {
        assert_eq!(notice["delivery"], "sent", "{notice}");
        let shown = sb.ferry(&["notices", "show", &notice["id"].to_string()]);
        shown.assert_code(0);
        assert!(!shown.stdout().contains(TOKEN));
        assert!(shown.stdout().contains("250"), "{}", shown.stdout());
    }
    let show = sb.show(2);
    assert_eq!(show["notices"][0]["delivery"], "sent", "{show}");
}

#[test]
fn notices_go_to_the_right_people_with_tables_and_attachments_sqlite() {
    notices_go_to_the_right_people_with_tables_and_attachments(Backend::Sqlite);
}

#[test]
fn notices_go_to_the_right_people_with_tables_and_attachments_postgres() {
    notices_go_to_the_right_people_with_tables_and_attachments(Backend::Postgres);
}

#[test]
fn notices_are_sent_over_starttls() {
    let server = Smtp::starttls();
    let to = format!("{}@district.example", unique("tls"));
    let sb = Sandbox::sqlite();
    sb.config(&mail_config(
        &server,
        "",
        &imports_job(&format!("{{ always = [\"{to}\"] }}")),
    ));
    run_imports(&sb, &[]).assert_code(0);
    let mail = wait_for_mail(&server, &to, 1).remove(0);
    assert_eq!(mail.subject, "[OK] imports run #1 — succeeded");
    assert_eq!(notices(&sb, &["--delivery", "sent"])["records"], 1);

    // `resend` sends the same stored message again at once: same Message-ID.
    let resend = sb.ferry(&["notices", "resend", "1"]);
    resend.assert_code(0);
    assert!(
        resend
            .stdout()
            .starts_with(&format!("Notice #1 sent to {to} (250")),
        "{}",
        resend.stdout()
    );
    let both = wait_for_mail(&server, &to, 2);
    assert_eq!(both[0].message_id, both[1].message_id);
    let shown = sb.ferry(&["notices", "show", "1", "--json"]).json();
    assert_eq!(shown["attempts"], 2, "{shown}");
}

#[test]
fn a_notice_waits_for_a_mail_server_that_is_down_and_is_delivered_once() {
    let port = free_port();
    let down = Smtp {
        host: "127.0.0.1".into(),
        port,
        starttls: false,
        maildir: std::env::temp_dir(),
        ca: std::env::temp_dir(),
    };
    let sb = Sandbox::sqlite();
    sb.config(&mail_config(
        &down,
        "retries = { max = 50, backoff = \"1s\", cap = \"1s\" }",
        &imports_job("{ always = [\"ops@district.example\"] }"),
    ));
    // The run ends normally; its notice could not go out and stays pending.
    let run = run_imports(&sb, &[]);
    run.assert_code(0);
    assert!(run.stderr().contains("not sent yet"), "{}", run.stderr());
    let pending = notices(&sb, &["--delivery", "pending"]);
    assert_eq!(pending["records"], 1, "{pending}");
    assert_eq!(pending["notices"][0]["attempts"], 1);

    // The scheduler keeps trying while the server is down…
    let mut serve = sb.spawn(&["serve"], "serve");
    let start = Instant::now();
    while notices(&sb, &[])["notices"][0]["attempts"].as_i64() < Some(3) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no retries: {}",
            sb.background_output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(notices(&sb, &[])["notices"][0]["delivery"], "pending");

    // …and delivers it once the server is up: exactly one message.
    let server = OwnSmtp::start(port);
    let start = Instant::now();
    while notices(&sb, &[])["notices"][0]["delivery"] != "sent" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not delivered: {}",
            sb.background_output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    ferry_tests::signal(&serve, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(
        ferry_tests::wait_exit(&mut serve, Duration::from_secs(30)),
        Some(0)
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "delivered more than once");
    assert_eq!(
        Mail::parse(&messages[0]).subject,
        "[OK] imports run #1 — succeeded"
    );
    let shown = sb.ferry(&["notices", "show", "1", "--json"]).json();
    let log = shown["attempts_log"].as_array().expect("attempts_log");
    assert!(log.len() >= 4, "{shown}");
    assert!(log.iter().rev().skip(1).all(|a| a["ok"] == false));
    assert_eq!(log.last().expect("an attempt")["ok"], true);
}

#[test]
fn a_permanent_refusal_marks_the_notice_failed_with_the_servers_answer() {
    let server = Smtp::plain();
    let sb = Sandbox::sqlite();
    let to = format!("{}@reject.invalid", unique("nobody"));
    sb.config(&mail_config(
        &server,
        "",
        &imports_job(&format!("{{ always = [\"{to}\"] }}")),
    ));
    let run = run_imports(&sb, &[]);
    // The job's status never depends on mail.
    run.assert_code(0);
    assert!(run.stderr().contains("failed"), "{}", run.stderr());
    assert_eq!(sb.history()[0]["status"], "succeeded");
    let failed = notices(&sb, &["--delivery", "failed"]);
    assert_eq!(failed["records"], 1, "{failed}");
    let error = failed["notices"][0]["last_error"].as_str().unwrap_or("");
    assert!(error.contains("550"), "{error}");
    let shown = sb.ferry(&["notices", "show", "1"]);
    shown.assert_code(0);
    assert!(shown.stdout().contains("550"), "{}", shown.stdout());
    assert!(shown.stdout().contains(&to));

    // A resend is tried at once and answered the same way.
    let resend = sb.ferry(&["notices", "resend", "1"]);
    resend.assert_code(0);
    assert!(
        resend.stdout().contains("failed") && resend.stdout().contains("550"),
        "{}",
        resend.stdout()
    );
    assert_eq!(
        notices(&sb, &["--delivery", "failed"])["notices"][0]["attempts"],
        2
    );
}
