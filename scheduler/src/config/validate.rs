//! Stage two of loading: raw values → the validated [`Config`] (style H7).
//!
//! Every value is interpreted here, once: cron expressions parsed, zones resolved, durations
//! parsed, plugin names turned into library paths, relative paths made absolute against the
//! current directory, settings converted to JSON and their secret references collected,
//! connections checked for the keys their kind needs, file patterns compiled, and every
//! connection a job names looked up. Every problem becomes a diagnostic; none stops the others
//! from being found.

use super::diagnostic::{self, Diagnostic, SourceMap};
use super::raw::{
    RawArrival, RawConfig, RawConnection, RawConnectionEntry, RawConnectionKind, RawFetch, RawJob,
    RawMail, RawMisfire, RawNotify, RawOverlap, RawScheduler, RawUpload, Source,
};
use super::secret;
use super::{
    AfterFetch, ArrivalTrigger, Config, ConnectionKind, ConnectionSpec, FetchStep, JobSpec,
    MailSettings, Misfire, MisfirePolicy, NotifyLists, Overlap, RetryPolicy, SchedulerSettings,
    SecretRef, UploadStep,
};
use crate::schedule::Schedule;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The default store: an SQLite file under `var/`.
pub const DEFAULT_DATABASE: &str = "sqlite://var/ferry.db";
/// The default directory searched for plugin libraries.
pub const DEFAULT_PLUGIN_DIR: &str = "target/release";
/// The default directory for run directories, inboxes and outboxes.
pub const DEFAULT_WORK_DIR: &str = "var/work";
/// Default days of history kept.
pub const DEFAULT_HISTORY_KEEP_DAYS: u32 = 90;
/// Default limit of concurrent runs.
pub const DEFAULT_MAX_CONCURRENT_RUNS: usize = 4;
/// Default delay before the first retry.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(30);
/// Default longest delay between retries.
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(600);
/// Default SFTP port.
pub const DEFAULT_SFTP_PORT: u16 = 22;
/// Default FTP and FTPS port.
pub const DEFAULT_FTP_PORT: u16 = 21;
/// Default limit for connecting and logging in to a file server.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default limit for one read, write or command on a file server.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of retries of a transient file-server failure.
pub const DEFAULT_CONNECTION_RETRIES: u32 = 3;
/// Default wait before the first retry of a transient file-server failure.
pub const DEFAULT_CONNECTION_RETRY_BACKOFF: Duration = Duration::from_secs(2);
/// Default interval at which an arrival trigger lists its folder.
pub const DEFAULT_ARRIVAL_POLL: Duration = Duration::from_secs(300);
/// Default limit for one SMTP connection or command.
pub const DEFAULT_MAIL_TIMEOUT: Duration = Duration::from_secs(30);
/// `[mail] retries` when not written: 20 retries, 30 s doubling up to 1 h.
pub const DEFAULT_MAIL_RETRIES: RetryPolicy = RetryPolicy {
    max: 20,
    backoff: Duration::from_secs(30),
    cap: Duration::from_secs(3600),
};
/// The pattern of a fetch, upload or arrival that names none: every file.
pub const DEFAULT_PATTERN: &str = "*";
/// The folder of a fetch, upload or arrival that names none: the connection's root.
pub const DEFAULT_REMOTE_DIR: &str = ".";

/// Stage two: builds the [`Config`] from what stage one read, adding a diagnostic for every
/// invalid value. The result is only meaningful if no diagnostic was added.
pub(crate) fn validate(
    raw: RawConfig,
    source: &Source<'_>,
    sources: SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Config {
    let mut v = Validator {
        source,
        sources: &sources,
        diags,
    };
    let scheduler = v.scheduler(&raw.scheduler);
    let mail = raw.mail.as_ref().and_then(|m| v.mail(m));
    let mail_written = sources.contains("mail");
    // Names for the hint of an unknown connection; a connection counts as defined when its
    // section is written at all, so a broken one is reported once, not at every use.
    let connection_names: Vec<String> = raw.connections.iter().map(|c| c.name.clone()).collect();
    let mut connections = BTreeMap::new();
    for entry in raw.connections {
        let key = diagnostic::join("connections", &entry.name);
        if entry.name.is_empty() || !entry.name.chars().all(is_name_char) {
            v.push(source.at(
                &entry.name_span,
                &key,
                "connection names may only use letters, digits, `_` and `-`",
            ));
        }
        if let Some(connection) = v.connection(&key, entry) {
            connections.insert(connection.name.clone(), connection);
        }
    }
    let mut jobs = BTreeMap::new();
    for entry in raw.jobs {
        let key = diagnostic::join("jobs", &entry.name);
        if entry.name.is_empty() || !entry.name.chars().all(is_name_char) {
            v.push(source.at(
                &entry.name_span,
                &key,
                "job names may only use letters, digits, `_` and `-`",
            ));
        }
        if !mail_written
            && let Some(notify) = &entry.job.notify
            && !v.notify_is_empty(notify.get_ref())
        {
            v.error(
                notify,
                &diagnostic::join(&key, "notify"),
                "notices need a [mail] section with smtp_url and from",
            );
        }
        if let Some(job) = v.job(
            &key,
            &entry.name,
            &entry.name_span,
            entry.job,
            &scheduler,
            &connection_names,
        ) {
            jobs.insert(entry.name, job);
        }
    }
    Config {
        path: source.file.to_owned(),
        scheduler,
        mail,
        connections,
        jobs,
        sources,
    }
}

/// Letters, digits, `_` and `-`: job and plugin names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether a connection of `kind` uses the key `name`.
fn key_applies(kind: RawConnectionKind, name: &str) -> bool {
    const SERVER: &[&str] = &["host", "port", "user", "password_env", "password_file"];
    match kind {
        RawConnectionKind::Sftp => {
            SERVER.contains(&name)
                || [
                    "private_key",
                    "passphrase_env",
                    "passphrase_file",
                    "known_hosts",
                ]
                .contains(&name)
        }
        RawConnectionKind::Ftp => SERVER.contains(&name) || name == "passive",
        RawConnectionKind::Ftps => SERVER.contains(&name) || ["passive", "ca_file"].contains(&name),
        RawConnectionKind::Local => name == "path",
    }
}

/// Which connection kinds use the key `name`, for "does not apply" messages.
fn kinds_using(name: &str) -> &'static str {
    match name {
        "host" | "port" | "user" | "password_env" | "password_file" => "sftp, ftp and ftps",
        "private_key" | "passphrase_env" | "passphrase_file" | "known_hosts" => "sftp",
        "passive" => "ftp and ftps",
        "ca_file" => "ftps",
        _ => "local",
    }
}

/// Whether a `private_key` value is the key itself rather than the path of a key file.
fn looks_like_key_text(value: &str) -> bool {
    value.contains("-----BEGIN") || value.contains('\n')
}

/// The system's zone (via `iana-time-zone`), else UTC.
pub fn system_timezone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// The library file a job's `plugin` value names: a value containing `/` or ending in `.so` is
/// a path; a name like `peer-nightly` is `<plugin_dir>/libferry_job_peer_nightly.so`.
pub fn plugin_library(plugin_dir: &Path, plugin: &str) -> PathBuf {
    if plugin.contains('/') || plugin.ends_with(".so") {
        absolute(Path::new(plugin))
    } else {
        plugin_dir.join(format!("libferry_job_{}.so", plugin.replace('-', "_")))
    }
}

/// `p` made absolute against the current directory (without touching the file system).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

/// Collects diagnostics while interpreting values.
struct Validator<'s, 'a, 'd> {
    source: &'s Source<'a>,
    sources: &'s SourceMap,
    diags: &'d mut Vec<Diagnostic>,
}

impl Validator<'_, '_, '_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn error<T>(&mut self, value: &Spanned<T>, key: &str, message: impl Into<String>) {
        let d = self.source.at(&value.span(), key, message);
        self.push(d);
    }

    fn scheduler(&mut self, raw: &RawScheduler) -> SchedulerSettings {
        let database = match &raw.database {
            Some(db) => {
                self.check_database(db);
                db.get_ref().clone()
            }
            None => DEFAULT_DATABASE.to_owned(),
        };
        let plugin_dir = self.dir(&raw.plugin_dir, "scheduler.plugin_dir", DEFAULT_PLUGIN_DIR);
        let work_dir = self.dir(&raw.work_dir, "scheduler.work_dir", DEFAULT_WORK_DIR);
        let timezone = match &raw.timezone {
            Some(tz) => self.timezone(tz, "scheduler.timezone").unwrap_or(Tz::UTC),
            None => system_timezone(),
        };
        let history_keep_days = match &raw.history_keep_days {
            Some(d) if *d.get_ref() == 0 => {
                self.error(d, "scheduler.history_keep_days", "must be at least 1 day");
                DEFAULT_HISTORY_KEEP_DAYS
            }
            Some(d) => *d.get_ref(),
            None => DEFAULT_HISTORY_KEEP_DAYS,
        };
        let max_concurrent_runs = match &raw.max_concurrent_runs {
            Some(n) if *n.get_ref() == 0 => {
                self.error(n, "scheduler.max_concurrent_runs", "must be at least 1");
                DEFAULT_MAX_CONCURRENT_RUNS
            }
            Some(n) => *n.get_ref(),
            None => DEFAULT_MAX_CONCURRENT_RUNS,
        };
        SchedulerSettings {
            database,
            plugin_dir,
            work_dir,
            timezone,
            history_keep_days,
            max_concurrent_runs,
        }
    }

    /// `sqlite:…` or `postgres://…` without an inline password.
    fn check_database(&mut self, db: &Spanned<String>) {
        const KEY: &str = "scheduler.database";
        let url = db.get_ref();
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && userinfo.contains(':')
            {
                self.error(
                    db,
                    KEY,
                    "secrets are never inline: leave the password out of the URL and set PGPASSWORD or use ~/.pgpass",
                );
            }
        } else if !url.starts_with("sqlite:") {
            self.error(
                db,
                KEY,
                format!(
                    "unsupported database `{url}`: expected sqlite://PATH or postgres://HOST/DB"
                ),
            );
        }
    }

    fn dir(&mut self, raw: &Option<Spanned<String>>, key: &str, default: &str) -> PathBuf {
        match raw {
            Some(p) if p.get_ref().trim().is_empty() => {
                self.error(p, key, "must not be empty");
                absolute(Path::new(default))
            }
            Some(p) => absolute(Path::new(p.get_ref())),
            None => absolute(Path::new(default)),
        }
    }

    fn timezone(&mut self, raw: &Spanned<String>, key: &str) -> Option<Tz> {
        match raw.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.error(
                    raw,
                    key,
                    format!(
                        "unknown time zone `{}`: expected an IANA name such as America/Chicago or UTC",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn duration(&mut self, raw: &Spanned<String>, key: &str) -> Option<Duration> {
        match humantime::parse_duration(raw.get_ref().trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    raw,
                    key,
                    format!(
                        "invalid duration `{}`: {e} (write e.g. \"30s\", \"10m\" or \"1h 30m\")",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, raw: &Spanned<String>, key: &str) -> Option<Duration> {
        let d = self.duration(raw, key)?;
        if d.is_zero() {
            self.error(raw, key, "must be longer than zero");
            return None;
        }
        Some(d)
    }

    fn job(
        &mut self,
        key: &str,
        name: &str,
        name_span: &std::ops::Range<usize>,
        raw: RawJob,
        scheduler: &SchedulerSettings,
        connections: &[String],
    ) -> Option<JobSpec> {
        let k = |sub: &str| format!("{key}.{sub}");
        let plugin = match &raw.plugin {
            // Written but of the wrong type: stage one reported it.
            None if self.sources.contains(&k("plugin")) => None,
            None => {
                let d = self.source.at(
                    name_span,
                    &k("plugin"),
                    "missing key `plugin`: the plugin that runs this job, e.g. plugin = \"example\"",
                );
                self.push(d);
                None
            }
            Some(p) => {
                let v = p.get_ref();
                let is_path = v.contains('/') || v.ends_with(".so");
                if !is_path && (v.is_empty() || !v.chars().all(is_name_char)) {
                    self.error(
                        p,
                        &k("plugin"),
                        "expected a plugin name like \"example\" or a path to a .so file",
                    );
                }
                Some(v.clone())
            }
        };
        let schedule = raw
            .schedule
            .as_ref()
            .and_then(|s| match Schedule::parse(s.get_ref()) {
                Ok(sch) => Some(sch),
                Err(e) => {
                    self.error(s, &k("schedule"), e);
                    None
                }
            });
        let timezone = match &raw.timezone {
            Some(tz) => self.timezone(tz, &k("timezone")),
            None => Some(scheduler.timezone),
        };
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.positive_duration(t, &k("timeout")));
        let mut retries = RetryPolicy {
            max: 0,
            backoff: DEFAULT_RETRY_BACKOFF,
            cap: DEFAULT_RETRY_CAP,
        };
        if let Some(r) = &raw.retries {
            retries.max = r.max.unwrap_or(0);
            if let Some(b) = &r.backoff {
                retries.backoff = self
                    .duration(b, &k("retries.backoff"))
                    .unwrap_or(retries.backoff);
            }
            if let Some(c) = &r.cap {
                retries.cap = self.duration(c, &k("retries.cap")).unwrap_or(retries.cap);
            }
        }
        let overlap = match raw.overlap {
            Some(RawOverlap::Queue) => Overlap::Queue,
            Some(RawOverlap::Skip) | None => Overlap::Skip,
        };
        let kind = match raw.misfire {
            Some(RawMisfire::RunAll) => Misfire::RunAll,
            Some(RawMisfire::Skip) => Misfire::Skip,
            Some(RawMisfire::RunOnce) | None => Misfire::RunOnce,
        };
        let catch_up_within = raw
            .catch_up_within
            .as_ref()
            .and_then(|d| self.positive_duration(d, &k("catch_up_within")));
        let settings_table = raw.settings.unwrap_or_default();
        let settings_key = k("settings");
        let secrets = self.secret_refs(&settings_key, &settings_table);
        let settings = self.json_table(&settings_key, &settings_table);
        let fetch = raw
            .fetch
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, step)| self.fetch(&format!("{key}.fetch[{i}]"), step, connections))
            .collect();
        let upload = raw
            .upload
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, step)| self.upload(&format!("{key}.upload[{i}]"), step, connections))
            .collect();
        let arrival = raw
            .trigger
            .as_ref()
            .and_then(|t| t.arrival.as_ref())
            .and_then(|a| self.arrival(&k("trigger.arrival"), a, connections));

        Some(JobSpec {
            name: name.to_owned(),
            plugin_path: plugin_library(&scheduler.plugin_dir, plugin.as_deref()?),
            plugin: plugin?,
            description: raw
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            schedule_text: raw.schedule.map(|s| s.into_inner().trim().to_owned()),
            schedule,
            timezone: timezone?,
            enabled: raw.enabled.unwrap_or(true),
            timeout,
            retries,
            overlap,
            misfire: MisfirePolicy {
                kind,
                catch_up_within,
            },
            settings,
            secrets,
            fetch,
            upload,
            arrival,
            notify: raw
                .notify
                .as_ref()
                .map(|n| self.notify(&k("notify"), n.get_ref())),
        })
    }

    /// `[mail]`: a valid SMTP URL and sender, at most one password reference.
    fn mail(&mut self, raw: &RawMail) -> Option<MailSettings> {
        const KEY: &str = "mail";
        let smtp_url = match &raw.smtp_url {
            Some(url) => self.smtp_url(url).then(|| url.get_ref().trim().to_owned()),
            None => {
                self.at_key(KEY, "missing key `smtp_url`, e.g. smtp_url = \"smtp://mail.example.org:587?tls=required\"");
                None
            }
        };
        let from = match &raw.from {
            Some(from) => self.mailbox(from, "mail.from"),
            None => {
                self.at_key(
                    KEY,
                    "missing key `from`: the sender address, e.g. from = \"ferry@example.org\"",
                );
                None
            }
        };
        let username = match &raw.username {
            Some(u) if u.get_ref().trim().is_empty() => {
                self.error(u, "mail.username", "must not be empty");
                None
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        };
        let password = self.secret_pair(KEY, "password", &raw.password_env, &raw.password_file);
        let timeout = match &raw.timeout {
            Some(t) => self
                .positive_duration(t, "mail.timeout")
                .unwrap_or(DEFAULT_MAIL_TIMEOUT),
            None => DEFAULT_MAIL_TIMEOUT,
        };
        let ca_file = raw
            .ca_file
            .as_ref()
            .and_then(|p| self.path(p, "mail.ca_file"));
        let mut retries = DEFAULT_MAIL_RETRIES;
        if let Some(r) = &raw.retries {
            retries.max = r.max.unwrap_or(retries.max);
            if let Some(b) = &r.backoff {
                retries.backoff = self
                    .positive_duration(b, "mail.retries.backoff")
                    .unwrap_or(retries.backoff);
            }
            if let Some(c) = &r.cap {
                retries.cap = self
                    .positive_duration(c, "mail.retries.cap")
                    .unwrap_or(retries.cap);
            }
        }
        let notify = raw
            .notify
            .as_ref()
            .map(|n| self.notify("mail.notify", n.get_ref()))
            .unwrap_or_default();
        Some(MailSettings {
            smtp_url: smtp_url?,
            from: from?,
            username,
            password,
            timeout,
            ca_file,
            retries,
            notify,
        })
    }

    /// `smtp://HOST[:PORT][?tls=required]` or `smtps://HOST[:PORT]`, with no user or password.
    fn smtp_url(&mut self, raw: &Spanned<String>) -> bool {
        const KEY: &str = "mail.smtp_url";
        let url = raw.get_ref().trim();
        let (rest, tls) = if let Some(rest) = url.strip_prefix("smtp://") {
            (rest, false)
        } else if let Some(rest) = url.strip_prefix("smtps://") {
            (rest, true)
        } else {
            self.error(
                raw,
                KEY,
                format!("unsupported mail url `{url}`: expected smtp://HOST:PORT, smtp://HOST:PORT?tls=required or smtps://HOST:PORT"),
            );
            return false;
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        if authority.contains('@') {
            self.error(
                raw,
                KEY,
                "secrets are never inline: leave the user and password out of the URL and use `username` and `password_env` / `password_file`",
            );
            return false;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() || host.contains(['/', ' ']) {
            self.error(
                raw,
                KEY,
                format!("`{url}` names no host: expected smtp://HOST:PORT"),
            );
            return false;
        }
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            self.error(
                raw,
                KEY,
                format!("invalid port `{port}`: expected 1 to 65535"),
            );
            return false;
        }
        match query {
            "" => true,
            "tls=required" if !tls => true,
            _ => {
                self.error(
                    raw,
                    KEY,
                    format!("unsupported option `?{query}`: only smtp://HOST:PORT?tls=required (STARTTLS) is known"),
                );
                false
            }
        }
    }

    /// An email address: `local@domain`, no spaces, no characters that end a header.
    fn address(&mut self, raw: &Spanned<String>, key: &str) -> Option<String> {
        let text = raw.get_ref().trim();
        let valid = text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c));
        if valid {
            Some(text.to_owned())
        } else {
            self.error(
                raw,
                key,
                format!("`{text}` is not an email address: expected name@example.org"),
            );
            None
        }
    }

    /// A sender: `name@example.org` or `Display Name <name@example.org>`.
    fn mailbox(&mut self, raw: &Spanned<String>, key: &str) -> Option<String> {
        let text = raw.get_ref().trim();
        match text.parse::<lettre::message::Mailbox>() {
            Ok(_) if !text.chars().any(char::is_control) => Some(text.to_owned()),
            _ => {
                self.error(
                    raw,
                    key,
                    format!(
                        "`{text}` is not an email address: expected name@example.org or \
                         Name <name@example.org>"
                    ),
                );
                None
            }
        }
    }

    /// The addresses of one `notify` list.
    fn addresses(&mut self, key: &str, raw: &Option<Vec<Spanned<String>>>) -> Vec<String> {
        raw.iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, a)| self.address(a, &format!("{key}[{i}]")))
            .collect()
    }

    /// `notify = { always, on_failure, on_success, on_recovery }` at `key`.
    fn notify(&mut self, key: &str, raw: &RawNotify) -> NotifyLists {
        NotifyLists {
            always: self.addresses(&format!("{key}.always"), &raw.always),
            on_failure: self.addresses(&format!("{key}.on_failure"), &raw.on_failure),
            on_success: self.addresses(&format!("{key}.on_success"), &raw.on_success),
            on_recovery: self.addresses(&format!("{key}.on_recovery"), &raw.on_recovery),
        }
    }

    /// True when a `notify` table lists no address at all.
    fn notify_is_empty(&self, raw: &RawNotify) -> bool {
        [
            &raw.always,
            &raw.on_failure,
            &raw.on_success,
            &raw.on_recovery,
        ]
        .iter()
        .all(|l| l.as_ref().is_none_or(Vec::is_empty))
    }

    /// `[connections.NAME]`: the keys its kind needs, and no key of another kind.
    fn connection(&mut self, key: &str, entry: RawConnectionEntry) -> Option<ConnectionSpec> {
        let RawConnectionEntry {
            name,
            name_span,
            connection: raw,
        } = entry;
        let k = |sub: &str| format!("{key}.{sub}");
        let Some(kind) = raw.kind.as_ref().map(|kind| *kind.get_ref()) else {
            // A `kind` written with a bad value was reported by stage one.
            if !self.sources.contains(&k("kind")) {
                let d = self.source.at(
                    &name_span,
                    &k("kind"),
                    "missing key `kind`: one of \"sftp\", \"ftp\", \"ftps\" or \"local\"",
                );
                self.push(d);
            }
            return None;
        };
        self.keys_of_other_kinds(key, kind, &raw);
        let connect_timeout = raw
            .connect_timeout
            .as_ref()
            .map_or(Some(DEFAULT_CONNECT_TIMEOUT), |t| {
                self.positive_duration(t, &k("connect_timeout"))
            });
        let io_timeout = raw
            .io_timeout
            .as_ref()
            .map_or(Some(DEFAULT_IO_TIMEOUT), |t| {
                self.positive_duration(t, &k("io_timeout"))
            });
        let retry_backoff = raw
            .retry_backoff
            .as_ref()
            .map_or(Some(DEFAULT_CONNECTION_RETRY_BACKOFF), |t| {
                self.duration(t, &k("retry_backoff"))
            });
        let kind = match kind {
            RawConnectionKind::Sftp => self.sftp(key, &name_span, &raw),
            RawConnectionKind::Ftp => self.ftp(key, &name_span, &raw, false),
            RawConnectionKind::Ftps => self.ftp(key, &name_span, &raw, true),
            RawConnectionKind::Local => self
                .required(
                    &raw.path,
                    key,
                    "path",
                    &name_span,
                    "the folder, e.g. path = \"var/dropbox\"",
                )
                .and_then(|p| self.path(p, &k("path")))
                .map(|path| ConnectionKind::Local { path }),
        };
        Some(ConnectionSpec {
            name,
            kind: kind?,
            connect_timeout: connect_timeout?,
            io_timeout: io_timeout?,
            retries: raw
                .retries
                .as_ref()
                .map_or(DEFAULT_CONNECTION_RETRIES, |r| *r.get_ref()),
            retry_backoff: retry_backoff?,
        })
    }

    /// Reports keys written for a connection whose kind does not use them.
    fn keys_of_other_kinds(&mut self, key: &str, kind: RawConnectionKind, raw: &RawConnection) {
        let written = [
            ("host", raw.host.is_some()),
            ("port", raw.port.is_some()),
            ("user", raw.user.is_some()),
            ("private_key", raw.private_key.is_some()),
            ("passphrase_env", raw.passphrase_env.is_some()),
            ("passphrase_file", raw.passphrase_file.is_some()),
            ("password_env", raw.password_env.is_some()),
            ("password_file", raw.password_file.is_some()),
            ("known_hosts", raw.known_hosts.is_some()),
            ("passive", raw.passive.is_some()),
            ("ca_file", raw.ca_file.is_some()),
            ("path", raw.path.is_some()),
        ];
        for (name, is_written) in written {
            if is_written && !key_applies(kind, name) {
                self.at_key(
                    &diagnostic::join(key, name),
                    format!(
                        "`{name}` does not apply to {} connections (it is for {})",
                        kind.as_str(),
                        kinds_using(name)
                    ),
                );
            }
        }
    }

    /// `kind = "sftp"`.
    fn sftp(
        &mut self,
        key: &str,
        name_span: &std::ops::Range<usize>,
        raw: &RawConnection,
    ) -> Option<ConnectionKind> {
        let k = |sub: &str| format!("{key}.{sub}");
        let host = self.host(key, name_span, raw);
        let port = self.port(raw, key, DEFAULT_SFTP_PORT);
        let user = self.user(key, name_span, raw);
        let private_key = match &raw.private_key {
            Some(p) if looks_like_key_text(p.get_ref()) => {
                self.error(
                    p,
                    &k("private_key"),
                    "secrets are never inline: private_key is the path of a key file, not the key itself",
                );
                None
            }
            Some(p) => self.path(p, &k("private_key")),
            None => None,
        };
        let passphrase =
            self.secret_pair(key, "passphrase", &raw.passphrase_env, &raw.passphrase_file);
        let password = self.secret_pair(key, "password", &raw.password_env, &raw.password_file);
        if raw.private_key.is_none() {
            for (name, written) in [
                ("passphrase_env", &raw.passphrase_env),
                ("passphrase_file", &raw.passphrase_file),
            ] {
                if let Some(v) = written {
                    self.error(
                        v,
                        &k(name),
                        "a passphrase unlocks `private_key`, which is not set",
                    );
                }
            }
        }
        // An inline `password` was reported as such; don't also call the login method missing.
        let any_auth_written = ["private_key", "password_env", "password_file", "password"]
            .iter()
            .any(|sub| self.sources.contains(&k(sub)));
        if !any_auth_written {
            let d = self.source.at(
                name_span,
                key,
                "an sftp connection needs `private_key = \"/path\"` or `password_env` / `password_file` to log in",
            );
            self.push(d);
        }
        let known_hosts = self
            .required(
                &raw.known_hosts,
                key,
                "known_hosts",
                name_span,
                "the server's host key is always verified; name an OpenSSH known_hosts file \
                 (`ferry connections trust NAME` adds the key to it)",
            )
            .and_then(|p| self.path(p, &k("known_hosts")));
        Some(ConnectionKind::Sftp {
            host: host?,
            port: port?,
            user: user?,
            private_key,
            passphrase,
            password,
            known_hosts: known_hosts?,
        })
    }

    /// `kind = "ftp"` or `kind = "ftps"` (`tls`).
    fn ftp(
        &mut self,
        key: &str,
        name_span: &std::ops::Range<usize>,
        raw: &RawConnection,
        tls: bool,
    ) -> Option<ConnectionKind> {
        let host = self.host(key, name_span, raw);
        let port = self.port(raw, key, DEFAULT_FTP_PORT);
        let user = self.user(key, name_span, raw);
        let password = self.secret_pair(key, "password", &raw.password_env, &raw.password_file);
        let ca_file = match &raw.ca_file {
            Some(p) if tls => self.path(p, &format!("{key}.ca_file")),
            _ => None,
        };
        Some(ConnectionKind::Ftp {
            host: host?,
            port: port?,
            user: user?,
            password,
            passive: raw.passive.as_ref().is_none_or(|p| *p.get_ref()),
            tls,
            ca_file,
        })
    }

    /// The value of a required key, or a diagnostic at the section's name when it is not
    /// written (a key written with the wrong type was reported by stage one).
    fn required<'r, T>(
        &mut self,
        value: &'r Option<Spanned<T>>,
        section: &str,
        name: &str,
        name_span: &std::ops::Range<usize>,
        what: &str,
    ) -> Option<&'r Spanned<T>> {
        let key = diagnostic::join(section, name);
        if value.is_none() && !self.sources.contains(&key) {
            let d = self
                .source
                .at(name_span, &key, format!("missing key `{name}`: {what}"));
            self.push(d);
        }
        value.as_ref()
    }

    /// `host`: a name or address alone, no scheme, port or path.
    fn host(
        &mut self,
        key: &str,
        name_span: &std::ops::Range<usize>,
        raw: &RawConnection,
    ) -> Option<String> {
        let host = self.required(
            &raw.host,
            key,
            "host",
            name_span,
            "the server's name or address",
        )?;
        let text = host.get_ref().trim();
        let problem = if text.is_empty() {
            Some("must not be empty")
        } else if text.contains("://") {
            Some("write the host name alone, without a scheme (the scheme is `kind`)")
        } else if text.contains(['/', '@']) || text.chars().any(char::is_whitespace) {
            Some(
                "write the host name alone: put the user in `user` and folders in a job's `remote_dir`",
            )
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(host, &format!("{key}.host"), problem);
            return None;
        }
        Some(text.to_owned())
    }

    fn user(
        &mut self,
        key: &str,
        name_span: &std::ops::Range<usize>,
        raw: &RawConnection,
    ) -> Option<String> {
        let user = self.required(
            &raw.user,
            key,
            "user",
            name_span,
            "the account to log in as",
        )?;
        if user.get_ref().trim().is_empty() {
            self.error(user, &format!("{key}.user"), "must not be empty");
            return None;
        }
        Some(user.get_ref().trim().to_owned())
    }

    fn port(&mut self, raw: &RawConnection, key: &str, default: u16) -> Option<u16> {
        match &raw.port {
            Some(p) if *p.get_ref() == 0 => {
                self.error(p, &format!("{key}.port"), "must be between 1 and 65535");
                None
            }
            Some(p) => Some(*p.get_ref()),
            None => Some(default),
        }
    }

    /// A path written in a connection: not empty, no `~`, made absolute.
    fn path(&mut self, raw: &Spanned<String>, key: &str) -> Option<PathBuf> {
        let text = raw.get_ref();
        if text.trim().is_empty() {
            self.error(raw, key, "must not be empty");
            return None;
        }
        if text.starts_with('~') {
            self.error(raw, key, "`~` is not expanded here: write the full path");
            return None;
        }
        Some(absolute(Path::new(text)))
    }

    /// `BASE_env` / `BASE_file` of a connection: at most one, naming a variable or a file.
    fn secret_pair(
        &mut self,
        key: &str,
        base: &str,
        env: &Option<Spanned<String>>,
        file: &Option<Spanned<String>>,
    ) -> Option<SecretRef> {
        let env_key = format!("{key}.{base}{}", secret::ENV_SUFFIX);
        let file_key = format!("{key}.{base}{}", secret::FILE_SUFFIX);
        if let (Some(_), Some(f)) = (env, file) {
            self.error(
                f,
                &file_key,
                format!("give either `{base}_env` or `{base}_file`, not both"),
            );
            return None;
        }
        if let Some(var) = env {
            let text = var.get_ref().trim();
            if text.is_empty() {
                self.error(
                    var,
                    &env_key,
                    "expected the name of an environment variable holding the secret",
                );
                return None;
            }
            if text.contains(['=', '\0']) {
                self.error(
                    var,
                    &env_key,
                    format!("`{text}` is not an environment variable name"),
                );
                return None;
            }
            return Some(SecretRef::Env(text.to_owned()));
        }
        let f = file.as_ref()?;
        if f.get_ref().trim().is_empty() {
            self.error(
                f,
                &file_key,
                "expected the path of a file holding the secret",
            );
            return None;
        }
        self.path(f, &file_key).map(SecretRef::File)
    }

    /// `connection = "NAME"` of a fetch, upload or arrival at `key` (written at `item`).
    fn connection_ref(
        &mut self,
        key: &str,
        item: &std::ops::Range<usize>,
        raw: &Option<Spanned<String>>,
        connections: &[String],
        what: &str,
    ) -> Option<String> {
        let Some(name) = raw else {
            if !self.sources.contains(&format!("{key}.connection")) {
                let d = self.source.at(
                    item,
                    &format!("{key}.connection"),
                    format!("missing key `connection`: the [connections.NAME] to {what}"),
                );
                self.push(d);
            }
            return None;
        };
        let text = name.get_ref();
        if !self
            .sources
            .contains(&diagnostic::join("connections", text))
        {
            let known = if connections.is_empty() {
                "no connections are configured".to_owned()
            } else {
                format!("configured: {}", connections.join(", "))
            };
            self.error(
                name,
                &format!("{key}.connection"),
                format!("unknown connection `{text}`: define [connections.{text}] ({known})"),
            );
            return None;
        }
        Some(text.clone())
    }

    /// `remote_dir`: default `.`, never empty.
    fn remote_dir(&mut self, key: &str, raw: &Option<Spanned<String>>) -> Option<String> {
        match raw {
            None => Some(DEFAULT_REMOTE_DIR.to_owned()),
            Some(d) if d.get_ref().trim().is_empty() => {
                self.error(
                    d,
                    &format!("{key}.remote_dir"),
                    "must not be empty: write \".\" for the connection's root",
                );
                None
            }
            Some(d) => Some(d.get_ref().trim().to_owned()),
        }
    }

    /// A glob on file names at `key`: no `/`, valid syntax.
    fn glob(&mut self, raw: &Spanned<String>, key: &str) -> Option<glob::Pattern> {
        let text = raw.get_ref();
        if text.is_empty() {
            self.error(raw, key, "must not be empty: write \"*\" for every file");
            return None;
        }
        if text.contains('/') {
            self.error(
                raw,
                key,
                "a pattern matches file names, so it cannot contain `/`: put folders in `remote_dir`",
            );
            return None;
        }
        match glob::Pattern::new(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(
                    raw,
                    key,
                    format!(
                        "invalid pattern `{text}`: {} (at character {})",
                        e.msg,
                        e.pos + 1
                    ),
                );
                None
            }
        }
    }

    /// `pattern`: default `*`.
    fn pattern(&mut self, key: &str, raw: &Option<Spanned<String>>) -> Option<glob::Pattern> {
        match raw {
            Some(p) => self.glob(p, &format!("{key}.pattern")),
            None => glob::Pattern::new(DEFAULT_PATTERN).ok(),
        }
    }

    /// One `fetch` step at `key` (`jobs.NAME.fetch[i]`).
    fn fetch(
        &mut self,
        key: &str,
        raw: &Spanned<RawFetch>,
        connections: &[String],
    ) -> Option<FetchStep> {
        let span = raw.span();
        let step = raw.get_ref();
        let connection =
            self.connection_ref(key, &span, &step.connection, connections, "fetch from");
        let remote_dir = self.remote_dir(key, &step.remote_dir);
        let pattern = self.pattern(key, &step.pattern);
        let mut required = Vec::new();
        for (i, name) in step.required.iter().flatten().enumerate() {
            let at = format!("{key}.required[{i}]");
            let Some(p) = self.glob(name, &at) else {
                continue;
            };
            let literal = !name.get_ref().contains(['*', '?', '[']);
            if let Some(pattern) = &pattern
                && literal
                && !pattern.matches(name.get_ref())
            {
                self.error(
                    name,
                    &at,
                    format!(
                        "`{}` does not match the step's pattern `{}`, so it can never be fetched",
                        name.get_ref(),
                        pattern.as_str()
                    ),
                );
                continue;
            }
            required.push(p);
        }
        let after = match &step.after {
            None => Some(AfterFetch::Keep),
            Some(a) => self.after(a, &format!("{key}.after")),
        };
        let settle = match &step.settle {
            None => Some(crate::transfer::steps::DEFAULT_SETTLE),
            Some(d) => self.duration(d, &format!("{key}.settle")),
        };
        Some(FetchStep {
            connection: connection?,
            remote_dir: remote_dir?,
            pattern: pattern?,
            required,
            after: after?,
            settle: settle?,
        })
    }

    /// `after = "keep" | "delete" | "archive:DIR"`.
    fn after(&mut self, raw: &Spanned<String>, key: &str) -> Option<AfterFetch> {
        let text = raw.get_ref().trim();
        match text {
            "keep" => return Some(AfterFetch::Keep),
            "delete" => return Some(AfterFetch::Delete),
            _ => {}
        }
        if let Some(dir) = text.strip_prefix("archive:") {
            let dir = dir.trim();
            if !dir.is_empty() {
                return Some(AfterFetch::Archive(dir.to_owned()));
            }
            self.error(
                raw,
                key,
                "`archive:` needs a folder: after = \"archive:DIR\" (relative to the connection's root unless absolute)",
            );
            return None;
        }
        self.error(
            raw,
            key,
            format!("unknown value `{text}`: expected \"keep\", \"delete\" or \"archive:DIR\""),
        );
        None
    }

    /// One `upload` step at `key` (`jobs.NAME.upload[i]`).
    fn upload(
        &mut self,
        key: &str,
        raw: &Spanned<RawUpload>,
        connections: &[String],
    ) -> Option<UploadStep> {
        let span = raw.span();
        let step = raw.get_ref();
        let connection =
            self.connection_ref(key, &span, &step.connection, connections, "upload to");
        let remote_dir = self.remote_dir(key, &step.remote_dir);
        let pattern = self.pattern(key, &step.pattern);
        Some(UploadStep {
            connection: connection?,
            remote_dir: remote_dir?,
            pattern: pattern?,
        })
    }

    /// `trigger.arrival` at `key` (`jobs.NAME.trigger.arrival`).
    fn arrival(
        &mut self,
        key: &str,
        raw: &Spanned<RawArrival>,
        connections: &[String],
    ) -> Option<ArrivalTrigger> {
        let span = raw.span();
        let a = raw.get_ref();
        let connection = self.connection_ref(key, &span, &a.connection, connections, "watch");
        let remote_dir = self.remote_dir(key, &a.remote_dir);
        let pattern = self.pattern(key, &a.pattern);
        let poll = match &a.poll {
            None => Some(DEFAULT_ARRIVAL_POLL),
            Some(p) => self.positive_duration(p, &format!("{key}.poll")),
        };
        Some(ArrivalTrigger {
            connection: connection?,
            remote_dir: remote_dir?,
            pattern: pattern?,
            poll: poll?,
        })
    }

    /// The settings' top-level `NAME_env` / `NAME_file` keys: base name → where to read it.
    fn secret_refs(&mut self, key: &str, settings: &toml::Table) -> BTreeMap<String, SecretRef> {
        let mut out = BTreeMap::new();
        for (k, v) in settings {
            let Some((base, is_env)) = secret::split_reference(k) else {
                continue;
            };
            let full = diagnostic::join(key, k);
            let Some(text) = v.as_str().filter(|s| !s.trim().is_empty()) else {
                let what = if is_env {
                    "the name of an environment variable"
                } else {
                    "the path of a file"
                };
                self.at_key(
                    &full,
                    format!("expected a string: {what} holding the secret"),
                );
                continue;
            };
            if is_env && (text.contains('=') || text.contains('\0')) {
                self.at_key(
                    &full,
                    format!("`{text}` is not an environment variable name"),
                );
                continue;
            }
            let reference = if is_env {
                SecretRef::Env(text.to_owned())
            } else {
                SecretRef::File(absolute(Path::new(text)))
            };
            if out.insert(base.to_owned(), reference).is_some() {
                self.at_key(
                    &full,
                    format!("give either `{base}_env` or `{base}_file`, not both"),
                );
            }
        }
        out
    }

    /// A diagnostic at the key `key` (a dotted path), located through the source map.
    fn at_key(&mut self, key: &str, message: impl Into<String>) {
        let d = self.sources.diagnostic(key, message);
        self.push(d);
    }

    /// A TOML table as JSON. Datetimes become their TOML text; non-finite floats are errors.
    fn json_table(&mut self, key: &str, table: &toml::Table) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, v) in table {
            let full = diagnostic::join(key, k);
            map.insert(k.clone(), self.json(&full, v));
        }
        serde_json::Value::Object(map)
    }

    fn json(&mut self, key: &str, value: &toml::Value) -> serde_json::Value {
        use serde_json::Value as J;
        match value {
            toml::Value::String(s) => J::String(s.clone()),
            toml::Value::Integer(i) => J::from(*i),
            toml::Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => J::Number(n),
                None => {
                    self.at_key(key, "settings must be finite numbers (no nan or inf)");
                    J::Null
                }
            },
            toml::Value::Boolean(b) => J::Bool(*b),
            toml::Value::Datetime(d) => J::String(d.to_string()),
            toml::Value::Array(items) => J::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json(&format!("{key}[{i}]"), item))
                    .collect(),
            ),
            toml::Value::Table(t) => self.json_table(key, t),
        }
    }
}
