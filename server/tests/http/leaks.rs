//! Leak reports through the router: a report in GitHub's secret scanning format, signed in the test with a
//! P-256 key made here (whose public half the server is given), revokes the key it names and answers
//! `true_positive`; an unknown string answers `false_positive`; a missing or wrong signature is 401 and
//! revokes nothing. On SQLite and PostgreSQL.

use crate::on_both_databases;
use crate::support::TestApp;
use app::domain::keys::format::{KeyPrefix, generate};
use app::domain::leaks::github::{GithubKeys, parse_keys};
use app::domain::service_tokens::Permission;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_databases!(
    a_signed_github_report_revokes_the_key_and_answers_true_positive,
    an_unsigned_or_forged_github_report_is_refused_and_revokes_nothing,
);

/// A P-256 key drawn for this test, and the server set up to trust its public half as GitHub's key `test-key-1`.
fn github(app: TestApp) -> (TestApp, SigningKey) {
    let seed = app::domain::random::secret_bytes::<32>().expect("random");
    let signing = SigningKey::from_slice(&seed).expect("a valid scalar");
    let pem = signing.verifying_key().to_public_key_pem(LineEnding::LF).expect("pem");
    let list = json!({ "public_keys": [{ "key_identifier": "test-key-1", "key": pem, "is_current": true }] });
    let keys = parse_keys(&list.to_string()).expect("keys");
    let events = latchkey_server::router::EventsSetup {
        github_keys: Arc::new(GithubKeys::new(keys, None).expect("keys")),
        ..Default::default()
    };
    (app.with_events(events), signing)
}

async fn new_key(app: &TestApp, name: &str) -> (String, String) {
    let token = app.service_token(&[Permission::KeysWrite]).await;
    let reply = app
        .v1(
            Method::POST,
            "/v1/keys",
            Some(&token),
            Some(json!({ "account": "ann@example.com", "name": name, "scopes": ["orders:read"] })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned())
}

async fn report(
    app: &TestApp,
    body: &str,
    identifier: Option<&str>,
    signature: Option<String>,
) -> crate::support::Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/v1/leaks/github")
        .header(header::HOST, crate::support::HOST)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(identifier) = identifier {
        request = request.header("Github-Public-Key-Identifier", identifier);
    }
    if let Some(signature) = signature {
        request = request.header("Github-Public-Key-Signature", signature);
    }
    app.send(request.body(Body::from(body.to_owned())).expect("request")).await
}

fn sign(key: &SigningKey, body: &str) -> String {
    let signature: Signature = key.sign(body.as_bytes());
    STANDARD.encode(signature.to_der().as_bytes())
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let token = app.service_token(&[Permission::KeysRead]).await;
    let reply = app.v1(Method::GET, &format!("/v1/keys/{id}"), Some(&token), None).await;
    reply.json()["status"].as_str().unwrap_or_default().to_owned()
}

async fn a_signed_github_report_revokes_the_key_and_answers_true_positive(app: TestApp) {
    let (app, github_key) = github(app);
    app.customer("ann@example.com").await;
    let (id, key) = new_key(&app, "deploy").await;
    // Well formed, checksum and all, but never issued: only the lookup can tell it is not ours.
    let never_issued = generate(&KeyPrefix::default()).expect("random");
    let body = json!([
        { "token": key, "type": "latchkey_api_key", "url": "https://github.com/acme/shop/blob/main/.env", "source": "content" },
        { "token": never_issued.expose(), "type": "latchkey_api_key", "url": "https://github.com/x", "source": "content" },
    ])
    .to_string();
    let reply = report(&app, &body, Some("test-key-1"), Some(sign(&github_key, &body))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let labels: Value = reply.json();
    assert_eq!(labels[0]["label"], "true_positive");
    assert_eq!(labels[0]["token_type"], "latchkey_api_key");
    assert_eq!(labels[1]["label"], "false_positive");
    assert!(!reply.body.contains(&key), "the answer never repeats the key");
    assert_eq!(status_of(&app, &id).await, "revoked");
}

async fn an_unsigned_or_forged_github_report_is_refused_and_revokes_nothing(app: TestApp) {
    let (app, github_key) = github(app);
    app.customer("ann@example.com").await;
    let (id, key) = new_key(&app, "deploy").await;
    let body =
        json!([{ "token": key, "type": "latchkey_api_key", "url": "https://github.com/x", "source": "content" }])
            .to_string();

    let missing = report(&app, &body, None, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{}", missing.body);
    let unknown = report(&app, &body, Some("someone-else"), Some(sign(&github_key, &body))).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let other_body = body.replace("github.com/x", "github.com/y");
    let forged = report(&app, &body, Some("test-key-1"), Some(sign(&github_key, &other_body))).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let garbage = report(&app, &body, Some("test-key-1"), Some("not base64 at all".into())).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, &id).await, "active", "nothing was revoked");
}
