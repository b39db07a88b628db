//! File-arrival triggers: `trigger = { arrival = { connection, remote_dir, pattern, poll } }`
//! runs a job when a new, stable file appears in a folder, with trigger `arrival`.
//!
//! Each such job gets one watcher task, tracked by the service, that lists the folder every
//! `poll` and claims a run through [`Runner::claim`] like a fire does; the run's own fetch step
//! then picks the files up. Listings are blocking transfers, so they run on
//! [`tokio::task::spawn_blocking`] and never stall the runtime.
//!
//! - **Stable:** a matching file counts when its (size, modified) is the same in two listings:
//!   the previous poll's and this one's, or — so a short `poll` is not needed for low latency —
//!   two listings [`DEFAULT_SETTLE`] apart within one poll. A file still being written waits.
//! - **New:** what already triggered a run is kept in the job's state under [`SEEN_KEY`], as
//!   name → (size, modified). A restart does not trigger again for an old file, and a replaced
//!   file (new size or time) triggers again. Entries for files gone from the folder (fetched
//!   with `after = "delete"|"archive:..."`) are dropped, so the state stays as small as the folder.
//! - **First poll:** a job with no state yet treats the files already waiting as new: a drop
//!   folder with a file in it should run, rather than silently adopt the file as seen.
//! - **Busy:** the claim refuses while the job runs elsewhere (nothing is recorded) and the files
//!   stay unseen, so the next poll tries again. While its own run executes, the watcher does not
//!   poll: files that arrive meanwhile are picked up by the poll after the run.
//! - **Errors** (server down, authentication, a store hiccup) are logged and retried next poll;
//!   they never stop the service.
//!
//! Files are compared by name, size and modification time as the server reports them (to the
//! second): a file replaced within the same second by one of the same size is not seen as new.

use super::{Service, execute, log_claim};
use crate::config::ArrivalTrigger;
use crate::run::{RunError, RunSpec, Runner};
use crate::store::StoreError;
use crate::store::model::{Claim, Trigger};
use crate::transfer::steps::DEFAULT_SETTLE;
use crate::transfer::{Endpoint, Session, Timeouts, TransferError, matches};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// The job-state key holding the files that already triggered a run (a JSON object).
pub const SEEN_KEY: &str = "ferry.arrival.seen";

/// What identifies one version of a file: a file whose stamp changes is a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    modified: Option<DateTime<Utc>>,
}

/// Matching files of one listing, by name.
type Listing = BTreeMap<String, Stamp>;

/// Why one poll did not get through. Logged; the next poll tries again.
#[derive(Debug, thiserror::Error)]
enum PollError {
    /// The connection's secret could not be read (the message names where, never the value).
    #[error("connection {connection}: {message}")]
    Connection { connection: String, message: String },
    /// Connecting or listing failed.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// The blocking listing task died.
    #[error("listing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// Reading or writing the job's state.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Claiming the run.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Watches one job's folder.
#[derive(Debug)]
pub(super) struct Watcher {
    job: String,
    trigger: ArrivalTrigger,
    runner: Runner,
    permits: Arc<Semaphore>,
    hard_stop: CancellationToken,
    run_ended: Arc<Notify>,
    /// The previous poll's listing, for stability across polls.
    previous: Listing,
}

/// One watcher per enabled job with an arrival trigger.
pub(super) fn watchers(service: &Service) -> Vec<Watcher> {
    service
        .runner
        .config()
        .jobs
        .values()
        .filter(|job| job.enabled)
        .filter_map(|job| {
            job.arrival.as_ref().map(|trigger| Watcher {
                job: job.name.clone(),
                trigger: trigger.clone(),
                runner: service.runner.clone(),
                permits: Arc::clone(&service.permits),
                hard_stop: service.hard_stop.clone(),
                run_ended: Arc::clone(&service.run_ended),
                previous: Listing::new(),
            })
        })
        .collect()
}

impl Watcher {
    /// Polls every `poll` (the first at once) until `stop` is cancelled.
    pub(super) async fn watch(mut self, stop: CancellationToken) {
        tracing::info!(
            job = %self.job,
            connection = %self.trigger.connection,
            dir = %self.trigger.remote_dir,
            pattern = %self.trigger.pattern,
            poll_seconds = self.trigger.poll.as_secs_f64(),
            "Watching for arriving files."
        );
        let mut every = tokio::time::interval(self.trigger.poll);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.cancelled() => return,
            }
            // Stopping mid-poll abandons the poll: nothing is claimed after the signal.
            let result = tokio::select! {
                result = self.poll(&stop) => result,
                _ = stop.cancelled() => return,
            };
            if let Err(error) = result {
                tracing::warn!(
                    job = %self.job,
                    connection = %self.trigger.connection,
                    %error,
                    "Could not look for arriving files; trying again next poll."
                );
            }
        }
    }

    /// One poll: list, settle, and run the job if new stable files are there.
    async fn poll(&mut self, stop: &CancellationToken) -> Result<(), PollError> {
        let session = self.connect().await?;
        let (session, first) = self.list(session).await?;
        let seen = self.seen().await?;
        let (mut ready, unsettled) = classify(&seen, &self.previous, &first);
        let mut latest = first;
        if !unsettled.is_empty() {
            tokio::time::sleep(DEFAULT_SETTLE).await;
            let (_, second) = self.list(session).await?;
            ready.extend(
                unsettled
                    .into_iter()
                    .filter(|name| second.get(name) == latest.get(name)),
            );
            latest = second;
        }
        self.previous = latest.clone();
        if ready.is_empty() {
            // Forget files that left the folder, so the state does not grow forever.
            if seen.keys().any(|name| !latest.contains_key(name)) {
                self.save_seen(&seen, &latest, &[]).await?;
            }
            return Ok(());
        }
        ready.sort();
        self.trigger_run(&seen, &latest, &ready, stop).await
    }

    /// Claims a run for `files`; when it is accepted, records them as seen and executes it.
    async fn trigger_run(
        &self,
        seen: &Listing,
        latest: &Listing,
        files: &[String],
        stop: &CancellationToken,
    ) -> Result<(), PollError> {
        let permit = tokio::select! {
            permit = Arc::clone(&self.permits).acquire_owned() => permit,
            _ = stop.cancelled() => return Ok(()),
        };
        let Ok(_permit) = permit else {
            return Ok(());
        };
        let spec = RunSpec {
            job: self.job.clone(),
            trigger: Trigger::Arrival,
            requested_by: "scheduler".to_owned(),
            scheduled_for: None,
            params: BTreeMap::new(),
            no_fetch: false,
        };
        // Refuse rather than record `missed` when busy: the files stay unseen and the next
        // poll tries again, instead of leaving a `missed` row per poll.
        let claim = self.runner.claim(&spec, true).await;
        log_claim(&spec, &claim);
        let started = match claim? {
            Claim::Started(execution) => Some(execution),
            Claim::Queued(_) => None,
            Claim::Busy { .. } | Claim::Duplicate => return Ok(()),
        };
        tracing::info!(job = %self.job, files = ?files, "New files arrived: running the job.");
        self.save_seen(seen, latest, files).await?;
        if let Some(execution) = started {
            execute(&self.runner, execution, self.hard_stop.clone()).await;
            self.run_ended.notify_one();
        }
        Ok(())
    }

    /// Opens a session with the trigger's connection, credentials read now (so a rotated
    /// password is picked up without a restart).
    async fn connect(&self) -> Result<Box<dyn Session>, PollError> {
        let name = &self.trigger.connection;
        let spec =
            self.runner
                .config()
                .connections
                .get(name)
                .ok_or_else(|| PollError::Connection {
                    connection: name.clone(),
                    message: "no such connection".to_owned(),
                })?;
        let (order, _secrets) =
            crate::run::connection_order(spec).map_err(|message| PollError::Connection {
                connection: name.clone(),
                message,
            })?;
        let endpoint = Endpoint::from(&order.endpoint);
        let timeouts = Timeouts {
            connect: spec.connect_timeout,
            io: spec.io_timeout,
        };
        Ok(
            tokio::task::spawn_blocking(move || crate::transfer::connect(&endpoint, timeouts))
                .await??,
        )
    }

    /// Lists the folder on a blocking thread; hands the session back for a second listing.
    async fn list(
        &self,
        mut session: Box<dyn Session>,
    ) -> Result<(Box<dyn Session>, Listing), PollError> {
        let dir = self.trigger.remote_dir.clone();
        let pattern = self.trigger.pattern.clone();
        let task = tokio::task::spawn_blocking(move || {
            let listing = session
                .list(&dir)?
                .into_iter()
                .filter(|f| matches(&pattern, &f.name))
                .map(|f| {
                    let stamp = Stamp {
                        size: f.size,
                        modified: f.modified,
                    };
                    (f.name, stamp)
                })
                .collect::<Listing>();
            Ok::<_, TransferError>((session, listing))
        });
        Ok(task.await??)
    }

    /// The files that already triggered a run. Unreadable state counts as none (and says so).
    async fn seen(&self) -> Result<Listing, PollError> {
        let Some(json) = self.runner.store().state_get(&self.job, SEEN_KEY).await? else {
            return Ok(Listing::new());
        };
        Ok(serde_json::from_str(&json).unwrap_or_else(|error| {
            tracing::warn!(job = %self.job, %error, key = SEEN_KEY, "Unreadable arrival state; starting afresh.");
            Listing::new()
        }))
    }

    /// Records `files` (as listed in `latest`) as seen, dropping names no longer in the folder.
    async fn save_seen(
        &self,
        seen: &Listing,
        latest: &Listing,
        files: &[String],
    ) -> Result<(), PollError> {
        let mut next: Listing = seen
            .iter()
            .filter(|(name, _)| latest.contains_key(*name))
            .map(|(name, stamp)| (name.clone(), *stamp))
            .collect();
        for name in files {
            if let Some(stamp) = latest.get(name) {
                next.insert(name.clone(), *stamp);
            }
        }
        // A map of names to numbers and times always serializes.
        let json = serde_json::to_string(&next).unwrap_or_else(|_| "{}".to_owned());
        self.runner
            .store()
            .state_set(&self.job, SEEN_KEY, Some(&json), crate::clock::now())
            .await?;
        Ok(())
    }
}

/// Splits the files of `listing` not yet seen (by name and stamp) into those already stable
/// (same stamp in the previous poll) and those to check again after a pause, both by name.
fn classify(seen: &Listing, previous: &Listing, listing: &Listing) -> (Vec<String>, Vec<String>) {
    listing
        .iter()
        .filter(|(name, stamp)| seen.get(*name) != Some(*stamp))
        .map(|(name, stamp)| (name.clone(), previous.get(name) == Some(stamp)))
        .fold(
            (Vec::new(), Vec::new()),
            |(mut ready, mut wait), (name, stable)| {
                if stable {
                    ready.push(name)
                } else {
                    wait.push(name)
                }
                (ready, wait)
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(files: &[(&str, u64)]) -> Listing {
        files
            .iter()
            .map(|(name, size)| {
                let stamp = Stamp {
                    size: *size,
                    modified: None,
                };
                ((*name).to_owned(), stamp)
            })
            .collect()
    }

    #[test]
    fn unseen_files_unchanged_since_the_previous_poll_are_ready_at_once() {
        let now = listing(&[("a.csv", 3), ("b.csv", 5)]);
        let previous = listing(&[("a.csv", 3), ("b.csv", 4)]);
        let (ready, wait) = classify(&Listing::new(), &previous, &now);
        assert_eq!(ready, ["a.csv"]);
        assert_eq!(
            wait,
            ["b.csv"],
            "b grew since the last poll: check it again"
        );
    }

    #[test]
    fn seen_files_never_trigger_again_but_a_replaced_one_does() {
        let now = listing(&[("a.csv", 3), ("b.csv", 9)]);
        let seen = listing(&[("a.csv", 3), ("b.csv", 5)]);
        let (ready, wait) = classify(&seen, &now, &now);
        assert_eq!(ready, ["b.csv"]);
        assert!(wait.is_empty());
    }

    #[test]
    fn names_match_like_the_fetch_step() {
        let p = glob::Pattern::new("*.csv").unwrap();
        assert!(matches(&p, "a.csv"));
        assert!(!matches(&p, ".a.csv.part"));
        assert!(!matches(&p, "A.CSV"));
    }
}
