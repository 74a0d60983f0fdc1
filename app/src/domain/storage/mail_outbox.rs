//! The `mail_outbox` table, written only by [`crate::domain::mail`].

use sea_orm::entity::prelude::*;

/// One message waiting to be sent, sent, or given up on. It holds what the message says as data (its kind
/// and parameters); it is rendered when it is sent, in the brand of the moment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    /// Id (UUIDv7, so ids sort by creation).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Which message, e.g. `password_reset`.
    pub kind: String,
    /// The address it goes to.
    pub recipient: String,
    /// The account it goes to, when it goes to one.
    pub account_id: Option<String>,
    /// The message's parameters, JSON.
    pub params: String,
    /// Makes a message that must go once (a reminder) unique.
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    /// Queued.
    pub created_at: DateTimeUtc,
    /// Not to be tried before this.
    pub next_attempt_at: DateTimeUtc,
    /// Attempts so far.
    pub attempts: i32,
    /// An instance is sending it until then; afterwards another may.
    pub claimed_until: Option<DateTimeUtc>,
    /// Delivered to the mail server.
    pub sent_at: Option<DateTimeUtc>,
    /// Given up on.
    pub failed_at: Option<DateTimeUtc>,
    /// The mail server's last answer, when it was not a yes.
    pub last_error: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
