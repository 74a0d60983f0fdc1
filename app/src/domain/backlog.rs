//! How much work waits in the two outboxes (mail and webhook deliveries) and in the staged usage counts, for
//! the operator's metrics: a queue that grows, or whose oldest entry keeps ageing, means a mail server or a
//! receiver is not taking what is sent, or the database is not keeping up with folding usage.

use crate::domain::storage::{mail_outbox, usage_staged, webhook_deliveries};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

/// What waits in one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Entries neither done nor given up on.
    pub depth: u64,
    /// When the oldest of them was queued.
    pub oldest: Option<DateTime<Utc>>,
}

impl Backlog {
    /// How long the oldest entry has waited at `now`; zero for an empty queue.
    pub fn oldest_age(&self, now: DateTime<Utc>) -> std::time::Duration {
        self.oldest.and_then(|at| (now - at).to_std().ok()).unwrap_or_default()
    }
}

/// Messages not yet sent and not given up on.
pub async fn mail(db: &impl ConnectionTrait) -> Result<Backlog, DbErr> {
    let (depth, oldest): (i64, Option<DateTime<Utc>>) = mail_outbox::Entity::find()
        .select_only()
        .column_as(mail_outbox::Column::Id.count(), "depth")
        .column_as(mail_outbox::Column::CreatedAt.min(), "oldest")
        .filter(mail_outbox::Column::SentAt.is_null())
        .filter(mail_outbox::Column::FailedAt.is_null())
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(Backlog { depth: u64::try_from(depth).unwrap_or(0), oldest })
}

/// Webhook deliveries not yet delivered and not given up on.
pub async fn webhooks(db: &impl ConnectionTrait) -> Result<Backlog, DbErr> {
    let (depth, oldest): (i64, Option<DateTime<Utc>>) = webhook_deliveries::Entity::find()
        .select_only()
        .column_as(webhook_deliveries::Column::Id.count(), "depth")
        .column_as(webhook_deliveries::Column::CreatedAt.min(), "oldest")
        .filter(webhook_deliveries::Column::DeliveredAt.is_null())
        .filter(webhook_deliveries::Column::FailedAt.is_null())
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(Backlog { depth: u64::try_from(depth).unwrap_or(0), oldest })
}

/// Usage rows staged and not yet folded into the usage tables; the oldest is dated by its last verification.
pub async fn usage(db: &impl ConnectionTrait) -> Result<Backlog, DbErr> {
    let (depth, oldest): (i64, Option<DateTime<Utc>>) = usage_staged::Entity::find()
        .select_only()
        .column_as(usage_staged::Column::Id.count(), "depth")
        .column_as(usage_staged::Column::LastUsedAt.min(), "oldest")
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(Backlog { depth: u64::try_from(depth).unwrap_or(0), oldest })
}
