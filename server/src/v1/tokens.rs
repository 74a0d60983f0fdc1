//! `POST /v1/tokens`: a customer's service exchanges its API key (`Authorization: Bearer <key>`, RFC 6750)
//! for a short-lived JWT. Errors take OAuth 2.0's shape, `{"error", "error_description"}`, not the
//! envelope of the rest of `/v1`: OAuth client libraries read them.

use super::ApiState;
use super::extract::{BearerProblem, NOT_AN_OBJECT, bearer_credential, is_json_object, parse_json};
use super::unauthorized::Known;
use super::verify::rfc3339;
use app::api::server_context::ClientIp;
use app::domain::jwt::{ExchangeError, TokenRequest, exchange};
use app::domain::verification::Code;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

/// What the caller asks for; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequestBody {
    /// Scopes for the token, space-separated (a JSON array of names works too); they must all be the key's,
    /// and at least one must be named. Left out: all of the key's scopes.
    #[schema(value_type = Option<String>, example = "orders:read orders:write", pattern = r"[^\t\n\f\r ]")]
    pub scope: Option<ScopeField>,
    /// The `aud` claim: who the token is for, 1 to 256 characters without spaces or control characters (and,
    /// when the operator lists audiences, one of them). Left out: the operator's default audience.
    #[schema(
        example = "https://api.example.com",
        min_length = 1,
        max_length = 256,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    pub audience: Option<String>,
    /// Requested lifetime in seconds, 1 to 86,400; cut to the operator's maximum (15 minutes by default).
    #[schema(example = 600, minimum = 1, maximum = 86_400)]
    #[serde(default, deserialize_with = "super::numbers::optional_whole")]
    pub ttl_seconds: Option<i64>,
    /// Accepted for OAuth clients; only `client_credentials`.
    #[schema(example = "client_credentials", pattern = "^client_credentials$")]
    pub grant_type: Option<String>,
}

/// A scope list as a string or an array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScopeField {
    /// `"orders:read orders:write"`.
    Text(String),
    /// `["orders:read", "orders:write"]`.
    List(Vec<String>),
}

/// An issued token (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse<'a> {
    /// The JWT.
    pub access_token: &'a str,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until it expires.
    #[schema(example = 600)]
    pub expires_in: i64,
    /// The scopes it carries, space-separated.
    #[schema(example = "orders:read")]
    pub scope: &'a str,
}

/// An OAuth 2.0 error (RFC 6749 §5.2, RFC 6750 §3.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_token` (401), `invalid_request` or `invalid_scope` (400), `rate_limited` (429) or
    /// `server_error` (500).
    #[schema(example = "invalid_token")]
    pub error: &'static str,
    /// For people.
    #[schema(example = "This API key was revoked.")]
    pub error_description: String,
}

/// An OAuth error with its status.
#[derive(Debug)]
pub struct OAuthRefusal {
    status: StatusCode,
    body: OAuthError,
    retry_after: Option<i64>,
}

impl OAuthRefusal {
    /// Any status and error code.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, body: OAuthError { error, error_description: description.into() }, retry_after: None }
    }

    /// 401 `invalid_token`.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 500, with the cause logged and not shown.
    pub fn server_error(what: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{what}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong on our side; try again.")
    }
}

impl OAuthRefusal {
    /// The same refusal, telling the client to wait `seconds` (`Retry-After`).
    #[must_use]
    pub fn retry_after(self, seconds: Option<i64>) -> Self {
        Self { retry_after: seconds, ..self }
    }
}

impl IntoResponse for OAuthRefusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: the challenge repeats the error; the description is ours, so it has no quotes.
            let challenge = format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.body.error,
                self.body.error_description.replace(['"', '\\'], "'")
            );
            let value = HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer"));
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl OAuthRefusal {
    /// The answer to a refused exchange; `now` dates a rate limit's `Retry-After`.
    fn refused(err: ExchangeError, now: chrono::DateTime<chrono::Utc>) -> Self {
        match err {
            ExchangeError::InvalidRequest { message, .. } => Self::invalid_request(message),
            ExchangeError::InvalidScope(message) => Self::new(StatusCode::BAD_REQUEST, "invalid_scope", message),
            ExchangeError::InvalidToken(code) => Self::invalid_token(refusal(code)),
            ExchangeError::RateLimited(state) => {
                let wait = (state.reset_at - now).num_seconds() + 1;
                Self {
                    retry_after: Some(wait),
                    ..Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!(
                            "This API key is over its rate limit of {} requests; its full allowance is back at {}.",
                            state.limit,
                            rfc3339(state.reset_at)
                        ),
                    )
                }
            }
            ExchangeError::Signing(_) | ExchangeError::Sign(_) | ExchangeError::Database(_) => {
                Self::server_error("token exchange failed", &err)
            }
        }
    }
}

/// Why a key was refused, in words; the verification code it would have answered is included.
fn refusal(code: Code) -> String {
    let why = match code {
        Code::Malformed => "This is not an API key of this provider",
        Code::NotFound => "No such API key",
        Code::Expired => "This API key has expired",
        Code::Revoked => "This API key was revoked",
        Code::Disabled => "This API key is disabled",
        Code::IpNotAllowed => "This API key may not be used from this address",
        Code::Valid | Code::TokenIssued | Code::InsufficientScopes | Code::RateLimited => "This API key was refused",
    };
    format!("{why} ({}).", code.as_str())
}

/// Exchange an API key for a short-lived JWT.
///
/// The key is checked as a verification would check it (revoked, expired, disabled, IP allowlist, scopes,
/// rate limit) and counted in its usage as `TOKEN_ISSUED`. The JWT is signed with EdDSA (Ed25519); verify it
/// with the keys at `/.well-known/jwks.json`. Claims: `iss`, `sub` (the account), `aud`, `scope`, `key_id`,
/// `jti`, `iat`, `nbf`, `exp`. It never outlives the key.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "tokens",
    request_body(content = TokenRequestBody, description = "Optional; an empty body asks for every scope of the key"),
    responses(
        (status = 200, description = "The token", body = TokenResponse<'static>),
        (status = 400, description = "`invalid_request` (a bad field) or `invalid_scope` (scopes the key lacks)", body = OAuthError),
        (status = 401, description = "`invalid_token`: no key, or a key that is unknown, revoked, expired, disabled or not allowed from this address", body = OAuthError),
        (status = 429, description = "`rate_limited`: the key is over its rate limit, or a key that does not work from a client address that got too many 401 answers in the last minute (see `Retry-After`)", body = OAuthError),
    ),
    security(("api_key" = []))
)]
pub async fn issue_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, OAuthRefusal> {
    let ip = client.and_then(|Extension(ClientIp(ip))| ip);
    keyed(&state, ip, &headers, issue(&state, &headers, ip, &body)).await
}

/// Answers a request authenticated by an API key from `ip` with `answer`; a 401 counts towards a block of
/// the address. While it is blocked, a key that works is answered as usual and anything else is refused with
/// 429 (see [`super::unauthorized`]).
pub(super) async fn keyed(
    state: &ApiState,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    answer: impl std::future::Future<Output = Result<Response, OAuthRefusal>>,
) -> Result<Response, OAuthRefusal> {
    // Only a key that takes a lookup to refuse is a guess: no key, or one of the wrong form, is answered 401
    // at no cost, and neither counts towards a block nor meets one.
    let guess = || {
        bearer_credential(headers)
            .ok()
            .filter(|presented| app::domain::keys::format::hash_presented(&state.keys.prefix, presented).is_ok())
    };
    let Some((ip, wait, presented)) =
        ip.and_then(|ip| Some((ip, state.unauthorized.blocked(ip)?))).and_then(|(ip, wait)| Some((ip, wait, guess()?)))
    else {
        return answer.await.inspect_err(|refusal| {
            if let Some(ip) = ip.filter(|_| refusal.status == StatusCode::UNAUTHORIZED && guess().is_some()) {
                state.unauthorized.failed(ip);
            }
        });
    };
    let too_many = || OAuthRefusal {
        retry_after: i64::try_from(wait.as_secs().max(1)).ok(),
        ..OAuthRefusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests with keys that do not work came from this address; wait and try again.",
        )
    };
    let known = Known::from(state.verification.verifier.known(presented));
    if !state.unauthorized.admits_while_blocked(ip, presented, known) {
        return Err(too_many());
    }
    answer.await.map_err(|refusal| {
        if refusal.status == StatusCode::UNAUTHORIZED {
            state.unauthorized.failed_while_blocked(ip, presented);
            too_many()
        } else {
            refusal
        }
    })
}

async fn issue(
    state: &ApiState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    body: &[u8],
) -> Result<Response, OAuthRefusal> {
    let presented = bearer(headers)?;
    let body: TokenRequestBody = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequestBody::default()
    } else {
        if !is_json_object(body) {
            return Err(OAuthRefusal::invalid_request(NOT_AN_OBJECT));
        }
        parse_json(body).map_err(|refused| OAuthRefusal::invalid_request(refused.message))?
    };
    if let Some(grant) = body.grant_type.as_deref().filter(|grant| *grant != "client_credentials") {
        return Err(OAuthRefusal::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type '{grant}' is not supported; leave it out or send client_credentials."),
        ));
    }
    let scopes = body.scope.map(|scope| match scope {
        ScopeField::Text(text) => vec![text],
        ScopeField::List(list) => list,
    });
    let request =
        TokenRequest { key: presented, scopes, audience: body.audience.as_deref(), ttl_seconds: body.ttl_seconds, ip };
    let now = state.clock.now();
    let issued = exchange(
        &state.db,
        &state.verification.verifier,
        &state.verification.signing_keys,
        &state.tokens,
        request,
        now,
    )
    .await
    .map_err(|err| OAuthRefusal::refused(err, now))?;
    let answer = TokenResponse {
        access_token: issued.token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: &issued.claims.scope,
    };
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The API key from `Authorization: Bearer …`.
pub(super) fn bearer(headers: &HeaderMap) -> Result<&str, OAuthRefusal> {
    bearer_credential(headers).map_err(|problem| {
        OAuthRefusal::invalid_token(match problem {
            BearerProblem::Missing => "Send your API key: Authorization: Bearer <key>.",
            BearerProblem::OtherScheme => "Use the Bearer scheme: Authorization: Bearer <key>.",
            BearerProblem::Empty => "The Authorization header has no key after Bearer.",
        })
    })
}

/// The OAuth error for a response a layer outside the handler produced (body limit, timeout, wrong method),
/// saying `message`.
pub fn stray_error(status: StatusCode, message: &str) -> OAuthRefusal {
    let error = if status.is_server_error() { "server_error" } else { "invalid_request" };
    OAuthRefusal::new(status, error, message)
}
