//! Events as webhooks tell them: `{"type", "timestamp", "data"}`, written with the change they describe.
//!
//! Key and organisation events come from [`crate::domain::activity::record`] ([`on_activity`]); member
//! events from the membership changes ([`member_changed`]); expiry and leak events from their own checks.
//! Each event is one row, and one delivery row goes with it for every enabled endpoint that receives its
//! type: the organisation's own endpoints and the operator's.

use crate::domain::activity::{EventKind, Origin};
use crate::domain::storage::{api_keys, organisations, webhook_deliveries, webhook_endpoints, webhook_events};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

/// The kinds of event an endpoint can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A key was created.
    KeyCreated,
    /// A key's name, scopes, expiry or controls changed.
    KeyUpdated,
    /// A key was rolled: a successor exists, and the old key works until its grace period ends.
    KeyRolled,
    /// A key was revoked.
    KeyRevoked,
    /// A key expires in 7 days, or in 1 day.
    KeyExpiring,
    /// A key expired.
    KeyExpired,
    /// A leak report found a key in public.
    KeyLeaked,
    /// The key that bought an access token revoked it (RFC 7009).
    TokenRevoked,
    /// An organisation was created.
    OrganisationCreated,
    /// The operator disabled an organisation.
    OrganisationDisabled,
    /// The operator enabled an organisation again.
    OrganisationEnabled,
    /// Someone joined an organisation.
    MemberAdded,
    /// Someone left or was removed from an organisation.
    MemberRemoved,
    /// Sent on request to one endpoint, to try it.
    Test,
}

impl EventType {
    /// Every type an endpoint can subscribe to (a test event goes only where it is asked for).
    pub const SUBSCRIBABLE: [Self; 13] = [
        Self::KeyCreated,
        Self::KeyUpdated,
        Self::KeyRolled,
        Self::KeyRevoked,
        Self::KeyExpiring,
        Self::KeyExpired,
        Self::KeyLeaked,
        Self::TokenRevoked,
        Self::OrganisationCreated,
        Self::OrganisationDisabled,
        Self::OrganisationEnabled,
        Self::MemberAdded,
        Self::MemberRemoved,
    ];

    /// The wire name, e.g. `key.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCreated => "key.created",
            Self::KeyUpdated => "key.updated",
            Self::KeyRolled => "key.rolled",
            Self::KeyRevoked => "key.revoked",
            Self::KeyExpiring => "key.expiring",
            Self::KeyExpired => "key.expired",
            Self::KeyLeaked => "key.leaked",
            Self::TokenRevoked => "token.revoked",
            Self::OrganisationCreated => "organisation.created",
            Self::OrganisationDisabled => "organisation.disabled",
            Self::OrganisationEnabled => "organisation.enabled",
            Self::MemberAdded => "member.added",
            Self::MemberRemoved => "member.removed",
            Self::Test => "webhook.test",
        }
    }

    /// The type with wire name `name`, among those an endpoint can subscribe to.
    pub fn parse(name: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Whether an endpoint with stored subscription `stored` (comma-separated; empty for all) receives `kind`.
pub fn subscribes(stored: &str, kind: EventType) -> bool {
    stored.is_empty() || stored.split(',').any(|name| name == kind.as_str())
}

/// RFC 3339 in UTC with seconds, as every time in a payload is written.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new event id: `msg_` and a UUIDv7, so ids sort by time. It is the `webhook-id` of every delivery.
pub fn new_event_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// Writes an event of `kind` about `organisation_id` with `data`, and queues it for every enabled endpoint
/// that receives it. With `dedupe`, an event with that key is written once only, however often this is
/// called; answers whether this call wrote it.
pub async fn emit(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    organisation_id: &str,
    kind: EventType,
    data: Value,
    dedupe: Option<&str>,
) -> Result<bool, DbErr> {
    let id = new_event_id();
    let payload = json!({ "type": kind.as_str(), "timestamp": rfc3339(now), "data": data });
    let row = webhook_events::ActiveModel {
        id: Set(id.clone()),
        organisation_id: Set(Some(organisation_id.to_owned())),
        event_type: Set(kind.as_str().to_owned()),
        occurred_at: Set(now),
        payload: Set(payload.to_string()),
        dedupe_key: Set(dedupe.map(str::to_owned)),
    };
    let inserted = webhook_events::Entity::insert(row)
        .on_conflict(OnConflict::column(webhook_events::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let endpoints = webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::DisabledAt.is_null())
        .filter(
            Condition::any()
                .add(webhook_endpoints::Column::OrganisationId.eq(organisation_id))
                .add(webhook_endpoints::Column::OrganisationId.is_null()),
        )
        .all(db)
        .await?;
    for endpoint in endpoints.iter().filter(|endpoint| subscribes(&endpoint.event_types, kind)) {
        queue_delivery(db, now, &id, &endpoint.id).await?;
    }
    Ok(true)
}

/// Queues event `event_id` for `endpoint_id`, due at once.
pub async fn queue_delivery(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    event_id: &str,
    endpoint_id: &str,
) -> Result<String, DbErr> {
    let id = uuid::Uuid::now_v7().to_string();
    webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
        id: Set(id.clone()),
        event_id: Set(event_id.to_owned()),
        endpoint_id: Set(endpoint_id.to_owned()),
        created_at: Set(now),
        next_attempt_at: Set(now),
        attempts: Set(0),
        claimed_until: Set(None),
        delivered_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// The organisation as payloads name it: its id, its name and the provider's own id for it.
async fn organisation_data(db: &impl ConnectionTrait, organisation_id: &str) -> Result<Value, DbErr> {
    let row = organisations::Entity::find_by_id(organisation_id.to_owned()).one(db).await?;
    Ok(match row {
        Some(row) => json!({
            "id": row.id,
            "name": row.name,
            "external_id": row.external_id,
            "disabled": row.disabled_at.is_some(),
        }),
        None => json!({ "id": organisation_id, "name": null, "external_id": null, "disabled": false }),
    })
}

/// A key as payloads show it: never the key itself, which Latchkey does not have.
pub fn key_data(key: &api_keys::Model) -> Value {
    let scopes: Vec<String> = serde_json::from_str(&key.scopes).unwrap_or_default();
    json!({
        "id": key.id,
        "name": key.name,
        "hint": key.hint,
        "scopes": scopes,
        "created_at": rfc3339(key.created_at),
        "expires_at": key.expires_at.map(rfc3339),
        "revoked_at": key.revoked_at.map(rfc3339),
        "rolled_into": key.rolled_into,
    })
}

/// Writes the event about `key` of type `kind`, with `extra` fields merged into its data.
pub async fn key_event(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    kind: EventType,
    key: &api_keys::Model,
    extra: Value,
    dedupe: Option<&str>,
) -> Result<bool, DbErr> {
    let mut data = json!({
        "organisation": organisation_data(db, &key.organisation_id).await?,
        "key": key_data(key),
    });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    emit(db, now, &key.organisation_id, kind, data, dedupe).await
}

/// Writes the webhook event an activity entry calls for, if any. Called by
/// [`crate::domain::activity::record`], in its transaction.
pub async fn on_activity(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    origin: &Origin,
    kind: EventKind,
    organisation_id: &str,
    key: Option<&api_keys::Model>,
) -> Result<(), DbErr> {
    let event_type = match kind {
        EventKind::KeyCreated => EventType::KeyCreated,
        EventKind::KeyUpdated => EventType::KeyUpdated,
        EventKind::KeyRolled => EventType::KeyRolled,
        EventKind::KeyRevoked => EventType::KeyRevoked,
        EventKind::OrganisationCreated => EventType::OrganisationCreated,
        EventKind::OrganisationDisabled => EventType::OrganisationDisabled,
        EventKind::OrganisationEnabled => EventType::OrganisationEnabled,
        _ => return Ok(()),
    };
    let actor = json!({ "actor": origin.actor });
    let about_a_key = matches!(
        event_type,
        EventType::KeyCreated | EventType::KeyUpdated | EventType::KeyRolled | EventType::KeyRevoked
    );
    match key {
        Some(key) => {
            key_event(db, now, event_type, key, actor, None).await?;
        }
        // A key event whose key is gone has nothing to tell.
        None if about_a_key => {}
        None => {
            let data = json!({
                "organisation": organisation_data(db, organisation_id).await?,
                "actor": origin.actor,
            });
            emit(db, now, organisation_id, event_type, data, None).await?;
        }
    }
    Ok(())
}

/// A membership change, as `member.added` and `member.removed` tell it.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange<'a> {
    /// The organisation.
    pub organisation_id: &'a str,
    /// The person's account.
    pub account_id: &'a str,
    /// Their address.
    pub email: &'a str,
    /// The role they hold (or held).
    pub role: &'a str,
    /// Joined (true) or left or removed (false).
    pub added: bool,
}

/// Writes `member.added` or `member.removed`; call it in the transaction of the membership change.
pub async fn member_changed(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    origin: &Origin,
    change: MemberChange<'_>,
) -> Result<(), DbErr> {
    let data = json!({
        "organisation": organisation_data(db, change.organisation_id).await?,
        "member": { "account_id": change.account_id, "email": change.email, "role": change.role },
        "actor": origin.actor,
    });
    let kind = if change.added { EventType::MemberAdded } else { EventType::MemberRemoved };
    emit(db, now, change.organisation_id, kind, data, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscribable_type_reads_back_and_the_test_event_is_not_one() {
        for kind in EventType::SUBSCRIBABLE {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("webhook.test"), None);
        assert_eq!(EventType::parse("key.*"), None);
    }

    #[test]
    fn an_empty_subscription_receives_everything() {
        assert!(subscribes("", EventType::KeyLeaked));
        assert!(subscribes("key.created,key.leaked", EventType::KeyLeaked));
        assert!(!subscribes("key.created", EventType::KeyLeaked));
    }
}
