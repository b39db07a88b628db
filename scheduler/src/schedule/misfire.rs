//! The plan for fires missed while no scheduler ran: which to run now, which to record as
//! missed.
//!
//! A pure function of the schedule, the zone, the last fire already handled (the cursor), now and
//! the job's misfire policy, so that the service loop and `ferry jobs` agree and tests need no
//! clock.

use crate::config::{Misfire, MisfirePolicy};
use crate::schedule::Schedule;
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::VecDeque;
use std::time::Duration;

/// What to do with each fire between the cursor and now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirePlan {
    /// At most `max` fires, oldest first: the newest ones.
    pub fires: Vec<PlannedFire>,
    /// Older fires beyond `max`, counted but not listed.
    pub dropped: usize,
}

/// One fire of the schedule and what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedFire {
    /// The logical fire time (the run's `scheduled_for`).
    pub at: DateTime<Utc>,
    pub action: FireAction,
}

/// What happens to one fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireAction {
    /// The newest fire, within the on-time grace: run it as a normal scheduled run.
    OnTime,
    /// A missed fire the misfire policy runs now, as a catch-up run.
    CatchUp,
    /// A missed fire that is only recorded as missed.
    Missed,
}

/// Plans every fire `f` with `cursor < f <= now`, in ascending order.
///
/// The newest fire is [`FireAction::OnTime`] if `now - f <= on_time_grace`. All the others are
/// missed fires, handled by `policy`:
/// - `Skip`: every one is `Missed`;
/// - `RunOnce`: if there is an on-time fire, it covers them and all are `Missed`; otherwise the
///   newest one within `catch_up_within` (`None` = no limit) is `CatchUp`, the rest `Missed`;
/// - `RunAll`: every one within `catch_up_within` is `CatchUp`, older ones `Missed`.
///
/// At most `max` fires are listed: the newest ones. Older fires are counted in
/// [`FirePlan::dropped`], whatever their action would have been.
///
/// # Cost
/// One [`Schedule::next_after`] per fire in the interval, listed or not, so that `dropped` is
/// exact: a year of an every-minute schedule is half a million steps.
pub fn plan_fires(
    schedule: &Schedule,
    tz: Tz,
    cursor: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: MisfirePolicy,
    on_time_grace: Duration,
    max: usize,
) -> FirePlan {
    let mut newest: VecDeque<DateTime<Utc>> = VecDeque::with_capacity(max.min(1024));
    let mut dropped = 0usize;
    let mut t = cursor;
    while let Some(f) = schedule.next_after(t, tz) {
        if f > now {
            break;
        }
        if max == 0 {
            dropped += 1;
        } else {
            if newest.len() == max {
                newest.pop_front();
                dropped += 1;
            }
            newest.push_back(f);
        }
        t = f;
    }

    let age = |f: DateTime<Utc>| now - f;
    let as_delta = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
    let grace = as_delta(on_time_grace);
    let within = |f: DateTime<Utc>| policy.catch_up_within.is_none_or(|w| age(f) <= as_delta(w));

    let on_time = newest.back().is_some_and(|&f| age(f) <= grace);
    let missed_count = newest.len() - usize::from(on_time);
    let mut fires: Vec<PlannedFire> = newest
        .iter()
        .map(|&at| PlannedFire {
            at,
            action: FireAction::Missed,
        })
        .collect();
    if on_time && let Some(last) = fires.last_mut() {
        last.action = FireAction::OnTime;
    }
    let missed = &mut fires[..missed_count];
    match policy.kind {
        Misfire::Skip => {}
        Misfire::RunOnce => {
            if !on_time
                && let Some(last) = missed.last_mut()
                && within(last.at)
            {
                last.action = FireAction::CatchUp;
            }
        }
        Misfire::RunAll => {
            for fire in missed.iter_mut().filter(|f| within(f.at)) {
                fire.action = FireAction::CatchUp;
            }
        }
    }
    FirePlan { fires, dropped }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Plans an hourly schedule in UTC from `cursor` to `now` and renders it as
    /// `HH:MM action` lines plus the dropped count.
    fn check(
        cursor: &str,
        now: &str,
        kind: Misfire,
        within: Option<Duration>,
        grace: Duration,
        max: usize,
    ) -> (Vec<String>, usize) {
        let s = Schedule::parse("0 * * * *").unwrap();
        let policy = MisfirePolicy {
            kind,
            catch_up_within: within,
        };
        let plan = plan_fires(&s, Tz::UTC, utc(cursor), utc(now), policy, grace, max);
        let lines = plan
            .fires
            .iter()
            .map(|f| format!("{} {:?}", f.at.format("%H:%M"), f.action))
            .collect();
        (lines, plan.dropped)
    }

    const CURSOR: &str = "2026-03-02T10:00:00Z";

    #[test]
    fn nothing_is_planned_before_the_next_fire() {
        assert_eq!(
            check(
                CURSOR,
                "2026-03-02T10:59:59Z",
                Misfire::RunAll,
                None,
                MIN,
                10
            ),
            (vec![], 0)
        );
        // The cursor's own fire is already handled.
        assert_eq!(
            check(CURSOR, CURSOR, Misfire::RunAll, None, MIN, 10),
            (vec![], 0)
        );
    }

    #[test]
    fn a_fire_within_grace_is_on_time_and_one_past_grace_is_missed() {
        let (on, _) = check(CURSOR, "2026-03-02T11:01:00Z", Misfire::Skip, None, MIN, 10);
        assert_eq!(on, ["11:00 OnTime"]);
        let (late, _) = check(CURSOR, "2026-03-02T11:01:01Z", Misfire::Skip, None, MIN, 10);
        assert_eq!(late, ["11:00 Missed"]);
    }

    #[test]
    fn skip_records_every_missed_fire_as_missed() {
        let (got, dropped) = check(CURSOR, "2026-03-02T14:00:30Z", Misfire::Skip, None, MIN, 10);
        assert_eq!(
            got,
            [
                "11:00 Missed",
                "12:00 Missed",
                "13:00 Missed",
                "14:00 OnTime"
            ]
        );
        assert_eq!(dropped, 0);
    }

    #[test]
    fn run_once_runs_only_the_newest_missed_fire() {
        let (got, _) = check(
            CURSOR,
            "2026-03-02T14:30:00Z",
            Misfire::RunOnce,
            None,
            MIN,
            10,
        );
        assert_eq!(
            got,
            [
                "11:00 Missed",
                "12:00 Missed",
                "13:00 Missed",
                "14:00 CatchUp"
            ]
        );
    }

    #[test]
    fn run_once_catches_nothing_up_when_an_on_time_fire_covers_it() {
        let (got, _) = check(
            CURSOR,
            "2026-03-02T14:00:00Z",
            Misfire::RunOnce,
            None,
            MIN,
            10,
        );
        assert_eq!(
            got,
            [
                "11:00 Missed",
                "12:00 Missed",
                "13:00 Missed",
                "14:00 OnTime"
            ]
        );
    }

    #[test]
    fn run_once_respects_catch_up_within() {
        let hour = Duration::from_secs(3600);
        let (got, _) = check(
            CURSOR,
            "2026-03-02T14:30:00Z",
            Misfire::RunOnce,
            Some(hour),
            MIN,
            10,
        );
        assert_eq!(
            got,
            [
                "11:00 Missed",
                "12:00 Missed",
                "13:00 Missed",
                "14:00 CatchUp"
            ]
        );
        let (got, _) = check(
            CURSOR,
            "2026-03-02T15:30:00Z",
            Misfire::RunOnce,
            Some(MIN * 20),
            MIN,
            10,
        );
        assert!(got.iter().all(|l| l.ends_with("Missed")), "{got:?}");
    }

    #[test]
    fn run_all_runs_every_missed_fire_within_the_window_oldest_first() {
        let two_hours = Duration::from_secs(2 * 3600);
        let (got, _) = check(
            CURSOR,
            "2026-03-02T14:00:00Z",
            Misfire::RunAll,
            Some(two_hours),
            MIN,
            10,
        );
        assert_eq!(
            got,
            [
                "11:00 Missed",
                "12:00 CatchUp",
                "13:00 CatchUp",
                "14:00 OnTime"
            ]
        );
        let (got, _) = check(
            CURSOR,
            "2026-03-02T14:30:00Z",
            Misfire::RunAll,
            None,
            MIN,
            10,
        );
        assert_eq!(
            got,
            [
                "11:00 CatchUp",
                "12:00 CatchUp",
                "13:00 CatchUp",
                "14:00 CatchUp"
            ]
        );
    }

    #[test]
    fn only_the_newest_max_fires_are_listed_and_the_rest_counted() {
        let (got, dropped) = check(
            CURSOR,
            "2026-03-03T10:00:00Z",
            Misfire::RunAll,
            None,
            MIN,
            3,
        );
        assert_eq!(got, ["08:00 CatchUp", "09:00 CatchUp", "10:00 OnTime"]);
        assert_eq!(dropped, 21);
        let (got, dropped) = check(
            CURSOR,
            "2026-03-03T10:00:00Z",
            Misfire::RunAll,
            None,
            MIN,
            0,
        );
        assert_eq!((got.len(), dropped), (0, 24));
    }

    #[test]
    fn missed_fires_across_a_dst_change_are_planned_in_the_zone() {
        let s = Schedule::parse("30 2 * * *").unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        let policy = MisfirePolicy {
            kind: Misfire::RunAll,
            catch_up_within: None,
        };
        let plan = plan_fires(
            &s,
            ny,
            utc("2026-03-06T12:00:00Z"),
            utc("2026-03-09T12:00:00Z"),
            policy,
            MIN,
            10,
        );
        let at: Vec<_> = plan.fires.iter().map(|f| f.at).collect();
        assert_eq!(
            at,
            [
                utc("2026-03-07T07:30:00Z"),
                utc("2026-03-08T07:00:00Z"),
                utc("2026-03-09T06:30:00Z")
            ]
        );
        assert!(plan.fires.iter().all(|f| f.action == FireAction::CatchUp));
    }
}
