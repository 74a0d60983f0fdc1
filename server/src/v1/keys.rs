//! The management API: services with `keys:read` / `keys:write` create, read, change, roll and revoke
//! customer organisations' keys. Keys made here show up in the organisation's portal; the activity log
//! names the token.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, QueryParams};
use super::verify::rfc3339;
use super::{numbers, schema};
use app::domain::accounts::find_account_by_id_or_email;
use app::domain::keys::controls::RateLimit;
use app::domain::keys::manage::{self, ApiKey, Caller as KeyCaller, Grace, KeyChanges, KeyServices, KeyStatus, NewKey};
use app::domain::organisations::{self, Organisation};
use app::domain::service_tokens::Permission;
use app::domain::usage::{self, Granularity, Period, UsageOf};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A rate limit: at most `limit` verifications per `window_seconds`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBody {
    /// Requests allowed per window (1 to 1,000,000).
    #[schema(example = 100, minimum = 1, maximum = 1_000_000)]
    #[serde(deserialize_with = "numbers::whole")]
    pub limit: u32,
    /// The window in seconds (1 to 86,400).
    #[schema(example = 60, minimum = 1, maximum = 86_400)]
    #[serde(deserialize_with = "numbers::whole")]
    pub window_seconds: u32,
}

impl From<RateLimitBody> for RateLimit {
    fn from(body: RateLimitBody) -> Self {
        RateLimit { limit: body.limit, window_seconds: body.window_seconds }
    }
}

/// A key as services see it; never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResponse {
    /// Public id.
    pub id: String,
    /// Prefix and first characters, e.g. `lk_3Fa9…`.
    pub hint: String,
    /// The owning organisation's id.
    pub organisation_id: String,
    /// Who created it: a member's email address, or `service token "name"`.
    pub created_by: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// `active`, `expires_soon`, `rolled`, `expired` or `revoked`.
    pub status: &'static str,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Expiry, or null for never (for a rolled key: the end of its grace period).
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// The successor of a rolled key.
    pub rolled_into: Option<String>,
    /// The last verification (written within about a second).
    pub last_used_at: Option<String>,
    /// The client address given with the last verification.
    pub last_used_ip: Option<String>,
    /// Metadata returned on a valid verification.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
    /// Networks the key may be used from; empty means anywhere.
    pub ip_allowlist: Vec<String>,
    /// The rate limit.
    pub ratelimit: Option<RateLimitBody>,
}

/// A key just created or rolled: the only response that carries the key.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyResponse {
    /// The key itself; shown here once and never again.
    pub key: String,
    /// Its settings.
    #[serde(flatten)]
    pub settings: KeyResponse,
}

impl std::fmt::Debug for CreatedKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKeyResponse").field("key", &"<redacted>").field("settings", &self.settings).finish()
    }
}

fn key_response(key: ApiKey, now: DateTime<Utc>) -> KeyResponse {
    let status = match key.status(now) {
        KeyStatus::Active => "active",
        KeyStatus::ExpiresSoon => "expires_soon",
        KeyStatus::Rolled { .. } => "rolled",
        KeyStatus::Expired => "expired",
        KeyStatus::Revoked => "revoked",
    };
    KeyResponse {
        status,
        created_at: rfc3339(key.created_at),
        updated_at: rfc3339(key.updated_at),
        expires_at: key.expires_at.map(rfc3339),
        revoked_at: key.revoked_at.map(rfc3339),
        last_used_at: key.last_used_at.map(rfc3339),
        ratelimit: key.rate_limit.map(|r| RateLimitBody { limit: r.limit, window_seconds: r.window_seconds }),
        id: key.id,
        hint: key.hint,
        organisation_id: key.organisation_id,
        created_by: key.created_by,
        name: key.name,
        scopes: key.scopes,
        rolled_into: key.rolled_into,
        last_used_ip: key.last_used_ip,
        meta: key.meta,
        ip_allowlist: key.ip_allowlist,
    }
}

/// A service acting on `key`'s organisation.
fn service(key: &ApiKey) -> KeyCaller<'_> {
    KeyCaller::Service { organisation_id: &key.organisation_id }
}

pub(super) fn services(state: &ApiState) -> KeyServices<'_> {
    KeyServices {
        clock: state.clock.as_ref(),
        policy: &state.keys,
        catalogue: &state.scopes,
        cache: state.verification.verifier.cache(),
    }
}

/// The organisation a request names: `organisation` (its id or external id), or — deprecated, during the move
/// to organisations — `account` (an account's id or email address, meaning that account's own organisation).
async fn named_organisation(
    state: &ApiState,
    organisation: Option<&str>,
    account: Option<&str>,
) -> Result<Organisation, ApiError> {
    match (organisation, account) {
        (Some(_), Some(_)) => {
            Err(ApiError::invalid(Some("account"), "Name the organisation, or (deprecated) the account, not both."))
        }
        (Some(organisation), None) => Ok(organisations::find_by_id_or_external_id(&state.db, organisation).await?),
        (None, Some(account)) => {
            let account = find_account_by_id_or_email(&state.db, account)
                .await?
                .ok_or_else(|| ApiError::not_found("No account with this id or email address."))?;
            organisations::own_organisation(&state.db, &account.id)
                .await?
                .ok_or_else(|| ApiError::not_found("This account owns no organisation; name the organisation instead."))
        }
        (None, None) => Err(ApiError::invalid(
            Some("organisation"),
            "Name the organisation the key belongs to: its id or external id.",
        )),
    }
}

/// A new key for a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// The customer organisation's id or external id. (Until the deprecation period ends, an `account` field
    /// with an account's id or email address is accepted instead, meaning the organisation that account
    /// owns; never both.)
    #[schema(value_type = String, required = true, example = "cus_4711", min_length = 1)]
    pub organisation: Option<String>,
    /// Deprecated, undocumented on purpose: see `organisation`.
    #[schema(ignore)]
    pub account: Option<String>,
    /// Name: 1 to 64 characters, not only spaces, no control characters.
    #[schema(value_type = schema::KeyName, example = "billing backend")]
    pub name: String,
    /// Scopes from the operator's catalogue; at least one.
    #[schema(example = json!(["orders:read"]), min_items = 1)]
    pub scopes: Vec<String>,
    /// Expiry (RFC 3339), in the future and no later than 9999-12-31 (and within the operator's maximum
    /// key lifetime, when one is set); absent or null for never.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Metadata: a JSON object of at most 4 KiB serialised, returned on a valid verification.
    #[schema(value_type = Option<schema::Metadata>)]
    pub meta: Option<Value>,
    /// IPv4/IPv6 networks (CIDR) or addresses the key may be used from; at most 100.
    #[schema(value_type = Option<Vec<schema::Network>>, max_items = 100, example = json!(["10.0.0.0/8"]))]
    pub ip_allowlist: Option<Vec<String>>,
    /// A rate limit.
    pub ratelimit: Option<RateLimitBody>,
}

/// Create a key for a customer; the key is in this response only.
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "Created", body = CreatedKeyResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `keys:write`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such organisation (or account)", body = ErrorBody),
        (status = 409, description = "The organisation holds as many live keys as allowed", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn create_key(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKeyResponse>), ApiError> {
    caller.require(Permission::KeysWrite)?;
    exact_networks(request.ip_allowlist.as_deref())?;
    let owner = named_organisation(&state, request.organisation.as_deref(), request.account.as_deref()).await?;
    let new = NewKey {
        name: request.name,
        scopes: request.scopes,
        expires_at: request.expires_at,
        meta: request.meta,
        ip_allowlist: request.ip_allowlist.unwrap_or_default(),
        rate_limit: request.ratelimit.map(RateLimit::from),
    };
    let as_service = KeyCaller::Service { organisation_id: &owner.id };
    let (key, plaintext) = manage::create_key(&state.db, services(&state), &caller.origin(), as_service, &new).await?;
    let settings = key_response(key, state.clock.now());
    Ok((StatusCode::CREATED, Json(CreatedKeyResponse { key: plaintext.expose().to_owned(), settings })))
}

/// Read a key.
#[utoipa::path(
    get,
    path = "/v1/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "The key", body = KeyResponse),
        (status = 401, description = "No service token with `keys:read`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn get_key(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KeyResponse>, ApiError> {
    caller.require(Permission::KeysRead)?;
    let key = manage::find_any_key(&state.db, &id).await?;
    Ok(Json(key_response(key, state.clock.now())))
}

/// Which keys to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The customer organisation's id or external id. (Until the deprecation period ends, `account` with an
    /// account's id or email address is accepted instead, meaning the organisation that account owns.)
    #[param(required = true, value_type = String, min_length = 1)]
    pub organisation: Option<String>,
    /// Deprecated, undocumented on purpose: see `organisation`.
    #[param(ignore)]
    pub account: Option<String>,
    /// Page number, from 1 (a page past the last shows the last).
    #[param(minimum = 1)]
    pub page: Option<u64>,
    /// Keys per page, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// A page of an organisation's keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyListResponse {
    /// The keys.
    pub keys: Vec<KeyResponse>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages there are.
    pub pages: u64,
    /// How many keys the organisation has.
    pub total: u64,
}

/// List a customer's keys.
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "keys",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of keys", body = KeyListResponse),
        (status = 400, description = "No organisation given", body = ErrorBody),
        (status = 401, description = "No service token with `keys:read`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such organisation (or account)", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn list_keys(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<KeyListResponse>, ApiError> {
    caller.require(Permission::KeysRead)?;
    let owner = named_organisation(&state, query.organisation.as_deref(), query.account.as_deref()).await?;
    let page =
        manage::page_of_keys(&state.db, &owner.id, query.page.unwrap_or(1), query.per_page.unwrap_or(25)).await?;
    let now = state.clock.now();
    Ok(Json(KeyListResponse {
        keys: page.keys.into_iter().map(|key| key_response(key, now)).collect(),
        page: page.page,
        pages: page.pages,
        total: page.total,
    }))
}

/// Tells an absent field (`None`) from one set to null (`Some(None)`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes to a key; absent fields stay as they are, null removes an optional setting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKeyRequest {
    /// New name: 1 to 64 characters, not only spaces, no control characters.
    #[schema(value_type = Option<schema::KeyName>)]
    pub name: Option<String>,
    /// New scopes from the operator's catalogue; at least one.
    #[schema(min_items = 1)]
    pub scopes: Option<Vec<String>>,
    /// New expiry, in the future and no later than 9999-12-31; null for never.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New metadata (a JSON object of at most 4 KiB serialised); null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<schema::Metadata>)]
    pub meta: Option<Option<Value>>,
    /// New allowlist, at most 100 entries; null or [] removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<schema::Network>>, max_items = 100)]
    pub ip_allowlist: Option<Option<Vec<String>>>,
    /// New rate limit; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RateLimitBody>)]
    pub ratelimit: Option<Option<RateLimitBody>>,
}

/// Change a key.
#[utoipa::path(
    patch,
    path = "/v1/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    request_body = UpdateKeyRequest,
    responses(
        (status = 200, description = "The changed key", body = KeyResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `keys:write`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 409, description = "The key is revoked or rolled", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn update_key(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateKeyRequest>,
) -> Result<Json<KeyResponse>, ApiError> {
    caller.require(Permission::KeysWrite)?;
    exact_networks(request.ip_allowlist.as_ref().and_then(Option::as_deref))?;
    let key = manage::find_any_key(&state.db, &id).await?;
    let changes = KeyChanges {
        name: request.name,
        scopes: request.scopes,
        expires_at: request.expires_at,
        meta: request.meta,
        ip_allowlist: request.ip_allowlist.map(Option::unwrap_or_default),
        rate_limit: request.ratelimit.map(|rate| rate.map(RateLimit::from)),
    };
    let key = manage::update_key(&state.db, services(&state), &caller.origin(), service(&key), &id, &changes).await?;
    Ok(Json(key_response(key, state.clock.now())))
}

/// How long the rolled key keeps working.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollRequest {
    /// Seconds the old key stays valid (0 to 2,592,000; default 0).
    #[serde(default, deserialize_with = "numbers::whole")]
    #[schema(example = 3600, minimum = 0, maximum = 2_592_000)]
    pub grace_seconds: u32,
}

/// Roll a key: a successor with the same settings, shown once; the old key works until the grace ends.
#[utoipa::path(
    post,
    path = "/v1/keys/{id}/roll",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    request_body = RollRequest,
    responses(
        (status = 201, description = "The successor", body = CreatedKeyResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `keys:write`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 409, description = "The key is revoked, expired or already rolled", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn roll_key(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RollRequest>,
) -> Result<(StatusCode, Json<CreatedKeyResponse>), ApiError> {
    caller.require(Permission::KeysWrite)?;
    let grace = Grace::seconds(request.grace_seconds)?;
    let key = manage::find_any_key(&state.db, &id).await?;
    let (successor, plaintext) =
        manage::roll_key(&state.db, services(&state), &caller.origin(), service(&key), &id, grace).await?;
    let settings = key_response(successor, state.clock.now());
    Ok((StatusCode::CREATED, Json(CreatedKeyResponse { key: plaintext.expose().to_owned(), settings })))
}

/// Revoke a key: the next verification on this instance answers REVOKED.
#[utoipa::path(
    post,
    path = "/v1/keys/{id}/revoke",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "The revoked key", body = KeyResponse),
        (status = 401, description = "No service token with `keys:write`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn revoke_key(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KeyResponse>, ApiError> {
    caller.require(Permission::KeysWrite)?;
    let key = manage::find_any_key(&state.db, &id).await?;
    let key = manage::revoke_key(&state.db, services(&state), &caller.origin(), service(&key), &id).await?;
    Ok(Json(key_response(key, state.clock.now())))
}

/// Which buckets to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Start (RFC 3339); default 24 hours (or, by day, 30 days) before `until`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// End (RFC 3339); default now. No earlier than `since`, and at most 31 days
    /// (by day: 400 days) after it.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
    /// `hour` (default) or `day` (UTC days). Hours are kept 14 days by default, days 400.
    #[param(value_type = Option<schema::Granularity>, inline)]
    pub granularity: Option<String>,
}

/// One hour (or day) of verifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageBucket {
    /// The start of the hour or day (RFC 3339).
    pub start: String,
    /// Verifications per outcome code, e.g. `{"VALID": 3}`.
    #[schema(value_type = Object)]
    pub counts: BTreeMap<&'static str, u64>,
}

/// A key's usage, hour by hour.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResponse {
    /// The key.
    pub key_id: String,
    /// `hour` or `day`.
    pub granularity: &'static str,
    /// One bucket per hour or day, oldest first (counts reach the database within about a second).
    pub buckets: Vec<UsageBucket>,
}

/// A key's verifications per hour and outcome code.
#[utoipa::path(
    get,
    path = "/v1/keys/{id}/usage",
    tag = "keys",
    params(("id" = String, Path, description = "Key id"), UsageQuery),
    responses(
        (status = 200, description = "Hourly or daily buckets", body = UsageResponse),
        (status = 400, description = "A bad range", body = ErrorBody),
        (status = 401, description = "No service token with `keys:read`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn key_usage(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<UsageQuery>,
) -> Result<Json<UsageResponse>, ApiError> {
    caller.require(Permission::KeysRead)?;
    let (granularity, name, default_span, max_span, too_long) = match query.granularity.as_deref() {
        None | Some("hour") => (
            Granularity::Hour,
            "hour",
            Duration::hours(23),
            usage::MAX_RANGE,
            "Ask for at most 31 days of hours at once.",
        ),
        Some("day") => {
            (Granularity::Day, "day", Duration::days(29), Duration::days(400), "Ask for at most 400 days at once.")
        }
        Some(_) => return Err(ApiError::invalid(Some("granularity"), "'granularity' must be hour or day.")),
    };
    // Any RFC 3339 instant is answered (one long before the key was made has empty buckets). RFC 3339 writes
    // years 0000–9999, which an offset moves at most a day either way; the parser also takes chrono's
    // extended years (±262,143), whose arithmetic would overflow, and which are no RFC 3339.
    for (field, at) in [("since", query.since), ("until", query.until)] {
        if at.is_some_and(|at| !(-1..=10_000).contains(&chrono::Datelike::year(&at))) {
            return Err(ApiError::invalid(
                Some(field),
                format!("'{field}' must be an RFC 3339 date-time, with a year from 0000 to 9999."),
            ));
        }
    }
    let key = manage::find_any_key(&state.db, &id).await?;
    let until = query.until.unwrap_or_else(|| state.clock.now());
    let since = match query.since {
        Some(since) => since,
        None => until
            .checked_sub_signed(default_span)
            .ok_or_else(|| ApiError::invalid(Some("until"), "'until' is out of range."))?,
    };
    if since > until {
        return Err(ApiError::invalid(Some("since"), "'since' must come before 'until'."));
    }
    if until - since > max_span {
        return Err(ApiError::invalid(Some("since"), too_long));
    }
    let period = Period::new(granularity, since, until);
    let buckets = usage::series(&state.db, UsageOf::Key(&key.id), &period).await?;
    Ok(Json(UsageResponse {
        key_id: key.id,
        granularity: name,
        buckets: buckets
            .into_iter()
            .map(|bucket| UsageBucket {
                start: rfc3339(bucket.start),
                counts: bucket.counts.into_iter().map(|(code, count)| (code.as_str(), count)).collect(),
            })
            .collect(),
    }))
}

/// Refuses an allowlist entry that is empty or padded with spaces: the document promises an address or a
/// network, and the portal's one-per-line form is the only place where blank lines are skipped.
fn exact_networks(entries: Option<&[String]>) -> Result<(), ApiError> {
    let Some(index) =
        entries.and_then(|entries| entries.iter().position(|entry| entry.is_empty() || entry.trim() != entry))
    else {
        return Ok(());
    };
    Err(ApiError::invalid(None, "An allowlist entry is an IP address or a network such as 10.0.0.0/8, without spaces.")
        .with_field(format!("ip_allowlist.{index}")))
}
