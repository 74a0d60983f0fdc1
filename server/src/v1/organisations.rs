//! `/v1/organisations`: the provider's services create their customers as organisations (with the provider's
//! own id as `external_id`), find, read and change them, list their members, and disable or enable them.
//! Reading needs `organisations:read`, changing `organisations:write`; changes go to the operator audit log.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, QueryParams};
use super::schema;
use super::verify::rfc3339;
use app::domain::organisations::{self, NewOrganisation, Organisation, members};
use app::domain::service_tokens::Permission;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A customer organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationResponse {
    /// Latchkey's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The provider's own id for this customer, or null.
    pub external_id: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Whether the operator has disabled it (its keys answer `DISABLED`).
    pub disabled: bool,
    /// When it was disabled, while it is.
    pub disabled_at: Option<String>,
}

fn response(org: Organisation) -> OrganisationResponse {
    OrganisationResponse {
        disabled: org.is_disabled(),
        disabled_at: org.disabled_at.map(rfc3339),
        created_at: rfc3339(org.created_at),
        id: org.id,
        name: org.name,
        external_id: org.external_id,
    }
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisationRequest {
    /// Its name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(value_type = schema::OrganisationName, example = "Acme Ltd")]
    pub name: String,
    /// The provider's own id for this customer: 1 to 255 characters without spaces or control characters,
    /// unique across organisations.
    #[schema(value_type = Option<schema::ExternalId>, example = "cus_4711")]
    pub external_id: Option<String>,
}

/// Create an organisation for a customer; it has no members until people join it.
#[utoipa::path(
    post,
    path = "/v1/organisations",
    tag = "organisations",
    request_body = CreateOrganisationRequest,
    responses(
        (status = 201, description = "Created", body = OrganisationResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `organisations:write`", body = ErrorBody),
        (status = 409, description = "Another organisation has this external id", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn create_organisation(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateOrganisationRequest>,
) -> Result<(StatusCode, Json<OrganisationResponse>), ApiError> {
    caller.require(Permission::OrganisationsWrite)?;
    let new = NewOrganisation { name: request.name, external_id: request.external_id };
    let org = organisations::create(&state.db, state.clock.as_ref(), &caller.origin(), &new, None).await?;
    Ok((StatusCode::CREATED, Json(response(org))))
}

/// Which organisations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of the name or external id (case-insensitive), or an exact id; absent for every organisation.
    #[param(max_length = 255)]
    pub query: Option<String>,
    /// Most organisations answered, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

/// Organisations found.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationListResponse {
    /// By name.
    pub organisations: Vec<OrganisationResponse>,
}

/// Find organisations by name, external id or id.
#[utoipa::path(
    get,
    path = "/v1/organisations",
    tag = "organisations",
    params(SearchQuery),
    responses(
        (status = 200, description = "Organisations, by name", body = OrganisationListResponse),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No service token with `organisations:read`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn list_organisations(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<OrganisationListResponse>, ApiError> {
    caller.require(Permission::OrganisationsRead)?;
    let limit = query.limit.unwrap_or(25);
    if !(1..=organisations::MAX_SEARCH_RESULTS).contains(&limit) {
        return Err(ApiError::invalid(Some("limit"), "'limit' must be 1 to 100."));
    }
    let text = query.query.unwrap_or_default();
    if text.chars().count() > 255 {
        return Err(ApiError::invalid(Some("query"), "'query' must be at most 255 characters."));
    }
    let found = organisations::search(&state.db, &text, limit).await?;
    Ok(Json(OrganisationListResponse { organisations: found.into_iter().map(response).collect() }))
}

/// Read an organisation.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}",
    tag = "organisations",
    params(("id" = String, Path, description = "The organisation's id or external id")),
    responses(
        (status = 200, description = "The organisation", body = OrganisationResponse),
        (status = 401, description = "No service token with `organisations:read`", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn get_organisation(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrganisationResponse>, ApiError> {
    caller.require(Permission::OrganisationsRead)?;
    Ok(Json(response(organisations::find_by_id_or_external_id(&state.db, &id).await?)))
}

/// Tells an absent field (`None`) from one set to null (`Some(None)`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes to an organisation; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganisationRequest {
    /// New name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(value_type = Option<schema::OrganisationName>)]
    pub name: Option<String>,
    /// New external id (unique; no spaces or control characters); null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<schema::ExternalId>)]
    pub external_id: Option<Option<String>>,
}

/// Rename an organisation or change its external id.
#[utoipa::path(
    patch,
    path = "/v1/organisations/{id}",
    tag = "organisations",
    params(("id" = String, Path, description = "The organisation's id or external id")),
    request_body = UpdateOrganisationRequest,
    responses(
        (status = 200, description = "The changed organisation", body = OrganisationResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `organisations:write`", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 409, description = "Another organisation has this external id", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn update_organisation(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdateOrganisationRequest>,
) -> Result<Json<OrganisationResponse>, ApiError> {
    caller.require(Permission::OrganisationsWrite)?;
    let org = organisations::find_by_id_or_external_id(&state.db, &id).await?;
    let external_id = request.external_id.as_ref().map(Option::as_deref);
    let updated = organisations::update(
        &state.db,
        state.clock.as_ref(),
        state.verification.verifier.cache(),
        &caller.origin(),
        true,
        &org.id,
        organisations::OrganisationChanges { name: request.name.as_deref(), external_id },
    )
    .await?;
    Ok(Json(response(updated)))
}

/// A member of an organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    /// Their account id.
    pub account_id: String,
    /// Their email address.
    pub email: String,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub role: &'static str,
    /// When they joined (RFC 3339).
    pub joined_at: String,
}

/// The members of an organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberListResponse {
    /// Owners first, then by email.
    pub members: Vec<MemberResponse>,
}

/// List an organisation's members.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/members",
    tag = "organisations",
    params(("id" = String, Path, description = "The organisation's id or external id")),
    responses(
        (status = 200, description = "Its members", body = MemberListResponse),
        (status = 401, description = "No service token with `organisations:read`", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn list_members(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MemberListResponse>, ApiError> {
    caller.require(Permission::OrganisationsRead)?;
    let org = organisations::find_by_id_or_external_id(&state.db, &id).await?;
    let people = members::list(&state.db, &org.id).await?;
    Ok(Json(MemberListResponse {
        members: people
            .into_iter()
            .map(|member| MemberResponse {
                account_id: member.account_id,
                email: member.email,
                role: member.role.as_str(),
                joined_at: rfc3339(member.joined_at),
            })
            .collect(),
    }))
}

async fn switch(state: &ApiState, caller: &Caller, id: &str, disabled: bool) -> Result<OrganisationResponse, ApiError> {
    caller.require(Permission::OrganisationsWrite)?;
    let org = organisations::find_by_id_or_external_id(&state.db, id).await?;
    let cache = state.verification.verifier.cache();
    let changed =
        organisations::set_disabled(&state.db, state.clock.as_ref(), cache, &caller.origin(), &org.id, disabled)
            .await?;
    Ok(response(changed))
}

/// Disable an organisation: its keys answer `DISABLED` at once on this instance and within 2 s on every
/// other; its members can sign in but cannot create or change keys. Disabling a disabled one changes nothing.
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/disable",
    tag = "organisations",
    params(("id" = String, Path, description = "The organisation's id or external id")),
    responses(
        (status = 200, description = "The organisation, disabled", body = OrganisationResponse),
        (status = 401, description = "No service token with `organisations:write`", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn disable_organisation(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrganisationResponse>, ApiError> {
    Ok(Json(switch(&state, &caller, &id, true).await?))
}

/// Enable a disabled organisation again: everything works as before.
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/enable",
    tag = "organisations",
    params(("id" = String, Path, description = "The organisation's id or external id")),
    responses(
        (status = 200, description = "The organisation, enabled", body = OrganisationResponse),
        (status = 401, description = "No service token with `organisations:write`", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn enable_organisation(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrganisationResponse>, ApiError> {
    Ok(Json(switch(&state, &caller, &id, false).await?))
}
