//! The `organisation_usage_daily` table, written only by [`crate::domain::usage`].

use sea_orm::entity::prelude::*;

/// How often one organisation's keys got one outcome on one (UTC) day: the sum of its keys'
/// `key_usage_daily` rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_usage_daily")]
pub struct Model {
    /// The organisation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: String,
    /// Midnight (UTC) starting the day.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: DateTimeUtc,
    /// The outcome code, e.g. `VALID`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// How many verifications.
    pub count: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
