//! RFC 7009 token revocation: the key that bought a token revokes that one token, and only it. The key's
//! other tokens keep working; the organisation's activity log records the revocation and webhooks hear of
//! it as `token.revoked`.

use super::introspection::{MAX_TOKEN_CHARS, TokenChecks};
use super::ledger;
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::changes::{self, Change};
use crate::domain::clock::Clock;
use crate::domain::keys::format::{self, KeyPrefix};
use crate::domain::storage::api_keys;
use crate::domain::verification::works_at;
use crate::domain::webhooks::events::{self, EventType};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, TransactionSession, TransactionTrait};
use serde_json::json;

/// What a revocation request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The presented key does not work (unknown, revoked, expired or disabled): nothing was looked at.
    KeyRefused,
    /// The token was bought with another key: refused, nothing changed.
    OtherKeys,
    /// The token was revoked now (`true`), or was not ours, already revoked or expired (`false`); RFC 7009
    /// answers both alike.
    Done(bool),
}

/// Revokes `token` on behalf of the key presented as `key` (from `origin`), if that key bought it.
pub async fn revoke(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    prefix: &KeyPrefix,
    checks: TokenChecks<'_>,
    (key, origin): (&str, &Origin),
    token: &str,
) -> Result<Revocation, DbErr> {
    let now = clock.now();
    let Ok(hash) = format::hash_presented(prefix, key) else { return Ok(Revocation::KeyRefused) };
    let Some(record) = checks.verifier.record(db, &hash).await? else {
        return Ok(Revocation::KeyRefused);
    };
    if !works_at(&record, now) {
        return Ok(Revocation::KeyRefused);
    }
    let claims = (token.len() <= MAX_TOKEN_CHARS).then(|| checks.signing.decode(token, now)).flatten();
    let Some(claims) = claims else { return Ok(Revocation::Done(false)) };
    if *record.id != *claims.key_id {
        return Ok(Revocation::OtherKeys);
    }
    let txn = crate::domain::database::begin_write(db).await?;
    if !ledger::end_one(&txn, now, &claims.jti, &claims.key_id).await? {
        return Ok(Revocation::Done(false));
    }
    let Some(row) = api_keys::Entity::find_by_id(claims.key_id.clone()).one(&txn).await? else {
        return Ok(Revocation::Done(false));
    };
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or(now);
    let event = NewEvent {
        log: Log::Organisation(&row.organisation_id),
        kind: EventKind::TokenRevoked,
        key: Some((&row.id, &row.name)),
        detail: Some(format!(
            "access token {}… revoked by its key; it would have expired at {}",
            claims.jti.get(..12).unwrap_or(&claims.jti),
            expires.format("%H:%M:%S UTC")
        )),
    };
    activity::record(&txn, clock, origin, event).await?;
    let token_data = json!({
        "token": { "jti": claims.jti, "expires_at": events::rfc3339(expires) },
        "actor": origin.actor,
    });
    events::key_event(&txn, now, EventType::TokenRevoked, &row, token_data, None).await?;
    changes::record(&txn, now, &[Change::Token(&claims.jti)]).await?;
    txn.commit().await?;
    checks.issued.forget(&claims.jti);
    Ok(Revocation::Done(true))
}
