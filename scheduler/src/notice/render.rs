//! Rendering a result notice: subject, plain text, HTML and attachments, from what the store
//! holds about a finished run. A pure function of its input apart from reading report files the
//! run produced; the store content is already redacted, so no secret can appear here.

use crate::store::model::{
    Execution, FileRecord, LogLine, ProblemCount, ProblemRecord, Status, TableStat, TransferRecord,
    Trigger,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Log lines kept in the body's log tail and in `log-tail.txt`.
pub const LOG_TAIL_LINES: usize = 200;
/// Errors listed one by one in the body.
pub const FIRST_ERRORS: usize = 20;
/// Report files larger than this are not attached.
pub const MAX_ATTACHED_FILE: u64 = 10 * 1024 * 1024;

/// Everything a notice says about one finished run.
#[derive(Debug, Clone)]
pub struct NoticeInput<'a> {
    pub execution: &'a Execution,
    pub description: Option<&'a str>,
    /// The job's cron schedule as written.
    pub schedule_text: Option<&'a str>,
    /// The zone times are shown in.
    pub zone: Tz,
    pub tables: &'a [TableStat],
    pub transfers: &'a [TransferRecord],
    pub files: &'a [FileRecord],
    /// The first problems the job reported (file, line, field, value), in order.
    pub problems: &'a [ProblemRecord],
    /// How many problems of each severity and category the job reported in all.
    pub problem_counts: &'a [ProblemCount],
    /// The run's log, in order (only errors, warnings and the last 200 lines are used).
    pub logs: &'a [LogLine],
    pub next_fire: Option<DateTime<Utc>>,
    /// When the retry policy runs this failed run again, if it does.
    pub retry_at: Option<DateTime<Utc>>,
    /// The host that renders (and sends) the notice.
    pub host: &'a str,
}

/// A rendered notice.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// `FAILED`, `WARNING` or `OK`.
pub fn label(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "OK",
        Status::Warning => "WARNING",
        _ => "FAILED",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_problem(line: &LogLine) -> bool {
    matches!(line.level.as_str(), "error" | "warn" | "warning")
}

/// The category of an error line: the words before its first `:`, else `other`.
fn category(message: &str) -> String {
    match message.split_once(':') {
        Some((head, _)) if !head.trim().is_empty() && head.len() <= 60 => head.trim().to_owned(),
        _ => "other".to_owned(),
    }
}

fn trigger_text(e: &Execution, schedule: Option<&str>) -> String {
    let mut t = match e.trigger {
        Trigger::Schedule => format!("schedule \"{}\"", schedule.unwrap_or("?")),
        Trigger::CatchUp => format!("catch-up of schedule \"{}\"", schedule.unwrap_or("?")),
        Trigger::Retry => match e.retry_of {
            Some(id) => format!("retry of #{id} (attempt {})", e.attempt),
            None => format!("retry (attempt {})", e.attempt),
        },
        Trigger::Arrival => "file arrival".to_owned(),
        Trigger::Manual => format!("manual by {}", e.requested_by),
    };
    let options = options_text(&e.params);
    if !options.is_empty() {
        let _ = write!(t, " with {options}");
    }
    t
}

/// `--no-fetch` and `--set KEY=VALUE` options from the run's params object.
fn options_text(params: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(params)
    else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| match (k.as_str(), v) {
            ("no_fetch", serde_json::Value::Bool(true)) => "--no-fetch".to_owned(),
            (k, serde_json::Value::String(s)) => format!("--set {k}={s}"),
            (k, v) => format!("--set {k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn at(t: Option<DateTime<Utc>>, zone: Tz) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        },
    )
}

/// One reported problem on a line: `error Invalid value: STUDENTS.txt:17 BirthDate="2019-13-01":
/// must be a date`.
pub fn problem_text(p: &ProblemRecord) -> String {
    format!("{} {}", p.severity, problem_detail(p))
}

/// [`problem_text`] without the severity: `Invalid value: STUDENTS.txt:17 BirthDate="x": ...`.
pub fn problem_detail(p: &ProblemRecord) -> String {
    let mut t = format!("{}:", p.category);
    match (&p.file, p.line) {
        (Some(file), Some(line)) => {
            let _ = write!(t, " {file}:{line}");
        }
        (Some(file), None) => {
            let _ = write!(t, " {file}");
        }
        (None, Some(line)) => {
            let _ = write!(t, " line {line}");
        }
        (None, None) => {}
    }
    match (&p.field, &p.value) {
        (Some(field), Some(value)) => {
            let _ = write!(t, " {field}={value:?}");
        }
        (Some(field), None) => {
            let _ = write!(t, " {field}");
        }
        (None, Some(value)) => {
            let _ = write!(t, " value {value:?}");
        }
        (None, None) => {}
    }
    let _ = write!(t, ": {}", p.message);
    t
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Renders the notice of `input`'s finished run.
pub fn render(input: &NoticeInput<'_>) -> Rendered {
    let e = input.execution;
    let problems: Vec<&LogLine> = input.logs.iter().filter(|l| is_problem(l)).collect();
    let outcome = match (&e.error, problems.len()) {
        (Some(err), _) => err.lines().next().unwrap_or("").chars().take(120).collect(),
        (None, 0) => e.status.as_str().replace('_', " "),
        (None, n) => format!(
            "{} with {n} warnings or errors",
            e.status.as_str().replace('_', " ")
        ),
    };
    let subject = format!("[{}] {} run #{} — {outcome}", label(e.status), e.job, e.id);
    let duration = match (e.started_at, e.finished_at) {
        (Some(s), Some(f)) => format!("{:.1} s", (f - s).num_milliseconds() as f64 / 1000.0),
        _ => "-".to_owned(),
    };
    let header: Vec<(&str, String)> = vec![
        ("Job", e.job.clone()),
        ("Description", input.description.unwrap_or("-").to_owned()),
        ("Run", format!("#{}", e.id)),
        ("Trigger", trigger_text(e, input.schedule_text)),
        ("Host", input.host.to_owned()),
        ("Started", at(e.started_at, input.zone)),
        ("Ended", at(e.finished_at, input.zone)),
        ("Duration", duration),
        ("Status", e.status.as_str().to_owned()),
        ("Next run", at(input.next_fire, input.zone)),
    ];
    let mut header = header;
    if let Some(retry_at) = input.retry_at {
        header.push((
            "Retry",
            format!(
                "attempt {} at {}",
                e.attempt + 1,
                at(Some(retry_at), input.zone)
            ),
        ));
    }
    // Errors by category: what the job reported per input row (with severity), the run's own
    // error, and warnings or errors it logged, each counted under its heading.
    let mut categories: BTreeMap<String, i64> = BTreeMap::new();
    for c in input.problem_counts {
        *categories
            .entry(format!("{} ({})", c.category, c.severity))
            .or_default() += c.count;
    }
    if let Some(err) = &e.error {
        *categories.entry(category(err)).or_default() += 1;
    }
    for l in &problems {
        *categories.entry(category(&l.message)).or_default() += 1;
    }
    let mut categories: Vec<(String, i64)> = categories.into_iter().collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let first: Vec<String> = input
        .problems
        .iter()
        .map(problem_text)
        .chain(e.error.iter().cloned())
        .chain(
            problems
                .iter()
                .map(|l| format!("{} {}: {}", at(Some(l.ts), input.zone), l.level, l.message)),
        )
        .take(FIRST_ERRORS)
        .collect();

    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html><html><body>");
    let _ = writeln!(html, "<h2>{}</h2><table>", escape_html(&subject));
    for (k, v) in &header {
        let _ = writeln!(text, "{k:<12} {v}");
        let _ = writeln!(
            html,
            "<tr><th align=\"left\">{k}</th><td>{}</td></tr>",
            escape_html(v)
        );
    }
    html.push_str("</table>");
    if !input.tables.is_empty() {
        text.push_str("\nTable | Rows | Seconds\n");
        html.push_str("<h3>Tables</h3><table border=\"1\"><tr><th>Table</th><th>Rows</th><th>Seconds</th></tr>");
        for t in input.tables {
            let _ = writeln!(text, "{} | {} | {:.2}", t.table, t.rows, t.seconds);
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                escape_html(&t.table),
                t.rows,
                t.seconds
            );
        }
        html.push_str("</table>");
    }
    if !input.transfers.is_empty() {
        text.push_str("\nFiles moved\n");
        html.push_str("<h3>Files moved</h3><table border=\"1\"><tr><th>Direction</th><th>File</th><th>Bytes</th><th>SHA-256</th></tr>");
        for t in input.transfers {
            let _ = writeln!(
                text,
                "{} {} {} bytes sha256 {}",
                t.direction, t.remote_path, t.bytes, t.sha256
            );
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape_html(&t.direction),
                escape_html(&t.remote_path),
                t.bytes,
                escape_html(&t.sha256)
            );
        }
        html.push_str("</table>");
    }
    if !categories.is_empty() {
        text.push_str("\nErrors by category\n");
        html.push_str("<h3>Errors by category</h3><ul>");
        for (c, n) in &categories {
            let _ = writeln!(text, "{n:>5}  {c}");
            let _ = write!(html, "<li>{n} &times; {}</li>", escape_html(c));
        }
        html.push_str("</ul>");
        let reported: i64 = input.problem_counts.iter().map(|c| c.count).sum();
        let listed = i64::try_from(input.problems.len()).unwrap_or(i64::MAX);
        if reported > listed {
            let _ = writeln!(
                text,
                "\nerrors.csv lists the first {listed} of {reported} reported problems."
            );
        }
        let _ = writeln!(text, "\nFirst {} errors", first.len());
        html.push_str("<h3>First errors</h3><ol>");
        for f in &first {
            let _ = writeln!(text, "- {f}");
            let _ = write!(html, "<li>{}</li>", escape_html(f));
        }
        html.push_str("</ol>");
    }
    html.push_str("</body></html>\n");

    let mut attachments = Vec::new();
    if !input.problems.is_empty() || !problems.is_empty() || e.error.is_some() {
        let mut csv = String::from("severity,category,file,line,field,value,message,time\r\n");
        let mut row = |cells: [&str; 8]| {
            let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
            csv.push_str(&cells.join(","));
            csv.push_str("\r\n");
        };
        for p in input.problems {
            let line = p.line.map(|l| l.to_string()).unwrap_or_default();
            row([
                &p.severity,
                &p.category,
                p.file.as_deref().unwrap_or(""),
                &line,
                p.field.as_deref().unwrap_or(""),
                p.value.as_deref().unwrap_or(""),
                &p.message,
                &p.at.to_rfc3339(),
            ]);
        }
        if let Some(err) = &e.error {
            let time = e.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            row(["error", &category(err), "", "", "", "", err, &time]);
        }
        for l in &problems {
            let severity = if l.level == "error" {
                "error"
            } else {
                "warning"
            };
            let time = l.ts.to_rfc3339();
            row([severity, "log", "", "", "", "", &l.message, &time]);
        }
        attachments.push(Attachment {
            filename: "errors.csv".to_owned(),
            content_type: "text/csv".to_owned(),
            bytes: csv.into_bytes(),
        });
    }
    for f in input.files {
        let path = std::path::Path::new(&f.path);
        let small =
            std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_ATTACHED_FILE);
        if let (true, Ok(bytes), Some(name)) = (small, std::fs::read(path), path.file_name()) {
            let name = name.to_string_lossy().into_owned();
            let content_type = match path.extension().and_then(|x| x.to_str()) {
                Some("csv") => "text/csv",
                Some("html" | "htm") => "text/html",
                Some("txt" | "err" | "ERR" | "log") => "text/plain",
                _ => "application/octet-stream",
            };
            attachments.push(Attachment {
                filename: name,
                content_type: content_type.to_owned(),
                bytes,
            });
        }
    }
    let tail = &input.logs[input.logs.len().saturating_sub(LOG_TAIL_LINES)..];
    if !tail.is_empty() {
        let mut log = String::new();
        for l in tail {
            let _ = writeln!(log, "{} {:<5} {}", l.ts.to_rfc3339(), l.level, l.message);
        }
        attachments.push(Attachment {
            filename: "log-tail.txt".to_owned(),
            content_type: "text/plain".to_owned(),
            bytes: log.into_bytes(),
        });
    }
    Rendered {
        subject,
        text,
        html,
        attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn execution(status: Status, error: Option<&str>) -> Execution {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        Execution {
            id: 42,
            job: "peer<x>".into(),
            trigger: Trigger::Manual,
            requested_by: "alice".into(),
            host: "h1".into(),
            scheduled_for: None,
            queued_at: t0,
            started_at: Some(t0),
            entered_at: Some(t0),
            finished_at: Some(t0 + chrono::TimeDelta::seconds(90)),
            status,
            attempt: 1,
            retry_of: None,
            not_before: None,
            error: error.map(str::to_owned),
            params: r#"{"no_fetch":true,"district":"0042"}"#.into(),
            plugin: "example".into(),
            plugin_version: None,
        }
    }

    fn line(seq: i64, level: &str, message: &str) -> LogLine {
        LogLine {
            seq,
            ts: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 1).unwrap(),
            level: level.into(),
            message: message.into(),
        }
    }

    fn input<'a>(
        e: &'a Execution,
        tables: &'a [TableStat],
        files: &'a [FileRecord],
        logs: &'a [LogLine],
    ) -> NoticeInput<'a> {
        NoticeInput {
            execution: e,
            description: Some("PEER <import> & more"),
            schedule_text: Some("0 2 * * *"),
            zone: chrono_tz::America::Chicago,
            tables,
            transfers: &[],
            files,
            problems: &[],
            problem_counts: &[],
            logs,
            next_fire: None,
            retry_at: None,
            host: "h1",
        }
    }

    #[test]
    fn subjects_label_the_outcome() {
        let ok = execution(Status::Succeeded, None);
        assert_eq!(
            render(&input(&ok, &[], &[], &[])).subject,
            "[OK] peer<x> run #42 — succeeded"
        );
        let warn = execution(Status::Warning, None);
        let logs = [line(1, "warn", "Row 3: skipped")];
        assert_eq!(
            render(&input(&warn, &[], &[], &logs)).subject,
            "[WARNING] peer<x> run #42 — warning with 1 warnings or errors"
        );
        for status in [
            Status::Failed,
            Status::TimedOut,
            Status::Cancelled,
            Status::Abandoned,
        ] {
            let failed = execution(status, Some("Transport: connection refused"));
            assert_eq!(
                render(&input(&failed, &[], &[], &[])).subject,
                "[FAILED] peer<x> run #42 — Transport: connection refused"
            );
        }
    }

    #[test]
    fn html_is_escaped_and_the_body_has_the_header_and_tables() {
        let e = execution(Status::Failed, Some("Validation: <b>bad</b> & worse"));
        let tables = [TableStat {
            table: "fl_peer_<iep>".into(),
            rows: 1234,
            seconds: 2.5,
            action: "insert".into(),
        }];
        let logs = [
            line(1, "error", "Validation: row 7"),
            line(2, "info", "done"),
        ];
        let r = render(&input(&e, &tables, &[], &logs));
        assert!(
            r.html.contains("&lt;b&gt;bad&lt;/b&gt; &amp; worse"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>bad</b>"));
        assert!(r.html.contains("PEER &lt;import&gt; &amp; more"));
        assert!(
            r.html
                .contains("<td>fl_peer_&lt;iep&gt;</td><td>1234</td><td>2.50</td>")
        );
        assert!(r.text.contains("fl_peer_<iep> | 1234 | 2.50"));
        assert!(
            r.text
                .contains("manual by alice with --set district=0042 --no-fetch")
                || r.text
                    .contains("manual by alice with --no-fetch --set district=0042"),
            "{}",
            r.text
        );
        assert!(r.text.contains("2026-03-01 02:00:00 CST"));
        assert!(r.text.contains("90.0 s"));
        assert!(r.text.contains("    2  Validation"), "{}", r.text);
    }

    #[test]
    fn attachments_hold_errors_reports_and_the_log_tail() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("R_0042_IDL_1.html");
        std::fs::write(&report, "<html>report</html>").unwrap();
        let files = [
            FileRecord {
                path: report.display().to_string(),
                kind: "report".into(),
                recorded_at: Utc::now(),
            },
            FileRecord {
                path: dir.path().join("gone.csv").display().to_string(),
                kind: "report".into(),
                recorded_at: Utc::now(),
            },
        ];
        let e = execution(Status::Failed, Some("Validation: 2 rows, \"quoted\""));
        let logs: Vec<LogLine> = (0..250)
            .map(|i| {
                line(
                    i,
                    if i == 5 { "error" } else { "info" },
                    &format!("line {i}"),
                )
            })
            .collect();
        let r = render(&input(&e, &[], &files, &logs));
        let names: Vec<&str> = r.attachments.iter().map(|a| a.filename.as_str()).collect();
        assert_eq!(names, ["errors.csv", "R_0042_IDL_1.html", "log-tail.txt"]);
        let csv = String::from_utf8(r.attachments[0].bytes.clone()).unwrap();
        assert!(csv.starts_with("severity,category,file,line,field,value,message,time\r\n"));
        assert!(
            csv.contains("error,Validation,,,,,\"Validation: 2 rows, \"\"quoted\"\"\",2026-"),
            "{csv}"
        );
        assert!(csv.contains("error,log,,,,,line 5,2026-"), "{csv}");
        assert_eq!(r.attachments[1].bytes, b"<html>report</html>");
        assert_eq!(r.attachments[1].content_type, "text/html");
        let tail = String::from_utf8(r.attachments[2].bytes.clone()).unwrap();
        assert_eq!(tail.lines().count(), LOG_TAIL_LINES);
        assert!(tail.lines().next().unwrap().ends_with("line 50"));
    }

    #[test]
    fn reported_problems_are_grouped_listed_with_file_and_line_and_in_the_csv() {
        let e = execution(Status::Warning, None);
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 2).unwrap();
        let problems: Vec<ProblemRecord> = (1..=25)
            .map(|i| ProblemRecord {
                seq: i,
                at: t,
                severity: "error".into(),
                category: "Invalid value".into(),
                file: Some("STUDENTS.txt".into()),
                line: Some(i + 1),
                field: Some("BirthDate".into()),
                value: Some(format!("2019-13-{i:02}")),
                message: "must be a date (YYYY-MM-DD)".into(),
            })
            .collect();
        let counts = [
            ProblemCount {
                severity: "error".into(),
                category: "Invalid value".into(),
                count: 40,
            },
            ProblemCount {
                severity: "warning".into(),
                category: "Unknown school".into(),
                count: 3,
            },
        ];
        let mut i = input(&e, &[], &[], &[]);
        i.problems = &problems;
        i.problem_counts = &counts;
        let r = render(&i);
        assert!(
            r.text.contains("   40  Invalid value (error)"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("    3  Unknown school (warning)"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains(
                "- error Invalid value: STUDENTS.txt:2 BirthDate=\"2019-13-01\": must be a date (YYYY-MM-DD)"
            ),
            "{}",
            r.text
        );
        assert!(r.text.contains("First 20 errors"));
        assert!(
            !r.text.contains("STUDENTS.txt:22 "),
            "only the first 20 are listed"
        );
        assert!(
            r.text
                .contains("errors.csv lists the first 25 of 43 reported problems.")
        );
        let csv = String::from_utf8(r.attachments[0].bytes.clone()).unwrap();
        assert_eq!(csv.lines().count(), 26, "{csv}");
        assert!(csv.contains(
            "error,Invalid value,STUDENTS.txt,26,BirthDate,2019-13-25,must be a date (YYYY-MM-DD),2026-03-01T08:00:02+00:00"
        ), "{csv}");
    }
}
