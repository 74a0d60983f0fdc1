//! Organisations through the router, on SQLite and PostgreSQL: every organisation address answers a
//! non-member the same 404 as a missing one and a member below the needed role 403 with a message;
//! invitations join people; removal ends access at once; `/v1/organisations` and the operator console.

use crate::on_both_databases;
use crate::support::{ORIGIN, PASSWORD, Reply, TestApp};
use app::domain::accounts::create_account;
use app::domain::accounts::password::{Password, PasswordHasher};
use app::domain::service_tokens::Permission;
use axum::http::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    someone_in_no_organisation_is_offered_to_create_one,
    every_organisation_address_answers_non_members_404_and_lower_roles_403,
    a_removed_member_loses_access_on_their_next_request_and_their_keys_stay,
    services_create_organisations_with_external_ids_and_verify_names_the_owner,
    the_operator_finds_an_organisation_by_a_keys_hint_and_disables_it,
);

async fn someone_in_no_organisation_is_offered_to_create_one(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    let org = app.org(&ann).await;
    let deleted = app
        .post_form("/api/organisations/delete", &[("org", &org), ("confirm_name", "ann@example.com")], Some(&ann))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let home = app.get("/", Some(&ann)).await;
    assert_eq!(home.status, StatusCode::OK, "no organisation to go to: {}", home.body);
    assert!(home.body.contains("You are not in an organisation") && home.body.contains("Create organisation"));
    let created = app.post_form("/api/organisations/create", &[("name", "Fresh start")], Some(&ann)).await;
    let path = created.json().as_str().expect("path").to_owned();
    assert_eq!(app.get("/", Some(&ann)).await.header("location"), Some(path.as_str()));
    let settings = app.get("/settings", Some(&ann)).await;
    assert!(settings.body.contains("Recent sign-ins") && settings.body.contains("Signed in"), "one's own log");
}

/// `email` signs up through an invitation link `inviter` made for `role`, as in the browser; answers their cookie.
async fn invited(app: &TestApp, inviter: &str, org: &str, email: &str, role: &str) -> String {
    let link = app
        .post_form(
            "/api/organisations/invitations/create",
            &[("org", org), ("email", email), ("role", role)],
            Some(inviter),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.body);
    assert_eq!(link.header("cache-control"), Some("no-store"));
    let path = link.json()["path"].as_str().expect("path").to_owned();
    let secret = path.trim_start_matches("/invitations/").to_owned();
    let offer = app.get(&path, None).await;
    assert_eq!(offer.status, StatusCode::OK, "the invitation page opens signed out: {}", offer.body);
    let cookie = app.signed_up(email).await;
    // Opening the link, signed in as the invited person too (a scanner, a preview, the person looking),
    // spends nothing: the page offers a button, and the button's post accepts.
    let looked = app.get(&path, Some(&cookie)).await;
    assert_eq!(looked.status, StatusCode::OK, "{}", looked.body);
    let accepted = app.post_form("/api/invitations/accept", &[("secret", &secret)], Some(&cookie)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.json(), json!(format!("/o/{org}/keys")));
    cookie
}

/// A key made in `org` by the cookie's person; answers its id.
async fn key_in(app: &TestApp, cookie: &str, org: &str, name: &str) -> String {
    let fields = [("org", org), ("name", name), ("scopes[0]", "orders:read"), ("expiry", "never")];
    let reply = app.post_form("/api/keys/create", &fields, Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["key"]["id"].as_str().expect("id").to_owned()
}

enum Call {
    Get(String),
    Post(&'static str, Vec<(&'static str, String)>),
}

async fn call(app: &TestApp, cookie: &str, call: &Call) -> Reply {
    match call {
        Call::Get(path) if path.starts_with("/api/") => app.get_json(path, cookie).await,
        Call::Get(path) => app.get(path, Some(cookie)).await,
        Call::Post(path, fields) => {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(path, &fields, Some(cookie)).await
        }
    }
}

/// Every read and change of organisation `org` (`key` is one of its keys, `member` a member, `invitation` an open
/// invitation): `(call, changes something)`.
fn every_call(org: &str, key: &str, member: &str, invitation: &str) -> Vec<(Call, bool)> {
    let s = |v: &str| v.to_owned();
    let reads = [
        format!("/api/keys/list?org={org}"),
        format!("/api/keys/get?org={org}&id={key}"),
        format!("/api/usage/key?org={org}&id={key}"),
        format!("/api/usage/organisation?org={org}"),
        format!("/api/activity?org={org}"),
        format!("/api/organisations/get?org={org}"),
        format!("/api/organisations/members?org={org}"),
        format!("/o/{org}/keys"),
        format!("/o/{org}/keys/{key}"),
        format!("/o/{org}/usage"),
        format!("/o/{org}/activity"),
        format!("/o/{org}/members"),
        format!("/usage/export.csv?org={org}&from=2026-01-01&to=2026-01-02"),
        format!("/usage/export.csv?org={org}&key={key}&from=2026-01-01&to=2026-01-02"),
    ];
    let mut calls: Vec<(Call, bool)> = reads.into_iter().map(|path| (Call::Get(path), false)).collect();
    let changes = [
        (
            "/api/keys/create",
            vec![("org", s(org)), ("name", s("x")), ("scopes[0]", s("orders:read")), ("expiry", s("never"))],
        ),
        (
            "/api/keys/update",
            vec![
                ("org", s(org)),
                ("id", s(key)),
                ("name", s("x")),
                ("scopes[0]", s("orders:read")),
                ("expiry", s("keep")),
            ],
        ),
        (
            "/api/keys/controls",
            vec![
                ("org", s(org)),
                ("id", s(key)),
                ("ip_allowlist", s("")),
                ("rate_limit", s("")),
                ("rate_window", s("")),
            ],
        ),
        ("/api/keys/roll", vec![("org", s(org)), ("id", s(key)), ("grace", s("none"))]),
        ("/api/keys/revoke", vec![("org", s(org)), ("id", s(key))]),
        ("/api/organisations/members/role", vec![("org", s(org)), ("account_id", s(member)), ("role", s("viewer"))]),
        ("/api/organisations/members/remove", vec![("org", s(org)), ("account_id", s(member))]),
        (
            "/api/organisations/invitations/create",
            vec![("org", s(org)), ("email", s("new@example.com")), ("role", s("viewer"))],
        ),
        ("/api/organisations/invitations/revoke", vec![("org", s(org)), ("id", s(invitation))]),
        ("/api/organisations/rename", vec![("org", s(org)), ("name", s("Renamed"))]),
        ("/api/organisations/delete", vec![("org", s(org)), ("confirm_name", s("ann@example.com"))]),
    ];
    calls.extend(changes.into_iter().map(|(path, fields)| (Call::Post(path, fields), true)));
    calls
}

async fn every_organisation_address_answers_non_members_404_and_lower_roles_403(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    let org = app.org(&ann).await;
    let key = key_in(&app, &ann, &org, "ann's").await;
    let viewer = invited(&app, &ann, &org, "vic@example.com", "viewer").await;
    let developer = invited(&app, &ann, &org, "dev@example.com", "developer").await;
    let dev_id = app.org(&developer).await;
    let open = app
        .post_form(
            "/api/organisations/invitations/create",
            &[("org", &org), ("email", "later@example.com"), ("role", "viewer")],
            Some(&ann),
        )
        .await;
    assert_eq!(open.status, StatusCode::OK);
    let members = app.get_json(&format!("/api/organisations/members?org={org}"), &ann).await.json();
    let invitation = members["invitations"][0]["id"].as_str().expect("an open invitation").to_owned();
    let eve = app.signed_up("eve@example.com").await;

    let calls = every_call(&org, &key, &dev_id, &invitation);
    let missing = every_call("no-such-organisation", &key, &dev_id, &invitation);
    assert_eq!(calls.len(), 25);
    for ((call_here, _), (call_missing, _)) in calls.iter().zip(&missing) {
        let theirs = crate::organisations::call(&app, &eve, call_here).await;
        let nothing = crate::organisations::call(&app, &eve, call_missing).await;
        assert_eq!(
            theirs.status,
            StatusCode::NOT_FOUND,
            "a non-member: {}",
            theirs.body.chars().take(300).collect::<String>()
        );
        if !matches!(call_here, Call::Get(path) if path.starts_with("/o/")) {
            assert_eq!(theirs.body, nothing.body, "the same answer as for a missing organisation");
        }
    }
    for (call_here, changes) in &calls {
        let reply = crate::organisations::call(&app, &viewer, call_here).await;
        if *changes {
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "a viewer changing: {}", reply.body);
            assert!(reply.body.contains("viewer"), "the refusal says why: {}", reply.body);
        } else {
            assert!(
                reply.status.is_success(),
                "a viewer reading: {} {}",
                reply.status,
                reply.body.chars().take(300).collect::<String>()
            );
        }
    }
    // A developer creates keys and manages their own, but not another's; members are not theirs to manage.
    let own = key_in(&app, &developer, &org, "dev's").await;
    for (path, id) in [("/api/keys/revoke", &key), ("/api/keys/revoke", &own)] {
        let reply = app.post_form(path, &[("org", &org), ("id", id)], Some(&developer)).await;
        let expected = if id == &own { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(reply.status, expected, "{}", reply.body);
    }
    let invite = app
        .post_form(
            "/api/organisations/invitations/create",
            &[("org", &org), ("email", "x@example.com"), ("role", "viewer")],
            Some(&developer),
        )
        .await;
    assert_eq!(invite.status, StatusCode::FORBIDDEN);
    // The key list tells the portal which keys this member may change, so it shows only those controls.
    let listed = app.get_json(&format!("/api/keys/list?org={org}&status=any"), &developer).await.json();
    let can_change: Vec<(String, bool)> = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| (key["name"].as_str().expect("name").to_owned(), key["can_change"].as_bool().expect("flag")))
        .collect();
    assert!(can_change.contains(&("ann's".to_owned(), false)) && can_change.contains(&("dev's".to_owned(), true)));
    let page = app.get(&format!("/o/{org}/keys/{key}"), Some(&viewer)).await;
    assert!(!page.body.contains("Revoke key") && !page.body.contains("Roll key"), "no controls a viewer cannot use");
    let page = app.get(&format!("/o/{org}/keys/{key}"), Some(&ann)).await;
    assert!(page.body.contains("Revoke key") && page.body.contains("Roll key"), "the owner's controls");
}

async fn a_removed_member_loses_access_on_their_next_request_and_their_keys_stay(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    let org = app.org(&ann).await;
    let developer = invited(&app, &ann, &org, "dev@example.com", "developer").await;
    let dev_id = app.org(&developer).await;
    let key = key_in(&app, &developer, &org, "dev's").await;
    let mine = app.get_json("/api/organisations/mine", &developer).await.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "their own and ann's: {mine}");
    let removed =
        app.post_form("/api/organisations/members/remove", &[("org", &org), ("account_id", &dev_id)], Some(&ann)).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(app.get_json(&format!("/api/keys/list?org={org}"), &developer).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/o/{org}/keys"), Some(&developer)).await.status, StatusCode::NOT_FOUND);
    let keys = app.get_json(&format!("/api/keys/list?org={org}"), &ann).await.json();
    assert_eq!(keys["keys"][0]["id"], key.as_str(), "the key stays with the organisation");
    assert_eq!(keys["keys"][0]["created_by"], "dev@example.com");
    let log = app.get_json(&format!("/api/activity?org={org}"), &ann).await.body;
    for what in ["Member invited", "Member joined", "Member removed", "Key created"] {
        assert!(log.contains(what), "{what}: {log}");
    }
    // Deleting needs the name typed back; the keys go with the organisation.
    let side = app.post_form("/api/organisations/create", &[("name", "Side project")], Some(&ann)).await;
    let side = side.json().as_str().expect("path").trim_start_matches("/o/").trim_end_matches("/keys").to_owned();
    let side_key = key_in(&app, &ann, &side, "side").await;
    let wrong =
        app.post_form("/api/organisations/delete", &[("org", &side), ("confirm_name", "Side")], Some(&ann)).await;
    assert_eq!(
        (wrong.status, wrong.json()["Invalid"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("confirm_name"))
    );
    let deleted = app
        .post_form("/api/organisations/delete", &[("org", &side), ("confirm_name", "Side project")], Some(&ann))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let gone = app.get_json(&format!("/api/keys/get?org={side}&id={side_key}"), &ann).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // The last owner can neither leave nor be removed.
    let leave = app.post_form("/api/organisations/leave", &[("org", &org)], Some(&ann)).await;
    assert_eq!(leave.status, StatusCode::CONFLICT, "{}", leave.body);
    assert!(leave.body.contains("at least one owner"), "{}", leave.body);
}

async fn services_create_organisations_with_external_ids_and_verify_names_the_owner(app: TestApp) {
    let token = app.service_token(&Permission::ALL).await;
    let keys_only = app.service_token(&[Permission::Verify, Permission::KeysWrite]).await;
    let body = json!({"name": "Acme Ltd", "external_id": "cus_4711"});
    let refused = app.v1(Method::POST, "/v1/organisations", Some(&keys_only), Some(body.clone())).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"]["code"], "insufficient_permission");
    let created = app.v1(Method::POST, "/v1/organisations", Some(&token), Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let acme = created.json();
    assert_eq!(
        (acme["name"].clone(), acme["external_id"].clone(), acme["disabled"].clone()),
        (json!("Acme Ltd"), json!("cus_4711"), json!(false))
    );
    let twin = app.v1(Method::POST, "/v1/organisations", Some(&token), Some(body)).await;
    assert_eq!((twin.status, twin.json()["error"]["code"].clone()), (StatusCode::CONFLICT, json!("conflict")));
    let blank = app.v1(Method::POST, "/v1/organisations", Some(&token), Some(json!({"name": "  "}))).await;
    assert_eq!((blank.status, blank.json()["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("name")));

    let by_external = app.v1(Method::GET, "/v1/organisations/cus_4711", Some(&token), None).await;
    assert_eq!(by_external.json()["id"], acme["id"]);
    let found = app.v1(Method::GET, "/v1/organisations?query=ACME", Some(&token), None).await.json();
    assert_eq!(found["organisations"][0]["id"], acme["id"]);
    let renamed =
        app.v1(Method::PATCH, "/v1/organisations/cus_4711", Some(&token), Some(json!({"name": "Acme Inc"}))).await;
    assert_eq!(renamed.json()["name"], "Acme Inc", "{}", renamed.body);
    let members = app.v1(Method::GET, "/v1/organisations/cus_4711/members", Some(&token), None).await.json();
    assert_eq!(members["members"], json!([]));

    let key = app
        .v1(
            Method::POST,
            "/v1/keys",
            Some(&token),
            Some(json!({"organisation": "cus_4711", "name": "backend", "scopes": ["orders:read"]})),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    assert_eq!(key.json()["organisation_id"], acme["id"]);
    let plaintext = key.json()["key"].as_str().expect("key").to_owned();
    let verify = || app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(json!({"key": plaintext})));
    let answer = verify().await.json();
    assert_eq!(answer["organisation"], json!({"id": acme["id"], "external_id": "cus_4711", "name": "Acme Inc"}));

    let disabled = app.v1(Method::POST, "/v1/organisations/cus_4711/disable", Some(&token), None).await;
    assert_eq!(disabled.json()["disabled"], true, "{}", disabled.body);
    assert_eq!(verify().await.json()["code"], "DISABLED");
    app.v1(Method::POST, "/v1/organisations/cus_4711/enable", Some(&token), None).await;
    assert_eq!(verify().await.json()["code"], "VALID");
    let missing = app.v1(Method::POST, "/v1/organisations/cus_0000/disable", Some(&token), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn the_operator_finds_an_organisation_by_a_keys_hint_and_disables_it(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    let org = app.org(&ann).await;
    let fields = [("org", org.as_str()), ("name", "checkout"), ("scopes[0]", "orders:read"), ("expiry", "never")];
    let created = app.post_form("/api/keys/create", &fields, Some(&ann)).await.json();
    let (hint, plaintext) =
        (created["key"]["hint"].as_str().expect("hint"), created["plaintext"].as_str().expect("key"));

    assert_eq!(app.get_json("/api/operator/organisations?query=ann", &ann).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/operator/organisations", Some(&ann)).await.status, StatusCode::NOT_FOUND);
    let hasher = PasswordHasher::new(1).expect("hasher");
    create_account(&app.db, &hasher, app.clock.as_ref(), "ops@example.com", &Password::new(PASSWORD), true)
        .await
        .expect("operator");
    let ops = app.sign_in("ops@example.com", PASSWORD, None).await.session_cookie().expect("cookie");

    let query = crate::support::encode(hint);
    let found = app.get_json(&format!("/api/operator/organisations?query={query}"), &ops).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let found = found.json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["id"], org.as_str());
    assert_eq!((found[0]["members"].clone(), found[0]["keys"].clone()), (json!(1), json!(1)), "{found}");
    let by_email = app.get_json("/api/operator/organisations?query=ANN%40example", &ops).await.json();
    assert_eq!(by_email[0]["id"], org.as_str(), "by a member's email");
    let inspected = app.get_json(&format!("/api/operator/organisation?id={org}"), &ops).await.json();
    assert_eq!(inspected["keys"][0]["hint"], hint);
    assert_eq!(inspected["keys"][0]["can_change"], false, "read-only");
    let page = app.get(&format!("/operator/organisations/{org}"), Some(&ops)).await;
    assert!(page.body.contains("checkout") && page.body.contains("Disable organisation"), "{}", page.body);

    let switched =
        app.post_form("/api/operator/organisation/switch", &[("id", &org), ("disabled", "true")], Some(&ops)).await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    let token = app.service_token(&[Permission::Verify]).await;
    let answer = app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(json!({"key": plaintext}))).await.json();
    assert_eq!(answer["code"], "DISABLED");
    let notice = app.get(&format!("/o/{org}/keys"), Some(&ann)).await;
    assert!(notice.body.contains("This organisation is disabled"), "members see a notice");
    let refused = app.post_form("/api/keys/create", &fields, Some(&ann)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let log = app.get_json("/api/operator/activity", &ops).await.json();
    assert_eq!(log["events"][0]["what"], "Organisation disabled");
    assert_eq!(log["events"][0]["actor"], "operator ops@example.com");
    assert_eq!(log["events"][0]["organisation"][0], org.as_str());
    assert_eq!(log["events"][0]["client_ip"], "203.0.113.7", "from where");
}

#[tokio::test]
async fn the_members_page_works_as_plain_form_posts_and_says_what_happened() {
    let app = TestApp::new().await;
    let ann = app.signed_up("ann@example.com").await;
    let org = app.org(&ann).await;
    let bob = invited(&app, &ann, &org, "bob@example.com", "developer").await;
    let bob_id = app.org(&bob).await;
    let page = format!("/o/{org}/members");
    let follow = |reply: &Reply| reply.header("location").expect("a redirect").trim_start_matches(ORIGIN).to_owned();

    let fields = [("org", org.as_str()), ("account_id", bob_id.as_str()), ("role", "emperor")];
    let refused = app.post_plain_form("/api/organisations/members/role", &fields, &ann, &page).await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let back = app.get(&follow(&refused), Some(&ann)).await;
    assert!(back.body.contains("Choose owner, admin, developer or viewer."), "the refusal, on the page: {}", back.body);

    let fields = [("org", org.as_str()), ("account_id", bob_id.as_str()), ("role", "viewer")];
    let changed = app.post_plain_form("/api/organisations/members/role", &fields, &ann, &page).await;
    assert_eq!(follow(&changed), format!("{page}?done=role#members"));
    let shown = app.get(&format!("{page}?done=role"), Some(&ann)).await;
    assert!(shown.body.contains("Role changed.") && shown.body.contains("role-chip role-viewer"), "{}", shown.body);

    // "Remove" asks on the page itself; "Yes, remove" posts.
    assert!(!shown.body.contains("Yes, remove"), "nothing is being confirmed yet");
    let asking = app.get(&format!("{page}?confirm={bob_id}"), Some(&ann)).await;
    assert!(asking.body.contains("Yes, remove"), "{}", asking.body);
    let fields = [("org", org.as_str()), ("account_id", bob_id.as_str())];
    let removed = app.post_plain_form("/api/organisations/members/remove", &fields, &ann, &page).await;
    assert_eq!(follow(&removed), format!("{page}?done=removed#members"));
    let shown = app.get(&format!("{page}?done=removed"), Some(&ann)).await;
    // The table breaks addresses with <wbr> after the @: look for the part before it.
    assert!(asking.body.contains("bob@"), "listed before: {}", asking.body);
    assert!(shown.body.contains("Member removed.") && !shown.body.contains("bob@"), "{}", shown.body);
    assert_eq!(app.get(&page, Some(&bob)).await.status, StatusCode::NOT_FOUND, "bob's access ended");
    let carol = invited(&app, &ann, &org, "carol@example.com", "viewer").await;
    let left = app.post_plain_form("/api/organisations/leave", &[("org", &org)], &carol, &page).await;
    assert_eq!(left.header("location"), Some("/"), "{}", left.body);
    assert_eq!(app.get(&page, Some(&carol)).await.status, StatusCode::NOT_FOUND, "carol left");

    // A refused name comes back in the field as it was typed, not as the saved name.
    let long = format!("Acme {}", "x".repeat(100));
    let refused =
        app.post_plain_form("/api/organisations/rename", &[("org", &org), ("name", &long)], &ann, &page).await;
    let back = app.get(&follow(&refused), Some(&ann)).await;
    assert!(back.body.contains("at most 100 characters"), "{}", back.body);
    assert!(back.body.contains(&format!(r#"value="{long}""#)), "{}", back.body);
    let renamed =
        app.post_plain_form("/api/organisations/rename", &[("org", &org), ("name", "Acme")], &ann, &page).await;
    assert_eq!(follow(&renamed), format!("{page}?done=renamed#organisation"));
    let shown = app.get(&format!("{page}?done=renamed"), Some(&ann)).await;
    assert!(
        shown.body.contains(r#"role="status" class="saved">Saved</span>"#) && shown.body.contains("Acme"),
        "{}",
        shown.body
    );

    // Deleting asks for the name; a wrong one comes back with the disclosure open and says why.
    let fields = [("org", org.as_str()), ("confirm_name", "Acne")];
    let refused = app.post_plain_form("/api/organisations/delete", &fields, &ann, &page).await;
    let back = app.get(&follow(&refused), Some(&ann)).await;
    assert!(
        back.body.contains("Type the organisation&#x27;s name exactly")
            || back.body.contains("Type the organisation's name exactly"),
        "{}",
        back.body
    );
    assert!(back.body.contains(r#"<details open class="disclosure">"#), "{}", back.body);
    let fields = [("org", org.as_str()), ("confirm_name", "Acme")];
    let deleted = app.post_plain_form("/api/organisations/delete", &fields, &ann, &page).await;
    assert_eq!(deleted.header("location"), Some("/"));
    assert_eq!(app.get(&page, Some(&ann)).await.status, StatusCode::NOT_FOUND);
}
