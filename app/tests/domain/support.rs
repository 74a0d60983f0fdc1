use app::domain::accounts::password::PasswordHasher;
use app::domain::clock::ManualClock;
use chrono::{TimeZone, Utc};
use std::sync::{Arc, OnceLock};

/// One hasher for the whole test binary: building one costs a hash.
pub fn hasher() -> &'static PasswordHasher {
    static HASHER: OnceLock<PasswordHasher> = OnceLock::new();
    HASHER.get_or_init(|| PasswordHasher::new(2).expect("hasher"))
}

/// A clock at a fixed, realistic instant.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).single().expect("valid date")))
}
