//! The `organisation_usage` table, written only by [`crate::domain::usage`].

use sea_orm::entity::prelude::*;

/// How often one organisation's keys got one outcome in one hour: the sum of its keys' `key_usage` rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation_usage")]
pub struct Model {
    /// The organisation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: String,
    /// The start of the hour (UTC).
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: DateTimeUtc,
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
