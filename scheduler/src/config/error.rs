//! The configuration area's error type, for failures after loading (resolving job and
//! connection secrets) and for
//! carrying load diagnostics into the crate error.

use super::Diagnostics;
use std::path::PathBuf;

/// What can go wrong with configuration once it is loaded.
///
/// Messages name the job or connection and the variable or file, never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file did not validate; the diagnostics say where and why.
    #[error("invalid configuration:\n{0}")]
    Invalid(Diagnostics),
    /// `NAME_env = "VAR"` names an environment variable that is not set.
    #[error("job {job}: secret `{name}` reads environment variable {var}, which is not set")]
    SecretEnvMissing {
        job: String,
        name: String,
        var: String,
    },
    /// `NAME_env = "VAR"` names an environment variable whose value is not UTF-8.
    #[error(
        "job {job}: secret `{name}` reads environment variable {var}, which is not valid UTF-8"
    )]
    SecretEnvNotUnicode {
        job: String,
        name: String,
        var: String,
    },
    /// `NAME_file = "/path"` names a file that cannot be read as UTF-8 text.
    #[error("job {job}: secret `{name}` reads file {}: {source}", path.display())]
    SecretFile {
        job: String,
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A connection's `NAME_env = "VAR"` names an environment variable that is not set.
    #[error("{owner}: secret `{name}` reads environment variable {var}, which is not set")]
    ConnectionSecretEnvMissing {
        /// `connection NAME` or `[mail]`.
        owner: String,
        name: String,
        var: String,
    },
    /// A connection's `NAME_env = "VAR"` names an environment variable whose value is not UTF-8.
    #[error("{owner}: secret `{name}` reads environment variable {var}, which is not valid UTF-8")]
    ConnectionSecretEnvNotUnicode {
        /// `connection NAME` or `[mail]`.
        owner: String,
        name: String,
        var: String,
    },
    /// A connection's `NAME_file = "/path"` names a file that cannot be read as UTF-8 text.
    #[error("{owner}: secret `{name}` reads file {}: {source}", path.display())]
    ConnectionSecretFile {
        /// `connection NAME` or `[mail]`.
        owner: String,
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<Diagnostics> for ConfigError {
    fn from(d: Diagnostics) -> Self {
        ConfigError::Invalid(d)
    }
}
