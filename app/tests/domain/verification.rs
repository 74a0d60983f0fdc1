//! The verification engine end to end on a real database: codes, order, cache, invalidation, rate limits
//! and usage counting.

use crate::support::{clock, customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::clock::{Clock, ManualClock, SharedClock};
use app::domain::keys::controls::RateLimit;
use app::domain::keys::format::{self, KeyPrefix, PlaintextKey};
use app::domain::keys::manage::{
    ApiKey, Grace, KeyChanges, KeyPolicy, KeyServices, NewKey, create_key, find_key, revoke_key, roll_key, update_key,
};
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::{api_keys, key_usage};
use app::domain::usage::counter::fold;
use app::domain::usage::{UsageCounter, hourly};
use app::domain::verification::{Code, KeyCache, Request, Verifier};
use app::on_both_databases;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

on_both_databases!(
    every_outcome_code_comes_out_in_the_documented_order,
    malformed_keys_and_cached_keys_cost_no_database_lookup,
    a_revoked_key_answers_revoked_on_the_very_next_verification,
    a_rolled_key_is_valid_and_flagged_until_its_grace_ends_then_expired,
    refused_verifications_do_not_spend_the_rate_limit,
    flushed_usage_counts_every_verification_per_hour_and_code,
    counts_staged_by_an_instance_that_died_are_folded_exactly_once_by_the_others,
    stored_controls_that_cannot_be_read_refuse_the_key_instead_of_widening_it,
);

on_both_databases!(
    multi_thread:
    concurrent_verifications_never_answer_valid_after_a_revoke_returned,
);

struct Fixture {
    clock: Arc<ManualClock>,
    policy: KeyPolicy,
    catalogue: ScopeCatalogue,
    verifier: Verifier,
    account: String,
}

impl Fixture {
    async fn new(db: &DatabaseConnection) -> Self {
        let clock = clock();
        let shared: SharedClock = clock.clone();
        let account = customer(db, shared.as_ref(), "ann@example.com").await;
        let verifier = Verifier::new(
            KeyPrefix::default(),
            shared,
            Arc::new(KeyCache::default()),
            Arc::new(UsageCounter::default()),
        );
        Self { clock, policy: KeyPolicy::default(), catalogue: ScopeCatalogue::example(), verifier, account }
    }

    fn services(&self) -> KeyServices<'_> {
        KeyServices {
            clock: self.clock.as_ref(),
            policy: &self.policy,
            catalogue: &self.catalogue,
            cache: self.verifier.cache(),
        }
    }

    fn origin(&self) -> Origin {
        Origin { actor: "ann@example.com".into(), client: Client::default() }
    }

    async fn key(&self, db: &DatabaseConnection, new: NewKey) -> (ApiKey, PlaintextKey) {
        create_key(db, self.services(), &self.origin(), svc(&self.account), &new).await.expect("key")
    }

    async fn verify(&self, db: &DatabaseConnection, key: &str, scopes: &[&str], ip: Option<&str>) -> Code {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let ip = ip.map(|ip| ip.parse().expect("ip"));
        self.verifier.verify(db, Request { key, scopes: &scopes, ip }).await.expect("verify").code
    }
}

fn reading(name: &str) -> NewKey {
    NewKey { name: name.into(), scopes: vec!["orders:read".into()], ..NewKey::default() }
}

async fn every_outcome_code_comes_out_in_the_documented_order(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let limited = NewKey {
        ip_allowlist: vec!["10.0.0.0/8".into()],
        rate_limit: Some(RateLimit { limit: 1, window_seconds: 3600 }),
        ..reading("limited")
    };
    let (key, plaintext) = fx.key(&db, limited).await;
    let k = plaintext.expose();
    assert_eq!(fx.verify(&db, "lk_nope", &[], None).await, Code::Malformed);
    let stranger = format::generate(&KeyPrefix::default()).expect("random");
    assert_eq!(fx.verify(&db, stranger.expose(), &[], None).await, Code::NotFound);
    // IP is checked before scopes, scopes before the rate limit.
    assert_eq!(fx.verify(&db, k, &["orders:write"], Some("192.0.2.1")).await, Code::IpNotAllowed);
    assert_eq!(fx.verify(&db, k, &["orders:write"], None).await, Code::IpNotAllowed, "no ip, allowlist");
    assert_eq!(fx.verify(&db, k, &["orders:write"], Some("10.1.2.3")).await, Code::InsufficientScopes);
    assert_eq!(fx.verify(&db, k, &["orders:read"], Some("10.1.2.3")).await, Code::Valid);
    assert_eq!(fx.verify(&db, k, &["orders:read"], Some("10.1.2.3")).await, Code::RateLimited);
    // Expiry comes before the IP check, revocation before expiry.
    let soon = fx.clock.now() + Duration::hours(1);
    let changes = KeyChanges { expires_at: Some(Some(soon)), ..KeyChanges::default() };
    update_key(&db, fx.services(), &fx.origin(), svc(&fx.account), &key.id, &changes).await.expect("expiry");
    fx.clock.advance(Duration::hours(2));
    assert_eq!(fx.verify(&db, k, &["orders:write"], Some("192.0.2.1")).await, Code::Expired);
    revoke_key(&db, fx.services(), &fx.origin(), svc(&fx.account), &key.id).await.expect("revoke");
    assert_eq!(fx.verify(&db, k, &["orders:write"], Some("192.0.2.1")).await, Code::Revoked);
}

async fn malformed_keys_and_cached_keys_cost_no_database_lookup(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let (_, plaintext) = fx.key(&db, reading("ci")).await;
    let mut broken = plaintext.expose().to_owned();
    broken.pop();
    broken.push(if plaintext.expose().ends_with('A') { 'B' } else { 'A' });
    for malformed in ["", "lk_", "sk_live_123", broken.as_str(), &"x".repeat(10_000)] {
        assert_eq!(fx.verify(&db, malformed, &[], None).await, Code::Malformed);
    }
    assert_eq!(fx.verifier.database_lookups(), 0, "MALFORMED never reaches the database");
    assert_eq!(fx.verifier.cache().len(), (0, 0), "nor the cache");

    for _ in 0..5 {
        assert_eq!(fx.verify(&db, plaintext.expose(), &["orders:read"], None).await, Code::Valid);
    }
    assert_eq!(fx.verifier.database_lookups(), 1, "one lookup, then the cache answers");
    let stranger = format::generate(&KeyPrefix::default()).expect("random");
    for _ in 0..5 {
        assert_eq!(fx.verify(&db, stranger.expose(), &[], None).await, Code::NotFound);
    }
    assert_eq!(fx.verifier.database_lookups(), 2, "unknown keys are remembered too");
}

async fn a_revoked_key_answers_revoked_on_the_very_next_verification(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let (key, plaintext) = fx.key(&db, reading("ci")).await;
    assert_eq!(fx.verify(&db, plaintext.expose(), &[], None).await, Code::Valid);
    assert_eq!(fx.verifier.cache().len().0, 1, "cached");
    revoke_key(&db, fx.services(), &fx.origin(), svc(&fx.account), &key.id).await.expect("revoke");
    assert_eq!(fx.verify(&db, plaintext.expose(), &[], None).await, Code::Revoked);
}

async fn a_rolled_key_is_valid_and_flagged_until_its_grace_ends_then_expired(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let (key, old) = fx.key(&db, reading("ci")).await;
    assert_eq!(fx.verify(&db, old.expose(), &[], None).await, Code::Valid);
    let (_, new) =
        roll_key(&db, fx.services(), &fx.origin(), svc(&fx.account), &key.id, Grace::OneHour).await.expect("roll");
    let verdict = fx.verifier.verify(&db, Request { key: old.expose(), scopes: &[], ip: None }).await.expect("verify");
    assert_eq!((verdict.code, verdict.rolled()), (Code::Valid, true), "the old key works, flagged as rolled");
    let successor = fx.verifier.verify(&db, Request { key: new.expose(), scopes: &[], ip: None }).await.expect("new");
    assert_eq!((successor.code, successor.rolled()), (Code::Valid, false));
    fx.clock.advance(Duration::minutes(59));
    assert_eq!(fx.verify(&db, old.expose(), &[], None).await, Code::Valid);
    fx.clock.advance(Duration::minutes(1));
    assert_eq!(fx.verify(&db, old.expose(), &[], None).await, Code::Expired, "the grace is over");
    assert_eq!(fx.verify(&db, new.expose(), &[], None).await, Code::Valid);
}

async fn refused_verifications_do_not_spend_the_rate_limit(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let new = NewKey { rate_limit: Some(RateLimit { limit: 2, window_seconds: 3600 }), ..reading("ci") };
    let (_, plaintext) = fx.key(&db, new).await;
    for _ in 0..5 {
        assert_eq!(fx.verify(&db, plaintext.expose(), &["orders:write"], None).await, Code::InsufficientScopes);
    }
    let first = fx.verifier.verify(&db, Request { key: plaintext.expose(), scopes: &[], ip: None }).await.expect("1");
    let state = first.rate_limit.expect("limit reported");
    assert_eq!((first.code, state.limit, state.remaining), (Code::Valid, 2, 1));
    assert!(state.reset_at > fx.clock.now());
    assert_eq!(fx.verify(&db, plaintext.expose(), &[], None).await, Code::Valid);
    let refused = fx.verifier.verify(&db, Request { key: plaintext.expose(), scopes: &[], ip: None }).await.expect("3");
    assert_eq!(refused.code, Code::RateLimited);
    assert_eq!(refused.rate_limit.map(|s| s.remaining), Some(0));
}

async fn flushed_usage_counts_every_verification_per_hour_and_code(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let (key, plaintext) = fx.key(&db, reading("ci")).await;
    for _ in 0..3 {
        fx.verify(&db, plaintext.expose(), &["orders:read"], Some("203.0.113.7")).await;
    }
    fx.verify(&db, plaintext.expose(), &["orders:write"], None).await;
    let usage = fx.verifier.usage();
    assert_eq!(usage.flush(&db).await.expect("flush"), 4);
    assert_eq!(usage.flush(&db).await.expect("nothing left"), 0);
    fx.clock.advance(Duration::hours(1));
    fx.verify(&db, plaintext.expose(), &[], None).await;
    assert_eq!(usage.flush(&db).await.expect("flush"), 1);
    fx.verify(&db, plaintext.expose(), &[], None).await;
    assert_eq!(usage.flush(&db).await.expect("adds to the stored hour"), 1);

    let buckets = hourly(&db, &key.id, fx.clock.now() - Duration::hours(1), fx.clock.now()).await.expect("read");
    let counts: Vec<Vec<(Code, u64)>> = buckets.iter().map(|b| b.counts.clone().into_iter().collect()).collect();
    assert_eq!(counts, vec![vec![(Code::Valid, 3), (Code::InsufficientScopes, 1)], vec![(Code::Valid, 2)]]);
    assert_eq!(key_usage::Entity::find().all(&db).await.expect("rows").len(), 3);
    let stored = find_key(&db, &fx.account, &key.id).await.expect("key");
    assert_eq!(stored.last_used_at, Some(fx.clock.now()));
    assert_eq!(stored.last_used_ip.as_deref(), Some("203.0.113.7"), "the last address given is kept");
}

async fn counts_staged_by_an_instance_that_died_are_folded_exactly_once_by_the_others(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let (key, _) = fx.key(&db, reading("ci")).await;
    let id: Arc<str> = Arc::from(key.id.as_str());
    let ip = "198.51.100.9".parse().ok();
    // Two instances stage what they counted; the first then dies before folding anything.
    let (dead, alive) = (UsageCounter::default(), UsageCounter::default());
    for _ in 0..5 {
        dead.record(&id, fx.clock.now(), Code::Valid, ip);
    }
    for _ in 0..7 {
        alive.record(&id, fx.clock.now() - Duration::seconds(1), Code::Valid, None);
    }
    assert_eq!(dead.stage(&db).await.expect("staged"), 5);
    drop(dead);
    assert_eq!(alive.stage(&db).await.expect("staged"), 7);
    assert_eq!(alive.unwritten(), 0);
    assert!(key_usage::Entity::find().all(&db).await.expect("rows").is_empty(), "staged, not yet folded");

    // The living instances fold at once: every count lands once.
    let (first, second) = tokio::join!(fold(&db), fold(&db));
    assert_eq!(first.expect("fold") + second.expect("fold"), 2, "one staged row per instance");
    assert_eq!(fold(&db).await.expect("fold"), 0, "nothing left staged");
    let total: i64 = key_usage::Entity::find().all(&db).await.expect("rows").iter().map(|row| row.count).sum();
    assert_eq!(total, 12);
    let stored = find_key(&db, &fx.account, &key.id).await.expect("key");
    assert_eq!(stored.last_used_at, Some(fx.clock.now()), "the newest use wins, whoever staged it");
    assert_eq!(stored.last_used_ip.as_deref(), Some("198.51.100.9"));
}

async fn concurrent_verifications_never_answer_valid_after_a_revoke_returned(db: DatabaseConnection) {
    let fx = Arc::new(Fixture::new(&db).await);
    let (key, plaintext) = fx.key(&db, reading("ci")).await;
    let plaintext = Arc::new(plaintext.expose().to_owned());
    let revoked = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (fx, db, plaintext, revoked) = (fx.clone(), db.clone(), plaintext.clone(), revoked.clone());
        workers.push(tokio::spawn(async move {
            let mut after = 0;
            while after < 50 {
                let started_after_revoke = revoked.load(Ordering::SeqCst);
                let code = fx.verify(&db, &plaintext, &[], None).await;
                if started_after_revoke {
                    assert_eq!(code, Code::Revoked, "a verification begun after the revoke returned");
                    after += 1;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    // The workers run on other threads of a multi-threaded runtime while the revoke runs here, so
    // verifications are in flight on either side of it. Wait until each has answered at least once.
    while fx.verifier.cache().len().0 == 0 {
        tokio::task::yield_now().await;
    }
    revoke_key(&db, fx.services(), &fx.origin(), svc(&fx.account), &key.id).await.expect("revoke");
    revoked.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("no verification answered VALID after the revoke");
    }
}

async fn stored_controls_that_cannot_be_read_refuse_the_key_instead_of_widening_it(db: DatabaseConnection) {
    let fx = Fixture::new(&db).await;
    let fenced = NewKey { ip_allowlist: vec!["10.0.0.0/8".into()], ..reading("fenced") };
    let limited = NewKey { rate_limit: Some(RateLimit { limit: 5, window_seconds: 60 }), ..reading("limited") };
    let (fenced_key, fenced_plain) = fx.key(&db, fenced).await;
    let (limited_key, limited_plain) = fx.key(&db, limited).await;
    // Rows changed behind the application's back: an allowlist entry that no longer parses, and a rate
    // limit out of bounds. Read leniently, the first would mean "anywhere" and the second "no limit".
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::IpAllowlist, Expr::value("[\"10.0.0.0/8\", \"ten dot something\"]"))
        .filter(api_keys::Column::Id.eq(fenced_key.id.clone()))
        .exec(&db)
        .await
        .expect("corrupt the allowlist");
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::RatelimitLimit, Expr::value(0))
        .filter(api_keys::Column::Id.eq(limited_key.id.clone()))
        .exec(&db)
        .await
        .expect("corrupt the rate limit");
    for ip in [None, Some("10.1.2.3"), Some("192.0.2.1")] {
        assert_eq!(fx.verify(&db, fenced_plain.expose(), &["orders:read"], ip).await, Code::Disabled, "{ip:?}");
    }
    for _ in 0..3 {
        assert_eq!(fx.verify(&db, limited_plain.expose(), &[], None).await, Code::Disabled);
    }
}
