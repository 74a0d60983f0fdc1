//! Domain tests: accounts, sign-in and sessions, each on SQLite and on PostgreSQL, without HTTP.

mod account_security;
mod account_settings;
mod accounts;
mod activity;
mod changes;
mod database;
mod identities;
mod jwt;
mod key_listing;
mod keys;
mod mail;
mod organisations;
mod organisations_migration;
mod rate_limits;
mod secrets;
mod service_tokens;
mod sessions;
mod sign_in;
mod support;
mod token_revocation;
mod usage;
mod verification;
mod webhooks;
