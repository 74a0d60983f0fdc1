use crate::support::{clock, hasher, svc};
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::{Clock, ManualClock};
use app::domain::keys::format::{self, KeyPrefix};
use app::domain::keys::manage::{
    Grace, KeyChanges, KeyError, KeyPolicy, KeyServices, KeyStatus, NewKey, create_key, find_key, list_keys,
    revoke_key, roll_key, update_key,
};
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::api_keys;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{DatabaseConnection, EntityTrait};

on_both_databases!(
    a_new_key_is_returned_once_and_only_its_hash_is_stored,
    key_settings_are_checked_with_a_reason_for_each_field,
    an_account_holds_at_most_its_limit_of_live_keys,
    each_account_lists_only_its_own_keys_newest_first,
    editing_changes_name_scopes_and_expiry_but_not_a_revoked_key,
    rolling_hands_out_a_successor_and_retires_the_old_key_after_the_grace,
    revoking_takes_effect_at_once,
    another_account_can_neither_see_nor_change_any_key,
);

on_both_databases!(
    multi_thread:
    concurrent_creates_at_the_limit_leave_exactly_one_new_key,
    concurrent_rolls_of_one_key_make_exactly_one_successor,
);

struct Fixture {
    clock: std::sync::Arc<ManualClock>,
    policy: KeyPolicy,
    catalogue: ScopeCatalogue,
    cache: KeyCache,
}

impl Fixture {
    fn new() -> Self {
        Self {
            clock: clock(),
            policy: KeyPolicy::default(),
            catalogue: ScopeCatalogue::example(),
            cache: KeyCache::default(),
        }
    }

    fn origin(&self) -> Origin {
        Origin { actor: "ann@example.com".into(), client: Client::default() }
    }

    fn services(&self) -> KeyServices<'_> {
        KeyServices { clock: self.clock.as_ref(), policy: &self.policy, catalogue: &self.catalogue, cache: &self.cache }
    }

    async fn account(&self, db: &DatabaseConnection, email: &str) -> String {
        create_account(db, hasher(), self.clock.as_ref(), email, &Password::new("correct horse battery"), false)
            .await
            .expect("account")
            .id
    }
}

fn new_key(name: &str, scopes: &[&str]) -> NewKey {
    NewKey {
        name: name.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires_at: None,
        ..NewKey::default()
    }
}

fn field_of(result: Result<impl std::fmt::Debug, KeyError>) -> &'static str {
    match result {
        Err(KeyError::Invalid { field, .. }) => field,
        other => panic!("expected a refused field, got {other:?}"),
    }
}

async fn a_new_key_is_returned_once_and_only_its_hash_is_stored(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let (key, plaintext) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("  CI deploys ", &["orders:read"]))
            .await
            .expect("created");
    assert!(format::parse(&KeyPrefix::default(), plaintext.expose()).is_ok());
    assert_eq!(key.name, "CI deploys");
    assert_eq!(key.scopes, vec!["orders:read".to_owned()]);
    assert!(plaintext.expose().starts_with(key.hint.trim_end_matches('…')));
    assert_eq!(key.status(fx.clock.now()), KeyStatus::Active);

    let rows = api_keys::Entity::find().all(&db).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key_hash, format::hash(&plaintext).to_hex());
    let body = &plaintext.expose()[3..];
    assert!(!format!("{:?}", rows[0]).contains(body), "the plaintext key reached the database");
}

async fn key_settings_are_checked_with_a_reason_for_each_field(db: DatabaseConnection) {
    let mut fx = Fixture::new();
    fx.policy.max_lifetime = Some(Duration::days(90));
    let ann = fx.account(&db, "ann@example.com").await;
    let now = fx.clock.now();
    let long_name = "x".repeat(65);
    let cases: Vec<(NewKey, &str)> = vec![
        (new_key("   ", &["orders:read"]), "name"),
        (new_key(&long_name, &["orders:read"]), "name"),
        (new_key("ok", &[]), "scopes"),
        (new_key("ok", &["orders:read", "root"]), "scopes"),
        (NewKey { expires_at: Some(now - Duration::minutes(1)), ..new_key("ok", &["orders:read"]) }, "expires_at"),
        (NewKey { expires_at: Some(now + Duration::days(91)), ..new_key("ok", &["orders:read"]) }, "expires_at"),
        (NewKey { expires_at: None, ..new_key("ok", &["orders:read"]) }, "expires_at"),
    ];
    for (new, field) in cases {
        assert_eq!(field_of(create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new).await), field, "{new:?}");
    }
    assert!(list_keys(&db, &ann).await.expect("list").is_empty(), "refused keys leave nothing behind");
    let within = NewKey { expires_at: Some(now + Duration::days(90)), ..new_key("ok", &["orders:read"]) };
    create_key(&db, fx.services(), &fx.origin(), svc(&ann), &within).await.expect("within the maximum");
}

async fn an_account_holds_at_most_its_limit_of_live_keys(db: DatabaseConnection) {
    let mut fx = Fixture::new();
    fx.policy.max_keys_per_organisation = 2;
    let ann = fx.account(&db, "ann@example.com").await;
    let (first, _) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("one", &["orders:read"])).await.expect("1");
    create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("two", &["orders:read"])).await.expect("2");
    let third = create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("three", &["orders:read"])).await;
    assert!(matches!(third, Err(KeyError::LimitReached(2))), "{third:?}");
    revoke_key(&db, fx.services(), &fx.origin(), svc(&ann), &first.id).await.expect("revoke");
    create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("three", &["orders:read"]))
        .await
        .expect("a slot was freed");
}

async fn each_account_lists_only_its_own_keys_newest_first(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let bob = fx.account(&db, "bob@example.com").await;
    for name in ["first", "second", "third"] {
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key(name, &["orders:read"])).await.expect("ann");
        fx.clock.advance(Duration::seconds(1));
    }
    create_key(&db, fx.services(), &fx.origin(), svc(&bob), &new_key("bob's", &["orders:read"])).await.expect("bob");
    let names: Vec<String> = list_keys(&db, &ann).await.expect("list").into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["third", "second", "first"]);
}

async fn editing_changes_name_scopes_and_expiry_but_not_a_revoked_key(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let (key, _) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("ci", &["orders:read"])).await.expect("key");
    let expiry = fx.clock.now() + Duration::days(3);
    let changes = KeyChanges {
        name: Some("ci (prod)".into()),
        scopes: Some(vec!["orders:write".into(), "orders:read".into()]),
        expires_at: Some(Some(expiry)),
        ..KeyChanges::default()
    };
    let edited = update_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id, &changes).await.expect("edited");
    assert_eq!(edited.name, "ci (prod)");
    assert_eq!(edited.scopes, vec!["orders:read".to_owned(), "orders:write".to_owned()]);
    assert_eq!(edited.expires_at, Some(expiry));
    assert_eq!(edited.status(fx.clock.now()), KeyStatus::ExpiresSoon);
    assert_eq!(find_key(&db, &ann, &key.id).await.expect("find"), edited);

    let bad = KeyChanges { scopes: Some(vec!["root".into()]), ..KeyChanges::default() };
    assert_eq!(field_of(update_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id, &bad).await), "scopes");

    revoke_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id).await.expect("revoke");
    let late = KeyChanges { name: Some("again".into()), ..KeyChanges::default() };
    assert!(matches!(
        update_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id, &late).await,
        Err(KeyError::Finished(_))
    ));
}

async fn rolling_hands_out_a_successor_and_retires_the_old_key_after_the_grace(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let (old, old_plaintext) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("ci", &["orders:read", "orders:write"]))
            .await
            .expect("key");
    let (successor, plaintext) =
        roll_key(&db, fx.services(), &fx.origin(), svc(&ann), &old.id, Grace::OneHour).await.expect("rolled");
    assert_ne!(plaintext.expose(), old_plaintext.expose());
    assert_eq!((successor.name.as_str(), &successor.scopes), ("ci", &old.scopes));
    assert_eq!(successor.status(fx.clock.now()), KeyStatus::Active);

    let rolled = find_key(&db, &ann, &old.id).await.expect("old");
    assert_eq!(rolled.rolled_into.as_deref(), Some(successor.id.as_str()));
    assert_eq!(rolled.status(fx.clock.now()), KeyStatus::Rolled { valid_until: fx.clock.now() + Duration::hours(1) });
    fx.clock.advance(Duration::hours(1));
    assert_eq!(rolled.status(fx.clock.now()), KeyStatus::Expired);

    let again = roll_key(&db, fx.services(), &fx.origin(), svc(&ann), &old.id, Grace::None).await;
    assert!(matches!(again, Err(KeyError::Finished(_))), "a rolled key cannot roll twice: {again:?}");
    let (_, _) = roll_key(&db, fx.services(), &fx.origin(), svc(&ann), &successor.id, Grace::None)
        .await
        .expect("the successor rolls");
    let retired = find_key(&db, &ann, &successor.id).await.expect("successor");
    assert_eq!(retired.status(fx.clock.now()), KeyStatus::Expired, "no grace means expired at once");
}

async fn revoking_takes_effect_at_once(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let (key, _) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("ci", &["orders:read"])).await.expect("key");
    let revoked = revoke_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id).await.expect("revoke");
    assert_eq!(revoked.status(fx.clock.now()), KeyStatus::Revoked);
    let twice = revoke_key(&db, fx.services(), &fx.origin(), svc(&ann), &key.id).await.expect("idempotent");
    assert_eq!(twice, revoked);
}

/// Account B tries every operation on every one of A's keys, in every state a key can be in, and on ids
/// that exist nowhere: each answer is the same NotFound, and A's keys do not change by a byte.
async fn another_account_can_neither_see_nor_change_any_key(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = fx.account(&db, "ann@example.com").await;
    let bob = fx.account(&db, "bob@example.com").await;
    let mut ids = Vec::new();
    for name in ["active", "expiring", "rolled", "revoked"] {
        let mut new = new_key(name, &["orders:read"]);
        if name == "expiring" {
            new.expires_at = Some(fx.clock.now() + Duration::days(2));
        }
        let (key, _) = create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new).await.expect("key");
        ids.push(key.id.clone());
    }
    let (successor, _) =
        roll_key(&db, fx.services(), &fx.origin(), svc(&ann), &ids[2], Grace::OneDay).await.expect("roll");
    ids.push(successor.id);
    revoke_key(&db, fx.services(), &fx.origin(), svc(&ann), &ids[3]).await.expect("revoke");
    ids.push(uuid_like("never-existed"));
    ids.push(String::new());

    let before = api_keys::Entity::find().all(&db).await.expect("rows");
    let changes = KeyChanges { name: Some("mine now".into()), ..KeyChanges::default() };
    for id in &ids {
        let found = find_key(&db, &bob, id).await;
        assert!(matches!(found, Err(KeyError::NotFound)), "view {id}: {found:?}");
        let edited = update_key(&db, fx.services(), &fx.origin(), svc(&bob), id, &changes).await;
        assert!(matches!(edited, Err(KeyError::NotFound)), "edit {id}: {edited:?}");
        for grace in [Grace::None, Grace::OneWeek] {
            let rolled = roll_key(&db, fx.services(), &fx.origin(), svc(&bob), id, grace).await;
            assert!(matches!(rolled, Err(KeyError::NotFound)), "roll {id}: {rolled:?}");
        }
        let revoked = revoke_key(&db, fx.services(), &fx.origin(), svc(&bob), id).await;
        assert!(matches!(revoked, Err(KeyError::NotFound)), "revoke {id}: {revoked:?}");
    }
    assert!(list_keys(&db, &bob).await.expect("list").is_empty());
    assert_eq!(api_keys::Entity::find().all(&db).await.expect("rows"), before, "A's keys changed");
}

fn uuid_like(seed: &str) -> String {
    format!("00000000-0000-7000-8000-{:0>12}", seed.len())
}

async fn concurrent_creates_at_the_limit_leave_exactly_one_new_key(db: DatabaseConnection) {
    let fx = std::sync::Arc::new(Fixture {
        policy: KeyPolicy { max_keys_per_organisation: 5, ..KeyPolicy::default() },
        ..Fixture::new()
    });
    let ann = fx.account(&db, "ann@example.com").await;
    for n in 0..4 {
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key(&format!("k{n}"), &["orders:read"]))
            .await
            .expect("below the limit");
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20)
        .map(|n| {
            let (fx, db, ann, barrier) = (fx.clone(), db.clone(), ann.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key(&format!("race{n}"), &["orders:read"]))
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(()) => created += 1,
            Err(KeyError::LimitReached(_)) => {}
            Err(other) => panic!("a create failed otherwise than at the limit: {other:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one of 20 concurrent creates at limit − 1 succeeds");
    assert_eq!(list_keys(&db, &ann).await.expect("list").len(), 5);
}

async fn concurrent_rolls_of_one_key_make_exactly_one_successor(db: DatabaseConnection) {
    let fx = std::sync::Arc::new(Fixture::new());
    let ann = fx.account(&db, "ann@example.com").await;
    let (key, _) =
        create_key(&db, fx.services(), &fx.origin(), svc(&ann), &new_key("ci", &["orders:read"])).await.expect("key");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let rolls: Vec<_> = (0..8)
        .map(|_| {
            let (fx, db, ann, id, barrier) = (fx.clone(), db.clone(), ann.clone(), key.id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                roll_key(&db, fx.services(), &fx.origin(), svc(&ann), &id, Grace::OneHour)
                    .await
                    .map(|(successor, _)| successor.id)
            })
        })
        .collect();
    let mut successors = Vec::new();
    for roll in rolls {
        match roll.await.expect("task") {
            Ok(id) => successors.push(id),
            Err(KeyError::Finished(_)) => {}
            Err(other) => panic!("a roll failed otherwise than as already rolled: {other:?}"),
        }
    }
    assert_eq!(successors.len(), 1, "exactly one of 8 concurrent rolls succeeds");
    let keys = list_keys(&db, &ann).await.expect("list");
    assert_eq!(keys.len(), 2, "the key and one successor");
    let old = find_key(&db, &ann, &key.id).await.expect("old");
    assert_eq!(old.rolled_into.as_deref(), Some(successors[0].as_str()));
}
