//! The `accounts` table.

use sea_orm::entity::prelude::*;

/// An argon2id PHC string as stored. Not a secret in itself, but no reason for it to reach a log line
/// either: `Debug` (and so the generated `ActiveModel`'s) redacts it.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct StoredPasswordHash(pub String);

impl std::fmt::Debug for StoredPasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredPasswordHash(<redacted>)")
    }
}

/// One account row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Public, opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Trimmed, lower-cased, unique.
    #[sea_orm(unique)]
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: StoredPasswordHash,
    /// Operators see the operator pages.
    pub is_operator: bool,
    /// When the account was created.
    pub created_at: DateTimeUtc,
    /// When the password was last set.
    pub password_changed_at: DateTimeUtc,
    /// The person's name, as the provider's app or identity provider last gave it.
    pub display_name: Option<String>,
    /// When the person proved they receive mail at `email`; providers vouch for the addresses they send.
    pub email_verified_at: Option<DateTimeUtc>,
    /// The TOTP secret, sealed (see [`crate::domain::sealing`]); kept while enrolment awaits its first code.
    pub totp_secret: Option<crate::domain::sealing::SealedText>,
    /// When two-factor sign-in was turned on; `None` while it is off or being set up.
    pub totp_enabled_at: Option<DateTimeUtc>,
    /// The last TOTP time step accepted: a code is good once.
    pub totp_last_step: Option<i64>,
    /// Key notices the person turned off, comma-separated kinds.
    pub muted_notices: String,
}

/// No relations yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
