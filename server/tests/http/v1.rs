//! The `/v1` API through the router: verification, service-token authentication, bad input, the
//! management endpoints and the OpenAPI document, on SQLite and PostgreSQL.

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};
use app::domain::clock::Clock;
use app::domain::service_tokens::{self, Permission};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

on_both_databases!(
    verify_answers_200_with_the_documented_body_for_every_outcome,
    missing_wrong_revoked_or_underprivileged_service_tokens_get_401,
    bad_bodies_get_400_and_oversized_ones_413_in_the_error_envelope,
    a_revoke_through_the_api_makes_the_next_verify_answer_revoked,
    a_rolled_key_verifies_as_rolled_until_its_grace_ends_then_expired,
    keys_made_by_a_service_show_in_the_portal_and_its_log_names_the_token,
    keys_can_be_read_listed_changed_and_their_usage_counted,
);

const ALL: &[Permission] = &[Permission::Verify, Permission::KeysRead, Permission::KeysWrite];

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.v1(Method::POST, "/v1/keys", Some(token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.json()
}

async fn verify(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.v1(Method::POST, "/v1/keys/verify", Some(token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn verify_answers_200_with_the_documented_body_for_every_outcome(app: TestApp) {
    let token = app.service_token(ALL).await;
    let account = app.customer("customer@example.com").await;
    let created = create(
        &app,
        &token,
        json!({"account": account, "name": "billing", "scopes": ["orders:read"], "meta": {"plan": "pro"},
               "ratelimit": {"limit": 10, "window_seconds": 60}}),
    )
    .await;
    let key = created["key"].as_str().expect("key shown once");

    let valid = verify(&app, &token, json!({"key": key, "scopes": ["orders:read"], "ip": "203.0.113.7"})).await;
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["code"], "VALID");
    assert_eq!(valid["key_id"], created["id"]);
    // The owner: the account's own organisation (it has the account's id), named after its address.
    assert_eq!(
        valid["organisation"],
        json!({"id": account.as_str(), "external_id": null, "name": "customer@example.com"})
    );
    assert!(valid.get("account_id").is_none(), "{valid}");
    assert_eq!(valid["name"], "billing");
    assert_eq!(valid["scopes"], json!(["orders:read"]));
    assert_eq!(valid["meta"], json!({"plan": "pro"}));
    assert_eq!(valid["expires_at"], Value::Null);
    assert_eq!((valid["ratelimit"]["limit"].as_u64(), valid["ratelimit"]["remaining"].as_u64()), (Some(10), Some(9)));
    assert!(valid["ratelimit"]["reset_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{valid}");
    assert!(valid.get("rolled").is_none(), "only rolled keys say so");

    let refused = verify(&app, &token, json!({"key": key, "scopes": ["orders:write"]})).await;
    assert_eq!((refused["valid"].clone(), refused["code"].clone()), (json!(false), json!("INSUFFICIENT_SCOPES")));
    assert!(refused.get("meta").is_none(), "metadata only on VALID");
    assert_eq!(refused["key_id"], created["id"]);

    let malformed = verify(&app, &token, json!({"key": "lk_typo"})).await;
    assert_eq!(malformed, json!({"valid": false, "code": "MALFORMED"}), "nothing else");
    let unknown = format!("lk_{}", &key[3..].chars().rev().collect::<String>());
    let answer = verify(&app, &token, json!({"key": unknown})).await;
    assert!(answer == json!({"valid": false, "code": "NOT_FOUND"}) || answer["code"] == "MALFORMED", "{answer}");
    let stranger = app::domain::keys::format::generate(&Default::default()).expect("random");
    let not_found = verify(&app, &token, json!({"key": stranger.expose()})).await;
    assert_eq!(not_found, json!({"valid": false, "code": "NOT_FOUND"}), "nothing else");

    let fenced = create(
        &app,
        &token,
        json!({"account": "customer@example.com", "name": "office", "scopes": ["orders:read"],
               "ip_allowlist": ["10.0.0.0/8", "2001:db8::/32"]}),
    )
    .await;
    let fenced_key = fenced["key"].as_str().expect("key");
    assert_eq!(verify(&app, &token, json!({"key": fenced_key, "ip": "10.9.8.7"})).await["code"], "VALID");
    assert_eq!(verify(&app, &token, json!({"key": fenced_key, "ip": "2001:db8::5"})).await["code"], "VALID");
    assert_eq!(verify(&app, &token, json!({"key": fenced_key, "ip": "192.0.2.1"})).await["code"], "IP_NOT_ALLOWED");
    assert_eq!(verify(&app, &token, json!({"key": fenced_key})).await["code"], "IP_NOT_ALLOWED");

    let tight = create(
        &app,
        &token,
        json!({"account": account, "name": "tight", "scopes": ["orders:read"], "ratelimit": {"limit": 1, "window_seconds": 3600}}),
    )
    .await;
    let tight_key = tight["key"].as_str().expect("key");
    assert_eq!(verify(&app, &token, json!({"key": tight_key})).await["code"], "VALID");
    let limited = verify(&app, &token, json!({"key": tight_key})).await;
    assert_eq!((limited["code"].clone(), limited["ratelimit"]["remaining"].clone()), (json!("RATE_LIMITED"), json!(0)));

    let expiring = create(
        &app,
        &token,
        json!({"account": account, "name": "short", "scopes": ["orders:read"],
               "expires_at": (app.clock.now() + Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    app.clock.advance(Duration::hours(2));
    assert_eq!(verify(&app, &token, json!({"key": expiring["key"]})).await["code"], "EXPIRED");
}

async fn missing_wrong_revoked_or_underprivileged_service_tokens_get_401(app: TestApp) {
    let body = json!({"key": "lk_whatever"});
    let none = app.v1(Method::POST, "/v1/keys/verify", None, Some(body.clone())).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert_eq!(none.json()["error"]["code"], "unauthorized");
    let garbage = app.v1(Method::POST, "/v1/keys/verify", Some("not-a-token"), Some(body.clone())).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    let stranger = app::domain::keys::format::generate(&app.verification.token_prefix).expect("random");
    let unknown = app.v1(Method::POST, "/v1/keys/verify", Some(stranger.expose()), Some(body.clone())).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    let revoked = app.service_token(&[Permission::Verify]).await;
    let id = service_tokens::list(&app.db).await.expect("list")[0].id.clone();
    service_tokens::revoke(&app.db, app.clock.as_ref(), &id).await.expect("revoke");
    let reply = app.v1(Method::POST, "/v1/keys/verify", Some(&revoked), Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.json()["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")), "{}", reply.body);

    let reader = app.service_token(&[Permission::KeysRead]).await;
    let reply = app.v1(Method::POST, "/v1/keys/verify", Some(&reader), Some(body)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"]["code"], "insufficient_permission");
    let verifier = app.service_token(&[Permission::Verify]).await;
    let reply = app
        .v1(Method::POST, "/v1/keys", Some(&verifier), Some(json!({"account": "x", "name": "n", "scopes": []})))
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("insufficient_permission"))
    );
    let reply = app.v1(Method::GET, "/v1/keys?account=x", Some(&verifier), None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn bad_bodies_get_400_and_oversized_ones_413_in_the_error_envelope(app: TestApp) {
    let token = app.service_token(ALL).await;
    let send = |body: String| {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/keys/verify")
            .header("host", crate::support::HOST)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .expect("request");
        app.send(request)
    };
    let broken = send("{\"key\": ".into()).await;
    assert_eq!(
        (broken.status, broken.json()["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_json"))
    );
    let missing = send("{\"scopes\": []}".into()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.json()["error"]["message"].as_str().is_some_and(|m| m.contains("key")), "{}", missing.body);
    let typo = send("{\"key\": \"lk_x\", \"scope\": [\"orders:read\"]}".into()).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST, "a misspelt field must not silently drop a scope check");
    let bad_ip = send("{\"key\": \"lk_x\", \"ip\": \"not-an-ip\"}".into()).await;
    assert_eq!((bad_ip.status, bad_ip.json()["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("ip")));
    for ip in ["", " 203.0.113.7"] {
        let body = json!({"key": "lk_x", "ip": ip}).to_string();
        let refused = send(body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "ip {ip:?} is not an address: {}", refused.body);
    }
    let listed = send(r#"["lk_x", []]"#.into()).await;
    assert_eq!(listed.status, StatusCode::BAD_REQUEST, "the fields in a list are not an object: {}", listed.body);
    let huge = send(format!("{{\"key\": \"{}\"}}", "x".repeat(100 * 1024))).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.json()["error"]["code"], "payload_too_large");
    let declared = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/keys/verify")
        .header("host", crate::support::HOST)
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", (100 * 1024).to_string())
        .body(axum::body::Body::from(vec![b' '; 100 * 1024]))
        .expect("request");
    let declared = app.send(declared).await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(declared.json()["error"]["code"], "payload_too_large", "refused before routing, still enveloped");
    let nowhere = app.v1(Method::GET, "/v1/nothing-here", Some(&token), None).await;
    assert_eq!((nowhere.status, nowhere.json()["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    let wrong_method = app.v1(Method::DELETE, "/v1/keys/verify", Some(&token), None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.json()["error"]["code"], "method_not_allowed");
}

async fn a_revoke_through_the_api_makes_the_next_verify_answer_revoked(app: TestApp) {
    let token = app.service_token(ALL).await;
    app.customer("customer@example.com").await;
    let created =
        create(&app, &token, json!({"account": "customer@example.com", "name": "ci", "scopes": ["orders:read"]})).await;
    let key = created["key"].as_str().expect("key");
    assert_eq!(verify(&app, &token, json!({"key": key})).await["code"], "VALID");
    let path = format!("/v1/keys/{}/revoke", created["id"].as_str().expect("id"));
    let revoked = app.v1(Method::POST, &path, Some(&token), None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.json()["status"], "revoked");
    assert_eq!(verify(&app, &token, json!({"key": key})).await["code"], "REVOKED");
    let missing = app.v1(Method::POST, "/v1/keys/no-such-key/revoke", Some(&token), None).await;
    assert_eq!((missing.status, missing.json()["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
}

async fn a_rolled_key_verifies_as_rolled_until_its_grace_ends_then_expired(app: TestApp) {
    let token = app.service_token(ALL).await;
    let account = app.customer("customer@example.com").await;
    let created = create(&app, &token, json!({"account": account, "name": "ci", "scopes": ["orders:read"]})).await;
    let old = created["key"].as_str().expect("key");
    let path = format!("/v1/keys/{}/roll", created["id"].as_str().expect("id"));
    let too_long = app.v1(Method::POST, &path, Some(&token), Some(json!({"grace_seconds": 99_999_999}))).await;
    assert_eq!(
        (too_long.status, too_long.json()["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("grace_seconds"))
    );
    let rolled = app.v1(Method::POST, &path, Some(&token), Some(json!({"grace_seconds": 3600}))).await;
    assert_eq!(rolled.status, StatusCode::CREATED, "{}", rolled.body);
    let successor = rolled.json();
    assert_ne!(successor["id"], created["id"]);
    let answer = verify(&app, &token, json!({"key": old})).await;
    assert_eq!((answer["code"].clone(), answer["rolled"].clone()), (json!("VALID"), json!(true)));
    assert_eq!(verify(&app, &token, json!({"key": successor["key"]})).await.get("rolled"), None);
    app.clock.advance(Duration::seconds(3599));
    assert_eq!(verify(&app, &token, json!({"key": old})).await["code"], "VALID");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(verify(&app, &token, json!({"key": old})).await["code"], "EXPIRED");
    assert_eq!(verify(&app, &token, json!({"key": successor["key"]})).await["code"], "VALID");
    let again = app.v1(Method::POST, &path, Some(&token), Some(json!({}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

async fn keys_made_by_a_service_show_in_the_portal_and_its_log_names_the_token(app: TestApp) {
    let cookie = app.signed_up("customer@example.com").await;
    let token = app.service_token(ALL).await;
    let created = create(
        &app,
        &token,
        json!({"account": "Customer@Example.com", "name": "from the backend", "scopes": ["orders:read"]}),
    )
    .await;
    let org = app.org(&cookie).await;
    let listed = app.get_json(&format!("/api/keys/list?org={org}"), &cookie).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains("from the backend") && listed.body.contains(created["hint"].as_str().expect("hint")));
    assert!(!listed.body.contains(created["key"].as_str().expect("key")), "the portal never shows the key again");
    let log = app.get_json(&format!("/api/activity?org={org}"), &cookie).await;
    assert!(log.body.contains("service token \\\"gateway\\\""), "{}", log.body);
    assert!(listed.body.contains("service token \\\"gateway\\\""), "keys show who created them: {}", listed.body);
    let _ = PASSWORD;
}

async fn keys_can_be_read_listed_changed_and_their_usage_counted(app: TestApp) {
    let token = app.service_token(ALL).await;
    let account = app.customer("customer@example.com").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let created =
            create(&app, &token, json!({"account": account, "name": format!("k{n}"), "scopes": ["orders:read"]})).await;
        ids.push(created["id"].as_str().expect("id").to_owned());
        app.clock.advance(Duration::seconds(1));
    }
    let one = app.v1(Method::GET, &format!("/v1/keys/{}", ids[0]), Some(&token), None).await;
    assert_eq!((one.status, one.json()["name"].clone()), (StatusCode::OK, json!("k0")));
    assert!(one.json().get("key").is_none(), "a read never carries the key");
    let page = app.v1(Method::GET, &format!("/v1/keys?organisation={account}&per_page=2"), Some(&token), None).await;
    let page = page.json();
    assert_eq!(
        (page["total"].clone(), page["pages"].clone(), page["keys"].as_array().map(Vec::len)),
        (json!(3), json!(2), Some(2))
    );
    assert_eq!(page["keys"][0]["name"], "k2", "newest first");
    let second =
        app.v1(Method::GET, "/v1/keys?account=customer@example.com&per_page=2&page=2", Some(&token), None).await;
    assert_eq!(second.json()["keys"][0]["name"], "k0", "an account's email still names its own organisation");
    let no_account = app.v1(Method::GET, "/v1/keys", Some(&token), None).await;
    assert_eq!(
        (no_account.status, no_account.json()["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("organisation"))
    );
    let both = app
        .v1(Method::GET, &format!("/v1/keys?organisation={account}&account=customer@example.com"), Some(&token), None)
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST, "{}", both.body);

    let path = format!("/v1/keys/{}", ids[0]);
    let changed = app
        .v1(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"name": "renamed", "meta": {"tier": 2}, "ratelimit": {"limit": 5, "window_seconds": 10}})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let changed = changed.json();
    assert_eq!((changed["name"].clone(), changed["meta"].clone()), (json!("renamed"), json!({"tier": 2})));
    assert_eq!(changed["ratelimit"], json!({"limit": 5, "window_seconds": 10}));
    let cleared =
        app.v1(Method::PATCH, &path, Some(&token), Some(json!({"meta": null, "ratelimit": null}))).await.json();
    assert_eq!(
        (cleared["meta"].clone(), cleared["ratelimit"].clone(), cleared["name"].clone()),
        (Value::Null, Value::Null, json!("renamed"))
    );
    let big = app.v1(Method::PATCH, &path, Some(&token), Some(json!({"meta": {"blob": "x".repeat(5000)}}))).await;
    assert_eq!((big.status, big.json()["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("meta")));
    let bad_scope = app.v1(Method::PATCH, &path, Some(&token), Some(json!({"scopes": ["root"]}))).await;
    assert_eq!(
        (bad_scope.status, bad_scope.json()["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("scopes"))
    );
    let bad_net = app.v1(Method::PATCH, &path, Some(&token), Some(json!({"ip_allowlist": ["10.0.0.0/99"]}))).await;
    assert_eq!(
        (bad_net.status, bad_net.json()["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("ip_allowlist"))
    );
    let blank = app.v1(Method::PATCH, &path, Some(&token), Some(json!({"ip_allowlist": ["10.0.0.0/8", ""]}))).await;
    assert_eq!(
        (blank.status, blank.json()["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("ip_allowlist.1")),
        "a blank entry is refused, not skipped"
    );
    let listed = app.v1(Method::PATCH, &path, Some(&token), Some(json!([null, null]))).await;
    assert_eq!(listed.status, StatusCode::BAD_REQUEST, "a list is not the object the document asks for");

    let key = app.v1(Method::POST, &format!("/v1/keys/{}/roll", ids[1]), Some(&token), Some(json!({}))).await.json();
    for scopes in [json!([]), json!([]), json!(["orders:write"])] {
        verify(&app, &token, json!({"key": key["key"], "scopes": scopes, "ip": "198.51.100.4"})).await;
    }
    assert_eq!(app.verification.verifier.usage().flush(&app.db).await.expect("flush"), 3);
    let usage =
        app.v1(Method::GET, &format!("/v1/keys/{}/usage", key["id"].as_str().expect("id")), Some(&token), None).await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
    let buckets = usage.json()["buckets"].as_array().cloned().expect("buckets");
    assert_eq!(buckets.len(), 24, "one bucket an hour for the last day");
    assert_eq!(buckets[23]["counts"], json!({"VALID": 2, "INSUFFICIENT_SCOPES": 1}));
    let used =
        app.v1(Method::GET, &format!("/v1/keys/{}", key["id"].as_str().expect("id")), Some(&token), None).await.json();
    assert_eq!(used["last_used_ip"], "198.51.100.4");
    assert!(used["last_used_at"].is_string());
    let backwards = app
        .v1(
            Method::GET,
            &format!("/v1/keys/{}/usage?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", ids[0]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_openapi_document_covers_every_v1_route() {
    let app = TestApp::new().await;
    let reply = app.v1(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let routes = [
        ("post", "/v1/keys/verify"),
        ("post", "/v1/keys"),
        ("get", "/v1/keys"),
        ("get", "/v1/keys/{id}"),
        ("patch", "/v1/keys/{id}"),
        ("post", "/v1/keys/{id}/roll"),
        ("post", "/v1/keys/{id}/revoke"),
        ("get", "/v1/keys/{id}/usage"),
        ("post", "/v1/tokens"),
        ("post", "/v1/tokens/introspect"),
        ("post", "/v1/tokens/revoke"),
        ("get", "/v1/tokens/revoked"),
        ("post", "/v1/organisations"),
        ("get", "/v1/organisations"),
        ("get", "/v1/organisations/{id}"),
        ("patch", "/v1/organisations/{id}"),
        ("get", "/v1/organisations/{id}/members"),
        ("post", "/v1/organisations/{id}/disable"),
        ("post", "/v1/organisations/{id}/enable"),
        ("post", "/v1/portal/sessions"),
        ("post", "/v1/webhooks"),
        ("get", "/v1/webhooks"),
        ("get", "/v1/webhooks/{id}"),
        ("patch", "/v1/webhooks/{id}"),
        ("delete", "/v1/webhooks/{id}"),
        ("post", "/v1/webhooks/{id}/rotate-secret"),
        ("get", "/v1/webhooks/{id}/deliveries"),
        ("post", "/v1/webhooks/{id}/test"),
        ("post", "/v1/webhooks/{id}/resend"),
        ("post", "/v1/leaks"),
        // Signed by GitHub rather than a service token: its 401 is a missing or wrong signature.
        ("post", "/v1/leaks/github"),
    ];
    // Public: the keys that verify access tokens.
    let public = [("get", "/.well-known/jwks.json")];
    let paths = document["paths"].as_object().expect("paths");
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, operations)| {
            operations.as_object().into_iter().flatten().map(move |(method, _)| (method.clone(), path.clone()))
        })
        .collect();
    for (method, path) in routes {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is missing from the OpenAPI document");
        assert!(operation["responses"]["401"].is_object(), "{method} {path} documents its 401");
        assert!(operation["responses"].as_object().is_some_and(|r| r.keys().any(|s| s.starts_with('2'))));
    }
    for (method, path) in public {
        assert!(document["paths"][path][method]["responses"]["200"].is_object(), "{method} {path}");
    }
    assert_eq!(
        documented.len(),
        routes.len() + public.len(),
        "every documented operation is listed here: {documented:?}"
    );
    // Each documented operation is really routed: without a token it is refused for that, not unknown.
    for (method, path) in documented.iter().filter(|(_, path)| !path.starts_with("/.well-known/")) {
        let uri = path.replace("{id}", "some-id");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let reply = app.v1(method.clone(), &uri, None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}: {}", reply.body);
    }
    for schema in [
        "VerifyRequest",
        "VerifyResponse",
        "ErrorBody",
        "CreateKeyRequest",
        "UpdateKeyRequest",
        "KeyResponse",
        "TokenRequestBody",
        "TokenResponse",
        "OAuthError",
        "WebhookEvent",
        "TokenParameter",
        "Introspection",
        "RevokedTokens",
    ] {
        assert!(document["components"]["schemas"][schema].is_object(), "schema {schema}");
    }
}

#[tokio::test]
async fn the_openapi_document_states_the_limits_the_server_checks() {
    let app = TestApp::new().await;
    let document = app.v1(Method::GET, "/v1/openapi.json", None, None).await.json();
    let schemas = &document["components"]["schemas"];
    let example = app::domain::scopes::ScopeCatalogue::example();
    let catalogue: Vec<&str> = example.scopes().iter().map(|scope| scope.name.as_str()).collect();
    assert_eq!(schemas["CreateKeyRequest"]["properties"]["scopes"]["items"]["enum"], json!(catalogue));
    assert_eq!(schemas["CreateKeyRequest"]["properties"]["scopes"]["minItems"], 1);
    assert_eq!(schemas["CreateKeyRequest"]["properties"]["ip_allowlist"]["maxItems"], 100);
    assert!(schemas["CreateKeyRequest"]["required"].as_array().is_some_and(|r| r.contains(&json!("organisation"))));
    assert!(schemas["CreateKeyRequest"]["properties"].get("account").is_none(), "the deprecated field is not promoted");
    assert_eq!(schemas["CreateOrganisationRequest"]["required"], json!(["name"]));
    assert!(document["paths"]["/v1/organisations/{id}/disable"]["post"].is_object());
    assert_eq!(schemas["RateLimitBody"]["properties"]["limit"]["maximum"], 1_000_000);
    assert_eq!(schemas["RateLimitBody"]["properties"]["window_seconds"]["maximum"], 86_400);
    assert_eq!(schemas["RollRequest"]["properties"]["grace_seconds"]["maximum"], 2_592_000);
    assert_eq!(schemas["TokenRequestBody"]["properties"]["ttl_seconds"]["maximum"], 86_400);
    assert!(
        schemas["TokenRequestBody"]["properties"]["scope"]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("orders:read"))
    );
    let list = document["paths"]["/v1/keys"]["get"]["parameters"].as_array().expect("parameters");
    let organisation = list.iter().find(|p| p["name"] == "organisation").expect("organisation");
    assert_eq!(organisation["required"], true, "GET /v1/keys needs the organisation");
    let usage = document["paths"]["/v1/keys/{id}/usage"]["get"]["parameters"].as_array().expect("parameters");
    let granularity = usage.iter().find(|p| p["name"] == "granularity").expect("granularity");
    assert!(
        granularity.to_string().contains("\"hour\"") && granularity.to_string().contains("\"day\""),
        "{granularity}"
    );
    assert!(document.to_string().contains("\"ipv4\"") && document.to_string().contains("\"ipv6\""), "ip formats");
}
