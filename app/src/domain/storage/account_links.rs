//! The `account_links` table, written only by [`crate::domain::account_links`].

use sea_orm::entity::prelude::*;

/// A single-use link mailed to a person: to verify their address or to reset their password. Its secret is
/// drawn when the message is sent (so it never waits in the outbox) and stored only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_links")]
pub struct Model {
    /// Id (UUIDv7); the queued message names the link by it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Hex SHA-256 of the link's secret; `None` until the message carrying it is sent.
    #[sea_orm(unique)]
    pub secret_hash: Option<String>,
    /// Whose.
    pub account_id: String,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// The address it was sent to: a verification counts only for the address it was sent to.
    pub email: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// After this it no longer works.
    pub expires_at: DateTimeUtc,
    /// When it was used; a link works once.
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
