//! The range of instants and dates Latchkey accepts from outside. chrono's arithmetic panics past its own
//! range (about ±262,000 years) and databases store less than that, so every date a request brings is held
//! to years 1970–9999 before any arithmetic, and the caller refuses the rest naming the field.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// The earliest accepted instant: 1970-01-01T00:00:00Z.
pub const EARLIEST: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// The latest accepted day: 9999-12-31.
pub fn latest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The latest accepted instant: 9999-12-31T23:59:59Z.
pub fn latest() -> DateTime<Utc> {
    latest_date().and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN)).and_utc()
}

/// Whether `at` lies within [`EARLIEST`] ..= [`latest`].
pub fn instant_in_range(at: DateTime<Utc>) -> bool {
    (EARLIEST..=latest()).contains(&at)
}

/// Whether `day` lies within 1970-01-01 ..= 9999-12-31.
pub fn date_in_range(day: NaiveDate) -> bool {
    (EARLIEST.date_naive()..=latest_date()).contains(&day)
}

/// The sentence a refusal uses.
pub const RANGE_TEXT: &str = "between 1970-01-01 and 9999-12-31";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_1970_to_9999() {
        assert!(instant_in_range(EARLIEST));
        assert!(instant_in_range(latest()));
        assert!(!instant_in_range(DateTime::<Utc>::MAX_UTC));
        assert!(!instant_in_range(DateTime::<Utc>::MIN_UTC));
        assert!(!date_in_range(NaiveDate::MAX));
        assert!(date_in_range(NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")));
        // Arithmetic of a year's span either side of the range stays inside chrono's.
        let _ = latest() + chrono::Duration::days(400);
        let _ = EARLIEST - chrono::Duration::days(400);
    }
}
