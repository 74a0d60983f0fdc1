//! `/v1/tokens/introspect` (RFC 7662), `/v1/tokens/revoke` (RFC 7009) and `/v1/tokens/revoked` through
//! the router: form-encoded requests as OAuth libraries send them, the exact inactive answer, a key
//! revoking only its own token, and a revocation list that pages and answers 304 while unchanged. On
//! SQLite and PostgreSQL.

use crate::on_both_databases;
use crate::support::{HOST, Reply, TestApp};
use app::domain::service_tokens::Permission;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

on_both_databases!(
    introspection_describes_a_live_token_and_says_exactly_inactive_otherwise,
    a_key_revokes_its_own_token_and_no_other,
    the_revocation_list_pages_by_jti_and_answers_304_while_unchanged,
);

/// A customer's key made through the management API: (id, plaintext).
async fn new_key(app: &TestApp, name: &str) -> (String, String) {
    let token = app.service_token(&[Permission::KeysWrite]).await;
    let body = json!({"account": "customer@example.com", "name": name, "scopes": ["orders:read"]});
    let reply = app.v1(Method::POST, "/v1/keys", Some(&token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned())
}

async fn token(app: &TestApp, key: &str) -> String {
    let reply = app.v1(Method::POST, "/v1/tokens", Some(key), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["access_token"].as_str().expect("token").to_owned()
}

/// A form-encoded POST, as OAuth client libraries send introspection and revocation requests.
async fn form(app: &TestApp, path: &str, bearer: Option<&str>, body: &str) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(bearer) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    app.send(request.body(Body::from(body.to_owned())).expect("request")).await
}

async fn introspect(app: &TestApp, service: &str, token: &str) -> Value {
    let reply = form(app, "/v1/tokens/introspect", Some(service), &format!("token={token}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json()
}

fn oauth_error(reply: &Reply, status: StatusCode) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    reply.json()["error"].as_str().expect("an OAuth error").to_owned()
}

async fn introspection_describes_a_live_token_and_says_exactly_inactive_otherwise(app: TestApp) {
    app.customer("customer@example.com").await;
    let service = app.service_token(&[Permission::Verify]).await;
    let (id, key) = new_key(&app, "checkout").await;
    let jwt = token(&app, &key).await;

    let live = introspect(&app, &service, &jwt).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["token_type"], "access_token");
    assert_eq!(live["key_id"], id.as_str());
    assert_eq!(live["scope"], "orders:read");
    assert_eq!(live["iss"], crate::support::ORIGIN);
    for claim in ["sub", "aud", "exp", "iat", "jti"] {
        assert!(!live[claim].is_null(), "{claim} in {live}");
    }
    let as_json = app.v1(Method::POST, "/v1/tokens/introspect", Some(&service), Some(json!({"token": jwt}))).await;
    assert_eq!(as_json.json(), live, "JSON is accepted too");

    for nonsense in ["nonsense", "a.b.c", key.as_str()] {
        assert_eq!(introspect(&app, &service, nonsense).await, json!({"active": false}));
    }
    let revoked = app
        .v1(
            Method::POST,
            &format!("/v1/keys/{id}/revoke"),
            Some(&app.service_token(&[Permission::KeysWrite]).await),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(introspect(&app, &service, &jwt).await, json!({"active": false}), "ended with its key");

    let anonymous = form(&app, "/v1/tokens/introspect", None, &format!("token={jwt}")).await;
    assert_eq!(oauth_error(&anonymous, StatusCode::UNAUTHORIZED), "invalid_token");
    assert!(anonymous.header("www-authenticate").is_some_and(|value| value.starts_with("Bearer")));
    let keys_only = app.service_token(&[Permission::KeysRead]).await;
    let refused = form(&app, "/v1/tokens/introspect", Some(&keys_only), &format!("token={jwt}")).await;
    assert_eq!(oauth_error(&refused, StatusCode::FORBIDDEN), "insufficient_scope");
    let empty = form(&app, "/v1/tokens/introspect", Some(&service), "token_type_hint=access_token").await;
    assert_eq!(oauth_error(&empty, StatusCode::BAD_REQUEST), "invalid_request");
}

async fn a_key_revokes_its_own_token_and_no_other(app: TestApp) {
    app.customer("customer@example.com").await;
    let service = app.service_token(&[Permission::Verify]).await;
    let (_, key) = new_key(&app, "checkout").await;
    let (_, other) = new_key(&app, "reports").await;
    let (first, second) = (token(&app, &key).await, token(&app, &key).await);

    let foreign = form(&app, "/v1/tokens/revoke", Some(&other), &format!("token={first}")).await;
    assert_eq!(oauth_error(&foreign, StatusCode::BAD_REQUEST), "unauthorized_client");
    let anonymous = form(&app, "/v1/tokens/revoke", None, &format!("token={first}")).await;
    assert_eq!(oauth_error(&anonymous, StatusCode::UNAUTHORIZED), "invalid_token");
    assert_eq!(introspect(&app, &service, &first).await["active"], true, "refused attempts change nothing");

    let done =
        form(&app, "/v1/tokens/revoke", Some(&key), &format!("token={first}&token_type_hint=access_token")).await;
    assert_eq!((done.status, done.body.as_str()), (StatusCode::OK, ""));
    assert_eq!(introspect(&app, &service, &first).await, json!({"active": false}));
    assert_eq!(introspect(&app, &service, &second).await["active"], true, "the key's other token still works");
    for again in [first.as_str(), "not-a-token"] {
        let reply = form(&app, "/v1/tokens/revoke", Some(&key), &format!("token={again}")).await;
        assert_eq!(reply.status, StatusCode::OK, "RFC 7009: unknown and revoked tokens answer 200 too");
    }
}

async fn the_revocation_list_pages_by_jti_and_answers_304_while_unchanged(app: TestApp) {
    app.customer("customer@example.com").await;
    let service = app.service_token(&[Permission::Verify]).await;
    let (_, key) = new_key(&app, "checkout").await;
    let list = |query: &'static str, etag: Option<String>| {
        let service = service.clone();
        let app = &app;
        async move {
            let mut request = Request::builder()
                .uri(format!("/v1/tokens/revoked{query}"))
                .header(header::HOST, HOST)
                .header(header::AUTHORIZATION, format!("Bearer {service}"));
            if let Some(etag) = etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            app.send(request.body(Body::empty()).expect("request")).await
        }
    };
    let empty = list("", None).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert_eq!(empty.json(), json!({"revoked": [], "next_after": null}));

    let mut jtis = Vec::new();
    for _ in 0..3 {
        let jwt = token(&app, &key).await;
        jtis.push(introspect(&app, &service, &jwt).await["jti"].as_str().expect("jti").to_owned());
        let done = form(&app, "/v1/tokens/revoke", Some(&key), &format!("token={jwt}")).await;
        assert_eq!(done.status, StatusCode::OK);
    }
    jtis.sort();
    let whole = list("", None).await;
    let body = whole.json();
    let names: Vec<String> = body["revoked"]
        .as_array()
        .expect("list")
        .iter()
        .map(|entry| entry["jti"].as_str().expect("jti").to_owned())
        .collect();
    assert_eq!(names, jtis, "by jti");
    assert!(body["revoked"][0]["exp"].as_i64().is_some());
    let etag = whole.header("etag").expect("an ETag").to_owned();

    let unchanged = list("", Some(etag.clone())).await;
    assert_eq!((unchanged.status, unchanged.body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));

    let first = list("?limit=2", None).await.json();
    assert_eq!(first["revoked"].as_array().map(Vec::len), Some(2));
    let after = first["next_after"].as_str().expect("a cursor").to_owned();
    assert_eq!(after, jtis[1]);
    let rest =
        app.v1(Method::GET, &format!("/v1/tokens/revoked?after={after}&limit=2"), Some(&service), None).await.json();
    assert_eq!(rest, json!({"revoked": [{"jti": jtis[2], "exp": rest["revoked"][0]["exp"]}], "next_after": null}));

    let jwt = token(&app, &key).await;
    assert_eq!(form(&app, "/v1/tokens/revoke", Some(&key), &format!("token={jwt}")).await.status, StatusCode::OK);
    let changed = list("", Some(etag.clone())).await;
    assert_eq!(changed.status, StatusCode::OK, "a new revocation changes the list");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.json()["revoked"].as_array().map(Vec::len), Some(4));

    for (query, field) in [("?after=XYZ", "after"), ("?limit=0", "limit"), ("?limit=1001", "limit")] {
        let refused = app.v1(Method::GET, &format!("/v1/tokens/revoked{query}"), Some(&service), None).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}: {}", refused.body);
        assert_eq!(refused.json()["error"]["field"], field, "{query}");
    }
    let anonymous = app.v1(Method::GET, "/v1/tokens/revoked", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
