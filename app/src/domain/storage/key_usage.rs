//! The `key_usage` table, written only by [`crate::domain::usage`].

use sea_orm::entity::prelude::*;

/// How often one key got one outcome in one hour.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_usage")]
pub struct Model {
    /// The key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    /// The start of the hour (UTC).
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: DateTimeUtc,
    /// The key's organisation (a key never changes owner): organisation-wide reads need no join.
    pub organisation_id: String,
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
