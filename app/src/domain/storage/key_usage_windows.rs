//! The `key_usage_windows` table, written only by [`crate::domain::usage::windows`].

use sea_orm::entity::prelude::*;

/// How often one key got one outcome in the sliding window of one granularity: since
/// `usage_rollups.hour_window_from` (`hour`) or `usage_rollups.day_window_from` (`day`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_usage_windows")]
pub struct Model {
    /// The key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    /// `hour` (the last 24 hours) or `day` (the last 30 days).
    #[sea_orm(primary_key, auto_increment = false)]
    pub granularity: String,
    /// The outcome code, e.g. `VALID`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// The key's organisation.
    pub organisation_id: String,
    /// How many verifications.
    pub count: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
