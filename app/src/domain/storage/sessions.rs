//! The `sessions` table, written only by [`crate::domain::sessions::store`].

use sea_orm::entity::prelude::*;

/// One stored session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// Hex SHA-256 of the session id; the id itself is never stored.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    /// The signed-in account, if any.
    pub account_id: Option<String>,
    /// The session's data as a JSON object.
    pub data: String,
    /// After this instant the session is gone.
    pub expires_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
