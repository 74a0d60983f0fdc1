//! The `webhook_events` table, written only by [`crate::domain::webhooks`].

use sea_orm::entity::prelude::*;

/// Something that happened, as webhooks tell it. The id is the `webhook-id` of every delivery of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// `msg_` and a UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The organisation it concerns.
    pub organisation_id: Option<String>,
    /// `key.created`, …
    pub event_type: String,
    /// When it happened.
    pub occurred_at: DateTimeUtc,
    /// The whole body delivered, JSON.
    pub payload: String,
    /// Makes an event that must happen once (an expiry reminder) unique.
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
