//! Resolving a local wall-clock time in an IANA zone to the instant (or instants) it names.
//!
//! This is the only place that knows about DST gaps and folds. A local time can name one
//! instant, two (the repeated hour when clocks go back) or none (the skipped hour when clocks go
//! forward); for the last case this module finds the first real instant after the gap, which is
//! where a schedule that wanted a skipped time fires.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// How far past a skipped local time the search for the end of the gap goes. Real gaps are an
/// hour or less; Pacific/Apia skipped a whole day in 2011, so two days is a wide margin.
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

/// What one local wall-clock time is in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocalTime {
    /// The time happens once.
    Single(DateTime<Utc>),
    /// The time happens twice (the clock went back): the first and the second pass.
    Ambiguous {
        earlier: DateTime<Utc>,
        later: DateTime<Utc>,
    },
    /// The time never happens (the clock jumped over it).
    Gap {
        /// The first instant after the gap: the moment the clock jumped.
        after_gap: DateTime<Utc>,
        /// The first local time that exists after the gap (its wall-clock reading).
        resume: NaiveDateTime,
    },
}

/// Resolves `local` in `tz`.
///
/// `None` only if `local` is in a gap whose end cannot be found within two days, which no real
/// zone has.
pub(super) fn resolve(tz: Tz, local: NaiveDateTime) -> Option<LocalTime> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(LocalTime::Single(t.with_timezone(&Utc))),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            Some(LocalTime::Ambiguous {
                earlier: a.min(b),
                later: a.max(b),
            })
        }
        LocalResult::None => {
            let resume = gap_end(tz, local)?;
            let after_gap = earliest(tz, resume)?;
            Some(LocalTime::Gap { after_gap, resume })
        }
    }
}

/// The earliest instant `local` names, if it exists.
fn earliest(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The first whole-second local time after `in_gap` that exists in `tz`.
///
/// Walks forward a minute at a time until a time exists, then refines to the second within the
/// last minute (transitions are at whole seconds, and almost always at whole minutes).
fn gap_end(tz: Tz, in_gap: NaiveDateTime) -> Option<NaiveDateTime> {
    let exists = |t: NaiveDateTime| !matches!(tz.from_local_datetime(&t), LocalResult::None);
    let mut minute_step = None;
    for k in 1..=MAX_GAP_MINUTES {
        let t = in_gap.checked_add_signed(TimeDelta::minutes(k))?;
        if exists(t) {
            minute_step = Some(t);
            break;
        }
    }
    let found = minute_step?;
    // Everything up to `found - 60 s` is still in the gap; the first existing second lies in
    // (found - 60 s, found].
    for s in (0..60).rev() {
        let t = found.checked_sub_signed(TimeDelta::seconds(s))?;
        if t > in_gap && exists(t) {
            return Some(t);
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn skipped_local_time_resolves_to_the_end_of_the_gap() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            resolve(tz, local(2026, 3, 8, 2, 30)),
            Some(LocalTime::Gap {
                after_gap: utc("2026-03-08T07:00:00Z"),
                resume: local(2026, 3, 8, 3, 0),
            })
        );
    }

    #[test]
    fn repeated_local_time_resolves_to_both_passes_in_order() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            resolve(tz, local(2026, 11, 1, 1, 30)),
            Some(LocalTime::Ambiguous {
                earlier: utc("2026-11-01T05:30:00Z"),
                later: utc("2026-11-01T06:30:00Z"),
            })
        );
    }

    #[test]
    fn half_hour_gap_of_lord_howe_ends_at_the_half_hour() {
        // Australia/Lord_Howe moves from +10:30 to +11:00 at 02:00 local on 2026-10-04.
        let tz: Tz = "Australia/Lord_Howe".parse().unwrap();
        assert_eq!(
            resolve(tz, local(2026, 10, 4, 2, 10)),
            Some(LocalTime::Gap {
                after_gap: utc("2026-10-03T15:30:00Z"),
                resume: local(2026, 10, 4, 2, 30),
            })
        );
    }

    #[test]
    fn the_day_samoa_skipped_resolves_to_the_next_day() {
        // Pacific/Apia skipped 2011-12-30 entirely.
        let tz: Tz = "Pacific/Apia".parse().unwrap();
        let Some(LocalTime::Gap { resume, .. }) = resolve(tz, local(2011, 12, 30, 12, 0)) else {
            panic!("expected a gap");
        };
        assert_eq!(resume, local(2011, 12, 31, 0, 0));
    }
}
