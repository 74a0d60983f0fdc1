//! The `webhook_attempts` table, written only by [`crate::domain::webhooks`]: the delivery log.

use sea_orm::entity::prelude::*;

/// One HTTP request to an endpoint and what came of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    /// Id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The delivery it was for.
    pub delivery_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event (the `webhook-id`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// When the request was sent.
    pub attempted_at: DateTimeUtc,
    /// Which attempt of the delivery, from 1.
    pub attempt: i32,
    /// The endpoint answered 2xx.
    pub succeeded: bool,
    /// The HTTP status, when there was an answer.
    pub status_code: Option<i32>,
    /// From sending to the answer (or the failure).
    pub latency_ms: i64,
    /// The first bytes of the answer's body.
    pub response_excerpt: String,
    /// Why there was no answer: timeout, refused address, connection error.
    pub error: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
