//! Deciding what to send: the difference between the records the SIS gives now and what the
//! host holds (as far as the job's state knows), resource by resource.
//!
//! Pure, so the rules are tested without a server:
//! - a record whose natural key the host does not hold is POSTed (created);
//! - a record whose body hash differs is POSTed (the host upserts by natural key);
//! - a record whose body hash matches is left alone: a second run with no change sends nothing;
//! - a key the host holds that the SIS no longer gives is DELETEd by its server id, unless the
//!   resource is never deleted (students, sessions, grading periods: seed rule), in which case
//!   it is left on the host and forgotten.
//!
//! A natural-key change is therefore a delete of the old key and a post of the new one. The
//! executor runs every delete first, in reverse dependency order, then every post in dependency
//! order, which is the seed's re-key choreography: children of the old record are deleted
//! before it (their keys carry its key, so they changed too), and re-posted after the new one.

use std::collections::{BTreeMap, BTreeSet};

use crate::body::Record;
use crate::model::{DataStandard, Resource};
use crate::sync::state::{Synced, body_hash, key_hash};

/// What to do for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePlan {
    pub resource: Resource,
    /// The records to POST, in the SIS's order; [`Post::new`] tells creates from updates.
    pub posts: Vec<Post>,
    /// Records whose body the host already holds.
    pub unchanged: usize,
    /// Keys (and server ids) the host holds that the SIS no longer gives.
    pub deletes: Vec<Delete>,
    /// Keys gone from the SIS that are never deleted from the host (left there, forgotten).
    pub kept: Vec<String>,
}

/// One POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Index into the records handed to [`plan`].
    pub record: usize,
    pub key: String,
    pub hash: String,
    /// False when the host holds an older body under this key.
    pub new: bool,
}

/// One DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub key: String,
    /// The server id; `None` when the host never told (the delete then cannot be sent).
    pub id: Option<String>,
}

impl ResourcePlan {
    /// True when nothing is to be sent.
    pub fn is_idle(&self) -> bool {
        self.posts.is_empty() && self.deletes.is_empty()
    }
}

/// Plans every write-set resource of `table`, in its write order. `records` are the records
/// the SIS gives now (any order); `synced` is what the host holds per resource (a resource
/// missing from it holds nothing known).
pub fn plan(
    table: &DataStandard,
    records: &[Record],
    synced: &BTreeMap<Resource, Synced>,
) -> Vec<ResourcePlan> {
    let empty = Synced::default();
    table
        .write
        .iter()
        .map(|spec| {
            let resource = spec.resource;
            let known = synced.get(&resource).unwrap_or(&empty);
            let mut out = ResourcePlan {
                resource,
                posts: Vec::new(),
                unchanged: 0,
                deletes: Vec::new(),
                kept: Vec::new(),
            };
            let mut present = BTreeSet::new();
            for (i, record) in records.iter().enumerate() {
                if record.resource != resource {
                    continue;
                }
                let key = key_hash(record);
                let hash = body_hash(record);
                present.insert(key.clone());
                match known.get(&key) {
                    Some(entry) if entry.hash == hash => out.unchanged += 1,
                    Some(_) => out.posts.push(Post {
                        record: i,
                        key,
                        hash,
                        new: false,
                    }),
                    None => out.posts.push(Post {
                        record: i,
                        key,
                        hash,
                        new: true,
                    }),
                }
            }
            for (key, entry) in known.iter() {
                if present.contains(key) {
                    continue;
                }
                if spec.never_delete {
                    out.kept.push(key.clone());
                } else {
                    out.deletes.push(Delete {
                        key: key.clone(),
                        id: entry.id.clone(),
                    });
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;
    use crate::model::{Standard, table};
    use crate::sync::state::Entry;
    use serde_json::json;

    fn location(room: &str, seats: i64) -> Record {
        body::record(
            Standard::Ds5,
            Resource::Locations,
            json!({"schoolReference": {"schoolId": 255901001}, "classroomIdentificationCode": room,
                   "maximumNumberOfSeats": seats}),
        )
        .unwrap()
    }

    fn student(id: &str) -> Record {
        body::record(
            Standard::Ds5,
            Resource::Students,
            json!({"studentUniqueId": id, "firstName": "A", "lastSurname": "B",
                   "birthDate": "2010-01-01"}),
        )
        .unwrap()
    }

    fn held(records: &[&Record]) -> Synced {
        let mut s = Synced::default();
        for (i, r) in records.iter().enumerate() {
            s.insert(
                key_hash(r),
                Entry {
                    id: Some(format!("id{i}")),
                    hash: body_hash(r),
                },
            );
        }
        s
    }

    fn of(plans: &[ResourcePlan], resource: Resource) -> &ResourcePlan {
        plans.iter().find(|p| p.resource == resource).unwrap()
    }

    #[test]
    fn new_changed_unchanged_and_gone() {
        let (a, b, c) = (
            location("101", 30),
            location("102", 30),
            location("103", 30),
        );
        let b2 = location("102", 28);
        let synced = BTreeMap::from([(Resource::Locations, held(&[&a, &b, &c]))]);
        let d = location("104", 30);
        let records = vec![a.clone(), b2, d];
        let plans = plan(table(Standard::Ds5), &records, &synced);
        let p = of(&plans, Resource::Locations);
        assert_eq!(p.unchanged, 1);
        let posts: Vec<(usize, bool)> = p.posts.iter().map(|x| (x.record, x.new)).collect();
        assert_eq!(posts, vec![(1, false), (2, true)]);
        assert_eq!(
            p.deletes,
            vec![Delete {
                key: key_hash(&c),
                id: Some("id2".into())
            }]
        );
        assert!(p.kept.is_empty());
        // Every write-set resource is planned, in write order.
        let order: Vec<Resource> = plans.iter().map(|p| p.resource).collect();
        let expected: Vec<Resource> = table(Standard::Ds5)
            .write
            .iter()
            .map(|s| s.resource)
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn a_second_plan_after_everything_was_accepted_is_idle() {
        let records = vec![location("101", 30), student("9")];
        let synced = BTreeMap::from([
            (Resource::Locations, held(&[&records[0]])),
            (Resource::Students, held(&[&records[1]])),
        ]);
        assert!(
            plan(table(Standard::Ds5), &records, &synced)
                .iter()
                .all(ResourcePlan::is_idle)
        );
    }

    #[test]
    fn students_are_never_deleted_only_forgotten() {
        let gone = student("1");
        let synced = BTreeMap::from([(Resource::Students, held(&[&gone]))]);
        let plans = plan(table(Standard::Ds5), &[], &synced);
        let p = of(&plans, Resource::Students);
        assert!(p.deletes.is_empty());
        assert_eq!(p.kept, vec![key_hash(&gone)]);
    }

    #[test]
    fn a_key_change_is_a_delete_and_a_post() {
        let old = location("101", 30);
        let new = location("101A", 30);
        let synced = BTreeMap::from([(Resource::Locations, held(&[&old]))]);
        let plans = plan(table(Standard::Ds5), std::slice::from_ref(&new), &synced);
        let p = of(&plans, Resource::Locations);
        assert_eq!(p.deletes.len(), 1);
        assert_eq!(p.posts.len(), 1);
        assert!(p.posts[0].new);
    }
}
