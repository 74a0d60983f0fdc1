//! Verifying a password account's address: a single-use link, valid for 24 hours, mailed at sign-up and
//! again on request. Accounts the provider's app or identity provider made are verified by them.

use crate::domain::account_links::{self, LinkError, Purpose};
use crate::domain::clock::Clock;
use crate::domain::mail::{self, Mail, QueueError};
use crate::domain::storage::{account_links as links, accounts};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, TransactionSession, TransactionTrait,
};

/// Most verification messages one account may ask for in an hour.
pub const RESENDS_PER_HOUR: u64 = 5;

/// Why a verification message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// The address is verified already.
    #[error("Your email address is already verified.")]
    AlreadyVerified,
    /// Asked for too often.
    #[error("We have sent several messages in the last hour: check your inbox and spam folder.")]
    Throttled,
    /// The account is gone.
    #[error("The account no longer exists.")]
    NotFound,
    /// The message could not be queued.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Makes a verification link and queues the message carrying it; call it in the transaction that made
/// the account (or changed its address).
pub async fn send(db: &impl ConnectionTrait, now: DateTime<Utc>, account_id: &str, email: &str) -> Result<(), DbErr> {
    let link_id = account_links::create(db, now, account_id, email, Purpose::VerifyEmail).await?;
    mail::queue(db, now, email, Some(account_id), &Mail::VerifyEmail { link_id })
        .await
        .map_err(|err| DbErr::Custom(err.to_string()))
}

/// Sends a fresh verification link to the account's address, at most [`RESENDS_PER_HOUR`] an hour.
pub async fn resend(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    account_id: &str,
) -> Result<(), ResendError> {
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = accounts::Entity::find_by_id(account_id.to_owned()).one(&txn).await?.ok_or(ResendError::NotFound)?;
    if row.email_verified_at.is_some() {
        return Err(ResendError::AlreadyVerified);
    }
    let recent = links::Entity::find()
        .filter(links::Column::AccountId.eq(account_id))
        .filter(links::Column::Purpose.eq("verify_email"))
        .filter(links::Column::CreatedAt.gt(now - Duration::hours(1)))
        .count(&txn)
        .await?;
    if recent >= RESENDS_PER_HOUR {
        return Err(ResendError::Throttled);
    }
    send(&txn, now, account_id, &row.email).await?;
    txn.commit().await?;
    Ok(())
}

/// Whether `secret` is a verification link that would verify now, without using it.
pub async fn link_works(db: &impl ConnectionTrait, clock: &dyn Clock, secret: &str) -> Result<bool, DbErr> {
    account_links::is_usable(db, secret, Purpose::VerifyEmail, clock.now()).await
}

/// Uses a verification link: the account's address is verified if it is still the one the link was sent
/// to. Answers the account's id.
pub async fn verify(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    secret: &str,
) -> Result<String, LinkError> {
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let used = account_links::use_link(&txn, secret, Purpose::VerifyEmail, now).await?;
    mark_verified(&txn, &used.account_id, &used.email, now).await?;
    txn.commit().await?;
    Ok(used.account_id)
}

/// Marks `account_id`'s address verified, if it is still `email`.
pub(crate) async fn mark_verified(
    db: &impl ConnectionTrait,
    account_id: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::EmailVerifiedAt, Some(now).into())
        .filter(accounts::Column::Id.eq(account_id))
        .filter(accounts::Column::Email.eq(email))
        .filter(accounts::Column::EmailVerifiedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
