//! The browser bundle (wasm, JS, CSS) built by cargo-leptos. Release builds embed it in the binary, so
//! `latchkey` serves the portal from any working directory; debug builds read it from `target/site`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site/pkg"]
#[allow_missing = true]
struct Bundle;

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4338ca"/><circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M17 16h9m-3 0v4m-3-4v3" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/></svg>"##;

/// `GET /pkg/{file}`: a bundle file, precompressed when the browser accepts it, revalidated by ETag
/// (the file names carry no hash, so browsers must check before reusing a copy).
pub async fn bundle_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(original) = Bundle::get(&path) else {
        return (StatusCode::NOT_FOUND, "No such file.").into_response();
    };
    let etag = format!("\"{}\"", hex_prefix(&original.metadata.sha256_hash()));
    if headers.get(header::IF_NONE_MATCH).is_some_and(|tag| tag.as_bytes() == etag.as_bytes()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let accepts = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (file, encoding) = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(name, _)| accepts.split(',').any(|offer| offer.trim().starts_with(name)))
        .find_map(|(name, suffix)| Bundle::get(&format!("{path}{suffix}")).map(|file| (file, Some(name))))
        .unwrap_or((original.clone(), None));

    let mut response = Response::new(Body::from(file.data.into_owned()));
    let out = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(original.metadata.mimetype()) {
        out.insert(header::CONTENT_TYPE, mime);
    }
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    response
}

/// `GET /favicon.svg`.
pub async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], FAVICON)
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
