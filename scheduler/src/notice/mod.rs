//! Result notices: what a finished run's email says (`render`) and who it goes to.
//!
//! The notice is rendered from what the store holds about the run, stored with the run's final
//! status, and delivered later by the outbox sender; nothing here touches the network or the
//! store.

pub mod compose;
pub mod outbox;
pub mod render;
pub mod send;

use crate::config::NoticeOutcome;
use crate::store::model::Status;

/// The recipient-choosing outcome of a final `status`; `None` for statuses that get no notice
/// (`queued`, `running`, `missed`).
pub fn outcome(status: Status) -> Option<NoticeOutcome> {
    match status {
        Status::Succeeded | Status::Warning => Some(NoticeOutcome::Success),
        Status::Failed | Status::TimedOut | Status::Cancelled | Status::Abandoned => {
            Some(NoticeOutcome::Failure)
        }
        Status::Queued | Status::Running | Status::Missed => None,
    }
}
