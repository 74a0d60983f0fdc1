//! Signing in: the attempt is counted (and refused when throttled), then the password is checked, with one
//! answer for every kind of failure.

use crate::domain::accounts::email::{Email, normalize};
use crate::domain::accounts::password::{HashingError, Password, PasswordHasher};
use crate::domain::accounts::{Account, find_row_by_email, usable_hash};
use crate::domain::activity::{self, Client, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::throttle::{self, Subject, ThrottlePolicy};
use chrono::Duration;
use sea_orm::{ConnectionTrait, DbErr};

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown email or wrong password; deliberately indistinguishable.
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// Too many recent failures for this email or client address.
    #[error("Too many failed sign-ins.")]
    Throttled {
        /// How long until the next attempt will be checked.
        retry_after: Duration,
    },
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Everything needed to check one sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SignInServices<'a> {
    /// Checks the password.
    pub hasher: &'a PasswordHasher,
    /// Supplies the time.
    pub clock: &'a dyn Clock,
    /// Decides the waits.
    pub policy: &'a ThrottlePolicy,
}

/// Checks `email` and `password` from `client_ip`.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    services: SignInServices<'_>,
    email: &str,
    password: &Password,
    client: &Client,
) -> Result<Account, SignInError> {
    // The client address first: one client spraying many emails is stopped there, before it can run up
    // the counters (and the waits) of the accounts it guesses at.
    let mut subjects: Vec<Subject> = client.ip.map(Subject::Ip).into_iter().collect();
    subjects.push(Subject::Email(normalize(email)));

    if let Some(retry_after) = throttle::admit(db, services.clock, services.policy, &subjects).await? {
        return Err(SignInError::Throttled { retry_after });
    }

    let row = match Email::parse(email) {
        Ok(email) => find_row_by_email(db, &email).await?,
        Err(_) => None,
    };
    let matches = services.hasher.verify(password, row.as_ref().and_then(usable_hash)).await?;
    let origin = Origin { actor: normalize(email), client: client.clone() };
    match row {
        Some(row) if matches => {
            throttle::succeeded(db, services.policy, &subjects).await?;
            let event = NewEvent { log: Log::Account(&row.id), kind: EventKind::SignedIn, key: None, detail: None };
            activity::record(db, services.clock, &origin, event).await?;
            Ok(row.into())
        }
        _ => {
            // The attempt was counted before the check; the failure only needs its log line.
            if let Some(row) = &row {
                let event =
                    NewEvent { log: Log::Account(&row.id), kind: EventKind::SignInFailed, key: None, detail: None };
                activity::record(db, services.clock, &origin, event).await?;
            }
            Err(SignInError::InvalidCredentials)
        }
    }
}
