//! The trait a plugin author implements, and the outcome it returns.

use crate::context::Context;
use crate::error::JobError;
use crate::wire::{Description, OutcomeStatus, RunResult};

/// A Ferry job: what a plugin library provides.
///
/// The type must also implement [`Default`]: [`crate::export!`] builds a fresh value with
/// `<T as Default>::default()` for each call of `describe` and `run`. A worker process runs one
/// job once, so keep per-run state in locals inside [`Job::run`], and persistent state in the
/// job state ([`Context::state_get`], [`Context::state_set`]).
pub trait Job: Send + Sync + 'static {
    /// What the job does and which settings it accepts. Ferry validates a job's `settings` table
    /// against this before anything runs (`ferry check`).
    fn describe(&self) -> Description;

    /// Performs one run.
    ///
    /// # Errors
    /// Return a [`JobError`] for a failure; the run is recorded as failed with the error's
    /// message. Returning `Ok(Outcome::failed(..))` has the same effect. A panic is caught by the
    /// SDK and also fails the run ("plugin panicked: ...").
    fn run(&self, ctx: &mut Context) -> Result<Outcome, JobError>;
}

/// How a run ended, with a one-line summary for history and the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Succeeded, succeeded with warnings, or failed.
    pub status: OutcomeStatus,
    /// A one-line summary, or the reason for a failure.
    pub message: Option<String>,
}

impl Outcome {
    /// The run did everything it should.
    pub fn succeeded(message: impl Into<String>) -> Outcome {
        Outcome {
            status: OutcomeStatus::Succeeded,
            message: Some(message.into()),
        }
    }

    /// The run finished, but something needs an operator's attention.
    pub fn warning(message: impl Into<String>) -> Outcome {
        Outcome {
            status: OutcomeStatus::Warning,
            message: Some(message.into()),
        }
    }

    /// The run failed; `message` says why.
    pub fn failed(message: impl Into<String>) -> Outcome {
        Outcome {
            status: OutcomeStatus::Failed,
            message: Some(message.into()),
        }
    }
}

impl Default for Outcome {
    /// Succeeded, without a message.
    fn default() -> Outcome {
        Outcome {
            status: OutcomeStatus::Succeeded,
            message: None,
        }
    }
}

impl From<Outcome> for RunResult {
    fn from(outcome: Outcome) -> RunResult {
        RunResult {
            status: outcome.status,
            message: outcome.message,
        }
    }
}

impl From<JobError> for RunResult {
    fn from(error: JobError) -> RunResult {
        RunResult {
            status: OutcomeStatus::Failed,
            message: Some(error.to_string()),
        }
    }
}
