//! `ferry notices list | show | resend` and the notices of `ferry show`, against a store seeded
//! through the library (no mail server involved; tests/e2e/notices.rs covers delivery).

use chrono::{DateTime, TimeDelta, Utc};
use ferry::store::Store;
use ferry::store::model::{
    Claim, Execution, LeaseHolder, NewExecution, NewNotice, Notice, Status, Trigger, WhenBusy,
};
use ferry_tests::{Backend, Sandbox};
use serde_json::Value;
use std::time::Duration;

const JOBS: &str = r#"
[jobs.peer]
plugin = "example"

[jobs.roster]
plugin = "example"
"#;

const RECIPIENTS: [&str; 2] = ["ops@example.org", "dba@example.org"];

/// Runs `f` with the sandbox's store open, on a runtime of its own; the store is closed after.
fn with_store<T>(sb: &Sandbox, f: impl AsyncFnOnce(&Store) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Store::open(sb.database()).await.expect("open the store");
        let out = f(&store).await;
        store.close().await;
        out
    })
}

/// A small RFC 5322 message, as the renderer would store it.
fn raw_message(job: &str, mid: &str, subject: &str) -> String {
    format!(
        "From: Ferry <ferry@example.org>\r\nTo: {}\r\nSubject: {subject}\r\n\
         Message-ID: <{mid}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         \r\nRun of {job} ended.\r\n  Table  Rows\r\n  peers     12\r\n",
        RECIPIENTS.join(", ")
    )
}

/// Claims a manual run of `job` at `now` and ends it with `status`, storing a notice when
/// `subject` is given.
async fn finished_run(
    store: &Store,
    job: &str,
    status: Status,
    subject: Option<&str>,
    now: DateTime<Utc>,
) -> (Execution, Option<Notice>) {
    let new = NewExecution {
        job: job.to_owned(),
        trigger: Trigger::Manual,
        requested_by: "tester".to_owned(),
        host: "test-host".to_owned(),
        scheduled_for: None,
        attempt: 1,
        retry_of: None,
        not_before: None,
        params: "{}".to_owned(),
        plugin: "example".to_owned(),
    };
    let lease = LeaseHolder {
        holder: "test-host:1".to_owned(),
        ttl: Duration::from_secs(30),
    };
    let run = match store
        .claim(&new, WhenBusy::Refuse, &lease, now)
        .await
        .expect("claim")
    {
        Claim::Started(run) => run,
        other => panic!("expected a started run, got {other:?}"),
    };
    let notice = subject.map(|subject| {
        let mid = format!("run-{}.{job}@ferry.test", run.id);
        NewNotice {
            job: job.to_owned(),
            subject: subject.to_owned(),
            recipients: RECIPIENTS.iter().map(|&r| r.to_owned()).collect(),
            raw: raw_message(job, &mid, subject),
            message_id: mid,
        }
    });
    let error = (status != Status::Succeeded).then_some("peers.csv was empty");
    store
        .finish_with_notice(run.id, status, error, now, notice.as_ref())
        .await
        .expect("finish with notice")
}

/// Two runs with notices: #1 `peer` failed, its notice sent on the second try; #2 `roster`
/// succeeded, its notice refused for good.
fn seed_two(sb: &Sandbox) -> (Notice, Notice) {
    with_store(sb, async |store| {
        let now = ferry::clock::now();
        let (_, peer) = finished_run(
            store,
            "peer",
            Status::Failed,
            Some("[FAILED] peer: peers.csv was empty"),
            now,
        )
        .await;
        let peer = peer.expect("peer notice");
        store
            .record_attempt(
                peer.id,
                false,
                "421 4.7.0 Try again later",
                false,
                Some(now + TimeDelta::seconds(30)),
                now,
            )
            .await
            .expect("transient failure");
        let peer = store
            .record_attempt(
                peer.id,
                true,
                "250 2.0.0 Ok: queued as 4Xk2",
                false,
                None,
                now + TimeDelta::seconds(30),
            )
            .await
            .expect("success");
        let (_, roster) = finished_run(
            store,
            "roster",
            Status::Succeeded,
            Some("[OK] roster"),
            now + TimeDelta::seconds(60),
        )
        .await;
        let roster = store
            .record_attempt(
                roster.expect("roster notice").id,
                false,
                "550 5.1.1 <dba@example.org>: mailbox unavailable",
                true,
                None,
                now + TimeDelta::seconds(61),
            )
            .await
            .expect("permanent failure");
        (peer, roster)
    })
}

/// The `Records: N  Pages: P` line of `ferry notices list ARGS`.
fn list_header(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["notices", "list"];
    all.extend_from_slice(args);
    let out = sb.ferry(&all);
    out.assert_code(0);
    out.stdout().lines().next().unwrap_or("").to_owned()
}

fn list_json(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["notices", "list", "--json"];
    all.extend_from_slice(args);
    let out = sb.ferry(&all);
    out.assert_code(0);
    out.json()
}

fn list_show_and_resend(backend: Backend) {
    let sb = Sandbox::new(backend);
    sb.config(JOBS);
    let (peer, roster) = seed_two(&sb);
    assert_eq!((peer.id, roster.id), (1, 2));
    assert_eq!(peer.delivery, "sent");
    assert_eq!(roster.delivery, "failed");

    // The list: header, then one row per notice, newest first.
    let list = sb.ferry(&["notices", "list"]);
    list.assert_code(0);
    let text = list.stdout();
    assert_eq!(text.lines().next(), Some("Records: 2  Pages: 1"), "{text}");
    for needle in [
        "[FAILED] peer: peers.csv was empty",
        "[OK] roster",
        "ops@example.org, dba@example.org",
        "succeeded",
        "sent",
        "CST",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    assert!(
        text.find("[OK] roster") < text.find("[FAILED] peer"),
        "newest first:\n{text}"
    );

    // Filters narrow the count.
    assert_eq!(list_header(&sb, &["--job", "peer"]), "Records: 1  Pages: 1");
    assert_eq!(
        list_header(&sb, &["--delivery", "failed"]),
        "Records: 1  Pages: 1"
    );
    assert_eq!(
        list_header(&sb, &["--status", "failed"]),
        "Records: 1  Pages: 1"
    );
    let none = sb.ferry(&["notices", "list", "--status", "timed_out"]);
    none.assert_code(0);
    assert_eq!(none.stdout(), "Records: 0  Pages: 1\nNo notices.\n");
    let failed = list_json(&sb, &["--delivery", "failed"]);
    assert_eq!(failed["records"], 1);
    assert_eq!(failed["notices"][0]["job"], "roster");
    let by_status = list_json(&sb, &["--status", "failed", "--job", "peer"]);
    assert_eq!(by_status["notices"][0]["id"], peer.id);

    // A status clap does not know is refused, with the choices listed.
    let bad = sb.ferry(&["notices", "list", "--status", "exploded"]);
    bad.assert_code(2);
    assert!(
        bad.stderr().contains("timed_out") && bad.stderr().contains("abandoned"),
        "{}",
        bad.stderr()
    );
    sb.ferry(&["notices", "list", "--delivery", "lost"])
        .assert_code(2);

    // The JSON row.
    let all = list_json(&sb, &[]);
    assert_eq!(all["records"], 2);
    assert_eq!(all["pages"], 1);
    assert_eq!(all["page"], 1);
    let row = &all["notices"][1];
    assert_eq!(row["id"], peer.id);
    assert_eq!(row["run"], peer.execution_id);
    assert_eq!(row["job"], "peer");
    assert_eq!(row["status"], "failed");
    assert_eq!(row["delivery"], "sent");
    assert_eq!(row["attempts"], 2);
    assert_eq!(row["recipients"][1], "dba@example.org");
    assert_eq!(row["message_id"], peer.message_id);
    assert_eq!(row["last_error"], "421 4.7.0 Try again later");
    assert!(row["next_attempt_at"].is_null());
    assert!(
        row["sent_at"]
            .as_str()
            .is_some_and(|t| t.ends_with("-06:00") || t.ends_with("-05:00")),
        "{row}"
    );

    // `show`: the message byte for byte, then both attempts.
    let show = sb.ferry(&["notices", "show", &peer.id.to_string()]);
    show.assert_code(0);
    let text = show.stdout();
    let message = format!(
        "--- message as sent ---\n{}--- delivery attempts ---",
        peer.raw
    );
    assert!(text.contains(&message), "raw message not verbatim:\n{text}");
    assert!(text.contains(&peer.message_id), "{text}");
    let (_, attempts) = text
        .split_once("--- delivery attempts ---")
        .expect("an attempts section");
    let attempt = |response: &str| {
        attempts
            .lines()
            .find(|l| l.contains(response))
            .unwrap_or_else(|| panic!("no attempt answered {response:?}:\n{text}"))
            .to_owned()
    };
    assert!(attempt("421 4.7.0 Try again later").contains(" failed "));
    assert!(attempt("250 2.0.0 Ok: queued as 4Xk2").contains(" ok "));
    let show = sb.ferry(&["notices", "show", &peer.id.to_string(), "--json"]);
    show.assert_code(0);
    let show = show.json();
    assert_eq!(show["raw"], peer.raw.as_str());
    assert_eq!(show["status"], "failed");
    let log = show["attempts_log"].as_array().expect("attempts_log");
    assert_eq!(log.len(), 2, "{show}");
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["ok"], false);
    assert_eq!(log[0]["response"], "421 4.7.0 Try again later");
    assert_eq!(log[1]["ok"], true);

    // `resend` puts the refused notice back in the outbox, same message and Message-ID.
    let resend = sb.ferry(&["notices", "resend", &roster.id.to_string()]);
    resend.assert_code(0);
    assert_eq!(
        resend.stdout(),
        "Notice #2 queued for delivery to ops@example.org, dba@example.org; \
         ferry serve delivers it.\n"
    );
    let pending = list_json(&sb, &["--delivery", "pending"]);
    assert_eq!(pending["records"], 1, "{pending}");
    let row = &pending["notices"][0];
    assert_eq!(row["id"], roster.id);
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["message_id"], roster.message_id);
    assert!(row["next_attempt_at"].is_string(), "{row}");
    assert_eq!(
        list_header(&sb, &["--delivery", "failed"]),
        "Records: 0  Pages: 1"
    );
    let resent = sb.ferry(&["notices", "resend", &peer.id.to_string(), "--json"]);
    resent.assert_code(0);
    assert_eq!(resent.json()["delivery"], "pending");

    // Unknown ids.
    for command in ["show", "resend"] {
        let unknown = sb.ferry(&["notices", command, "999"]);
        unknown.assert_code(2);
        assert!(
            unknown.stderr().contains("no notice #999"),
            "{}",
            unknown.stderr()
        );
    }

    // `ferry show RUN` lists the run's notice.
    let run = sb.show(peer.execution_id);
    let notices = run["notices"].as_array().expect("notices");
    assert_eq!(notices.len(), 1, "{run}");
    assert_eq!(notices[0]["id"], peer.id);
    assert_eq!(notices[0]["delivery"], "pending");
    assert_eq!(notices[0]["attempts"], 2);
    assert_eq!(notices[0]["subject"], peer.subject.as_str());
    assert_eq!(notices[0]["recipients"][0], "ops@example.org");
    assert!(notices[0]["created_at"].is_string());
    let human = sb.ferry(&["show", &roster.execution_id.to_string()]);
    human.assert_code(0);
    assert!(
        human
            .stdout()
            .contains("#2  pending  to ops@example.org, dba@example.org  [OK] roster"),
        "{}",
        human.stdout()
    );
}

#[test]
fn notices_list_show_and_resend_on_sqlite() {
    list_show_and_resend(Backend::Sqlite);
}

#[test]
fn notices_list_show_and_resend_on_postgres() {
    list_show_and_resend(Backend::Postgres);
}

#[test]
fn notices_list_pages_by_25() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    with_store(&sb, async |store| {
        let start = ferry::clock::now();
        for i in 1..=30 {
            let subject = format!("[OK] bulk run {i}");
            finished_run(
                store,
                "peer",
                Status::Succeeded,
                Some(&subject),
                start + TimeDelta::seconds(i),
            )
            .await;
        }
    });
    assert_eq!(list_header(&sb, &[]), "Records: 30  Pages: 2");
    let second = sb.ferry(&["notices", "list", "--page", "2"]);
    second.assert_code(0);
    let text = second.stdout();
    assert_eq!(text.lines().next(), Some("Records: 30  Pages: 2"), "{text}");
    let rows = text.lines().filter(|l| l.contains("[OK] bulk run")).count();
    assert_eq!(rows, 5, "{text}");
    // Newest first: page 2 holds the five oldest.
    assert!(text.contains("[OK] bulk run 5 ") && !text.contains("[OK] bulk run 6 "));
    let page = list_json(&sb, &["--page", "2"]);
    assert_eq!(page["page"], 2);
    assert_eq!(page["pages"], 2);
    let ids: Vec<i64> = page["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|n| n["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![5, 4, 3, 2, 1]);
    let beyond = sb.ferry(&["notices", "list", "--page", "3"]);
    beyond.assert_code(0);
    assert_eq!(
        beyond.stdout(),
        "Records: 30  Pages: 2\nNo notices on page 3.\n"
    );
    sb.ferry(&["notices", "list", "--page", "0"]).assert_code(2);
}

#[test]
fn an_empty_outbox_and_a_run_without_notice() {
    let sb = Sandbox::sqlite();
    sb.config(JOBS);
    let empty = sb.ferry(&["notices", "list"]);
    empty.assert_code(0);
    assert_eq!(empty.stdout(), "Records: 0  Pages: 1\nNo notices.\n");
    let (run, _) = with_store(&sb, async |store| {
        finished_run(store, "peer", Status::Succeeded, None, ferry::clock::now()).await
    });
    assert!(
        sb.show(run.id)["notices"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let human = sb.ferry(&["show", &run.id.to_string()]);
    human.assert_code(0);
    assert!(
        human.stdout().contains("Notices:\n  No notice recorded."),
        "{}",
        human.stdout()
    );
}
