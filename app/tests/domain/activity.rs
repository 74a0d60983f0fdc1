use crate::support::{clock, hasher, svc};
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::{self, Client, EventKind, Log, NewEvent, Origin};
use app::domain::keys::manage::{
    Grace, KeyChanges, KeyPolicy, KeyServices, NewKey, create_key, revoke_key, roll_key, update_key,
};
use app::domain::scopes::ScopeCatalogue;
use app::domain::sign_in::{SignInServices, sign_in};
use app::domain::throttle::ThrottlePolicy;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::DatabaseConnection;

on_both_databases!(
    the_log_tells_who_did_what_to_which_key_from_where_newest_first,
    each_account_sees_only_its_own_log,
    the_log_is_paged,
);

const PASSWORD: &str = "correct horse battery staple";

fn browser() -> Client {
    Client { ip: Some("203.0.113.7".parse().expect("ip")), user_agent: Some("Mozilla/5.0 (X11) Firefox/140".into()) }
}

async fn the_log_tells_who_did_what_to_which_key_from_where_newest_first(db: DatabaseConnection) {
    let clock = clock();
    let ann = create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &Password::new(PASSWORD), false)
        .await
        .expect("account");
    let throttle = ThrottlePolicy::default();
    let signing = SignInServices { hasher: hasher(), clock: clock.as_ref(), policy: &throttle };
    let _ = sign_in(&db, signing, "ann@example.com", &Password::new("wrong"), &browser()).await;
    clock.advance(Duration::seconds(1));
    sign_in(&db, signing, "ann@example.com", &Password::new(PASSWORD), &browser()).await.expect("signed in");

    let policy = KeyPolicy::default();
    let catalogue = ScopeCatalogue::example();
    let cache = KeyCache::default();
    let services = KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: &cache };
    let origin = Origin { actor: "ann@example.com".into(), client: browser() };
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], expires_at: None, ..NewKey::default() };
    let steps = [EventKind::KeyCreated, EventKind::KeyUpdated, EventKind::KeyRolled, EventKind::KeyRevoked];
    clock.advance(Duration::seconds(1));
    let (key, _) = create_key(&db, services, &origin, svc(&ann.id), &new).await.expect("create");
    clock.advance(Duration::seconds(1));
    let changes =
        KeyChanges { scopes: Some(vec!["orders:read".into(), "orders:write".into()]), ..KeyChanges::default() };
    update_key(&db, services, &origin, svc(&ann.id), &key.id, &changes).await.expect("update");
    clock.advance(Duration::seconds(1));
    let (successor, _) = roll_key(&db, services, &origin, svc(&ann.id), &key.id, Grace::OneHour).await.expect("roll");
    clock.advance(Duration::seconds(1));
    revoke_key(&db, services, &origin, svc(&ann.id), &successor.id).await.expect("revoke");

    // Key changes go in the organisation's log, sign-ins in the person's own.
    let page = activity::list(&db, Log::Organisation(&ann.id), 1, 50).await.expect("list");
    let kinds: Vec<EventKind> = page.events.iter().map(|e| e.kind).collect();
    let mut expected: Vec<EventKind> = steps.to_vec();
    expected.reverse();
    assert_eq!(kinds, expected);
    let own = activity::list(&db, Log::Account(&ann.id), 1, 50).await.expect("own log");
    let own: Vec<EventKind> = own.events.iter().map(|e| e.kind).collect();
    assert_eq!(own, [EventKind::SignedIn, EventKind::SignInFailed]);

    let updated = &page.events[2];
    assert_eq!(updated.key_id.as_deref(), Some(key.id.as_str()));
    assert_eq!(updated.key_name.as_deref(), Some("ci"));
    assert_eq!(updated.detail.as_deref(), Some("scopes orders:read → orders:read, orders:write"));
    for event in &page.events {
        assert_eq!(event.actor, "ann@example.com");
        assert_eq!(event.client_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.user_agent.as_deref(), Some("Mozilla/5.0 (X11) Firefox/140"));
    }
}

async fn each_account_sees_only_its_own_log(db: DatabaseConnection) {
    let clock = clock();
    let password = Password::new(PASSWORD);
    let ann = create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &password, false).await.expect("ann");
    let bob = create_account(&db, hasher(), clock.as_ref(), "bob@example.com", &password, false).await.expect("bob");
    let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
    let event = NewEvent { log: Log::Account(&ann.id), kind: EventKind::PasswordChanged, key: None, detail: None };
    activity::record(&db, clock.as_ref(), &origin, event).await.expect("record");
    assert_eq!(activity::list(&db, Log::Account(&ann.id), 1, 10).await.expect("ann").events.len(), 1);
    assert!(activity::list(&db, Log::Account(&bob.id), 1, 10).await.expect("bob").events.is_empty());
    assert!(activity::list(&db, Log::Organisation(&ann.id), 1, 10).await.expect("org").events.is_empty());
}

async fn the_log_is_paged(db: DatabaseConnection) {
    let clock = clock();
    let ann = create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &Password::new(PASSWORD), false)
        .await
        .expect("ann");
    let origin =
        Origin { actor: "ann@example.com".into(), client: Client { ip: None, user_agent: Some("x".repeat(1000)) } };
    for _ in 0..25 {
        clock.advance(Duration::seconds(1));
        let event = NewEvent { log: Log::Account(&ann.id), kind: EventKind::SignedIn, key: None, detail: None };
        activity::record(&db, clock.as_ref(), &origin, event).await.expect("record");
    }
    let first = activity::list(&db, Log::Account(&ann.id), 1, 10).await.expect("page 1");
    let last = activity::list(&db, Log::Account(&ann.id), 3, 10).await.expect("page 3");
    assert_eq!((first.events.len(), first.pages, last.events.len()), (10, 3, 5));
    assert!(first.events[0].occurred_at > first.events[9].occurred_at, "newest first");
    assert!(first.events[9].occurred_at > last.events[0].occurred_at);
    assert_eq!(
        activity::list(&db, Log::Account(&ann.id), 99, 10).await.expect("beyond").page,
        3,
        "past the end shows the last page"
    );
    assert_eq!(first.events[0].user_agent.as_deref().map(str::len), Some(256), "user agents are cut");
}
