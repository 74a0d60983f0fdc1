//! The `/v1` JSON API for the provider's services: key verification (the hot path), key and organisation
//! management, authenticated by service tokens; the exchange of a customer's key for a JWT (`/v1/tokens`) and the JWKS
//! that verifies it (`/.well-known/jwks.json`). Described by the OpenAPI document at `/v1/openapi.json`. Every route is
//! registered together with its OpenAPI operation, so the document cannot miss one.

pub mod error;
pub mod extract;
pub mod jwks;
pub mod keys;
pub mod leaks;
pub mod numbers;
pub mod organisations;
pub mod portal;
pub mod schema;
pub mod token_status;
pub mod tokens;
pub mod unauthorized;
pub mod verify;
pub mod webhooks;

use crate::router::AppState;
use app::domain::clock::SharedClock;
use app::domain::jwt::{IssuedTokens, SigningKeys, TokenPolicy};
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::ScopeCatalogue;
use app::domain::service_tokens::TokenCache;
use app::domain::usage::UsageCounter;
use app::domain::verification::{KeyCache, RateLimits, Verifier};
use axum::routing::{any, get};
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the `/v1` API shares between requests: the verification engine and recent service-token checks.
#[derive(Debug, Clone)]
pub struct VerificationServices {
    /// The engine, with its key cache and usage counter.
    pub verifier: Arc<Verifier>,
    /// Recent service-token authentications.
    pub tokens: Arc<TokenCache>,
    /// The prefix of service tokens.
    pub token_prefix: Arc<KeyPrefix>,
    /// The keys that sign access tokens.
    pub signing_keys: Arc<SigningKeys>,
    /// What is known of issued access tokens: their states and the revocation list.
    pub issued_tokens: Arc<IssuedTokens>,
    /// Recent 401 answers per client address.
    pub unauthorized: unauthorized::UnauthorizedLimit,
}

impl VerificationServices {
    /// Fresh caches and counters for keys with `key_prefix` and service tokens with `token_prefix`, with
    /// rate limits kept in this instance.
    pub fn new(key_prefix: KeyPrefix, token_prefix: KeyPrefix, clock: SharedClock) -> Self {
        Self::with_rate_limits(key_prefix, token_prefix, clock, RateLimits::local())
    }

    /// Like [`Self::new`], enforcing `limits` (shared through Redis, or this instance's own).
    pub fn with_rate_limits(
        key_prefix: KeyPrefix,
        token_prefix: KeyPrefix,
        clock: SharedClock,
        limits: RateLimits,
    ) -> Self {
        let verifier =
            Verifier::new(key_prefix, clock, Arc::new(KeyCache::default()), Arc::new(UsageCounter::default()))
                .with_rate_limits(limits);
        Self {
            verifier: Arc::new(verifier),
            tokens: Arc::new(TokenCache::default()),
            token_prefix: Arc::new(token_prefix),
            signing_keys: Arc::new(SigningKeys::default()),
            issued_tokens: Arc::new(IssuedTokens::default()),
            unauthorized: unauthorized::UnauthorizedLimit::new(),
        }
    }
}

/// What `/v1` handlers share. One `Arc`: axum clones a router's state for every request.
#[derive(Debug, Clone)]
pub struct ApiState(Arc<ApiServices>);

/// The services behind [`ApiState`].
#[derive(Debug)]
pub struct ApiServices {
    /// The database.
    pub db: DatabaseConnection,
    /// The time.
    pub clock: SharedClock,
    /// Key prefix and limits.
    pub keys: KeyPolicy,
    /// The scopes keys may carry.
    pub scopes: ScopeCatalogue,
    /// The engine and service-token checks.
    pub verification: VerificationServices,
    /// What access tokens say and how long they live.
    pub tokens: TokenPolicy,
    /// Recent 401 answers per client address.
    pub unauthorized: unauthorized::UnauthorizedLimit,
    /// How portal links behave.
    pub portal: app::domain::portal_sessions::PortalPolicy,
    /// Seals and opens webhook signing secrets.
    pub sealer: app::domain::sealing::Sealer,
    /// Webhook targets, the leak policy and GitHub's keys.
    pub events: crate::router::EventsSetup,
    /// Counters and histograms for the operator.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl std::ops::Deref for ApiState {
    type Target = ApiServices;

    fn deref(&self) -> &ApiServices {
        &self.0
    }
}

impl From<&AppState> for ApiState {
    fn from(state: &AppState) -> Self {
        Self(Arc::new(ApiServices {
            db: state.db.clone(),
            clock: state.clock.clone(),
            keys: state.keys.clone(),
            scopes: state.scopes.clone(),
            verification: state.verification.clone(),
            tokens: state.tokens.clone(),
            unauthorized: state.verification.unauthorized.clone(),
            portal: state.provider.portal.clone(),
            sealer: state.account_security.sealer.clone(),
            events: state.events.clone(),
            metrics: state.metrics.clone(),
        }))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey API",
        description = "Verify API keys and manage them for your customers. Authenticate with \
                       `Authorization: Bearer <service token>`; errors are `{\"error\": {\"code\", \"message\"}}`. \
                       The exceptions speak OAuth 2.0 and answer its errors, `{\"error\", \"error_description\"}`: \
                       `POST /v1/tokens`, where a customer's service presents its API key to get a short-lived JWT; \
                       `POST /v1/tokens/revoke` (RFC 7009), authenticated by that key; and \
                       `POST /v1/tokens/introspect` (RFC 7662), authenticated by a service token. \
                       `GET /.well-known/jwks.json` needs no credentials."
    ),
    modifiers(&BearerToken),
    tags(
        (name = "verification", description = "The hot path: check a presented key"),
        (name = "tokens", description = "Short-lived JWTs for a customer's API key, the keys that verify them, and whether a token still works: introspection, revocation and the revocation list"),
        (name = "keys", description = "Manage customers' keys"),
        (name = "organisations", description = "Customers as organisations: create, find, change, disable"),
        (name = "portal", description = "Sign your customers into the portal from your own app"),
        (name = "webhooks", description = "Your endpoints for key, organisation and member events. Each delivery is a \
            `POST` of one `WebhookEvent` (JSON), signed as Standard Webhooks specifies: headers `webhook-id` (the event's \
            id, the same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64 \
            HMAC-SHA256 of \"{id}.{timestamp}.{body}\">`, one per secret in use, space-separated), verifiable with any \
            Standard Webhooks library and the endpoint's `whsec_` secret. Any 2xx within 10 s is a delivery; otherwise \
            it is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (±10%), about 75 hours in all. \
            An endpoint whose every attempt failed for 60 hours is paused, so one that lets a delivery run out of \
            attempts always is."),
        (name = "leaks", description = "Reports of keys found in public: from GitHub's secret scanning partner program, \
            and from your own scanners")
    ),
    components(schemas(webhooks::WebhookEvent))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "service_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A service token created with `latchkey service-token create`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A customer's API key, exchanged for a short-lived JWT"))
                    .build(),
            ),
        );
    }
}

/// The `/v1` routes and the OpenAPI document describing exactly them.
pub fn routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(verify::verify_key))
        .routes(routes!(tokens::issue_token))
        .routes(routes!(token_status::introspect_token))
        .routes(routes!(token_status::revoke_token))
        .routes(routes!(token_status::revoked_tokens))
        .routes(routes!(jwks::jwks))
        .routes(routes!(keys::create_key, keys::list_keys))
        .routes(routes!(keys::get_key, keys::update_key))
        .routes(routes!(keys::roll_key))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(keys::key_usage))
        .routes(routes!(organisations::create_organisation, organisations::list_organisations))
        .routes(routes!(organisations::get_organisation, organisations::update_organisation))
        .routes(routes!(organisations::list_members))
        .routes(routes!(organisations::disable_organisation))
        .routes(routes!(organisations::enable_organisation))
        .routes(routes!(portal::create_portal_session))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::get_webhook, webhooks::update_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::webhook_deliveries))
        .routes(routes!(webhooks::send_test_event))
        .routes(routes!(webhooks::resend_event))
        .routes(routes!(leaks::github_report))
        .routes(routes!(leaks::report_leaks))
        .split_for_parts()
}

/// The `/v1` router, with `GET /v1/openapi.json` and a 404 for any other `/v1` path (the server wraps it
/// with [`error::envelope_for_v1`], so that errors from every layer get the envelope). Its paths are absolute (merged, not nested): nesting rewrote every request's URI.
pub fn router(state: ApiState) -> Router {
    let (routes, document) = routes();
    let document = Arc::new(with_deployment(&document, &state.scopes, &state.portal.return_origins));
    let unknown = || std::future::ready(error::ApiError::not_found("No such endpoint; see /v1/openapi.json."));
    routes
        .route("/v1/openapi.json", get(move || std::future::ready(Json(document.as_ref().clone()))))
        .route("/v1", any(unknown))
        .route("/v1/{*rest}", any(unknown))
        .with_state(state)
}

/// The document as this deployment serves it: the scopes keys may carry are the operator's catalogue, so
/// they are listed as the only values `scopes` takes.
pub fn with_catalogue(document: &utoipa::openapi::OpenApi, catalogue: &ScopeCatalogue) -> serde_json::Value {
    with_deployment(document, catalogue, &[])
}

/// The document as this deployment serves it: the scopes keys may carry are the operator's catalogue, so
/// they are listed as the only values `scopes` takes; a portal session's `return_url` must be on one of the
/// allowed return origins, which its pattern states.
pub fn with_deployment(
    document: &utoipa::openapi::OpenApi,
    catalogue: &ScopeCatalogue,
    return_origins: &[String],
) -> serde_json::Value {
    let mut json = serde_json::to_value(document).unwrap_or_default();
    if let Some(return_url) = json.pointer_mut("/components/schemas/CreatePortalSessionRequest/properties/return_url") {
        // With no origin allowed, portal sessions are off and the operation answers 404 whatever it is sent
        // (its description says so): no pattern then, rather than one that matches nothing.
        if !return_origins.is_empty() {
            let origins = return_origins.iter().map(|origin| regex_escape(origin)).collect::<Vec<_>>().join("|");
            return_url["pattern"] = serde_json::json!(format!("^(?:{origins})(?:/[!#-~]*)?$"));
        }
    }
    optional_empty_bodies(&mut json);
    let names: Vec<&str> = catalogue.scopes().iter().map(|scope| scope.name.as_str()).collect();
    for schema in ["CreateKeyRequest", "UpdateKeyRequest"] {
        if let Some(items) = json.pointer_mut(&format!("/components/schemas/{schema}/properties/scopes/items")) {
            items["enum"] = serde_json::json!(names);
        }
    }
    // The space-separated scope list of a token request: catalogue names between ASCII whitespace.
    let name = format!("(?:{})", names.iter().map(|name| regex_escape(name)).collect::<Vec<_>>().join("|"));
    let pattern = format!("^[ \\t\\n\\f\\r]*(?:{name}(?:[ \\t\\n\\f\\r]+{name})*)?[ \\t\\n\\f\\r]*$");
    if let Some(scope) = json.pointer_mut("/components/schemas/TokenRequestBody/properties/scope") {
        scope["pattern"] = serde_json::json!(pattern);
    }
    json
}

/// Marks a JSON request body as optional where every field of it is: an empty body reads as `{}`
/// ([`extract::JsonBody`]), so leaving it out is as valid as sending `{}`.
fn optional_empty_bodies(document: &mut serde_json::Value) {
    let schemas = document.pointer("/components/schemas").cloned().unwrap_or_default();
    let Some(paths) = document.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(serde_json::Value::as_object_mut).flat_map(|path| path.values_mut())
    {
        let Some(body) = operation.get_mut("requestBody") else { continue };
        let Some(schema) = body.pointer("/content/application~1json/schema") else { continue };
        let resolved = match schema.get("$ref").and_then(serde_json::Value::as_str) {
            Some(reference) => {
                schemas.get(reference.trim_start_matches("#/components/schemas/")).cloned().unwrap_or_default()
            }
            None => schema.clone(),
        };
        let is_object = resolved.get("type").and_then(serde_json::Value::as_str) == Some("object");
        let requires_nothing =
            resolved.get("required").and_then(serde_json::Value::as_array).is_none_or(|required| required.is_empty());
        if is_object && requires_nothing && body.pointer("/content/application~1x-www-form-urlencoded").is_none() {
            body["required"] = serde_json::json!(false);
        }
    }
}

/// `text` with the characters that mean something in a regular expression escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
