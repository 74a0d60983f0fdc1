//! sea-orm entities: one module per table, matching the migrations crate.

pub mod access_tokens;
pub mod account_identities;
pub mod account_links;
pub mod accounts;
pub mod activity_events;
pub mod api_keys;
pub mod invitations;
pub mod key_changes;
pub mod key_usage;
pub mod key_usage_daily;
pub mod known_browsers;
pub mod mail_outbox;
pub mod memberships;
pub mod operator_events;
pub mod organisations;
pub mod portal_sessions;
pub mod recovery_codes;
pub mod service_tokens;
pub mod sessions;
pub mod sign_in_throttles;
pub mod signing_keys;
pub mod usage_rollups;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_events;
