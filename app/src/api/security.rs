//! The person's own security settings: two-factor sign-in, their signed-in sessions, and which key notices
//! they receive.

use super::ApiError;
use super::auth::PasswordInput;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where two-factor sign-in stands for the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorView {
    /// It is on.
    pub enabled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u64,
    /// The account has a password, so two-factor sign-in applies to it.
    pub applies: bool,
    /// The operator requires it.
    pub required: bool,
}

/// What enrolment shows once. It must travel to the browser, but it never prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentView {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The QR code, an SVG drawn on the server.
    pub qr_svg: String,
}

impl std::fmt::Debug for EnrolmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrolmentView(<redacted>)")
    }
}

/// Recovery codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesView(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodesView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodesView({} codes, redacted)", self.0.len())
    }
}

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Names the session for signing it out.
    pub reference: String,
    /// "Firefox on Linux".
    pub browser: String,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// When it signed in, formatted.
    pub signed_in: String,
    /// When it was last active, formatted.
    pub last_active: String,
    /// This session.
    pub current: bool,
}

/// One kind of key notice and whether the person receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSetting {
    /// The kind, as the form sends it.
    pub kind: String,
    /// In words.
    pub label: String,
    /// Received.
    pub on: bool,
}

/// Where two-factor sign-in stands.
#[server(endpoint = "security/two_factor", input = server_fn::codec::GetUrl)]
pub async fn two_factor_status() -> Result<TwoFactorView, ApiError> {
    use crate::api::server_context::{internal, service, signed_in_to_settings};
    use crate::domain::accounts::security::AccountSecurity;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let security = service::<AccountSecurity>()?;
    let recovery_codes_left = crate::domain::two_factor::recovery::remaining(&db, &account.id)
        .await
        .map_err(|err| internal("recovery codes count failed", &err))?;
    Ok(TwoFactorView {
        enabled: account.two_factor,
        recovery_codes_left,
        applies: account.has_password,
        required: security.require_two_factor,
    })
}

/// Starts turning on two-factor sign-in: a fresh secret, shown once as text and as a QR code.
#[server(endpoint = "security/two_factor/begin")]
pub async fn begin_two_factor() -> Result<EnrolmentView, ApiError> {
    use crate::api::server_context::{service, signed_in_to_settings};
    use crate::domain::accounts::security::AccountSecurity;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let security = service::<AccountSecurity>()?;
    let site = service::<crate::api::site::Site>()?;
    let enrolment = crate::domain::two_factor::begin(&db, &security.sealer, &account.id, &site.product_name)
        .await
        .map_err(server::two_factor_error)?;
    crate::api::keys::server::no_store();
    Ok(EnrolmentView { secret: enrolment.secret, qr_svg: enrolment.qr_svg })
}

/// Finishes turning on two-factor sign-in with a code from the new secret; answers the recovery codes.
#[server(endpoint = "security/two_factor/confirm")]
pub async fn confirm_two_factor(code: String) -> Result<RecoveryCodesView, ApiError> {
    use crate::api::server_context::{client, reject, service, signed_in_to_settings};
    use crate::domain::accounts::security::AccountSecurity;
    use crate::domain::clock::SharedClock;
    use crate::domain::throttle::ThrottlePolicy;
    use crate::domain::two_factor::{CodeServices, confirm};
    let account = signed_in_to_settings().await?;
    if code.trim().is_empty() {
        return Err(reject(ApiError::invalid("code", "Enter the 6-digit code your authenticator app shows.")));
    }
    let db = service::<sea_orm::DatabaseConnection>()?;
    let security = service::<AccountSecurity>()?;
    let clock = service::<SharedClock>()?;
    let policy = service::<ThrottlePolicy>()?;
    let services = CodeServices { clock: clock.as_ref(), sealer: &security.sealer, policy: &policy };
    let codes = confirm(&db, services, &account.id, &code, &client()).await.map_err(server::two_factor_error)?;
    tracing::info!(account_id = %account.id, "two-factor sign-in turned on");
    crate::api::keys::server::no_store();
    Ok(RecoveryCodesView(codes.iter().map(|code| code.expose().to_owned()).collect()))
}

/// Turns two-factor sign-in off; takes the password and a code.
#[server(endpoint = "security/two_factor/disable")]
pub async fn disable_two_factor(password: PasswordInput, code: String) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, client, reject, service, signed_in_to_settings};
    use crate::domain::accounts::password::{Password, PasswordHasher};
    use crate::domain::accounts::security::AccountSecurity;
    use crate::domain::clock::SharedClock;
    use crate::domain::throttle::ThrottlePolicy;
    use crate::domain::two_factor::{CodeServices, disable};
    use std::sync::Arc;
    let account = signed_in_to_settings().await?;
    let security = service::<AccountSecurity>()?;
    if security.require_two_factor {
        return Err(reject(ApiError::Forbidden {
            message: "This portal requires two-factor sign-in, so it cannot be turned off.".into(),
        }));
    }
    if password.0.is_empty() {
        return Err(reject(ApiError::invalid("password", "Enter your password.")));
    }
    if code.trim().is_empty() {
        return Err(reject(ApiError::invalid("code", "Enter a code from your authenticator app, or a recovery code.")));
    }
    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    let policy = service::<ThrottlePolicy>()?;
    let services = CodeServices { clock: clock.as_ref(), sealer: &security.sealer, policy: &policy };
    disable(&db, &hasher, services, &account.id, &Password::new(password.0), &code, &client())
        .await
        .map_err(server::two_factor_error)?;
    tracing::info!(account_id = %account.id, "two-factor sign-in turned off");
    after_plain_post("/settings#two-factor");
    Ok(())
}

/// The signed-in person's sessions, this one first.
#[server(endpoint = "security/sessions", input = server_fn::codec::GetUrl)]
pub async fn list_sessions() -> Result<Vec<SessionView>, ApiError> {
    use crate::api::server_context::{internal, service, session, signed_in_to_settings};
    use crate::domain::clock::SharedClock;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let current = session().await?.id();
    let sessions = crate::domain::sessions::list::list(&db, &account.id, clock.now(), current)
        .await
        .map_err(|err| internal("session list failed", &err))?;
    let when = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(|| "unknown".to_owned(), |at| at.format("%-d %b %Y, %H:%M UTC").to_string())
    };
    Ok(sessions
        .into_iter()
        .map(|s| SessionView {
            signed_in: when(s.signed_in_at),
            last_active: if s.current { "Now".to_owned() } else { when(s.last_active_at) },
            reference: s.reference,
            browser: s.browser,
            ip: s.ip,
            current: s.current,
        })
        .collect())
}

/// Signs out one of the person's other sessions.
#[server(endpoint = "security/sessions/end")]
pub async fn end_session(reference: String) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, internal, reject, service, session, signed_in_to_settings};
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    if session().await?.id().is_some_and(|id| crate::domain::sessions::store::id_hash(&id) == reference) {
        return Err(reject(ApiError::Conflict { message: "That is this session: use Sign out instead.".into() }));
    }
    let ended = crate::domain::sessions::list::end(&db, &account.id, &reference)
        .await
        .map_err(|err| internal("session end failed", &err))?;
    if !ended {
        return Err(reject(ApiError::NotFound));
    }
    tracing::info!(account_id = %account.id, "another session signed out");
    after_plain_post("/settings#sessions");
    Ok(())
}

/// Signs out every session of the person but this one.
#[server(endpoint = "security/sessions/end_others")]
pub async fn end_other_sessions() -> Result<u64, ApiError> {
    use crate::api::server_context::{after_plain_post, internal, service, session, signed_in_to_settings};
    use crate::domain::clock::SharedClock;
    use crate::domain::sessions::store::DatabaseSessionStore;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let keep = session().await?.id();
    let ended = DatabaseSessionStore::new(db, clock)
        .delete_for_account(&account.id, keep)
        .await
        .map_err(|err| internal("ending sessions failed", &err))?;
    after_plain_post(&crate::api::outcome::done_with("/settings", "ended", &[("ended", ended)], "sessions"));
    Ok(ended)
}

/// Which key notices the person receives.
#[server(endpoint = "security/notices", input = server_fn::codec::GetUrl)]
pub async fn notice_settings() -> Result<Vec<NoticeSetting>, ApiError> {
    use crate::api::server_context::{internal, service, signed_in_to_settings};
    use crate::domain::mail::messages::NoticeKind;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let muted = crate::domain::notices::muted_for(&db, &account.id)
        .await
        .map_err(|err| internal("notice settings failed", &err))?;
    Ok(NoticeKind::ALL
        .into_iter()
        .map(|kind| NoticeSetting {
            kind: kind.as_str().to_owned(),
            label: kind.label().to_owned(),
            on: !muted.contains(&kind),
        })
        .collect())
}

/// Sets which key notices the person receives: the kinds in `on`, and no others.
#[server(endpoint = "security/notices/save")]
pub async fn save_notice_settings(#[server(default)] on: Vec<String>) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, internal, reject, service, signed_in_to_settings};
    use crate::domain::mail::messages::NoticeKind;
    let account = signed_in_to_settings().await?;
    let mut wanted = Vec::new();
    for kind in &on {
        match NoticeKind::parse(kind) {
            Some(kind) => wanted.push(kind),
            None => return Err(reject(ApiError::invalid("on", format!("There is no notice called {kind:?}.")))),
        }
    }
    let muted: Vec<NoticeKind> = NoticeKind::ALL.into_iter().filter(|kind| !wanted.contains(kind)).collect();
    let db = service::<sea_orm::DatabaseConnection>()?;
    crate::domain::notices::set_muted(&db, &account.id, &muted)
        .await
        .map_err(|err| internal("notice settings failed", &err))?;
    after_plain_post(&crate::api::outcome::done_at("/settings", "notices", "notices"));
    Ok(())
}

#[cfg(feature = "ssr")]
mod server {
    use crate::api::ApiError;
    use crate::api::server_context::{hashing_busy, internal, reject, seconds_to_wait};
    use crate::domain::accounts::password::HashingError;
    use crate::domain::two_factor::TwoFactorError;

    pub fn two_factor_error(err: TwoFactorError) -> ApiError {
        match err {
            TwoFactorError::WrongCode => reject(ApiError::invalid("code", err.to_string())),
            TwoFactorError::WrongPassword => reject(ApiError::invalid("password", err.to_string())),
            TwoFactorError::Throttled { retry_after } => reject(ApiError::TooMany {
                message: "Too many wrong codes.".into(),
                retry_after_secs: seconds_to_wait(retry_after),
            }),
            TwoFactorError::AlreadyOn | TwoFactorError::NotOn | TwoFactorError::NoPassword => {
                reject(ApiError::Conflict { message: err.to_string() })
            }
            TwoFactorError::NotFound => reject(ApiError::Unauthenticated),
            TwoFactorError::Hashing(HashingError::Busy) => hashing_busy(),
            err => internal("two-factor operation failed", &err),
        }
    }
}
