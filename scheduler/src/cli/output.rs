//! Everything the CLI prints: aligned tables for people, one stable JSON shape per read command.
//!
//! The JSON shapes are documented in `docs/cli-json.md`; times are RFC 3339 with the offset of
//! the scheduler's zone. Table output shows local times with the zone's abbreviation.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::display;
use crate::notice::outbox::Delivery;
use crate::run::RunParams;
use crate::store::model::{
    Execution, FileRecord, LogLine, Notice, NoticeAttempt, ProblemCount, ProblemRecord, Status,
    TableStat, TransferRecord,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use comfy_table::{CellAlignment, Table, presets};
use serde_json::{Value, json};

/// Prints an error for a person, with its causes.
pub(crate) fn error(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

/// Prints a line on stderr (progress, notes).
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// Prints a line on stdout.
pub(crate) fn line(text: &str) {
    println!("{text}");
}

/// Prints a JSON value, pretty.
pub(crate) fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned())
    );
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_BORDERS_ONLY);
    table.set_header(header.iter().copied());
    table
}

fn right(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn time_json(t: Option<DateTime<Utc>>, tz: Tz) -> Value {
    t.map_or(Value::Null, |t| Value::String(display::rfc3339(t, tz)))
}

/// Seconds an execution took, once it has both ends.
pub(crate) fn duration_seconds(e: &Execution) -> Option<f64> {
    display::seconds_between(e.started_at, e.finished_at)
}

fn duration_text(e: &Execution) -> String {
    duration_seconds(e).map_or_else(
        || "-".to_owned(),
        |s| display::duration(std::time::Duration::from_secs_f64(s)),
    )
}

/// One execution in the documented JSON shape.
pub(crate) fn execution_json(e: &Execution, tz: Tz) -> Value {
    let params = RunParams::from_json(&e.params);
    json!({
        "id": e.id,
        "job": e.job,
        "status": e.status.as_str(),
        "trigger": e.trigger.as_str(),
        "requested_by": e.requested_by,
        "host": e.host,
        "scheduled_for": time_json(e.scheduled_for, tz),
        "queued_at": display::rfc3339(e.queued_at, tz),
        "started_at": time_json(e.started_at, tz),
        "entered_at": time_json(e.entered_at, tz),
        "finished_at": time_json(e.finished_at, tz),
        "duration_seconds": duration_seconds(e),
        "attempt": e.attempt,
        "retry_of": e.retry_of,
        "not_before": time_json(e.not_before, tz),
        "error": e.error,
        "params": params.set,
        "no_fetch": params.no_fetch,
        "plugin": e.plugin,
        "plugin_version": e.plugin_version,
    })
}

/// `ferry history`.
pub(crate) fn history(executions: &[Execution], tz: Tz, as_json: bool) {
    if as_json {
        json(&Value::Array(
            executions.iter().map(|e| execution_json(e, tz)).collect(),
        ));
        return;
    }
    if executions.is_empty() {
        line("No executions recorded.");
        return;
    }
    let mut t = table(&[
        "Run", "Job", "Status", "Trigger", "By", "Started", "Took", "Attempt", "Error",
    ]);
    for e in executions {
        t.add_row(vec![
            e.id.to_string(),
            e.job.clone(),
            e.status.to_string(),
            e.trigger.to_string(),
            e.requested_by.clone(),
            display::local_opt(e.started_at.or(e.scheduled_for), tz),
            duration_text(e),
            e.attempt.to_string(),
            e.error.as_deref().map(first_line).unwrap_or_default(),
        ]);
    }
    right(&mut t, &[0, 6, 7]);
    line(&t.to_string());
}

fn first_line(text: &str) -> String {
    const MAX: usize = 60;
    let first = text.lines().next().unwrap_or("");
    if first.chars().count() > MAX {
        let cut: String = first.chars().take(MAX - 1).collect();
        format!("{cut}…")
    } else {
        first.to_owned()
    }
}

/// Everything `ferry show` prints about one execution.
#[derive(Debug)]
pub(crate) struct Detail {
    pub(crate) execution: Execution,
    pub(crate) tables: Vec<TableStat>,
    /// Files moved to or from file servers, in the order they finished.
    pub(crate) transfers: Vec<TransferRecord>,
    pub(crate) files: Vec<FileRecord>,
    /// Warning and error lines of the log.
    pub(crate) problems: Vec<LogLine>,
    /// The result notices of the run, oldest first.
    pub(crate) notices: Vec<Notice>,
    /// The first input problems the job reported (file, line, field, value).
    pub(crate) reported: Vec<ProblemRecord>,
    /// How many problems of each severity and category the job reported.
    pub(crate) reported_counts: Vec<ProblemCount>,
}

/// One transfer in the documented JSON shape.
fn transfer_json(t: &TransferRecord, tz: Tz) -> Value {
    json!({
        "direction": t.direction,
        "connection": t.connection,
        "remote_path": t.remote_path,
        "local_path": t.local_path,
        "bytes": t.bytes,
        "seconds": t.seconds,
        "sha256": t.sha256,
        "recorded_at": display::rfc3339(t.recorded_at, tz),
    })
}

/// The "Files moved" table of `ferry show`.
fn transfers_table(transfers: &[TransferRecord]) -> Table {
    /// Hex digits of the checksum shown; `--json` has all of them.
    const SHA_SHOWN: usize = 12;
    let mut t = table(&[
        "Direction",
        "Connection",
        "Remote path",
        "Local path",
        "Bytes",
        "Seconds",
        "SHA-256",
    ]);
    for x in transfers {
        t.add_row(vec![
            x.direction.clone(),
            x.connection.clone(),
            x.remote_path.clone(),
            x.local_path.clone(),
            x.bytes.to_string(),
            format!("{:.2}", x.seconds),
            x.sha256.chars().take(SHA_SHOWN).collect(),
        ]);
    }
    right(&mut t, &[4, 5]);
    t
}

/// `ferry show`: header, the Table | Rows | Seconds view, files moved, files, errors.
pub(crate) fn show(detail: &Detail, tz: Tz, as_json: bool) {
    let e = &detail.execution;
    if as_json {
        let mut value = execution_json(e, tz);
        value["tables"] = json!(detail.tables);
        value["transfers"] = Value::Array(
            detail
                .transfers
                .iter()
                .map(|t| transfer_json(t, tz))
                .collect(),
        );
        value["files"] = Value::Array(
            detail
                .files
                .iter()
                .map(|f| {
                    json!({"path": f.path, "kind": f.kind,
                           "recorded_at": display::rfc3339(f.recorded_at, tz)})
                })
                .collect(),
        );
        value["notices"] = Value::Array(
            detail
                .notices
                .iter()
                .map(|n| {
                    json!({
                        "id": n.id,
                        "delivery": n.delivery,
                        "attempts": n.attempts,
                        "recipients": n.recipients,
                        "subject": n.subject,
                        "created_at": display::rfc3339(n.created_at, tz),
                        "sent_at": time_json(n.sent_at, tz),
                        "last_error": n.last_error,
                    })
                })
                .collect(),
        );
        value["problems"] = json!({
            "counts": detail.reported_counts,
            "first": detail.reported.iter().map(|p| {
                json!({"seq": p.seq, "at": display::rfc3339(p.at, tz), "severity": p.severity,
                       "category": p.category, "file": p.file, "line": p.line,
                       "field": p.field, "value": p.value, "message": p.message})
            }).collect::<Vec<_>>(),
        });
        json(&value);
        return;
    }
    let mut header = Table::new();
    header.load_style(presets::NOTHING);
    let params = RunParams::from_json(&e.params);
    let mut rows: Vec<(&str, String)> = vec![
        ("Run", format!("#{}", e.id)),
        ("Job", e.job.clone()),
        ("Status", e.status.to_string()),
        ("Trigger", e.trigger.to_string()),
        ("Requested by", e.requested_by.clone()),
        ("Host", e.host.clone()),
        ("Scheduled for", display::local_opt(e.scheduled_for, tz)),
        ("Started", display::local_opt(e.started_at, tz)),
        ("Finished", display::local_opt(e.finished_at, tz)),
        ("Took", duration_text(e)),
        ("Attempt", e.attempt.to_string()),
        (
            "Plugin",
            format!("{} {}", e.plugin, e.plugin_version.as_deref().unwrap_or(""))
                .trim_end()
                .to_owned(),
        ),
    ];
    if !params.set.is_empty() {
        let set: Vec<String> = params.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(("Parameters", set.join(" ")));
    }
    if params.no_fetch {
        rows.push(("Fetch", "skipped (--no-fetch)".to_owned()));
    }
    if let Some(retry_of) = e.retry_of {
        rows.push(("Retry of", format!("#{retry_of}")));
    }
    for (k, v) in rows {
        header.add_row(vec![format!("{k}:"), v]);
    }
    line(&header.to_string());
    line("");
    if detail.tables.is_empty() {
        line("No table statistics recorded.");
    } else {
        let mut t = table(&["Table", "Rows Imported", "Seconds Took", "Action"]);
        for s in &detail.tables {
            t.add_row(vec![
                s.table.clone(),
                s.rows.to_string(),
                format!("{:.2}", s.seconds),
                s.action.clone(),
            ]);
        }
        right(&mut t, &[1, 2]);
        line(&t.to_string());
    }
    if !detail.transfers.is_empty() {
        line("");
        line("Files moved:");
        line(&transfers_table(&detail.transfers).to_string());
    }
    if !detail.files.is_empty() {
        line("");
        line("Files:");
        for f in &detail.files {
            line(&format!("  {:<8} {}", f.kind, f.path));
        }
    }
    if e.error.is_some() || !detail.problems.is_empty() {
        line("");
        line(if e.status == Status::Warning {
            "Warnings:"
        } else {
            "Errors:"
        });
        if let Some(error) = &e.error {
            line(&format!("  {error}"));
        }
        for l in &detail.problems {
            line(&format!(
                "  {} {:<5} {}",
                display::local(l.ts, tz),
                l.level,
                l.message
            ));
        }
    }
    if !detail.reported_counts.is_empty() {
        line("");
        line("Problems reported by the job:");
        for c in &detail.reported_counts {
            line(&format!(
                "  {:>7}  {} ({})",
                c.count, c.category, c.severity
            ));
        }
        let total: i64 = detail.reported_counts.iter().map(|c| c.count).sum();
        line(&format!("First {} of {total}:", detail.reported.len()));
        for p in &detail.reported {
            line(&format!("  {}", crate::notice::render::problem_text(p)));
        }
    }
    line("");
    line("Notices:");
    if detail.notices.is_empty() {
        line("  No notice recorded.");
    }
    for n in &detail.notices {
        line(&format!(
            "  #{}  {}  to {}  {}",
            n.id,
            n.delivery,
            n.recipients.join(", "),
            n.subject
        ));
    }
}

/// Log lines, as `ferry logs` prints them.
pub(crate) fn logs(lines: &[LogLine], tz: Tz) {
    for l in lines {
        line(&log_line(l, tz));
    }
}

fn log_json(l: &LogLine, tz: Tz) -> Value {
    json!({"seq": l.seq, "ts": display::rfc3339(l.ts, tz), "level": l.level, "message": l.message})
}

/// `ferry logs --json`: one array.
pub(crate) fn logs_json(lines: &[LogLine], tz: Tz) {
    json(&Value::Array(
        lines.iter().map(|l| log_json(l, tz)).collect(),
    ));
}

/// `ferry logs --json --follow`: one compact JSON object per line, as lines arrive.
pub(crate) fn logs_json_lines(lines: &[LogLine], tz: Tz) {
    for l in lines {
        line(&log_json(l, tz).to_string());
    }
}

/// One log line: time, level, message.
pub(crate) fn log_line(l: &LogLine, tz: Tz) -> String {
    format!(
        "{} {:<5} {}",
        l.ts.with_timezone(&tz).format("%H:%M:%S%.3f"),
        l.level,
        l.message
    )
}

/// One row of `ferry jobs`.
#[derive(Debug)]
pub(crate) struct JobRow {
    pub(crate) name: String,
    pub(crate) plugin: String,
    pub(crate) enabled: bool,
    pub(crate) schedule: Option<String>,
    pub(crate) timezone: Tz,
    pub(crate) next_fire: Option<DateTime<Utc>>,
    pub(crate) last_status: Option<String>,
    pub(crate) running: Option<i64>,
}

/// `ferry jobs`.
pub(crate) fn jobs(rows: &[JobRow], as_json: bool) {
    if as_json {
        json(&Value::Array(
            rows.iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "plugin": r.plugin,
                        "enabled": r.enabled,
                        "schedule": r.schedule,
                        "timezone": r.timezone.name(),
                        "next_fire": time_json(r.next_fire, r.timezone),
                        "last_status": r.last_status,
                        "running": r.running,
                    })
                })
                .collect(),
        ));
        return;
    }
    if rows.is_empty() {
        line("No jobs configured.");
        return;
    }
    let mut t = table(&[
        "Job",
        "Enabled",
        "Schedule",
        "Zone",
        "Next fire",
        "Last status",
    ]);
    for r in rows {
        let last = match (r.running, &r.last_status) {
            (Some(id), _) => format!("running (#{id})"),
            (None, Some(s)) => s.clone(),
            (None, None) => "-".to_owned(),
        };
        t.add_row(vec![
            r.name.clone(),
            if r.enabled { "yes" } else { "no" }.to_owned(),
            r.schedule
                .clone()
                .unwrap_or_else(|| "(on demand)".to_owned()),
            r.timezone.name().to_owned(),
            if r.enabled {
                display::local_opt(r.next_fire, r.timezone)
            } else {
                "-".to_owned()
            },
            last,
        ]);
    }
    line(&t.to_string());
}

/// The summary `ferry run` prints when the run ends.
pub(crate) fn run_summary(detail: &Detail, tz: Tz) {
    line("");
    show(detail, tz, false);
}

/// A job as `ferry check --json` lists it.
#[derive(Debug)]
pub(crate) struct CheckedJob {
    pub(crate) name: String,
    pub(crate) plugin: String,
    pub(crate) enabled: bool,
    pub(crate) schedule: Option<String>,
    pub(crate) timezone: Tz,
    pub(crate) next_fires: Vec<DateTime<Utc>>,
}

/// `ferry check --json`: `{config, ok, errors: [...], jobs: [...]}`.
pub(crate) fn check_json<'a>(
    config: &std::path::Path,
    errors: impl Iterator<Item = &'a crate::config::Diagnostic>,
    jobs: &[CheckedJob],
) {
    let errors: Vec<Value> = errors
        .map(|d| {
            json!({"file": d.file, "line": d.line, "col": d.col, "key": d.key,
                   "message": d.message})
        })
        .collect();
    let jobs: Vec<Value> = jobs
        .iter()
        .map(|j| {
            json!({
                "name": j.name, "plugin": j.plugin, "enabled": j.enabled,
                "schedule": j.schedule, "timezone": j.timezone.name(),
                "next_fires": j.next_fires.iter()
                    .map(|t| display::rfc3339(*t, j.timezone)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json(&json!({"config": config, "ok": errors.is_empty(), "errors": errors, "jobs": jobs}));
}

/// One row of `ferry connections list`.
#[derive(Debug)]
pub(crate) struct ConnectionRow {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) target: String,
    pub(crate) jobs: Vec<String>,
}

/// `ferry connections list`.
pub(crate) fn connections(rows: &[ConnectionRow], as_json: bool) {
    if as_json {
        json(&Value::Array(
            rows.iter()
                .map(
                    |r| json!({"name": r.name, "kind": r.kind, "target": r.target, "jobs": r.jobs}),
                )
                .collect(),
        ));
        return;
    }
    if rows.is_empty() {
        line("No connections configured.");
        return;
    }
    let mut t = table(&["Connection", "Kind", "Target", "Used by"]);
    for r in rows {
        t.add_row(vec![
            r.name.clone(),
            r.kind.clone(),
            r.target.clone(),
            if r.jobs.is_empty() {
                "-".to_owned()
            } else {
                r.jobs.join(", ")
            },
        ]);
    }
    line(&t.to_string());
}

/// A notice with the status its run ended with, as the notice commands show it.
#[derive(Debug)]
pub(crate) struct NoticeRow {
    pub(crate) notice: Notice,
    /// The run's status (`None` only if the run could not be read back).
    pub(crate) status: Option<Status>,
}

/// One notice in the documented JSON shape of `ferry notices`.
fn notice_json(r: &NoticeRow, tz: Tz) -> Value {
    let n = &r.notice;
    json!({
        "id": n.id,
        "run": n.execution_id,
        "job": n.job,
        "status": r.status.map(Status::as_str),
        "created_at": display::rfc3339(n.created_at, tz),
        "delivery": n.delivery,
        "attempts": n.attempts,
        "recipients": n.recipients,
        "subject": n.subject,
        "message_id": n.message_id,
        "next_attempt_at": time_json(n.next_attempt_at, tz),
        "sent_at": time_json(n.sent_at, tz),
        "last_error": n.last_error,
    })
}

fn status_text(status: Option<Status>) -> String {
    status.map_or_else(|| "-".to_owned(), |s| s.to_string())
}

/// `ferry notices list`: `Records: N  Pages: P`, then the page's notices.
pub(crate) fn notices(
    rows: &[NoticeRow],
    total: i64,
    page: i64,
    page_size: i64,
    tz: Tz,
    as_json: bool,
) {
    let pages = if total > 0 && page_size > 0 {
        (total + page_size - 1) / page_size
    } else {
        1
    };
    if as_json {
        json(&json!({
            "records": total,
            "pages": pages,
            "page": page,
            "notices": rows.iter().map(|r| notice_json(r, tz)).collect::<Vec<_>>(),
        }));
        return;
    }
    line(&format!("Records: {total}  Pages: {pages}"));
    if rows.is_empty() {
        if total == 0 {
            line("No notices.");
        } else {
            line(&format!("No notices on page {page}."));
        }
        return;
    }
    let mut t = table(&[
        "ID",
        "Run",
        "Job",
        "Status",
        "Created",
        "Delivery",
        "Attempts",
        "Recipients",
        "Subject",
    ]);
    for r in rows {
        let n = &r.notice;
        t.add_row(vec![
            n.id.to_string(),
            n.execution_id.to_string(),
            n.job.clone(),
            status_text(r.status),
            display::local(n.created_at, tz),
            n.delivery.clone(),
            n.attempts.to_string(),
            n.recipients.join(", "),
            n.subject.clone(),
        ]);
    }
    right(&mut t, &[0, 1, 6]);
    line(&t.to_string());
}

/// `ferry notices show`: a short header, the message exactly as stored, the delivery attempts.
pub(crate) fn notice(r: &NoticeRow, attempts: &[NoticeAttempt], tz: Tz, as_json: bool) {
    let n = &r.notice;
    if as_json {
        let mut value = notice_json(r, tz);
        value["raw"] = Value::String(n.raw.clone());
        value["attempts_log"] = Value::Array(
            attempts
                .iter()
                .map(|a| {
                    json!({"attempt": a.attempt, "at": display::rfc3339(a.at, tz),
                           "ok": a.ok, "response": a.response})
                })
                .collect(),
        );
        json(&value);
        return;
    }
    let mut header = Table::new();
    header.load_style(presets::NOTHING);
    let mut rows: Vec<(&str, String)> = vec![
        ("Notice", format!("#{}", n.id)),
        ("Run", format!("#{}", n.execution_id)),
        ("Job", n.job.clone()),
        ("Status", status_text(r.status)),
        ("Created", display::local(n.created_at, tz)),
        ("Delivery", n.delivery.clone()),
        ("Attempts", n.attempts.to_string()),
        ("Recipients", n.recipients.join(", ")),
        ("Subject", n.subject.clone()),
        ("Message-ID", n.message_id.clone()),
    ];
    if let Some(sent_at) = n.sent_at {
        rows.push(("Sent at", display::local(sent_at, tz)));
    }
    if n.delivery == "pending"
        && let Some(next) = n.next_attempt_at
    {
        rows.push(("Next attempt", display::local(next, tz)));
    }
    if let Some(error) = &n.last_error {
        rows.push(("Last error", error.clone()));
    }
    for (k, v) in rows {
        header.add_row(vec![format!("{k}:"), v]);
    }
    line(&header.to_string());
    line("");
    line("--- message as sent ---");
    // The stored bytes, unchanged: only a missing final newline is added, so the next line starts
    // on its own.
    print!("{}", n.raw);
    if !n.raw.ends_with('\n') {
        println!();
    }
    line("--- delivery attempts ---");
    if attempts.is_empty() {
        line("No delivery attempts yet.");
        return;
    }
    let mut t = table(&["Attempt", "At", "Result", "Response"]);
    for a in attempts {
        t.add_row(vec![
            a.attempt.to_string(),
            display::local(a.at, tz),
            if a.ok { "ok" } else { "failed" }.to_owned(),
            a.response.clone(),
        ]);
    }
    right(&mut t, &[0]);
    line(&t.to_string());
}

/// `ferry notices resend`: the notice is back in the outbox.
pub(crate) fn notice_requeued(r: &NoticeRow, tz: Tz, as_json: bool) {
    if as_json {
        json(&notice_json(r, tz));
        return;
    }
    let n = &r.notice;
    line(&format!(
        "Notice #{} queued for delivery to {}; ferry serve delivers it.",
        n.id,
        n.recipients.join(", ")
    ));
}

/// What became of a notice's delivery attempt made right away (`ferry run`, `ferry notices
/// resend`), in one sentence.
pub(crate) fn delivery_text(notice: &Notice, delivery: &Delivery, tz: Tz) -> String {
    let to = notice.recipients.join(", ");
    match delivery {
        Delivery::Sent(answer) => format!("Notice #{} sent to {to} ({answer}).", notice.id),
        Delivery::Deferred(answer) => format!(
            "Notice #{} to {to} not sent yet: {answer}. `ferry serve` retries it from {}.",
            notice.id,
            display::local_opt(notice.next_attempt_at, tz)
        ),
        Delivery::Failed(answer) => format!(
            "Notice #{} to {to} failed: {answer}. See `ferry notices show {}`.",
            notice.id, notice.id
        ),
    }
}

/// After `ferry run`: what became of the run's notice (on stderr, with the run's progress).
pub(crate) fn notice_delivery(notice: &Notice, delivery: &Delivery, tz: Tz) {
    note(&delivery_text(notice, delivery, tz));
}

/// After `ferry notices resend` with `[mail]`: the notice as it now stands.
pub(crate) fn notice_resent(r: &NoticeRow, delivery: &Delivery, tz: Tz, as_json: bool) {
    if as_json {
        json(&notice_json(r, tz));
    } else {
        line(&delivery_text(&r.notice, delivery, tz));
    }
}

/// A stored notice that was not tried now, and why; it stays in the outbox.
pub(crate) fn notice_not_tried(notice: &Notice, why: &str) {
    note(&format!(
        "Notice #{} kept in the outbox, not sent now: {why}.",
        notice.id
    ));
}
