use crate::support::{clock, hasher};
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::Clock;
use app::domain::keys::format::{self, KeyPrefix};
use app::domain::keys::manage::{Grace, KeyPolicy, KeyServices, NewKey, create_key, revoke_key, roll_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::verification::{Ask, Code, decide, look_up};
use app::on_both_databases;
use chrono::Duration;
use sea_orm::DatabaseConnection;

on_both_databases!(stored_keys_verify_by_their_hash_through_revoke_and_roll);

async fn stored_keys_verify_by_their_hash_through_revoke_and_roll(db: DatabaseConnection) {
    let clock = clock();
    let ann = create_account(
        &db,
        hasher(),
        clock.as_ref(),
        "ann@example.com",
        &Password::new("correct horse battery"),
        false,
    )
    .await
    .expect("ann");
    let (policy, catalogue) = (KeyPolicy::default(), ScopeCatalogue::example());
    let services = KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue };
    let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], expires_at: None };
    let prefix = KeyPrefix::default();
    let verify = |record: Result<_, Code>, scopes: &[String], at| match record {
        Ok(record) => decide(&record, Ask { scopes, ip: None }, at),
        Err(code) => code,
    };
    let read = vec!["orders:read".to_owned()];

    let (key, plaintext) = create_key(&db, services, &origin, &ann.id, &new).await.expect("key");
    let record = look_up(&db, &prefix, plaintext.expose()).await.expect("db");
    assert_eq!(record.as_ref().map(|r| r.id.clone()), Ok(key.id.clone()));
    assert_eq!(verify(record, &read, clock.now()), Code::Valid);
    assert_eq!(
        verify(look_up(&db, &prefix, plaintext.expose()).await.expect("db"), &["orders:write".into()], clock.now()),
        Code::InsufficientScopes
    );

    assert_eq!(look_up(&db, &prefix, "lk_short").await.expect("db"), Err(Code::Malformed));
    let stranger = format::generate(&prefix).expect("random");
    assert_eq!(look_up(&db, &prefix, stranger.expose()).await.expect("db"), Err(Code::NotFound));

    let (_, successor) = roll_key(&db, services, &origin, &ann.id, &key.id, Grace::OneHour).await.expect("roll");
    let old = look_up(&db, &prefix, plaintext.expose()).await.expect("db");
    assert!(old.as_ref().is_ok_and(|r| r.rolled));
    assert_eq!(verify(old.clone(), &read, clock.now()), Code::Valid, "valid during the grace period");
    assert_eq!(verify(old, &read, clock.now() + Duration::hours(1)), Code::Expired, "expired after it");

    let successor_record = look_up(&db, &prefix, successor.expose()).await.expect("db").expect("found");
    revoke_key(&db, clock.as_ref(), &origin, &ann.id, &successor_record.id).await.expect("revoke");
    assert_eq!(verify(look_up(&db, &prefix, successor.expose()).await.expect("db"), &read, clock.now()), Code::Revoked);
}
