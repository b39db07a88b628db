//! Secrets: which keys may never hold a value inline, and resolving a job's secret references
//! (`NAME_env`, `NAME_file`) at run time.
//!
//! A secret's value never enters the configuration, the store, a log or an error message: the
//! configuration only says where to read it, and errors name the variable or file.

use super::{ConfigError, JobSpec, SecretRef};
use std::collections::BTreeMap;

/// Key names that always hold a secret.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "private_key",
    "client_secret",
];

/// Suffixes of key names that always hold a secret.
const SECRET_SUFFIXES: &[&str] = &["_password", "_secret", "_token"];

/// Suffix of a setting that names an environment variable holding a secret.
pub(crate) const ENV_SUFFIX: &str = "_env";
/// Suffix of a setting that names a file holding a secret.
pub(crate) const FILE_SUFFIX: &str = "_file";

/// Whether a key named `key` would hold a secret (compared case-insensitively).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_NAMES.contains(&key.as_str()) || SECRET_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// The message for a secret written inline under `key`.
pub(crate) fn inline_secret_message(key: &str) -> String {
    format!("secrets are never inline: use {key}_env = \"VAR\" or {key}_file = \"/path\"")
}

/// Splits a secret reference key: `password_env` → (`password`, env).
pub(crate) fn split_reference(key: &str) -> Option<(&str, bool)> {
    if let Some(base) = key.strip_suffix(ENV_SUFFIX) {
        return (!base.is_empty()).then_some((base, true));
    }
    key.strip_suffix(FILE_SUFFIX)
        .filter(|b| !b.is_empty())
        .map(|b| (b, false))
}

/// Reads every secret `job` references: base name → value.
///
/// File contents lose one trailing newline (`\n` or `\r\n`), as written by `echo` or an editor.
///
/// # Errors
/// The first variable that is unset or not UTF-8, or file that cannot be read; the error names
/// the job, the setting and the variable or file, never a value.
pub fn resolve_secrets(job: &JobSpec) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, reference) in &job.secrets {
        let value = match reference {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(ConfigError::SecretEnvMissing {
                        job: job.name.clone(),
                        name: name.clone(),
                        var: var.clone(),
                    });
                }
                // The error would carry the raw value: drop it.
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError::SecretEnvNotUnicode {
                        job: job.name.clone(),
                        name: name.clone(),
                        var: var.clone(),
                    });
                }
            },
            SecretRef::File(path) => {
                let mut text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                        job: job.name.clone(),
                        name: name.clone(),
                        path: path.clone(),
                        source,
                    })?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                text
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Misfire, MisfirePolicy, Overlap, RetryPolicy};
    use std::time::Duration;

    fn job(secrets: &[(&str, SecretRef)]) -> JobSpec {
        JobSpec {
            name: "nightly".into(),
            plugin: "example".into(),
            plugin_path: "/x/libferry_job_example.so".into(),
            schedule: None,
            schedule_text: None,
            timezone: chrono_tz::Tz::UTC,
            enabled: true,
            timeout: None,
            retries: RetryPolicy {
                max: 0,
                backoff: Duration::from_secs(30),
                cap: Duration::from_secs(600),
            },
            overlap: Overlap::Skip,
            misfire: MisfirePolicy {
                kind: Misfire::RunOnce,
                catch_up_within: None,
            },
            settings: serde_json::Value::Null,
            secrets: secrets
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn secret_key_names_are_recognised() {
        for k in [
            "password",
            "PASSWORD",
            "passphrase",
            "token",
            "api_key",
            "private_key",
            "client_secret",
            "db_password",
            "sftp_secret",
            "refresh_token",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "password_env",
            "token_file",
            "tokens",
            "rows",
            "greeting",
            "secretary",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn file_secrets_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let unix = dir.path().join("a");
        let windows = dir.path().join("b");
        std::fs::write(&unix, "s3cret\n\n").unwrap();
        std::fs::write(&windows, "other\r\n").unwrap();
        let got = resolve_secrets(&job(&[
            ("password", SecretRef::File(unix)),
            ("token", SecretRef::File(windows)),
        ]))
        .unwrap();
        assert_eq!(got["password"], "s3cret\n");
        assert_eq!(got["token"], "other");
    }

    #[test]
    fn env_secrets_are_read_from_the_environment() {
        // PATH is set in every test environment; its value stands in for a secret.
        let want = std::env::var("PATH").unwrap();
        let got = resolve_secrets(&job(&[("api_key", SecretRef::Env("PATH".into()))])).unwrap();
        assert_eq!(got["api_key"], want);
    }

    #[test]
    fn errors_name_the_job_and_the_source_but_not_a_value() {
        let err = resolve_secrets(&job(&[(
            "password",
            SecretRef::Env("FERRY_TEST_SURELY_UNSET_VARIABLE".into()),
        )]))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "job nightly: secret `password` reads environment variable FERRY_TEST_SURELY_UNSET_VARIABLE, which is not set"
        );
        let err = resolve_secrets(&job(&[(
            "token",
            SecretRef::File("/nonexistent/ferry/t".into()),
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("job nightly: secret `token` reads file /nonexistent/ferry/t: "),
            "{err}"
        );
    }
}
