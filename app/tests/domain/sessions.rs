use crate::support::clock;
use app::domain::activity::Client;
use app::domain::clock::{ManualClock, SharedClock};
use app::domain::sessions::store::{DatabaseSessionStore, id_hash};
use app::domain::sessions::{SessionPolicy, begin, end, signed_in_account};
use app::domain::storage::sessions;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;
use tower_sessions::{Expiry, Session};

on_both_databases!(
    the_database_never_holds_a_session_id,
    a_session_loads_back_until_it_expires,
    expired_sessions_are_deleted_and_live_ones_kept,
    ending_an_accounts_sessions_spares_the_one_kept,
    sign_in_gives_a_new_session_id_and_sign_out_ends_it,
    an_idle_session_ends,
    a_busy_session_still_ends_at_its_lifetime,
    a_person_sees_their_sessions_and_ends_another_one,
);

fn store(db: &DatabaseConnection, clock: &Arc<ManualClock>) -> Arc<DatabaseSessionStore> {
    let shared: SharedClock = clock.clone();
    Arc::new(DatabaseSessionStore::new(db.clone(), shared))
}

/// A record that lives `lives` from now (tower-sessions dates expiry by the system clock).
fn record_for(account: &str, lives: Duration) -> Record {
    let expiry_date = time::OffsetDateTime::now_utc() + time::Duration::seconds(lives.num_seconds());
    let mut data = std::collections::HashMap::new();
    data.insert("account_id".to_owned(), serde_json::json!(account));
    Record { id: Id::default(), data, expiry_date }
}

async fn the_database_never_holds_a_session_id(db: DatabaseConnection) {
    let clock = clock();
    let store = store(&db, &clock);
    let mut record = record_for("acct-1", Duration::hours(1));
    store.create(&mut record).await.expect("create");
    let rows = sessions::Entity::find().all(&db).await.expect("rows");
    assert_eq!(rows.len(), 1);
    let id = record.id.to_string();
    assert_eq!(rows[0].id_hash, id_hash(&record.id));
    assert!(!rows[0].id_hash.contains(&id) && !rows[0].data.contains(&id));
    assert_eq!(rows[0].account_id.as_deref(), Some("acct-1"));
}

async fn a_session_loads_back_until_it_expires(db: DatabaseConnection) {
    let clock = clock();
    let store = store(&db, &clock);
    let mut record = record_for("acct-1", Duration::hours(1));
    store.create(&mut record).await.expect("create");
    let loaded = store.load(&record.id).await.expect("load").expect("present");
    assert_eq!(loaded.data, record.data);
    clock.advance(Duration::hours(1));
    assert!(store.load(&record.id).await.expect("load").is_none(), "expired sessions do not load");
}

async fn expired_sessions_are_deleted_and_live_ones_kept(db: DatabaseConnection) {
    let clock = clock();
    let store = store(&db, &clock);
    let mut short = record_for("acct-1", Duration::minutes(5));
    let mut long = record_for("acct-2", Duration::hours(5));
    store.create(&mut short).await.expect("create");
    store.create(&mut long).await.expect("create");
    clock.advance(Duration::minutes(10));
    assert_eq!(store.delete_expired().await.expect("delete"), 1);
    assert!(store.load(&long.id).await.expect("load").is_some());
}

async fn ending_an_accounts_sessions_spares_the_one_kept(db: DatabaseConnection) {
    let clock = clock();
    let store = store(&db, &clock);
    let mut laptop = record_for("acct-1", Duration::hours(1));
    let mut phone = record_for("acct-1", Duration::hours(1));
    let mut other = record_for("acct-2", Duration::hours(1));
    for r in [&mut laptop, &mut phone, &mut other] {
        store.create(r).await.expect("create");
    }
    assert_eq!(store.delete_for_account("acct-1", Some(laptop.id)).await.expect("delete"), 1);
    assert!(store.load(&laptop.id).await.expect("load").is_some());
    assert!(store.load(&phone.id).await.expect("load").is_none());
    assert!(store.load(&other.id).await.expect("load").is_some());
}

fn session(store: &Arc<DatabaseSessionStore>, id: Option<Id>, policy: &SessionPolicy) -> Session {
    let idle = time::Duration::seconds(policy.idle_timeout.num_seconds());
    Session::new(id, store.clone(), Some(Expiry::OnInactivity(idle)))
}

async fn sign_in_gives_a_new_session_id_and_sign_out_ends_it(db: DatabaseConnection) {
    use app::domain::clock::Clock;
    let clock = clock();
    let store = store(&db, &clock);
    let policy = SessionPolicy::default();

    // A session that existed before sign-in (say, planted by an attacker).
    let before = session(&store, None, &policy);
    before.insert("theme", "dark").await.expect("insert");
    before.save().await.expect("save");
    let planted = before.id().expect("id");

    let current = session(&store, Some(planted), &policy);
    begin(&current, "acct-1", clock.now(), &Client::default()).await.expect("begin");
    current.save().await.expect("save");
    let signed_in = current.id().expect("id");
    assert_ne!(signed_in, planted, "sign-in must change the session id");
    assert!(store.load(&planted).await.expect("load").is_none(), "the planted id is worthless");

    let reloaded = session(&store, Some(signed_in), &policy);
    assert_eq!(signed_in_account(&reloaded, &policy, clock.now()).await.expect("read"), Some("acct-1".into()));
    end(&reloaded).await.expect("end");
    let after = session(&store, Some(signed_in), &policy);
    assert_eq!(signed_in_account(&after, &policy, clock.now()).await.expect("read"), None);
}

async fn an_idle_session_ends(db: DatabaseConnection) {
    use app::domain::clock::Clock;
    let clock = clock();
    let store = store(&db, &clock);
    let policy = SessionPolicy { idle_timeout: Duration::hours(12), absolute_lifetime: Duration::days(7) };
    let current = session(&store, None, &policy);
    begin(&current, "acct-1", clock.now(), &Client::default()).await.expect("begin");
    current.save().await.expect("save");
    let id = current.id().expect("id");

    clock.advance(Duration::hours(11));
    let later = session(&store, Some(id), &policy);
    assert!(signed_in_account(&later, &policy, clock.now()).await.expect("read").is_some());
    clock.advance(Duration::hours(12) + Duration::minutes(1));
    let idle = session(&store, Some(id), &policy);
    assert_eq!(signed_in_account(&idle, &policy, clock.now()).await.expect("read"), None);
}

async fn a_busy_session_still_ends_at_its_lifetime(db: DatabaseConnection) {
    use app::domain::clock::Clock;
    let clock = clock();
    let store = store(&db, &clock);
    let policy = SessionPolicy { idle_timeout: Duration::hours(12), absolute_lifetime: Duration::days(7) };
    let first = session(&store, None, &policy);
    begin(&first, "acct-1", clock.now(), &Client::default()).await.expect("begin");
    first.save().await.expect("save");
    let id = first.id().expect("id");

    // Used every 6 hours: never idle, but a week after sign-in it ends anyway.
    let mut elapsed = Duration::zero();
    let mut signed_in = true;
    while signed_in && elapsed < Duration::days(8) {
        clock.advance(Duration::hours(6));
        elapsed += Duration::hours(6);
        let current = session(&store, Some(id), &policy);
        signed_in = signed_in_account(&current, &policy, clock.now()).await.expect("read").is_some();
        current.save().await.expect("save");
    }
    assert!(!signed_in, "still signed in after 8 days");
    assert!(elapsed >= Duration::days(7) && elapsed < Duration::days(7) + Duration::hours(6), "ended after {elapsed}");
}

async fn a_person_sees_their_sessions_and_ends_another_one(db: DatabaseConnection) {
    use app::domain::clock::Clock;
    use app::domain::sessions::list::{end as end_one, list};
    let clock = clock();
    let store = store(&db, &clock);
    let policy = SessionPolicy::default();
    let laptop = Client {
        ip: Some("198.51.100.7".parse().expect("ip")),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into()),
    };
    let phone = Client {
        ip: Some("203.0.113.9".parse().expect("ip")),
        user_agent: Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1".into(),
        ),
    };
    let here = session(&store, None, &policy);
    begin(&here, "acct-1", clock.now(), &laptop).await.expect("begin");
    here.save().await.expect("save");
    clock.advance(Duration::minutes(5));
    let there = session(&store, None, &policy);
    begin(&there, "acct-1", clock.now(), &phone).await.expect("begin");
    there.save().await.expect("save");
    let someone_else = session(&store, None, &policy);
    begin(&someone_else, "acct-2", clock.now(), &phone).await.expect("begin");
    someone_else.save().await.expect("save");

    let seen = list(&db, "acct-1", clock.now(), here.id()).await.expect("list");
    assert_eq!(seen.len(), 2, "only the person's own sessions");
    assert!(seen[0].current && seen[0].browser == "Firefox on Linux" && seen[0].ip.as_deref() == Some("198.51.100.7"));
    assert_eq!(seen[1].browser, "Safari on iOS");
    assert!(!end_one(&db, "acct-2", &seen[1].reference).await.expect("end"), "nobody ends another person's session");
    assert!(end_one(&db, "acct-1", &seen[1].reference).await.expect("end"));
    let other = session(&store, there.id(), &policy);
    assert_eq!(signed_in_account(&other, &policy, clock.now()).await.expect("read"), None, "signed out");
    assert_eq!(list(&db, "acct-1", clock.now(), here.id()).await.expect("list").len(), 1);
}
