//! The Content Security Policy of every page, keyed to the nonce Leptos puts on its own scripts.

/// Sets the page's CSP header for this response. Only scripts carrying this response's nonce run, so
/// injected markup cannot execute; `wasm-unsafe-eval` lets the hydration bundle compile.
#[cfg(feature = "ssr")]
pub fn set_content_security_policy() {
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    // A logo on the provider's own server is the one image from elsewhere.
    let logo_origin = use_context::<crate::api::site::Site>()
        .and_then(|site| site.logo_url)
        .and_then(|url| url::Url::parse(&url).ok())
        .filter(|url| matches!(url.scheme(), "https" | "http"))
        .map(|url| format!(" {}", url.origin().ascii_serialization()))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:{logo_origin}; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// In the browser the policy is already in force.
#[cfg(not(feature = "ssr"))]
pub fn set_content_security_policy() {}
