//! Getting back in and proving an address: asking for a password reset link, using it, and verifying the
//! address with the link mailed at sign-up.

use super::ApiError;
use super::auth::PasswordInput;
use leptos::prelude::*;

/// The answer a reset request gets, whether or not the address has an account.
pub const RESET_SENT: &str =
    "If an account uses that address, we have sent it a link to choose a new password. It works once, for an hour.";

/// Asks for a password reset link. Answers the same whether or not the address has an account.
#[server(endpoint = "password_reset/request")]
pub async fn request_password_reset(email: String) -> Result<(), ApiError> {
    use crate::api::server_context::{client, internal, reject, seconds_to_wait, service};
    use crate::domain::accounts::email::Email;
    use crate::domain::accounts::reset::{RequestError, request};
    use crate::domain::clock::SharedClock;

    let site = service::<crate::api::site::Site>()?;
    if !site.password_sign_in {
        return Err(reject(ApiError::Forbidden { message: "Password sign-in is off here.".into() }));
    }
    let email = Email::parse(&email).map_err(|err| reject(ApiError::invalid("email", err.to_string())))?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    match request(&db, clock.as_ref(), &email, &client()).await {
        Ok(()) => Ok(()),
        Err(RequestError::Throttled { retry_after }) => {
            tracing::info!("password reset refused: throttled");
            Err(reject(ApiError::TooMany {
                message: "Too many reset requests for this address or from your network.".into(),
                retry_after_secs: seconds_to_wait(retry_after),
            }))
        }
        Err(err) => Err(internal("password reset request failed", &err)),
    }
}

/// Whether a reset link still works, so that the page can say so before asking for a password.
#[server(endpoint = "password_reset/check", input = server_fn::codec::GetUrl)]
pub async fn reset_link_works(secret: String) -> Result<bool, ApiError> {
    use crate::api::server_context::{internal, service};
    use crate::domain::clock::SharedClock;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    crate::domain::accounts::reset::link_works(&db, clock.as_ref(), &secret)
        .await
        .map_err(|err| internal("reset link check failed", &err))
}

/// Sets a new password with a reset link; every session of the account ends.
#[server(endpoint = "password_reset/complete")]
pub async fn reset_password(secret: String, new_password: PasswordInput) -> Result<(), ApiError> {
    use crate::api::server_context::{client, hashing_busy, internal, reject, service};
    use crate::domain::accounts::password::{HashingError, Password, PasswordHasher};
    use crate::domain::accounts::reset::{ResetError, reset};
    use crate::domain::clock::SharedClock;
    use std::sync::Arc;

    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    match reset(&db, &hasher, clock.as_ref(), &secret, &Password::new(new_password.0), &client()).await {
        Ok(account_id) => {
            tracing::info!(%account_id, "password reset");
            Ok(())
        }
        Err(ResetError::Link(err)) => Err(reject(ApiError::Conflict { message: format!("{err} Ask for a new one.") })),
        Err(ResetError::Password(err)) => Err(reject(ApiError::invalid("new_password", err.to_string()))),
        Err(ResetError::Hashing(HashingError::Busy)) => Err(hashing_busy()),
        Err(err) => Err(internal("password reset failed", &err)),
    }
}

/// Whether a verification link would verify now, without using it: the page it opens asks this and offers a
/// button, so that a mail scanner or a chat preview fetching the link spends nothing.
#[server(endpoint = "email/verification_link_works")]
pub async fn verification_link_works(secret: String) -> Result<bool, ApiError> {
    use crate::api::server_context::{internal, service};
    use crate::domain::clock::SharedClock;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    crate::domain::accounts::verification::link_works(&db, clock.as_ref(), &secret)
        .await
        .map_err(|err| internal("verification link check failed", &err))
}

/// The query parameter the verification page comes back with once its button verified the address.
pub const EMAIL_VERIFIED: &str = "verified";

/// Verifies the address with the link mailed to it (the page's button posts this; a plain post comes back
/// to the page saying so).
#[server(endpoint = "email/verify")]
pub async fn verify_email(secret: String) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, internal, reject, service};
    use crate::domain::account_links::LinkError;
    use crate::domain::clock::SharedClock;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    match crate::domain::accounts::verification::verify(&db, clock.as_ref(), &secret).await {
        Ok(account_id) => {
            tracing::info!(%account_id, "email address verified");
            after_plain_post(&crate::api::outcome::done_at("/verify-email/used", EMAIL_VERIFIED, "verify-title"));
            Ok(())
        }
        Err(err @ LinkError::Unusable) => Err(reject(ApiError::Conflict { message: err.to_string() })),
        Err(err) => Err(internal("email verification failed", &err)),
    }
}

/// The query parameter a page comes back with after a plain post of "Send again" worked.
pub const VERIFICATION_SENT: &str = "verification=sent";

/// Mails a fresh verification link to the signed-in person's address. `back` is the page the banner's
/// form was on: a plain form post returns there with `verification=sent` added to its address.
#[server(endpoint = "email/resend")]
pub async fn resend_verification(#[server(default)] back: Option<String>) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, internal, reject, service, signed_in_to_settings};
    use crate::domain::accounts::verification::{ResendError, resend};
    use crate::domain::clock::SharedClock;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    match resend(&db, clock.as_ref(), &account.id).await {
        Ok(()) => {
            let back = crate::api::auth::safe_next_path(back.as_deref());
            let separator = if back.contains('?') { '&' } else { '?' };
            after_plain_post(&format!("{back}{separator}{VERIFICATION_SENT}"));
            Ok(())
        }
        Err(err @ ResendError::AlreadyVerified) => Err(reject(ApiError::Conflict { message: err.to_string() })),
        Err(err @ ResendError::Throttled) => {
            Err(reject(ApiError::TooMany { message: err.to_string(), retry_after_secs: 3600 }))
        }
        Err(err) => Err(internal("verification resend failed", &err)),
    }
}
