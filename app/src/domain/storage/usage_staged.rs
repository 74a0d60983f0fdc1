//! The `usage_staged` table, written only by [`crate::domain::usage`]: counts an instance has written but
//! not yet folded into the usage tables.

use sea_orm::entity::prelude::*;

/// How often one key got one outcome in one hour, as counted by one instance in about a second.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_staged")]
pub struct Model {
    /// Id (UUIDv7: older rows sort first).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The key.
    pub key_id: String,
    /// The start of the hour (UTC).
    pub hour: DateTimeUtc,
    /// The outcome code, e.g. `VALID`.
    pub code: String,
    /// How many verifications.
    pub count: i64,
    /// The key's last use among them.
    pub last_used_at: DateTimeUtc,
    /// The client address last given for the key, if any.
    pub last_used_ip: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
