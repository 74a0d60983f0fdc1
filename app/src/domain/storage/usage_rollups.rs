//! The `usage_rollups` table: one row saying how far hourly usage has been rolled up into days.

use sea_orm::entity::prelude::*;

/// The rollup's progress.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_rollups")]
pub struct Model {
    /// Always 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The first day (midnight UTC) whose hours are not yet in `key_usage_daily`.
    pub rolled_until: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
