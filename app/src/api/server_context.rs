//! How server functions reach the services the server provides, and report errors with the right status.

use super::ApiError;
use http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::IpAddr;

/// The client's address, as the server's middleware determined it; put into request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Where the current request came from: the client address the middleware recorded and the user agent.
pub fn client() -> crate::domain::activity::Client {
    use_context::<http::request::Parts>()
        .map(|parts| client_from(&parts.extensions, &parts.headers))
        .unwrap_or_default()
}

/// Where a request came from, from its extensions (the address the middleware recorded) and headers; for
/// plain handlers, which have no Leptos context.
pub fn client_from(extensions: &http::Extensions, headers: &http::HeaderMap) -> crate::domain::activity::Client {
    let ip = extensions.get::<ClientIp>().and_then(|ip| ip.0);
    let user_agent = headers.get(http::header::USER_AGENT).and_then(|agent| agent.to_str().ok()).map(str::to_owned);
    crate::domain::activity::Client { ip, user_agent }
}

/// A service the server put into the context, or `Internal` (and a log line) when it is missing.
pub fn service<T: Clone + Send + Sync + 'static>() -> Result<T, ApiError> {
    use_context::<T>().ok_or_else(|| {
        tracing::error!(service = std::any::type_name::<T>(), "service missing from server context");
        ApiError::Internal
    })
}

/// Sets the HTTP status (and `Retry-After`) that matches `err`, and hands it back for returning.
///
/// A plain form post (one the browser made itself, asking for HTML) keeps the redirect back to its page,
/// which carries the error in the address for the page to show: a status here would replace it.
pub fn reject(err: ApiError) -> ApiError {
    if let Some(response) = use_context::<ResponseOptions>().filter(|_| !is_plain_form_post()) {
        response.set_status(status_of(&err));
        if let ApiError::Throttled { retry_after_secs }
        | ApiError::SignUpsThrottled { retry_after_secs }
        | ApiError::TooMany { retry_after_secs, .. }
        | ApiError::Busy { retry_after_secs } = &err
        {
            response.insert_header(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
    }
    err
}

/// A wait as the whole seconds of `Retry-After`, rounded up, at least one.
pub fn seconds_to_wait(wait: chrono::Duration) -> u64 {
    u64::try_from(wait.num_milliseconds()).unwrap_or(0).div_ceil(1000).max(1)
}

/// Password hashing had no permit free in time: 503 with `Retry-After`, logged, never queued.
pub fn hashing_busy() -> ApiError {
    tracing::warn!("refused a request: every password hashing permit is taken");
    reject(ApiError::Busy { retry_after_secs: 2 })
}

/// Logs an internal failure and turns it into the generic error a user sees.
pub fn internal(context: &str, err: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "{context}");
    reject(ApiError::Internal)
}

/// Whether the browser posted a form itself (no bundle), so that it expects a page back.
/// Where a plain form post goes once it worked: `path`, a page that shows the outcome (the redirect is the
/// post/redirect/get pattern). Calls from an island get the function's answer and are left alone.
pub fn after_plain_post(path: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(path);
    }
}

fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    })
}

/// The HTTP status for each error.
pub fn status_of(err: &ApiError) -> StatusCode {
    match err {
        ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::InvalidCredentials | ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ApiError::NotFound => StatusCode::NOT_FOUND,
        ApiError::Forbidden { .. } | ApiError::TwoFactorRequired => StatusCode::FORBIDDEN,
        ApiError::Conflict { .. } => StatusCode::CONFLICT,
        ApiError::Throttled { .. } | ApiError::SignUpsThrottled { .. } | ApiError::TooMany { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Unreachable => StatusCode::BAD_GATEWAY,
    }
}

/// The session of the current request.
pub async fn session() -> Result<tower_sessions::Session, ApiError> {
    leptos_axum::extract::<tower_sessions::Session>().await.map_err(|err| internal("session layer missing", &err))
}

/// The signed-in account of the current request, or `None` for a signed-out visitor. A session whose
/// account no longer exists (deleted elsewhere) is worthless and is ended here.
pub async fn signed_in_or_none() -> Result<Option<crate::domain::accounts::Account>, ApiError> {
    use crate::domain::{accounts::find_account, clock::SharedClock, sessions};
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let policy = service::<sessions::SessionPolicy>()?;
    let session = session().await?;
    let Some(account_id) = sessions::signed_in_account(&session, &policy, clock.now())
        .await
        .map_err(|err| internal("session read failed", &err))?
    else {
        return Ok(None);
    };
    let account = find_account(&db, &account_id).await.map_err(|err| internal("account lookup failed", &err))?;
    if account.is_none() {
        sessions::end(&session).await.map_err(|err| internal("session end failed", &err))?;
    }
    Ok(account)
}

/// The signed-in account of the current request, or `Unauthenticated` (401); `TwoFactorRequired` (403)
/// while the operator requires two-factor sign-in and the account has not turned it on.
pub async fn signed_in() -> Result<crate::domain::accounts::Account, ApiError> {
    let account = signed_in_to_settings().await?;
    if service::<crate::domain::accounts::security::AccountSecurity>()?.must_enrol(&account) {
        return Err(reject(ApiError::TwoFactorRequired));
    }
    Ok(account)
}

/// The signed-in account, for the person's own settings: open even while two-factor sign-in is required
/// and not yet on, since that is where it is turned on.
pub async fn signed_in_to_settings() -> Result<crate::domain::accounts::Account, ApiError> {
    signed_in_or_none().await?.ok_or_else(|| reject(ApiError::Unauthenticated))
}

/// The signed-in person and their access to organisation `organisation_id`: 401 when signed out, and the
/// same 404 for an organisation they are not a member of as for one that does not exist.
pub async fn member_of(
    organisation_id: &str,
) -> Result<(crate::domain::accounts::Account, crate::domain::organisations::Access), ApiError> {
    let account = signed_in().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let access =
        crate::domain::organisations::access(&db, organisation_id, &account.id).await.map_err(organisation_error)?;
    Ok((account, access))
}

/// The portal's answer to a refusal from the organisations domain.
pub fn organisation_error(err: crate::domain::organisations::OrganisationError) -> ApiError {
    use crate::domain::organisations::OrganisationError as E;
    match err {
        E::NotFound => reject(ApiError::NotFound),
        E::Forbidden(message) => reject(ApiError::Forbidden { message }),
        E::Invalid { field, message } => reject(ApiError::invalid(field, message)),
        E::ExternalIdTaken(_) | E::LastOwner | E::AlreadyMember(_) => {
            reject(ApiError::Conflict { message: err.to_string() })
        }
        E::InvitationUnusable(message) => reject(ApiError::Conflict { message: message.to_owned() }),
        E::Random(_) | E::Database(_) => internal("organisation operation failed", &err),
    }
}

/// The signed-in operator, or the same 404 as for a page that does not exist for anyone else.
pub async fn signed_in_operator() -> Result<crate::domain::accounts::Account, ApiError> {
    let account = signed_in().await?;
    if !account.is_operator {
        return Err(reject(ApiError::NotFound));
    }
    Ok(account)
}
