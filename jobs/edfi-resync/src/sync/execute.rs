//! Sending the plan: every DELETE first, resource by resource in reverse dependency order, then
//! every POST in dependency order, each resource finished before the next starts (a child is
//! only sent once its parents are in). Within a resource up to `max_parallel` requests are in
//! flight; a resource's records have distinct natural keys (building them refuses duplicates),
//! so two requests for one key are never in flight at once.
//!
//! A record the host refuses (400 validation, 409 unresolved reference or dependent item) is a
//! [`Failure`] with the host's message and does not stop the rest; its state is left as it was,
//! so the next run tries it again. A record whose parent failed (or was refused before
//! sending) in this run is not sent: the host would answer 409, and the failure names the parent
//! instead. Records whose state-owned references (schools, courses, staff) the host does not
//! have are refused before sending for the same reason.
//!
//! Worker threads only talk HTTP; results come back to the calling thread, which updates the
//! state and reports, so the job's `Context` never leaves its thread.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::body::{Record, canonical_key};
use crate::client::{Api, ApiError, Deleted};
use crate::model::{DataStandard, Reference, Resource};
use crate::sync::plan::ResourcePlan;
use crate::sync::state::{Entry, Synced, short_hash};

/// What happened to one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub posted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub seconds: f64,
}

/// One record the host refused, or that was not sent because it could not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub resource: Resource,
    /// `POST` or `DELETE`, or `SKIP` when nothing was sent.
    pub action: &'static str,
    /// The record's natural key as `field=value` pairs (for a delete, its server id).
    pub key: String,
    /// The HTTP status, when the host answered.
    pub status: Option<u16>,
    pub message: String,
}

/// What the calling thread is told as the run goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A resource's phase begins: `deleting` or `posting`, with how many requests.
    Phase {
        resource: Resource,
        what: &'static str,
        requests: usize,
    },
    /// A record could not be sent or was refused.
    Failed(&'a Failure),
    /// A resource's state changed and should be stored.
    Stored {
        resource: Resource,
        synced: &'a Synced,
    },
}

/// How the run is driven.
pub struct Driver<'a> {
    pub api: &'a Api,
    pub table: &'static DataStandard,
    pub max_parallel: usize,
    /// Set when the run must stop; workers stop taking requests, in-flight ones finish.
    pub cancel: &'a AtomicBool,
    /// Asked every quarter second while waiting; true sets `cancel`.
    pub cancelled: &'a dyn Fn() -> bool,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("max_parallel", &self.max_parallel)
            .finish_non_exhaustive()
    }
}

/// The natural keys (hashed) of the state-owned records the host has, per lookup resource.
pub type Lookups = BTreeMap<Resource, BTreeSet<String>>;

/// Runs `plans` (as [`plan`](crate::sync::plan::plan) made them from `records`), updating
/// `synced` and calling `progress` on the calling thread. Returns the tally per resource, in
/// write order.
///
/// # Errors
/// [`ApiError::Cancelled`] when the run was asked to stop (the state so far was reported
/// through [`Progress::Stored`]).
pub fn execute(
    driver: &Driver<'_>,
    plans: &[ResourcePlan],
    records: &[Record],
    lookups: &Lookups,
    synced: &mut BTreeMap<Resource, Synced>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<(Resource, Tally)>, ApiError> {
    let mut tallies: BTreeMap<Resource, Tally> = plans
        .iter()
        .map(|p| {
            (
                p.resource,
                Tally {
                    unchanged: p.unchanged,
                    ..Tally::default()
                },
            )
        })
        .collect();

    // Deletes, children first.
    for plan in plans.iter().rev() {
        if plan.deletes.is_empty() && plan.kept.is_empty() {
            continue;
        }
        let started = Instant::now();
        let resource = plan.resource;
        let state = synced.entry(resource).or_default();
        for key in &plan.kept {
            state.remove(key);
        }
        progress(Progress::Phase {
            resource,
            what: "deleting",
            requests: plan.deletes.len(),
        });
        let results = parallel(driver, &plan.deletes, |delete| match &delete.id {
            Some(id) => driver.api.delete(resource, id),
            None => Err(ApiError::Rejected {
                status: 0,
                problem_type: None,
                message: "the host never gave this record's id; run with --set full=true to \
                          read it back"
                    .to_owned(),
            }),
        })?;
        let tally = tallies.entry(resource).or_default();
        for (delete, result) in plan.deletes.iter().zip(results) {
            match result {
                Ok(Deleted::Deleted | Deleted::AlreadyGone) => {
                    state.remove(&delete.key);
                    tally.deleted += 1;
                }
                Err(error) => {
                    tally.failed += 1;
                    let failure = Failure {
                        resource,
                        action: "DELETE",
                        key: format!("id {}", delete.id.as_deref().unwrap_or("unknown")),
                        status: error.status(),
                        message: error.to_string(),
                    };
                    progress(Progress::Failed(&failure));
                }
            }
        }
        tally.seconds += started.elapsed().as_secs_f64();
        progress(Progress::Stored {
            resource,
            synced: state,
        });
        if (driver.cancelled)() {
            return Err(ApiError::Cancelled);
        }
    }

    // Posts, parents first; a child of a record that failed here is not sent.
    let mut failed: BTreeMap<Resource, BTreeSet<String>> = BTreeMap::new();
    for plan in plans {
        if plan.posts.is_empty() {
            continue;
        }
        let started = Instant::now();
        let resource = plan.resource;
        let spec = driver.table.spec(resource);
        let references: &[Reference] = spec.map(|s| s.references).unwrap_or(&[]);
        let mut sendable = Vec::with_capacity(plan.posts.len());
        for post in &plan.posts {
            let record = &records[post.record];
            match blocked_by(driver.table, record, references, lookups, &failed) {
                None => sendable.push(post),
                Some(reason) => {
                    let failure = Failure {
                        resource,
                        action: "SKIP",
                        key: describe_key(record),
                        status: None,
                        message: reason,
                    };
                    progress(Progress::Failed(&failure));
                    failed.entry(resource).or_default().insert(post.key.clone());
                    tallies.entry(resource).or_default().failed += 1;
                }
            }
        }
        progress(Progress::Phase {
            resource,
            what: "posting",
            requests: sendable.len(),
        });
        let results = parallel(driver, &sendable, |post| {
            driver.api.post(resource, &records[post.record].body)
        })?;
        let state = synced.entry(resource).or_default();
        let tally = tallies.entry(resource).or_default();
        for (post, result) in sendable.iter().zip(results) {
            match result {
                Ok(posted) => {
                    if posted.created {
                        tally.posted += 1;
                    } else {
                        tally.updated += 1;
                    }
                    let id = posted
                        .id
                        .or_else(|| state.get(&post.key).and_then(|e| e.id.clone()));
                    state.insert(
                        post.key.clone(),
                        Entry {
                            id,
                            hash: post.hash.clone(),
                        },
                    );
                }
                Err(error) => {
                    tally.failed += 1;
                    failed.entry(resource).or_default().insert(post.key.clone());
                    let failure = Failure {
                        resource,
                        action: "POST",
                        key: describe_key(&records[post.record]),
                        status: error.status(),
                        message: error.to_string(),
                    };
                    progress(Progress::Failed(&failure));
                }
            }
        }
        tally.seconds += started.elapsed().as_secs_f64();
        progress(Progress::Stored {
            resource,
            synced: state,
        });
        if (driver.cancelled)() {
            return Err(ApiError::Cancelled);
        }
    }

    Ok(plans
        .iter()
        .map(|p| (p.resource, tallies.remove(&p.resource).unwrap_or_default()))
        .collect())
}

/// Why `record` cannot succeed now: a state-owned record it refers to is not on the host, or a
/// record of the write set it refers to failed in this run.
fn blocked_by(
    table: &DataStandard,
    record: &Record,
    references: &[Reference],
    lookups: &Lookups,
    failed: &BTreeMap<Resource, BTreeSet<String>>,
) -> Option<String> {
    for reference in references {
        let Some(target) = table.spec(reference.target) else {
            continue;
        };
        for key in reference
            .target_keys(&record.body, target.natural_key)
            .into_iter()
            .flatten()
            .map(|key| canonical_key(&key))
        {
            let hash = short_hash(&key);
            if let Some(known) = lookups.get(&reference.target)
                && !known.contains(&hash)
            {
                return Some(format!(
                    "refers to {} {}, which the host does not have (it is the state's to create)",
                    reference.target,
                    plain(&key)
                ));
            }
            if failed
                .get(&reference.target)
                .is_some_and(|f| f.contains(&hash))
            {
                return Some(format!(
                    "not sent: the {} it refers to ({}) failed in this run",
                    reference.target,
                    plain(&key)
                ));
            }
        }
    }
    None
}

/// `a=1, b="x"` for a person to read.
fn describe_key(record: &Record) -> String {
    plain(&record.key())
}

fn plain(canonical: &str) -> String {
    canonical.replace('|', ", ")
}

/// Runs `work` on every item with at most `max_parallel` in flight; results in item order.
fn parallel<T: Sync, R: Send>(
    driver: &Driver<'_>,
    items: &[T],
    work: impl Fn(&T) -> Result<R, ApiError> + Sync,
) -> Result<Vec<Result<R, ApiError>>, ApiError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<R, ApiError>>> = (0..items.len()).map(|_| None).collect();
    let workers = driver.max_parallel.clamp(1, items.len());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, work, cancel) = (&next, &work, driver.cancel);
            scope.spawn(move || {
                loop {
                    if cancel.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok((i, result)) => results[i] = Some(result),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if (driver.cancelled)() {
                        driver.cancel.store(true, Ordering::SeqCst);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    if driver.cancel.load(Ordering::SeqCst) {
        return Err(ApiError::Cancelled);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(ApiError::Cancelled)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Standard, table};
    use serde_json::json;

    #[test]
    fn references_inside_arrays_give_one_key_each() {
        let t = table(Standard::Ds5);
        let section = t.spec(Resource::Sections).expect("sections");
        let reference = section
            .references
            .iter()
            .find(|r| r.target == Resource::ClassPeriods)
            .expect("class period reference");
        let target = t.spec(Resource::ClassPeriods).expect("class periods");
        let body = json!({"classPeriods": [
            {"classPeriodReference": {"schoolId": 1, "classPeriodName": "A 1 1"}},
            {"classPeriodReference": {"schoolId": 1, "classPeriodName": "A 2 1"}}
        ]});
        let keys: Vec<String> = reference
            .target_keys(&body, target.natural_key)
            .into_iter()
            .flatten()
            .map(|key| canonical_key(&key))
            .collect();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        // The key is the one a class period record of that name has.
        let period = crate::body::record(
            Standard::Ds5,
            Resource::ClassPeriods,
            json!({"schoolReference": {"schoolId": 1}, "classPeriodName": "A 1 1"}),
        )
        .expect("record");
        assert_eq!(keys[0], period.key());
    }

    #[test]
    fn a_record_referring_to_a_missing_lookup_or_a_failed_parent_is_blocked() {
        let t = table(Standard::Ds5);
        let location = crate::body::record(
            Standard::Ds5,
            Resource::Locations,
            json!({"schoolReference": {"schoolId": 9}, "classroomIdentificationCode": "101"}),
        )
        .expect("record");
        let refs = t.spec(Resource::Locations).expect("spec").references;
        let school_key =
            |id: i64| short_hash(&canonical_key(&[("schoolId".to_owned(), json!(id))]));
        let lookups = Lookups::from([(Resource::Schools, BTreeSet::from([school_key(1)]))]);
        let reason = blocked_by(t, &location, refs, &lookups, &BTreeMap::new()).expect("blocked");
        assert!(reason.contains("schools schoolId=9"), "{reason}");
        let lookups = Lookups::from([(Resource::Schools, BTreeSet::from([school_key(9)]))]);
        assert_eq!(
            blocked_by(t, &location, refs, &lookups, &BTreeMap::new()),
            None
        );
    }
}
