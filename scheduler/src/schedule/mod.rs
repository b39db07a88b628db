//! Cron schedules evaluated in a job's time zone, with Vixie-cron DST semantics, and the
//! misfire plan for fires missed during downtime.

mod misfire;

pub use misfire::{FirePlan, PlannedFire, plan_fires};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A parsed schedule: 5-field Vixie cron (Monday = 1), 6-field with seconds first, or one of
/// `@hourly`, `@daily`, `@weekly`, `@monthly` (also `@yearly`, `@midnight`).
#[derive(Debug, Clone)]
pub struct Schedule {
    // Filled in by the implementation.
}

impl Schedule {
    /// Parses a schedule expression.
    ///
    /// # Errors
    /// A message saying what is wrong with the expression.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let _ = expr;
        unimplemented!()
    }

    /// The first fire strictly after `after`, computed in `tz`.
    ///
    /// DST (Vixie cron): a local time skipped by spring-forward fires once, at the first instant
    /// after the gap; a fixed local time that occurs twice at fall-back fires once, at its first
    /// occurrence. `None` if the expression never fires again.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let _ = (after, tz);
        unimplemented!()
    }
}
