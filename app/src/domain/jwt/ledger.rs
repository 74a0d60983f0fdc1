//! The ledger of issued access tokens: each token's `jti`, key, organisation and expiry, recorded when it
//! is issued, so that a token can be introspected and revoked, and dies with its key. Whatever ends a key
//! early (revocation, a roll's grace period, a shorter expiry, its organisation disabled or deleted, a leak),
//! or takes a scope from it, ends its outstanding tokens in the same transaction. Rows are pruned once their tokens have expired, so
//! the table holds about as many rows as tokens live × tokens issued.

use super::exchange::Claims;
use crate::domain::storage::access_tokens::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Why a token stopped working before its `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Revoked on its own (RFC 7009).
    TokenRevoked,
    /// Its key was revoked.
    KeyRevoked,
    /// Its key was rolled and stops working before the token would expire.
    KeyRolled,
    /// Its key was given an earlier expiry.
    KeyExpiryMoved,
    /// A scope was taken away from its key.
    KeyScopesNarrowed,
    /// Its key was found in public and revoked.
    KeyLeaked,
    /// Its organisation was disabled.
    OrganisationDisabled,
    /// Its organisation (or the account that was its only member) was deleted.
    OrganisationDeleted,
}

impl Ended {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenRevoked => "token_revoked",
            Self::KeyRevoked => "key_revoked",
            Self::KeyRolled => "key_rolled",
            Self::KeyExpiryMoved => "key_expiry_moved",
            Self::KeyScopesNarrowed => "key_scopes_narrowed",
            Self::KeyLeaked => "key_leaked",
            Self::OrganisationDisabled => "organisation_disabled",
            Self::OrganisationDeleted => "organisation_deleted",
        }
    }
}

/// Records a token just signed; call it in the exchange, before the token is handed out.
pub async fn record(db: &impl ConnectionTrait, claims: &Claims) -> Result<(), DbErr> {
    let at = |seconds: i64| DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    let row = ActiveModel {
        jti: Set(claims.jti.clone()),
        key_id: Set(claims.key_id.clone()),
        organisation_id: Set(claims.sub.clone()),
        issued_at: Set(at(claims.iat)),
        expires_at: Set(at(claims.exp)),
        revoked_at: Set(None),
        revoked_because: Set(None),
    };
    Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Ends every outstanding token of key `key_id` that would still work after `works_until` (`now` to end
/// them all), marking it revoked at `now`. Answers how many. Call it in the transaction that changes the
/// key, and add [`crate::domain::changes::Change::Tokens`] to the changes it records when any ended.
pub async fn end_tokens_of_key(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    key_id: &str,
    works_until: DateTime<Utc>,
    because: Ended,
) -> Result<u64, DbErr> {
    end_where(db, now, Column::KeyId.eq(key_id), works_until.max(now), because).await
}

/// Ends every outstanding token of the organisation's keys. Same rules as [`end_tokens_of_key`].
pub async fn end_tokens_of_organisation(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    organisation_id: &str,
    because: Ended,
) -> Result<u64, DbErr> {
    end_where(db, now, Column::OrganisationId.eq(organisation_id), now, because).await
}

async fn end_where(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    whose: sea_orm::sea_query::SimpleExpr,
    works_until: DateTime<Utc>,
    because: Ended,
) -> Result<u64, DbErr> {
    let ended = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokedBecause, Expr::value(because.as_str()))
        .filter(whose)
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(works_until))
        .exec(db)
        .await?;
    Ok(ended.rows_affected)
}

/// Revokes the one token `jti` if it belongs to key `key_id` and still works at `now`. Answers whether it
/// did; the caller records the change.
pub async fn end_one(db: &impl ConnectionTrait, now: DateTime<Utc>, jti: &str, key_id: &str) -> Result<bool, DbErr> {
    let ended = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokedBecause, Expr::value(Ended::TokenRevoked.as_str()))
        .filter(Column::Jti.eq(jti))
        .filter(Column::KeyId.eq(key_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(ended.rows_affected > 0)
}

/// The ledger's row for `jti`.
pub async fn find(db: &impl ConnectionTrait, jti: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(jti.to_owned()).one(db).await
}

/// How many of the key's tokens work at `now`.
pub async fn live_count(db: &impl ConnectionTrait, key_id: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::KeyId.eq(key_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .count(db)
        .await
}

/// A revoked token that has not yet expired, as the revocation list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`: after this it can be forgotten.
    pub expires_at: DateTime<Utc>,
}

/// Every token revoked and not yet expired at `now`, by `jti`.
pub async fn revoked_and_live(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<Revoked>, DbErr> {
    let rows: Vec<(String, DateTime<Utc>)> = Entity::find()
        .select_only()
        .column(Column::Jti)
        .column(Column::ExpiresAt)
        .filter(Column::RevokedAt.is_not_null())
        .filter(Column::ExpiresAt.gt(now))
        .order_by_asc(Column::Jti)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(jti, expires_at)| Revoked { jti, expires_at }).collect())
}

/// Deletes the rows of tokens that expired before `before`; any instance may do it.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(Entity::delete_many().filter(Column::ExpiresAt.lt(before)).exec(db).await?.rows_affected)
}
