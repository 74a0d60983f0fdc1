//! The `webhook_endpoints` table, written only by [`crate::domain::webhooks`].

use sea_orm::entity::prelude::*;

/// Where events are sent: an organisation's own endpoint, or the operator's (no organisation) for every
/// organisation's events.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    /// Id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The organisation whose events it receives; none for the operator's.
    pub organisation_id: Option<String>,
    /// The URL deliveries are posted to.
    pub url: String,
    /// What it is for, in the owner's words.
    pub description: String,
    /// The event types it receives, comma-separated; empty for all.
    pub event_types: String,
    /// The signing secret, sealed with the operator's key.
    pub secret: String,
    /// The secret before the last rotation, sealed; deliveries are signed with both until
    /// `previous_secret_until`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_secret_until: Option<DateTimeUtc>,
    /// Registered.
    pub created_at: DateTimeUtc,
    /// By whom, in words.
    pub created_by: String,
    /// No deliveries while set.
    pub disabled_at: Option<DateTimeUtc>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Every attempt since then has failed.
    pub failing_since: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
