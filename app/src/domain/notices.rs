//! Notices about keys, to the people who look after them: an organisation's owners and admins, and the
//! key's creator while they are a member. A key was created, expires in 7 days and again in 1, expired, or
//! was revoked by someone else. Each person can turn each kind off ([`set_muted`]).
//!
//! Created and revoked notices are queued by [`on_key_event`] in the transaction that records the event.
//! Expiry notices are queued by [`queue_expiry_notices`], which every instance runs every few minutes: each
//! notice has a dedupe key, so however many instances run it, and however often, each goes once.

use crate::domain::activity::{EventKind, Origin};
use crate::domain::known_browsers::describe_client;
use crate::domain::mail::messages::{KeyRef, NoticeKind, format_time};
use crate::domain::mail::{self, Mail};
use crate::domain::organisations::Role;
use crate::domain::storage::{accounts, api_keys, memberships, organisations};
use crate::domain::webhooks::events::{self as webhook_events, EventType};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};
use std::collections::BTreeSet;

fn queue_failed(err: mail::QueueError) -> DbErr {
    DbErr::Custom(err.to_string())
}

/// A person a notice goes to.
struct Recipient {
    account_id: String,
    email: String,
}

/// Who hears about `key` for `kind`: owners, admins and the creator (while a member), less those who
/// turned the kind off.
async fn recipients(
    db: &impl ConnectionTrait,
    key: &api_keys::Model,
    kind: NoticeKind,
) -> Result<Vec<Recipient>, DbErr> {
    let members = memberships::Entity::find()
        .filter(memberships::Column::OrganisationId.eq(key.organisation_id.as_str()))
        .all(db)
        .await?;
    let ids: BTreeSet<String> = members
        .into_iter()
        .filter(|member| {
            let looks_after = member.role == Role::Owner.as_str() || member.role == Role::Admin.as_str();
            looks_after || key.created_by_account_id.as_deref() == Some(member.account_id.as_str())
        })
        .map(|member| member.account_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = accounts::Entity::find().filter(accounts::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|row| !muted(&row.muted_notices).contains(&kind))
        .map(|row| Recipient { account_id: row.id, email: row.email })
        .collect())
}

/// The owners and admins of `organisation_id`, as (account id, address): who hears about what concerns the
/// whole organisation (a leaked key, a paused webhook endpoint). These notices cannot be turned off.
pub async fn owners_and_admins(
    db: &impl ConnectionTrait,
    organisation_id: &str,
) -> Result<Vec<(String, String)>, DbErr> {
    let ids: Vec<String> = memberships::Entity::find()
        .filter(memberships::Column::OrganisationId.eq(organisation_id))
        .filter(memberships::Column::Role.is_in([Role::Owner.as_str(), Role::Admin.as_str()]))
        .all(db)
        .await?
        .into_iter()
        .map(|member| member.account_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = accounts::Entity::find().filter(accounts::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows.into_iter().map(|row| (row.id, row.email)).collect())
}

/// Queues `mail` to every owner and admin of `organisation_id`.
pub async fn tell_owners_and_admins(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    organisation_id: &str,
    mail: &Mail,
) -> Result<(), DbErr> {
    for (account_id, email) in owners_and_admins(db, organisation_id).await? {
        mail::queue(db, now, &email, Some(&account_id), mail).await.map_err(queue_failed)?;
    }
    Ok(())
}

/// A key as notices name it.
pub async fn key_ref(db: &impl ConnectionTrait, key: &api_keys::Model) -> Result<KeyRef, DbErr> {
    let organisation = organisations::Entity::find_by_id(key.organisation_id.clone())
        .one(db)
        .await?
        .map_or_else(|| key.organisation_id.clone(), |org| org.name);
    Ok(KeyRef {
        organisation_id: key.organisation_id.clone(),
        organisation,
        key_id: key.id.clone(),
        key_name: key.name.clone(),
    })
}

/// Queues the notices a key event calls for (created; revoked, to everyone but who revoked it). Called by
/// [`crate::domain::activity::record`], inside the event's transaction.
pub async fn on_key_event(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    origin: &Origin,
    kind: EventKind,
    key: &api_keys::Model,
) -> Result<(), DbErr> {
    let notice = match kind {
        EventKind::KeyCreated => NoticeKind::KeyCreated,
        EventKind::KeyRevoked => NoticeKind::KeyRevoked,
        _ => return Ok(()),
    };
    // A key revoked because it leaked: the leak notice says so, once.
    if notice == NoticeKind::KeyRevoked && key.leaked_at.is_some() && key.leaked_at == key.revoked_at {
        return Ok(());
    }
    let key_ref = key_ref(db, key).await?;
    for recipient in recipients(db, key, notice).await? {
        let mail = match notice {
            NoticeKind::KeyCreated => Mail::KeyCreated {
                key: key_ref.clone(),
                by: origin.actor.clone(),
                from: describe_client(&origin.client),
            },
            _ => {
                if recipient.email == origin.actor {
                    continue;
                }
                Mail::KeyRevoked { key: key_ref.clone(), by: origin.actor.clone() }
            }
        };
        mail::queue(db, now, &recipient.email, Some(&recipient.account_id), &mail).await.map_err(queue_failed)?;
    }
    Ok(())
}

/// One reminder window.
struct Window {
    /// The dedupe key's prefix.
    name: &'static str,
    /// Keys expiring after this...
    from: DateTime<Utc>,
    /// ...and at or before this.
    to: DateTime<Utc>,
    /// Only keys that lived at least this long before expiring: a key made to last three days gets no
    /// seven-day reminder the moment it is created.
    lead: Duration,
}

/// Queues the expiry notices due at `now`; answers how many were queued by this call.
pub async fn queue_expiry_notices(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let windows = [
        Window {
            name: "key_expiring_7d",
            from: now + Duration::days(1),
            to: now + Duration::days(7),
            lead: Duration::days(7),
        },
        Window { name: "key_expiring_1d", from: now, to: now + Duration::days(1), lead: Duration::days(1) },
        // Keys that expired in the last day; older ones were told of when they expired, or predate notices.
        Window { name: "key_expired", from: now - Duration::days(1), to: now, lead: Duration::zero() },
    ];
    let mut queued = 0;
    for window in windows {
        let keys = api_keys::Entity::find()
            .filter(api_keys::Column::ExpiresAt.gt(window.from))
            .filter(api_keys::Column::ExpiresAt.lte(window.to))
            .filter(api_keys::Column::RevokedAt.is_null())
            .filter(api_keys::Column::RolledInto.is_null())
            .all(db)
            .await?;
        for key in keys {
            let Some(expires_at) = key.expires_at else { continue };
            if expires_at - key.created_at < window.lead {
                continue;
            }
            let txn = crate::domain::database::begin_write(db).await?;
            // Webhooks hear of it once as well, whoever looks after the key.
            let (event_type, extra) = match window.name {
                "key_expired" => (EventType::KeyExpired, serde_json::json!({})),
                name => {
                    let within = if name == "key_expiring_7d" { "7d" } else { "1d" };
                    (EventType::KeyExpiring, serde_json::json!({ "expires_within": within }))
                }
            };
            let dedupe = format!("{}:{}", window.name, key.id);
            webhook_events::key_event(&txn, now, event_type, &key, extra, Some(&dedupe)).await?;
            let key_ref = key_ref(&txn, &key).await?;
            let kind = if window.name == "key_expired" { NoticeKind::KeyExpired } else { NoticeKind::KeyExpiring };
            for recipient in recipients(&txn, &key, kind).await? {
                let mail = if kind == NoticeKind::KeyExpired {
                    Mail::KeyExpired { key: key_ref.clone(), expired_at: format_time(expires_at) }
                } else {
                    let within = if window.lead == Duration::days(7) { "7 days" } else { "1 day" };
                    Mail::KeyExpiring {
                        key: key_ref.clone(),
                        expires_at: format_time(expires_at),
                        within: within.into(),
                    }
                };
                let dedupe = format!("{}:{}:{}", window.name, key.id, recipient.account_id);
                if mail::queue_once(&txn, now, &recipient.email, Some(&recipient.account_id), &mail, &dedupe)
                    .await
                    .map_err(queue_failed)?
                {
                    queued += 1;
                }
            }
            txn.commit().await?;
        }
    }
    Ok(queued)
}

/// The kinds turned off, from the stored list.
pub fn muted(stored: &str) -> Vec<NoticeKind> {
    stored.split(',').filter_map(NoticeKind::parse).collect()
}

/// Sets which key notices `account_id` receives: every kind not in `muted`.
pub async fn set_muted(db: &impl ConnectionTrait, account_id: &str, muted: &[NoticeKind]) -> Result<(), DbErr> {
    let stored: Vec<&str> =
        NoticeKind::ALL.into_iter().filter(|kind| muted.contains(kind)).map(NoticeKind::as_str).collect();
    accounts::Entity::update_many()
        .col_expr(accounts::Column::MutedNotices, stored.join(",").into())
        .filter(accounts::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The key notices `account_id` has turned off.
pub async fn muted_for(db: &impl ConnectionTrait, account_id: &str) -> Result<Vec<NoticeKind>, DbErr> {
    Ok(accounts::Entity::find_by_id(account_id.to_owned())
        .one(db)
        .await?
        .map(|row| muted(&row.muted_notices))
        .unwrap_or_default())
}
