//! The `api_keys` table, written only by [`crate::domain::keys`].

use sea_orm::entity::prelude::*;

/// One stored key: its hash, never the key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Public id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The owning organisation.
    pub organisation_id: String,
    /// Hex SHA-256 of the whole key.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// Prefix and first body characters, for people.
    pub hint: String,
    /// The customer's name for the key.
    pub name: String,
    /// JSON array of scope names.
    pub scopes: String,
    /// Who created it, in words: an email address or `service token "name"`.
    pub created_by: String,
    /// The member who created it, while they have an account; developers may change only these keys.
    pub created_by_account_id: Option<String>,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Last changed by its owner.
    pub updated_at: DateTimeUtc,
    /// After this instant the key answers EXPIRED.
    pub expires_at: Option<DateTimeUtc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// The successor, for a rolled key.
    pub rolled_into: Option<String>,
    /// When it was rolled.
    pub rolled_at: Option<DateTimeUtc>,
    /// Last verification.
    pub last_used_at: Option<DateTimeUtc>,
    /// Client address of the last verification.
    pub last_used_ip: Option<String>,
    /// JSON object returned on a valid verification.
    pub meta: Option<String>,
    /// JSON array of CIDRs.
    pub ip_allowlist: Option<String>,
    /// Requests allowed per window.
    pub ratelimit_limit: Option<i32>,
    /// The rate limit window.
    pub ratelimit_window_seconds: Option<i32>,
    /// When a leak report found this key in public.
    pub leaked_at: Option<DateTimeUtc>,
    /// Where it was found.
    pub leak_url: Option<String>,
    /// Who reported it: `github` or a service token's name.
    pub leak_source: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
