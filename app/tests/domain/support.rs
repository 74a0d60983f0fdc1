use app::domain::accounts::create_account;
use app::domain::accounts::password::{Password, PasswordHasher};
use app::domain::clock::Clock;
use app::domain::clock::ManualClock;
use chrono::{TimeZone, Utc};
use sea_orm::DatabaseConnection;
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

/// Creates a customer account with a fixed password and answers its id.
pub async fn customer(db: &DatabaseConnection, clock: &dyn Clock, email: &str) -> String {
    create_account(db, hasher(), clock, email, &Password::new("correct horse battery"), false)
        .await
        .expect("account")
        .id
}

/// One of the operator's services acting on organisation `id` (an account's own organisation has the
/// account's id).
pub fn svc(id: &str) -> app::domain::keys::manage::Caller<'_> {
    app::domain::keys::manage::Caller::Service { organisation_id: id }
}
