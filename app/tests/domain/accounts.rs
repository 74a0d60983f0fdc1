use crate::support::{clock, hasher};
use app::domain::accounts::email::EmailError;
use app::domain::accounts::password::{Password, PasswordError};
use app::domain::accounts::{CreateAccountError, create_account, find_account};
use app::domain::storage::accounts;
use app::on_both_databases;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

on_both_databases!(
    sign_up_stores_a_normalised_email_and_only_an_argon2id_hash,
    one_email_one_account_whatever_the_case,
    refused_sign_ups_store_nothing,
);

async fn sign_up_stores_a_normalised_email_and_only_an_argon2id_hash(db: DatabaseConnection) {
    let clock = clock();
    let password = Password::new("correct horse battery staple");
    let account =
        create_account(&db, hasher(), clock.as_ref(), "  Ann@Example.COM ", &password, false).await.expect("created");
    assert_eq!(account.email, "ann@example.com");
    assert!(!account.is_operator);

    let row = accounts::Entity::find_by_id(account.id.clone()).one(&db).await.expect("query").expect("row");
    assert!(row.password_hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", row.password_hash.0);
    assert!(!row.password_hash.0.contains("correct horse"));
    assert_eq!(find_account(&db, &account.id).await.expect("query"), Some(account));
}

async fn one_email_one_account_whatever_the_case(db: DatabaseConnection) {
    let clock = clock();
    let password = Password::new("correct horse battery staple");
    create_account(&db, hasher(), clock.as_ref(), "ann@example.com", &password, false).await.expect("first");
    let second = create_account(&db, hasher(), clock.as_ref(), "ANN@example.com", &password, false).await;
    assert!(matches!(second, Err(CreateAccountError::EmailTaken)), "{second:?}");
    assert_eq!(accounts::Entity::find().count(&db).await.expect("count"), 1);
}

async fn refused_sign_ups_store_nothing(db: DatabaseConnection) {
    let clock = clock();
    let cases = [
        ("ann@example.com", "short", "password too short"),
        ("ann@example.com", &"x".repeat(129), "password too long"),
        ("not-an-email", "correct horse battery", "bad email"),
        ("   ", "correct horse battery", "empty email"),
    ];
    for (email, password, case) in cases {
        let result = create_account(&db, hasher(), clock.as_ref(), email, &Password::new(password), false).await;
        match (case, result) {
            ("password too short", Err(CreateAccountError::Password(PasswordError::TooShort)))
            | ("password too long", Err(CreateAccountError::Password(PasswordError::TooLong)))
            | ("bad email", Err(CreateAccountError::Email(EmailError::Invalid)))
            | ("empty email", Err(CreateAccountError::Email(EmailError::Empty))) => {}
            (case, other) => panic!("{case}: unexpected {other:?}"),
        }
    }
    assert_eq!(accounts::Entity::find().count(&db).await.expect("count"), 0);
}
