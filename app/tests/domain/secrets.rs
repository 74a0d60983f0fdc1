//! Secrets never print: every type that holds a key, password, session id, token or private key shows
//! `<redacted>` (or nothing) in its `Debug` output.

use crate::support::{clock, hasher};
use app::api::auth::PasswordInput;
use app::api::keys::ShownKey;
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::jwt::{SigningKeys, TokenRequest};
use app::domain::keys::format::{self, KeyPrefix};
use app::domain::storage::{accounts, signing_keys};
use app::domain::verification::Request;
use app::on_both_databases;
use sea_orm::{DatabaseConnection, EntityTrait, IntoActiveModel};

on_both_databases!(stored_rows_never_print_password_hashes_or_private_keys);

fn assert_hidden(shown: &str, secret: &str) {
    assert!(!secret.is_empty());
    assert!(!shown.contains(secret), "the secret appears in {shown}");
}

#[test]
fn keys_passwords_and_requests_carrying_them_never_print() {
    let key = format::generate(&KeyPrefix::default()).expect("random");
    let secret = key.expose();
    assert_hidden(&format!("{key:?}"), secret);
    assert_hidden(&format!("{:?}", ShownKey(secret.to_owned())), secret);
    let scopes = vec!["orders:read".to_owned()];
    let request = Request { key: secret, scopes: &scopes, ip: None };
    assert_hidden(&format!("{request:?}"), secret);
    assert!(format!("{request:?}").contains("orders:read"), "the rest still shows");
    let exchange = TokenRequest { key: secret, scopes: None, audience: Some("api"), ttl_seconds: Some(60), ip: None };
    assert_hidden(&format!("{exchange:?}"), secret);
    assert_hidden(&format!("{:?}", Password::new("hunter2hunter2")), "hunter2");
    assert_hidden(&format!("{:?}", PasswordInput("hunter2hunter2".into())), "hunter2");
}

async fn stored_rows_never_print_password_hashes_or_private_keys(db: DatabaseConnection) {
    let clock = clock();
    let account = create_account(
        &db,
        hasher(),
        clock.as_ref(),
        "ann@example.com",
        &Password::new("correct horse battery"),
        false,
    )
    .await
    .expect("account");
    let row = accounts::Entity::find_by_id(account.id).one(&db).await.expect("read").expect("row");
    let hash = row.password_hash.0.clone();
    assert_hidden(&format!("{row:?}"), &hash);
    assert_hidden(&format!("{:?}", row.clone().into_active_model()), &hash);
    assert_hidden(&format!("{row:?}"), "correct horse");

    SigningKeys::default().ensure(&db, app::domain::clock::Clock::now(clock.as_ref())).await.expect("signing keys");
    for key in signing_keys::Entity::find().all(&db).await.expect("keys") {
        let private = key.private_key.clone().expect("the current and next keys keep their private half");
        let bytes = format!("{:?}", private.0);
        assert_hidden(&format!("{key:?}"), &bytes[1..bytes.len() - 1]);
        assert_hidden(&format!("{:?}", key.clone().into_active_model()), &bytes[1..bytes.len() - 1]);
    }
}
