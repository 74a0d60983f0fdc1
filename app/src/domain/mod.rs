//! Everything Latchkey knows, with no HTTP and no views: accounts, sign-in, sessions and storage.
//! Compiled only with the `ssr` feature; the wasm bundle never sees it.

pub mod account_links;
pub mod accounts;
pub mod activity;
pub mod backlog;
pub mod bounds;
pub mod changes;
pub mod clock;
pub mod copy;
pub mod database;
pub mod identities;
pub mod jwt;
pub mod keys;
pub mod known_browsers;
pub mod leaks;
pub mod link_secret;
pub mod mail;
pub mod notices;
pub mod operator_log;
pub mod organisations;
pub mod portal_sessions;
pub mod random;
pub mod scopes;
pub mod sealing;
pub mod service_tokens;
pub mod sessions;
pub mod sign_in;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod two_factor;
pub mod usage;
pub mod verification;
pub mod webhooks;
