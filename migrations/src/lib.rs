//! Latchkey's database schema. One file per migration, each portable between SQLite and PostgreSQL:
//! only sea-query builders, no backend-specific SQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_accounts;
mod m20261122_000002_create_sessions;
mod m20261122_000003_create_sign_in_throttles;
mod m20261122_000004_create_api_keys;
mod m20261122_000005_create_activity_events;
mod m20261122_000006_create_service_tokens;
mod m20261122_000007_create_key_usage;
mod m20261123_000008_create_usage_rollups;
mod m20261123_000009_create_key_changes;
mod m20261123_000010_create_signing_keys;
mod m20261201_000011_create_organisations;
mod m20261201_000012_create_portal_sign_in;
mod m20261202_000013_create_mail_and_account_security;
mod m20261202_000014_create_webhooks_and_leaks;
mod m20261202_000015_create_access_tokens;
mod m20261202_000016_index_keys_by_last_use;
mod m20261202_000017_create_usage_aggregates;
mod m20261208_000018_mail_invitations;
mod m20261208_000019_stage_usage;

/// Runs every migration in order; `latchkey migrate` and start-up call it.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_accounts::Migration),
            Box::new(m20261122_000002_create_sessions::Migration),
            Box::new(m20261122_000003_create_sign_in_throttles::Migration),
            Box::new(m20261122_000004_create_api_keys::Migration),
            Box::new(m20261122_000005_create_activity_events::Migration),
            Box::new(m20261122_000006_create_service_tokens::Migration),
            Box::new(m20261122_000007_create_key_usage::Migration),
            Box::new(m20261123_000008_create_usage_rollups::Migration),
            Box::new(m20261123_000009_create_key_changes::Migration),
            Box::new(m20261123_000010_create_signing_keys::Migration),
            Box::new(m20261201_000011_create_organisations::Migration),
            Box::new(m20261201_000012_create_portal_sign_in::Migration),
            Box::new(m20261202_000013_create_mail_and_account_security::Migration),
            Box::new(m20261202_000014_create_webhooks_and_leaks::Migration),
            Box::new(m20261202_000015_create_access_tokens::Migration),
            Box::new(m20261202_000016_index_keys_by_last_use::Migration),
            Box::new(m20261202_000017_create_usage_aggregates::Migration),
            Box::new(m20261208_000018_mail_invitations::Migration),
            Box::new(m20261208_000019_stage_usage::Migration),
        ]
    }
}
