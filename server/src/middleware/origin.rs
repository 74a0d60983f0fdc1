//! Cross-site request forgery defence: a state-changing request must come from the portal's own pages.

use crate::config::is_loopback_host;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What counts as the portal's own origin.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// The configured public origin; without one, the request's own loopback Host is the origin.
    pub public_origin: Option<String>,
}

/// Refuses with 403 any non-safe request whose `Origin` (or, lacking it, `Sec-Fetch-Site`) shows another
/// site. Requests with neither header come from non-browser clients, which carry no ambient cookies
/// a forger could ride on, and pass.
pub async fn refuse_cross_site(State(policy): State<Arc<OriginPolicy>>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || is_same_site(&policy, request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
    (StatusCode::FORBIDDEN, "Cross-site request refused: submit the form from the Latchkey portal itself.")
        .into_response()
}

fn is_same_site(policy: &OriginPolicy, headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else { return false };
        return match &policy.public_origin {
            Some(expected) => origin.eq_ignore_ascii_case(expected),
            None => own_loopback_origin(headers).is_some_and(|own| origin.eq_ignore_ascii_case(&own)),
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// `http://<Host>` when the Host header names this machine. Other names are refused so that a DNS
/// rebinding page cannot pass its own origin off as ours.
fn own_loopback_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    is_loopback_host(name).then(|| format!("http://{host}"))
}
