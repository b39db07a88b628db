//! Each scheduled job's cursor, and turning the clock into due fires.
//!
//! A job's cursor is the newest fire recorded for it in the store (any status), or the start-up
//! instant for a job that never fired. Fires between the cursor and now are planned by
//! [`crate::schedule::plan_fires`]: on time, caught up, or recorded `missed`.

use super::{MAX_PLANNED_FIRES, ON_TIME_GRACE};
use crate::config::{Misfire, MisfirePolicy};
use crate::run::{RunError, RunSpec, Runner};
use crate::schedule::{FireAction, Schedule, plan_fires};
use crate::store::model::Trigger;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// The fires of one job to claim now, oldest first. More than one only after downtime under
/// `misfire = "run_all"` (or a catch-up plus the on-time fire).
#[derive(Debug)]
pub(super) struct DueFires {
    pub(super) specs: Vec<RunSpec>,
}

#[derive(Debug)]
struct JobCursor {
    job: String,
    schedule: Schedule,
    tz: Tz,
    misfire: MisfirePolicy,
    cursor: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

/// The cursors of every enabled, scheduled job.
#[derive(Debug)]
pub(super) struct Fires {
    jobs: Vec<JobCursor>,
}

impl Fires {
    /// Reads each job's cursor from the store.
    pub(super) async fn load(runner: &Runner) -> Result<Fires, RunError> {
        let now = crate::clock::now();
        let mut jobs = Vec::new();
        for job in runner.config().jobs.values() {
            let (true, Some(schedule)) = (job.enabled, &job.schedule) else {
                continue;
            };
            let cursor = runner.store().last_fire(&job.name).await?.unwrap_or(now);
            jobs.push(JobCursor {
                job: job.name.clone(),
                schedule: schedule.clone(),
                tz: job.timezone,
                misfire: job.misfire,
                cursor,
                next: schedule.next_after(cursor, job.timezone),
            });
        }
        Ok(Fires { jobs })
    }

    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// The fires due at `now`; records the ones the misfire policy does not run as `missed`.
    pub(super) async fn take_due(
        &mut self,
        runner: &Runner,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueFires>, RunError> {
        let mut due = Vec::new();
        for job in &mut self.jobs {
            let mut specs = Vec::new();
            if job.next.is_none_or(|next| next > now) {
                continue;
            }
            let plan = plan_fires(
                &job.schedule,
                job.tz,
                job.cursor,
                now,
                job.misfire,
                ON_TIME_GRACE,
                MAX_PLANNED_FIRES,
            );
            if plan.dropped > 0 {
                tracing::warn!(
                    job = %job.job,
                    dropped = plan.dropped,
                    "More missed fires than are recorded one by one; the oldest are not listed."
                );
            }
            for fire in &plan.fires {
                let spec = |trigger| RunSpec {
                    job: job.job.clone(),
                    trigger,
                    requested_by: "scheduler".to_owned(),
                    scheduled_for: Some(fire.at),
                    params: Default::default(),
                    no_fetch: false,
                };
                match fire.action {
                    FireAction::OnTime => specs.push(spec(Trigger::Schedule)),
                    FireAction::CatchUp => specs.push(spec(Trigger::CatchUp)),
                    FireAction::Missed => {
                        let reason = missed_reason(job.misfire);
                        runner
                            .record_missed(&spec(Trigger::Schedule), &reason)
                            .await?;
                    }
                }
                job.cursor = job.cursor.max(fire.at);
            }
            if plan.fires.is_empty() {
                job.cursor = job.cursor.max(now);
            }
            job.next = job.schedule.next_after(job.cursor, job.tz);
            if !specs.is_empty() {
                due.push(DueFires { specs });
            }
        }
        Ok(due)
    }

    /// How long to sleep: until the next fire, but at most `max`.
    pub(super) fn next_wake(&self, now: DateTime<Utc>, max: Duration) -> Duration {
        self.jobs
            .iter()
            .filter_map(|job| job.next)
            .map(|next| (next - now).to_std().unwrap_or(Duration::ZERO))
            .min()
            .map_or(max, |d| d.min(max))
    }
}

fn missed_reason(policy: MisfirePolicy) -> String {
    let name = match policy.kind {
        Misfire::RunOnce => "run_once",
        Misfire::RunAll => "run_all",
        Misfire::Skip => "skip",
    };
    match policy.catch_up_within {
        Some(window) => format!(
            "missed: no scheduler was running at this time (misfire = {name}, catch_up_within = {})",
            humantime::format_duration(window)
        ),
        None => format!("missed: no scheduler was running at this time (misfire = {name})"),
    }
}
