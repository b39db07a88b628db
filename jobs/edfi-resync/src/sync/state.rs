//! What the job believes the host holds: per resource, for each natural key it has sent, the
//! server's id (to DELETE by) and a hash of the body last accepted (to tell a changed record
//! from an unchanged one without asking the host).
//!
//! Kept in the job's state through the host, one value per resource (`synced/{resource}`), so a
//! district with 50,000 students and 300,000 roster rows stores a few tens of megabytes, not one
//! value that must be rewritten whole for every resource. Both hashes are truncated SHA-256
//! (128 bits, 32 hex digits): plenty to tell records apart and changes from no change.
//!
//! `from_server` rebuilds the same map from the host's own collections, for `--set full=true`:
//! the server-only fields (`id`, `_etag`, `_lastModifiedDate`, reference `link`s) are stripped
//! before the natural key and hash are taken, so a record the host holds exactly as the job
//! would send it counts as unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::body::{self, Record, canonical_json};
use crate::error::EdfiError;
use crate::model::{Resource, Standard};

/// What is known of one record on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The server's id, from the `Location` of the POST that created or updated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// [`short_hash`] of the body last accepted.
    pub hash: String,
}

/// The records of one resource the host holds, by [`key_hash`] of their natural key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synced {
    /// The layout version of the stored value.
    version: u32,
    entries: BTreeMap<String, Entry>,
}

/// The stored layout's version.
const VERSION: u32 = 1;

/// The job-state key of `resource`'s map.
pub fn state_key(resource: Resource) -> String {
    format!("synced/{}", resource.name())
}

/// 128 bits of SHA-256, in hex.
pub fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The map key of a record: the hash of its canonical natural key.
pub fn key_hash(record: &Record) -> String {
    short_hash(&record.key())
}

/// The content hash of a record's body, over its [`comparable`] form.
pub fn body_hash(record: &Record) -> String {
    short_hash(&canonical_json(&comparable(&record.body)))
}

/// The body without what a host may add or drop on its own: `null` fields and empty arrays or
/// objects (an ODS answers `"meetingTimes": []` for a collection nobody sent). Two bodies that
/// differ only there say the same thing.
pub fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), comparable(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

impl Synced {
    /// Reads the stored value of a resource (nothing stored: nothing known).
    ///
    /// # Errors
    /// A stored value that cannot be read: guessing would resend or delete on no evidence.
    pub fn from_state(resource: Resource, text: Option<&str>) -> Result<Synced, EdfiError> {
        let Some(text) = text else {
            return Ok(Synced::default());
        };
        let synced: Synced = serde_json::from_str(text).map_err(|e| EdfiError::State {
            resource,
            reason: e.to_string(),
        })?;
        if synced.version != VERSION {
            return Err(EdfiError::State {
                resource,
                reason: format!(
                    "layout version {} (this job writes {VERSION})",
                    synced.version
                ),
            });
        }
        Ok(synced)
    }

    /// The value to store.
    pub fn to_state(&self) -> String {
        let stored = Synced {
            version: VERSION,
            entries: self.entries.clone(),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Rebuilds the map from the host's items of `resource` (as GET returns them).
    ///
    /// # Errors
    /// An item without one of the resource's natural-key fields.
    pub fn from_server(
        standard: Standard,
        resource: Resource,
        items: Vec<Value>,
    ) -> Result<Synced, EdfiError> {
        let mut synced = Synced::default();
        for mut item in items {
            let id = item.get("id").and_then(Value::as_str).map(str::to_owned);
            strip_server_fields(&mut item);
            let record = body::record(standard, resource, item)?;
            synced.entries.insert(
                key_hash(&record),
                Entry {
                    id,
                    hash: body_hash(&record),
                },
            );
        }
        Ok(synced)
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn insert(&mut self, key: String, entry: Entry) {
        self.entries.insert(key, entry);
    }

    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        self.entries.remove(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }
}

/// Removes what the host adds to a record: `id`, `_etag`, `_lastModifiedDate` (any `_`-field)
/// and each reference's `link`, at every level.
pub fn strip_server_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| k != "id" && k != "link" && !k.starts_with('_'));
            for v in map.values_mut() {
                strip_server_fields(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_server_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn student(id: &str, name: &str) -> Value {
        json!({
            "studentUniqueId": id,
            "firstName": name,
            "lastSurname": "Doe",
            "birthDate": "2010-01-02"
        })
    }

    #[test]
    fn state_round_trips_and_refuses_what_it_cannot_read() {
        let mut synced = Synced::default();
        let record = body::record(Standard::Ds5, Resource::Students, student("1", "Ann")).unwrap();
        synced.insert(
            key_hash(&record),
            Entry {
                id: Some("abc".into()),
                hash: body_hash(&record),
            },
        );
        let text = synced.to_state();
        let back = Synced::from_state(Resource::Students, Some(&text)).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(
            back.get(&key_hash(&record)).unwrap().id.as_deref(),
            Some("abc")
        );
        assert!(
            Synced::from_state(Resource::Students, None)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            Synced::from_state(Resource::Students, Some("{nope")),
            Err(EdfiError::State { .. })
        ));
        assert!(matches!(
            Synced::from_state(Resource::Students, Some(r#"{"version":9,"entries":{}}"#)),
            Err(EdfiError::State { .. })
        ));
    }

    #[test]
    fn the_hosts_copy_of_a_record_hashes_like_the_record() {
        let ours = body::record(Standard::Ds5, Resource::Students, student("7", "Bo")).unwrap();
        let mut theirs = student("7", "Bo");
        theirs["id"] = json!("0123456789abcdef0123456789abcdef");
        theirs["_etag"] = json!("5250168731208835753");
        theirs["_lastModifiedDate"] = json!("2026-11-30T03:00:00Z");
        let synced = Synced::from_server(Standard::Ds5, Resource::Students, vec![theirs]).unwrap();
        let entry = synced.get(&key_hash(&ours)).expect("same key");
        assert_eq!(entry.hash, body_hash(&ours));
        assert_eq!(
            entry.id.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn nulls_and_empty_collections_do_not_change_the_hash() {
        let lean = body::record(Standard::Ds5, Resource::Students, student("5", "Cy")).unwrap();
        let mut padded = student("5", "Cy");
        padded["middleName"] = Value::Null;
        padded["addresses"] = json!([]);
        padded["extra"] = json!({"inner": null});
        let padded = body::record(Standard::Ds5, Resource::Students, padded).unwrap();
        assert_eq!(body_hash(&lean), body_hash(&padded));
        let renamed = body::record(Standard::Ds5, Resource::Students, student("5", "Di")).unwrap();
        assert_ne!(body_hash(&lean), body_hash(&renamed));
    }

    #[test]
    fn links_inside_references_are_stripped() {
        let mut v = json!({"schoolReference": {"schoolId": 1, "link": {"rel": "School", "href": "/x"}},
                           "items": [{"_etag": "1", "a": 2}]});
        strip_server_fields(&mut v);
        assert_eq!(
            v,
            json!({"schoolReference": {"schoolId": 1}, "items": [{"a": 2}]})
        );
        assert_eq!(short_hash("x").len(), 32);
    }
}
