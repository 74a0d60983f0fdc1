//! The `usage_rollups` table: one row saying how far hourly usage has been rolled up into days, and where
//! the per-key usage windows start.

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
    /// The first hour counted in `key_usage_windows`' 24-hour window; unset until the rollup builds it.
    pub hour_window_from: Option<DateTimeUtc>,
    /// The first day counted in `key_usage_windows`' 30-day window; unset until the rollup builds it.
    pub day_window_from: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
