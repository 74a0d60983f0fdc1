//! The `webhook_deliveries` table, written only by [`crate::domain::webhooks`].

use sea_orm::entity::prelude::*;

/// One event on its way to one endpoint: the queue row senders claim.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Queued.
    pub created_at: DateTimeUtc,
    /// Not to be tried before this.
    pub next_attempt_at: DateTimeUtc,
    /// Attempts so far.
    pub attempts: i32,
    /// An instance is delivering it until then; afterwards another may.
    pub claimed_until: Option<DateTimeUtc>,
    /// The endpoint answered 2xx.
    pub delivered_at: Option<DateTimeUtc>,
    /// Given up on.
    pub failed_at: Option<DateTimeUtc>,
    /// What went wrong last.
    pub last_error: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
