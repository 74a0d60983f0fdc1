use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn sign_up_signs_the_new_account_in() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("Ann@Example.com").await;
    assert_eq!(app.whoami(&cookie).await["email"], "ann@example.com");
}

#[tokio::test]
async fn sign_up_refusals_name_the_field_and_say_what_to_do() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;
    let cases = [
        ("ann@example.com", PASSWORD, "email", "already exists"),
        ("not-an-email", PASSWORD, "email", "like name@example.com"),
        ("bob@example.com", "short", "password", "at least 8 characters"),
        ("bob@example.com", &"x".repeat(129), "password", "at most 128 characters"),
    ];
    for (email, password, field, message) in cases {
        let reply = app.sign_up(email, password).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        let body: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        assert_eq!(body["Invalid"]["field"], field, "{}", reply.body);
        assert!(body["Invalid"]["message"].as_str().is_some_and(|m| m.contains(message)), "{}", reply.body);
        assert!(reply.session_cookie().is_none(), "a refused sign-up signs nobody in");
    }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;
    let wrong = app.sign_in("ann@example.com", "not the password", None).await;
    let unknown = app.sign_in("nobody@example.com", "not the password", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert!(wrong.body.contains("InvalidCredentials"));
}

#[tokio::test]
async fn repeated_failures_get_429_with_retry_after_and_the_wait_in_words() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;
    // Five attempts are checked; the fifth failure starts the first wait.
    for _ in 0..5 {
        assert_eq!(app.sign_in("ann@example.com", "guess", None).await.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = app.sign_in("ann@example.com", PASSWORD, None).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{}", throttled.body);
    let retry_after: u64 = throttled.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(throttled.body.contains("Throttled"), "{}", throttled.body);

    app.clock.advance(chrono::Duration::seconds(2));
    let cookie =
        app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("signed in after the wait");
    assert_eq!(app.whoami(&cookie).await["email"], "ann@example.com");
}

#[tokio::test]
async fn sign_in_with_an_empty_field_says_which_one() {
    let app = TestApp::new().await;
    for (email, password, field) in [("", PASSWORD, "email"), ("ann@example.com", "", "password")] {
        let reply = app.sign_in(email, password, None).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        assert_eq!(body["Invalid"]["field"], field, "{}", reply.body);
    }
}
