//! What every `/v1` handler takes from a request: the calling service (from its bearer token) and a JSON
//! body, each refused with the error envelope.

use super::ApiState;
use super::error::ApiError;
use app::domain::activity::{Client, Origin};
use app::domain::service_tokens::{AuthenticateError, Permission, ServiceToken, TokenRejection};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;

/// The service behind a request, authenticated by `Authorization: Bearer <service token>`.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token.
    pub token: Arc<ServiceToken>,
    /// The peer's address.
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
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("Send a service token: Authorization: Bearer <token>."))?;
        let presented = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized("Use the Bearer scheme: Authorization: Bearer <token>."))?;
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
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
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
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(bytes).map(JsonBody).map_err(|err| {
            let message = match err.classify() {
                serde_json::error::Category::Data => format!("The request body is not what this endpoint takes: {err}"),
                _ => format!("The request body is not valid JSON: {err}"),
            };
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
        })
    }
}
