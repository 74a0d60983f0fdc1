//! The operator's service-token functions: operators only; a token revoked there stops working at once.

use crate::support::{PASSWORD, TestApp};
use app::domain::accounts::create_account;
use app::domain::accounts::password::{Password, PasswordHasher};
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn operator(app: &TestApp) -> String {
    let hasher = PasswordHasher::new(1).expect("hasher");
    create_account(&app.db, &hasher, app.clock.as_ref(), "ops@example.com", &Password::new(PASSWORD), true)
        .await
        .expect("operator");
    let reply = app.sign_in("ops@example.com", PASSWORD, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.session_cookie().expect("cookie")
}

#[tokio::test]
async fn customers_cannot_see_or_use_the_service_token_functions() {
    let app = TestApp::new().await;
    let customer = app.signed_up("ann@example.com").await;
    assert_eq!(app.get_json("/api/service_tokens/list", &customer).await.status, StatusCode::NOT_FOUND);
    let create = [("name", "mine"), ("permissions[0]", "keys:write")];
    assert_eq!(
        app.post_form("/api/service_tokens/create", &create, Some(&customer)).await.status,
        StatusCode::NOT_FOUND
    );
    let page = app.get("/operator/service-tokens", Some(&customer)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_operator_creates_lists_and_revokes_tokens_and_revocation_is_immediate() {
    let app = TestApp::new().await;
    let cookie = operator(&app).await;
    let refused = app.post_form("/api/service_tokens/create", &[("name", "gateway")], Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("permissions"), "{}", refused.body);
    let bad = [("name", "gateway"), ("permissions[0]", "admin")];
    let refused = app.post_form("/api/service_tokens/create", &bad, Some(&cookie)).await;
    assert!(refused.body.contains("unknown permission"), "{}", refused.body);

    let fields = [("name", "gateway"), ("permissions[0]", "verify")];
    let created = app.post_form("/api/service_tokens/create", &fields, Some(&cookie)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let created = created.json();
    let token = created["plaintext"].as_str().expect("token").to_owned();
    assert!(token.starts_with("lksvc_"));
    let listed = app.get_json("/api/service_tokens/list", &cookie).await;
    assert!(listed.body.contains("gateway") && !listed.body.contains(&token[6..]), "{}", listed.body);
    let page = app.get("/operator/service-tokens", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("gateway"));

    let body = json!({"key": "lk_x"});
    let ok = app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(body.clone())).await;
    assert_eq!(ok.status, StatusCode::OK, "the token works (and its check is now cached)");
    let id = created["token"]["id"].as_str().expect("id");
    // "Revoke" asks first, with the page's own address; "Yes, revoke" posts without the bundle.
    assert!(!page.body.contains("Yes, revoke"), "nothing is being confirmed yet");
    let asking = app.get(&format!("/operator/service-tokens?confirm={id}"), Some(&cookie)).await;
    assert!(
        asking.body.contains("Yes, revoke") && asking.body.contains(&format!(r#"value="{id}""#)),
        "{}",
        asking.body
    );
    let revoked =
        app.post_plain_form("/api/service_tokens/revoke", &[("id", id)], &cookie, "/operator/service-tokens").await;
    assert_eq!(revoked.header("location"), Some("/operator/service-tokens#tokens"), "{}", revoked.body);
    let refused = app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(body)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "revoked in the portal: refused at once");
    let page = app.get("/operator/service-tokens", Some(&cookie)).await;
    assert!(page.body.contains("Revoked") && !page.body.contains(r#"name="confirm""#), "{}", page.body);
}
