use crate::support::{HOST, ORIGIN, PASSWORD, TestApp, encode};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

#[tokio::test]
async fn signed_out_visitors_to_a_private_page_are_sent_to_sign_in_and_told_where_they_were_going() {
    let app = TestApp::new().await;
    let reply = app.get("/", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/sign-in?next=/"));
}

#[tokio::test]
async fn every_private_page_answers_a_signed_out_client_303_on_the_server_whatever_it_accepts() {
    let app = TestApp::new().await;
    for page in ["/", "/settings", "/o/org_1/keys", "/o/org_1/keys/new", "/organisations/new", "/operator/usage"] {
        // A script, a monitor or a crawler: no Accept header, no bundle to run.
        let request = Request::builder().method(Method::GET).uri(page).header(header::HOST, HOST).body(Body::empty());
        let reply = app.send(request.expect("request")).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}: {}", reply.body);
        assert_eq!(reply.header("location"), Some(format!("/sign-in?next={page}").as_str()), "{page}");
        assert!(reply.body.is_empty(), "{page}: no empty page to leave");
        assert!(reply.header("serverfnredirect").is_none());
    }
}

#[tokio::test]
async fn home_leads_to_the_keys_of_ones_organisation_which_shows_the_signed_in_email() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let org = app.org(&cookie).await;
    let reply = app.get("/", Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
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
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}");
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

/// The sign-in page loads no form code: the browser posts the form itself, as it would with scripts off.
async fn post_sign_in_form(app: &TestApp, email: &str, password: &str, next: &str) -> crate::support::Reply {
    let body = format!("email={}&password={}&next={}", encode(email), encode(password), encode(next));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/sign_in")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .header(header::REFERER, format!("{ORIGIN}/sign-in?next={}", encode(next)))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    app.send(request).await
}

#[tokio::test]
async fn the_sign_in_form_works_as_a_plain_form_post_refusals_come_back_to_the_page() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;

    let refused = post_sign_in_form(&app, "ann@example.com", "not my password", "/settings").await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let back = refused.header("location").expect("back to the page").to_owned();
    assert!(back.starts_with(&format!("{ORIGIN}/sign-in?next=")), "{back}");
    assert!(refused.session_cookie().is_none(), "a refusal signs nobody in");
    let page = app.get(back.trim_start_matches(ORIGIN), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Email or password is incorrect."), "{}", page.body);
    assert!(page.body.contains(r#"name="next" value="/settings""#), "the destination is kept: {}", page.body);

    let accepted = post_sign_in_form(&app, "ann@example.com", PASSWORD, "/settings").await;
    assert_eq!(accepted.status, StatusCode::FOUND, "{}", accepted.body);
    assert_eq!(accepted.header("location"), Some("/settings"));
    let cookie = accepted.session_cookie().expect("signed in");
    assert_eq!(app.get("/settings", Some(&cookie)).await.status, StatusCode::OK);
}
