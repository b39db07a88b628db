//! Stage one of loading: the TOML text as written, in serde types with spans (style H7).
//!
//! Nothing here interprets a value (no cron, zone or duration parsing: that is `validate`); this
//! stage only checks the shape: syntax, known keys, value types, and that no secret is written
//! inline. Each section (`[scheduler]`, each `[connections.NAME]`, each `[jobs.NAME]`) is
//! deserialized on its own, and a key that fails is reported and dropped before trying again, so
//! one run reports every bad key of the file rather than the first.

use super::diagnostic::{self, Diagnostic, LineIndex, Location, SourceMap};
use super::secret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// `[scheduler]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScheduler {
    pub(crate) database: Option<Spanned<String>>,
    pub(crate) plugin_dir: Option<Spanned<String>>,
    pub(crate) work_dir: Option<Spanned<String>>,
    pub(crate) timezone: Option<Spanned<String>>,
    pub(crate) history_keep_days: Option<Spanned<u32>>,
    pub(crate) max_concurrent_runs: Option<Spanned<usize>>,
}

/// `[connections.NAME]` as written: the keys of every kind in one table; `validate` checks
/// which apply to the connection's `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConnection {
    pub(crate) kind: Option<Spanned<RawConnectionKind>>,
    pub(crate) host: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) user: Option<Spanned<String>>,
    /// The path of a key file (exempt from the inline-secret rule; `validate` refuses key text).
    pub(crate) private_key: Option<Spanned<String>>,
    pub(crate) passphrase_env: Option<Spanned<String>>,
    pub(crate) passphrase_file: Option<Spanned<String>>,
    pub(crate) password_env: Option<Spanned<String>>,
    pub(crate) password_file: Option<Spanned<String>>,
    pub(crate) known_hosts: Option<Spanned<String>>,
    pub(crate) passive: Option<Spanned<bool>>,
    pub(crate) ca_file: Option<Spanned<String>>,
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) connect_timeout: Option<Spanned<String>>,
    pub(crate) io_timeout: Option<Spanned<String>>,
    pub(crate) retries: Option<Spanned<u32>>,
    pub(crate) retry_backoff: Option<Spanned<String>>,
}

/// `kind = "sftp" | "ftp" | "ftps" | "local"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawConnectionKind {
    Sftp,
    Ftp,
    Ftps,
    Local,
}

impl RawConnectionKind {
    /// The kind as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RawConnectionKind::Sftp => "sftp",
            RawConnectionKind::Ftp => "ftp",
            RawConnectionKind::Ftps => "ftps",
            RawConnectionKind::Local => "local",
        }
    }
}

/// A connection section: its name as written (with the name's span) and its keys.
#[derive(Debug)]
pub(crate) struct RawConnectionEntry {
    pub(crate) name: String,
    pub(crate) name_span: Range<usize>,
    pub(crate) connection: RawConnection,
}

/// One `fetch = [{ ... }]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFetch {
    pub(crate) connection: Option<Spanned<String>>,
    pub(crate) remote_dir: Option<Spanned<String>>,
    pub(crate) pattern: Option<Spanned<String>>,
    pub(crate) required: Option<Vec<Spanned<String>>>,
    pub(crate) after: Option<Spanned<String>>,
    pub(crate) settle: Option<Spanned<String>>,
}

/// One `upload = [{ ... }]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpload {
    pub(crate) connection: Option<Spanned<String>>,
    pub(crate) remote_dir: Option<Spanned<String>>,
    pub(crate) pattern: Option<Spanned<String>>,
}

/// `trigger = { arrival = { ... } }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrigger {
    pub(crate) arrival: Option<Spanned<RawArrival>>,
}

/// `arrival = { connection, remote_dir, pattern, poll }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrival {
    pub(crate) connection: Option<Spanned<String>>,
    pub(crate) remote_dir: Option<Spanned<String>>,
    pub(crate) pattern: Option<Spanned<String>>,
    pub(crate) poll: Option<Spanned<String>>,
}

/// `[jobs.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJob {
    pub(crate) plugin: Option<Spanned<String>>,
    pub(crate) description: Option<String>,
    pub(crate) schedule: Option<Spanned<String>>,
    pub(crate) timezone: Option<Spanned<String>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) retries: Option<RawRetries>,
    pub(crate) overlap: Option<RawOverlap>,
    pub(crate) misfire: Option<RawMisfire>,
    pub(crate) catch_up_within: Option<Spanned<String>>,
    pub(crate) notify: Option<Spanned<RawNotify>>,
    pub(crate) fetch: Option<Vec<Spanned<RawFetch>>>,
    pub(crate) upload: Option<Vec<Spanned<RawUpload>>>,
    pub(crate) trigger: Option<RawTrigger>,
    pub(crate) settings: Option<toml::Table>,
}

/// `notify = { always, on_failure, on_success, on_recovery }` as written (a job's or `[mail]`'s).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    pub(crate) always: Option<Vec<Spanned<String>>>,
    pub(crate) on_failure: Option<Vec<Spanned<String>>>,
    pub(crate) on_success: Option<Vec<Spanned<String>>>,
    pub(crate) on_recovery: Option<Vec<Spanned<String>>>,
}

/// `[mail]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMail {
    pub(crate) smtp_url: Option<Spanned<String>>,
    pub(crate) from: Option<Spanned<String>>,
    pub(crate) username: Option<Spanned<String>>,
    pub(crate) password_env: Option<Spanned<String>>,
    pub(crate) password_file: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) ca_file: Option<Spanned<String>>,
    pub(crate) retries: Option<RawRetries>,
    pub(crate) notify: Option<Spanned<RawNotify>>,
}

/// `retries = { max, backoff, cap }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetries {
    pub(crate) max: Option<u32>,
    pub(crate) backoff: Option<Spanned<String>>,
    pub(crate) cap: Option<Spanned<String>>,
}

/// `overlap = "skip" | "queue"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawOverlap {
    Skip,
    Queue,
}

/// `misfire = "run_once" | "run_all" | "skip"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawMisfire {
    RunOnce,
    RunAll,
    Skip,
}

/// A job section: its name as written (with the name's span) and its keys.
#[derive(Debug)]
pub(crate) struct RawJobEntry {
    pub(crate) name: String,
    pub(crate) name_span: Range<usize>,
    pub(crate) job: RawJob,
}

/// The whole file as written: what survived stage one.
#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub(crate) scheduler: RawScheduler,
    /// `[mail]`, when written and readable.
    pub(crate) mail: Option<RawMail>,
    pub(crate) connections: Vec<RawConnectionEntry>,
    pub(crate) jobs: Vec<RawJobEntry>,
}

/// One segment of a key path.
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Renders a path as a dotted key: `jobs.a.fetch[0].dir`.
fn dotted(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Key(k) => out = diagnostic::join(&out, k),
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every key of the document with the byte spans of the key and of its value.
#[derive(Debug, Default)]
struct SpanIndex {
    entries: Vec<(Vec<Segment>, Range<usize>, Range<usize>)>,
}

impl SpanIndex {
    /// The most deeply nested key whose key or value span contains `offset`.
    fn path_at(&self, offset: usize) -> Option<&[Segment]> {
        self.entries
            .iter()
            .filter(|(_, k, v)| diagnostic::contains(k, offset) || diagnostic::contains(v, offset))
            .max_by_key(|(p, _, _)| p.len())
            .map(|(p, _, _)| p.as_slice())
    }
}

/// The text being loaded and what is needed to turn spans into diagnostics.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    lines: LineIndex<'a>,
    spans: SpanIndex,
}

impl Source<'_> {
    /// The location of byte `offset`.
    pub(crate) fn locate(&self, offset: usize) -> Location {
        self.lines.locate(offset)
    }

    /// A diagnostic at the start of `span`.
    pub(crate) fn at(
        &self,
        span: &Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        diagnostic::at(self.file, self.locate(span.start), key, message)
    }
}

/// Stage one: parses `text` (read from `file`).
///
/// Returns what could be read, the source map of every key, the source (for stage two's
/// diagnostics) and every problem found. With a TOML syntax error nothing is read.
pub(crate) fn parse<'a>(
    file: &'a Path,
    text: &'a str,
) -> (Option<RawConfig>, SourceMap, Source<'a>, Vec<Diagnostic>) {
    let mut source = Source {
        file,
        lines: LineIndex::new(text),
        spans: SpanIndex::default(),
    };
    let mut map = SourceMap::new(file);
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    let mut spans = SpanIndex::default();
    index(&source, &mut map, &mut spans, &[], doc.get_ref());
    source.spans = spans;
    let mut diags = Vec::new();
    if !syntax_errors.is_empty() {
        for e in syntax_errors {
            let offset = e.span().map_or(0, |s| s.start);
            let key = source.spans.path_at(offset).map(dotted).unwrap_or_default();
            diags.push(diagnostic::at(
                file,
                source.locate(offset),
                &key,
                tidy(e.message()),
            ));
        }
        return (None, map, source, diags);
    }

    find_inline_secrets(&source, &[], doc.get_ref(), &mut diags);

    let mut raw = RawConfig::default();
    for (key, value) in doc.get_ref().iter() {
        match key.get_ref().as_ref() {
            "scheduler" => {
                if let Some(s) = deserialize_section(&source, "scheduler", 1, value, &mut diags) {
                    raw.scheduler = s;
                }
            }
            "mail" => {
                raw.mail = deserialize_section(&source, "mail", 1, value, &mut diags);
            }
            "connections" => {
                let DeValue::Table(connections) = value.get_ref() else {
                    diags.push(source.at(
                        &value.span(),
                        "connections",
                        "expected a table of connections: [connections.NAME]",
                    ));
                    continue;
                };
                for (name, connection) in connections.iter() {
                    let path = diagnostic::join("connections", name.get_ref());
                    if let Some(c) = deserialize_section::<RawConnection>(
                        &source, &path, 2, connection, &mut diags,
                    ) {
                        raw.connections.push(RawConnectionEntry {
                            name: name.get_ref().to_string(),
                            name_span: name.span(),
                            connection: c,
                        });
                    }
                }
            }
            "jobs" => {
                let DeValue::Table(jobs) = value.get_ref() else {
                    diags.push(source.at(
                        &value.span(),
                        "jobs",
                        "expected a table of jobs: [jobs.NAME]",
                    ));
                    continue;
                };
                for (name, job) in jobs.iter() {
                    let path = diagnostic::join("jobs", name.get_ref());
                    if let Some(j) =
                        deserialize_section::<RawJob>(&source, &path, 2, job, &mut diags)
                    {
                        raw.jobs.push(RawJobEntry {
                            name: name.get_ref().to_string(),
                            name_span: name.span(),
                            job: j,
                        });
                    }
                }
            }
            other if secret::is_secret_key(other) => {} // Reported by find_inline_secrets.
            other => diags.push(source.at(
                &key.span(),
                &diagnostic::join("", other),
                format!(
                    "unknown key `{other}`, expected `scheduler`, `mail`, `connections` or `jobs`"
                ),
            )),
        }
    }
    (Some(raw), map, source, diags)
}

/// Records every key of `table` (under `path`) in the source map and the span index.
fn index(
    source: &Source<'_>,
    map: &mut SourceMap,
    spans: &mut SpanIndex,
    path: &[Segment],
    table: &DeTable<'_>,
) {
    for (key, value) in table.iter() {
        let mut p = path.to_vec();
        p.push(Segment::Key(key.get_ref().to_string()));
        map.insert(dotted(&p), source.locate(key.span().start));
        spans.entries.push((p.clone(), key.span(), value.span()));
        index_value(source, map, spans, &p, value);
    }
}

/// Records the keys inside `value` (a table, or tables inside an array).
fn index_value(
    source: &Source<'_>,
    map: &mut SourceMap,
    spans: &mut SpanIndex,
    path: &[Segment],
    value: &Spanned<DeValue<'_>>,
) {
    match value.get_ref() {
        DeValue::Table(t) => index(source, map, spans, path, t),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut p = path.to_vec();
                p.push(Segment::Index(i));
                map.insert(dotted(&p), source.locate(item.span().start));
                spans.entries.push((p.clone(), item.span(), item.span()));
                index_value(source, map, spans, &p, item);
            }
        }
        _ => {}
    }
}

/// Reports every key anywhere in the document that is named like a secret and holds a value.
fn find_inline_secrets(
    source: &Source<'_>,
    path: &[Segment],
    table: &DeTable<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    for (key, value) in table.iter() {
        let name = key.get_ref();
        let mut p = path.to_vec();
        p.push(Segment::Key(name.to_string()));
        match value.get_ref() {
            DeValue::Table(t) => find_inline_secrets(source, &p, t, diags),
            DeValue::Array(items) if !secret::is_secret_key(name) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let mut q = p.clone();
                        q.push(Segment::Index(i));
                        find_inline_secrets(source, &q, t, diags);
                    }
                }
            }
            _ if secret::is_secret_key(name) && !is_key_file_path(&p) => diags.push(source.at(
                &key.span(),
                &dotted(&p),
                secret::inline_secret_message(name),
            )),
            _ => {}
        }
    }
}

/// Whether `path` is `connections.NAME.private_key`: a secret-sounding key that holds the path of
/// a key file, not a secret (`validate` refuses key text written there).
fn is_key_file_path(path: &[Segment]) -> bool {
    matches!(path, [Segment::Key(top), Segment::Key(_), Segment::Key(key)]
        if top == "connections" && key == KEY_FILE_KEY)
}

/// The one secret-sounding key that holds a path: `[connections.NAME] private_key`.
const KEY_FILE_KEY: &str = "private_key";

/// Removes every key named like a secret that holds a value (not a table), at any depth, except
/// `keep` at the top: find_inline_secrets reported them, and they must not be reported again as
/// unknown keys.
fn strip_inline_secrets(table: &mut DeTable<'_>, keep: &[&str]) {
    let inline: Vec<String> = table
        .iter()
        .map(|(k, v)| (k.get_ref().as_ref(), v))
        .filter(|(k, v)| secret::is_secret_key(k) && !v.get_ref().is_table() && !keep.contains(k))
        .map(|(k, _)| k.to_owned())
        .collect();
    for k in &inline {
        table.remove(k.as_str());
    }
    for (_, value) in table.iter_mut() {
        strip_inline_secrets_in(value.get_mut());
    }
}

fn strip_inline_secrets_in(value: &mut DeValue<'_>) {
    match value {
        DeValue::Table(t) => strip_inline_secrets(t, &[]),
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                strip_inline_secrets_in(item.get_mut());
            }
        }
        _ => {}
    }
}

/// Deserializes one section (`[scheduler]` or `[jobs.NAME]`) at `path` (`depth` segments deep),
/// reporting every bad key: after each error the key it points into is dropped and the section
/// tried again.
fn deserialize_section<T: DeserializeOwned>(
    source: &Source<'_>,
    path: &str,
    depth: usize,
    value: &Spanned<DeValue<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let mut value = value.clone();
    let DeValue::Table(table) = value.get_mut() else {
        diags.push(source.at(&value.span(), path, format!("expected a table: [{path}]")));
        return None;
    };
    // Inline secrets were already reported; don't report them again as unknown keys.
    let keep: &[&str] = if path.starts_with("connections.") {
        &[KEY_FILE_KEY]
    } else {
        &[]
    };
    strip_inline_secrets(table, keep);
    for _ in 0..=table.len() {
        let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let offset = error.span().map_or(value.span().start, |s| s.start);
        let at_path = error.span().and_then(|_| source.spans.path_at(offset));
        let key = at_path.map_or_else(|| path.to_owned(), dotted);
        diags.push(diagnostic::at(
            source.file,
            source.locate(offset),
            &key,
            tidy(error.message()),
        ));
        // Drop the section's key the error points into and try again.
        let Some(Segment::Key(top)) = at_path.and_then(|p| p.get(depth)) else {
            return None;
        };
        let DeValue::Table(table) = value.get_mut() else {
            return None;
        };
        table.remove(top.as_str())?;
    }
    None
}

/// Phrases serde's messages in the file's terms: TOML has keys, not fields.
fn tidy(message: &str) -> String {
    message
        .trim()
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
}
