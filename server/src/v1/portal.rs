//! `POST /v1/portal/sessions`: the provider's app signs one of its customers' people into the portal. Its
//! "Manage API keys" button calls this server-side and redirects the browser to the answered URL, which
//! works once, for at most five minutes. Needs the `portal` permission.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody};
use super::schema;
use super::verify::rfc3339;
use app::domain::organisations::Role;
use app::domain::portal_sessions::{self, NewPortalSession, PortalError};
use app::domain::service_tokens::Permission;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The customer, as the provider's app knows it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalOrganisation {
    /// The app's id for the customer; the organisation with this external id is used, or made.
    #[schema(value_type = schema::ExternalId)]
    pub external_id: String,
    /// Its name; the organisation is renamed to it when it differs.
    #[schema(value_type = schema::OrganisationName, example = "Acme Ltd")]
    pub name: String,
}

/// The person, as the provider's app knows them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalUser {
    /// The app's id for the person; their account is found by it, or made.
    #[schema(value_type = schema::ExternalId, example = "usr_42")]
    pub external_id: String,
    /// Their email address (at most 254 characters); kept up to date on every session.
    #[schema(example = "ada@acme.example", max_length = 254, format = Email)]
    pub email: String,
    /// Their name: at most 100 characters, no control characters.
    #[schema(value_type = Option<schema::PersonName>, example = "Ada Lovelace")]
    pub name: Option<String>,
}

/// A role in an organisation.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortalRole {
    /// Everything, including other owners.
    Owner,
    /// Keys, members and invitations, except owners.
    Admin,
    /// Creates keys and manages their own.
    Developer,
    /// Reads.
    Viewer,
}

impl From<PortalRole> for Role {
    fn from(role: PortalRole) -> Self {
        match role {
            PortalRole::Owner => Role::Owner,
            PortalRole::Admin => Role::Admin,
            PortalRole::Developer => Role::Developer,
            PortalRole::Viewer => Role::Viewer,
        }
    }
}

/// Who to sign in, where, and where "Back to …" goes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalSessionRequest {
    /// The customer.
    pub organisation: PortalOrganisation,
    /// The person.
    pub user: PortalUser,
    /// Their role in the organisation; set on every session, since the app is the source of truth.
    pub role: PortalRole,
    /// Where "Back to …" in the portal's header goes: an http(s) URL of at most 2048 characters on one of the
    /// origins in `LATCHKEY_PORTAL_RETURN_ORIGINS` (the pattern lists them).
    #[schema(example = "https://app.example.com/settings", max_length = 2048)]
    pub return_url: String,
}

/// The link to send the person to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSessionResponse {
    /// Redirect the browser here. It works once; never log or store it.
    pub url: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// Sign a customer's person into the portal: answers a one-time link to redirect their browser to.
#[utoipa::path(
    post,
    path = "/v1/portal/sessions",
    tag = "portal",
    request_body = CreatePortalSessionRequest,
    responses(
        (status = 201, description = "The link", body = PortalSessionResponse),
        (status = 400, description = "A field was refused (`field` names it, e.g. `user.email`), or `return_url` is not on an allowed origin", body = ErrorBody),
        (status = 401, description = "No service token with `portal`", body = ErrorBody),
        (status = 404, description = "`not_configured`: portal sessions are off, since no return origin is configured (`LATCHKEY_PORTAL_RETURN_ORIGINS`)", body = ErrorBody),
        (status = 409, description = "Another account, not made by your app, has the person's email address", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn create_portal_session(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreatePortalSessionRequest>,
) -> Result<(StatusCode, Json<PortalSessionResponse>), ApiError> {
    caller.require(Permission::Portal)?;
    if state.portal.return_origins.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_configured",
            "Portal sessions are off: set LATCHKEY_PORTAL_RETURN_ORIGINS to your app's origins to turn them on.",
        ));
    }
    let new = NewPortalSession {
        organisation_external_id: request.organisation.external_id,
        organisation_name: request.organisation.name,
        user_external_id: request.user.external_id,
        user_email: request.user.email,
        user_name: request.user.name,
        role: request.role.into(),
        return_url: request.return_url,
    };
    let created_by = format!("service token \"{}\"", caller.token.name);
    let link = portal_sessions::create(&state.db, state.clock.as_ref(), &state.portal, &created_by, &new)
        .await
        .map_err(|err| match err {
            PortalError::Invalid { field, message } => ApiError::invalid(Some(field), message),
            PortalError::EmailTaken(_) => ApiError::new(StatusCode::CONFLICT, "conflict", err.to_string()),
            PortalError::Random(_) | PortalError::Database(_) => ApiError::internal("portal session failed", &err),
        })?;
    let url = format!("{}/portal/{}", state.tokens.issuer.trim_end_matches('/'), link.secret.expose());
    tracing::info!(organisation = %new.organisation_external_id, "portal session created");
    Ok((StatusCode::CREATED, Json(PortalSessionResponse { url, expires_at: rfc3339(link.expires_at) })))
}
