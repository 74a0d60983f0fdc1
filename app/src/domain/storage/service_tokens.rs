//! The `service_tokens` table, written only by [`crate::domain::service_tokens`].

use sea_orm::entity::prelude::*;

/// One stored service token: its hash, never the token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_tokens")]
pub struct Model {
    /// Public id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The operator's name for it.
    pub name: String,
    /// Hex SHA-256 of the whole token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Prefix and first characters, for people.
    pub hint: String,
    /// JSON array of permission names.
    pub permissions: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// Last accepted.
    pub last_used_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
