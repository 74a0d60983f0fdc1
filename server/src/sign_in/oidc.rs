//! "Sign in with …": OpenID Connect's Authorization Code flow with PKCE, `state` and `nonce`, through the
//! `openidconnect` crate. Discovery and the JWKS are fetched from the issuer on first use and kept; an ID
//! token signed with a key the kept set lacks (the provider rotated its keys) makes it fetch the set again,
//! once. The crate checks the signature, `iss`, `aud`, `exp` (by our clock) and `nonce`; the account
//! rules live in `app::domain::identities::oidc`.

use crate::router::AppState;
use app::api::auth::safe_next_path;
use app::api::server_context::client_from;
use app::domain::clock::SharedClock;
use app::domain::identities::oidc::{OidcSignInError, VouchedPerson, sign_in};
use app::domain::sessions;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    JsonWebKeySet, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, reqwest,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use tokio::sync::RwLock;
use tower_sessions::Session;

/// How long a started sign-in may take at the identity provider.
const FLOW_LIFETIME_SECS: i64 = 600;
/// The session key of a sign-in in progress.
const PENDING_KEY: &str = "oidc_pending";
/// How long an HTTP call to the identity provider may take.
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The operator's identity provider settings.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL, exactly as the provider's discovery document states it.
    pub issuer: String,
    /// Latchkey's client id there.
    pub client_id: String,
    /// Its client secret, for a confidential client.
    pub client_secret: Option<String>,
    /// Scopes asked for; `openid` first.
    pub scopes: Vec<String>,
    /// The provider's name on the button.
    pub name: String,
    /// The claim holding the external id of the person's organisation.
    pub organisation_claim: Option<String>,
    /// The claim holding their role there.
    pub role_claim: Option<String>,
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("organisation_claim", &self.organisation_claim)
            .field("role_claim", &self.role_claim)
            .finish()
    }
}

/// Every claim of the ID token beyond the standard ones, for the operator's claim mapping.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

impl ExtraClaims {
    /// A claim as text: a string, or a number or boolean written out.
    fn text(&self, name: &str) -> Option<String> {
        match self.claims.get(name)? {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            serde_json::Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }
}

type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        ExtraClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type OidcClient = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The identity provider as this instance knows it: settings, and discovery once fetched.
pub struct IdentityProvider {
    settings: OidcSettings,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    discovered: RwLock<Option<CoreProviderMetadata>>,
}

impl fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityProvider").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The identity provider could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

impl IdentityProvider {
    /// The provider for `settings`, answering to `{public_base}/auth/oidc/callback`. Nothing is fetched yet:
    /// the portal starts even while the provider is down.
    pub fn new(settings: OidcSettings, public_base: &str) -> Result<Self, SetupError> {
        let redirect_url = RedirectUrl::new(format!("{}/auth/oidc/callback", public_base.trim_end_matches('/')))
            .map_err(|err| SetupError(format!("bad callback URL: {err}")))?;
        // Following redirects would let a provider's answer steer requests elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|err| SetupError(format!("cannot make an HTTP client: {err}")))?;
        Ok(Self { settings, redirect_url, http, discovered: RwLock::new(None) })
    }

    /// The name on the button.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, String> {
        if !refresh && let Some(metadata) = self.discovered.read().await.clone() {
            return Ok(metadata);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|err| err.to_string())?;
        let metadata =
            CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|err| error_chain(&err))?;
        *self.discovered.write().await = Some(metadata.clone());
        Ok(metadata)
    }

    /// Fetches the key set again, for a token signed with a key the kept one lacks.
    async fn refresh_keys(&self) -> Result<CoreProviderMetadata, String> {
        let current = self.metadata(false).await?;
        let keys = JsonWebKeySet::fetch_async(current.jwks_uri(), &self.http).await.map_err(|err| error_chain(&err))?;
        let refreshed = current.set_jwks(keys);
        *self.discovered.write().await = Some(refreshed.clone());
        Ok(refreshed)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> OidcClient {
        OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A sign-in under way, kept in the session between the two redirects.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    started_at: i64,
}

/// `?next=` of the start.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

fn back_to_sign_in(error: &str) -> Response {
    Redirect::to(&format!("/sign-in?error={error}")).into_response()
}

/// `GET /auth/oidc/start`: sends the browser to the identity provider.
pub async fn start(State(state): State<AppState>, session: Session, Query(query): Query<StartQuery>) -> Response {
    let Some(provider) = state.provider.oidc.clone() else {
        return back_to_sign_in("not_configured");
    };
    let metadata = match provider.metadata(false).await {
        Ok(metadata) => metadata,
        Err(err) => {
            tracing::warn!(error = %err, "identity provider discovery failed");
            return back_to_sign_in("unavailable");
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = provider.client(metadata);
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.settings.scopes.iter().filter(|scope| *scope != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.url();
    let pending = Pending {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: safe_next_path(query.next.as_deref()),
        started_at: state.clock.now().timestamp(),
    };
    if let Err(err) = session.insert(PENDING_KEY, pending).await {
        tracing::error!(error = %err, "session write failed");
        return back_to_sign_in("failed");
    }
    Redirect::to(url.as_str()).into_response()
}

/// What the identity provider sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: checks `state`, exchanges the code (with the PKCE verifier), verifies the ID
/// token, and signs the person in.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    extensions: Extensions,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(provider) = state.provider.oidc.clone() else {
        return back_to_sign_in("not_configured");
    };
    // One use: whatever happens next, this sign-in's state, nonce and verifier are spent.
    let pending = match session.remove::<Pending>(PENDING_KEY).await {
        Ok(pending) => pending,
        Err(err) => {
            tracing::error!(error = %err, "session read failed");
            return back_to_sign_in("failed");
        }
    };
    let now = state.clock.now();
    let Some(pending) = pending.filter(|p| now.timestamp() - p.started_at <= FLOW_LIFETIME_SECS) else {
        tracing::info!("identity provider sign-in refused: no sign-in under way in this session");
        return back_to_sign_in("failed");
    };
    if query.state.as_deref() != Some(pending.state.as_str()) {
        tracing::warn!("identity provider sign-in refused: state does not match");
        return back_to_sign_in("failed");
    }
    if let Some(error) = query.error {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "identity provider refused the sign-in");
        return back_to_sign_in("denied");
    }
    let Some(code) = query.code else {
        return back_to_sign_in("failed");
    };
    let vouched = match verified_person(&provider, &state.clock, &pending, code).await {
        Ok(vouched) => vouched,
        Err(problem) => {
            tracing::warn!(problem = %problem.reason, "identity provider sign-in refused");
            return back_to_sign_in(problem.code);
        }
    };
    let client = client_from(&extensions, &headers);
    // Started from an invitation link: a new person joins its organisation rather than getting one of their own.
    let invitation = app::domain::organisations::invitations::secret_in_path(&pending.next);
    let signed_in = match sign_in(&state.db, state.clock.as_ref(), &client, &vouched, invitation).await {
        Ok(signed_in) => signed_in,
        Err(OidcSignInError::NoEmail) => return back_to_sign_in("no_email"),
        Err(OidcSignInError::EmailTaken) => {
            tracing::info!("identity provider sign-in refused: address held by an account it does not verify");
            return back_to_sign_in("email_taken");
        }
        Err(OidcSignInError::Database(err)) => {
            tracing::error!(error = %err, "identity provider sign-in failed");
            return back_to_sign_in("failed");
        }
    };
    let account = &signed_in.account;
    if let Err(err) = sessions::begin(&session, &account.id, now, &client).await {
        tracing::error!(error = %err, "session start failed");
        return back_to_sign_in("failed");
    }
    tracing::info!(account_id = %account.id, "signed in through the identity provider");
    match &signed_in.joined {
        Some(organisation) => Redirect::to(&format!("/o/{}/keys", organisation.id)).into_response(),
        None => Redirect::to(&pending.next).into_response(),
    }
}

/// Why the callback did not sign anyone in: a code for the sign-in page, and the reason for the log.
struct Problem {
    code: &'static str,
    reason: String,
}

fn problem(code: &'static str, reason: impl Into<String>) -> Problem {
    Problem { code, reason: reason.into() }
}

async fn verified_person(
    provider: &IdentityProvider,
    clock: &SharedClock,
    pending: &Pending,
    code: String,
) -> Result<VouchedPerson, Problem> {
    let metadata = provider.metadata(false).await.map_err(|err| problem("unavailable", err))?;
    let client = provider.client(metadata);
    let exchange =
        client.exchange_code(AuthorizationCode::new(code)).map_err(|err| problem("failed", err.to_string()))?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&provider.http)
        .await
        .map_err(|err| problem("failed", format!("code exchange: {}", error_chain(&err))))?;
    let id_token = tokens.extra_fields().id_token().ok_or_else(|| problem("failed", "no ID token"))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let verify = |client: &OidcClient| {
        let clock = clock.clone();
        let verifier = client.id_token_verifier().set_time_fn(move || clock.now());
        id_token.claims(&verifier, &nonce).cloned()
    };
    let claims = match verify(&client) {
        Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
            tracing::info!("ID token signed with a key not in the kept set; fetching the identity provider's keys");
            let refreshed = provider.refresh_keys().await.map_err(|err| problem("unavailable", err))?;
            verify(&provider.client(refreshed))
        }
        other => other,
    }
    .map_err(|err| problem("failed", format!("ID token: {err}")))?;
    let extra = claims.additional_claims();
    let settings = &provider.settings;
    let mut person = VouchedPerson {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|email| email.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        name: claims.name().and_then(|name| name.get(None)).map(|name| name.as_str().to_owned()),
        organisation: settings.organisation_claim.as_deref().and_then(|claim| extra.text(claim)),
        role: settings.role_claim.as_deref().and_then(|claim| extra.text(claim)),
    };
    let lacking = person.email.is_none()
        || (settings.organisation_claim.is_some() && person.organisation.is_none())
        || (settings.role_claim.is_some() && person.role.is_none());
    if lacking {
        // OpenID Connect's default with the code flow (Keycloak and Okta without a mapper, oidc-provider):
        // claims asked for by scope come from the userinfo endpoint, not the ID token.
        let expected = claims.subject().clone();
        // A provider without a userinfo endpoint: the ID token is all there is, and the sign-in rules say
        // what it lacks.
        if let Ok(request) = client.user_info(tokens.access_token().clone(), Some(expected)) {
            match request.request_async(&provider.http).await {
                Ok(info) => fill_from_userinfo(&mut person, &info, settings),
                Err(err) if person.email.is_none() => {
                    return Err(problem("failed", format!("userinfo: {}", error_chain(&err))));
                }
                Err(err) => tracing::warn!(
                    error = %error_chain(&err),
                    "the identity provider's userinfo failed; signing in with the ID token's claims alone"
                ),
            }
        }
    }
    Ok(person)
}

/// Fills what the ID token left out from the userinfo answer (whose `sub` the crate has checked against the
/// ID token's): the address with its verified flag, the name, and the organisation and role claims.
fn fill_from_userinfo(
    person: &mut VouchedPerson,
    info: &openidconnect::UserInfoClaims<ExtraClaims, CoreGenderClaim>,
    settings: &OidcSettings,
) {
    if person.email.is_none() {
        person.email = info.email().map(|email| email.as_str().to_owned());
        person.email_verified = info.email_verified() == Some(true);
    }
    if person.name.is_none() {
        person.name = info.name().and_then(|name| name.get(None)).map(|name| name.as_str().to_owned());
    }
    let extra = info.additional_claims();
    if person.organisation.is_none() {
        person.organisation = settings.organisation_claim.as_deref().and_then(|claim| extra.text(claim));
    }
    if person.role.is_none() {
        person.role = settings.role_claim.as_deref().and_then(|claim| extra.text(claim));
    }
}
