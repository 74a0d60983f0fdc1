//! The `accounts` table.

use sea_orm::entity::prelude::*;

/// One account row.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Public, opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Trimmed, lower-cased, unique.
    #[sea_orm(unique)]
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Operators see the operator pages.
    pub is_operator: bool,
    /// When the account was created.
    pub created_at: DateTimeUtc,
    /// When the password was last set.
    pub password_changed_at: DateTimeUtc,
}

// The hash is not a secret in itself, but there is no reason for it to reach a log line either.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_operator", &self.is_operator)
            .finish_non_exhaustive()
    }
}

/// No relations yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
