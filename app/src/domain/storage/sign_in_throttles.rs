//! The `sign_in_throttles` table, written only by [`crate::domain::throttle`].

use sea_orm::entity::prelude::*;

/// Failed sign-ins of one subject.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_throttles")]
pub struct Model {
    /// `email:<address>` or `ip:<address>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    /// Failures since the counter was last reset.
    pub failures: i32,
    /// The most recent failure.
    pub last_failure_at: DateTimeUtc,
    /// No attempt is checked before this instant.
    pub blocked_until: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
