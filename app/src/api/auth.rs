//! Sign-up, sign-in, sign-out and "who am I" for the portal.

use super::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The signed-in account, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Public account id.
    pub id: String,
    /// The account's email address.
    pub email: String,
    /// Whether the operator pages are open to it.
    pub is_operator: bool,
    /// The day the account was created, formatted on the server (e.g. "22 Nov 2026, UTC") so that
    /// server and browser render the same text.
    pub member_since: String,
    /// Where "Back to {product}" goes, when the provider's app signed this person in.
    pub back_to: Option<String>,
    /// Whether the account has a password (accounts made by the provider's app or identity provider do not).
    pub has_password: bool,
    /// Whether its address is verified (or vouched for by the provider).
    pub email_verified: bool,
    /// Whether signing in takes a second factor.
    pub two_factor: bool,
    /// The operator requires two-factor sign-in and this account has not turned it on: settings only.
    pub must_enrol_two_factor: bool,
}

/// A password on its way from the form to the server. It must serialise to travel, but it never prints.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordInput(pub String);

impl fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordInput(<redacted>)")
    }
}

/// Where to go after signing in: `next` when it is a path on this site, else home. Stops a crafted link
/// from bouncing a freshly signed-in user to another site.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encodes a path for use as the `next` query parameter.
pub fn encode_next(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Creates an account and an organisation it owns (named `organisation`, or after the email address when
/// that is left empty), signs it in and answers with the path to go to next. Through an invitation link
/// (`next` is `/invitations/…`) for this address, the account joins that organisation instead and goes to
/// its keys.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: PasswordInput,
    #[server(default)] organisation: Option<String>,
    next: Option<String>,
) -> Result<String, ApiError> {
    use crate::api::server_context::{client, hashing_busy, internal, reject, service};
    use crate::domain::accounts::{
        CreateAccountError, create_account_with_organisation, create_invited_account,
        password::{HashingError, Password, PasswordHasher},
    };
    use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
    use crate::domain::clock::SharedClock;
    use crate::domain::organisations;
    use crate::domain::sessions;
    use std::sync::Arc;

    password_sign_in_on()?;
    let organisation = organisation.filter(|name| !name.trim().is_empty());
    if let Some(name) = &organisation {
        organisations::check_name(name).map_err(crate::api::server_context::organisation_error)?;
    }
    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    let throttle = service::<crate::domain::throttle::ThrottlePolicy>()?;
    let client = client();
    if let Some(ip) = client.ip {
        let wait = crate::domain::throttle::admit_sign_up(&db, clock.as_ref(), &throttle, ip)
            .await
            .map_err(|err| internal("sign-up throttle failed", &err))?;
        if let Some(wait) = wait {
            let retry_after_secs = crate::api::server_context::seconds_to_wait(wait);
            tracing::info!(retry_after_secs, "sign-up refused: too many from this address");
            return Err(reject(ApiError::SignUpsThrottled { retry_after_secs }));
        }
    }
    let session = crate::api::server_context::session().await?;
    let password = Password::new(password.0);
    let invitation = next.as_deref().and_then(crate::domain::organisations::invitations::secret_in_path);
    let mut next = safe_next_path(next.as_deref());
    let created = match invitation {
        // Through an invitation link: into its organisation, with none of their own.
        Some(secret) => create_invited_account(&db, &hasher, clock.as_ref(), &client, &email, &password, secret)
            .await
            .map(|invited| {
                if let Some(organisation) = &invited.joined {
                    next = format!("/o/{}/keys", organisation.id);
                }
                invited.account
            }),
        None => {
            create_account_with_organisation(
                &db,
                &hasher,
                clock.as_ref(),
                &email,
                &password,
                false,
                organisation.as_deref(),
            )
            .await
        }
    };
    let account = match created {
        Ok(account) => account,
        Err(CreateAccountError::Email(err)) => return Err(reject(ApiError::invalid("email", err.to_string()))),
        Err(CreateAccountError::EmailTaken) => {
            return Err(reject(ApiError::invalid("email", CreateAccountError::EmailTaken.to_string())));
        }
        Err(CreateAccountError::Password(err)) => return Err(reject(ApiError::invalid("password", err.to_string()))),
        Err(CreateAccountError::Hashing(HashingError::Busy)) => return Err(hashing_busy()),
        Err(CreateAccountError::Organisation(err)) => return Err(crate::api::server_context::organisation_error(err)),
        Err(err) => return Err(internal("sign-up failed", &err)),
    };
    sessions::begin(&session, &account.id, clock.now(), &client)
        .await
        .map_err(|err| internal("session start failed", &err))?;
    server::remember_browser(&account).await?;
    let origin = Origin { actor: account.email.clone(), client };
    for kind in [EventKind::AccountCreated, EventKind::SignedIn] {
        let event = NewEvent { log: Log::Account(&account.id), kind, key: None, detail: None };
        activity::record(&db, clock.as_ref(), &origin, event)
            .await
            .map_err(|err| internal("activity log failed", &err))?;
    }
    tracing::info!(account_id = %account.id, "account created");
    Ok(next)
}

/// Signs in and answers with the path to go to next.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: PasswordInput, next: Option<String>) -> Result<String, ApiError> {
    use crate::api::server_context::{client, hashing_busy, internal, reject, service};
    use crate::domain::accounts::password::{HashingError, Password, PasswordHasher};
    use crate::domain::clock::SharedClock;
    use crate::domain::sessions;
    use crate::domain::sign_in::{SignInError, SignInServices, sign_in};
    use crate::domain::throttle::ThrottlePolicy;
    use std::sync::Arc;

    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    let policy = service::<ThrottlePolicy>()?;
    password_sign_in_on()?;
    if email.trim().is_empty() {
        return Err(reject(ApiError::invalid("email", "Enter your email address.")));
    }
    if password.0.is_empty() {
        return Err(reject(ApiError::invalid("password", "Enter your password.")));
    }
    let session = crate::api::server_context::session().await?;
    let services = SignInServices { hasher: &hasher, clock: clock.as_ref(), policy: &policy };
    let account = match sign_in(&db, services, &email, &Password::new(password.0), &client()).await {
        Ok(account) => account,
        Err(SignInError::InvalidCredentials) => {
            tracing::info!("sign-in refused: invalid credentials");
            return Err(reject(ApiError::InvalidCredentials));
        }
        Err(SignInError::Throttled { retry_after }) => {
            let retry_after_secs = crate::api::server_context::seconds_to_wait(retry_after);
            tracing::info!(retry_after_secs, "sign-in refused: throttled");
            return Err(reject(ApiError::Throttled { retry_after_secs }));
        }
        Err(SignInError::Hashing(HashingError::Busy)) => return Err(hashing_busy()),
        Err(err) => return Err(internal("sign-in failed", &err)),
    };
    let next = safe_next_path(next.as_deref());
    if account.two_factor {
        sessions::await_second_factor(&session, &account.id, clock.now())
            .await
            .map_err(|err| internal("session write failed", &err))?;
        tracing::info!(account_id = %account.id, "password accepted; awaiting the second factor");
        return Ok(go_to(format!("/sign-in/two-factor?next={}", encode_next(&next))));
    }
    server::finish_sign_in(&session, &account).await?;
    server::after_sign_in(&account, next).map(go_to)
}

/// The sign-in and sign-out forms work without the browser bundle: a plain form post is answered with a
/// redirect to `path` (a call from the bundle gets `path` as its answer and goes there itself).
#[cfg(feature = "ssr")]
fn go_to(path: String) -> String {
    leptos_axum::redirect(&path);
    path
}

/// Completes a sign-in with the second factor: a code from the authenticator app, or a recovery code.
/// Answers the path to go to next.
#[server(endpoint = "sign_in/second_factor")]
pub async fn sign_in_second_factor(code: String, next: Option<String>) -> Result<String, ApiError> {
    use crate::api::server_context::{client, internal, reject, seconds_to_wait, service, session};
    use crate::domain::accounts::{find_account, security::AccountSecurity};
    use crate::domain::clock::SharedClock;
    use crate::domain::sessions;
    use crate::domain::throttle::ThrottlePolicy;
    use crate::domain::two_factor::{self, CodeServices, Proven, TwoFactorError};

    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let policy = service::<ThrottlePolicy>()?;
    let security = service::<AccountSecurity>()?;
    let session = session().await?;
    let Some(account_id) = sessions::awaiting_second_factor(&session, clock.now())
        .await
        .map_err(|err| internal("session read failed", &err))?
    else {
        return Err(reject(ApiError::Conflict {
            message: "This sign-in took too long or was already finished. Sign in again with your email and password."
                .into(),
        }));
    };
    if code.trim().is_empty() {
        return Err(reject(ApiError::invalid("code", "Enter the 6-digit code from your authenticator app.")));
    }
    let services = CodeServices { clock: clock.as_ref(), sealer: &security.sealer, policy: &policy };
    match two_factor::check(&db, services, &account_id, &code, &client()).await {
        Ok(Proven::Code) => {}
        Ok(Proven::RecoveryCode { remaining }) => {
            tracing::info!(%account_id, remaining, "signed in with a recovery code")
        }
        Err(err @ TwoFactorError::WrongCode) => return Err(reject(ApiError::invalid("code", err.to_string()))),
        Err(TwoFactorError::Throttled { retry_after }) => {
            return Err(reject(ApiError::TooMany {
                message: "Too many wrong codes.".into(),
                retry_after_secs: seconds_to_wait(retry_after),
            }));
        }
        Err(err) => return Err(internal("second factor check failed", &err)),
    }
    let account = find_account(&db, &account_id)
        .await
        .map_err(|err| internal("account lookup failed", &err))?
        .ok_or_else(|| reject(ApiError::Unauthenticated))?;
    server::finish_sign_in(&session, &account).await?;
    server::after_sign_in(&account, safe_next_path(next.as_deref()))
}

/// Refuses password sign-up and sign-in where the operator turned them off.
#[cfg(feature = "ssr")]
fn password_sign_in_on() -> Result<(), ApiError> {
    use crate::api::server_context::{reject, service};
    let site = service::<crate::api::site::Site>()?;
    if site.password_sign_in {
        return Ok(());
    }
    let way =
        site.identity_provider.map_or_else(|| format!("from {}", site.product_name), |name| format!("with {name}"));
    Err(reject(ApiError::Forbidden { message: format!("Password sign-in is off here: sign in {way}.") }))
}

/// Signs out, deleting the session on the server; then the sign-in page, or for someone the provider's app
/// sent in, the app's page they came from.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ApiError> {
    use crate::api::server_context::{client, internal, service, session, signed_in_or_none};
    use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
    use crate::domain::{clock::SharedClock, sessions};

    if let Some(account) = signed_in_or_none().await? {
        let db = service::<sea_orm::DatabaseConnection>()?;
        let clock = service::<SharedClock>()?;
        let origin = Origin { actor: account.email, client: client() };
        let event = NewEvent { log: Log::Account(&account.id), kind: EventKind::SignedOut, key: None, detail: None };
        activity::record(&db, clock.as_ref(), &origin, event)
            .await
            .map_err(|err| internal("activity log failed", &err))?;
    }
    let session = session().await?;
    // Someone the provider's app sent in has no way in here (no password, maybe no sign-in page at all):
    // they go back to the app they came from.
    let back_to = sessions::return_url(&session).await.map_err(|err| internal("session read failed", &err))?;
    sessions::end(&session).await.map_err(|err| internal("sign-out failed", &err))?;
    go_to(back_to.unwrap_or_else(|| "/sign-in".to_owned()));
    Ok(())
}

/// The signed-in account, or `None` for a signed-out visitor.
#[server(endpoint = "current_account", input = server_fn::codec::GetUrl)]
pub async fn current_account() -> Result<Option<AccountView>, ApiError> {
    use crate::api::server_context::{internal, session, signed_in_or_none};
    let Some(account) = signed_in_or_none().await? else {
        return Ok(None);
    };
    let back_to = crate::domain::sessions::return_url(&session().await?)
        .await
        .map_err(|err| internal("session read failed", &err))?;
    let security = crate::api::server_context::service::<crate::domain::accounts::security::AccountSecurity>()?;
    Ok(Some(AccountView {
        must_enrol_two_factor: security.must_enrol(&account),
        email_verified: account.email_verified,
        two_factor: account.two_factor,
        member_since: account.created_at.format("%-d %b %Y").to_string(),
        id: account.id,
        email: account.email,
        is_operator: account.is_operator,
        back_to,
        has_password: account.has_password,
    }))
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use crate::api::ApiError;
    use crate::api::server_context::{client, internal, service};
    use crate::domain::accounts::Account;
    use crate::domain::accounts::security::AccountSecurity;
    use crate::domain::clock::SharedClock;
    use crate::domain::known_browsers::{self, Seen};
    use crate::domain::mail::{self, Mail, messages::format_time};
    use crate::domain::sessions;
    use sea_orm::TransactionTrait;
    use tower_sessions::cookie::{Cookie, SameSite};

    /// Signs `account` in on `session` from this request's browser, and tells the person when the browser is
    /// new to their account.
    pub async fn finish_sign_in(session: &tower_sessions::Session, account: &Account) -> Result<(), ApiError> {
        let clock = service::<SharedClock>()?;
        sessions::begin(session, &account.id, clock.now(), &client())
            .await
            .map_err(|err| internal("session start failed", &err))?;
        remember_browser(account).await?;
        tracing::info!(account_id = %account.id, "signed in");
        Ok(())
    }

    /// Where a signed-in person goes: their settings while two-factor sign-in is required and off, else `next`.
    pub fn after_sign_in(account: &Account, next: String) -> Result<String, ApiError> {
        Ok(if service::<AccountSecurity>()?.must_enrol(account) { "/settings#two-factor".to_owned() } else { next })
    }

    fn cookie_name(secure: bool) -> &'static str {
        if secure { "__Host-latchkey_browser" } else { known_browsers::COOKIE }
    }

    /// Reads (or gives) this browser's id, records it for `account`, and queues a notice when it is new.
    pub async fn remember_browser(account: &Account) -> Result<(), ApiError> {
        use crate::domain::link_secret::{LinkSecret, is_well_formed};
        let db = service::<sea_orm::DatabaseConnection>()?;
        let clock = service::<SharedClock>()?;
        let security = service::<AccountSecurity>()?;
        let name = cookie_name(security.secure_cookies);
        let presented = leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| {
            parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(Cookie::split_parse)
                .filter_map(Result::ok)
                .find(|cookie| cookie.name() == name)
                .map(|cookie| cookie.value().to_owned())
                .filter(|id| is_well_formed(id))
        });
        let browser_id = match presented {
            Some(id) => id,
            None => LinkSecret::generate().map_err(|err| internal("browser id failed", &err))?.expose().to_owned(),
        };
        let now = clock.now();
        let client = client();
        let txn = db.begin().await.map_err(|err| internal("transaction failed", &err))?;
        let seen = known_browsers::sign_in_from(&txn, now, &account.id, &browser_id)
            .await
            .map_err(|err| internal("known browser failed", &err))?;
        if seen == Seen::New {
            let notice = Mail::NewSignIn { at: format_time(now), from: known_browsers::describe_client(&client) };
            mail::queue(&txn, now, &account.email, Some(&account.id), &notice)
                .await
                .map_err(|err| internal("notice failed", &err))?;
        }
        txn.commit().await.map_err(|err| internal("transaction failed", &err))?;
        let cookie = Cookie::build((name, browser_id))
            .path("/")
            .http_only(true)
            .secure(security.secure_cookies)
            .same_site(SameSite::Lax)
            .max_age(tower_sessions::cookie::time::Duration::days(400))
            .build();
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && let Ok(value) = http::HeaderValue::from_str(&cookie.to_string())
        {
            response.append_header(http::header::SET_COOKIE, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next_path(Some("/keys?page=2")), "/keys?page=2");
        for hostile in ["https://evil.example", "//evil.example", "/\\evil.example", "evil", "/a\nb"] {
            assert_eq!(safe_next_path(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_next_path(None), "/");
    }

    #[test]
    fn next_paths_are_percent_encoded() {
        assert_eq!(encode_next("/keys?page=2&x=a b"), "/keys%3Fpage%3D2%26x%3Da%20b");
    }
}
