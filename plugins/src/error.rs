//! The error a job returns. Hand-written `Display`/`Error`: the SDK depends on serde only.

use std::fmt;

/// Why a run failed. The run is recorded as failed with this error's message.
///
/// New variants may be added without a major version bump.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobError {
    /// The job's settings (or a `--set` parameter) are missing or malformed.
    Settings { message: String },
    /// A host service (job state, ...) failed or could not be reached.
    Host { message: String },
    /// The folder or file a host call names does not exist on the server: returned by
    /// [`Context::list_files`](crate::Context::list_files) for a missing folder,
    /// [`Context::fetch_file`](crate::Context::fetch_file) for a missing file and
    /// [`Context::rename_file`](crate::Context::rename_file) for a missing source. The message
    /// names the connection and the path. See also [`JobError::is_not_found`].
    NotFound { message: String },
    /// The host asked the run to stop (timeout, shutdown) and the job gave up.
    Cancelled,
    /// A file operation failed; `context` says what was being done.
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Any other failure, with a message for the operator.
    Failed { message: String },
}

impl JobError {
    /// A failure with a message for the operator.
    pub fn msg(message: impl fmt::Display) -> JobError {
        JobError::Failed {
            message: message.to_string(),
        }
    }

    /// A settings error with a message naming the setting.
    pub fn settings(message: impl fmt::Display) -> JobError {
        JobError::Settings {
            message: message.to_string(),
        }
    }

    /// True for [`JobError::NotFound`]: the folder or file a host call named does not exist,
    /// e.g. a response folder the server has not created yet.
    pub fn is_not_found(&self) -> bool {
        matches!(self, JobError::NotFound { .. })
    }

    /// An I/O error with what was being done, e.g. `"writing /out/x.csv"`.
    pub fn io(context: impl fmt::Display, source: std::io::Error) -> JobError {
        JobError::Io {
            context: context.to_string(),
            source,
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Settings { message } => write!(f, "invalid settings: {message}"),
            JobError::Host { message } => write!(f, "host service failed: {message}"),
            JobError::NotFound { message } => write!(f, "not found: {message}"),
            JobError::Cancelled => f.write_str("cancelled by the host"),
            JobError::Io { context, source } => write!(f, "{context}: {source}"),
            JobError::Failed { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<std::io::Error> for JobError {
    fn from(source: std::io::Error) -> JobError {
        JobError::Io {
            context: "i/o error".to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_kind_of_failure() {
        assert_eq!(
            JobError::settings("rows must be an integer").to_string(),
            "invalid settings: rows must be an integer"
        );
        assert_eq!(JobError::Cancelled.to_string(), "cancelled by the host");
        let io = JobError::io(
            "writing out.csv",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        assert_eq!(io.to_string(), "writing out.csv: denied");
        assert!(std::error::Error::source(&io).is_some());
        assert!(!io.is_not_found());
        let missing = JobError::NotFound {
            message: "connection drop: list out: no such file or directory".to_owned(),
        };
        assert!(missing.is_not_found());
        assert_eq!(
            missing.to_string(),
            "not found: connection drop: list out: no such file or directory"
        );
        assert!(
            !JobError::Host {
                message: "down".to_owned()
            }
            .is_not_found()
        );
    }
}
