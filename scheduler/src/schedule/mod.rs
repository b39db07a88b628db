//! Cron schedules evaluated in a job's time zone, with Vixie-cron DST semantics, and the
//! misfire plan for fires missed during downtime.
//!
//! # Why croner and not `cron`
//! Admins write classic crontab lines. The `cron` crate (zslayton/cron) requires 6 or 7 fields
//! with seconds first and numbers weekdays Sunday = 1: the 5-field `0 9 * * 1-5` is rejected,
//! and its 6-field form `0 0 9 * * 1-5` silently means Sunday-Thursday, not Monday-Friday.
//! `croner` follows Vixie cron (Monday = 1, 0 and 7 = Sunday, names, lists, ranges, steps,
//! day-of-month OR day-of-week) and also takes an optional seconds field first.
//!
//! # Why the DST rules are ours
//! croner decides DST behaviour by its own job classification (every seconds, minutes and hours
//! field a single number, or not): `*/15 2 * * *` counts as an interval job, whose skipped times
//! are dropped, and `*/15 1 * * *` would fire in both passes of the repeated hour. Ferry wants one
//! fire right after a gap for any schedule whose hour is fixed. So croner only enumerates
//! matching *local wall-clock* times on a plain calendar (no zone), and [`Schedule::next_after`]
//! resolves each one in the job's zone itself (module `zone`):
//!
//! | local time is…           | hour field `2`, `1-5`, `8,12`     | hour field `*` or `*/n` |
//! |--------------------------|-----------------------------------|-------------------------|
//! | single                   | fires                             | fires                   |
//! | repeated (fall back)     | fires once, first pass            | fires in both passes    |
//! | skipped (spring forward) | fires once, at the end of the gap | does not fire           |
//!
//! A schedule whose hour field is a wildcard runs "every hour", so it follows the real hours: the
//! repeated hour is a real hour (Vixie runs wildcard jobs in both passes), the skipped hour is
//! not. Every other schedule names local times of day: each is honoured once per day, and all the
//! times inside one gap collapse into the single instant where the gap ends.
//!
//! Day-of-month and day-of-week combine as in Vixie cron: when both are restricted a day matches
//! either; when either field starts with `*` (like `*/2`) both must match.

mod misfire;
mod zone;

pub use misfire::{FireAction, FirePlan, PlannedFire, plan_fires};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use std::fmt;
use zone::LocalTime;

/// The most local candidates one [`Schedule::next_after`] call looks at. Only the repeated hour of
/// a fall-back day needs more than a few (every second of it, for an every-second schedule), so
/// this bound is never reached by a real zone; it only guarantees termination.
const MAX_CANDIDATES: usize = 1_000_000;

/// A parsed schedule: 5-field Vixie cron (Monday = 1), 6-field with seconds first, or one of
/// `@hourly`, `@daily`, `@weekly`, `@monthly` (also `@yearly`, `@annually`, `@midnight`).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The expression as written.
    text: String,
    /// The expression croner evaluates (nicknames expanded, Vixie day rule applied).
    cron: Cron,
    /// The hour field is `*` or `*/n`: the schedule follows real hours across DST changes.
    hour_wildcard: bool,
}

impl Schedule {
    /// Parses a schedule expression.
    ///
    /// # Errors
    /// A message saying what is wrong with the expression, including expressions that can never
    /// fire (`0 0 30 2 *`).
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(
                "empty schedule: expected a cron expression such as `*/5 * * * *` or @daily"
                    .to_owned(),
            );
        }
        let expanded = expand_nickname(trimmed)?;
        let mut fields: Vec<String> = expanded.split_whitespace().map(str::to_owned).collect();
        if fields.len() != 5 && fields.len() != 6 {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found {}",
                fields.len()
            ));
        }
        let n = fields.len();
        let hour_wildcard = fields[n - 4].starts_with('*');
        apply_vixie_day_rule(&mut fields);
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(&fields.join(" ")).map_err(|e| {
            let seconds = if n == 6 { "second (0-59) " } else { "" };
            format!(
                "invalid cron expression `{trimmed}`: {e} (fields: {seconds}minute (0-59) hour (0-23) day-of-month (1-31) month (1-12, JAN-DEC) day-of-week (0-7, SUN-SAT))"
            )
        })?;
        // A 5- or 6-field expression repeats at least every 8 years (leap days included), so one
        // that does not match between 2000 and 2008 never matches.
        let origin = NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let fires = origin.is_some_and(|o| {
            cron.find_next_occurrence(&o, true)
                .is_ok_and(|t| t.date().years_since(o.date()).is_some_and(|y| y <= 8))
        });
        if !fires {
            return Err(format!(
                "cron expression `{trimmed}` never fires (no such day, like February 30)"
            ));
        }
        Ok(Schedule {
            text: trimmed.to_owned(),
            cron,
            hour_wildcard,
        })
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire strictly after `after`, computed in `tz`.
    ///
    /// DST (Vixie cron): a local time skipped by spring-forward fires once, at the first instant
    /// after the gap; a fixed local time that occurs twice at fall-back fires once, at its first
    /// occurrence. Schedules whose hour field is `*` or `*/n` fire in both passes of a repeated
    /// hour and not in a skipped one (see the module doc). `None` if the expression never fires
    /// again (only past year 5000, croner's limit).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // croner searches years 1 to 5000; keep local times well inside chrono's range too.
        if after.year() >= croner::YEAR_UPPER_LIMIT - 1 {
            return None;
        }
        let floor = NaiveDate::from_ymd_opt(2, 1, 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc();
        let after = after.max(floor);
        // Fires are whole seconds: a candidate at `after`'s own local second is never after it.
        let local_after = tz
            .from_utc_datetime(&after.naive_utc())
            .naive_local()
            .trunc_subsecs(0);

        // The local-time → instant map is monotone along each pass, so the answer is the first
        // candidate (from `local_after` on) whose first-pass instant is after `after` — unless a
        // second-pass instant of a repeated hour comes earlier. When `after` is in the first pass
        // of a repeated hour, second-pass candidates start up to one fold length before
        // `local_after`, so the walk starts there.
        let mut cursor = local_after;
        if self.hour_wildcard
            && let Some(LocalTime::Ambiguous { earlier, later }) = zone::resolve(tz, local_after)
            && after < later
        {
            cursor = local_after.checked_sub_signed(later - earlier)?;
        }

        let mut inclusive = true;
        let mut second_pass: Option<DateTime<Utc>> = None;
        let earliest =
            |t: DateTime<Utc>, second: Option<DateTime<Utc>>| Some(second.map_or(t, |s| s.min(t)));
        for _ in 0..MAX_CANDIDATES {
            let candidate = self.next_local(cursor, inclusive)?;
            cursor = candidate;
            inclusive = false;
            match zone::resolve(tz, candidate) {
                Some(LocalTime::Single(t)) if t > after => return earliest(t, second_pass),
                Some(LocalTime::Single(_)) | None => {}
                Some(LocalTime::Ambiguous { earlier, later }) => {
                    if earlier > after {
                        return earliest(earlier, second_pass);
                    }
                    if self.hour_wildcard && later > after && second_pass.is_none() {
                        second_pass = Some(later);
                    }
                }
                Some(LocalTime::Gap { after_gap, resume }) => {
                    if !self.hour_wildcard && after_gap > after {
                        return earliest(after_gap, second_pass);
                    }
                    // Every other time in this gap resolves the same way: jump past it.
                    cursor = resume;
                    inclusive = true;
                }
            }
        }
        None
    }

    /// The next local wall-clock time that matches, on a plain calendar.
    fn next_local(&self, from: NaiveDateTime, inclusive: bool) -> Option<NaiveDateTime> {
        self.cron.find_next_occurrence(&from, inclusive).ok()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Replaces an `@nickname` by its 5-field expression; other expressions pass through.
fn expand_nickname(expr: &str) -> Result<String, String> {
    if !expr.starts_with('@') {
        return Ok(expr.to_owned());
    }
    let fields = match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            return Err(format!(
                "unknown schedule `{expr}`: expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"
            ));
        }
    };
    Ok(fields.to_owned())
}

/// Vixie cron: day-of-month and day-of-week are OR-ed only when neither field starts with `*`;
/// a field like `*/2` makes them AND-ed. croner OR-s unless a field is exactly `*`, so the
/// AND case gets croner's `+` (AND) prefix on the day-of-week field.
fn apply_vixie_day_rule(fields: &mut [String]) {
    let n = fields.len();
    let (dom, dow) = (&fields[n - 3], &fields[n - 1]);
    let is_star = |f: &str| f == "*" || f == "?";
    let star_like = |f: &str| f.starts_with('*');
    if !dow.starts_with('+') && !is_star(dom) && !is_star(dow) && (star_like(dom) || star_like(dow))
    {
        fields[n - 1] = format!("+{dow}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Weekday};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    /// Every fire in `(from, to]`, by repeated `next_after`.
    fn fires(expr: &str, zone: &str, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let s = Schedule::parse(expr).unwrap();
        let (mut t, end) = (utc(from), utc(to));
        let mut out = Vec::new();
        while let Some(n) = s.next_after(t, tz(zone)) {
            assert!(n > t, "{expr}: {n} is not after {t}");
            if n > end {
                break;
            }
            out.push(n);
            t = n;
        }
        out
    }

    fn rfc(v: &[DateTime<Utc>]) -> Vec<String> {
        v.iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect()
    }

    #[test]
    fn weekday_range_fires_monday_to_friday_only() {
        // 2026-03-02 is a Monday; a whole week plus the next Monday.
        let got = fires(
            "0 9 * * 1-5",
            "UTC",
            "2026-03-01T00:00:00Z",
            "2026-03-09T23:59:59Z",
        );
        let days: Vec<Weekday> = got.iter().map(|t| t.weekday()).collect();
        use Weekday::*;
        assert_eq!(days, [Mon, Tue, Wed, Thu, Fri, Mon]);
        assert!(
            got.iter()
                .all(|t| t.format("%H:%M:%S").to_string() == "09:00:00")
        );
    }

    #[test]
    fn weekday_zero_and_seven_are_sunday() {
        for expr in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "@weekly"] {
            let got = fires(expr, "UTC", "2026-03-01T00:00:00Z", "2026-03-22T00:00:00Z");
            assert_eq!(
                rfc(&got),
                [
                    "2026-03-08T00:00:00Z",
                    "2026-03-15T00:00:00Z",
                    "2026-03-22T00:00:00Z"
                ],
                "{expr}"
            );
        }
    }

    #[test]
    fn names_lists_ranges_and_steps_parse_as_in_vixie() {
        // (expression, start, expected next fires)
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "*/20 9-10 * * *",
                "2026-03-02T00:00:00Z",
                &[
                    "2026-03-02T09:00:00Z",
                    "2026-03-02T09:20:00Z",
                    "2026-03-02T09:40:00Z",
                    "2026-03-02T10:00:00Z",
                ],
            ),
            (
                "0 12 * JAN,jul MON",
                "2026-03-02T00:00:00Z",
                &["2026-07-06T12:00:00Z", "2026-07-13T12:00:00Z"],
            ),
            (
                "0 0 1-10/3 * *",
                "2026-03-02T00:00:00Z",
                &[
                    "2026-03-04T00:00:00Z",
                    "2026-03-07T00:00:00Z",
                    "2026-03-10T00:00:00Z",
                    "2026-04-01T00:00:00Z",
                ],
            ),
            // Both day fields restricted: the 13th OR a Friday (2026-03-13 is a Friday).
            (
                "0 0 13 * FRI",
                "2026-03-01T00:00:00Z",
                &[
                    "2026-03-06T00:00:00Z",
                    "2026-03-13T00:00:00Z",
                    "2026-03-20T00:00:00Z",
                ],
            ),
            // A `*/n` day field makes Vixie AND them: odd days that are Mondays.
            (
                "0 0 */2 * MON",
                "2026-03-01T00:00:00Z",
                &[
                    "2026-03-09T00:00:00Z",
                    "2026-03-23T00:00:00Z",
                    "2026-04-13T00:00:00Z",
                ],
            ),
            (
                "@hourly",
                "2026-03-02T10:30:00Z",
                &["2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"],
            ),
            (
                "@daily",
                "2026-03-02T10:30:00Z",
                &["2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"],
            ),
            (
                "@midnight",
                "2026-03-02T10:30:00Z",
                &["2026-03-03T00:00:00Z"],
            ),
            (
                "@monthly",
                "2026-03-02T10:30:00Z",
                &["2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"],
            ),
            ("@yearly", "2026-03-02T10:30:00Z", &["2027-01-01T00:00:00Z"]),
            (
                "@annually",
                "2026-03-02T10:30:00Z",
                &["2027-01-01T00:00:00Z"],
            ),
            (
                "0 0 29 2 *",
                "2026-03-02T00:00:00Z",
                &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
            ),
        ];
        for (expr, start, want) in cases {
            let s = Schedule::parse(expr).unwrap();
            let mut t = utc(start);
            let mut got = Vec::new();
            for _ in 0..want.len() {
                t = s.next_after(t, Tz::UTC).unwrap();
                got.push(t);
            }
            assert_eq!(rfc(&got), *want, "{expr}");
        }
    }

    #[test]
    fn daily_fires_at_local_midnight_in_the_zone() {
        let got = fires(
            "@daily",
            "America/Chicago",
            "2026-06-01T00:00:00Z",
            "2026-06-03T00:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-06-01T05:00:00Z", "2026-06-02T05:00:00Z"]);
    }

    #[test]
    fn six_fields_have_seconds_first_and_fire_every_second() {
        let got = fires(
            "*/1 * * * * *",
            "UTC",
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:05Z",
        );
        assert_eq!(
            rfc(&got),
            [
                "2026-03-02T10:00:01Z",
                "2026-03-02T10:00:02Z",
                "2026-03-02T10:00:03Z",
                "2026-03-02T10:00:04Z",
                "2026-03-02T10:00:05Z"
            ]
        );
        let got = fires(
            "30 0 9 * * *",
            "UTC",
            "2026-03-02T00:00:00Z",
            "2026-03-03T00:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-03-02T09:00:30Z"]);
    }

    #[test]
    fn a_fire_is_strictly_after_a_sub_second_instant() {
        let s = Schedule::parse("*/1 * * * * *").unwrap();
        let after = utc("2026-03-02T10:00:00.500Z");
        assert_eq!(
            s.next_after(after, Tz::UTC),
            Some(utc("2026-03-02T10:00:01Z"))
        );
    }

    #[test]
    fn spring_forward_fires_a_skipped_daily_time_once_right_after_the_gap() {
        // America/New_York jumps from 02:00 EST to 03:00 EDT on 2026-03-08.
        let got = fires(
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T00:00:00Z",
            "2026-03-10T00:00:00Z",
        );
        assert_eq!(
            rfc(&got),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
    }

    #[test]
    fn spring_forward_collapses_several_skipped_times_into_one_fire() {
        let got = fires(
            "*/15 2 * * *",
            "America/New_York",
            "2026-03-08T00:00:00Z",
            "2026-03-09T00:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-03-08T07:00:00Z"]);
        let got = fires(
            "0 2,3 * * *",
            "America/New_York",
            "2026-03-08T00:00:00Z",
            "2026-03-09T00:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-03-08T07:00:00Z"]);
    }

    #[test]
    fn spring_forward_hourly_schedule_skips_the_missing_hour() {
        let got = fires(
            "0 * * * *",
            "America/New_York",
            "2026-03-08T05:30:00Z",
            "2026-03-08T08:00:00Z",
        );
        // 01:00 EST, then 03:00 EDT, 04:00 EDT: no 02:00, and no double fire at 03:00.
        assert_eq!(
            rfc(&got),
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T08:00:00Z"
            ]
        );
        let got = fires(
            "30 * * * *",
            "America/New_York",
            "2026-03-08T05:45:00Z",
            "2026-03-08T08:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"]);
    }

    #[test]
    fn fall_back_fires_a_daily_time_in_the_repeated_hour_once_at_the_first_pass() {
        // America/New_York goes from 02:00 EDT back to 01:00 EST on 2026-11-01.
        let got = fires(
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T00:00:00Z",
            "2026-11-03T00:00:00Z",
        );
        assert_eq!(
            rfc(&got),
            [
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z"
            ]
        );
    }

    #[test]
    fn fall_back_fires_a_daily_time_after_the_repeated_hour_once() {
        let got = fires(
            "30 2 * * *",
            "America/New_York",
            "2026-10-31T00:00:00Z",
            "2026-11-03T00:00:00Z",
        );
        assert_eq!(
            rfc(&got),
            [
                "2026-10-31T06:30:00Z",
                "2026-11-01T07:30:00Z",
                "2026-11-02T07:30:00Z"
            ]
        );
    }

    #[test]
    fn hourly_schedule_fires_in_both_passes_of_the_repeated_hour() {
        let got = fires(
            "30 * * * *",
            "America/New_York",
            "2026-11-01T04:00:00Z",
            "2026-11-01T08:00:00Z",
        );
        // 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST.
        assert_eq!(
            rfc(&got),
            [
                "2026-11-01T04:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z",
                "2026-11-01T07:30:00Z"
            ]
        );
    }

    #[test]
    fn every_fifteen_minutes_covers_both_passes_in_real_time_order() {
        let got = fires(
            "*/15 * * * *",
            "America/New_York",
            "2026-11-01T05:00:00Z",
            "2026-11-01T07:00:00Z",
        );
        let want: Vec<DateTime<Utc>> = (1..=8)
            .map(|k| utc("2026-11-01T05:00:00Z") + Duration::minutes(15 * k))
            .collect();
        assert_eq!(got, want);
        // Starting inside the first pass still finds the second pass in order.
        let s = Schedule::parse("0 * * * *").unwrap();
        let ny = tz("America/New_York");
        assert_eq!(
            s.next_after(utc("2026-11-01T05:50:00Z"), ny),
            Some(utc("2026-11-01T06:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-01T06:00:00Z"), ny),
            Some(utc("2026-11-01T07:00:00Z"))
        );
    }

    #[test]
    fn a_restricted_hour_with_minute_steps_fires_only_in_the_first_pass() {
        let got = fires(
            "*/30 1 * * *",
            "America/New_York",
            "2026-11-01T00:00:00Z",
            "2026-11-02T00:00:00Z",
        );
        assert_eq!(rfc(&got), ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z"]);
    }

    #[test]
    fn each_dst_day_gets_exactly_one_fire_of_a_daily_schedule() {
        for (expr, from, to) in [
            ("30 2 * * *", "2026-03-07T05:00:00Z", "2026-03-10T05:00:00Z"),
            ("30 1 * * *", "2026-10-31T04:00:00Z", "2026-11-03T05:00:00Z"),
            ("30 2 * * *", "2026-10-31T04:00:00Z", "2026-11-03T05:00:00Z"),
        ] {
            let ny = tz("America/New_York");
            let got = fires(expr, "America/New_York", from, to);
            let days: Vec<_> = got
                .iter()
                .map(|t| t.with_timezone(&ny).date_naive())
                .collect();
            let mut unique = days.clone();
            unique.dedup();
            assert_eq!(got.len(), 3, "{expr}: {got:?}");
            assert_eq!(days, unique, "{expr}: two fires on one day: {got:?}");
        }
    }

    #[test]
    fn invalid_expressions_give_clear_errors() {
        let cases = [
            ("", "empty schedule"),
            ("* * *", "expected 5 fields"),
            ("0 0 0 1 1 * 2030", "found 7"),
            ("60 * * * *", "invalid cron expression `60 * * * *`"),
            ("0 9 * * FUNDAY", "invalid cron expression"),
            ("@reboot", "unknown schedule `@reboot`"),
            ("0 0 30 2 *", "never fires"),
        ];
        for (expr, want) in cases {
            let err = Schedule::parse(expr).unwrap_err();
            assert!(err.contains(want), "{expr:?}: {err}");
        }
    }

    #[test]
    fn no_instant_makes_next_after_fail_in_any_zone() {
        let s = Schedule::parse("*/7 */3 * * *").unwrap();
        for zone in [
            "UTC",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Apia",
            "Asia/Kathmandu",
        ] {
            let mut t = utc("2011-12-28T00:00:00Z");
            for _ in 0..500 {
                let n = s.next_after(t, tz(zone)).unwrap();
                assert!(n > t);
                t = n;
            }
        }
        let yearly = Schedule::parse("@yearly").unwrap();
        assert_eq!(
            yearly.next_after(DateTime::<Utc>::MAX_UTC, tz("Asia/Tokyo")),
            None
        );
        let first = yearly.next_after(DateTime::<Utc>::MIN_UTC, tz("America/New_York"));
        assert!(first.is_some());
    }
}
