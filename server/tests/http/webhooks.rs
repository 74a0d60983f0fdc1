//! The Webhooks pages through the router: their buttons post without the bundle and come back to the page,
//! which says what they did or why they were refused.

use crate::support::{ORIGIN, Reply, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn the_webhooks_page_works_as_plain_form_posts_and_says_what_happened() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let org = app.org(&cookie).await;
    let page = format!("/o/{org}/webhooks");
    let follow = |reply: &Reply| reply.header("location").expect("a redirect").trim_start_matches(ORIGIN).to_owned();

    // Registering shows the signing secret once: that stays a call from the page's island.
    let fields = [("org", org.as_str()), ("url", "https://1.1.1.1/latchkey"), ("description", "billing")];
    let added = app.post_form("/api/webhooks/add", &fields, Some(&cookie)).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let list = app.get_json(&format!("/api/webhooks/list?org={org}"), &cookie).await.json();
    let id = list["endpoints"][0]["id"].as_str().expect("an endpoint").to_owned();
    let act = |action: &'static str| [("org", org.as_str()), ("id", id.as_str()), ("action", action)];

    let tested = app.post_plain_form("/api/webhooks/act", &act("test"), &cookie, &page).await;
    assert_eq!(follow(&tested), format!("{page}?done=test#webhook-{id}"));
    let shown = app.get(&format!("{page}?done=test"), Some(&cookie)).await;
    assert!(shown.body.contains("Test event queued"), "{}", shown.body);

    let paused = app.post_plain_form("/api/webhooks/act", &act("pause"), &cookie, &page).await;
    assert_eq!(follow(&paused), format!("{page}?done=pause#webhook-{id}"));
    let shown = app.get(&format!("{page}?done=pause"), Some(&cookie)).await;
    assert!(shown.body.contains("Paused: events wait") && shown.body.contains("badge-dead"), "{}", shown.body);
    assert!(shown.body.contains(">Resume</button>"), "{}", shown.body);

    // "Rotate secret" asks in the endpoint's card; the new secret is shown once by the page's island.
    assert!(!shown.body.contains("Yes, rotate"), "nothing is being confirmed yet");
    let asking = app.get(&format!("{page}?rotate={id}"), Some(&cookie)).await;
    assert!(asking.body.contains("Yes, rotate") && asking.body.contains("SecretForm"), "{}", asking.body);
    let rotated = app.post_form("/api/webhooks/rotate", &[("org", &org), ("id", &id)], Some(&cookie)).await;
    assert!(rotated.json().as_str().is_some_and(|secret| secret.starts_with("whsec_")), "{}", rotated.body);

    let unknown = [("org", org.as_str()), ("id", id.as_str()), ("event_id", "evt_nothing")];
    let refused = app.post_plain_form("/api/webhooks/resend", &unknown, &cookie, &page).await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let back = app.get(&follow(&refused), Some(&cookie)).await;
    assert!(back.body.contains("Not found."), "the refusal, on the page: {}", back.body);

    // "Remove" asks on the page itself; "Yes, remove" posts.
    assert!(!shown.body.contains("Yes, remove"), "nothing is being confirmed yet");
    let asking = app.get(&format!("{page}?confirm={id}"), Some(&cookie)).await;
    assert!(asking.body.contains("Yes, remove"), "{}", asking.body);
    let removed = app.post_plain_form("/api/webhooks/act", &act("delete"), &cookie, &page).await;
    assert_eq!(follow(&removed), format!("{page}?done=removed#endpoints"));
    let shown = app.get(&format!("{page}?done=removed"), Some(&cookie)).await;
    assert!(shown.body.contains("Endpoint removed") && shown.body.contains("No endpoints yet"), "{}", shown.body);
}
