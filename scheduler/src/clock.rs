//! The one place Ferry reads the wall clock.
//!
//! Times are truncated to whole milliseconds so that what is stored, compared and printed is the
//! same instant on SQLite and PostgreSQL.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Now, truncated to the millisecond.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// `t` truncated to the millisecond.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}
