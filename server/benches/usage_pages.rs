//! How long the portal takes to render every page for a big organisation: 10,000 keys, each with 30 days of
//! hourly usage (rolled up as the server does: 14 days hourly, the rest daily), one in twenty revoked. Each
//! page is requested through the whole router, in process, and timed until its body is complete:
//! server-side render time, without network. Targets: every portal page p50 ≤ 50 ms and ≤ 150 KiB of HTML.
//! The `/v1` key list, a key's usage and the CSV export are timed the same way.
//!
//! `cargo bench -p server --bench usage_pages` (SQLite file). With `LATCHKEY_TEST_POSTGRES_URL` set, the
//! same runs on a throwaway PostgreSQL database too. `BENCH_KEYS` (10000), `BENCH_DAYS` (30) and
//! `BENCH_REQUESTS` (25) change the size; `BENCH_DATABASES` ("sqlite postgres") picks the databases.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::{Clock, ManualClock, SharedClock};
use app::domain::database::{PoolSettings, connect, migrate};
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::{Caller, KeyServices, NewKey, create_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::service_tokens::{self, Permission};
use app::domain::storage::api_keys;
use app::domain::storage::key_usage;
use app::domain::testing::{POSTGRES_URL_VAR, create_postgres_database};
use app::domain::usage::{Retention, hour_of, roll_up};
use app::domain::verification::Code;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use latchkey_server::router::app;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";
const TARGET_MS: f64 = 50.0;
const TARGET_KIB: f64 = 150.0;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let keys = setting("BENCH_KEYS", 10_000);
    let days = setting("BENCH_DAYS", 30);
    let requests = setting("BENCH_REQUESTS", 25).max(20);
    let databases = std::env::var("BENCH_DATABASES").unwrap_or_else(|_| "sqlite postgres".into());
    if databases.contains("sqlite") {
        sqlite(keys, days, requests).await;
    }
    if databases.contains("postgres")
        && let Ok(server) = std::env::var(POSTGRES_URL_VAR)
    {
        let (db, name, admin) = create_postgres_database(&server).await;
        run("PostgreSQL", db.clone(), keys, days, requests).await;
        let _ = db.close().await;
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    }
}

async fn sqlite(keys: usize, days: usize, requests: usize) {
    let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    let sqlite = connect(&url, &PoolSettings::default()).await.unwrap();
    migrate(&sqlite).await.unwrap();
    run("SQLite (file, WAL)", sqlite, keys, days, requests).await;
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

async fn run(label: &str, db: DatabaseConnection, keys: usize, days: usize, requests: usize) {
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let shared: SharedClock = clock.clone();
    let state = support::state(db.clone(), shared, 100_000);
    let (hasher, policy, verification) = (state.hasher.clone(), state.keys.clone(), state.verification.clone());
    let router = app(state);

    let seeding = Instant::now();
    let account = create_account(&db, &hasher, clock.as_ref(), "big@example.com", &Password::new(PASSWORD), false)
        .await
        .unwrap()
        .id;
    let services = KeyServices {
        clock: clock.as_ref(),
        policy: &policy,
        catalogue: &ScopeCatalogue::example(),
        cache: verification.verifier.cache(),
    };
    let origin = Origin { actor: "bench".into(), client: Client::default() };
    let mut ids = Vec::with_capacity(keys);
    for i in 0..keys {
        let new = NewKey { name: format!("service {i:04}"), scopes: vec!["orders:read".into()], ..NewKey::default() };
        ids.push(
            create_key(&db, services, &origin, Caller::Service { organisation_id: &account }, &new).await.unwrap().0.id,
        );
    }
    let rows = seed_usage(&db, &account, &ids, clock.now(), days).await;
    mark_keys(&db, &ids, clock.now()).await;
    let report = roll_up(&db, clock.now(), Retention::default()).await.unwrap();
    // What autovacuum would have done by now on a live database: statistics, and the visibility map that
    // lets PostgreSQL answer from the covering indexes alone.
    let analyze =
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres { "VACUUM ANALYZE" } else { "ANALYZE" };
    db.execute_unprepared(analyze).await.unwrap();
    // Seeding takes minutes of real time while the manual clock stood still; sessions are checked against
    // real time too, so the clock catches up before anyone signs in.
    clock.advance(Utc::now() - clock.now());
    println!(
        "{label}: seeded {keys} keys, {rows} hourly rows within retention and daily rows for {days} days in {:.1} s; rollup afterwards: {} days, {} hourly rows deleted",
        seeding.elapsed().as_secs_f64(),
        report.days_rolled,
        report.hourly_deleted
    );

    let cookie = sign_in(&router, "big@example.com").await;
    create_account(&db, &hasher, clock.as_ref(), "operator@example.com", &Password::new(PASSWORD), true).await.unwrap();
    let operator = sign_in(&router, "operator@example.com").await;
    let (_, token) = service_tokens::create(
        &db,
        clock.as_ref(),
        &KeyPrefix::new("lksvc").unwrap(),
        "bench",
        &[Permission::KeysRead],
    )
    .await
    .unwrap();
    let token = format!("Bearer {}", token.expose());
    let org = &account;
    let key = &ids[keys / 2];
    let today = clock.now().date_naive();
    let from = |days: i64| (today - Duration::days(days)).format("%Y-%m-%d").to_string();
    let pages: Vec<(&str, String, Who)> = vec![
        ("keys", format!("/o/{org}/keys"), Who::Member),
        ("keys, searched", format!("/o/{org}/keys?q=service%2004"), Who::Member),
        ("keys, revoked, oldest first", format!("/o/{org}/keys?status=revoked&sort=created_asc"), Who::Member),
        ("keys, any status, last page", format!("/o/{org}/keys?status=any&sort=last_used_desc&page=1000"), Who::Member),
        ("key", format!("/o/{org}/keys/{key}"), Who::Member),
        ("key, 30 days", format!("/o/{org}/keys/{key}?period=30d"), Who::Member),
        ("new key", format!("/o/{org}/keys/new"), Who::Member),
        ("usage (24 h)", format!("/o/{org}/usage"), Who::Member),
        ("usage, 30 days", format!("/o/{org}/usage?period=30d"), Who::Member),
        ("usage, 30 days, page 200", format!("/o/{org}/usage?period=30d&page=200"), Who::Member),
        ("activity", format!("/o/{org}/activity"), Who::Member),
        ("members", format!("/o/{org}/members"), Who::Member),
        ("webhooks", format!("/o/{org}/webhooks"), Who::Member),
        ("settings", "/settings".to_owned(), Who::Member),
        ("operator: usage", "/operator/usage".to_owned(), Who::Operator),
        ("operator: usage, 30 days", "/operator/usage?period=30d".to_owned(), Who::Operator),
        ("operator: find organisation", "/operator/organisations?q=big".to_owned(), Who::Operator),
        ("operator: organisation", format!("/operator/organisations/{org}"), Who::Operator),
        ("operator: activity", "/operator/activity".to_owned(), Who::Operator),
        ("sign-in", "/sign-in".to_owned(), Who::Nobody),
        ("/v1 keys, 100 a page", format!("/v1/keys?organisation={org}&per_page=100&page=50"), Who::Service),
        (
            "/v1 key usage, 30 days hourly",
            format!("/v1/keys/{key}/usage?granularity=hour&since={}T00:00:00Z", from(30)),
            Who::Service,
        ),
        (
            "CSV, all keys, 30 days daily",
            format!("/usage/export.csv?org={org}&from={}&to={}&granularity=day", from(29), from(0)),
            Who::Member,
        ),
        (
            "CSV, all keys, 1 day hourly",
            format!("/usage/export.csv?org={org}&from={}&to={}&granularity=hour", from(1), from(1)),
            Who::Member,
        ),
    ];
    println!("{:<34} {:>8} {:>8} {:>8} {:>8} {:>9}", "page", "p50 ms", "p90 ms", "min ms", "max ms", "KiB");
    for (name, path, who) in &pages {
        let auth = match who {
            Who::Member => Some((header::COOKIE, cookie.clone())),
            Who::Operator => Some((header::COOKIE, operator.clone())),
            Who::Service => Some((header::AUTHORIZATION, token.clone())),
            Who::Nobody => None,
        };
        let (times, bytes) = measure(&router, path, auth, requests).await;
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        let p50 = pct(0.5);
        let kib = bytes as f64 / 1024.0;
        let portal = !path.starts_with("/v1") && !path.starts_with("/usage/export");
        let verdict = if portal {
            let met = p50 <= TARGET_MS && kib <= TARGET_KIB;
            format!("  {}", if met { "ok" } else { "MISSED" })
        } else {
            String::new()
        };
        println!(
            "{name:<34} {p50:>8.1} {:>8.1} {:>8.1} {:>8.1} {kib:>9.0}{verdict}",
            pct(0.9),
            times[0],
            times[times.len() - 1],
        );
    }
    println!(
        "({requests} requests per page after 3 warm-ups; portal target p50 ≤ {TARGET_MS} ms and ≤ {TARGET_KIB} KiB)"
    );
    breakdown(&db, &account, clock.now()).await;
    println!();
}

/// Who asks for a page.
enum Who {
    Member,
    Operator,
    Service,
    Nobody,
}

/// Where the usage page's time goes: each read it makes, timed alone (median of 10).
async fn breakdown(db: &DatabaseConnection, account: &str, now: chrono::DateTime<Utc>) {
    use app::domain::usage::report::totals_by_key;
    use app::domain::usage::windows::totals_by_key_since;
    use app::domain::usage::{Period, UsageOf, series};
    let mut parts = Vec::new();
    for (label, period) in [("24 h", Period::last_24_hours(now)), ("30 d", Period::last_30_days(now))] {
        let of = UsageOf::Organisation(account);
        parts.push((
            format!("series {label}"),
            median_ms(|| async {
                series(db, of, &period).await.unwrap();
            })
            .await,
        ));
        parts.push((
            format!("totals by key {label}, summed"),
            median_ms(|| async {
                totals_by_key(db, of, &period).await.unwrap();
            })
            .await,
        ));
        parts.push((
            format!("totals by key {label}, from the window"),
            median_ms(|| async {
                totals_by_key_since(db, account, period.granularity, period.first, now).await.unwrap();
            })
            .await,
        ));
    }
    parts.push((
        "a page of keys".into(),
        median_ms(|| async {
            let query = app::domain::keys::listing::KeyQuery::default();
            app::domain::keys::listing::find_keys(db, account, &query, now).await.unwrap();
        })
        .await,
    ));
    let line: Vec<String> = parts.iter().map(|(name, ms)| format!("{name} {ms:.1} ms")).collect();
    println!("reads alone (median of 10): {}", line.join(", "));
}

async fn median_ms<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[5]
}

/// Each key was last used some minutes ago (as verifications would have recorded); one in twenty is revoked.
async fn mark_keys(db: &DatabaseConnection, ids: &[String], now: chrono::DateTime<Utc>) {
    let txn = db.begin().await.unwrap();
    for (k, id) in ids.iter().enumerate() {
        let minutes = i64::try_from(k * 37 % 1440).unwrap();
        let update = api_keys::ActiveModel {
            id: Set(id.clone()),
            last_used_at: Set(Some(now - Duration::minutes(minutes))),
            revoked_at: Set((k % 20 == 19).then_some(now - Duration::days(1))),
            ..Default::default()
        };
        sea_orm::ActiveModelTrait::update(update, &txn).await.unwrap();
    }
    txn.commit().await.unwrap();
}

/// Every key gets a verification count for every hour of `days` days; every tenth key is also refused for a
/// missing scope every seventh hour, and every fiftieth is rate limited now and then. The rows are written as
/// the hourly rollup leaves them (hours within retention, every past day summed into a daily row, the rollup
/// marked done up to today), which takes half the time of writing every hour and rolling it up.
async fn seed_usage(
    db: &DatabaseConnection,
    account: &str,
    ids: &[String],
    now: chrono::DateTime<Utc>,
    days: usize,
) -> usize {
    use app::domain::storage::{key_usage_daily, usage_rollups};
    use app::domain::usage::day_of;
    use std::collections::BTreeMap;
    let last = hour_of(now);
    let today = day_of(now);
    let keep_hours_from = today - Retention::default().hourly;
    let hours = i64::try_from(days * 24).unwrap();
    let (mut hourly, mut daily) = (Vec::with_capacity(2000), Vec::with_capacity(2000));
    let mut written = 0;
    let txn = db.begin().await.unwrap();
    for (k, id) in ids.iter().enumerate() {
        let mut per_day: BTreeMap<(chrono::DateTime<Utc>, Code), i64> = BTreeMap::new();
        for h in 0..hours {
            let hour = last - Duration::hours(h);
            let base = i64::try_from((k * 7 + usize::try_from(h).unwrap() * 13) % 500 + 1).unwrap();
            let mut counts = vec![(Code::Valid, base)];
            if k % 10 == 0 && h % 7 == 0 {
                counts.push((Code::InsufficientScopes, base / 10 + 1));
            }
            if k % 50 == 0 && h % 5 == 0 {
                counts.push((Code::RateLimited, 3));
            }
            for (code, count) in counts {
                if hour >= keep_hours_from {
                    hourly.push(key_usage::ActiveModel {
                        key_id: Set(id.clone()),
                        organisation_id: Set(account.to_owned()),
                        hour: Set(hour),
                        code: Set(code.as_str().to_owned()),
                        count: Set(count),
                    });
                }
                if hour < today {
                    *per_day.entry((day_of(hour), code)).or_default() += count;
                }
            }
        }
        for ((day, code), count) in per_day {
            daily.push(key_usage_daily::ActiveModel {
                key_id: Set(id.clone()),
                organisation_id: Set(account.to_owned()),
                day: Set(day),
                code: Set(code.as_str().to_owned()),
                count: Set(count),
            });
        }
        if hourly.len() >= 2000 {
            written += hourly.len();
            for chunk in hourly.chunks(1000) {
                key_usage::Entity::insert_many(chunk.to_vec()).exec(&txn).await.unwrap();
            }
            hourly.clear();
        }
        if daily.len() >= 2000 {
            for chunk in daily.chunks(1000) {
                key_usage_daily::Entity::insert_many(chunk.to_vec()).exec(&txn).await.unwrap();
            }
            daily.clear();
        }
    }
    written += hourly.len();
    for chunk in hourly.chunks(1000) {
        key_usage::Entity::insert_many(chunk.to_vec()).exec(&txn).await.unwrap();
    }
    for chunk in daily.chunks(1000) {
        key_usage_daily::Entity::insert_many(chunk.to_vec()).exec(&txn).await.unwrap();
    }
    // The per-organisation buckets the flush and the rollup keep beside the per-key ones.
    for (to, from, time) in
        [("organisation_usage", "key_usage", "hour"), ("organisation_usage_daily", "key_usage_daily", "day")]
    {
        txn.execute_unprepared(&format!(
            "INSERT INTO {to} (organisation_id, {time}, code, count) \
             SELECT organisation_id, {time}, code, SUM(count) FROM {from} GROUP BY organisation_id, {time}, code"
        ))
        .await
        .unwrap();
    }
    usage_rollups::Entity::update_many()
        .col_expr(usage_rollups::Column::RolledUntil, sea_orm::sea_query::Expr::value(today))
        .filter(usage_rollups::Column::Id.eq(1))
        .exec(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    written
}

async fn sign_in(router: &Router, email: &str) -> String {
    let body = format!("email={}&password={}&next=", email.replace('@', "%40"), PASSWORD.replace(' ', "+"));
    let request = Request::post("/api/sign_in")
        .header(header::HOST, support::HOST)
        .header(header::ORIGIN, format!("http://{}", support::HOST))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let response = send(router, request).await;
    assert_eq!(response.status(), StatusCode::OK, "sign-in failed");
    // Every cookie the sign-in sets (the session's, and the one that marks a known browser).
    let cookies: Vec<&str> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .collect();
    assert!(!cookies.is_empty(), "sign-in set no cookie");
    cookies.join("; ")
}

async fn send(router: &Router, mut request: Request<Body>) -> axum::response::Response {
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50000))));
    router.clone().oneshot(request).await.unwrap()
}

/// Sorted render times (ms) of `requests` GETs of `path`, and the page's size.
async fn measure(
    router: &Router,
    path: &str,
    auth: Option<(header::HeaderName, String)>,
    requests: usize,
) -> (Vec<f64>, usize) {
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for i in 0..requests + 3 {
        let mut request = Request::get(path).header(header::HOST, support::HOST).header(header::ACCEPT, "text/html");
        if let Some((name, value)) = &auth {
            request = request.header(name, value);
        }
        let request = request.body(Body::empty()).unwrap();
        let started = Instant::now();
        let response = send(router, request).await;
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&body));
        bytes = body.len();
        if i >= 3 {
            times.push(elapsed);
        }
    }
    times.sort_by(f64::total_cmp);
    (times, bytes)
}
