//! The outbox: a message is a row, written in the same transaction as the event that causes it, so that it
//! exists exactly when the event does. Senders claim due rows for a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite's single writer does the same), so with several instances each message goes once,
//! and a message claimed by an instance that died is taken up by another when the lease runs out.

use super::messages::Mail;
use crate::domain::storage::mail_outbox::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};

/// How long a claimed message is left to its sender before another may take it.
pub const LEASE: Duration = Duration::minutes(2);
/// Temporary failures are retried for at least this long after the message was queued.
pub const GIVE_UP_AFTER: Duration = Duration::hours(26);

/// A message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The message could not be written as JSON (it always can; kept honest rather than unwrapped).
    #[error("message could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn row(now: DateTime<Utc>, recipient: &str, account_id: Option<&str>, mail: &Mail) -> Result<ActiveModel, QueueError> {
    Ok(ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        kind: Set(mail.kind().to_owned()),
        recipient: Set(recipient.to_owned()),
        account_id: Set(account_id.map(str::to_owned)),
        params: Set(serde_json::to_string(mail)?),
        dedupe_key: Set(None),
        created_at: Set(now),
        next_attempt_at: Set(now),
        attempts: Set(0),
        claimed_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
    })
}

/// Queues `mail` to `recipient`. Call it inside the transaction that records what the message is about.
pub async fn queue(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    recipient: &str,
    account_id: Option<&str>,
    mail: &Mail,
) -> Result<(), QueueError> {
    Entity::insert(row(now, recipient, account_id, mail)?).exec_without_returning(db).await?;
    Ok(())
}

/// Queues `mail` unless a message with `dedupe_key` was ever queued; answers whether this call queued it.
/// Reminders use it: however many instances run the check, and however often, each goes once.
pub async fn queue_once(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    recipient: &str,
    account_id: Option<&str>,
    mail: &Mail,
    dedupe_key: &str,
) -> Result<bool, QueueError> {
    let mut row = row(now, recipient, account_id, mail)?;
    row.dedupe_key = Set(Some(dedupe_key.to_owned()));
    let inserted = Entity::insert(row)
        .on_conflict(OnConflict::column(Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

/// Claims up to `limit` due messages for this sender, for [`LEASE`]; each claim counts as an attempt.
pub async fn claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let txn = crate::domain::database::begin_write(db).await?;
    let mut due = Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::FailedAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .filter(Column::ClaimedUntil.is_null().or(Column::ClaimedUntil.lte(now)))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = due.all(&txn).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for mut row in rows {
        row.attempts += 1;
        row.claimed_until = Some(now + LEASE);
        Entity::update_many()
            .col_expr(Column::Attempts, row.attempts.into())
            .col_expr(Column::ClaimedUntil, row.claimed_until.into())
            .filter(Column::Id.eq(row.id.as_str()))
            .exec(&txn)
            .await?;
        claimed.push(row);
    }
    txn.commit().await?;
    Ok(claimed)
}

/// Records that the mail server took the message.
pub async fn mark_sent(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::SentAt, Some(now).into())
        .col_expr(Column::ClaimedUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(Column::LastError, Option::<String>::None.into())
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a refusal that retrying will not change (a bad address, a rejected message), with the answer.
pub async fn mark_failed(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>, answer: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::FailedAt, Some(now).into())
        .col_expr(Column::ClaimedUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(Column::LastError, Some(clip(answer)).into())
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a temporary failure: the message is tried again after a backoff, or given up on once it has
/// been retried for [`GIVE_UP_AFTER`]. Answers whether it will be retried.
pub async fn mark_retry(
    db: &impl ConnectionTrait,
    message: &Model,
    now: DateTime<Utc>,
    answer: &str,
) -> Result<bool, DbErr> {
    if now - message.created_at >= GIVE_UP_AFTER {
        mark_failed(db, &message.id, now, &format!("gave up after {} attempts: {answer}", message.attempts)).await?;
        return Ok(false);
    }
    Entity::update_many()
        .col_expr(Column::NextAttemptAt, (now + backoff(message.attempts)).into())
        .col_expr(Column::ClaimedUntil, Option::<DateTime<Utc>>::None.into())
        .col_expr(Column::LastError, Some(clip(answer)).into())
        .filter(Column::Id.eq(message.id.as_str()))
        .exec(db)
        .await?;
    Ok(true)
}

/// The wait after the `attempts`-th failed attempt: 15 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(12);
    (Duration::seconds(15) * 2_i32.pow(doublings)).min(Duration::hours(1))
}

fn clip(answer: &str) -> String {
    answer.chars().take(1000).collect()
}

/// Messages queued for `recipient`, oldest first: for tests and the operator's troubleshooting.
pub async fn to_recipient(db: &impl ConnectionTrait, recipient: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::Recipient.eq(recipient)).order_by_asc(Column::Id).all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour_and_last_more_than_a_day() {
        assert_eq!(backoff(1), Duration::seconds(15));
        assert_eq!(backoff(2), Duration::seconds(30));
        assert_eq!(backoff(9), Duration::hours(1));
        assert_eq!(backoff(i32::MAX), Duration::hours(1));
        let total: Duration = (1..=40).map(backoff).sum();
        assert!(total > GIVE_UP_AFTER, "a day of retries needs more than {total}");
    }
}
