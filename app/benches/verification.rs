//! In-process cost of one verification per outcome code, with the key already cached (the steady state of
//! the hot path), of one exchange of that key for a signed access token (the same checks, an Ed25519
//! signature and the token's ledger row), and of one introspection of a live token with its state cached
//! (a signature check and two cache reads): `cargo bench -p app --features ssr,testing --bench verification`.
//! divan's allocation profiler reports the heap allocations of each; a cached verification makes none.

use app::domain::accounts::create_account_without_password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::{ManualClock, SharedClock};
use app::domain::database::{PoolSettings, connect, migrate};
use app::domain::jwt::{IssuedTokens, SigningKeys, TokenChecks, TokenPolicy, TokenRequest, exchange, introspect};
use app::domain::keys::controls::RateLimit;
use app::domain::keys::format::{self, KeyPrefix};
use app::domain::keys::manage::{Caller, KeyPolicy, KeyServices, NewKey, create_key, revoke_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::usage::UsageCounter;
use app::domain::verification::{Code, KeyCache, Request, Verifier};
use chrono::{Duration, Utc};
use sea_orm::DatabaseConnection;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

struct Bench {
    runtime: Runtime,
    db: DatabaseConnection,
    verifier: Verifier,
    cases: Vec<(Code, String, Vec<String>, Option<IpAddr>)>,
    signing: SigningKeys,
    tokens: TokenPolicy,
    issued: IssuedTokens,
}

fn bench() -> &'static Bench {
    static BENCH: OnceLock<Bench> = OnceLock::new();
    BENCH.get_or_init(|| {
        let runtime = Runtime::new().expect("runtime");
        let (db, verifier, cases) = runtime.block_on(setup());
        let signing = SigningKeys::default();
        runtime.block_on(signing.ensure(&db, Utc::now())).expect("signing keys");
        let tokens = TokenPolicy::new("https://keys.example.com");
        Bench { runtime, db, verifier, cases, signing, tokens, issued: IssuedTokens::default() }
    })
}

async fn setup() -> (DatabaseConnection, Verifier, Vec<(Code, String, Vec<String>, Option<IpAddr>)>) {
    let db = connect("sqlite::memory:", &PoolSettings::default()).await.expect("sqlite");
    migrate(&db).await.expect("migrate");
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let shared: SharedClock = clock.clone();
    let verifier =
        Verifier::new(KeyPrefix::default(), shared, Arc::new(KeyCache::default()), Arc::new(UsageCounter::default()));
    let (policy, catalogue) = (KeyPolicy::default(), ScopeCatalogue::example());
    let services =
        KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: verifier.cache() };
    let account =
        create_account_without_password(&db, clock.as_ref(), "bench@example.com", false).await.expect("account");
    let origin = Origin { actor: "bench".into(), client: Client::default() };
    let read = || vec!["orders:read".to_owned()];
    let make = |new: NewKey| {
        let (db, origin, account) = (db.clone(), origin.clone(), account.id.clone());
        async move {
            create_key(&db, services, &origin, Caller::Service { organisation_id: &account }, &new).await.expect("key")
        }
    };
    let plain = |name: &str| NewKey { name: name.into(), scopes: read(), ..NewKey::default() };
    let (_, valid) = make(plain("valid")).await;
    let (revoked_key, revoked) = make(plain("revoked")).await;
    revoke_key(&db, services, &origin, Caller::Service { organisation_id: &account.id }, &revoked_key.id)
        .await
        .expect("revoke");
    let (_, expired) = make(NewKey { expires_at: Some(Utc::now() + Duration::seconds(1)), ..plain("expired") }).await;
    let (_, fenced) = make(NewKey { ip_allowlist: vec!["10.0.0.0/8".into()], ..plain("fenced") }).await;
    let (_, limited) =
        make(NewKey { rate_limit: Some(RateLimit { limit: 1, window_seconds: 86_400 }), ..plain("limited") }).await;
    clock.advance(Duration::seconds(2));
    let unknown = format::generate(&KeyPrefix::default()).expect("random");
    let outside: IpAddr = "192.0.2.1".parse().expect("ip");
    let cases = vec![
        (Code::Valid, valid.expose().to_owned(), read(), None),
        (Code::Malformed, "lk_not-a-key".to_owned(), read(), None),
        (Code::NotFound, unknown.expose().to_owned(), read(), None),
        (Code::Revoked, revoked.expose().to_owned(), read(), None),
        (Code::Expired, expired.expose().to_owned(), read(), None),
        (Code::IpNotAllowed, fenced.expose().to_owned(), read(), Some(outside)),
        (Code::InsufficientScopes, valid.expose().to_owned(), vec!["orders:write".to_owned()], None),
        (Code::RateLimited, limited.expose().to_owned(), read(), None),
    ];
    // Warm the caches (and spend the rate limit) so every case measures the steady state.
    for (code, key, scopes, ip) in &cases {
        for _ in 0..2 {
            verifier.verify(&db, Request { key, scopes, ip: *ip }).await.expect("verify");
        }
        let seen = verifier.verify(&db, Request { key, scopes, ip: *ip }).await.expect("verify").code;
        assert_eq!(seen, *code, "bench case for {}", code.as_str());
    }
    (db, verifier, cases)
}

#[divan::bench(args = ["VALID", "MALFORMED", "NOT_FOUND", "REVOKED", "EXPIRED", "IP_NOT_ALLOWED", "INSUFFICIENT_SCOPES", "RATE_LIMITED"])]
fn verify(bencher: divan::Bencher, code: &str) {
    let bench = bench();
    let (_, key, scopes, ip) = bench.cases.iter().find(|(c, ..)| c.as_str() == code).expect("a case for every code");
    bencher.bench(|| {
        bench.runtime.block_on(bench.verifier.verify(&bench.db, Request { key, scopes, ip: *ip })).expect("verify").code
    });
}

#[divan::bench]
fn exchange_for_token(bencher: divan::Bencher) {
    let bench = bench();
    let (_, key, ..) = bench.cases.iter().find(|(c, ..)| *c == Code::Valid).expect("a valid key");
    bencher.bench(|| {
        let request = TokenRequest { key, scopes: None, audience: None, ttl_seconds: None, ip: None };
        let issued = exchange(&bench.db, &bench.verifier, &bench.signing, &bench.tokens, request, Utc::now());
        bench.runtime.block_on(issued).expect("token").expires_in
    });
}

#[divan::bench]
fn introspect_live_token(bencher: divan::Bencher) {
    let bench = bench();
    let (_, key, ..) = bench.cases.iter().find(|(c, ..)| *c == Code::Valid).expect("a valid key");
    let request = TokenRequest { key, scopes: None, audience: None, ttl_seconds: None, ip: None };
    let issued = exchange(&bench.db, &bench.verifier, &bench.signing, &bench.tokens, request, Utc::now());
    let token = bench.runtime.block_on(issued).expect("token").token.expose().to_owned();
    let checks = TokenChecks {
        verifier: &bench.verifier,
        signing: &bench.signing,
        policy: &bench.tokens,
        issued: &bench.issued,
    };
    let active = bench.runtime.block_on(introspect(&bench.db, checks, &token, Utc::now())).expect("introspect");
    assert!(active.is_some(), "the token is live and now cached");
    bencher.bench(|| bench.runtime.block_on(introspect(&bench.db, checks, &token, Utc::now())).expect("introspect"));
}

fn main() {
    divan::main();
}
