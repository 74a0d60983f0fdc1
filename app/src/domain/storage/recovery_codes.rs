//! The `recovery_codes` table, written only by [`crate::domain::two_factor`].

use sea_orm::entity::prelude::*;

/// One two-factor recovery code, stored only as its SHA-256; each works once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    /// Hex SHA-256 of the normalised code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    /// Whose.
    pub account_id: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// When it was used.
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
