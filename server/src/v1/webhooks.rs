//! `/v1/webhooks`: the operator's own webhook endpoints, which receive every organisation's events
//! (customers register theirs in the portal). Needs `webhooks:write`. The delivered event is described by
//! the `WebhookEvent` schema.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, QueryParams};
use super::verify::rfc3339;
use app::domain::service_tokens::Permission;
use app::domain::webhooks::deliveries::{self, Attempt};
use app::domain::webhooks::endpoints::{self, EndpointChanges, Owner};
use app::domain::webhooks::events::EventType;
use app::domain::webhooks::{Endpoint, EndpointError, NewEndpoint};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

impl From<EndpointError> for ApiError {
    fn from(err: EndpointError) -> Self {
        match err {
            EndpointError::Invalid { field, message } => Self::invalid(Some(field), message),
            EndpointError::NotFound => Self::not_found(err.to_string()),
            EndpointError::Limit => Self::new(StatusCode::CONFLICT, "limit_reached", err.to_string()),
            EndpointError::Seal(_) | EndpointError::Random(_) | EndpointError::Database(_) => {
                Self::internal("webhook endpoint operation failed", &err)
            }
        }
    }
}

/// One event type an endpoint can receive.
pub struct EventTypeName;

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventType::SUBSCRIBABLE.map(EventType::as_str)))
            .description(Some("An event type"))
            .into()
    }
}

impl ToSchema for EventTypeName {}

/// A webhook URL as the server takes it: http or https, a host name (or IPv4 address) without user name or
/// password, a port from 1 to 9999, no fragment.
pub struct WebhookUrl;

/// The URL rule as a pattern; [`app::domain::webhooks::target`] checks the same and more for customers.
const URL_PATTERN: &str = concat!(
    r"^https?://(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?",
    r"|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))",
    r"(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$"
);

impl PartialSchema for WebhookUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(8))
            .max_length(Some(2048))
            .pattern(Some(URL_PATTERN))
            .description(Some("An http or https URL without credentials or fragment, at most 2048 characters"))
            .examples([serde_json::json!("https://billing.example.com/hooks/latchkey")])
            .into()
    }
}

impl ToSchema for WebhookUrl {}

/// The event every delivery carries: `{"type", "timestamp", "data"}`. `data.organisation` names the
/// organisation (`id`, `name`, `external_id`, `disabled`); key events add `data.key` (`id`, `name`, `hint`,
/// `scopes`, `created_at`, `expires_at`, `revoked_at`, `rolled_into` — never the key itself) and
/// `data.actor`; `key.expiring` adds `data.expires_within` (`7d` or `1d`); `key.leaked` adds `data.leak`
/// (`url`, `source`, `reported_at`, `revoked`); `token.revoked` adds `data.token` (`jti`, `expires_at`);
/// member events add `data.member` (`account_id`, `email`,
/// `role`). `webhook.test` is sent only on request.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    /// The event type (or `webhook.test`).
    #[schema(example = "key.revoked")]
    pub r#type: String,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// What it concerns.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A webhook endpoint; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    /// Id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it receives; empty for all.
    #[schema(value_type = Vec<EventTypeName>)]
    pub event_types: Vec<String>,
    /// Registered (RFC 3339).
    pub created_at: String,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// Why it is paused, while it is.
    pub disabled_reason: Option<String>,
    /// Every attempt has failed since then (RFC 3339), while that is so.
    pub failing_since: Option<String>,
    /// The previous secret still signs until then (RFC 3339), after a rotation.
    pub previous_secret_until: Option<String>,
}

fn response(endpoint: Endpoint) -> WebhookResponse {
    WebhookResponse {
        event_types: endpoint.event_types.iter().map(|kind| kind.as_str().to_owned()).collect(),
        enabled: endpoint.disabled_at.is_none(),
        created_at: rfc3339(endpoint.created_at),
        failing_since: endpoint.failing_since.map(rfc3339),
        previous_secret_until: endpoint.previous_secret_until.map(rfc3339),
        id: endpoint.id,
        url: endpoint.url,
        description: endpoint.description,
        disabled_reason: endpoint.disabled_reason,
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where deliveries go.
    #[schema(value_type = WebhookUrl)]
    pub url: String,
    /// What it is for: at most 200 characters, no control characters.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    #[serde(default)]
    pub description: String,
    /// The event types it receives; absent or empty for all.
    #[schema(value_type = Vec<EventTypeName>)]
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookResponse,
    /// The signing secret (`whsec_` and base64): give it to your Standard Webhooks library. Shown only now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// Register an endpoint for every organisation's events.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered; the secret is shown only now", body = WebhookWithSecret),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 409, description = "`limit_reached`: 20 endpoints already", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn create_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let new = NewEndpoint { url: request.url, description: request.description, event_types: request.event_types };
    let (endpoint, secret) = endpoints::create(
        &state.db,
        state.clock.as_ref(),
        &state.sealer,
        state.events.webhook_targets,
        &caller.origin(),
        Owner::Operator,
        &new,
    )
    .await?;
    let secret = secret.expose().to_owned();
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { endpoint: response(endpoint), secret })))
}

/// The operator's endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListResponse {
    /// Oldest first.
    pub webhooks: Vec<WebhookResponse>,
}

/// List the operator's endpoints.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = WebhookListResponse),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn list_webhooks(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<WebhookListResponse>, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let list = endpoints::list(&state.db, Owner::Operator).await?;
    Ok(Json(WebhookListResponse { webhooks: list.into_iter().map(response).collect() }))
}

/// Read one endpoint.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookResponse),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn get_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookResponse>, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(Json(response(endpoints::get(&state.db, Owner::Operator, &id).await?)))
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// A new URL.
    #[schema(value_type = Option<WebhookUrl>)]
    pub url: Option<String>,
    /// A new description: at most 200 characters, no control characters.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// New event types; empty for all.
    #[schema(value_type = Option<Vec<EventTypeName>>)]
    pub event_types: Option<Vec<String>>,
    /// false pauses deliveries (they wait); true resumes them.
    pub enabled: Option<bool>,
}

/// Change an endpoint: URL, description, event types; pause or resume it.
#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn update_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateWebhookRequest>,
) -> Result<Json<WebhookResponse>, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let changes = EndpointChanges {
        url: request.url,
        description: request.description,
        event_types: request.event_types,
        enabled: request.enabled,
    };
    let endpoint = endpoints::update(
        &state.db,
        state.clock.as_ref(),
        state.events.webhook_targets,
        &caller.origin(),
        Owner::Operator,
        &id,
        &changes,
    )
    .await?;
    Ok(Json(response(endpoint)))
}

/// Remove an endpoint, with its waiting deliveries and its log.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn delete_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    endpoints::delete(&state.db, state.clock.as_ref(), &caller.origin(), Owner::Operator, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the old secret keeps signing too, 0 to 604800 seconds (default 86400).
    #[schema(minimum = 0, maximum = 604_800)]
    #[serde(default, deserialize_with = "super::numbers::optional_whole")]
    pub overlap_seconds: Option<u32>,
}

/// Give an endpoint a new signing secret; the old one keeps signing alongside it for the overlap.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    request_body = RotateSecretRequest,
    responses(
        (status = 200, description = "The new secret, shown only now", body = WebhookWithSecret),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn rotate_webhook_secret(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RotateSecretRequest>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let overlap = request
        .overlap_seconds
        .map_or(endpoints::DEFAULT_OVERLAP, |seconds| chrono::Duration::seconds(i64::from(seconds)));
    let (endpoint, secret) = endpoints::rotate_secret(
        &state.db,
        state.clock.as_ref(),
        &state.sealer,
        &caller.origin(),
        Owner::Operator,
        &id,
        overlap,
    )
    .await?;
    Ok(Json(WebhookWithSecret { endpoint: response(endpoint), secret: secret.expose().to_owned() }))
}

/// How much of the log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Most attempts answered, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    /// The event (the `webhook-id`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// When it was sent (RFC 3339).
    pub attempted_at: String,
    /// Which attempt of its delivery, from 1.
    pub attempt: i32,
    /// The endpoint answered 2xx.
    pub succeeded: bool,
    /// The HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// Milliseconds to the answer or the failure.
    pub latency_ms: i64,
    /// The first bytes of the answer's body.
    pub response_excerpt: String,
    /// Why there was no answer.
    pub error: Option<String>,
}

/// The delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryLogResponse {
    /// Newest first.
    pub attempts: Vec<AttemptResponse>,
    /// Deliveries waiting for their first attempt or a retry.
    pub waiting: u64,
}

fn attempt_response(attempt: Attempt) -> AttemptResponse {
    AttemptResponse {
        attempted_at: rfc3339(attempt.attempted_at),
        event_id: attempt.event_id,
        event_type: attempt.event_type,
        attempt: attempt.attempt,
        succeeded: attempt.succeeded,
        status_code: attempt.status_code,
        latency_ms: attempt.latency_ms,
        response_excerpt: attempt.response_excerpt,
        error: attempt.error,
    }
}

/// Read an endpoint's delivery log.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id"), LogQuery),
    responses(
        (status = 200, description = "The latest attempts, newest first", body = DeliveryLogResponse),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn webhook_deliveries(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<LogQuery>,
) -> Result<Json<DeliveryLogResponse>, ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=deliveries::MAX_LOG_PAGE).contains(&limit) {
        return Err(ApiError::invalid(Some("limit"), "limit is from 1 to 100."));
    }
    let endpoint = endpoints::get(&state.db, Owner::Operator, &id).await?;
    let attempts = deliveries::log(&state.db, &endpoint.id, limit).await?;
    let waiting = deliveries::waiting(&state.db, &endpoint.id).await?;
    Ok(Json(DeliveryLogResponse { attempts: attempts.into_iter().map(attempt_response).collect(), waiting }))
}

/// An event queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedResponse {
    /// The event's id: the `webhook-id` of its delivery.
    pub event_id: String,
}

/// Send a `webhook.test` event to this endpoint alone.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 202, description = "Queued; it goes out within a second or two", body = QueuedResponse),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn send_test_event(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<QueuedResponse>), ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let endpoint = endpoints::get(&state.db, Owner::Operator, &id).await?;
    let event_id = deliveries::send_test(&state.db, state.clock.now(), &endpoint, &caller.origin().actor).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedResponse { event_id })))
}

/// Which event to send again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    /// An event this endpoint had (an `event_id` of its log).
    #[schema(min_length = 1, max_length = 40)]
    pub event_id: String,
}

/// Send an event again, with the same `webhook-id`, to this endpoint.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/resend",
    tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    request_body = ResendRequest,
    responses(
        (status = 202, description = "Queued again", body = QueuedResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `webhooks:write`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 404, description = "No such endpoint, or it never had this event", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn resend_event(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ResendRequest>,
) -> Result<(StatusCode, Json<QueuedResponse>), ApiError> {
    caller.require(Permission::WebhooksWrite)?;
    let endpoint = endpoints::get(&state.db, Owner::Operator, &id).await?;
    deliveries::resend(&state.db, state.clock.now(), &endpoint.id, &request.event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("This endpoint never had that event."))?;
    Ok((StatusCode::ACCEPTED, Json(QueuedResponse { event_id: request.event_id })))
}
