//! The one error envelope of the `/v1` API: `{"error": {"code", "message", "field"?}}` with the matching
//! HTTP status. Internal errors are logged here and answered with a generic message.

use app::domain::keys::manage::KeyError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::ToSchema;

/// An error response of the `/v1` API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `unauthorized`, `insufficient_permission`, `invalid_json`, `invalid_request`,
    /// `not_found`, `conflict`, `forbidden`, `limit_reached`, `payload_too_large`, `method_not_allowed`, `timeout`,
    /// `unsupported_media_type`, `rate_limited`, `internal`.
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// For people.
    #[schema(example = "No key with this id.")]
    pub message: String,
    /// The request field at fault, when there is one (a dotted path for nested fields, e.g. `ratelimit.limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'static, str>>,
}

/// An error answered by a `/v1` handler.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<Cow<'static, str>>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// 401: no usable service token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 400: the request is not what this endpoint takes.
    pub fn invalid(field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self { field: field.map(Cow::Borrowed), ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message) }
    }

    /// This error, naming a field known only at run time, such as the path serde reports.
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 429: credentials that do not work from an address that had too many 401 answers; `wait` until it may
    /// try again.
    pub fn too_many_failures(wait: std::time::Duration) -> Self {
        Self {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests with credentials that do not work came from this address; wait and try again.",
            )
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What it says, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds to wait before trying again, for a 429.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500, with the cause logged and not shown.
    pub fn internal(what: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{what}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side; try again.")
    }
}

impl From<KeyError> for ApiError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::NotFound => Self::not_found("No key with this id."),
            KeyError::Invalid { field, message } => Self::invalid(Some(field), message),
            KeyError::LimitReached(_) => Self::new(StatusCode::CONFLICT, "limit_reached", err.to_string()),
            KeyError::Finished(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            // Services act as the operator and are never held to a member's role; kept for completeness.
            KeyError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            KeyError::Random(_) | KeyError::Database(_) => Self::internal("key operation failed", &err),
        }
    }
}

impl From<app::domain::organisations::OrganisationError> for ApiError {
    fn from(err: app::domain::organisations::OrganisationError) -> Self {
        use app::domain::organisations::OrganisationError as E;
        match err {
            E::NotFound => Self::not_found("No organisation with this id or external id."),
            E::Invalid { field, message } => Self::invalid(Some(field), message),
            E::ExternalIdTaken(_) => Self::new(StatusCode::CONFLICT, "conflict", err.to_string()),
            E::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            E::LastOwner | E::AlreadyMember(_) => Self::new(StatusCode::CONFLICT, "conflict", err.to_string()),
            E::InvitationUnusable(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            E::Random(_) | E::Database(_) => Self::internal("organisation operation failed", &err),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::internal("database error", &err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, field: self.field } };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Gives every error response to a `/v1` request the API's shape, including those the outer layers produce
/// before routing (413 for a declared body over the limit, 408): the envelope, or OAuth's for `/v1/tokens` and
/// its introspection and revocation endpoints.
pub async fn envelope_for_v1(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let is_v1 = path == "/v1" || path.starts_with("/v1/");
    let is_token_endpoint = matches!(path, "/v1/tokens" | "/v1/tokens/introspect" | "/v1/tokens/revoke");
    let response = next.run(request).await;
    if is_token_endpoint {
        replace_stray_error(response, |status, _, message| super::tokens::stray_error(status, message).into_response())
    } else if is_v1 {
        replace_stray_error(response, |status, code, message| ApiError::new(status, code, message).into_response())
    } else {
        response
    }
}

/// Replaces a plain-text error produced outside the handlers (body limit, timeout, unknown route, wrong
/// method, a panic) with `shaped(status, code, message)`, keeping its `Allow` header. JSON and successes
/// pass.
fn replace_stray_error(
    response: Response,
    shaped: impl FnOnce(StatusCode, &'static str, &'static str) -> Response,
) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is larger than 64 KiB."),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long."),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This path does not take this method."),
        StatusCode::NOT_FOUND => ("not_found", "No such endpoint; see /v1/openapi.json."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Send JSON."),
        _ if status.is_server_error() => ("internal", "Something went wrong on our side; try again."),
        _ => ("invalid_request", "The request was refused."),
    };
    let mut replaced = shaped(status, code, message);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        replaced.headers_mut().insert(header::ALLOW, allow.clone());
    }
    replaced
}
