use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use latchkey_server::router::WebPolicy;

#[tokio::test]
async fn over_plain_http_the_cookie_is_http_only_and_lax() {
    let app = TestApp::new().await;
    let reply = app.sign_up("ann@example.com", PASSWORD).await;
    let cookie = reply.set_cookie().expect("cookie");
    assert!(cookie.starts_with("latchkey_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http on localhost cannot use Secure cookies: {cookie}");
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_prefixed() {
    let web = WebPolicy { public_origin: Some("https://keys.example.com".into()), https: true, ..WebPolicy::default() };
    let app = TestApp::with_web(web).await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/sign_up")
        .header("host", "keys.example.com")
        .header("origin", "https://keys.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "email=ann%40example.com&password={}&next=",
            crate::support::encode(PASSWORD)
        )))
        .expect("request");
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cookie = reply.set_cookie().expect("cookie");
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("Domain="), "__Host- cookies are host-only: {cookie}");
    assert!(reply.header("strict-transport-security").is_some(), "HSTS over https");
}

#[tokio::test]
async fn after_sign_out_the_old_cookie_is_worthless() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let reply = app.post_form("/api/sign_out", &[], Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.whoami(&cookie).await, serde_json::Value::Null);
    assert_eq!(app.get("/", Some(&cookie)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_in_issues_a_new_session_id_and_retires_the_old_one() {
    let app = TestApp::new().await;
    let first = app.signed_up("ann@example.com").await;
    let second = app.sign_in("ann@example.com", PASSWORD, Some(&first)).await.session_cookie().expect("cookie");
    assert_ne!(first, second);
    assert_eq!(app.whoami(&first).await, serde_json::Value::Null);
    assert_eq!(app.whoami(&second).await["email"], "ann@example.com");
}

#[tokio::test]
async fn an_idle_session_is_signed_out() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    app.clock.advance(chrono::Duration::hours(12) + chrono::Duration::minutes(1));
    assert_eq!(app.whoami(&cookie).await, serde_json::Value::Null);
}

#[tokio::test]
async fn the_database_never_sees_the_session_cookie() {
    use sea_orm::EntityTrait;
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let id = cookie.split_once('=').expect("name=value").1.to_owned();
    let rows = app::domain::storage::sessions::Entity::find().all(&app.db).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].id_hash.contains(&id) && !rows[0].data.contains(&id));
}

#[tokio::test]
async fn sign_up_sign_out_and_sign_in_are_logged_with_address_and_user_agent() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    app.post_form("/api/sign_out", &[], Some(&cookie)).await;
    app.sign_in("ann@example.com", "wrong password", None).await;
    let account =
        app.whoami(&app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("cookie")).await;
    let id = account["id"].as_str().expect("id");
    let log = app::domain::activity::list(&app.db, app::domain::activity::Log::Account(id), 1, 50).await.expect("log");
    let kinds: Vec<&str> = log.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["sign_in", "sign_in.failed", "sign_out", "sign_in", "account.created"]);
    for event in &log.events {
        assert_eq!(event.client_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.user_agent.as_deref(), Some(crate::support::USER_AGENT));
    }
}
