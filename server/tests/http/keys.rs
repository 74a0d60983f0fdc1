use crate::support::{Reply, TestApp};
use axum::http::StatusCode;
use serde_json::Value;

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {}", reply.body))
}

/// Creates a key in the cookie's own organisation.
async fn create(app: &TestApp, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    let org = app.org(cookie).await;
    let mut fields = fields.to_vec();
    fields.push(("org", &org));
    app.post_form("/api/keys/create", &fields, Some(cookie)).await
}

fn is_default_key(text: &str) -> bool {
    text.len() == 52 && text.starts_with("lk_") && text[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test]
async fn a_created_key_is_shown_once_never_stored_and_listed_by_its_hint() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let reply = create(
        &app,
        &cookie,
        &[("name", "CI"), ("scopes[0]", "orders:read"), ("scopes[1]", "orders:write"), ("expiry", "30")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let shown = json(&reply);
    let plaintext = shown["plaintext"].as_str().expect("plaintext").to_owned();
    assert!(is_default_key(&plaintext), "{plaintext}");
    assert_eq!(shown["key"]["scopes"], serde_json::json!(["orders:read", "orders:write"]));

    let org = app.org(&cookie).await;
    let list = app.get_json(&format!("/api/keys/list?org={org}"), &cookie).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(!list.body.contains(&plaintext[3..]), "the list never carries the key");
    assert_eq!(json(&list)["keys"][0]["hint"], shown["key"]["hint"]);
    assert_eq!(json(&list)["keys"][0]["last_used"], "Never");
}

#[tokio::test]
async fn another_accounts_key_is_not_found_for_every_function() {
    let app = TestApp::new().await;
    let ann = app.signed_up("ann@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let created = create(&app, &ann, &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
    let id = json(&created)["key"]["id"].as_str().expect("id").to_owned();
    let (anns_org, bobs_org) = (app.org(&ann).await, app.org(&bob).await);
    let before = app.get_json(&format!("/api/keys/get?org={anns_org}&id={id}"), &ann).await.body;

    // Bob asks in his own organisation, and in Ann's (of which he is not a member): both look missing.
    let missing = app.get_json(&format!("/api/keys/get?org={bobs_org}&id=no-such-key"), &bob).await;
    for org in [&bobs_org, &anns_org] {
        let foreign = app.get_json(&format!("/api/keys/get?org={org}&id={id}"), &bob).await;
        assert_eq!((foreign.status, &foreign.body), (missing.status, &missing.body), "same answer as a missing key");
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        let attempts: [(&str, Vec<(&str, &str)>); 3] = [
            (
                "/api/keys/update",
                vec![("org", org), ("id", &id), ("name", "mine"), ("scopes[0]", "orders:read"), ("expiry", "keep")],
            ),
            ("/api/keys/roll", vec![("org", org), ("id", &id), ("grace", "none")]),
            ("/api/keys/revoke", vec![("org", org), ("id", &id)]),
        ];
        for (path, fields) in attempts {
            let reply = app.post_form(path, &fields, Some(&bob)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.body);
        }
    }
    assert_eq!(
        app.get_json(&format!("/api/keys/get?org={anns_org}&id={id}"), &ann).await.body,
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn key_functions_need_a_signed_in_session() {
    let app = TestApp::new().await;
    let reply = app
        .post_form(
            "/api/keys/create",
            &[("org", "whatever"), ("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

#[tokio::test]
async fn refusals_name_the_field() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let cases: [(Vec<(&str, &str)>, &str); 4] = [
        (vec![("name", ""), ("scopes[0]", "orders:read"), ("expiry", "never")], "name"),
        (vec![("name", "CI"), ("expiry", "never")], "scopes"),
        (vec![("name", "CI"), ("scopes[0]", "admin"), ("expiry", "never")], "scopes"),
        (
            vec![("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "custom"), ("custom_date", "2001-01-01")],
            "custom_date",
        ),
    ];
    for (fields, field) in cases {
        let reply = create(&app, &cookie, &fields).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}: {}", reply.body);
        assert_eq!(json(&reply)["Invalid"]["field"], field, "{}", reply.body);
    }
}

#[tokio::test]
async fn rolling_shows_the_successor_once_and_marks_the_old_key_rolled() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let created = create(&app, &cookie, &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
    let old = json(&created);
    let id = old["key"]["id"].as_str().expect("id");
    let org = app.org(&cookie).await;
    let rolled = app.post_form("/api/keys/roll", &[("org", &org), ("id", id), ("grace", "1h")], Some(&cookie)).await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    assert_eq!(rolled.header("cache-control"), Some("no-store"));
    let successor = json(&rolled);
    assert!(is_default_key(successor["plaintext"].as_str().expect("plaintext")));
    assert_ne!(successor["plaintext"], old["plaintext"]);
    let now_old = json(&app.get_json(&format!("/api/keys/get?org={org}&id={id}"), &cookie).await);
    assert!(now_old["status"]["Rolled"]["until"].is_string(), "{now_old}");

    let revoked = app.post_form("/api/keys/revoke", &[("org", &org), ("id", id)], Some(&cookie)).await;
    let revoked = json(&revoked);
    assert_eq!((revoked["key"]["status"].as_str(), revoked["tokens_ended"].as_u64()), (Some("Revoked"), Some(0)));
    let again = app.post_form("/api/keys/roll", &[("org", &org), ("id", id), ("grace", "none")], Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

#[tokio::test]
async fn the_activity_log_lists_key_changes_for_the_owner_only() {
    let app = TestApp::new().await;
    let ann = app.signed_up("ann@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    create(&app, &ann, &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
    let (anns_org, bobs_org) = (app.org(&ann).await, app.org(&bob).await);
    let log = json(&app.get_json(&format!("/api/activity?org={anns_org}"), &ann).await);
    let whats: Vec<&str> =
        log["events"].as_array().expect("events").iter().filter_map(|e| e["what"].as_str()).collect();
    assert_eq!(whats, ["Key created"]);
    assert_eq!(log["events"][0]["actor"], "ann@example.com", "who did it");
    let bobs = json(&app.get_json(&format!("/api/activity?org={bobs_org}"), &bob).await);
    assert!(bobs["events"].as_array().expect("events").iter().all(|e| e["what"] != "Key created"));
    let peek = app.get_json(&format!("/api/activity?org={anns_org}"), &bob).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "another organisation's log: {}", peek.body);
}

#[tokio::test]
async fn the_key_page_sets_an_allowlist_and_a_rate_limit_that_verification_enforces() {
    use app::domain::service_tokens::Permission;
    use axum::http::Method;
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let created = create(&app, &cookie, &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
    let shown = json(&created);
    let (id, plaintext) = (shown["key"]["id"].as_str().expect("id"), shown["plaintext"].as_str().expect("key"));
    let org = app.org(&cookie).await;
    let org = org.as_str();
    let token = app.service_token(&[Permission::Verify]).await;
    let verify = |ip: &'static str| {
        app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(serde_json::json!({"key": plaintext, "ip": ip})))
    };
    assert_eq!(verify("192.0.2.1").await.json()["code"], "VALID");

    let bad = [
        ("org", org),
        ("id", id),
        ("ip_allowlist", "10.0.0.0/8\nnot-a-network"),
        ("rate_limit", ""),
        ("rate_window", ""),
    ];
    let refused = app.post_form("/api/keys/controls", &bad, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("not-a-network"), "{}", refused.body);
    let half = [("org", org), ("id", id), ("ip_allowlist", ""), ("rate_limit", "5"), ("rate_window", "")];
    let refused = app.post_form("/api/keys/controls", &half, Some(&cookie)).await;
    assert!(refused.body.contains("rate_window"), "{}", refused.body);

    let good = [
        ("org", org),
        ("id", id),
        ("ip_allowlist", "10.0.0.0/8, 2001:db8::/32"),
        ("rate_limit", "1"),
        ("rate_window", "60"),
    ];
    let saved = app.post_form("/api/keys/controls", &good, Some(&cookie)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(json(&saved)["ip_allowlist"], serde_json::json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(json(&saved)["rate_limit"], serde_json::json!({"limit": 1, "window_seconds": 60}));
    assert_eq!(verify("192.0.2.1").await.json()["code"], "IP_NOT_ALLOWED", "the change applies at once");
    assert_eq!(verify("10.1.1.1").await.json()["code"], "VALID");
    assert_eq!(verify("10.1.1.1").await.json()["code"], "RATE_LIMITED");
    let log = app.get_json(&format!("/api/activity?org={org}"), &cookie).await;
    assert!(log.body.contains("allowlist anywhere → 10.0.0.0/8, 2001:db8::/32"), "{}", log.body);
}

#[tokio::test]
async fn the_keys_page_searches_filters_and_pages_from_its_address() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let org = app.org(&cookie).await;
    for i in 0..54 {
        let name = format!("worker {i:02}");
        let reply = create(&app, &cookie, &[("name", &name), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let billing =
        create(&app, &cookie, &[("name", "Billing"), ("scopes[0]", "orders:write"), ("expiry", "never")]).await;
    let billing = json(&billing)["key"]["id"].as_str().expect("id").to_owned();
    let revoked = app.post_form("/api/keys/revoke", &[("org", &org), ("id", &billing)], Some(&cookie)).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    let first = app.get(&format!("/o/{org}/keys"), Some(&cookie)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("54 keys · page 1 of 2"), "working keys only, 50 a page: {}", first.body);
    assert_eq!(first.body.matches("<tr").count(), 51, "a header and 50 keys");
    assert!(first.body.contains(&format!("href=\"/o/{org}/keys?page=2\"")), "a link to the next page");
    assert!(!first.body.contains(">Billing<"), "a revoked key is not among the working keys");

    let found = app.get(&format!("/o/{org}/keys?q=WORKER%200&sort=created_asc"), Some(&cookie)).await;
    assert!(found.body.contains("10 keys · page 1 of 1"), "{}", found.body);
    assert!(found.body.find(">worker 00<") < found.body.find(">worker 09<"), "oldest first");
    assert!(found.body.contains("value=\"WORKER 0\""), "the search box keeps the search");

    let gone = app.get(&format!("/o/{org}/keys?status=revoked&scope=orders%3Awrite"), Some(&cookie)).await;
    assert!(gone.body.contains(">Billing<") && gone.body.contains("1 key · page 1 of 1"), "{}", gone.body);
    let none = app.get(&format!("/o/{org}/keys?q=billing"), Some(&cookie)).await;
    assert!(
        none.body.contains("No keys match") && none.body.contains("status=any"),
        "offers every status: {}",
        none.body
    );

    let bad = app.get_json(&format!("/api/keys/list?org={org}&status=lost"), &cookie).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("There is no status filter"), "{}", bad.body);
    let page = app.get(&format!("/o/{org}/keys?sort=sideways"), Some(&cookie)).await;
    assert!(page.body.contains("There is no order"), "the page says what is wrong: {}", page.body);
    let long = app.get_json(&format!("/api/keys/list?org={org}&search={}", "x".repeat(101)), &cookie).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", long.body);
}

#[tokio::test]
async fn the_key_page_works_as_plain_form_posts_and_says_what_happened() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let created = create(&app, &cookie, &[("name", "CI"), ("scopes[0]", "orders:read"), ("expiry", "never")]).await;
    let id = json(&created)["key"]["id"].as_str().expect("id").to_owned();
    let org = app.org(&cookie).await;
    let page = format!("/o/{org}/keys/{id}");
    let follow = |reply: &Reply| {
        reply.header("location").expect("a redirect").trim_start_matches(crate::support::ORIGIN).to_owned()
    };

    let fields = [("org", org.as_str()), ("id", &id), ("name", "CI nightly"), ("expiry", "keep")];
    let refused = app.post_plain_form("/api/keys/update", &fields, &cookie, &page).await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let back = app.get(&follow(&refused), Some(&cookie)).await;
    assert!(back.body.contains("field-invalid"), "no scope ticked: the field says so: {}", back.body);
    // The refused form shows what was sent, not the saved settings: the new name, no scope ticked.
    assert!(back.body.contains(r#"value="CI nightly""#), "{}", back.body);
    assert!(!back.body.contains(r#"value="orders:read" checked"#), "{}", back.body);
    let fields = [
        ("org", org.as_str()),
        ("id", &id),
        ("name", "CI"),
        ("scopes[0]", "orders:write"),
        ("expiry", "custom"),
        ("custom_date", "2001-02-03"),
    ];
    let refused = app.post_plain_form("/api/keys/update", &fields, &cookie, &page).await;
    let back = app.get(&follow(&refused), Some(&cookie)).await;
    assert!(back.body.contains(r#"value="orders:write" checked"#), "the scope sent is ticked: {}", back.body);
    assert!(back.body.contains(r#"<option value="custom" selected"#), "{}", back.body);
    assert!(back.body.contains(r#"value="2001-02-03""#), "the date sent is kept: {}", back.body);
    let fields =
        [("org", org.as_str()), ("id", &id), ("name", "CI prod"), ("scopes[0]", "orders:write"), ("expiry", "keep")];
    let saved = app.post_plain_form("/api/keys/update", &fields, &cookie, &page).await;
    assert_eq!(follow(&saved), format!("{page}?done=settings#settings"));
    let shown = app.get(&format!("{page}?done=settings"), Some(&cookie)).await;
    assert!(
        shown.body.contains(r#"role="status" class="saved">Saved</span>"#) && shown.body.contains("CI prod"),
        "{}",
        shown.body
    );

    let fields = [
        ("org", org.as_str()),
        ("id", &id),
        ("ip_allowlist", "192.0.2.0/24\nnot-a-network"),
        ("rate_limit", "7"),
        ("rate_window", "30"),
    ];
    let refused = app.post_plain_form("/api/keys/controls", &fields, &cookie, &page).await;
    let back = app.get(&follow(&refused), Some(&cookie)).await;
    assert!(back.body.contains("&#x27;not-a-network&#x27; is not") || back.body.contains("'not-a-network' is not"));
    // The refused form shows what was typed, not the saved controls: nothing typed is lost.
    assert!(back.body.contains("192.0.2.0/24\nnot-a-network</textarea>"), "{}", back.body);
    assert!(back.body.contains(r#"value="7""#) && back.body.contains(r#"value="30""#), "{}", back.body);
    let fields =
        [("org", org.as_str()), ("id", &id), ("ip_allowlist", "10.0.0.0/8"), ("rate_limit", ""), ("rate_window", "")];
    let saved = app.post_plain_form("/api/keys/controls", &fields, &cookie, &page).await;
    assert_eq!(follow(&saved), format!("{page}?done=controls#controls"));
    assert!(app.get(&page, Some(&cookie)).await.body.contains("10.0.0.0/8"));

    // "Revoke key" asks on the page itself; "Yes, revoke" posts and the page says what ended.
    assert!(!shown.body.contains("Yes, revoke"), "nothing is being confirmed yet");
    let asking = app.get(&format!("{page}?confirm=revoke"), Some(&cookie)).await;
    assert!(asking.body.contains("Yes, revoke"), "{}", asking.body);
    let revoked = app.post_plain_form("/api/keys/revoke", &[("org", &org), ("id", &id)], &cookie, &page).await;
    assert_eq!(follow(&revoked), format!("{page}?done=revoked&tokens=0#key"));
    let shown = app.get(&follow(&revoked), Some(&cookie)).await;
    assert!(shown.body.contains("Key revoked. It no longer works anywhere."), "{}", shown.body);
    assert!(!shown.body.contains("Revoke key") && !shown.body.contains("Roll key"), "nothing left to do");
}
