//! No input panics a handler: a property test sends every `/v1` route and the portal's server functions
//! extreme integers, extreme and malformed dates, huge strings and odd Unicode in every field, and asserts
//! that none is answered with a server error and that the server still answers afterwards.

use crate::support::{HOST, ORIGIN, TestApp, encode};
use app::domain::service_tokens::Permission;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

const DATES: &[&str] = &[
    "+262142-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "2026-02-30T00:00:00Z",
    "2026-12-01T25:61:61Z",
    "2026-12-01T00:00:00+23:59",
    "+262142-12-31",
    "-262143-01-01",
    "2026-13-01",
    "2026-12-01",
    "99999999999999999999",
];

const ODD_TEXT: &[&str] = &[
    "\u{202e}gnp.exe",
    "\u{0000}",
    "a\u{0000}b",
    "\u{200d}\u{200d}",
    "\u{feff}",
    "🔑🗝️👩‍👩‍👧",
    "e\u{0301}\u{0301}\u{0301}",
    "\u{fffd}",
    "\r\n\t",
    "../../etc/passwd",
    "%00%ff",
    "' OR 1=1 --",
    "lk_",
    "",
    " ",
];

/// One hostile value: numbers at and past every integer type's edge, dates past chrono's range, huge
/// and odd text, and values of the wrong JSON type.
fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(i64::from(u32::MAX) + 1),
            json!(i64::from(i32::MIN) - 1),
            json!(-1),
            json!(0),
            json!(1e308),
            json!(-1e308),
            json!(0.5),
            json!(null),
            json!(true),
            json!([]),
            json!({}),
            json!([[[[[[[[[[[[]]]]]]]]]]]]),
        ]),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(DATES).prop_map(Value::from),
        prop::sample::select(ODD_TEXT).prop_map(Value::from),
        "\\PC{0,64}".prop_map(Value::from),
        (1usize..20_000).prop_map(|n| Value::from("é".repeat(n))),
        (1usize..300).prop_map(|n| Value::from(vec![Value::from("orders:read"); n])),
    ]
}

/// A value as it would appear in a query string or form field.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

enum Shape {
    /// A JSON body; the field is replaced.
    Json(Value),
    /// Query parameters; the field is replaced.
    Query(Vec<(&'static str, String)>),
    /// A form body; the field is replaced.
    Form(Vec<(&'static str, String)>),
}

struct Route {
    method: Method,
    path: String,
    shape: Shape,
    fields: Vec<&'static str>,
    auth: Option<String>,
}

fn with_field(shape: &Shape, field: &str, value: &Value) -> (Option<String>, String) {
    let pairs = |pairs: &Vec<(&'static str, String)>| {
        pairs
            .iter()
            .map(|(name, old)| {
                let text = if *name == field { as_text(value) } else { old.clone() };
                format!("{name}={}", encode(&text))
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    match shape {
        Shape::Json(template) => {
            let mut body = template.clone();
            // A dotted field names a nested one.
            let mut target = &mut body;
            let parts: Vec<&str> = field.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                target = &mut target[*part];
            }
            target[parts[parts.len() - 1]] = value.clone();
            (None, body.to_string())
        }
        // A URI holds at most 64 KiB (hyper refuses longer ones before any handler): keep queries shorter.
        Shape::Query(list) => (Some(pairs(list).chars().take(8_000).collect()), String::new()),
        Shape::Form(list) => (None, pairs(list)),
    }
}

#[tokio::test]
async fn hostile_values_in_any_field_of_any_route_never_get_a_server_error() {
    // Portal sessions on, so that hostile values reach the checks behind the allowed return origin.
    let portal = app::domain::portal_sessions::PortalPolicy {
        return_origins: vec!["https://app.example.com".to_owned()],
        ..Default::default()
    };
    let app =
        TestApp::new().await.with_provider(latchkey_server::router::ProviderSetup { portal, ..Default::default() });
    let token = app.service_token(&Permission::ALL).await;
    app.customer("customer@example.com").await;
    let created = app
        .v1(
            Method::POST,
            "/v1/keys",
            Some(&token),
            Some(json!({"account": "customer@example.com", "name": "ci", "scopes": ["orders:read"]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key_id = created.json()["id"].as_str().expect("id").to_owned();
    let api_key = created.json()["key"].as_str().expect("key").to_owned();
    let cookie = app.signed_up("ann@example.com").await;
    let org = app.org(&cookie).await;
    let portal_key = app
        .post_form(
            "/api/keys/create",
            &[("org", &org), ("name", "web"), ("scopes[0]", "orders:read"), ("expiry", "never")],
            Some(&cookie),
        )
        .await;
    assert_eq!(portal_key.status, StatusCode::OK, "{}", portal_key.body);
    let portal_key_id = portal_key.json()["key"]["id"].as_str().expect("id").to_owned();

    let text = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect::<Vec<_>>();
    let key_body = json!({
        "account": "customer@example.com", "name": "n", "scopes": ["orders:read"], "expires_at": "2030-01-01T00:00:00Z",
        "meta": {"plan": "pro"}, "ip_allowlist": ["10.0.0.0/8"], "ratelimit": {"limit": 10, "window_seconds": 60}
    });
    let service = Some(token.clone());
    let routes = vec![
        Route {
            method: Method::POST,
            path: "/v1/keys/verify".into(),
            shape: Shape::Json(json!({"key": api_key, "scopes": ["orders:read"], "ip": "203.0.113.7"})),
            fields: vec!["key", "scopes", "ip"],
            auth: service.clone(),
        },
        Route {
            method: Method::POST,
            path: "/v1/tokens".into(),
            shape: Shape::Json(
                json!({"scope": "orders:read", "audience": "api", "ttl_seconds": 60, "grant_type": "client_credentials"}),
            ),
            fields: vec!["scope", "audience", "ttl_seconds", "grant_type"],
            auth: Some(api_key.clone()),
        },
        Route {
            method: Method::POST,
            path: "/v1/keys".into(),
            shape: Shape::Json(key_body.clone()),
            fields: vec![
                "account",
                "name",
                "scopes",
                "expires_at",
                "meta",
                "ip_allowlist",
                "ratelimit",
                "ratelimit.limit",
                "ratelimit.window_seconds",
            ],
            auth: service.clone(),
        },
        Route {
            method: Method::PATCH,
            path: format!("/v1/keys/{key_id}"),
            shape: Shape::Json(
                json!({"name": "n", "expires_at": null, "ratelimit": {"limit": 10, "window_seconds": 60}}),
            ),
            fields: vec![
                "name",
                "scopes",
                "expires_at",
                "meta",
                "ip_allowlist",
                "ratelimit",
                "ratelimit.limit",
                "ratelimit.window_seconds",
            ],
            auth: service.clone(),
        },
        Route {
            method: Method::GET,
            path: "/v1/keys".into(),
            shape: Shape::Query(text(&[("account", "customer@example.com"), ("page", "1"), ("per_page", "25")])),
            fields: vec!["account", "page", "per_page"],
            auth: service.clone(),
        },
        Route {
            method: Method::GET,
            path: format!("/v1/keys/{key_id}/usage"),
            shape: Shape::Query(text(&[
                ("since", "2026-11-01T00:00:00Z"),
                ("until", "2026-11-02T00:00:00Z"),
                ("granularity", "hour"),
            ])),
            fields: vec!["since", "until", "granularity"],
            auth: service.clone(),
        },
        Route {
            method: Method::POST,
            path: format!("/v1/keys/{key_id}/roll"),
            shape: Shape::Json(json!({"grace_seconds": 60})),
            fields: vec!["grace_seconds"],
            auth: service.clone(),
        },
        Route {
            method: Method::GET,
            path: "/usage/export.csv".into(),
            shape: Shape::Query(text(&[
                ("org", &org),
                ("from", "2026-11-01"),
                ("to", "2026-11-30"),
                ("granularity", "day"),
                ("key", &portal_key_id),
            ])),
            fields: vec!["org", "from", "to", "granularity", "key"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/keys/create".into(),
            shape: Shape::Form(text(&[
                ("org", &org),
                ("name", "n"),
                ("scopes[0]", "orders:read"),
                ("expiry", "custom"),
                ("custom_date", "2030-01-01"),
            ])),
            fields: vec!["org", "name", "scopes[0]", "expiry", "custom_date"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/keys/update".into(),
            shape: Shape::Form(text(&[
                ("org", &org),
                ("id", &portal_key_id),
                ("name", "n"),
                ("scopes[0]", "orders:read"),
                ("expiry", "30"),
                ("custom_date", ""),
            ])),
            fields: vec!["id", "name", "scopes[0]", "expiry", "custom_date"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/keys/controls".into(),
            shape: Shape::Form(text(&[
                ("org", &org),
                ("id", &portal_key_id),
                ("ip_allowlist", "10.0.0.0/8"),
                ("rate_limit", "10"),
                ("rate_window", "60"),
            ])),
            fields: vec!["id", "ip_allowlist", "rate_limit", "rate_window"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/keys/roll".into(),
            shape: Shape::Form(text(&[("org", &org), ("id", &portal_key_id), ("grace", "1h")])),
            fields: vec!["org", "id", "grace"],
            auth: None,
        },
        Route {
            method: Method::GET,
            path: "/api/usage/key".into(),
            shape: Shape::Query(text(&[("org", &org), ("id", &portal_key_id), ("period", "24h")])),
            fields: vec!["org", "id", "period"],
            auth: None,
        },
        Route {
            method: Method::GET,
            path: "/api/usage/organisation".into(),
            shape: Shape::Query(text(&[("org", &org), ("period", "30d"), ("page", "1")])),
            fields: vec!["org", "period", "page"],
            auth: None,
        },
        Route {
            method: Method::GET,
            path: "/api/activity".into(),
            shape: Shape::Query(text(&[("org", &org), ("page", "1")])),
            fields: vec!["org", "page"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/organisations/invitations/create".into(),
            shape: Shape::Form(text(&[("org", &org), ("email", "dev@example.com"), ("role", "developer")])),
            fields: vec!["org", "email", "role"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/organisations/members/role".into(),
            shape: Shape::Form(text(&[("org", &org), ("account_id", &org), ("role", "owner")])),
            fields: vec!["org", "account_id", "role"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/organisations/create".into(),
            shape: Shape::Form(text(&[("name", "Acme")])),
            fields: vec!["name"],
            auth: None,
        },
        Route {
            method: Method::GET,
            path: "/api/invitations/get".into(),
            shape: Shape::Query(text(&[("secret", "0000000000000000000000000000000000000000000")])),
            fields: vec!["secret"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/invitations/accept".into(),
            shape: Shape::Form(text(&[("secret", "0000000000000000000000000000000000000000000")])),
            fields: vec!["secret"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/v1/organisations".into(),
            shape: Shape::Json(json!({"name": "Acme", "external_id": "cus_1"})),
            fields: vec!["name", "external_id"],
            auth: service.clone(),
        },
        Route {
            method: Method::POST,
            path: "/v1/portal/sessions".into(),
            shape: Shape::Json(json!({
                "organisation": {"external_id": "cus_1", "name": "Acme"},
                "user": {"external_id": "usr_1", "email": "ada@acme.example", "name": "Ada"},
                "role": "admin",
                "return_url": "https://app.example.com/settings",
            })),
            fields: vec![
                "organisation.external_id",
                "organisation.name",
                "user.external_id",
                "user.email",
                "user.name",
                "role",
                "return_url",
            ],
            auth: service.clone(),
        },
        Route {
            method: Method::POST,
            path: "/api/password_reset/request".into(),
            shape: Shape::Form(text(&[("email", "ann@example.com")])),
            fields: vec!["email"],
            auth: None,
        },
        Route {
            method: Method::GET,
            path: "/api/password_reset/check".into(),
            shape: Shape::Query(text(&[("secret", "0000000000000000000000000000000000000000000")])),
            fields: vec!["secret"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/password_reset/complete".into(),
            shape: Shape::Form(text(&[
                ("secret", "0000000000000000000000000000000000000000000"),
                ("new_password", "a new passphrase"),
            ])),
            fields: vec!["secret", "new_password"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/email/verify".into(),
            shape: Shape::Form(text(&[("secret", "0000000000000000000000000000000000000000000")])),
            fields: vec!["secret"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/sign_in/second_factor".into(),
            shape: Shape::Form(text(&[("code", "123456"), ("next", "/")])),
            fields: vec!["code", "next"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/security/two_factor/confirm".into(),
            shape: Shape::Form(text(&[("code", "123456")])),
            fields: vec!["code"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/security/two_factor/disable".into(),
            shape: Shape::Form(text(&[("password", "wrong password"), ("code", "123456")])),
            fields: vec!["password", "code"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/security/sessions/end".into(),
            shape: Shape::Form(text(&[("reference", "00")])),
            fields: vec!["reference"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/security/notices/save".into(),
            shape: Shape::Form(text(&[("on[0]", "key_created")])),
            fields: vec!["on[0]"],
            auth: None,
        },
        Route {
            method: Method::POST,
            path: "/api/sign_in".into(),
            shape: Shape::Form(text(&[("email", "ann@example.com"), ("password", "wrong password"), ("next", "/")])),
            fields: vec!["email", "password", "next"],
            auth: None,
        },
    ];

    let mut runner = TestRunner::new_with_rng(
        Config { cases: 1000, ..Config::default() },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = (0..routes.len(), 0usize..16, hostile());
    let mut sent = 0;
    for _ in 0..1000 {
        let (index, field_index, value) = strategy.new_tree(&mut runner).expect("value").current();
        let route = &routes[index];
        let field = route.fields[field_index % route.fields.len()];
        let (query, body) = with_field(&route.shape, field, &value);
        let uri = match query {
            Some(query) => format!("{}?{query}", route.path),
            None => route.path.clone(),
        };
        let mut request = Request::builder().method(route.method.clone()).uri(&uri).header(header::HOST, HOST);
        request = match (&route.shape, &route.auth) {
            (Shape::Json(_), Some(auth)) => request
                .header(header::AUTHORIZATION, format!("Bearer {auth}"))
                .header(header::CONTENT_TYPE, "application/json"),
            (Shape::Form(_), _) => request
                .header(header::ORIGIN, ORIGIN)
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            (Shape::Query(_), Some(auth)) => request.header(header::AUTHORIZATION, format!("Bearer {auth}")),
            (_, None) => request.header(header::COOKIE, &cookie).header(header::ACCEPT, "application/json"),
        };
        let reply = app.send(request.body(Body::from(body.clone())).expect("request")).await;
        assert!(
            !reply.status.is_server_error(),
            "{} {uri} with {field} = {}: {} {}",
            route.method,
            as_text(&value).chars().take(200).collect::<String>(),
            reply.status,
            reply.body.chars().take(500).collect::<String>()
        );
        sent += 1;
    }
    assert_eq!(sent, 1000);
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK, "the server still answers");
    let verify = app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(json!({"key": api_key}))).await;
    assert_eq!(verify.status, StatusCode::OK, "and still verifies: {}", verify.body);
}
