//! `POST /v1/keys/verify`: the hot path. Parse → engine → JSON; a cached key costs no database I/O.

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody};
use crate::router::AppState;
use app::domain::service_tokens::Permission;
use app::domain::verification::{Code, Request, Verdict};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::net::IpAddr;
use utoipa::ToSchema;

/// A key as presented by a caller: never printed.
#[derive(Deserialize, ToSchema)]
#[schema(value_type = String, example = "lk_3Fa9…")]
pub struct PresentedKey(String);

impl fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedKey(<redacted>)")
    }
}

/// What a service asks about a key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The key the end client presented.
    pub key: PresentedKey,
    /// Scopes the request needs; all are required.
    #[serde(default)]
    #[schema(example = json!(["orders:read"]))]
    pub scopes: Vec<String>,
    /// The end client's IP address, checked against the key's allowlist.
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
}

/// Where a key stands against its rate limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left now.
    pub remaining: u32,
    /// When the full allowance is back (RFC 3339).
    pub reset_at: String,
}

/// The answer: HTTP 200 for every outcome of a well-formed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Whether the key may be used.
    pub valid: bool,
    /// `VALID`, `MALFORMED`, `NOT_FOUND`, `EXPIRED`, `REVOKED`, `DISABLED`, `INSUFFICIENT_SCOPES`,
    /// `IP_NOT_ALLOWED` or `RATE_LIMITED`.
    #[schema(example = "VALID")]
    pub code: &'static str,
    /// Present (and true) only for a valid key that was rolled and works until its grace period ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled: Option<bool>,
    /// The key's id (absent for MALFORMED and NOT_FOUND).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The owning account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The key's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The key's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The key's metadata, on VALID only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
    /// When the key expires (RFC 3339), or null for never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<String>>,
    /// The key's rate limit, when it has one and the request got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitStatus>,
}

/// RFC 3339 in UTC with a `Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<Verdict> for VerifyResponse {
    fn from(verdict: Verdict) -> Self {
        let valid = verdict.is_valid();
        let rolled = verdict.rolled().then_some(true);
        let key = verdict.key.filter(|_| !matches!(verdict.code, Code::Malformed | Code::NotFound));
        Self {
            valid,
            code: verdict.code.as_str(),
            rolled,
            key_id: key.as_ref().map(|key| key.id.to_string()),
            account_id: key.as_ref().map(|key| key.account_id.clone()),
            name: key.as_ref().map(|key| key.name.clone()),
            scopes: key.as_ref().map(|key| key.scopes.clone()),
            meta: key.as_ref().filter(|_| valid).and_then(|key| key.meta.clone()),
            expires_at: key.as_ref().map(|key| key.expires_at.map(rfc3339)),
            ratelimit: verdict.rate_limit.map(|state| RateLimitStatus {
                limit: state.limit,
                remaining: state.remaining,
                reset_at: rfc3339(state.reset_at),
            }),
        }
    }
}

/// Verify a key.
#[utoipa::path(
    post,
    path = "/keys/verify",
    tag = "verification",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Every outcome for a well-formed request", body = VerifyResponse),
        (status = 400, description = "Malformed request body", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked service token, or no `verify` permission", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn verify_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<VerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    caller.require(Permission::Verify)?;
    let ip = match request.ip.as_deref().map(str::trim).filter(|ip| !ip.is_empty()) {
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| ApiError::invalid(Some("ip"), format!("'{text}' is not an IPv4 or IPv6 address.")))?,
        ),
        None => None,
    };
    let verdict = state
        .verification
        .verifier
        .verify(&state.db, Request { key: &request.key.0, scopes: &request.scopes, ip })
        .await?;
    Ok(Json(verdict.into()))
}
