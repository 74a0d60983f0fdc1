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

#[tokio::test]
async fn the_settings_forms_work_as_plain_form_posts_and_the_page_says_what_happened() {
    let app = TestApp::new().await;
    let laptop = app.signed_up("ann@example.com").await;
    let phone = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("phone");

    let fields = [("current_password", "guess"), ("new_password", NEW_PASSWORD)];
    let refused = app.post_plain_form("/api/account/password", &fields, &laptop, "/settings").await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let back = refused.header("location").expect("back to the page").to_owned();
    let page = app.get(back.trim_start_matches(crate::support::ORIGIN), Some(&laptop)).await;
    assert!(page.body.contains("Your current password is not correct."), "{}", page.body);
    assert!(!page.body.contains("Password changed"), "{}", page.body);

    let ended = app.post_plain_form("/api/security/sessions/end_others", &[], &laptop, "/settings").await;
    assert_eq!(ended.header("location"), Some("/settings?done=ended&ended=1#sessions"), "{}", ended.body);
    assert_eq!(app.whoami(&phone).await, Value::Null, "the phone is signed out");
    let page = app.get("/settings?done=ended&ended=1", Some(&laptop)).await;
    assert!(page.body.contains("Signed out 1 other session."), "{}", page.body);

    let saved = app.post_plain_form("/api/security/notices/save", &[], &laptop, "/settings").await;
    assert_eq!(saved.header("location"), Some("/settings?done=notices#notices"), "{}", saved.body);
    let page = app.get("/settings?done=notices", Some(&laptop)).await;
    assert!(page.body.contains(r#"role="status" class="saved">Saved</span>"#), "{}", page.body);
    let notices = page.body.split(r#"data-testid="notices""#).nth(1).and_then(|rest| rest.split("</section>").next());
    assert!(notices.is_some_and(|card| card.contains("checkbox") && !card.contains("checked")), "all off: {notices:?}");

    let fields = [("current_password", PASSWORD), ("new_password", NEW_PASSWORD)];
    let changed = app.post_plain_form("/api/account/password", &fields, &laptop, "/settings").await;
    assert_eq!(changed.header("location"), Some("/settings?done=password#password"), "{}", changed.body);
    let laptop = changed.session_cookie().expect("this session continues under a new id");
    let page = app.get("/settings?done=password", Some(&laptop)).await;
    assert!(page.body.contains(r#"role="status" class="saved">Password changed</span>"#), "{}", page.body);

    let deleted = app.post_plain_form("/api/account/delete", &[("password", NEW_PASSWORD)], &laptop, "/settings").await;
    assert_eq!(deleted.header("location"), Some("/sign-up"), "{}", deleted.body);
    assert_eq!(app.whoami(&laptop).await, Value::Null);
}
