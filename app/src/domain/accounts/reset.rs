//! Resetting a forgotten password: a single-use link, valid for an hour, mailed on request. Asking answers
//! the same whether or not the address has an account, and is throttled per address and per client.
//! Using the link sets the password, signs out every session and tells the person.

use super::password::{HashingError, Password, PasswordError, PasswordHasher};
use super::{find_row_by_email, usable_hash, verification};
use crate::domain::account_links::{self, LinkError, Purpose};
use crate::domain::activity::{self, Client, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::known_browsers::describe_client;
use crate::domain::mail::{self, Mail, messages::format_time};
use crate::domain::storage::{accounts, sessions};
use crate::domain::throttle;
use chrono::Duration;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};

/// Reset requests one address may make in an hour.
pub const REQUESTS_PER_EMAIL_PER_HOUR: u32 = 3;
/// Reset requests one client address may make in an hour.
pub const REQUESTS_PER_CLIENT_PER_HOUR: u32 = 10;

/// Why a reset was not requested.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Too many requests for this address, or from this client.
    #[error("Too many reset requests.")]
    Throttled {
        /// How long until the next request is taken.
        retry_after: Duration,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Asks for a reset link for `email`: mailed when a password account has that address, silently not
/// otherwise, so that the answer tells nobody which addresses have accounts.
pub async fn request(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    email: &super::email::Email,
    client: &Client,
) -> Result<(), RequestError> {
    // The client first: one client asking for many addresses is stopped before it fills their inboxes.
    if let Some(ip) = client.ip {
        let key = format!("reset-ip:{ip}");
        if let Some(retry_after) = throttle::admit_hourly(db, clock, &key, REQUESTS_PER_CLIENT_PER_HOUR).await? {
            return Err(RequestError::Throttled { retry_after });
        }
    }
    let key = format!("reset-email:{}", email.as_str());
    if let Some(retry_after) = throttle::admit_hourly(db, clock, &key, REQUESTS_PER_EMAIL_PER_HOUR).await? {
        return Err(RequestError::Throttled { retry_after });
    }
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    if let Some(row) = find_row_by_email(&txn, email).await?
        && usable_hash(&row).is_some()
    {
        let link_id = account_links::create(&txn, now, &row.id, &row.email, Purpose::ResetPassword).await?;
        mail::queue(&txn, now, &row.email, Some(&row.id), &Mail::PasswordReset { link_id })
            .await
            .map_err(|err| DbErr::Custom(err.to_string()))?;
    }
    txn.commit().await?;
    Ok(())
}

/// Why a reset failed.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// The link is unknown, used or expired.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The new password breaks the rules.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

impl From<mail::QueueError> for ResetError {
    fn from(err: mail::QueueError) -> Self {
        Self::Database(DbErr::Custom(err.to_string()))
    }
}

/// Whether the reset link with `secret` still works (the page asks before showing its form).
pub async fn link_works(db: &impl ConnectionTrait, clock: &dyn Clock, secret: &str) -> Result<bool, DbErr> {
    account_links::is_usable(db, secret, Purpose::ResetPassword, clock.now()).await
}

/// Uses the reset link with `secret` to set `new_password`: every session of the account ends, every other
/// reset link stops working, the address counts as verified (the link proved it), and the person is told.
/// Answers the account's id. Two-factor sign-in, when on, stays on.
pub async fn reset(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    secret: &str,
    new_password: &Password,
    client: &Client,
) -> Result<String, ResetError> {
    if !link_works(db, clock, secret).await? {
        return Err(LinkError::Unusable.into());
    }
    new_password.check_new()?;
    // Hashed before the write transaction: waiting for a hashing permit must not hold the write lock.
    let hash = hasher.hash(new_password).await?;
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let used = account_links::use_link(&txn, secret, Purpose::ResetPassword, now).await?;
    let account = accounts::Entity::find_by_id(used.account_id.clone()).one(&txn).await?.ok_or(LinkError::Unusable)?;
    accounts::Entity::update_many()
        .col_expr(accounts::Column::PasswordHash, hash.into())
        .col_expr(accounts::Column::PasswordChangedAt, now.into())
        .filter(accounts::Column::Id.eq(account.id.as_str()))
        .exec(&txn)
        .await?;
    account_links::retire_all(&txn, &account.id, Purpose::ResetPassword, now).await?;
    sessions::Entity::delete_many().filter(sessions::Column::AccountId.eq(account.id.as_str())).exec(&txn).await?;
    verification::mark_verified(&txn, &account.id, &used.email, now).await?;
    let origin = Origin { actor: account.email.clone(), client: client.clone() };
    let event = NewEvent {
        log: Log::Account(&account.id),
        kind: EventKind::PasswordChanged,
        key: None,
        detail: Some("reset with a link sent by email".into()),
    };
    activity::record(&txn, clock, &origin, event).await?;
    let notice = Mail::PasswordChanged { by_reset: true, at: format_time(now), from: describe_client(client) };
    mail::queue(&txn, now, &account.email, Some(&account.id), &notice).await?;
    txn.commit().await?;
    Ok(account.id)
}
