//! Single-use links mailed to a person: to verify their address (24 hours) or to reset their password (one
//! hour). The row is made in the transaction that queues the message; its secret is drawn only when the
//! message is sent ([`mint`]), so it never waits in the outbox, and only its SHA-256 is stored.

use crate::domain::link_secret::{self, LinkSecret};
use crate::domain::random::RandomError;
use crate::domain::storage::account_links::{ActiveModel, Column, Entity};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the person receives mail at the address.
    VerifyEmail,
    /// Lets the person choose a new password.
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// How long a link works.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::ResetPassword => Duration::hours(1),
        }
    }

    /// The portal path its link opens, before the secret.
    pub fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email/",
            Self::ResetPassword => "/reset-password/",
        }
    }
}

/// Why a link was not accepted. One answer for unknown, used and expired: the page says what to do next,
/// which is the same in each case.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Unknown, already used, or expired.
    #[error("This link has expired or has already been used.")]
    Unusable,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A link that was just used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedLink {
    /// Whose.
    pub account_id: String,
    /// The address it was sent to.
    pub email: String,
}

/// Makes a link for `account_id` (secret still to be drawn); answers its id for the queued message.
pub async fn create(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    account_id: &str,
    email: &str,
    purpose: Purpose,
) -> Result<String, DbErr> {
    let id = uuid::Uuid::now_v7().to_string();
    let row = ActiveModel {
        id: Set(id.clone()),
        secret_hash: Set(None),
        account_id: Set(account_id.to_owned()),
        purpose: Set(purpose.as_str().to_owned()),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + purpose.lifetime()),
        used_at: Set(None),
    };
    Entity::insert(row).exec_without_returning(db).await?;
    Ok(id)
}

/// Why a link's secret could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Draws the secret of link `id` as its message is sent, replacing any drawn for an earlier attempt (which
/// then stops working). `None` when the link was used or expired meanwhile: its message is moot.
pub async fn mint(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(LinkSecret, Purpose)>, MintError> {
    let Some(row) = Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let purpose =
        if row.purpose == Purpose::ResetPassword.as_str() { Purpose::ResetPassword } else { Purpose::VerifyEmail };
    let secret = LinkSecret::generate()?;
    let updated = Entity::update_many()
        .col_expr(Column::SecretHash, Some(secret.hash()).into())
        .filter(Column::Id.eq(id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok((updated.rows_affected == 1).then_some((secret, purpose)))
}

/// Uses the link with `secret` for `purpose`: works once, before it expires.
pub async fn use_link(
    db: &impl ConnectionTrait,
    secret: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<UsedLink, LinkError> {
    if !link_secret::is_well_formed(secret) {
        return Err(LinkError::Unusable);
    }
    let hash = link_secret::hash(secret);
    let Some(row) = Entity::find().filter(Column::SecretHash.eq(hash.as_str())).one(db).await? else {
        return Err(LinkError::Unusable);
    };
    if row.purpose != purpose.as_str() || row.used_at.is_some() || row.expires_at <= now {
        return Err(LinkError::Unusable);
    }
    // Conditional: of two uses at once, one wins.
    let used = Entity::update_many()
        .col_expr(Column::UsedAt, Some(now).into())
        .filter(Column::SecretHash.eq(hash.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(LinkError::Unusable);
    }
    Ok(UsedLink { account_id: row.account_id, email: row.email })
}

/// Whether `secret` would be accepted for `purpose` now, without using it: the reset page asks before
/// showing its form.
pub async fn is_usable(
    db: &impl ConnectionTrait,
    secret: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if !link_secret::is_well_formed(secret) {
        return Ok(false);
    }
    let row = Entity::find().filter(Column::SecretHash.eq(link_secret::hash(secret))).one(db).await?;
    Ok(row.is_some_and(|row| row.purpose == purpose.as_str() && row.used_at.is_none() && row.expires_at > now))
}

/// Retires every unused link of `account_id` for `purpose`: after a reset, older reset links stop working.
pub async fn retire_all(
    db: &impl ConnectionTrait,
    account_id: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::UsedAt, Some(now).into())
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes links that expired more than a day ago.
pub async fn delete_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(Entity::delete_many().filter(Column::ExpiresAt.lt(now - Duration::days(1))).exec(db).await?.rows_affected)
}
