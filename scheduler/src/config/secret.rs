//! Secrets: which keys may never hold a value inline, and resolving secret references
//! (`NAME_env`, `NAME_file`) at run time: a job's settings ([`resolve_secrets`]) and a
//! connection's password and key passphrase ([`resolve_connection_secrets`]).
//!
//! A secret's value never enters the configuration, the store, a log or an error message: the
//! configuration only says where to read it, and errors name the variable or file.

use super::{ConfigError, ConnectionKind, ConnectionSpec, JobSpec, MailSettings, SecretRef};
use std::collections::BTreeMap;
use std::fmt;

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
        let value = read(Owner::Job(&job.name), name, reference)?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The SMTP password `[mail]` references (`password_env` / `password_file`), read.
///
/// # Errors
/// As [`resolve_connection_secrets`], naming `[mail]`.
pub fn resolve_mail_password(mail: &MailSettings) -> Result<Option<String>, ConfigError> {
    mail.password
        .as_ref()
        .map(|r| read(Owner::Mail, "password", r))
        .transpose()
}

/// A connection's secrets, read. `Debug` never shows the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ResolvedCredentials {
    /// The login password (`password_env` / `password_file`), if the connection names one.
    pub password: Option<String>,
    /// The private key's passphrase (sftp `passphrase_env` / `passphrase_file`), if named.
    pub passphrase: Option<String>,
}

impl fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| if v.is_some() { "Some(***)" } else { "None" };
        f.debug_struct("ResolvedCredentials")
            .field("password", &format_args!("{}", shown(&self.password)))
            .field("passphrase", &format_args!("{}", shown(&self.passphrase)))
            .finish()
    }
}

/// Reads the password and key passphrase `conn` references (local connections have none).
///
/// File contents lose one trailing newline, as for [`resolve_secrets`].
///
/// # Errors
/// A variable that is unset or not UTF-8, or a file that cannot be read; the error names the
/// connection, the secret and the variable or file, never a value.
pub fn resolve_connection_secrets(
    conn: &ConnectionSpec,
) -> Result<ResolvedCredentials, ConfigError> {
    let owner = Owner::Connection(&conn.name);
    let read_opt = |name: &str, reference: &Option<SecretRef>| {
        reference.as_ref().map(|r| read(owner, name, r)).transpose()
    };
    match &conn.kind {
        ConnectionKind::Sftp {
            password,
            passphrase,
            ..
        } => Ok(ResolvedCredentials {
            password: read_opt("password", password)?,
            passphrase: read_opt("passphrase", passphrase)?,
        }),
        ConnectionKind::Ftp { password, .. } => Ok(ResolvedCredentials {
            password: read_opt("password", password)?,
            passphrase: None,
        }),
        ConnectionKind::Local { .. } => Ok(ResolvedCredentials::default()),
    }
}

/// Whose secret is being read, for error messages.
#[derive(Debug, Clone, Copy)]
enum Owner<'a> {
    Job(&'a str),
    Connection(&'a str),
    /// `[mail]`'s SMTP password.
    Mail,
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Job(job) => write!(f, "job {job}"),
            Owner::Connection(connection) => write!(f, "connection {connection}"),
            Owner::Mail => f.write_str("[mail]"),
        }
    }
}

/// Reads one secret `name` of `owner` from where `reference` points.
fn read(owner: Owner<'_>, name: &str, reference: &SecretRef) -> Result<String, ConfigError> {
    let name = name.to_owned();
    match reference {
        SecretRef::Env(var) => match std::env::var(var) {
            Ok(v) => Ok(v),
            Err(std::env::VarError::NotPresent) => {
                let var = var.clone();
                Err(match owner {
                    Owner::Job(job) => ConfigError::SecretEnvMissing {
                        job: job.to_owned(),
                        name,
                        var,
                    },
                    Owner::Connection(_) | Owner::Mail => ConfigError::ConnectionSecretEnvMissing {
                        owner: owner.to_string(),
                        name,
                        var,
                    },
                })
            }
            // The error would carry the raw value: drop it.
            Err(std::env::VarError::NotUnicode(_)) => {
                let var = var.clone();
                Err(match owner {
                    Owner::Job(job) => ConfigError::SecretEnvNotUnicode {
                        job: job.to_owned(),
                        name,
                        var,
                    },
                    Owner::Connection(_) | Owner::Mail => {
                        ConfigError::ConnectionSecretEnvNotUnicode {
                            owner: owner.to_string(),
                            name,
                            var,
                        }
                    }
                })
            }
        },
        SecretRef::File(path) => match std::fs::read_to_string(path) {
            Ok(mut text) => {
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                Ok(text)
            }
            Err(source) => {
                let path = path.clone();
                Err(match owner {
                    Owner::Job(job) => ConfigError::SecretFile {
                        job: job.to_owned(),
                        name,
                        path,
                        source,
                    },
                    Owner::Connection(_) | Owner::Mail => ConfigError::ConnectionSecretFile {
                        owner: owner.to_string(),
                        name,
                        path,
                        source,
                    },
                })
            }
        },
    }
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
            description: None,
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
            fetch: Vec::new(),
            upload: Vec::new(),
            arrival: None,
            notify: None,
        }
    }

    fn sftp(password: Option<SecretRef>, passphrase: Option<SecretRef>) -> ConnectionSpec {
        ConnectionSpec {
            name: "sis".into(),
            kind: ConnectionKind::Sftp {
                host: "sftp.example.org".into(),
                port: 22,
                user: "ferry".into(),
                private_key: Some("/keys/id".into()),
                passphrase,
                password,
                known_hosts: "/keys/known_hosts".into(),
            },
            connect_timeout: Duration::from_secs(15),
            io_timeout: Duration::from_secs(60),
            retries: 3,
            retry_backoff: Duration::from_secs(2),
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

    #[test]
    fn connection_secrets_are_read_and_hidden_from_debug() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "correct horse\n").unwrap();
        let want_passphrase = std::env::var("PATH").unwrap();
        let got = resolve_connection_secrets(&sftp(
            Some(SecretRef::File(file)),
            Some(SecretRef::Env("PATH".into())),
        ))
        .unwrap();
        assert_eq!(got.password.as_deref(), Some("correct horse"));
        assert_eq!(got.passphrase.as_deref(), Some(want_passphrase.as_str()));
        let debug = format!("{got:?}");
        assert_eq!(
            debug,
            "ResolvedCredentials { password: Some(***), passphrase: Some(***) }"
        );
        let none = resolve_connection_secrets(&sftp(None, None)).unwrap();
        assert_eq!(none, ResolvedCredentials::default());
        let local = ConnectionSpec {
            kind: ConnectionKind::Local {
                path: "/srv/drop".into(),
            },
            ..sftp(None, None)
        };
        assert_eq!(
            resolve_connection_secrets(&local).unwrap(),
            ResolvedCredentials::default()
        );
    }

    #[test]
    fn connection_secret_errors_name_the_connection_not_a_value() {
        let err = resolve_connection_secrets(&sftp(
            Some(SecretRef::Env("FERRY_TEST_SURELY_UNSET_VARIABLE".into())),
            None,
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "connection sis: secret `password` reads environment variable FERRY_TEST_SURELY_UNSET_VARIABLE, which is not set"
        );
        let err = resolve_connection_secrets(&sftp(
            None,
            Some(SecretRef::File("/nonexistent/ferry/pp".into())),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "connection sis: secret `passphrase` reads file /nonexistent/ferry/pp: "
            ),
            "{err}"
        );
    }
}
