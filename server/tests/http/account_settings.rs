use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use serde_json::Value;

const NEW_PASSWORD: &str = "an entirely new passphrase";

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = TestApp::new().await;
    let laptop = app.signed_up("ann@example.com").await;
    let phone = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("phone");

    let wrong = app
        .post_form(
            "/api/account/password",
            &[("current_password", "guess"), ("new_password", NEW_PASSWORD)],
            Some(&phone),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(wrong.body.contains("current_password"), "{}", wrong.body);

    let changed = app
        .post_form(
            "/api/account/password",
            &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)],
            Some(&phone),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let phone_now = changed.session_cookie().expect("this session continues under a new id");
    assert_eq!(app.whoami(&laptop).await, Value::Null, "the other session is over");
    assert_eq!(app.whoami(&phone).await, Value::Null, "the old id of this session is over too");
    assert_eq!(app.whoami(&phone_now).await["email"], "ann@example.com");
    assert_eq!(app.sign_in("ann@example.com", PASSWORD, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in("ann@example.com", NEW_PASSWORD, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_ends_everything() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let other = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("second session");
    app.post_form(
        "/api/keys/create",
        &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")],
        Some(&cookie),
    )
    .await;

    let refused = app.post_form("/api/account/delete", &[("password", "guess")], Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(app.whoami(&cookie).await["email"], "ann@example.com");

    let deleted = app.post_form("/api/account/delete", &[("password", PASSWORD)], Some(&cookie)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    for session in [&cookie, &other] {
        assert_eq!(app.whoami(session).await, Value::Null);
    }
    assert_eq!(app.sign_in("ann@example.com", PASSWORD, None).await.status, StatusCode::UNAUTHORIZED);
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(app::domain::storage::api_keys::Entity::find().count(&app.db).await.expect("count"), 0);
}
