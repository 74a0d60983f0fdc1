//! What every `/v1` handler takes from a request: the calling service (from its bearer token) and a JSON
//! body, each refused with the error envelope.

use super::ApiState;
use super::error::ApiError;
use super::unauthorized::Known;
use app::api::server_context::ClientIp;
use app::domain::activity::{Client, Origin};
use app::domain::keys::format;
use app::domain::service_tokens::{AuthenticateError, Permission, ServiceToken, TokenRejection};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The service behind a request, authenticated by `Authorization: Bearer <service token>`.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token.
    pub token: Arc<ServiceToken>,
    /// The client's address (behind a trusted proxy, the address it reported).
    pub ip: Option<std::net::IpAddr>,
    /// The user agent, kept as the header value: only management calls turn it into text.
    pub user_agent: Option<axum::http::HeaderValue>,
}

impl Caller {
    /// Refuses with 401 unless the token has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.token.may(permission) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "insufficient_permission",
            format!("This service token lacks the '{permission}' permission."),
        ))
    }

    /// The actor and client for activity recorded on a customer's account.
    pub fn origin(&self) -> Origin {
        let user_agent = self.user_agent.as_ref().and_then(|value| value.to_str().ok()).map(str::to_owned);
        Origin { actor: format!("service token \"{}\"", self.token.name), client: Client { ip: self.ip, user_agent } }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientIp>().and_then(|ip| ip.0);
        // Asked only when an address is blocked or a token failed: the hot path pays one atomic read here.
        if let Some((ip, wait)) = ip.and_then(|ip| state.unauthorized.blocked(ip).map(|wait| (ip, wait)))
            && let Some(presented) = guess(parts, state)
        {
            return Self::authenticate_while_blocked(parts, state, (ip, presented), wait).await;
        }
        Self::authenticate(parts, state, ip).await.inspect_err(|err| {
            if let Some(ip) = ip.filter(|_| err.status() == StatusCode::UNAUTHORIZED && guess(parts, state).is_some()) {
                state.unauthorized.failed(ip);
            }
        })
    }
}

/// The presented token, if refusing it takes a lookup. Only that is a guess: no token, or one of the wrong
/// form, is answered 401 at no cost, and neither counts towards a block nor meets one.
fn guess<'a>(parts: &'a Parts, state: &ApiState) -> Option<&'a str> {
    bearer_credential(&parts.headers)
        .ok()
        .filter(|presented| format::hash_presented(&state.verification.token_prefix, presented).is_ok())
}

impl Caller {
    /// For an address blocked for its 401s: a token that works is answered as usual, anything else is
    /// refused with 429 (see [`super::unauthorized`]).
    async fn authenticate_while_blocked(
        parts: &Parts,
        state: &ApiState,
        (ip, presented): (std::net::IpAddr, &str),
        wait: std::time::Duration,
    ) -> Result<Self, ApiError> {
        let verification = &state.verification;
        let known = Known::from(verification.tokens.known(&verification.token_prefix, presented));
        if !state.unauthorized.admits_while_blocked(ip, presented, known) {
            return Err(ApiError::too_many_failures(wait));
        }
        Self::authenticate(parts, state, Some(ip)).await.map_err(|err| {
            if err.status() == StatusCode::UNAUTHORIZED {
                state.unauthorized.failed_while_blocked(ip, presented);
                ApiError::too_many_failures(wait)
            } else {
                err
            }
        })
    }
}

impl Caller {
    async fn authenticate(parts: &Parts, state: &ApiState, ip: Option<std::net::IpAddr>) -> Result<Self, ApiError> {
        let presented = bearer_credential(&parts.headers).map_err(|problem| {
            ApiError::unauthorized(match problem {
                BearerProblem::Missing => "Send a service token: Authorization: Bearer <token>.",
                BearerProblem::OtherScheme => "Use the Bearer scheme: Authorization: Bearer <token>.",
                BearerProblem::Empty => "The Authorization header has no token after Bearer.",
            })
        })?;
        let verification = &state.verification;
        let token = verification.tokens.authenticate(&state.db, &verification.token_prefix, presented).await.map_err(
            |err| match err {
                AuthenticateError::Rejected(TokenRejection::Revoked) => {
                    ApiError::unauthorized("This service token was revoked.")
                }
                AuthenticateError::Rejected(_) => ApiError::unauthorized("This is not a valid service token."),
                AuthenticateError::Database(err) => ApiError::internal("service token lookup failed", &err),
            },
        )?;
        Ok(Self { token, ip, user_agent: parts.headers.get(USER_AGENT).cloned() })
    }
}

/// A JSON request body, whatever the `Content-Type`: 400 with serde's explanation when it does not parse,
/// 413 over the body limit. An empty body reads as `{}`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonBytes::from_request(request, state).await?.parse().map(JsonBody)
    }
}

/// A JSON request body not yet parsed, for a handler whose request borrows its text from the body instead of
/// copying it (the verification hot path): [`JsonBytes::parse`] refuses exactly as [`JsonBody`] does.
#[derive(Debug)]
pub struct JsonBytes(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request body is larger than 64 KiB.",
                )
            }
            other => ApiError::invalid(None, format!("The request body could not be read: {other}")),
        })?;
        Ok(Self(if bytes.iter().all(u8::is_ascii_whitespace) { Bytes::from_static(b"{}") } else { bytes }))
    }
}

impl JsonBytes {
    /// The body as `T`, or 400 naming the field that did not fit. Every body is a JSON object: serde would
    /// also read a struct from an array of its fields in order, which the document does not allow.
    pub fn parse<'de, T: Deserialize<'de>>(&'de self) -> Result<T, ApiError> {
        if !is_json_object(&self.0) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", NOT_AN_OBJECT));
        }
        parse_json(&self.0).map_err(|refused| {
            let error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", refused.message);
            match refused.field {
                Some(field) => error.with_field(field),
                None => error,
            }
        })
    }
}

/// What a body that is not a JSON object is told.
pub const NOT_AN_OBJECT: &str = "The request body must be a JSON object ({…}).";

/// Whether `bytes` begins, after white space, a JSON object.
pub fn is_json_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{')
}

/// Why a JSON body was refused: the message, and the field at fault when serde could tell.
#[derive(Debug)]
pub struct JsonRefusal {
    /// The dotted path of the field, e.g. `ratelimit.limit`.
    pub field: Option<String>,
    /// For people: what was wrong and where.
    pub message: String,
}

/// Parses a JSON body, naming the field that did not fit (a number out of range, a wrong type, an
/// unknown field). A body that parses pays nothing for that: only a refused one is read a second time,
/// with its path tracked.
pub fn parse_json<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, JsonRefusal> {
    serde_json::from_slice(bytes).map_err(|err| {
        let field = match err.classify() {
            serde_json::error::Category::Data => {
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                serde_path_to_error::deserialize::<_, T>(&mut deserializer)
                    .err()
                    .and_then(|err| with_missing_field(field_of(err.path()), &err.inner().to_string()))
            }
            _ => None,
        };
        let message = match (err.classify(), &field) {
            (serde_json::error::Category::Data, Some(field)) => {
                format!("'{field}' is not what this endpoint takes: {err}")
            }
            (serde_json::error::Category::Data, None) => {
                format!("The request body is not what this endpoint takes: {err}")
            }
            _ => format!("The request body is not valid JSON: {err}"),
        };
        JsonRefusal { field, message }
    })
}

/// serde names the object a required field is missing from, and the field only in its message: the path
/// of the field itself says more.
fn with_missing_field(object: Option<String>, message: &str) -> Option<String> {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match (object, missing) {
        (Some(object), Some(field)) => Some(format!("{object}.{field}")),
        (None, Some(field)) => Some(field.to_owned()),
        (object, None) => object,
    }
}

/// The dotted path serde reports, unless it is the whole body.
fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let path = path.to_string();
    (path != "." && !path.is_empty()).then_some(path)
}

/// Why an `Authorization` header is not a usable bearer credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerProblem {
    /// No header, or one that is not text.
    Missing,
    /// Another scheme than Bearer.
    OtherScheme,
    /// `Bearer` with nothing after it.
    Empty,
}

/// The credential of `Authorization: Bearer <credential>`. The scheme is matched case-insensitively
/// (RFC 7235 §2.1, RFC 6750 §2.1), and spaces around the credential are ignored.
pub fn bearer_credential(headers: &axum::http::HeaderMap) -> Result<&str, BearerProblem> {
    let header = headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).ok_or(BearerProblem::Missing)?;
    let header = header.trim();
    let (scheme, credential) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerProblem::OtherScheme);
    }
    match credential.trim() {
        "" => Err(BearerProblem::Empty),
        credential => Ok(credential),
    }
}

/// Query parameters, refused with 400 naming the parameter that does not parse (a date out of range, a
/// number that is not one).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(QueryParams).map_err(|err| match field_of(err.path()) {
            Some(field) => {
                ApiError::invalid(None, format!("'{field}' is not what this endpoint takes: {}", err.inner()))
                    .with_field(field)
            }
            None => {
                ApiError::invalid(None, format!("The query string is not what this endpoint takes: {}", err.inner()))
            }
        })
    }
}
