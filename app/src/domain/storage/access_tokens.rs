//! The `access_tokens` table, written only by [`crate::domain::jwt::ledger`].

use sea_orm::entity::prelude::*;

/// One issued access token: never the token itself, only what identifies it and whether it still works.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    /// The token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    /// The key it was bought with (no foreign key: the row outlives a deleted key until the token expires).
    pub key_id: String,
    /// The organisation that owns the key.
    pub organisation_id: String,
    /// Its `iat`.
    pub issued_at: DateTimeUtc,
    /// Its `exp`; the row is pruned some time after.
    pub expires_at: DateTimeUtc,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// Why: see [`crate::domain::jwt::ledger::Ended`].
    pub revoked_because: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
