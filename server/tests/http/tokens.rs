//! `POST /v1/tokens` and `/.well-known/jwks.json` through the router: a customer's API key buys a
//! short-lived JWT that a service verifies with the jsonwebtoken crate and the JWKS alone; forged, expired
//! and out-of-scope requests are refused in OAuth 2.0's error shape. On SQLite and PostgreSQL.

use crate::on_both_databases;
use crate::support::TestApp;
use app::domain::clock::Clock;
use app::domain::jwt::{Claims, RETIRED_KEY_PUBLISHED_FOR, rotate};
use app::domain::service_tokens::Permission;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde_json::{Value, json};

on_both_databases!(
    an_api_key_buys_a_token_that_verifies_with_the_published_jwks_alone,
    forged_expired_and_tampered_tokens_are_rejected_by_a_standard_verifier,
    refused_exchanges_answer_in_oauth_shape_and_count_in_usage,
    after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_carry_the_new_kid,
);

const ISSUER: &str = crate::support::ORIGIN;

/// A key for a new customer, made through the management API; answers (key id, plaintext).
async fn customer_key(app: &TestApp, body: Value) -> (String, String) {
    let token = app.service_token(&[Permission::KeysWrite]).await;
    app.customer("customer@example.com").await;
    let mut body = body;
    body["account"] = json!("customer@example.com");
    let reply = app.v1(Method::POST, "/v1/keys", Some(&token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned())
}

async fn jwks(app: &TestApp) -> JwkSet {
    let reply = app.v1(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("a JWK set")
}

/// A provider's service: the key named by `kid`, EdDSA only, this issuer and audience, the times.
fn verify_with(jwks: &JwkSet, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let kid = decode_header(token)?.kid.unwrap_or_default();
    let jwk = jwks.find(&kid).ok_or(ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    Ok(decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims)
}

async fn exchange(app: &TestApp, key: &str, body: Option<Value>) -> crate::support::Reply {
    app.v1(Method::POST, "/v1/tokens", Some(key), body).await
}

async fn an_api_key_buys_a_token_that_verifies_with_the_published_jwks_alone(app: TestApp) {
    let (id, key) = customer_key(&app, json!({"name": "checkout", "scopes": ["orders:read", "orders:write"]})).await;
    let reply = exchange(&app, &key, Some(json!({"scope": "orders:read", "ttl_seconds": 600}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"), "RFC 6749: token responses are not stored");
    let answer = reply.json();
    assert_eq!((answer["token_type"].as_str(), answer["expires_in"].as_i64()), (Some("Bearer"), Some(600)));
    assert_eq!(answer["scope"], "orders:read");
    let token = answer["access_token"].as_str().expect("token");

    let claims = verify_with(&jwks(&app).await, token).expect("verifies with the JWKS alone");
    assert_eq!(claims.key_id, id);
    assert_eq!((claims.iss.as_str(), claims.aud.as_str(), claims.scope.as_str()), (ISSUER, ISSUER, "orders:read"));
    let now = app.clock.now().timestamp();
    assert_eq!((claims.iat, claims.nbf, claims.exp), (now, now, now + 600));
    assert!(!claims.sub.is_empty() && claims.jti.len() == 32, "{claims:?}");

    let everything = exchange(&app, &key, None).await.json();
    assert_eq!(everything["scope"], "orders:read orders:write", "no body: every scope of the key");
    assert_eq!(everything["expires_in"], 900, "the default and maximum lifetime is 15 minutes");
    let capped = exchange(&app, &key, Some(json!({"ttl_seconds": 86_400, "scope": ["orders:write"]}))).await.json();
    assert_eq!((capped["expires_in"].as_i64(), capped["scope"].as_str()), (Some(900), Some("orders:write")));
    let oauth = exchange(&app, &key, Some(json!({"grant_type": "client_credentials", "audience": "billing"}))).await;
    assert_eq!(oauth.status, StatusCode::OK, "{}", oauth.body);

    let document = app.v1(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(document.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(document.header("access-control-allow-origin"), Some("*"));
    let keys: Value = document.json();
    let first = &keys["keys"][0];
    assert_eq!(
        (first["kty"].as_str(), first["crv"].as_str(), first["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert_eq!(first["use"], "sig");
    assert!(first.get("d").is_none(), "no private key material: {first}");
    let etag = document.header("etag").expect("etag").to_owned();
    let request = Request::get("/.well-known/jwks.json")
        .header(header::HOST, crate::support::HOST)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .expect("request");
    let revalidated = app.send(request).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
}

async fn forged_expired_and_tampered_tokens_are_rejected_by_a_standard_verifier(app: TestApp) {
    let (_, key) = customer_key(&app, json!({"name": "checkout", "scopes": ["orders:read"]})).await;
    let token = exchange(&app, &key, None).await.json()["access_token"].as_str().expect("token").to_owned();
    let keys = jwks(&app).await;
    assert!(verify_with(&keys, &token).is_ok());
    let kid = decode_header(&token).expect("header").kid.expect("kid");
    let payload = token.split('.').nth(1).expect("payload").to_owned();

    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let unsigned = format!("{none_header}.{payload}.");
    assert!(verify_with(&keys, &unsigned).is_err(), "alg none is refused");

    let AlgorithmParameters::OctetKeyPair(public) = &keys.find(&kid).expect("jwk").algorithm else {
        panic!("an OKP key");
    };
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&payload).expect("b64")).expect("claims");
    let hs256 = Header { kid: Some(kid.clone()), ..Header::new(Algorithm::HS256) };
    for secret in [URL_SAFE_NO_PAD.decode(&public.x).expect("x"), public.x.as_bytes().to_vec()] {
        let forged = encode(&hs256, &claims, &EncodingKey::from_secret(&secret)).expect("forged");
        let err = verify_with(&keys, &forged).expect_err("HS256 signed with the public key");
        assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm);
    }

    let widened = Claims { scope: "orders:read orders:write".into(), ..claims };
    let tampered_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&widened).expect("json"));
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = &tampered_payload;
    let err = verify_with(&keys, &parts.join(".")).expect_err("a changed payload");
    assert_eq!(err.kind(), &ErrorKind::InvalidSignature);

    app.clock.advance(-(Duration::minutes(17)));
    let stale = exchange(&app, &key, None).await.json()["access_token"].as_str().expect("token").to_owned();
    let err = verify_with(&keys, &stale).expect_err("expired");
    assert_eq!(err.kind(), &ErrorKind::ExpiredSignature);
}

fn oauth_error(reply: &crate::support::Reply, status: StatusCode, error: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "error and error_description only: {body}");
    body["error_description"].as_str().expect("description").to_owned()
}

async fn refused_exchanges_answer_in_oauth_shape_and_count_in_usage(app: TestApp) {
    let (id, key) = customer_key(
        &app,
        json!({"name": "checkout", "scopes": ["orders:read"], "ratelimit": {"limit": 3, "window_seconds": 60}}),
    )
    .await;
    let missing = app.v1(Method::POST, "/v1/tokens", None, None).await;
    assert!(oauth_error(&missing, StatusCode::UNAUTHORIZED, "invalid_token").contains("Authorization: Bearer"));
    assert!(missing.header("www-authenticate").is_some_and(|c| c.starts_with("Bearer error=\"invalid_token\"")));
    let unknown = exchange(&app, "lk_not-a-key", None).await;
    assert!(oauth_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_token").contains("MALFORMED"));

    let beyond = exchange(&app, &key, Some(json!({"scope": "orders:read orders:write"}))).await;
    assert!(oauth_error(&beyond, StatusCode::BAD_REQUEST, "invalid_scope").contains("orders:write"));
    let bad_ttl = exchange(&app, &key, Some(json!({"ttl_seconds": -5}))).await;
    assert!(oauth_error(&bad_ttl, StatusCode::BAD_REQUEST, "invalid_request").contains("ttl_seconds"));
    let typo = exchange(&app, &key, Some(json!({"scopes": "orders:read"}))).await;
    assert!(oauth_error(&typo, StatusCode::BAD_REQUEST, "invalid_request").contains("unknown field"));
    let text = app
        .send(
            Request::post("/v1/tokens")
                .header(header::HOST, crate::support::HOST)
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::from("scope=orders:read"))
                .expect("request"),
        )
        .await;
    oauth_error(&text, StatusCode::BAD_REQUEST, "invalid_request");
    let grant = exchange(&app, &key, Some(json!({"grant_type": "password"}))).await;
    oauth_error(&grant, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let wrong_method = app.v1(Method::GET, "/v1/tokens", Some(&key), None).await;
    oauth_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    let huge = exchange(&app, &key, Some(json!({"audience": "a".repeat(70_000)}))).await;
    oauth_error(&huge, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");

    for _ in 0..3 {
        assert_eq!(exchange(&app, &key, None).await.status, StatusCode::OK);
    }
    let limited = exchange(&app, &key, None).await;
    oauth_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| (1..=61).contains(&s)));

    let token = app.service_token(&[Permission::KeysWrite, Permission::KeysRead]).await;
    let revoke = app.v1(Method::POST, &format!("/v1/keys/{id}/revoke"), Some(&token), None).await;
    assert_eq!(revoke.status, StatusCode::OK, "{}", revoke.body);
    let revoked = exchange(&app, &key, None).await;
    assert!(oauth_error(&revoked, StatusCode::UNAUTHORIZED, "invalid_token").contains("revoked"));

    app.verification.verifier.usage().flush(&app.db).await.expect("flush");
    let usage = app.v1(Method::GET, &format!("/v1/keys/{id}/usage"), Some(&token), None).await.json();
    let mut counts = serde_json::Map::new();
    for bucket in usage["buckets"].as_array().expect("buckets") {
        for (code, n) in bucket["counts"].as_object().expect("counts") {
            let total = counts.get(code).and_then(Value::as_u64).unwrap_or(0) + n.as_u64().unwrap_or(0);
            counts.insert(code.clone(), json!(total));
        }
    }
    assert_eq!(
        Value::Object(counts),
        json!({"TOKEN_ISSUED": 3, "INSUFFICIENT_SCOPES": 1, "RATE_LIMITED": 1, "REVOKED": 1}),
        "refused requests (bad body, bad grant) never reached the key; the rest are counted"
    );
}

async fn after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_carry_the_new_kid(app: TestApp) {
    let (_, key) = customer_key(&app, json!({"name": "checkout", "scopes": ["orders:read"]})).await;
    let old = exchange(&app, &key, None).await.json()["access_token"].as_str().expect("token").to_owned();
    let cached_before = jwks(&app).await;
    let old_kid = decode_header(&old).expect("header").kid.expect("kid");

    let rotation = rotate(&app.db, &Default::default(), app.clock.now()).await.expect("rotate");
    // What the change feed does for a running instance.
    app.verification.signing_keys.load(&app.db).await.expect("reload");
    let new = exchange(&app, &key, None).await.json()["access_token"].as_str().expect("token").to_owned();
    assert_eq!(decode_header(&new).expect("header").kid.as_deref(), Some(rotation.current.as_str()));
    assert_ne!(rotation.current, old_kid);
    assert!(verify_with(&cached_before, &new).is_ok(), "a JWKS fetched before the rotation already has the new key");
    let after = jwks(&app).await;
    assert!(verify_with(&after, &old).is_ok(), "tokens of the old key verify until they expire");
    assert!(verify_with(&after, &new).is_ok());

    app.clock.advance(RETIRED_KEY_PUBLISHED_FOR);
    let later = jwks(&app).await;
    assert!(later.find(&old_kid).is_none(), "the old key is dropped once its tokens have expired");
    assert!(later.find(&rotation.current).is_some() && later.find(&rotation.next).is_some());
}

#[tokio::test]
async fn the_openapi_document_describes_the_token_endpoint_and_the_jwks() {
    let app = TestApp::new().await;
    let document = app.v1(Method::GET, "/v1/openapi.json", None, None).await.json();
    assert!(document["paths"]["/v1/tokens"]["post"].is_object(), "{}", document["paths"]);
    assert!(document["paths"]["/.well-known/jwks.json"]["get"].is_object());
    assert_eq!(document["paths"]["/v1/tokens"]["post"]["security"], json!([{"api_key": []}]));
}
