//! The result notice of a run that is ending: who gets it and what it says, composed from what
//! the store holds about the run just before its final status is written, so both go into the
//! store in one transaction.
//!
//! Nothing here can change how a run ends: a notice that cannot be composed is logged and
//! skipped, never an error of the run.

use super::{RunError, Runner};
use crate::notice::compose::{compose, message_id, recipients};
use crate::notice::render::NoticeInput;
use crate::store::model::{Execution, NewNotice, Status};
use chrono::{DateTime, Utc};

/// At most this many reported problems go into a notice's `errors.csv` (about 10 MB); the body
/// says when there were more.
const MAX_PROBLEMS_ATTACHED: i64 = 100_000;

impl Runner {
    /// The notice for `execution` ending now (`now`) with `status` and `error`; `None` without
    /// `[mail]`, or when no list names anyone for this outcome.
    ///
    /// # Errors
    /// Store failures while reading the run's records.
    pub(super) async fn compose_notice(
        &self,
        execution: &Execution,
        status: Status,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<NewNotice>, RunError> {
        let config = self.config();
        let (Some(mail), Some(job)) = (&config.mail, config.jobs.get(&execution.job)) else {
            return Ok(None);
        };
        let Some(lists) = config.notify_lists(job) else {
            return Ok(None);
        };
        let store = self.store();
        let previous = store.previous_outcome(&execution.job, execution.id).await?;
        let to = recipients(lists, status, previous);
        if to.is_empty() {
            return Ok(None);
        }
        let mut ended = execution.clone();
        ended.status = status;
        ended.error = error.map(str::to_owned);
        ended.finished_at = Some(now);
        let tables = store.tables(execution.id).await?;
        let transfers = store.transfers(execution.id).await?;
        let files = store.files(execution.id).await?;
        let logs = store.logs(execution.id, None, i64::MAX).await?;
        let problems = store.problems(execution.id, MAX_PROBLEMS_ATTACHED).await?;
        let problem_counts = store.problem_counts(execution.id).await?;
        let next_fire = job
            .schedule
            .as_ref()
            .filter(|_| job.enabled)
            .and_then(|s| s.next_after(now, job.timezone));
        let attempt = u32::try_from(execution.attempt).unwrap_or(u32::MAX);
        let retry_at = (status.is_retryable_failure() && attempt <= job.retries.max).then(|| {
            now + chrono::TimeDelta::from_std(job.retries.delay_before(attempt + 1))
                .unwrap_or_default()
        });
        let input = NoticeInput {
            execution: &ended,
            description: job.description.as_deref(),
            schedule_text: job.schedule_text.as_deref(),
            zone: job.timezone,
            tables: &tables,
            transfers: &transfers,
            files: &files,
            problems: &problems,
            problem_counts: &problem_counts,
            logs: &logs,
            next_fire,
            retry_at,
            host: self.host(),
        };
        match compose(
            &input,
            &mail.from,
            to,
            message_id(execution.id, now, self.host()),
        ) {
            Ok(notice) => Ok(Some(notice)),
            Err(error) => {
                tracing::error!(run = execution.id, %error, "Could not compose the result notice.");
                Ok(None)
            }
        }
    }
}
