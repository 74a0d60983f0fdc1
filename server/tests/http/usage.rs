//! Usage in the portal through the router: the key's and the organisation's numbers, the CSV export with its
//! refusals, the operator overview, and daily buckets from the API, on SQLite and PostgreSQL.

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};
use app::domain::accounts::create_account;
use app::domain::accounts::password::{Password, PasswordHasher};
use app::domain::clock::Clock;
use app::domain::service_tokens::Permission;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

on_both_databases!(
    a_customer_sees_their_keys_usage_and_exports_it_as_csv,
    only_operators_see_every_accounts_usage,
    the_api_reads_usage_by_day_as_well_as_by_hour,
);

/// A key of `email` made through the API, verified 3 times valid and twice with a scope it lacks; the usage
/// is flushed. Answers the key's id.
async fn used_key(app: &TestApp, email: &str) -> String {
    let token = app.service_token(&[Permission::Verify, Permission::KeysWrite]).await;
    let reply = app
        .v1(
            Method::POST,
            "/v1/keys",
            Some(&token),
            Some(json!({"account": email, "name": "=checkout", "scopes": ["orders:read"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    let key = created["key"].as_str().expect("key");
    for scopes in [json!([]), json!(["orders:read"]), json!([]), json!(["orders:write"]), json!(["orders:write"])] {
        let reply =
            app.v1(Method::POST, "/v1/keys/verify", Some(&token), Some(json!({"key": key, "scopes": scopes}))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    app.verification.verifier.usage().flush(&app.db).await.expect("flush");
    created["id"].as_str().expect("id").to_owned()
}

fn total_of(chart: &Value, code: &str) -> u64 {
    chart["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .find(|c| c["code"] == code)
        .map_or(0, |c| c["total"].as_u64().expect("n"))
}

async fn a_customer_sees_their_keys_usage_and_exports_it_as_csv(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    let id = used_key(&app, "ann@example.com").await;
    let org = app.org(&ann).await;

    let usage = app.get_json(&format!("/api/usage/key?org={org}&id={id}&period=24h"), &ann).await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
    let chart = &usage.json()["chart"];
    assert_eq!(chart["total"], 5);
    assert_eq!((total_of(chart, "VALID"), total_of(chart, "INSUFFICIENT_SCOPES")), (3, 2));
    assert_eq!(chart["buckets"].as_array().expect("bars").len(), 24);

    let page = app.get(&format!("/o/{org}/keys/{id}?period=30d"), Some(&ann)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Per day, last 30 days") && page.body.contains("<svg"),
        "the chart renders on the server"
    );
    let overview = app.get(&format!("/o/{org}/usage"), Some(&ann)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Needs attention"), "refusals are called out");
    assert!(overview.body.contains("Asked for a scope it does not have, twice."), "{}", overview.body);

    let today = app.clock.now().format("%Y-%m-%d").to_string();
    let csv = app
        .get(&format!("/usage/export.csv?org={org}&key={id}&from={today}&to={today}&granularity=hour"), Some(&ann))
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"latchkey-usage-checkout-hourly-"))
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "period_start_utc,key_id,key_name,total,VALID,TOKEN_ISSUED,REVOKED,EXPIRED,DISABLED,IP_NOT_ALLOWED,INSUFFICIENT_SCOPES,RATE_LIMITED"
    );
    assert_eq!(lines.len(), 25, "a row for every hour of the day");
    let used: Vec<&&str> = lines[1..].iter().filter(|line| !line.contains(",0,0,0,0,0,0,0,0")).collect();
    assert_eq!(used.len(), 1, "{}", csv.body);
    assert!(
        used[0].ends_with(&format!("{id},'=checkout,5,3,0,0,0,0,0,2,0")),
        "a formula-looking name is defused: {}",
        used[0]
    );

    let all = app.get(&format!("/usage/export.csv?org={org}&from={today}&to={today}"), Some(&ann)).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.body.lines().count(), 2, "one row per key and day with use: {}", all.body);

    let bad = app.get(&format!("/usage/export.csv?org={org}&key={id}&from=yesterday&to={today}"), Some(&ann)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("'from' must be a date like 2026-11-01"), "{}", bad.body);
    let long =
        app.get(&format!("/usage/export.csv?org={org}&from=2026-01-01&to={today}&granularity=hour"), Some(&ann)).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.contains("31 days"), "{}", long.body);

    let bob = app.signed_up("bob@example.com").await;
    let bobs_org = app.org(&bob).await;
    for asked in [&bobs_org, &org] {
        let theirs =
            app.get(&format!("/usage/export.csv?org={asked}&key={id}&from={today}&to={today}"), Some(&bob)).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another organisation's key is not found");
        let chart = app.get_json(&format!("/api/usage/key?org={asked}&id={id}"), &bob).await;
        assert_eq!(chart.status, StatusCode::NOT_FOUND);
    }
    let all_of_anns = app.get(&format!("/usage/export.csv?org={org}&from={today}&to={today}"), Some(&bob)).await;
    assert_eq!(all_of_anns.status, StatusCode::NOT_FOUND, "a non-member exports nothing");
    let bobs = app.get_json(&format!("/api/usage/organisation?org={bobs_org}"), &bob).await.json();
    assert_eq!(bobs["chart"]["total"], 0, "bob's overview holds none of ann's use");
    let peek = app.get_json(&format!("/api/usage/organisation?org={org}"), &bob).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);

    let signed_out = app.get(&format!("/usage/export.csv?org={org}&key={id}&from={today}&to={today}"), None).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(signed_out.header("location").is_some_and(|to| to.starts_with("/sign-in?next=/usage/export.csv")));
}

async fn only_operators_see_every_accounts_usage(app: TestApp) {
    let ann = app.signed_up("ann@example.com").await;
    used_key(&app, "ann@example.com").await;
    assert_eq!(app.get("/operator/usage", Some(&ann)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get_json("/api/usage/operator", &ann).await.status, StatusCode::NOT_FOUND);

    let hasher = PasswordHasher::new(1).expect("hasher");
    create_account(&app.db, &hasher, app.clock.as_ref(), "ops@example.com", &Password::new(PASSWORD), true)
        .await
        .expect("operator");
    let ops = app.sign_in("ops@example.com", PASSWORD, None).await.session_cookie().expect("cookie");
    let overview = app.get_json("/api/usage/operator?period=30d", &ops).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    let overview = overview.json();
    assert_eq!(overview["chart"]["total"], 5);
    assert_eq!(overview["organisations"][0]["name"], "ann@example.com");
    assert_eq!(
        (overview["organisations"][0]["total"].as_u64(), overview["organisations"][0]["rejected"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(overview["rejections"][0]["code"], "INSUFFICIENT_SCOPES");
    assert_eq!(overview["rejections"][0]["count"], 2);
    let page = app.get("/operator/usage", Some(&ops)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Recent refusals") && page.body.contains("ann@example.com"));
}

async fn the_api_reads_usage_by_day_as_well_as_by_hour(app: TestApp) {
    app.customer("ann@example.com").await;
    let id = used_key(&app, "ann@example.com").await;
    let token = app.service_token(&[Permission::KeysRead]).await;
    let daily = app.v1(Method::GET, &format!("/v1/keys/{id}/usage?granularity=day"), Some(&token), None).await;
    assert_eq!(daily.status, StatusCode::OK, "{}", daily.body);
    let daily = daily.json();
    assert_eq!(daily["granularity"], "day");
    let buckets = daily["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 30, "30 days by default");
    assert_eq!(buckets[29]["counts"], json!({"VALID": 3, "INSUFFICIENT_SCOPES": 2}));
    let weekly = app.v1(Method::GET, &format!("/v1/keys/{id}/usage?granularity=week"), Some(&token), None).await;
    assert_eq!(weekly.status, StatusCode::BAD_REQUEST);
    assert_eq!(weekly.json()["error"]["field"], "granularity");
}
