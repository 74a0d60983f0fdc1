use crate::support::{HOST, PASSWORD, TestApp, capture_logs, encode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::sync::Arc;

fn sign_in_request(extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder()
        .method("POST")
        .uri("/api/sign_in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let body = format!("email=ann%40example.com&password={}&next=", encode(PASSWORD));
    request.body(Body::from(body)).expect("request")
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;
    let hostile: [&[(&str, &str)]; 4] = [
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        // A page on another host that resolves to us (DNS rebinding) sends its own origin and Host.
        &[("origin", "http://evil.example:3000"), ("host", "evil.example:3000")],
    ];
    for headers in hostile {
        let mut request = sign_in_request(headers);
        if let Some((_, host)) = headers.iter().find(|(name, _)| *name == "host") {
            request.headers_mut().insert(header::HOST, host.parse().expect("host"));
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(reply.session_cookie().is_none());
    }
    for friendly in [&[("origin", "http://127.0.0.1:3000")][..], &[("sec-fetch-site", "same-origin")], &[]] {
        assert_eq!(app.send(sign_in_request(friendly)).await.status, StatusCode::OK, "{friendly:?}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::new().await;
    let body = format!("email=ann%40example.com&password={}&next=", "a".repeat(100 * 1024));
    let request = Request::builder()
        .method("POST")
        .uri("/api/sign_in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request");
    assert_eq!(app.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_security_headers() {
    let app = TestApp::new().await;
    let reply = app.get("/sign-in", None).await;
    let csp = reply.header("content-security-policy").expect("CSP");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("nonce in CSP");
    assert!(reply.body.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the CSP nonce");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("strict-transport-security").is_none(), "no HSTS over plain http");

    let other = app.get("/healthz", None).await;
    assert!(other.header("content-security-policy").is_some_and(|p| p.contains("default-src 'none'")));
}

#[tokio::test]
async fn bundle_files_carry_nosniff_but_not_the_headers_of_documents() {
    // A page loads dozens of bundle files; headers that only documents obey would be paid for on each.
    let app = TestApp::new().await;
    let reply = app.get("/pkg/latchkey.css", None).await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    for document_only in ["content-security-policy", "x-frame-options", "permissions-policy", "referrer-policy"] {
        assert!(reply.header(document_only).is_none(), "{document_only} on a bundle file");
    }
}

#[tokio::test]
async fn logs_never_contain_passwords_or_cookies() {
    let (captured, _guard) = capture_logs();

    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    app.sign_in("ann@example.com", "Wrong-Horse-Password", Some(&cookie)).await;
    app.get("/", Some(&cookie)).await;

    let logs = captured.text();
    assert!(logs.contains("/api/sign_in"), "request logs are written: {logs}");
    let session_id = cookie.split_once('=').expect("cookie").1;
    for secret in [PASSWORD, "Wrong-Horse-Password", encode(PASSWORD).as_str(), session_id] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

fn v1_request(method: &str, path: &str, token: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn a_huge_token_lifetime_is_refused_with_400_naming_the_field_and_the_server_lives_on() {
    let app = TestApp::new().await;
    // No real key: the lifetime is checked before anything else, as the panic it replaces was.
    let key = app::domain::keys::format::generate(&Default::default()).expect("random");
    for body in [
        r#"{"ttl_seconds": 9223372036854775807}"#,
        r#"{"ttl_seconds": -9223372036854775808}"#,
        r#"{"ttl_seconds": 86401}"#,
        r#"{"ttl_seconds": 0}"#,
    ] {
        let reply = app.send(v1_request("POST", "/v1/tokens", key.expose(), body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.body);
        let answer = reply.json();
        assert_eq!(answer["error"], "invalid_request");
        assert!(answer["error_description"].as_str().is_some_and(|d| d.contains("ttl_seconds")), "{answer}");
    }
    for body in [r#"{"ttl_seconds": 1e300}"#, r#"{"ttl_seconds": 99999999999999999999999}"#] {
        let reply = app.send(v1_request("POST", "/v1/tokens", key.expose(), body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.body);
        assert!(reply.body.contains("ttl_seconds"), "{}", reply.body);
    }
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn extreme_dates_and_numbers_get_400_naming_the_field() {
    use app::domain::service_tokens::Permission;
    let app = TestApp::new().await;
    let token = app.service_token(&[Permission::KeysRead, Permission::KeysWrite]).await;
    app.customer("customer@example.com").await;
    let created = app
        .send(v1_request(
            "POST",
            "/v1/keys",
            &token,
            r#"{"account": "customer@example.com", "name": "ci", "scopes": ["orders:read"]}"#,
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let cases = [
        ("GET", format!("/v1/keys/{id}/usage?since=-262143-01-01T00:00:00Z"), "", "since"),
        ("GET", format!("/v1/keys/{id}/usage?until=%2B262142-12-31T23:59:59Z"), "", "until"),
        ("POST", format!("/v1/keys/{id}/roll"), r#"{"grace_seconds": 99999999999}"#, "grace_seconds"),
        ("POST", format!("/v1/keys/{id}/roll"), r#"{"grace_seconds": -1}"#, "grace_seconds"),
        (
            "PATCH",
            format!("/v1/keys/{id}"),
            r#"{"ratelimit": {"limit": 1e40, "window_seconds": 60}}"#,
            "ratelimit.limit",
        ),
        ("PATCH", format!("/v1/keys/{id}"), r#"{"expires_at": "0000-01-01T00:00:00Z"}"#, "expires_at"),
    ];
    for (method, path, body, field) in cases {
        let reply = app.send(v1_request(method, &path, &token, body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{method} {path} {body}: {}", reply.body);
        assert_eq!(reply.json()["error"]["field"], field, "{method} {path} {body}: {}", reply.body);
    }
    // Any RFC 3339 instant the schema allows is answered, years 0000 and 9999 with offsets included.
    for range in [
        "since=0001-01-01T00:00:00Z&until=0001-01-02T00:00:00Z",
        "since=0000-01-01T00:00:00%2B05:00&until=0000-01-01T10:00:00Z",
        "since=9999-12-31T00:00:00Z&until=9999-12-31T23:59:59-12:00",
    ] {
        let reply = app.send(v1_request("GET", &format!("/v1/keys/{id}/usage?{range}"), &token, "")).await;
        assert_eq!(reply.status, StatusCode::OK, "{range}: {}", reply.body);
        let buckets = reply.json()["buckets"].as_array().expect("buckets").clone();
        assert!(!buckets.is_empty(), "{range}");
        assert!(buckets.iter().all(|bucket| bucket["counts"] == serde_json::json!({})), "{range}: nothing used then");
    }
    let cookie = app.signed_up("ann@example.com").await;
    for query in
        ["from=2026-01-01&to=%2B262142-12-31", "from=-262143-01-01&to=2026-01-01", "from=0001-01-01&to=0001-01-02"]
    {
        let org = app.org(&cookie).await;
        let reply = app.get(&format!("/usage/export.csv?org={org}&{query}"), Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {}", reply.body);
    }
    let reply = app
        .post_form(
            "/api/keys/create",
            &[("org", &app.org(&cookie).await), ("name", "ci"), ("expiry", "custom"), ("custom_date", "+262142-12-31")],
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.body.contains("custom_date"), "{}", reply.body);
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_case_insensitively_everywhere() {
    use app::domain::service_tokens::Permission;
    let app = TestApp::new().await;
    let token = app.service_token(&[Permission::Verify]).await;
    let key = app::domain::keys::format::generate(&Default::default()).expect("random");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let verify = Request::builder()
            .method("POST")
            .uri("/v1/keys/verify")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("{scheme}  {token}"))
            .body(Body::from(format!(r#"{{"key": "{}"}}"#, key.expose())))
            .expect("request");
        assert_eq!(app.send(verify).await.status, StatusCode::OK, "{scheme} on /v1/keys/verify");
        let exchange = Request::builder()
            .method("POST")
            .uri("/v1/tokens")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("{scheme} {}", key.expose()))
            .body(Body::empty())
            .expect("request");
        let reply = app.send(exchange).await;
        // An unknown key: refused as a key, not as a malformed header.
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains("NOT_FOUND"), "{scheme} on /v1/tokens: {}", reply.body);
    }
    let basic = Request::builder()
        .method("POST")
        .uri("/v1/keys/verify")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Basic {token}"))
        .body(Body::empty())
        .expect("request");
    let reply = app.send(basic).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("Bearer scheme"), "{}", reply.body);
}

#[tokio::test]
async fn too_many_401s_from_one_address_are_answered_429_before_any_lookup() {
    use latchkey_server::v1::unauthorized::UNAUTHORIZED_PER_WINDOW;
    let app = TestApp::new().await;
    let stranger =
        app::domain::keys::format::generate(&app::domain::keys::format::KeyPrefix::new("lksvc").expect("prefix"))
            .expect("random");
    for n in 0..UNAUTHORIZED_PER_WINDOW {
        let reply = app.send(v1_request("POST", "/v1/keys/verify", stranger.expose(), "{}")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let refused = app.send(v1_request("POST", "/v1/keys/verify", stranger.expose(), "{}")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "rate_limited");
    assert!(refused.header("retry-after").is_some_and(|wait| wait.parse::<u64>().is_ok_and(|s| (1..=60).contains(&s))));
    let unknown_key = app::domain::keys::format::generate(&Default::default()).expect("random");
    let exchange = app.send(v1_request("POST", "/v1/tokens", unknown_key.expose(), "{}")).await;
    assert_eq!(exchange.status, StatusCode::TOO_MANY_REQUESTS, "the key exchange is refused too: {}", exchange.body);
    assert_eq!(exchange.json()["error"], "rate_limited", "in OAuth's shape");
    let elsewhere = app
        .send_from(v1_request("POST", "/v1/keys/verify", stranger.expose(), "{}"), ([198, 51, 100, 1], 1).into())
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED, "another address is not affected");
    assert_eq!(
        app.verification.tokens.len(),
        (0, 1),
        "the unknown token is remembered apart from real ones, and looked up once"
    );
}

/// Sends 40 requests whose credentials do not work from one address; answers how many got 429 (the rest
/// must get 401).
async fn refused_of_forty(app: &TestApp, request: impl Fn() -> Request<Body>) -> usize {
    let mut refused = 0;
    for _ in 0..40 {
        let reply = app.send(request()).await;
        assert!(matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{}", reply.body);
        refused += usize::from(reply.status == StatusCode::TOO_MANY_REQUESTS);
    }
    refused
}

#[tokio::test]
async fn a_neighbour_with_an_old_service_token_never_locks_out_a_service_whose_token_works() {
    use app::domain::service_tokens::Permission;
    let app = TestApp::new().await;
    let working = app.service_token(&[Permission::Verify]).await;
    let old = app::domain::keys::format::generate(&app::domain::keys::format::KeyPrefix::new("lksvc").expect("prefix"))
        .expect("random");
    let verify = |token: &str| v1_request("POST", "/v1/keys/verify", token, r#"{"key": "lk_nothing"}"#);
    let refused = refused_of_forty(&app, || verify(old.expose())).await;
    assert_eq!(refused, 10, "the old token is still slowed: 30 answers of 401, then 429");
    for n in 0..3 {
        let reply = app.send(verify(&working)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "request {n} with the working token, from the same address: {}",
            reply.body
        );
    }
    let again = app.send(verify(old.expose())).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS, "and the old one is refused still: {}", again.body);
    assert!(again.header("retry-after").is_some());
    // No token, or one of the wrong form, is no guess: refused without a lookup, 401 as ever.
    assert_eq!(app.send(verify("not a token at all")).await.status, StatusCode::UNAUTHORIZED);
    let bare = Request::builder().method("POST").uri("/v1/keys/verify").header(header::HOST, HOST);
    let bare = app.send(bare.body(Body::from("{}")).expect("request")).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "{}", bare.body);
}

#[tokio::test]
async fn requests_without_a_token_or_with_a_malformed_one_never_start_a_block() {
    let app = TestApp::new().await;
    for n in 0..60 {
        let malformed = app.send(v1_request("POST", "/v1/keys/verify", "lksvc_not-even-close", "{}")).await;
        assert_eq!(malformed.status, StatusCode::UNAUTHORIZED, "attempt {n}: {}", malformed.body);
        let bare = Request::builder().method("GET").uri("/v1/keys").header(header::HOST, HOST);
        let bare = app.send(bare.body(Body::empty()).expect("request")).await;
        assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_eq!(app.verification.tokens.len(), (0, 0), "nothing was looked up");
}

#[tokio::test]
async fn a_neighbour_with_a_revoked_api_key_never_locks_out_a_service_whose_key_works() {
    use app::domain::service_tokens::Permission;
    let app = TestApp::new().await;
    let token = app.service_token(&[Permission::KeysWrite]).await;
    app.customer("customer@example.com").await;
    let body = serde_json::json!({"account": "customer@example.com", "name": "worker", "scopes": ["orders:read"]});
    let created = app.v1(axum::http::Method::POST, "/v1/keys", Some(&token), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let working = created.json()["key"].as_str().expect("key").to_owned();
    let wrong = app::domain::keys::format::generate(&Default::default()).expect("random");
    let exchange = |key: &str| v1_request("POST", "/v1/tokens", key, "");
    let refused = refused_of_forty(&app, || exchange(wrong.expose())).await;
    assert_eq!(refused, 10, "the wrong key is still slowed: 30 answers of 401, then 429");
    for n in 0..3 {
        let reply = app.send(exchange(&working)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "exchange {n} with the working key, from the same address: {}",
            reply.body
        );
        assert!(reply.json()["access_token"].is_string(), "{}", reply.body);
    }
    let again = app.send(exchange(wrong.expose())).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS, "{}", again.body);
    assert_eq!(again.json()["error"], "rate_limited", "in OAuth's shape");
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_per_hour() {
    let app = TestApp::new().await;
    for n in 0..10 {
        let reply = app.sign_up(&format!("user{n}@example.com"), PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "sign-up {n}: {}", reply.body);
    }
    let refused = app.sign_up("user10@example.com", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    assert!(refused.body.contains("SignUpsThrottled"), "{}", refused.body);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_logged_and_spoofing_is_ignored() {
    use latchkey_server::middleware::client_ip::TrustedProxies;
    use latchkey_server::router::WebPolicy;
    let proxies = TrustedProxies::new(&["10.0.0.0/8".parse().expect("net")]);
    let app = TestApp::with_web(WebPolicy { trusted_proxies: proxies, ..WebPolicy::default() }).await;
    let cookie = app.signed_up("ann@example.com").await;
    let signed_in_via = |peer: [u8; 4], forwarded: &'static str| {
        let mut request = sign_in_request(&[("x-forwarded-for", forwarded)]);
        request.headers_mut().insert(header::ORIGIN, crate::support::ORIGIN.parse().expect("origin"));
        app.send_from(request, (peer, 40000).into())
    };
    assert_eq!(signed_in_via([10, 0, 0, 2], "1.1.1.1, 198.51.100.9").await.status, StatusCode::OK);
    assert_eq!(signed_in_via([203, 0, 113, 50], "198.51.100.77").await.status, StatusCode::OK);
    let id = app.org(&cookie).await;
    let log = app::domain::activity::list(&app.db, app::domain::activity::Log::Account(&id), 1, 50).await.expect("log");
    let addresses: Vec<String> = log
        .events
        .iter()
        .filter(|event| event.kind == app::domain::activity::EventKind::SignedIn)
        .filter_map(|event| event.client_ip.clone())
        .collect();
    assert!(addresses.contains(&"198.51.100.9".to_owned()), "the client behind the proxy: {addresses:?}");
    assert!(addresses.contains(&"203.0.113.50".to_owned()), "an untrusted peer's header is ignored: {addresses:?}");
    assert!(!addresses.iter().any(|ip| ip == "198.51.100.77" || ip == "10.0.0.2" || ip == "1.1.1.1"), "{addresses:?}");
}

#[tokio::test]
async fn a_starved_password_hasher_answers_503_with_retry_after_instead_of_queueing() {
    use app::domain::accounts::password::PasswordHasher;
    let hasher = Arc::new(PasswordHasher::new(1).expect("hasher"));
    let app = TestApp::with_hasher(hasher.clone()).await;
    app.signed_up("ann@example.com").await;
    let held = hasher.take_every_permit().await.expect("the only permit");
    let busy = app.send(sign_in_request(&[("origin", crate::support::ORIGIN)])).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{}", busy.body);
    assert!(busy.header("retry-after").is_some_and(|wait| wait.parse::<u64>().is_ok_and(|s| s >= 1)));
    assert!(busy.body.contains("Busy"), "{}", busy.body);
    drop(held);
    assert_eq!(app.send(sign_in_request(&[("origin", crate::support::ORIGIN)])).await.status, StatusCode::OK);
}
