//! Usage: every verification of a stored key is counted per key, per hour, per outcome code.
//!
//! - [`counter`] counts in memory and writes hourly buckets in batches (every second, and at shutdown).
//! - [`rollup`] adds the hours of finished days into daily buckets and applies retention.
//! - [`report`] reads both back for the portal, the API and exports.
//!
//! Where the hourly and daily tables meet is one stored instant, `rolled_until`: days before it are read
//! from the daily table, hours from it on from the hourly table. The rollup moves it forward in the same
//! transaction that writes the days, so no reader ever counts an hour twice.

pub mod counter;
pub mod report;
pub mod rollup;

pub use counter::UsageCounter;
pub use report::{Bucket, Period, UsageOf, hourly, series};
pub use rollup::{Retention, roll_up};

use chrono::{DateTime, Duration, Utc};

/// Longest range one hourly read covers.
pub const MAX_RANGE: Duration = Duration::days(31);

/// The start of the hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    truncate(at, 3600)
}

/// Midnight (UTC) starting the day `at` falls in.
pub fn day_of(at: DateTime<Utc>) -> DateTime<Utc> {
    truncate(at, 86_400)
}

fn truncate(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    let since_epoch = at.timestamp();
    DateTime::from_timestamp(since_epoch - since_epoch.rem_euclid(seconds), 0).unwrap_or(at)
}

/// Bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One bucket per hour.
    Hour,
    /// One bucket per UTC day.
    Day,
}

impl Granularity {
    /// The start of the bucket `at` falls in.
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Hour => hour_of(at),
            Self::Day => day_of(at),
        }
    }

    /// How long one bucket is.
    pub fn step(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").to_utc()
    }

    #[test]
    fn hours_and_days_start_on_the_hour_and_at_midnight() {
        assert_eq!(hour_of(at("2026-11-22T12:34:56Z")), at("2026-11-22T12:00:00Z"));
        assert_eq!(day_of(at("2026-11-22T23:59:59Z")), at("2026-11-22T00:00:00Z"));
        assert_eq!(day_of(at("1969-12-31T23:00:00Z")), at("1969-12-31T00:00:00Z"));
    }
}
