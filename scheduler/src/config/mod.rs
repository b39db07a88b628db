//! Configuration: the TOML file → validated [`Config`], in two stages (style H7).
//!
//! - `raw`: the text as written, in serde types with spans: syntax, known keys, value types, no
//!   inline secrets.
//! - `validate`: every value interpreted once (cron, zones, durations, plugin paths, secret
//!   references, connections, file patterns, the connection each fetch, upload and arrival
//!   trigger names), so that nothing after `config` re-checks a string.
//!
//! Every problem is collected (not just the first) as a [`Diagnostic`] printed
//! `file:line:col: key: message`. [`check_settings`] checks a job's settings against its
//! plugin's schema later, through the [`SourceMap`] kept in [`Config::sources`].
//! [`resolve_secrets`] reads a job's secrets at run time and [`resolve_connection_secrets`] a
//! connection's; nothing here ever holds a secret value.

mod diagnostic;
mod error;
mod model;
mod raw;
mod secret;
mod settings;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics, Location, SourceMap};
pub use error::ConfigError;
pub use model::*;
pub use secret::{
    ResolvedCredentials, is_secret_key, resolve_connection_secrets, resolve_mail_password,
    resolve_secrets,
};
pub use settings::check_settings;
pub use validate::{
    DEFAULT_ARRIVAL_POLL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTION_RETRIES,
    DEFAULT_CONNECTION_RETRY_BACKOFF, DEFAULT_DATABASE, DEFAULT_FTP_PORT,
    DEFAULT_HISTORY_KEEP_DAYS, DEFAULT_IO_TIMEOUT, DEFAULT_MAIL_RETRIES, DEFAULT_MAIL_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_RUNS, DEFAULT_PATTERN, DEFAULT_PLUGIN_DIR, DEFAULT_REMOTE_DIR,
    DEFAULT_RETRY_BACKOFF, DEFAULT_RETRY_CAP, DEFAULT_SFTP_PORT, DEFAULT_WORK_DIR, plugin_library,
    system_timezone,
};

use std::path::{Path, PathBuf};

/// The configuration file used when neither `--config` nor `FERRY_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/ferry.toml";

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "FERRY_CONFIG";

/// Which configuration file to read: `--config`, else `FERRY_CONFIG` (the caller reads the
/// variable and passes its value), else `config/ferry.toml`. Empty values count as absent.
pub fn config_path(flag: Option<PathBuf>, env_value: Option<String>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .or_else(|| env_value.filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

/// Reads and validates the configuration file at `path`.
///
/// # Errors
/// Every problem found, each with file, line, column and key: an unreadable file, TOML syntax,
/// unknown keys, wrong types, invalid values, secrets written inline.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: path.to_owned(),
            line: 1,
            col: 1,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }])
    })?;
    parse(path, &text)
}

/// Validates configuration `text` as if read from `path` (which only names it in diagnostics).
///
/// # Errors
/// As [`load`].
pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
    let (raw, sources, source, mut diags) = raw::parse(path, text);
    let Some(raw) = raw else {
        return Err(Diagnostics::from(diags));
    };
    let config = validate::validate(raw, &source, sources, &mut diags);
    if diags.is_empty() {
        Ok(config)
    } else {
        Err(Diagnostics::from(diags))
    }
}

#[cfg(test)]
mod tests;
