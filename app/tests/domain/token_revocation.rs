//! Access tokens die with their key: the ledger records every token, whatever ends a key early ends its
//! tokens in the same transaction, introspection answers from memory and follows the change feed, a key
//! revokes one of its own tokens (RFC 7009), and the revocation list names revoked, unexpired tokens. On
//! SQLite and PostgreSQL, with two instances (two sets of caches) on one database.

use crate::jwt::{Instance, ask, orders_key, origin};
use crate::support::{customer, svc};
use app::domain::activity::{self, EventKind, Log};
use app::domain::changes::{Caches, Follower};
use app::domain::clock::Clock;
use app::domain::jwt::{IssuedTokens, Revocation, TokenChecks, introspect, ledger, revoke, revoked_page};
use app::domain::keys::manage::{Grace, KeyChanges, revoke_key_and_tokens, roll_key, update_key};
use app::domain::organisations;
use app::domain::service_tokens::TokenCache;
use app::domain::storage::webhook_events;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::sync::Arc;

on_both_databases!(
    a_key_revoked_through_one_instance_ends_its_tokens_on_another_after_one_catch_up,
    a_key_revokes_one_of_its_own_tokens_and_leaves_the_others_active,
    an_expired_token_is_inactive_leaves_the_list_and_is_pruned,
    tokens_never_outlive_a_rolled_disabled_shortened_or_narrowed_key,
    introspection_refuses_anything_that_is_not_a_live_token_of_ours,
);

/// An instance with the caches the change feed keeps fresh.
struct Node {
    instance: Instance,
    issued: Arc<IssuedTokens>,
}

impl Node {
    fn new() -> Self {
        Self { instance: Instance::new(), issued: Arc::new(IssuedTokens::default()) }
    }

    fn caches(&self) -> Caches {
        Caches {
            keys: self.instance.verifier.cache().clone(),
            tokens: Arc::new(TokenCache::default()),
            signing_keys: self.instance.signing.clone(),
            issued_tokens: self.issued.clone(),
        }
    }

    fn checks(&self) -> TokenChecks<'_> {
        let i = &self.instance;
        TokenChecks { verifier: &i.verifier, signing: &i.signing, policy: &i.policy, issued: &self.issued }
    }

    async fn active(&self, db: &DatabaseConnection, token: &str) -> bool {
        introspect(db, self.checks(), token, self.instance.clock.now()).await.expect("introspect").is_some()
    }

    async fn listed(&self, db: &DatabaseConnection) -> Vec<String> {
        let page = revoked_page(db, &self.issued, self.instance.clock.now(), None, 1000).await.expect("list");
        page.revoked.into_iter().map(|entry| entry.jti).collect()
    }

    async fn revoke_token(&self, db: &DatabaseConnection, key: &str, token: &str) -> Revocation {
        let i = &self.instance;
        revoke(db, i.clock.as_ref(), &i.keys.prefix, self.checks(), (key, &origin()), token).await.expect("revoke")
    }
}

async fn a_key_revoked_through_one_instance_ends_its_tokens_on_another_after_one_catch_up(db: DatabaseConnection) {
    let (a, b) = (Node::new(), Node::new());
    let account = customer(&db, a.instance.clock.as_ref(), "ann@example.com").await;
    let (id, key) = a.instance.key(&db, &account, orders_key()).await;
    b.instance.signing.load(&db).await.ok();
    let (first, first_claims) = a.instance.exchange(&db, ask(&key)).await.expect("token");
    let (second, second_claims) = a.instance.exchange(&db, ask(&key)).await.expect("token");
    b.instance.signing.load(&db).await.expect("B loads the signing keys");
    let mut b_follows = Follower::start(&db, b.caches()).await.expect("follow");
    assert!(b.active(&db, &first).await && b.active(&db, &second).await, "B knows tokens A issued");
    assert_eq!(ledger::live_count(&db, &id, a.instance.clock.now()).await.expect("count"), 2);

    let revoked =
        revoke_key_and_tokens(&db, a.instance.services(), &origin(), svc(&account), &id).await.expect("revoke");
    assert_eq!(revoked.tokens_ended, 2, "both tokens end with the key");
    assert!(!a.active(&db, &first).await, "at once on the instance that revoked");
    assert!(b.active(&db, &first).await, "B answers from its caches until it follows the feed");
    b_follows.catch_up(&db).await.expect("catch up");
    assert!(!b.active(&db, &first).await && !b.active(&db, &second).await, "B after one catch-up");
    let mut listed = b.listed(&db).await;
    listed.sort();
    let mut expected = vec![first_claims.jti.clone(), second_claims.jti.clone()];
    expected.sort();
    assert_eq!(listed, expected, "B's revocation list names both");
    assert_eq!(ledger::live_count(&db, &id, a.instance.clock.now()).await.expect("count"), 0);

    let events = activity::list(&db, Log::Organisation(&account), 1, 20).await.expect("log").events;
    let revocation = events.iter().find(|event| event.kind == EventKind::KeyRevoked).expect("logged");
    assert_eq!(revocation.detail.as_deref(), Some("ended 2 access tokens"));
}

async fn a_key_revokes_one_of_its_own_tokens_and_leaves_the_others_active(db: DatabaseConnection) {
    let node = Node::new();
    let account = customer(&db, node.instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = node.instance.key(&db, &account, orders_key()).await;
    let (_, other_key) = node.instance.key(&db, &account, orders_key()).await;
    let (one, one_claims) = node.instance.exchange(&db, ask(&key)).await.expect("token");
    let (two, _) = node.instance.exchange(&db, ask(&key)).await.expect("token");
    assert!(node.active(&db, &one).await, "cached as active");

    assert_eq!(node.revoke_token(&db, &other_key, &one).await, Revocation::OtherKeys, "only its own key");
    assert_eq!(node.revoke_token(&db, "lk_not_a_key", &one).await, Revocation::KeyRefused);
    assert!(node.active(&db, &one).await, "refused attempts change nothing");
    assert_eq!(node.revoke_token(&db, &key, &one).await, Revocation::Done(true));
    assert!(!node.active(&db, &one).await, "inactive at once");
    assert!(node.active(&db, &two).await, "the key's other token keeps working");
    assert_eq!(node.revoke_token(&db, &key, &one).await, Revocation::Done(false), "twice is fine");
    assert_eq!(node.revoke_token(&db, &key, "not.a.token").await, Revocation::Done(false), "RFC 7009: 200 anyway");
    assert_eq!(node.listed(&db).await, vec![one_claims.jti.clone()]);

    let events = activity::list(&db, Log::Organisation(&account), 1, 20).await.expect("log").events;
    assert_eq!(events.iter().filter(|event| event.kind == EventKind::TokenRevoked).count(), 1, "{events:?}");
    let told = webhook_events::Entity::find()
        .filter(webhook_events::Column::EventType.eq("token.revoked"))
        .all(&db)
        .await
        .expect("events");
    assert_eq!(told.len(), 1);
    assert!(told[0].payload.contains(&one_claims.jti), "{}", told[0].payload);
}

async fn an_expired_token_is_inactive_leaves_the_list_and_is_pruned(db: DatabaseConnection) {
    let node = Node::new();
    let account = customer(&db, node.instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = node.instance.key(&db, &account, orders_key()).await;
    let mut short = ask(&key);
    short.ttl_seconds = Some(60);
    let (brief, _) = node.instance.exchange(&db, short.clone()).await.expect("token");
    let (revoked, _) = node.instance.exchange(&db, short).await.expect("token");
    let (lasting, _) = node.instance.exchange(&db, ask(&key)).await.expect("token");
    assert_eq!(node.revoke_token(&db, &key, &revoked).await, Revocation::Done(true));
    assert_eq!(node.listed(&db).await.len(), 1);

    node.instance.clock.advance(Duration::seconds(60));
    assert!(!node.active(&db, &brief).await, "inactive at its exp");
    assert!(node.active(&db, &lasting).await);
    assert!(node.listed(&db).await.is_empty(), "an expired token leaves the list: it is refused by its exp");
    assert_eq!(ledger::prune(&db, node.instance.clock.now()).await.expect("prune"), 2, "both 60-second tokens");
    assert_eq!(ledger::prune(&db, node.instance.clock.now()).await.expect("prune"), 0);
    assert!(node.active(&db, &lasting).await, "live tokens stay");
}

async fn tokens_never_outlive_a_rolled_disabled_shortened_or_narrowed_key(db: DatabaseConnection) {
    let node = Node::new();
    let clock = node.instance.clock.clone();
    let account = customer(&db, clock.as_ref(), "ann@example.com").await;
    let services = node.instance.services();

    // Rolled with a day of grace: the tokens expire long before the old key stops, and keep working.
    let (graced_id, graced) = node.instance.key(&db, &account, orders_key()).await;
    let (graced_token, _) = node.instance.exchange(&db, ask(&graced)).await.expect("token");
    roll_key(&db, services, &origin(), svc(&account), &graced_id, Grace::OneDay).await.expect("roll");
    assert!(node.active(&db, &graced_token).await, "a day of grace outlasts a 15-minute token");

    // Rolled with no grace: the old key stops now, and so do its tokens.
    let (rolled_id, rolled) = node.instance.key(&db, &account, orders_key()).await;
    let (rolled_token, _) = node.instance.exchange(&db, ask(&rolled)).await.expect("token");
    roll_key(&db, services, &origin(), svc(&account), &rolled_id, Grace::None).await.expect("roll");
    node.issued.forget_all();
    assert!(!node.active(&db, &rolled_token).await);

    // Given an expiry sooner than the token's: the token ends now, and the list names it.
    let (moved_id, moved) = node.instance.key(&db, &account, orders_key()).await;
    let (moved_token, moved_claims) = node.instance.exchange(&db, ask(&moved)).await.expect("token");
    let sooner = KeyChanges { expires_at: Some(Some(clock.now() + Duration::minutes(5))), ..KeyChanges::default() };
    update_key(&db, services, &origin(), svc(&account), &moved_id, &sooner).await.expect("update");
    node.issued.forget_all();
    assert!(!node.active(&db, &moved_token).await);
    assert!(node.listed(&db).await.contains(&moved_claims.jti));

    // A scope is taken away from the key: its tokens end, since any of them may carry that scope.
    let (narrowed_id, narrowed) = node.instance.key(&db, &account, orders_key()).await;
    let (narrowed_token, _) = node.instance.exchange(&db, ask(&narrowed)).await.expect("token");
    let kept = KeyChanges { name: Some("renamed".into()), ..KeyChanges::default() };
    update_key(&db, services, &origin(), svc(&account), &narrowed_id, &kept).await.expect("rename");
    node.issued.forget_all();
    assert!(node.active(&db, &narrowed_token).await, "a rename ends nothing");
    let fewer = KeyChanges { scopes: Some(vec!["orders:read".into()]), ..KeyChanges::default() };
    update_key(&db, services, &origin(), svc(&account), &narrowed_id, &fewer).await.expect("narrow");
    node.issued.forget_all();
    assert!(!node.active(&db, &narrowed_token).await, "narrowed scopes end the key's tokens");

    // The organisation is disabled: every token of every key ends, and enabling it does not bring them back.
    let (_, live) = node.instance.key(&db, &account, orders_key()).await;
    let (live_token, _) = node.instance.exchange(&db, ask(&live)).await.expect("token");
    let cache = node.instance.verifier.cache();
    organisations::set_disabled(&db, clock.as_ref(), cache, &origin(), &account, true).await.expect("disable");
    node.issued.forget_all();
    assert!(!node.active(&db, &live_token).await);
    assert!(!node.active(&db, &graced_token).await, "the rolled key's token too");
    organisations::set_disabled(&db, clock.as_ref(), cache, &origin(), &account, false).await.expect("enable");
    node.issued.forget_all();
    assert!(!node.active(&db, &live_token).await, "revoked for good");
    assert!(node.instance.exchange(&db, ask(&live)).await.is_ok(), "the key buys new tokens once enabled");
}

async fn introspection_refuses_anything_that_is_not_a_live_token_of_ours(db: DatabaseConnection) {
    let node = Node::new();
    let account = customer(&db, node.instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = node.instance.key(&db, &account, orders_key()).await;
    let (token, claims) = node.instance.exchange(&db, ask(&key)).await.expect("token");
    assert!(node.active(&db, &token).await);

    let (head, signature) = token.rsplit_once('.').expect("a JWT");
    let mut forged = signature.to_owned().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}.{}", String::from_utf8(forged).expect("ascii"));
    for refused in ["", "nonsense", "a.b.c", tampered.as_str(), &"x".repeat(5000), key.as_str()] {
        assert!(!node.active(&db, refused).await, "{refused:.40}");
    }

    // Another deployment's issuer, on the same signing keys, is not ours.
    let mut elsewhere = Node::new();
    elsewhere.instance.policy.issuer = "https://elsewhere.example.com".into();
    elsewhere.instance.signing.load(&db).await.expect("load");
    assert!(!elsewhere.active(&db, &token).await);

    // Signed by us, but unknown to the ledger (issued before it existed, or pruned): not active.
    app::domain::storage::access_tokens::Entity::delete_by_id(claims.jti.clone()).exec(&db).await.expect("delete");
    let fresh = Node::new();
    fresh.instance.signing.load(&db).await.expect("load");
    assert!(!fresh.active(&db, &token).await, "not in the ledger");
}
