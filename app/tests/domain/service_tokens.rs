use crate::support::clock;
use app::domain::keys::format::KeyPrefix;
use app::domain::service_tokens::{
    AuthenticateError, Permission, ServiceTokenError, TokenRejection, authenticate, create, list, revoke,
};
use app::domain::storage::service_tokens as storage;
use app::on_both_databases;
use sea_orm::{DatabaseConnection, EntityTrait};

on_both_databases!(
    a_token_is_shown_once_stored_as_a_hash_and_authenticates_until_revoked,
    tokens_need_a_name_and_a_permission
);

fn prefix() -> KeyPrefix {
    KeyPrefix::new("lksvc").expect("prefix")
}

fn rejection(result: Result<impl std::fmt::Debug, AuthenticateError>) -> TokenRejection {
    match result {
        Err(AuthenticateError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn a_token_is_shown_once_stored_as_a_hash_and_authenticates_until_revoked(db: DatabaseConnection) {
    let clock = clock();
    let (token, plaintext) = create(
        &db,
        clock.as_ref(),
        &prefix(),
        " billing ",
        &[Permission::KeysWrite, Permission::Verify, Permission::Verify],
    )
    .await
    .expect("created");
    assert!(plaintext.expose().starts_with("lksvc_"));
    assert_eq!(token.name, "billing");
    assert_eq!(token.permissions, vec![Permission::Verify, Permission::KeysWrite]);
    let rows = storage::Entity::find().all(&db).await.expect("rows");
    assert!(!format!("{rows:?}").contains(&plaintext.expose()[6..]), "the plaintext token reached the database");

    let found = authenticate(&db, &prefix(), plaintext.expose()).await.expect("accepted");
    assert_eq!(found.id, token.id);
    assert!(found.may(Permission::Verify) && !found.may(Permission::KeysRead));

    assert_eq!(rejection(authenticate(&db, &prefix(), "lksvc_nonsense").await), TokenRejection::Malformed);
    assert_eq!(
        rejection(authenticate(&db, &KeyPrefix::default(), plaintext.expose()).await),
        TokenRejection::Malformed
    );
    let (_, other) = create(&db, clock.as_ref(), &prefix(), "other", &[Permission::Verify]).await.expect("other");
    storage::Entity::delete_many().exec(&db).await.expect("forget all");
    assert_eq!(rejection(authenticate(&db, &prefix(), other.expose()).await), TokenRejection::Unknown);

    let (kept, kept_plaintext) =
        create(&db, clock.as_ref(), &prefix(), "kept", &[Permission::Verify]).await.expect("kept");
    revoke(&db, clock.as_ref(), &kept.id).await.expect("revoked");
    assert_eq!(rejection(authenticate(&db, &prefix(), kept_plaintext.expose()).await), TokenRejection::Revoked);
    let listed = list(&db).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
}

async fn tokens_need_a_name_and_a_permission(db: DatabaseConnection) {
    let clock = clock();
    assert!(matches!(
        create(&db, clock.as_ref(), &prefix(), "  ", &[Permission::Verify]).await,
        Err(ServiceTokenError::Invalid(_))
    ));
    assert!(matches!(create(&db, clock.as_ref(), &prefix(), "billing", &[]).await, Err(ServiceTokenError::Invalid(_))));
    assert!(matches!(revoke(&db, clock.as_ref(), "no-such-id").await, Err(ServiceTokenError::NotFound(_))));
    assert!(list(&db).await.expect("list").is_empty());
}
