//! The change feed between instances: a change made through one instance reaches the caches of every
//! other one, on SQLite and on PostgreSQL.

use crate::support::{clock, customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::changes::{Caches, Change, Follower, prune, record};
use app::domain::clock::{Clock, SharedClock};
use app::domain::jwt::SigningKeys;
use app::domain::keys::format::{self, KeyHash, KeyPrefix};
use app::domain::keys::manage::{KeyPolicy, KeyServices, NewKey, create_key, revoke_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::service_tokens::TokenCache;
use app::domain::usage::UsageCounter;
use app::domain::verification::{Cached, Code, KeyCache, Request, Verifier};
use app::on_both_databases;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

on_both_databases!(
    a_revocation_through_one_instance_reaches_another_instances_cache,
    a_change_recorded_anywhere_reaches_every_follower_once,
    changes_are_read_past_one_batch_and_numbers_keep_rising_after_pruning,
);

/// One instance: its own key cache, token cache and engine.
struct Instance {
    verifier: Verifier,
    caches: Caches,
}

impl Instance {
    fn new(clock: SharedClock) -> Self {
        let keys = Arc::new(KeyCache::default());
        let verifier = Verifier::new(KeyPrefix::default(), clock, keys.clone(), Arc::new(UsageCounter::default()));
        Self { verifier, caches: Caches { keys, ..caches() } }
    }

    async fn verify(&self, db: &DatabaseConnection, key: &str) -> Code {
        self.verifier.verify(db, Request { key, scopes: &[], ip: None }).await.expect("verify").code
    }
}

async fn a_revocation_through_one_instance_reaches_another_instances_cache(db: DatabaseConnection) {
    let clock = clock();
    let shared: SharedClock = clock.clone();
    let account = customer(&db, clock.as_ref(), "ann@example.com").await;
    let (a, b) = (Instance::new(shared.clone()), Instance::new(shared));
    let mut b_follows = Follower::start(&db, b.caches.clone()).await.expect("follow");
    let (policy, catalogue) = (KeyPolicy::default(), ScopeCatalogue::example());
    let services =
        KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: a.verifier.cache() };
    let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
    let new = NewKey { name: "checkout".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let (key, plaintext) = create_key(&db, services, &origin, svc(&account), &new).await.expect("key");

    assert_eq!(b.verify(&db, plaintext.expose()).await, Code::Valid, "B caches the key");
    revoke_key(&db, services, &origin, svc(&account), &key.id).await.expect("revoke");
    assert_eq!(a.verify(&db, plaintext.expose()).await, Code::Revoked, "at once where it was revoked");
    assert_eq!(b.verify(&db, plaintext.expose()).await, Code::Valid, "B answers from its cache until it follows");
    let caught_up = b_follows.catch_up(&db).await.expect("catch up");
    assert_eq!(caught_up.applied, 2, "the creation and the revocation");
    assert_eq!(b.verify(&db, plaintext.expose()).await, Code::Revoked, "B after one catch-up");
}

fn some_hash() -> KeyHash {
    format::hash(&format::generate(&KeyPrefix::default()).expect("random"))
}

fn caches() -> Caches {
    Caches {
        keys: Arc::new(KeyCache::default()),
        tokens: Arc::new(TokenCache::default()),
        signing_keys: Arc::new(SigningKeys::default()),
        issued_tokens: Arc::new(app::domain::jwt::IssuedTokens::default()),
    }
}

async fn a_change_recorded_anywhere_reaches_every_follower_once(db: DatabaseConnection) {
    let (a, b) = (caches(), caches());
    let mut followers =
        [Follower::start(&db, a.clone()).await.expect("start"), Follower::start(&db, b.clone()).await.expect("start")];
    let (changed, untouched) = (some_hash(), some_hash());
    for cache in [&a.keys, &b.keys] {
        for hash in [&changed, &untouched] {
            cache.fill(*hash, Cached::Unknown, cache.generation());
        }
    }
    record(&db, Utc::now(), &[Change::Key(&changed)]).await.expect("record");
    for follower in &mut followers {
        assert_eq!(follower.catch_up(&db).await.expect("catch up").applied, 1);
        assert!(follower.caches().keys.get(&changed).is_none(), "the changed key is forgotten");
        assert!(follower.caches().keys.get(&untouched).is_some(), "other keys stay cached");
        assert_eq!(follower.catch_up(&db).await.expect("again").applied, 0, "each change applies once");
    }
    record(&db, Utc::now(), &[Change::AllKeys]).await.expect("record");
    followers[1].catch_up(&db).await.expect("catch up");
    assert_eq!(b.keys.len(), (0, 0), "an account deletion empties the key cache");
}

async fn changes_are_read_past_one_batch_and_numbers_keep_rising_after_pruning(db: DatabaseConnection) {
    let mut follower = Follower::start(&db, caches()).await.expect("start");
    let hashes: Vec<KeyHash> = (0..1_050).map(|_| some_hash()).collect();
    let two_hours_ago = clock().now() - chrono::Duration::hours(2);
    let changes: Vec<Change<'_>> = hashes.iter().map(Change::Key).collect();
    for chunk in changes.chunks(500) {
        record(&db, two_hours_ago, chunk).await.expect("record");
    }
    assert_eq!(follower.catch_up(&db).await.expect("catch up").applied, 1_050);
    let before = follower.last_seq();
    assert_eq!(prune(&db, two_hours_ago + chrono::Duration::hours(1)).await.expect("prune"), 1_050);
    record(&db, Utc::now(), &[Change::ServiceTokens]).await.expect("record");
    assert_eq!(follower.catch_up(&db).await.expect("catch up").applied, 1, "a number after the pruned ones");
    assert!(follower.last_seq() > before);
}
