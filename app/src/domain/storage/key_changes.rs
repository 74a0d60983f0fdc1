//! The `key_changes` table, written and followed only by [`crate::domain::changes`].

use sea_orm::entity::prelude::*;

/// One change to a key or to the service tokens.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_changes")]
pub struct Model {
    /// Monotonic: on PostgreSQL numbers are handed out in commit order (see `changes::record`).
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// `key`, `all_keys`, `service_tokens`, `signing_keys`, `token` or `tokens`.
    pub kind: String,
    /// The SHA-256 of the changed key, for `key`; not secret (the keys table holds the same).
    pub key_hash: Option<String>,
    /// The revoked token's `jti`, for `token`.
    pub token_id: Option<String>,
    /// When it was recorded.
    pub changed_at: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
