//! Formatting of instants and durations for people: local time with its zone, short durations.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// `2026-11-29 14:05:09 CST`: the instant in `tz`, with the zone's abbreviation.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Like [`local`], `-` for none.
pub fn local_opt(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or_else(|| "-".to_owned(), |t| local(t, tz))
}

/// RFC 3339 with the zone's offset, for `--json`.
pub fn rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// `0.42s`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h {:02}m", d.as_secs() / 3600, (d.as_secs() % 3600) / 60)
    }
}

/// Seconds between two instants, if both are known and in order.
pub fn seconds_between(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    let (from, to) = (from?, to?);
    let ms = (to - from).num_milliseconds();
    (ms >= 0).then(|| ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_time_carries_the_zone_abbreviation() {
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 20, 5, 9).unwrap();
        assert_eq!(
            local(t, chrono_tz::America::Chicago),
            "2026-11-29 14:05:09 CST"
        );
        assert_eq!(
            rfc3339(t, chrono_tz::America::Chicago),
            "2026-11-29T14:05:09.000-06:00"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(420)), "0.42s");
        assert_eq!(duration(Duration::from_secs(245)), "4m 05s");
        assert_eq!(duration(Duration::from_secs(7380)), "2h 03m");
    }
}
