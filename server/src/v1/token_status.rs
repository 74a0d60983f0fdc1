//! Whether access tokens still work: introspection (RFC 7662) for services, revocation of one token by the
//! key that bought it (RFC 7009), and the revocation list for services that verify tokens locally and never
//! call per request. Introspection and revocation speak OAuth (form-encoded bodies, OAuth errors); the list
//! is an ordinary `/v1` resource.

use super::ApiState;
use super::error::ApiError;
use super::extract::Caller;
use super::tokens::{OAuthError, OAuthRefusal, bearer, keyed};
use app::api::server_context::ClientIp;
use app::domain::activity::{Client, Origin};
use app::domain::jwt::introspection::MAX_PAGE;
use app::domain::jwt::{Claims, Revocation, TokenChecks, introspect, revoke, revoked_page};
use app::domain::service_tokens::Permission;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::{IntoParams, ToSchema};

/// The parameters of an introspection or revocation request, form-encoded as the RFCs say (JSON works
/// too). Other parameters are ignored. The token is a bearer credential: `Debug` leaves it out.
#[derive(Deserialize, ToSchema)]
pub struct TokenParameter {
    /// The access token (the JWT from `POST /v1/tokens`).
    #[schema(example = "eyJhbGciOiJFZERTQSIs…", min_length = 1)]
    pub token: String,
    /// `access_token` (the only kind there is); accepted and ignored, as RFC 7009 and RFC 7662 allow. When
    /// given it is text: `null` or another type is refused.
    #[schema(example = "access_token", nullable = false)]
    #[serde(default, deserialize_with = "text_when_given")]
    pub token_type_hint: Option<String>,
}

/// A parameter that may be left out but, when given, is text (not `null`, a number or a list).
fn text_when_given<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

impl std::fmt::Debug for TokenParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParameter")
            .field("token", &"<redacted>")
            .field("token_type_hint", &self.token_type_hint)
            .finish()
    }
}

/// What a token is, if it is active (RFC 7662 §2.2). An inactive token is exactly `{"active": false}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Introspection {
    /// Whether the token works now.
    pub active: bool,
    /// Its scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "orders:read")]
    pub scope: Option<String>,
    /// The organisation that owns the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Who the token is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The deployment's public URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The token's unique id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The key it was bought with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Always `access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "access_token")]
    pub token_type: Option<&'static str>,
}

impl Introspection {
    fn inactive() -> Self {
        Self {
            active: false,
            scope: None,
            sub: None,
            aud: None,
            iss: None,
            exp: None,
            iat: None,
            jti: None,
            key_id: None,
            token_type: None,
        }
    }

    fn active(claims: Claims) -> Self {
        Self {
            active: true,
            scope: Some(claims.scope),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            jti: Some(claims.jti),
            key_id: Some(claims.key_id),
            token_type: Some("access_token"),
        }
    }
}

/// Reads the body as JSON when it says it is JSON, and as a form otherwise.
fn token_parameter(headers: &HeaderMap, body: &[u8]) -> Result<TokenParameter, OAuthRefusal> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("application/json"));
    let parsed = if is_json {
        if super::extract::is_json_object(body) {
            serde_json::from_slice::<TokenParameter>(body).map_err(|err| err.to_string())
        } else {
            Err("the JSON body is not an object".to_owned())
        }
    } else {
        serde_urlencoded::from_bytes::<TokenParameter>(body).map_err(|err| err.to_string())
    };
    let parameter = parsed.map_err(|why| {
        OAuthRefusal::invalid_request(format!(
            "Send token=<the access token>, form-encoded (or as JSON with Content-Type: application/json): {why}."
        ))
    })?;
    if parameter.token.is_empty() {
        return Err(OAuthRefusal::invalid_request("token is empty; send the access token."));
    }
    Ok(parameter)
}

/// This instance's token checks.
fn checks(state: &ApiState) -> TokenChecks<'_> {
    let verification = &state.verification;
    TokenChecks {
        verifier: &verification.verifier,
        signing: &verification.signing_keys,
        policy: &state.tokens,
        issued: &verification.issued_tokens,
    }
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Introspect an access token (RFC 7662).
///
/// Answers what a live token says, or exactly `{"active": false}` for a token that is revoked (by itself,
/// with its key, or with its organisation), expired, unknown, not signed by this deployment or not a token
/// at all. Answered from memory on every instance; a revocation anywhere is seen within two seconds.
#[utoipa::path(
    post,
    path = "/v1/tokens/introspect",
    tag = "tokens",
    request_body(content(
        (TokenParameter = "application/x-www-form-urlencoded"),
        (TokenParameter = "application/json"),
    )),
    responses(
        (status = 200, description = "The token's state", body = Introspection),
        (status = 400, description = "`invalid_request`: no `token`", body = OAuthError),
        (status = 401, description = "`invalid_token`: no service token, or one that is unknown or revoked", body = OAuthError),
        (status = 403, description = "`insufficient_scope`: the service token lacks the `verify` permission", body = OAuthError),
        (status = 413, description = "Body over 64 KiB", body = OAuthError),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = OAuthError),
    ),
    security(("service_token" = []))
)]
pub async fn introspect_token(
    State(state): State<ApiState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthRefusal> {
    let caller = caller.map_err(|refused| {
        let error = match refused.status() {
            StatusCode::UNAUTHORIZED => "invalid_token",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            _ => "server_error",
        };
        OAuthRefusal::new(refused.status(), error, refused.message())
            .retry_after(refused.retry_after().and_then(|seconds| i64::try_from(seconds).ok()))
    })?;
    if !caller.token.may(Permission::Verify) {
        return Err(OAuthRefusal::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "This service token lacks the 'verify' permission.",
        ));
    }
    let parameter = token_parameter(&headers, &body)?;
    let claims = introspect(&state.db, checks(&state), &parameter.token, state.clock.now())
        .await
        .map_err(|err| OAuthRefusal::server_error("introspection failed", &err))?;
    let answer = claims.map_or_else(Introspection::inactive, Introspection::active);
    Ok(no_store(Json(answer).into_response()))
}

/// Revoke an access token (RFC 7009).
///
/// Authenticated by the API key that bought the token (`Authorization: Bearer <key>`). Revokes that one
/// token: the key's other tokens keep working. Answers 200 also for a token that is unknown, expired or
/// already revoked, as RFC 7009 requires; a token bought with another key is refused.
#[utoipa::path(
    post,
    path = "/v1/tokens/revoke",
    tag = "tokens",
    request_body(content(
        (TokenParameter = "application/x-www-form-urlencoded"),
        (TokenParameter = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke; the body is empty"),
        (status = 400, description = "`invalid_request` (no `token`) or `unauthorized_client` (the token was bought with another key)", body = OAuthError),
        (status = 401, description = "`invalid_token`: no API key, or one that is unknown, revoked, expired or disabled", body = OAuthError),
        (status = 413, description = "Body over 64 KiB", body = OAuthError),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = OAuthError),
    ),
    security(("api_key" = []))
)]
pub async fn revoke_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, OAuthRefusal> {
    let ip = client.and_then(|Extension(ClientIp(ip))| ip);
    keyed(&state, ip, &headers, revoke_one(&state, &headers, ip, &body)).await
}

async fn revoke_one(
    state: &ApiState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    body: &[u8],
) -> Result<Response, OAuthRefusal> {
    let key = bearer(headers)?;
    let parameter = token_parameter(headers, body)?;
    let user_agent = headers.get(USER_AGENT).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let origin = Origin { actor: "the key itself (RFC 7009)".to_owned(), client: Client { ip, user_agent } };
    let outcome =
        revoke(&state.db, state.clock.as_ref(), &state.keys.prefix, checks(state), (key, &origin), &parameter.token)
            .await
            .map_err(|err| OAuthRefusal::server_error("token revocation failed", &err))?;
    match outcome {
        Revocation::KeyRefused => Err(OAuthRefusal::invalid_token(
            "This API key does not work (unknown, revoked, expired or disabled): send the key that bought the \
                 token. A revoked or expired key's tokens have already ended.",
        )),
        Revocation::OtherKeys => Err(OAuthRefusal::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "This token was bought with another key; only that key can revoke it.",
        )),
        Revocation::Done(_) => Ok(no_store(StatusCode::OK.into_response())),
    }
}

/// Where a page of the revocation list starts, and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevokedQuery {
    /// The `next_after` of the previous page: the list continues after this `jti`.
    #[param(pattern = "^[0-9a-f]{32}$", example = "019ad3c3c7a47b21a0f6e5d4c3b2a190")]
    pub after: Option<String>,
    /// Most entries on the page, 1 to 1000 (the default).
    #[param(minimum = 1, maximum = 1000, example = 1000)]
    pub limit: Option<u32>,
}

/// A revoked token that has not yet expired.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedToken {
    /// Its `jti`: refuse a token carrying it.
    #[schema(example = "019ad3c3c7a47b21a0f6e5d4c3b2a190")]
    pub jti: String,
    /// Its `exp` (Unix seconds): after this the entry can be dropped, since the token has expired anyway.
    #[schema(example = 1_795_000_000)]
    pub exp: i64,
}

/// One page of the revocation list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedTokens {
    /// Revoked, unexpired tokens, by `jti`.
    pub revoked: Vec<RevokedToken>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak and strong validators compare alike.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
    })
}

/// The revocation list: tokens revoked and not yet expired.
///
/// For services that verify tokens with the JWKS alone: poll this every few seconds and refuse tokens
/// whose `jti` is listed. Send the `ETag` of the last answer as `If-None-Match`: while nothing changed the
/// answer is `304` with no body, from memory. Entries leave the list when their token expires.
#[utoipa::path(
    get,
    path = "/v1/tokens/revoked",
    tag = "tokens",
    params(RevokedQuery, ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a previous answer")),
    responses(
        (status = 200, description = "A page of the list, with its `ETag`", body = RevokedTokens,
            headers(("ETag" = String, description = "Changes exactly when this page does"))),
        (status = 304, description = "Unchanged since the `ETag` sent",
            headers(("ETag" = String, description = "The same validator"))),
        (status = 400, description = "`after` or `limit` is not valid", body = super::error::ErrorBody),
        (status = 401, description = "Missing, wrong or revoked service token, or no `verify` permission", body = super::error::ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = super::error::ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn revoked_tokens(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<RevokedQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::Verify)?;
    let Query(query) = query.map_err(|err| ApiError::invalid(None, err.body_text()))?;
    let after = query.after.as_deref();
    if let Some(after) = after
        && (after.len() != 32 || !after.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    {
        return Err(ApiError::invalid(Some("after"), "after must be a jti: 32 lowercase hexadecimal digits."));
    }
    let limit = match query.limit {
        None => MAX_PAGE,
        Some(limit) if (1..=MAX_PAGE as u32).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(ApiError::invalid(Some("limit"), format!("limit must be 1 to {MAX_PAGE} (it was {limit}).")));
        }
    };
    let page = revoked_page(&state.db, &state.verification.issued_tokens, state.clock.now(), after, limit).await?;
    let etag = HeaderValue::from_str(&page.etag).map_err(|err| ApiError::internal("an ETag", &err))?;
    let mut response = if matches_etag(&headers, &page.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = RevokedTokens {
            revoked: page
                .revoked
                .into_iter()
                .map(|entry| RevokedToken { jti: entry.jti, exp: entry.expires_at.timestamp() })
                .collect(),
            next_after: page.next,
        };
        Json(body).into_response()
    };
    response.headers_mut().insert(ETAG, etag);
    // Shared caches may keep it, but must ask again every time: the list changes without notice.
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_validators_and_a_star() {
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(IF_NONE_MATCH, HeaderValue::from_static(value));
            headers
        };
        assert!(matches_etag(&headers("\"a\""), "\"a\""));
        assert!(matches_etag(&headers("\"b\", W/\"a\""), "\"a\""));
        assert!(matches_etag(&headers("*"), "\"a\""));
        assert!(!matches_etag(&headers("\"b\""), "\"a\""));
        assert!(!matches_etag(&HeaderMap::new(), "\"a\""));
    }

    #[test]
    fn the_token_never_reaches_debug_output() {
        let parameter = token_parameter(&HeaderMap::new(), b"token=eyJsecret.part.here").expect("form");
        assert!(!format!("{parameter:?}").contains("eyJsecret"), "{parameter:?}");
    }

    #[test]
    fn a_token_is_read_from_a_form_or_from_json_and_never_empty() {
        let mut headers = HeaderMap::new();
        let form = token_parameter(&headers, b"token=abc&token_type_hint=access_token&other=1").expect("form");
        assert_eq!(form.token, "abc");
        assert!(token_parameter(&headers, b"token=").is_err());
        assert!(token_parameter(&headers, b"token=a&token=b").is_err(), "RFC 6749: a parameter at most once");
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        assert_eq!(token_parameter(&headers, br#"{"token":"abc"}"#).expect("json").token, "abc");
        assert!(token_parameter(&headers, br#"{"token":1}"#).is_err());
        assert!(token_parameter(&headers, br#"["abc"]"#).is_err(), "an object, not the fields in a list");
        assert!(token_parameter(&headers, br#"{"token":"abc","token_type_hint":null}"#).is_err(), "a hint is text");
        assert!(token_parameter(&headers, br#"{"token":"abc","token_type_hint":7}"#).is_err());
        let hinted = token_parameter(&headers, br#"{"token":"abc","token_type_hint":"access_token"}"#).expect("json");
        assert_eq!(hinted.token_type_hint.as_deref(), Some("access_token"));
    }
}
