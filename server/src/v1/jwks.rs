//! `GET /.well-known/jwks.json`: the public keys that verify the access tokens of `POST /v1/tokens`.

use super::ApiState;
use axum::extract::State;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// How long verifiers may reuse a fetched JWKS. Rotation never needs them to refetch: the key that signs
/// after a rotation was published (as the next key) since the previous one. A verifier that meets an
/// unknown `kid` should refetch at once all the same.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

/// The JSON Web Key Set (RFC 7517) of the keys that sign access tokens.
///
/// The current key, the next key (published ahead of the next rotation) and retired keys until every token
/// they signed has expired. Cacheable for 5 minutes; send `If-None-Match` with the `ETag` to revalidate.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "tokens",
    responses(
        (status = 200, description = "The key set: `{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\", \"kid\", \"use\": \"sig\", \"alg\": \"EdDSA\"}]}`", body = Object),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`"),
    )
)]
pub async fn jwks(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let now = state.clock.now();
    let signing = &state.verification.signing_keys;
    if signing.is_empty()
        && let Err(err) = signing.ensure(&state.db, now).await
    {
        tracing::error!(error = %err, "could not prepare the signing keys");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let (body, version) = match signing.jwks_document(now) {
        Ok(document) => document,
        Err(err) => {
            tracing::error!(error = %err, "could not write the JWKS");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let etag = format!("\"{version}\"");
    let unchanged = headers.get(IF_NONE_MATCH).and_then(|value| value.to_str().ok()).is_some_and(|tags| {
        tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*")
    });
    let mut response = if unchanged { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    response
}
