//! The `memberships` table, written only by [`crate::domain::organisations`].

use sea_orm::entity::prelude::*;

/// One person's place in one organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    /// The organisation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: String,
    /// The person.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub role: String,
    /// When they joined.
    pub joined_at: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
