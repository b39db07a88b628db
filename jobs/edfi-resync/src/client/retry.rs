//! When to retry and how long to wait: exponential backoff with jitter, the host's
//! `Retry-After`, and sleeps the job's cancellation can cut short.
//!
//! Hosts under load answer 429 or 5xx to a burst of writers; retrying at once makes it worse and
//! retrying in lockstep (every worker after the same delay) too, hence the doubling delay with
//! jitter and the cap. A host that says how long to wait (`Retry-After`) is believed, up to
//! [`MAX_RETRY_AFTER`]. Sleeping happens on the job's own worker thread (there is no async
//! runtime around the plugin), in slices of at most [`SLEEP_SLICE`] so a cancelled job stops
//! within a quarter of a second instead of after a 30 s backoff.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::errors::ApiError;

/// Longest single sleep between two cancellation checks.
pub const SLEEP_SLICE: Duration = Duration::from_millis(250);
/// Longest `Retry-After` honoured; a host asking for more gets this (and the attempt budget
/// decides the rest).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Statuses worth another attempt: throttling and server-side or gateway failures.
#[must_use]
pub fn retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Delay before retry number `retry` (1 = after the first failed attempt): `base × 2^(retry-1)`
/// capped at `cap`, of which the upper half is random ("equal jitter"), so workers that failed
/// together spread out but none retries at once.
#[must_use]
pub fn backoff(retry: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = retry.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exponent).min(cap);
    let half = full / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(random_below(half_ms.saturating_add(1)))
}

/// A `Retry-After` value: delay seconds, or an HTTP date (RFC 7231 IMF-fixdate) relative to now.
#[must_use]
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// Sleeps `total`, checking `cancel` at least every [`SLEEP_SLICE`].
///
/// # Errors
/// [`ApiError::Cancelled`] as soon as `cancel` is seen set.
pub fn sleep_unless_cancelled(total: Duration, cancel: &AtomicBool) -> Result<(), ApiError> {
    let deadline = Instant::now() + total;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ApiError::Cancelled);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        nap(left.min(SLEEP_SLICE));
    }
}

/// The one blocking sleep of the client.
#[expect(
    clippy::disallowed_methods,
    reason = "the client runs synchronously on the job's own worker thread, never inside an \
              async runtime, so blocking the thread is the point"
)]
pub(crate) fn nap(duration: Duration) {
    std::thread::sleep(duration);
}

/// A number in `0..bound` (0 when `bound` is 0), from the standard library's randomly keyed
/// hasher: jitter needs spread, not cryptographic quality, and this needs no extra crate.
fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(DRAWS.fetch_add(1, Ordering::Relaxed)) % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let base = Duration::from_millis(200);
        let cap = Duration::from_secs(30);
        for _ in 0..50 {
            let first = backoff(1, base, cap);
            assert!(
                first >= Duration::from_millis(100) && first <= base,
                "{first:?}"
            );
            let third = backoff(3, base, cap);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(800));
            let late = backoff(40, base, cap);
            assert!(late >= Duration::from_secs(15) && late <= cap, "{late:?}");
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(5, base, cap)).collect();
        assert!(spread.len() > 1, "jitter varies the delay");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(20)).to_rfc2822();
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(17) && wait <= Duration::from_secs(20));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn statuses() {
        assert!(retryable_status(429) && retryable_status(500) && retryable_status(504));
        assert!(!retryable_status(400) && !retryable_status(409) && !retryable_status(404));
    }

    #[test]
    fn cancelled_sleep_returns_within_a_slice() {
        let cancel = AtomicBool::new(true);
        let started = Instant::now();
        assert_eq!(
            sleep_unless_cancelled(Duration::from_secs(10), &cancel),
            Err(ApiError::Cancelled)
        );
        assert!(started.elapsed() < SLEEP_SLICE);
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        sleep_unless_cancelled(Duration::from_millis(300), &cancel).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
