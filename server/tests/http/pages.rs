use crate::support::TestApp;
use axum::http::{StatusCode, header};

#[tokio::test]
async fn signed_out_visitors_to_a_private_page_are_sent_to_sign_in_and_told_where_they_were_going() {
    let app = TestApp::new().await;
    let reply = app.get("/", None).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/sign-in?next=/"));
}

#[tokio::test]
async fn home_leads_to_the_keys_of_ones_organisation_which_shows_the_signed_in_email() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let org = app.org(&cookie).await;
    let reply = app.get("/", Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    assert_eq!(reply.header("location"), Some(format!("/o/{org}/keys").as_str()));
    let keys = app.get(&format!("/o/{org}/keys"), Some(&cookie)).await;
    assert_eq!(keys.status, StatusCode::OK);
    assert!(keys.body.contains("ann@example.com"), "{}", keys.body);
    let old = app.get("/usage", Some(&cookie)).await;
    assert_eq!(old.header("location"), Some(format!("/o/{org}/usage").as_str()), "old addresses still lead there");
}

#[tokio::test]
async fn signed_in_visitors_to_sign_in_or_sign_up_are_sent_home() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    for page in ["/sign-in", "/sign-up"] {
        let reply = app.get(page, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{page}");
        assert_eq!(reply.header("location"), Some("/"), "{page}");
    }
}

#[tokio::test]
async fn the_sign_in_page_renders_a_labelled_form() {
    let app = TestApp::new().await;
    let reply = app.get("/sign-in?next=/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    for needle in [
        r#"<label for="field-email">Email</label>"#,
        r#"<label for="field-password">Password</label>"#,
        ">Sign in</button>",
    ] {
        assert!(reply.body.contains(needle), "missing {needle}");
    }
}

#[tokio::test]
async fn unknown_paths_answer_404_with_a_page() {
    let app = TestApp::new().await;
    let reply = app.get("/no/such/page", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("Page not found"));
    assert!(reply.header(header::CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with("text/html")));
}
