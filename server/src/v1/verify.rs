//! `POST /v1/keys/verify`: the hot path. Parse → engine → JSON; a cached key costs no database I/O.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBytes};
use app::domain::service_tokens::Permission;
use app::domain::verification::{Code, Request, Verdict};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use utoipa::ToSchema;

/// A key as presented by a caller: never printed. Borrowed from the request body unless it has escapes.
#[derive(Deserialize, ToSchema)]
#[schema(value_type = String, example = "lk_3Fa9…")]
pub struct PresentedKey<'a>(#[serde(borrow)] Cow<'a, str>);

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedKey(<redacted>)")
    }
}

/// What a service asks about a key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest<'a> {
    /// The key the end client presented.
    #[serde(borrow)]
    pub key: PresentedKey<'a>,
    /// Scopes the request needs; all are required.
    #[serde(default)]
    #[schema(example = json!(["orders:read"]))]
    pub scopes: Vec<String>,
    /// The end client's IP address, checked against the key's allowlist. Leave it out (or send `null`) when
    /// it is not known; anything but an address is refused with 400.
    #[schema(value_type = Option<super::schema::IpAddress>)]
    #[serde(borrow)]
    pub ip: Option<Cow<'a, str>>,
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

/// The answer: HTTP 200 for every outcome of a well-formed request. It borrows from the cached key, so
/// answering costs no copies of names, scopes or metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse<'a> {
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
    pub key_id: Option<&'a str>,
    /// The customer organisation that owns the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OwnerBody<'a>>,
    /// The key's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The key's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<&'a [String]>,
    /// The key's metadata, on VALID only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<&'a Map<String, Value>>,
    /// When the key expires (RFC 3339), or null for never.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<Rfc3339>>,
    /// The key's rate limit, when it has one and the request got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitStatus>,
}

/// The organisation that owns a key, as a verification names it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerBody<'a> {
    /// Latchkey's id for it.
    pub id: &'a str,
    /// The provider's own id for this customer, or null.
    pub external_id: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
}

/// RFC 3339 in UTC with a `Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time that serialises as [`rfc3339`] text, written straight into the response without a string of its
/// own.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl<'a> From<&'a Verdict> for VerifyResponse<'a> {
    fn from(verdict: &'a Verdict) -> Self {
        let valid = verdict.is_valid();
        let key = verdict.key.as_deref().filter(|_| !matches!(verdict.code, Code::Malformed | Code::NotFound));
        Self {
            valid,
            code: verdict.code.as_str(),
            rolled: verdict.rolled().then_some(true),
            key_id: key.map(|key| key.id.as_ref()),
            organisation: key.map(|key| OwnerBody {
                id: &key.owner.id,
                external_id: key.owner.external_id.as_deref(),
                name: &key.owner.name,
            }),
            name: key.map(|key| key.name.as_str()),
            scopes: key.map(|key| key.scopes.as_slice()),
            meta: key.filter(|_| valid).and_then(|key| key.meta.as_ref()),
            expires_at: key.map(|key| key.expires_at.map(Rfc3339)),
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
    path = "/v1/keys/verify",
    tag = "verification",
    request_body = VerifyRequest<'static>,
    responses(
        (status = 200, description = "Every outcome for a well-formed request", body = VerifyResponse<'static>),
        (status = 400, description = "Malformed request body", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked service token, or no `verify` permission", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn verify_key(State(state): State<ApiState>, caller: Caller, body: JsonBytes) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let request: VerifyRequest<'_> = body.parse()?;
    caller.require(Permission::Verify)?;
    // Exactly an address, as the document says: an empty or padded one is refused rather than read as none.
    let ip = match request.ip.as_deref() {
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
            let shown: String = text.chars().take(64).collect();
            ApiError::invalid(
                Some("ip"),
                format!("'{shown}' is not an IPv4 or IPv6 address: send the client's address, or leave ip out."),
            )
        })?),
        None => None,
    };
    let verdict = state
        .verification
        .verifier
        .verify(&state.db, Request { key: &request.key.0, scopes: &request.scopes, ip })
        .await?;
    state.metrics.verified(verdict.code, started.elapsed());
    // A full answer is about 400 bytes: one allocation of this size instead of doubling from serde_json's 128.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, &VerifyResponse::from(&verdict))
        .map_err(|err| ApiError::internal("encoding a verdict", &err))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}
