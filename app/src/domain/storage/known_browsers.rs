//! The `known_browsers` table, written only by [`crate::domain::known_browsers`].

use sea_orm::entity::prelude::*;

/// A browser a person has signed in from, by the SHA-256 of the id in its long-lived browser cookie.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "known_browsers")]
pub struct Model {
    /// Whose.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// Hex SHA-256 of the browser's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub browser_hash: String,
    /// First sign-in from it.
    pub first_seen_at: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
