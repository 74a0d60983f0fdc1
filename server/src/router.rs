//! The HTTP surface: which path goes where, and the layers around it.

use crate::assets;
use crate::health;
use crate::middleware::client_ip::{TrustedProxies, record_client_ip};
use crate::middleware::origin::{OriginPolicy, refuse_cross_site};
use crate::middleware::request_id::NextRequestId;
use crate::middleware::request_metrics::count_answers;
use crate::middleware::security_headers::{HeaderPolicy, add_security_headers};
use crate::v1::{self, ApiState, VerificationServices};
use app::domain::accounts::password::PasswordHasher;
use app::domain::clock::SharedClock;
use app::domain::jwt::TokenPolicy;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::ScopeCatalogue;
use app::domain::sessions::SessionPolicy;
use app::domain::sessions::store::DatabaseSessionStore;
use app::domain::throttle::ThrottlePolicy;
use app::domain::usage::Retention;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

/// Largest request body accepted anywhere but `POST /v1/leaks`; a sign-in form is a few hundred bytes.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Largest body of `POST /v1/leaks`: its most reports at their longest, however their text is escaped.
pub const LEAK_REPORT_LIMIT_BYTES: usize = 4 * 1024 * 1024;
/// Longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the handlers and server functions need.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' rendering options.
    pub leptos_options: LeptosOptions,
    /// The database.
    pub db: DatabaseConnection,
    /// Password hashing.
    pub hasher: Arc<PasswordHasher>,
    /// The time.
    pub clock: SharedClock,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Sign-in throttling.
    pub throttle: ThrottlePolicy,
    /// Key prefix and limits.
    pub keys: KeyPolicy,
    /// The scopes keys may carry.
    pub scopes: ScopeCatalogue,
    /// How the portal is reached from browsers.
    pub web: WebPolicy,
    /// The verification engine and service-token checks of the `/v1` API.
    pub verification: VerificationServices,
    /// How long usage is kept.
    pub usage_retention: Retention,
    /// What access tokens from `POST /v1/tokens` say and how long they live.
    pub tokens: TokenPolicy,
    /// The provider's brand, portal sessions and identity provider.
    pub provider: ProviderSetup,
    /// Two-factor requirements, address verification, and the key that seals TOTP secrets.
    pub account_security: app::domain::accounts::security::AccountSecurity,
    /// Webhook targets, the leak policy and GitHub's keys.
    pub events: EventsSetup,
    /// Counters and histograms for the operator.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// What the provider set up around the portal. The default is none of it: Latchkey's own look, passwords,
/// no portal sessions, no identity provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderSetup {
    /// Product name, logo, links and sign-in methods, as pages show them.
    pub site: app::api::site::Site,
    /// How portal links behave.
    pub portal: app::domain::portal_sessions::PortalPolicy,
    /// The style sheet and logo file served.
    pub brand: crate::brand::BrandAssets,
    /// The OpenID Connect identity provider, when one is configured.
    pub oidc: Option<Arc<crate::sign_in::oidc::IdentityProvider>>,
}

/// How browsers reach the portal.
#[derive(Debug, Clone, Default)]
pub struct WebPolicy {
    /// The configured public origin, if any.
    pub public_origin: Option<String>,
    /// Whether browsers use https: Secure `__Host-` cookies and HSTS.
    pub https: bool,
    /// Reverse proxies whose forwarded-for headers name the client.
    pub trusted_proxies: TrustedProxies,
}

impl AppState {
    /// Puts the services into the Leptos context of a render or server function call.
    fn provide_services(&self) {
        provide_context(self.db.clone());
        provide_context(self.hasher.clone());
        provide_context(self.clock.clone());
        provide_context(self.sessions.clone());
        provide_context(self.throttle.clone());
        provide_context(self.keys.clone());
        provide_context(self.scopes.clone());
        provide_context(self.verification.verifier.cache().clone());
        provide_context(self.verification.tokens.clone());
        provide_context(self.usage_retention);
        provide_context(self.provider.site.clone());
        provide_context(self.account_security.clone());
        provide_context(self.events.webhook_targets);
        provide_context(app::domain::service_tokens::ServiceTokenPrefix(
            self.verification.token_prefix.as_ref().clone(),
        ));
    }
}

/// How events go out and leak reports come in.
#[derive(Debug, Clone, Default)]
pub struct EventsSetup {
    /// Which URLs customers' webhook endpoints may have.
    pub webhook_targets: app::domain::webhooks::TargetPolicy,
    /// What a leak report does to a key.
    pub leak_policy: app::domain::leaks::LeakPolicy,
    /// The keys that sign GitHub's secret scanning reports.
    pub github_keys: Arc<app::domain::leaks::github::GithubKeys>,
}

/// The name of the session cookie: `__Host-` prefixed over https, which browsers only accept when the
/// cookie is Secure, host-only and for the whole site.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https { "__Host-latchkey_session" } else { "latchkey_session" }
}

/// Builds the whole router; tests call it without a socket.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let store = DatabaseSessionStore::new(state.db.clone(), state.clock.clone());
    let idle = time::Duration::seconds(state.sessions.idle_timeout.num_seconds());
    let sessions = SessionManagerLayer::new(store)
        .with_name(session_cookie_name(state.web.https))
        .with_secure(state.web.https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));
    let origin_policy = Arc::new(OriginPolicy { public_origin: state.web.public_origin.clone() });
    let header_policy = HeaderPolicy { hsts: state.web.https };

    let render_context = {
        let state = state.clone();
        move || state.provide_services()
    };
    let shell_options = state.leptos_options.clone();
    let not_found = leptos_axum::render_app_to_stream_with_context(render_context.clone(), {
        let options = shell_options.clone();
        move || shell(options.clone())
    });

    let portal = Router::new()
        .route("/api/{*function}", get(server_function).post(server_function))
        .route("/usage/export.csv", get(crate::export::export_csv))
        .route("/portal/{secret}", get(crate::sign_in::portal_link::show).post(crate::sign_in::portal_link::open))
        .route("/auth/oidc/start", get(crate::sign_in::oidc::start))
        .route("/auth/oidc/callback", get(crate::sign_in::oidc::callback))
        .leptos_routes_with_context(&state, routes, render_context, move || shell(shell_options.clone()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(server_function_status))
        .layer(axum::middleware::from_fn(page_redirects))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(origin_policy, refuse_cross_site))
        .with_state(state.clone());
    // Probes and the /v1 API get routers with small states of their own: axum clones a router's state for
    // every request, and the portal's state (rendering options, catalogue, policies) is not small.
    let probes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/pkg/{*path}", get(assets::bundle_file))
        .route("/favicon.svg", get(assets::favicon))
        .with_state(state.db.clone());
    let brand = Router::new()
        .route("/brand.css", get(crate::brand::style_sheet))
        .route("/brand/logo", get(crate::brand::logo))
        .with_state(state.provider.brand.clone());

    let routes = Router::new()
        .merge(probes)
        .merge(brand)
        .merge(v1::router(ApiState::from(&state)))
        .merge(portal)
        .layer(axum::middleware::from_fn_with_state(header_policy, add_security_headers))
        .layer(axum::middleware::from_fn_with_state(state.web.trusted_proxies.clone(), record_client_ip))
        .layer(DefaultBodyLimit::max(LEAK_REPORT_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(limit_bodies))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT));
    with_error_shapes(routes)
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), count_answers))
        .layer(
            // Method and path only: query strings, headers and bodies may carry secrets; so may the path of
            // an invitation link, which is cut.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    let path = loggable_path(request.uri().path());
                    let id = request.headers().get(REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), path = %path, request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, NextRequestId::new()))
}

/// The header that carries a request's id, in and out.
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// `path` as it may be logged: the secret in an invitation link (`/invitations/{secret}`) or a portal link
/// (`/portal/{secret}`) is cut.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for (prefix, cut) in [("/invitations/", "/invitations/<redacted>"), ("/portal/", "/portal/<redacted>")] {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
            && rest != "unusable"
        {
            return std::borrow::Cow::Borrowed(cut);
        }
    }
    std::borrow::Cow::Borrowed(path)
}

/// The last line of defence and the error shapes: a panic in a handler becomes a logged 500, and every
/// error of a `/v1` path gets the API's shape.
pub fn with_error_shapes(routes: Router) -> Router {
    routes.layer(CatchPanicLayer::custom(answer_panic)).layer(axum::middleware::from_fn(v1::error::envelope_for_v1))
}

async fn server_function(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || state.provide_services(), request).await
}

/// Limits every request body to [`BODY_LIMIT_BYTES`], and a leak report's to [`LEAK_REPORT_LIMIT_BYTES`]:
/// a body declared larger is answered 413 at once, and one that turns out larger fails when it is read
/// (answered 413 too).
async fn limit_bodies(request: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    let limit = if request.uri().path() == "/v1/leaks" { LEAK_REPORT_LIMIT_BYTES } else { BODY_LIMIT_BYTES };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = request.into_parts();
    next.run(Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, limit)))).await
}

/// A page that redirects while it renders (a signed-out visitor on a page that needs a session, `/` to the
/// person's organisation) answers `303 See Other` to its address, whatever the request accepts: leptos
/// answers 302 to requests that accept HTML and, to any other client (a script, a crawler, a monitor),
/// 200 (or the status a failed read set) with an empty page that only a browser running the bundle leaves.
async fn page_redirects(request: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    let is_page = request.method() == axum::http::Method::GET && !request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    // A page's resources may have set a status of their own first (401 from a server function read before the
    // guard redirected): the redirect is what the visitor needs.
    let redirected = response.status() != StatusCode::SEE_OTHER;
    let Some(location) =
        response.headers().get(axum::http::header::LOCATION).filter(|_| is_page && redirected).cloned()
    else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::SEE_OTHER;
    parts.headers.remove("serverfnredirect");
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(axum::http::header::LOCATION, location);
    axum::response::Response::from_parts(parts, Body::empty())
}

/// Gives a server function's error the status it calls for when nothing set one: arguments that do not
/// parse are refused before the function runs, and would otherwise go out as 500.
async fn server_function_status(request: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    let is_server_function = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_function || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; try again.").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::api::ApiError>(&bytes) {
        parts.status = app::api::server_context::status_of(&error);
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}

/// The answer to a request whose handler panicked: logged with the panic's message, answered 500 as plain
/// text, which [`v1::error::envelope_for_v1`] turns into the `/v1` shapes.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = message, "a request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; try again.").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn invitation_secrets_never_reach_the_request_log() {
        assert_eq!(super::loggable_path("/invitations/0123456789abcdefABCDEF"), "/invitations/<redacted>");
        assert_eq!(super::loggable_path("/o/abc/keys"), "/o/abc/keys");
        assert_eq!(super::loggable_path("/invitations/"), "/invitations/");
        assert_eq!(super::loggable_path("/portal/0123456789abcdefABCDEF"), "/portal/<redacted>");
        assert_eq!(super::loggable_path("/portal/unusable"), "/portal/unusable");
    }

    use super::*;
    use tower::ServiceExt;

    async fn answer(router: &Router, path: &str) -> (StatusCode, String) {
        let request = Request::builder().uri(path).body(Body::empty()).expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_in_its_routes_error_shape() {
        async fn boom() -> &'static str {
            panic!("an unforeseen input")
        }
        let router = with_error_shapes(
            Router::new().route("/v1/keys/boom", get(boom)).route("/v1/tokens", get(boom)).route("/page", get(boom)),
        );
        let (status, body) = answer(&router, "/v1/keys/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body).expect("the /v1 envelope");
        assert_eq!(json["error"]["code"], "internal");
        let (status, body) = answer(&router, "/v1/tokens").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body).expect("OAuth's shape");
        assert_eq!(json["error"], "server_error");
        let (status, body) = answer(&router, "/page").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.contains("unforeseen"), "the panic's message is logged, not shown: {body}");
        // The router still serves after three panics.
        assert_eq!(answer(&router, "/v1/keys/boom").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
