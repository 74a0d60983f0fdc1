//! What one verification costs in process, through the whole router and its middleware, next to what
//! `GET /healthz` costs through the same router: time and heap allocations per request (divan's allocation
//! profiler counts them). The key and the calling service's token are cached, as in steady state; usage is
//! counted as in production. `cargo bench -p server --bench verify_router`.

#![allow(clippy::unwrap_used)]

mod support;

use app::domain::accounts::create_account_without_password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::{SharedClock, SystemClock};
use app::domain::database::{PoolSettings, connect, migrate};
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::{Caller, KeyServices, NewKey, create_key};
use app::domain::service_tokens::{self, Permission};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use latchkey_server::router::app;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;
use tower::ServiceExt;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

struct Bench {
    runtime: Runtime,
    router: Router,
    token: String,
    body: String,
}

fn bench() -> &'static Bench {
    static BENCH: OnceLock<Bench> = OnceLock::new();
    BENCH.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (router, token, body) = runtime.block_on(setup());
        Bench { runtime, router, token, body }
    })
}

async fn setup() -> (Router, String, String) {
    let db = connect("sqlite::memory:", &PoolSettings::default()).await.unwrap();
    migrate(&db).await.unwrap();
    let clock: SharedClock = Arc::new(SystemClock);
    let state = support::state(db.clone(), clock.clone(), 100);
    let (_, token) =
        service_tokens::create(&db, clock.as_ref(), &KeyPrefix::new("lksvc").unwrap(), "bench", &[Permission::Verify])
            .await
            .unwrap();
    let account = create_account_without_password(&db, clock.as_ref(), "bench@example.com", false).await.unwrap();
    let services = KeyServices {
        clock: clock.as_ref(),
        policy: &state.keys,
        catalogue: &state.scopes,
        cache: state.verification.verifier.cache(),
    };
    let origin = Origin { actor: "bench".into(), client: Client::default() };
    let new = NewKey { name: "bench".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let (_, key) =
        create_key(&db, services, &origin, Caller::Service { organisation_id: &account.id }, &new).await.unwrap();
    let body = format!(r#"{{"key": "{}", "scopes": ["orders:read"], "ip": "203.0.113.7"}}"#, key.expose());
    let router = app(state);
    let token = token.expose().to_owned();
    // Warm the key and token caches.
    for _ in 0..2 {
        let answer = call(&router, verify_request(&token, &body)).await;
        assert!(answer.contains(r#""code":"VALID""#), "{answer}");
    }
    (router, token, body)
}

fn peer(mut request: Request<Body>) -> Request<Body> {
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    request
}

fn verify_request(token: &str, body: &str) -> Request<Body> {
    peer(
        Request::post("/v1/keys/verify")
            .header(header::HOST, support::HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
}

async fn call(router: &Router, request: Request<Body>) -> String {
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// The baseline: the same router, the cheapest answer it gives.
#[divan::bench]
fn healthz(bencher: divan::Bencher) {
    let bench = bench();
    bencher
        .with_inputs(|| peer(Request::get("/healthz").header(header::HOST, support::HOST).body(Body::empty()).unwrap()))
        .bench_local_values(|request| bench.runtime.block_on(call(&bench.router, request)));
}

/// A valid, cached key with one scope and a client address.
#[divan::bench]
fn verify_valid_key(bencher: divan::Bencher) {
    let bench = bench();
    bencher
        .with_inputs(|| verify_request(&bench.token, &bench.body))
        .bench_local_values(|request| bench.runtime.block_on(call(&bench.router, request)));
}

fn main() {
    divan::main();
}
