//! `/portal/{secret}`: the link `POST /v1/portal/sessions` answered.
//!
//! Opening the link (`GET`) spends nothing: it answers a small page whose form posts the link back, and
//! which posts it at once in a browser that runs scripts. A mail scanner, a chat preview or a link
//! prefetcher that fetches the link leaves it usable for the person. The post (`POST`) signs the person in
//! and lands them on their organisation's keys; a link that cannot be used lands on a page that says why
//! and leads back to the provider's app. The secret never reaches a log: the router logs this path cut.

use crate::router::AppState;
use app::api::server_context::client_from;
use app::domain::portal_sessions::{self, OpenError, Unusable};
use app::domain::sessions;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::LazyLock;
use tower_sessions::Session;

/// The one script of the page: posts its form as soon as it is read.
const SUBMIT_SCRIPT: &str = "document.getElementById('open').submit();";

/// The page's policy: its own style sheets and exactly [`SUBMIT_SCRIPT`], the form posting only here.
static PAGE_POLICY: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SUBMIT_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

/// `GET` (and `HEAD`): the page that posts the link, or for a link that cannot work the page that says why;
/// nothing is spent.
pub async fn show(
    State(state): State<AppState>,
    secret: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let secret = secret.map(|Path(secret)| secret).unwrap_or_default();
    if let Err(err) = portal_sessions::check(&state.db, state.clock.as_ref(), &secret).await {
        return unusable(err);
    }
    // The secret is 43 base62 characters (checked above): nothing in it needs escaping.
    let page = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Opening your API keys</title><link rel="stylesheet" href="/pkg/latchkey.css"><link rel="stylesheet" href="/brand.css"></head>
<body><main class="page" id="main"><section class="auth-card" aria-labelledby="open-title">
<h1 id="open-title">Opening your API keys…</h1>
<form id="open" method="post" action="/portal/{secret}" class="form">
<p class="lede">If nothing happens, continue here.</p>
<button type="submit" class="button button-primary button-block">Continue to your API keys</button>
</form></section></main><script>{SUBMIT_SCRIPT}</script></body></html>"#
    );
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&PAGE_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST`: spends the link, signs the person in and lands them on their organisation's keys.
pub async fn open(
    State(state): State<AppState>,
    session: Session,
    secret: Result<Path<String>, axum::extract::rejection::PathRejection>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Response {
    // A path that is not even text is no link of ours.
    let secret = secret.map(|Path(secret)| secret).unwrap_or_default();
    let client = client_from(&extensions, &headers);
    let cache = state.verification.verifier.cache().clone();
    let opened = portal_sessions::open(&state.db, state.clock.as_ref(), &cache, &client, &secret).await;
    match opened {
        Ok(opened) => {
            if let Err(err) =
                sessions::begin_from_app(&session, &opened.account.id, state.clock.now(), &client, &opened.return_url)
                    .await
            {
                tracing::error!(error = %err, "session start failed");
                return unusable_because("error");
            }
            tracing::info!(account_id = %opened.account.id, organisation_id = %opened.organisation_id, "signed in from the provider's app");
            Redirect::to(&format!("/o/{}/keys", opened.organisation_id)).into_response()
        }
        Err(err) => unusable(err),
    }
}

/// The page that says why a link did not work (a 303: a browser follows a post's redirect with a GET).
fn unusable_because(reason: &str) -> Response {
    Redirect::to(&format!("/portal/unusable?reason={reason}")).into_response()
}

fn unusable(err: OpenError) -> Response {
    match err {
        OpenError::Unusable(reason) => {
            tracing::info!(?reason, "portal link refused");
            unusable_because(match reason {
                Unusable::Used => "used",
                Unusable::Expired => "expired",
                Unusable::Unknown => "unknown",
            })
        }
        OpenError::EmailTaken => {
            tracing::warn!("portal link refused: the address now belongs to another account");
            unusable_because("email_taken")
        }
        OpenError::Database(err) => {
            tracing::error!(error = %err, "portal link failed");
            unusable_because("error")
        }
    }
}
