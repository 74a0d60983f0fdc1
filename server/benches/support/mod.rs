//! What the server benchmarks share: the whole router's state on a given database, as `serve` builds it.

use app::domain::accounts::password::PasswordHasher;
use app::domain::clock::SharedClock;
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::ScopeCatalogue;
use app::domain::sessions::SessionPolicy;
use app::domain::throttle::ThrottlePolicy;
use app::domain::usage::Retention;
use latchkey_server::router::{AppState, WebPolicy};
use latchkey_server::run::leptos_options;
use latchkey_server::v1::VerificationServices;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The address the portal believes it serves.
pub const HOST: &str = "127.0.0.1:3000";

/// The router's state on `db`, with room for `max_keys` keys in one organisation.
pub fn state(db: DatabaseConnection, clock: SharedClock, max_keys: u64) -> AppState {
    let policy = KeyPolicy { max_keys_per_organisation: max_keys, ..KeyPolicy::default() };
    let verification =
        VerificationServices::new(policy.prefix.clone(), KeyPrefix::new("lksvc").expect("prefix"), clock.clone());
    AppState {
        leptos_options: leptos_options(HOST.parse().expect("address")),
        db,
        hasher: Arc::new(PasswordHasher::new(1).expect("hasher")),
        clock,
        sessions: SessionPolicy::default(),
        throttle: ThrottlePolicy::default(),
        keys: policy,
        scopes: ScopeCatalogue::example(),
        web: WebPolicy::default(),
        verification,
        usage_retention: Retention::default(),
        tokens: app::domain::jwt::TokenPolicy::new("http://127.0.0.1:3000"),
        provider: Default::default(),
        account_security: Default::default(),
        events: Default::default(),
        metrics: Default::default(),
    }
}
