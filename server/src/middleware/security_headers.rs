//! Security headers on every response.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Whether to add HSTS (only when browsers reach the portal over https).
#[derive(Debug, Clone, Copy)]
pub struct HeaderPolicy {
    /// Add `Strict-Transport-Security`.
    pub hsts: bool,
}

/// Adds the headers. Pages set their own nonce-based CSP while rendering; anything else gets a policy
/// that allows nothing. Responses that do not say otherwise are not stored by browsers or proxies,
/// since almost everything the portal answers is private to one account.
///
/// The browser bundle's files (`/pkg/…`) get only `nosniff` (and HSTS): the other headers govern documents,
/// not scripts and wasm, and a page loads dozens of bundle files, each paying for its headers on the wire.
pub async fn add_security_headers(State(policy): State<HeaderPolicy>, request: Request, next: Next) -> Response {
    let is_bundle_file = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if is_bundle_file {
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        add_hsts(headers, policy);
        return response;
    }
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()"),
    ];
    for (name, value) in defaults {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    add_hsts(headers, policy);
    response
}

fn add_hsts(headers: &mut HeaderMap, policy: HeaderPolicy) {
    if policy.hsts {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
}
