//! Portal sessions and the provider's brand through the router: `POST /v1/portal/sessions` checks what the
//! provider's app sends, its link signs the person in once (making the organisation, account and membership,
//! and later bringing them up to date), a used, expired or forged link lands on a page that says so, the
//! link's secret never reaches the logs, and the brand and "password sign-in off" show on the pages.

use crate::on_both_databases;
use crate::support::{HOST, ORIGIN, TestApp, capture_logs};
use app::api::site::Site;
use app::domain::clock::Clock;
use app::domain::portal_sessions::PortalPolicy;
use app::domain::service_tokens::Permission;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use latchkey_server::brand::BrandAssets;
use latchkey_server::config::brand::Accent;
use latchkey_server::router::ProviderSetup;
use serde_json::{Value, json};

on_both_databases!(
    a_portal_link_signs_a_new_person_into_their_organisation_once,
    a_later_session_applies_the_apps_new_role_email_and_names,
);

const APP: &str = "https://app.example.com";

fn provider() -> ProviderSetup {
    ProviderSetup {
        site: Site {
            product_name: "Acme Cloud".to_owned(),
            branded: true,
            product_named: true,
            support_url: Some("https://acme.example/support".to_owned()),
            return_home: Some(APP.to_owned()),
            ..Site::default()
        },
        portal: PortalPolicy { return_origins: vec![APP.to_owned()], ..PortalPolicy::default() },
        brand: BrandAssets::new(Some(Accent::parse("#0f766e").expect("accent")), None),
        oidc: None,
    }
}

fn session_body(role: &str, email: &str, organisation_name: &str) -> Value {
    json!({
        "organisation": {"external_id": "cus_4711", "name": organisation_name},
        "user": {"external_id": "usr_42", "email": email, "name": "Ada Lovelace"},
        "role": role,
        "return_url": format!("{APP}/settings/api"),
    })
}

/// Asks for a portal session; answers the link's path.
async fn portal_link(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.v1(Method::POST, "/v1/portal/sessions", Some(token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let url = reply.json()["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&format!("{ORIGIN}/portal/")), "{url}");
    url.trim_start_matches(ORIGIN).to_owned()
}

/// Uses a portal link as the page it opens does: its form posts the link back.
async fn open_link(app: &TestApp, path: &str) -> crate::support::Reply {
    app.post_form(path, &[], None).await
}

/// The members of the organisation with external id `cus_4711`, as `/v1` lists them.
async fn members(app: &TestApp) -> Value {
    let reader = app.service_token(&[Permission::OrganisationsRead]).await;
    let reply = app.v1(Method::GET, "/v1/organisations/cus_4711/members", Some(&reader), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn a_portal_link_signs_a_new_person_into_their_organisation_once(app: TestApp) {
    let app = app.with_provider(provider());
    let token = app.service_token(&[Permission::Portal]).await;
    let reply = app
        .v1(
            Method::POST,
            "/v1/portal/sessions",
            Some(&token),
            Some(session_body("admin", "ada@acme.example", "Acme Ltd")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(reply.json()["expires_at"].as_str().expect("expiry")).expect("RFC 3339");
    assert_eq!(expires_at.timestamp(), (app.clock.now() + Duration::minutes(5)).timestamp(), "five minutes");
    let path = reply.json()["url"].as_str().expect("url").trim_start_matches(ORIGIN).to_owned();

    let preview = Request::builder().method(Method::HEAD).uri(&path).header(header::HOST, HOST).body(Body::empty());
    let preview = app.send(preview.expect("request")).await;
    assert_eq!(
        (preview.status, preview.session_cookie()),
        (StatusCode::OK, None),
        "a HEAD neither signs in nor spends"
    );
    // A mail scanner, a chat preview or a prefetcher fetches the link: a page whose form posts it, and
    // nothing spent.
    for _ in 0..2 {
        let fetched = app.get(&path, None).await;
        assert_eq!((fetched.status, fetched.session_cookie()), (StatusCode::OK, None), "{}", fetched.body);
        assert!(
            fetched.body.contains(&format!(r#"<form id="open" method="post" action="{path}""#)),
            "{}",
            fetched.body
        );
        assert!(fetched.body.contains("Continue to your API keys"));
        let policy = fetched.header("content-security-policy").expect("a policy");
        assert!(policy.contains("script-src 'sha256-") && policy.contains("form-action 'self'"), "{policy}");
    }
    let opened = open_link(&app, &path).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "the person's post still signs in: {}", opened.body);
    let landing = opened.header("location").expect("location").to_owned();
    assert!(landing.starts_with("/o/") && landing.ends_with("/keys"), "{landing}");
    let cookie = opened.session_cookie().expect("signed in");
    let me = app.whoami(&cookie).await;
    assert_eq!(me["email"], "ada@acme.example");
    assert_eq!(me["has_password"], false, "accounts from the app have no password");
    assert_eq!(me["back_to"], format!("{APP}/settings/api"));
    let keys = app.get(&landing, Some(&cookie)).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    assert!(keys.body.contains("Back to Acme Cloud") && keys.body.contains("Acme Ltd"), "the header leads back");

    let members = members(&app).await;
    assert_eq!(members["members"][0]["email"], "ada@acme.example");
    assert_eq!(members["members"][0]["role"], "admin");
    let out = app.post_plain_form("/api/sign_out", &[], &cookie, &landing).await;
    assert_eq!(
        out.header("location"),
        Some(format!("{APP}/settings/api").as_str()),
        "signing out leads back to the app, not to a sign-in page this person cannot use"
    );
    assert!(app.whoami(&cookie).await.is_null(), "and signs out");

    let again = open_link(&app, &path).await;
    assert_eq!(again.header("location"), Some("/portal/unusable?reason=used"), "a link works once");
    let page = app.get("/portal/unusable?reason=used", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("This link has already been used"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"{APP}\"")) && page.body.contains("Back to Acme Cloud"));
}

async fn a_later_session_applies_the_apps_new_role_email_and_names(app: TestApp) {
    let app = app.with_provider(provider());
    let token = app.service_token(&[Permission::Portal]).await;
    let first = portal_link(&app, &token, session_body("admin", "ada@acme.example", "Acme Ltd")).await;
    let cookie = open_link(&app, &first).await.session_cookie().expect("signed in");
    let account = app.whoami(&cookie).await["id"].clone();

    let second = portal_link(&app, &token, session_body("viewer", "ada.lovelace@acme.example", "Acme Holdings")).await;
    let reply = open_link(&app, &second).await;
    let cookie = reply.session_cookie().expect("signed in");
    let me = app.whoami(&cookie).await;
    assert_eq!(me["id"], account, "the same person, found by the app's id for them");
    assert_eq!(me["email"], "ada.lovelace@acme.example");
    let members = members(&app).await;
    assert_eq!(members["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(members["members"][0]["role"], "viewer", "the app's role wins");
    let reader = app.service_token(&[Permission::OrganisationsRead]).await;
    let org = app.v1(Method::GET, "/v1/organisations/cus_4711", Some(&reader), None).await.json();
    assert_eq!(org["name"], "Acme Holdings");
    let keys = app.get(reply.header("location").expect("landing"), Some(&cookie)).await;
    assert!(!keys.body.contains("Create key"), "a viewer is not offered to create keys");
}

#[tokio::test]
async fn session_creation_refuses_unknown_roles_disallowed_return_urls_and_missing_external_ids() {
    let app = TestApp::new().await.with_provider(provider());
    let token = app.service_token(&[Permission::Portal]).await;
    let good = session_body("admin", "ada@acme.example", "Acme Ltd");
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).expect("field") = value;
        body
    };
    let without = |object: &str, field: &str| {
        let mut body = good.clone();
        body[object].as_object_mut().expect("object").remove(field);
        body
    };
    for (body, field) in [
        (with("/role", json!("superuser")), "role"),
        (with("/return_url", json!("https://evil.example/phish")), "return_url"),
        (with("/return_url", json!("javascript:alert(1)")), "return_url"),
        (with("/return_url", json!("/relative")), "return_url"),
        (without("organisation", "external_id"), "organisation.external_id"),
        (without("user", "external_id"), "user.external_id"),
        (with("/organisation/external_id", json!("")), "organisation.external_id"),
        (with("/user/external_id", json!("has spaces")), "user.external_id"),
        (with("/user/email", json!("not-an-address")), "user.email"),
        (with("/organisation/name", json!("   ")), "organisation.name"),
        (with("/user/name", json!("x".repeat(101))), "user.name"),
    ] {
        let reply = app.v1(Method::POST, "/v1/portal/sessions", Some(&token), Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.body);
        assert_eq!(reply.json()["error"]["field"], field, "{body}: {}", reply.body);
    }
    let wrong = app.service_token(&[Permission::KeysWrite, Permission::OrganisationsWrite]).await;
    let reply = app.v1(Method::POST, "/v1/portal/sessions", Some(&wrong), Some(good.clone())).await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("insufficient_permission"))
    );

    let password_holder = app.signed_up("ann@example.com").await;
    assert!(!password_holder.is_empty());
    let reply = app
        .v1(Method::POST, "/v1/portal/sessions", Some(&token), Some(with("/user/email", json!("ann@example.com"))))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "a password account is not taken over: {}", reply.body);

    let unconfigured = TestApp::new().await;
    let token = unconfigured.service_token(&[Permission::Portal]).await;
    let reply = unconfigured.v1(Method::POST, "/v1/portal/sessions", Some(&token), Some(good)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "portal sessions are off without return origins");
    assert_eq!(reply.json()["error"]["code"], "not_configured");
    assert!(reply.body.contains("LATCHKEY_PORTAL_RETURN_ORIGINS"), "{}", reply.body);
    let document = unconfigured.v1(Method::GET, "/v1/openapi.json", None, None).await.json();
    let return_url = &document["components"]["schemas"]["CreatePortalSessionRequest"]["properties"]["return_url"];
    assert!(return_url.get("pattern").is_none(), "no pattern that matches nothing: {return_url}");
}

#[tokio::test]
async fn an_expired_or_forged_link_lands_on_a_page_that_says_so_and_leads_back() {
    let app = TestApp::new().await.with_provider(provider());
    let token = app.service_token(&[Permission::Portal]).await;
    let path = portal_link(&app, &token, session_body("developer", "ada@acme.example", "Acme Ltd")).await;
    app.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let reply = open_link(&app, &path).await;
    assert_eq!(reply.header("location"), Some("/portal/unusable?reason=expired"));
    assert!(reply.session_cookie().is_none(), "nobody is signed in");
    for forged in ["/portal/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/portal/short", "/portal/%00%FF"] {
        assert_eq!(app.get(forged, None).await.header("location"), Some("/portal/unusable?reason=unknown"), "{forged}");
    }
    let page = app.get("/portal/unusable?reason=expired", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("This link has expired") && page.body.contains(&format!("href=\"{APP}\"")));
    let page = app.get("/portal/unusable?reason=unknown", None).await;
    assert!(page.body.contains("This link does not work"), "{}", page.body);
}

#[tokio::test]
async fn the_portal_links_secret_never_reaches_the_logs() {
    let (captured, _guard) = capture_logs();

    let app = TestApp::new().await.with_provider(provider());
    let token = app.service_token(&[Permission::Portal]).await;
    let path = portal_link(&app, &token, session_body("admin", "ada@acme.example", "Acme Ltd")).await;
    app.get(&path, None).await;
    open_link(&app, &path).await;
    open_link(&app, &path).await;

    let logs = captured.text();
    let secret = path.trim_start_matches("/portal/");
    assert!(logs.contains("/portal/<redacted>"), "the request is logged, cut: {logs}");
    assert!(logs.contains("portal session created") && logs.contains("portal link refused"));
    assert!(!logs.contains(secret), "the link's secret reached the logs");
}

#[tokio::test]
async fn the_providers_brand_is_on_the_pages_and_latchkeys_look_is_the_default() {
    let plain = TestApp::new().await;
    let page = plain.get("/sign-in", None).await;
    assert!(page.body.contains("<title>Sign in · Latchkey</title>") && page.body.contains("Sign in to Latchkey"));
    assert!(!page.body.contains("/brand.css") && !page.body.contains("site-footer"), "nothing extra by default");

    let app = TestApp::new().await.with_provider(provider());
    let page = app.get("/sign-in", None).await;
    assert!(page.body.contains("<title>Sign in · Acme Cloud</title>"), "{}", page.body);
    assert!(page.body.contains("Sign in to Acme Cloud") && page.body.contains("New to Acme Cloud?"));
    assert!(page.body.contains("href=\"/brand.css\"") && page.body.contains("https://acme.example/support"));
    let sheet = app.get("/brand.css", None).await;
    assert_eq!(sheet.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(sheet.body.contains("--brand: #0f766e;"), "{}", sheet.body);
    assert_eq!(app.get("/brand/logo", None).await.status, StatusCode::NOT_FOUND, "no logo file set");
}

#[tokio::test]
async fn with_password_sign_in_off_nobody_signs_up_or_in_with_a_password() {
    let app = TestApp::new().await;
    let holder = app.signed_up("ann@example.com").await;
    assert!(!holder.is_empty());
    let mut setup = provider();
    setup.site.password_sign_in = false;
    let app = app.with_provider(setup);
    let reply = app.sign_in("ann@example.com", crate::support::PASSWORD, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.body.contains("Password sign-in is off"), "{}", reply.body);
    let reply = app.sign_up("bob@example.com", crate::support::PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let page = app.get("/sign-in", None).await;
    assert!(!page.body.contains("type=\"password\"") && !page.body.contains("/sign-up\""), "{}", page.body);
    assert!(page.body.contains("Open the API keys page from Acme Cloud"));
}

#[tokio::test]
async fn without_a_product_name_the_way_back_names_the_apps_host_not_latchkey() {
    let unnamed = ProviderSetup {
        site: Site { return_home: Some(APP.to_owned()), ..Site::default() },
        portal: PortalPolicy { return_origins: vec![APP.to_owned()], ..PortalPolicy::default() },
        brand: BrandAssets::new(None, None),
        oidc: None,
    };
    let app = TestApp::new().await.with_provider(unnamed);
    let token = app.service_token(&[Permission::Portal]).await;
    let path = portal_link(&app, &token, session_body("admin", "ada@acme.example", "Acme Ltd")).await;
    let opened = open_link(&app, &path).await;
    let cookie = opened.session_cookie().expect("signed in");
    let keys = app.get(opened.header("location").expect("landing"), Some(&cookie)).await;
    assert!(keys.body.contains(">Back to app.example.com</a>"), "{}", keys.body);
    assert!(!keys.body.contains("Back to Latchkey"));
    let used = app.get("/portal/unusable?reason=used", None).await;
    assert!(used.body.contains("Back to app.example.com") && used.body.contains("Go back to the app you came from"));
}
