//! The Load File's sequence numbers (spec A.2 and 2.3.1.1), kept in the job's state.
//!
//! ISES expects a new sequence number for every file it receives, per district, school code
//! and school year, starting at `00001` each school year; a re-submission gets the next number.
//! A file that fails local validation, or a `validate_only` run, never reaches ISES and so uses
//! none. The numbers live in one JSON object in the job's state, e.g.
//! `{"0130/0000/2008":2}` (the last number used per key), and this module is the pure rule
//! over it: read the state, say what the next attempted upload uses, consume it, write it
//! back. State that cannot be read is an error, never a silent reset, because a reset would
//! reuse numbers the state has already seen.

use std::collections::BTreeMap;

use crate::error::IsesError;
use crate::write::{format_year, zero_pad};

/// The largest sequence number the five-digit SEQ_NUM can hold.
pub const MAX_SEQUENCE: u32 = 99_999;

/// The last sequence number used per `DDDD/SSSS/YYYY` key (district, school scope, year).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequences(BTreeMap<String, u32>);

impl Sequences {
    /// Reads the stored state; `None` (never stored) is the empty state.
    ///
    /// Anything but a JSON object of `DDDD/SSSS/YYYY` keys and numbers 1–99999 is an error.
    pub fn from_state(state: Option<&str>) -> Result<Self, IsesError> {
        let Some(state) = state else {
            return Ok(Self::default());
        };
        let map: BTreeMap<String, u32> =
            serde_json::from_str(state).map_err(|e| IsesError::SequenceState {
                reason: e.to_string(),
            })?;
        for (key, &last) in &map {
            if !is_key(key) {
                return Err(IsesError::SequenceState {
                    reason: format!("{key:?} is not a DDDD/SSSS/YYYY key"),
                });
            }
            if !(1..=MAX_SEQUENCE).contains(&last) {
                return Err(IsesError::SequenceState {
                    reason: format!("{key}: {last} is not a sequence number 1-{MAX_SEQUENCE}"),
                });
            }
        }
        Ok(Self(map))
    }

    /// The state to store: a JSON object, keys in order.
    pub fn to_state(&self) -> String {
        // A map of strings to numbers always serialises.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The number the next attempted upload for this district, school scope (`0000` for a
    /// district file) and collection year uses, without consuming it.
    ///
    /// Codes are zero-padded as in the file name, so `130` and `0130` are one district; a code
    /// that is not numeric or too long, or the 99,999th file of a year, is an error.
    pub fn next(&self, district: &str, school: &str, year: i32) -> Result<u32, IsesError> {
        let key = key(district, school, year)?;
        next_after(&key, self.0.get(&key).copied())
    }

    /// Takes the next number for an upload that is about to be attempted and records it.
    pub fn consume(&mut self, district: &str, school: &str, year: i32) -> Result<u32, IsesError> {
        let key = key(district, school, year)?;
        let next = next_after(&key, self.0.get(&key).copied())?;
        self.0.insert(key, next);
        Ok(next)
    }

    /// The last number used for a key, if any (e.g. for a report).
    pub fn last(&self, district: &str, school: &str, year: i32) -> Result<Option<u32>, IsesError> {
        Ok(self.0.get(&key(district, school, year)?).copied())
    }
}

/// The state key of a district, school scope and collection year: `0130/0000/2008`.
pub fn key(district: &str, school: &str, year: i32) -> Result<String, IsesError> {
    Ok(format!(
        "{}/{}/{}",
        zero_pad("DISTRICT", district, 4)?,
        zero_pad("SCHOOL", school, 4)?,
        format_year("YEAR", year)?
    ))
}

fn next_after(key: &str, last: Option<u32>) -> Result<u32, IsesError> {
    match last {
        None => Ok(1),
        Some(last) if last >= MAX_SEQUENCE => Err(IsesError::SequenceExhausted {
            key: key.to_owned(),
            last,
        }),
        Some(last) => Ok(last + 1),
    }
}

fn is_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    matches!(parts.as_slice(), [d, s, y]
        if [(d, 4), (s, 4), (y, 4)]
            .iter()
            .all(|(p, n)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_file_is_one_and_next_does_not_consume() {
        let mut seq = Sequences::from_state(None).expect("empty state");
        assert_eq!(seq.next("130", "0", 2008).expect("next"), 1);
        assert_eq!(seq.next("130", "0", 2008).expect("next"), 1);
        assert_eq!(seq.consume("0130", "0000", 2008).expect("consume"), 1);
        assert_eq!(seq.last("130", "0", 2008).expect("last"), Some(1));
    }

    #[test]
    fn resubmission_gets_the_next_number() {
        let mut seq = Sequences::default();
        assert_eq!(seq.consume("0130", "0000", 2008).expect("first"), 1);
        assert_eq!(seq.next("0130", "0000", 2008).expect("next"), 2);
        assert_eq!(seq.consume("0130", "0000", 2008).expect("again"), 2);
        assert_eq!(seq.consume("0130", "0000", 2008).expect("third"), 3);
    }

    #[test]
    fn schools_and_districts_are_independent() {
        let mut seq = Sequences::default();
        seq.consume("0130", "0000", 2008).expect("district file");
        seq.consume("0130", "0000", 2008).expect("district file");
        assert_eq!(seq.consume("0130", "0001", 2008).expect("school"), 1);
        assert_eq!(seq.consume("0131", "0000", 2008).expect("district"), 1);
        assert_eq!(seq.next("0130", "0000", 2008).expect("next"), 3);
    }

    #[test]
    fn a_new_school_year_starts_at_one() {
        let mut seq = Sequences::default();
        for _ in 0..4 {
            seq.consume("0130", "0000", 2008).expect("2007-08");
        }
        assert_eq!(seq.consume("0130", "0000", 2009).expect("2008-09"), 1);
        assert_eq!(seq.next("0130", "0000", 2008).expect("old year"), 5);
    }

    #[test]
    fn round_trips_through_state() {
        let mut seq = Sequences::default();
        seq.consume("130", "0", 2008).expect("consume");
        seq.consume("130", "0", 2008).expect("consume");
        seq.consume("130", "1", 2009).expect("consume");
        let state = seq.to_state();
        assert_eq!(state, r#"{"0130/0000/2008":2,"0130/0001/2009":1}"#);
        let mut back = Sequences::from_state(Some(&state)).expect("reads back");
        assert_eq!(back, seq);
        assert_eq!(back.consume("0130", "0000", 2008).expect("next"), 3);
    }

    #[test]
    fn unreadable_state_is_an_error() {
        for bad in [
            "",
            "not json",
            "[1,2]",
            r#"{"0130/0000/2008":"2"}"#,
            r#"{"0130/0000/2008":-1}"#,
            r#"{"0130/0000/2008":0}"#,
            r#"{"0130/0000/2008":100000}"#,
            r#"{"130/0/2008":1}"#,
        ] {
            assert!(
                matches!(
                    Sequences::from_state(Some(bad)),
                    Err(IsesError::SequenceState { .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn bad_codes_and_exhausted_years_are_errors() {
        let seq = Sequences::default();
        assert!(matches!(
            seq.next("01300", "0000", 2008),
            Err(IsesError::TooLong { .. })
        ));
        let full = Sequences::from_state(Some(r#"{"0130/0000/2008":99999}"#)).expect("reads");
        assert!(matches!(
            full.next("0130", "0000", 2008),
            Err(IsesError::SequenceExhausted { last: 99_999, .. })
        ));
    }
}
