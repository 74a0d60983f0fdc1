//! The delivery queue: one row per event and endpoint, claimed by a sender for a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; SQLite's single writer does the same), so with several instances each attempt is
//! made once, and a delivery claimed by an instance that died is taken up again when its lease runs out.
//! Every attempt is logged; failures are retried on [`SCHEDULE`] with jitter for about three days, and an
//! endpoint that has failed every attempt for [`DISABLE_AFTER`] is paused and its owners are told.

use super::events::{self, EventType};
use crate::domain::mail::{Mail, messages::format_time};
use crate::domain::storage::{organisations, webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

/// How long a claimed delivery is left to its sender (far beyond the 10 s request timeout).
pub const LEASE: Duration = Duration::minutes(2);
/// The wait after each failed attempt, before jitter: attempt 1 is immediate, attempt 10 the last, about
/// 75 hours after the first.
pub const SCHEDULE: [Duration; 9] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(20),
    Duration::hours(24),
];
/// Each wait is moved by up to this fraction either way, so retries from many deliveries spread out.
pub const JITTER: f64 = 0.1;
/// An endpoint whose every attempt has failed for this long is paused: 60 hours, less than the 68 hours a
/// delivery's retries take at the least (the schedule with all jitter downwards), so a delivery that runs out
/// of attempts with nothing delivered in between always pauses its endpoint.
pub const DISABLE_AFTER: Duration = Duration::hours(60);
/// The delivery log and finished deliveries are kept this long.
pub const KEEP: Duration = Duration::days(30);
/// The most bytes of a response body kept in the log.
pub const EXCERPT_BYTES: usize = 512;

/// The wait after `attempts` attempts have failed, with `jitter` in `-1.0..=1.0` scaling [`JITTER`]; `None`
/// once the schedule is spent.
pub fn retry_delay(attempts: i32, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let base = *SCHEDULE.get(index)?;
    let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
    // Milliseconds fit an f64 exactly at these sizes.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let millis = (base.num_milliseconds() as f64 * factor).round() as i64;
    Some(Duration::milliseconds(millis))
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The queue row (its `attempts` counts this attempt).
    pub delivery: webhook_deliveries::Model,
    /// The event: id, type and body.
    pub event: webhook_events::Model,
    /// The endpoint: URL and sealed secrets.
    pub endpoint: webhook_endpoints::Model,
}

/// Claims up to `limit` due deliveries to enabled endpoints, for [`LEASE`]; each claim counts as an attempt.
pub async fn claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Claimed>, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    use webhook_deliveries::{Column, Entity};
    let txn = crate::domain::database::begin_write(db).await?;
    let enabled = Query::select()
        .column(webhook_endpoints::Column::Id)
        .from(webhook_endpoints::Entity)
        .and_where(Expr::col(webhook_endpoints::Column::DisabledAt).is_null())
        .to_owned();
    let mut due = Entity::find()
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::FailedAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .filter(Column::ClaimedUntil.is_null().or(Column::ClaimedUntil.lte(now)))
        .filter(Column::EndpointId.in_subquery(enabled))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = due.all(&txn).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for mut delivery in rows {
        delivery.attempts += 1;
        delivery.claimed_until = Some(now + LEASE);
        Entity::update_many()
            .col_expr(Column::Attempts, delivery.attempts.into())
            .col_expr(Column::ClaimedUntil, delivery.claimed_until.into())
            .filter(Column::Id.eq(delivery.id.as_str()))
            .exec(&txn)
            .await?;
        let event = webhook_events::Entity::find_by_id(delivery.event_id.clone()).one(&txn).await?;
        let endpoint = webhook_endpoints::Entity::find_by_id(delivery.endpoint_id.clone()).one(&txn).await?;
        if let (Some(event), Some(endpoint)) = (event, endpoint) {
            claimed.push(Claimed { delivery, event, endpoint });
        }
    }
    txn.commit().await?;
    Ok(claimed)
}

/// What one attempt came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    /// From sending to the answer or the failure.
    pub latency_ms: i64,
    /// The first bytes of the answer's body, as text.
    pub excerpt: String,
    /// Why there was no answer.
    pub error: Option<String>,
}

impl Outcome {
    /// Any 2xx is a delivery.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| (200..300).contains(&status))
    }

    /// What went wrong, in a few words: the error, or the status.
    pub fn describe(&self) -> String {
        match (&self.error, self.status) {
            (Some(error), _) => error.clone(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => "no answer".to_owned(),
        }
    }
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The endpoint took it.
    Delivered,
    /// It will be tried again then.
    Retry(DateTime<Utc>),
    /// The schedule is spent.
    GaveUp,
}

/// Records attempt `outcome` of `claimed` at `now` (retry `jitter` in `-1.0..=1.0`): the log entry, the
/// delivery's state, and the endpoint's failure record, pausing it and telling its owners when it has
/// failed for [`DISABLE_AFTER`].
pub async fn record(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
    claimed: &Claimed,
    outcome: &Outcome,
    jitter: f64,
) -> Result<Recorded, DbErr> {
    use webhook_deliveries::{Column, Entity};
    let txn = crate::domain::database::begin_write(db).await?;
    let delivery = &claimed.delivery;
    webhook_attempts::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        delivery_id: Set(delivery.id.clone()),
        endpoint_id: Set(delivery.endpoint_id.clone()),
        event_id: Set(delivery.event_id.clone()),
        event_type: Set(claimed.event.event_type.clone()),
        attempted_at: Set(now - Duration::milliseconds(outcome.latency_ms)),
        attempt: Set(delivery.attempts),
        succeeded: Set(outcome.succeeded()),
        status_code: Set(outcome.status.map(i32::from)),
        latency_ms: Set(outcome.latency_ms),
        response_excerpt: Set(clip(&outcome.excerpt, 600)),
        error: Set(outcome.error.as_deref().map(|error| clip(error, 300))),
    }
    .insert(&txn)
    .await?;
    let update = Entity::update_many()
        .col_expr(Column::ClaimedUntil, Option::<DateTime<Utc>>::None.into())
        .filter(Column::Id.eq(delivery.id.as_str()));
    let endpoints = webhook_endpoints::Entity::update_many()
        .filter(webhook_endpoints::Column::Id.eq(delivery.endpoint_id.as_str()));
    let recorded = if outcome.succeeded() {
        update
            .col_expr(Column::DeliveredAt, Some(now).into())
            .col_expr(Column::LastError, None::<String>.into())
            .exec(&txn)
            .await?;
        endpoints.col_expr(webhook_endpoints::Column::FailingSince, None::<DateTime<Utc>>.into()).exec(&txn).await?;
        Recorded::Delivered
    } else {
        let error = Some(clip(&outcome.describe(), 1000));
        let recorded = match retry_delay(delivery.attempts, jitter) {
            Some(wait) => {
                update
                    .col_expr(Column::NextAttemptAt, (now + wait).into())
                    .col_expr(Column::LastError, error.into())
                    .exec(&txn)
                    .await?;
                Recorded::Retry(now + wait)
            }
            None => {
                update
                    .col_expr(Column::FailedAt, Some(now).into())
                    .col_expr(Column::LastError, error.into())
                    .exec(&txn)
                    .await?;
                Recorded::GaveUp
            }
        };
        let failing_since = claimed.endpoint.failing_since.unwrap_or(now);
        endpoints
            .col_expr(webhook_endpoints::Column::FailingSince, Some(failing_since).into())
            .filter(webhook_endpoints::Column::FailingSince.is_null())
            .exec(&txn)
            .await?;
        if now - failing_since >= DISABLE_AFTER {
            pause_failing(&txn, now, &claimed.endpoint, failing_since).await?;
        }
        recorded
    };
    txn.commit().await?;
    Ok(recorded)
}

async fn pause_failing(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    endpoint: &webhook_endpoints::Model,
    failing_since: DateTime<Utc>,
) -> Result<(), DbErr> {
    let reason = format!("Every delivery failed since {}", format_time(failing_since));
    let paused = webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::DisabledAt, Some(now).into())
        .col_expr(webhook_endpoints::Column::DisabledReason, Some(reason).into())
        .filter(webhook_endpoints::Column::Id.eq(endpoint.id.as_str()))
        .filter(webhook_endpoints::Column::DisabledAt.is_null())
        .exec(db)
        .await?;
    if paused.rows_affected == 0 {
        return Ok(());
    }
    tracing::warn!(endpoint = %endpoint.id, url = %endpoint.url, "webhook endpoint paused after failing for days");
    if let Some(organisation_id) = &endpoint.organisation_id {
        let organisation = organisations::Entity::find_by_id(organisation_id.clone())
            .one(db)
            .await?
            .map_or_else(|| organisation_id.clone(), |row| row.name);
        let mail = Mail::WebhookDisabled {
            organisation_id: organisation_id.clone(),
            organisation,
            url: endpoint.url.clone(),
            failing_since: format_time(failing_since),
        };
        crate::domain::notices::tell_owners_and_admins(db, now, organisation_id, &mail).await?;
    }
    Ok(())
}

fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// One attempt in an endpoint's delivery log, as stored.
pub type Attempt = webhook_attempts::Model;

/// Most attempts on one page of a delivery log.
pub const MAX_LOG_PAGE: u64 = 100;

/// The latest `limit` attempts to `endpoint_id`, newest first.
pub async fn log(db: &impl ConnectionTrait, endpoint_id: &str, limit: u64) -> Result<Vec<Attempt>, DbErr> {
    use webhook_attempts::{Column, Entity};
    Entity::find()
        .filter(Column::EndpointId.eq(endpoint_id))
        .order_by_desc(Column::AttemptedAt)
        .order_by_desc(Column::Id)
        .limit(limit.clamp(1, MAX_LOG_PAGE))
        .all(db)
        .await
}

/// How many deliveries to `endpoint_id` wait for an attempt or a retry.
pub async fn waiting(db: &impl ConnectionTrait, endpoint_id: &str) -> Result<u64, DbErr> {
    use webhook_deliveries::{Column, Entity};
    Entity::find()
        .filter(Column::EndpointId.eq(endpoint_id))
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::FailedAt.is_null())
        .count(db)
        .await
}

/// Sends event `event_id` to `endpoint_id` again, as a new delivery with the same `webhook-id`: for an
/// event the receiver lost or failed on. Answers [`None`] when the endpoint never had that event.
pub async fn resend(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    endpoint_id: &str,
    event_id: &str,
) -> Result<Option<String>, DbErr> {
    use webhook_deliveries::{Column, Entity};
    let had = Entity::find()
        .filter(Column::EndpointId.eq(endpoint_id))
        .filter(Column::EventId.eq(event_id))
        .count(db)
        .await?;
    if had == 0 {
        return Ok(None);
    }
    Ok(Some(events::queue_delivery(db, now, event_id, endpoint_id).await?))
}

/// Queues a `webhook.test` event for `endpoint` alone; answers its id.
pub async fn send_test(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    endpoint: &super::Endpoint,
    by: &str,
) -> Result<String, DbErr> {
    let id = events::new_event_id();
    let kind = EventType::Test;
    let payload = json!({
        "type": kind.as_str(),
        "timestamp": events::rfc3339(now),
        "data": {
            "endpoint": { "id": endpoint.id, "url": endpoint.url },
            "organisation_id": endpoint.organisation_id,
            "requested_by": by,
            "message": "A test event: if you can read this, deliveries reach you and verify.",
        },
    });
    webhook_events::ActiveModel {
        id: Set(id.clone()),
        organisation_id: Set(endpoint.organisation_id.clone()),
        event_type: Set(kind.as_str().to_owned()),
        occurred_at: Set(now),
        payload: Set(payload.to_string()),
        dedupe_key: Set(None),
    }
    .insert(db)
    .await?;
    events::queue_delivery(db, now, &id, &endpoint.id).await?;
    Ok(id)
}

/// Deletes the log and finished deliveries older than [`KEEP`], and events nothing waits for any more.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let cutoff = now - KEEP;
    let attempts = webhook_attempts::Entity::delete_many()
        .filter(webhook_attempts::Column::AttemptedAt.lt(cutoff))
        .exec(db)
        .await?;
    let finished = Condition::any()
        .add(webhook_deliveries::Column::DeliveredAt.is_not_null())
        .add(webhook_deliveries::Column::FailedAt.is_not_null());
    let deliveries = webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::CreatedAt.lt(cutoff))
        .filter(finished)
        .exec(db)
        .await?;
    let referenced =
        Query::select().column(webhook_deliveries::Column::EventId).from(webhook_deliveries::Entity).to_owned();
    let events = webhook_events::Entity::delete_many()
        .filter(webhook_events::Column::OccurredAt.lt(cutoff))
        .filter(webhook_events::Column::Id.not_in_subquery(referenced))
        .exec(db)
        .await?;
    Ok(attempts.rows_affected + deliveries.rows_affected + events.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_about_three_days_and_then_stops() {
        let total: Duration = (1..=9).filter_map(|attempt| retry_delay(attempt, 0.0)).sum();
        assert!(total > Duration::hours(72) && total < Duration::hours(80), "{total}");
        assert_eq!(retry_delay(10, 0.0), None);
        assert_eq!(retry_delay(0, 0.0), None);
        assert_eq!(retry_delay(1, 1.0), Some(Duration::milliseconds(5500)));
        assert_eq!(retry_delay(1, -5.0), Some(Duration::milliseconds(4500)));
        // Every attempt is only counted once the delivery would otherwise be stuck; a total of ten.
        assert_eq!(SCHEDULE.len() + 1, 10);
    }

    #[test]
    fn a_delivery_that_runs_out_of_attempts_has_failed_long_enough_to_pause_its_endpoint() {
        let shortest: Duration = (1..=9).filter_map(|attempt| retry_delay(attempt, -1.0)).sum();
        assert!(shortest > DISABLE_AFTER, "{shortest} of retries at the least, pausing after {DISABLE_AFTER}");
    }
}
