use crate::support::{clock, hasher, svc};
use app::domain::accounts::password::{Password, PasswordError};
use app::domain::accounts::{AccountChangeError, change_password, create_account, delete_account, find_account};
use app::domain::activity::{Client, Origin};
use app::domain::keys::manage::{KeyPolicy, KeyServices, NewKey, create_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::sign_in::{SignInServices, sign_in};
use app::domain::storage::{activity_events, api_keys};
use app::domain::throttle::ThrottlePolicy;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

on_both_databases!(
    changing_the_password_needs_the_current_one_and_replaces_it,
    deleting_an_account_needs_its_password_and_takes_its_keys_along
);

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a whole new passphrase";

async fn changing_the_password_needs_the_current_one_and_replaces_it(db: DatabaseConnection) {
    let clock = clock();
    let ann = create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &Password::new(OLD), false)
        .await
        .expect("ann");
    let client = Client::default();
    let (guess, weak, old, new) =
        (Password::new("guess"), Password::new("short"), Password::new(OLD), Password::new(NEW));
    let wrong = change_password(&db, hasher(), clock.as_ref(), &ann.id, (&guess, &new), &client).await;
    assert!(matches!(wrong, Err(AccountChangeError::WrongPassword)), "{wrong:?}");
    let weak = change_password(&db, hasher(), clock.as_ref(), &ann.id, (&old, &weak), &client).await;
    assert!(matches!(weak, Err(AccountChangeError::Password(PasswordError::TooShort))), "{weak:?}");
    change_password(&db, hasher(), clock.as_ref(), &ann.id, (&old, &new), &client).await.expect("changed");
    let told = app::domain::mail::outbox::to_recipient(&db, "ann@example.com").await.expect("outbox");
    assert!(told.iter().any(|message| message.kind == "password_changed"), "the person is told");

    let policy = ThrottlePolicy::default();
    let services = SignInServices { hasher: hasher(), clock: clock.as_ref(), policy: &policy };
    assert!(sign_in(&db, services, "ann@example.com", &Password::new(OLD), &Client::default()).await.is_err());
    sign_in(&db, services, "ann@example.com", &Password::new(NEW), &Client::default())
        .await
        .expect("new password works");
}

async fn deleting_an_account_needs_its_password_and_takes_its_keys_along(db: DatabaseConnection) {
    let clock = clock();
    let ann = create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &Password::new(OLD), false)
        .await
        .expect("ann");
    let bob = create_account(&db, hasher(), clock.as_ref(), "bob@example.com", &Password::new(OLD), false)
        .await
        .expect("bob");
    let (policy, catalogue) = (KeyPolicy::default(), ScopeCatalogue::example());
    let cache = KeyCache::default();
    let services = KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: &cache };
    let origin = Origin { actor: "x".into(), client: Client::default() };
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], expires_at: None, ..NewKey::default() };
    for account in [&ann.id, &bob.id] {
        create_key(&db, services, &origin, svc(account), &new).await.expect("key");
    }

    let refused = delete_account(&db, hasher(), clock.as_ref(), &cache, &ann.id, &Password::new("guess")).await;
    assert!(matches!(refused, Err(AccountChangeError::WrongPassword)), "{refused:?}");
    assert!(find_account(&db, &ann.id).await.expect("find").is_some());

    delete_account(&db, hasher(), clock.as_ref(), &cache, &ann.id, &Password::new(OLD)).await.expect("deleted");
    assert!(find_account(&db, &ann.id).await.expect("find").is_none());
    let keys = api_keys::Entity::find().all(&db).await.expect("keys");
    assert_eq!(keys.len(), 1, "only bob's key is left");
    assert_eq!(keys[0].organisation_id, bob.id);
    assert!(keys[0].revoked_at.is_none());
    assert_eq!(activity_events::Entity::find().count(&db).await.expect("events"), 1, "ann's log went with her");
    assert!(
        app::domain::organisations::find(&db, &ann.id).await.is_err(),
        "the organisation only ann was in went with her"
    );
}
