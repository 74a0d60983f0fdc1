//! Usage: every verification of a stored key is counted per key, per hour, per outcome code.
//!
//! - [`counter`] counts in memory and writes hourly buckets in batches (every second, and at shutdown).
//! - [`rollup`] adds the hours of finished days into daily buckets and applies retention.
//! - [`report`] reads both back for the portal, the API and exports.
//! - [`windows`] keeps each key's totals over the last 24 hours and 30 days, which the usage overview
//!   ranks keys by.
//!
//! Every bucket is kept twice: per key (`key_usage`, `key_usage_daily`) and per organisation
//! (`organisation_usage`, `organisation_usage_daily`), written in the same transactions, so charts of an
//! organisation read a few dozen rows however many keys it has.
//!
//! Where the hourly and daily tables meet is one stored instant, `rolled_until`: days before it are read
//! from the daily tables, hours from it on from the hourly ones. The rollup moves it forward in the same
//! transaction that writes the days, so no reader ever counts an hour twice.

pub mod counter;
pub mod report;
pub mod rollup;
pub mod windows;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// The name stored for this granularity.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
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
