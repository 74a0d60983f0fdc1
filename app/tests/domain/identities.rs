//! Accounts vouched for by another system, on both databases, without HTTP: an identity provider's
//! verified address links a password account, an unverified one never does; the organisation claim places
//! the person; a portal link opens once and brings the person up to date.

use crate::support::{clock, customer};
use app::domain::accounts::Account;
use app::domain::activity::Client;
use app::domain::changes::{Caches, Follower};
use app::domain::identities::oidc::{self, OidcSignInError, VouchedPerson};
use app::domain::jwt::SigningKeys;
use app::domain::organisations::{self, Role, access};
use app::domain::portal_sessions::{self, NewPortalSession, OpenError, PortalPolicy, Unusable};
use app::domain::service_tokens::TokenCache;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

on_both_databases!(
    an_identity_providers_verified_address_links_the_password_account_and_an_unverified_one_never_does,
    the_organisation_claim_places_the_person_with_the_claimed_role,
    a_new_person_without_an_organisation_claim_gets_an_organisation_of_their_own,
    a_new_person_signing_in_from_an_invitation_joins_its_organisation_instead,
    a_portal_link_opens_once_and_later_links_update_the_person,
);

/// Signs in without an invitation, answering the account.
async fn sign_in(
    db: &DatabaseConnection,
    clock: &dyn app::domain::clock::Clock,
    client: &Client,
    vouched: &VouchedPerson,
) -> Result<Account, OidcSignInError> {
    oidc::sign_in(db, clock, client, vouched, None).await.map(|signed_in| signed_in.account)
}

const ISSUER: &str = "https://login.example.com";

fn vouched(subject: &str, email: &str, verified: bool) -> VouchedPerson {
    VouchedPerson {
        issuer: ISSUER.to_owned(),
        subject: subject.to_owned(),
        email: Some(email.to_owned()),
        email_verified: verified,
        name: Some("Ann".to_owned()),
        organisation: None,
        role: None,
    }
}

async fn an_identity_providers_verified_address_links_the_password_account_and_an_unverified_one_never_does(
    db: DatabaseConnection,
) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let client = Client::default();
    let refused = sign_in(&db, clock.as_ref(), &client, &vouched("sub-mallory", "ann@example.com", false)).await;
    assert!(matches!(refused, Err(OidcSignInError::EmailTaken)), "{refused:?}");
    let linked =
        sign_in(&db, clock.as_ref(), &client, &vouched("sub-ann", "ann@example.com", true)).await.expect("linked");
    assert_eq!(linked.id, ann, "the verified address is the password account's");
    // Linked now: the identity finds the account even when a later token leaves the address unverified.
    let again =
        sign_in(&db, clock.as_ref(), &client, &vouched("sub-ann", "ann@example.com", false)).await.expect("known");
    assert_eq!(again.id, ann);
    let refused = sign_in(&db, clock.as_ref(), &client, &vouched("sub-mallory", "ann@example.com", false)).await;
    assert!(matches!(refused, Err(OidcSignInError::EmailTaken)), "another subject still cannot take it");
    let no_email = VouchedPerson { email: None, ..vouched("sub-x", "x@example.com", true) };
    assert!(matches!(sign_in(&db, clock.as_ref(), &client, &no_email).await, Err(OidcSignInError::NoEmail)));
}

async fn the_organisation_claim_places_the_person_with_the_claimed_role(db: DatabaseConnection) {
    let clock = clock();
    let client = Client::default();
    let person = VouchedPerson {
        organisation: Some("cus_9".to_owned()),
        role: Some("admin".to_owned()),
        ..vouched("sub-bob", "bob@example.com", true)
    };
    let bob = sign_in(&db, clock.as_ref(), &client, &person).await.expect("signed in");
    let org = organisations::find_by_id_or_external_id(&db, "cus_9").await.expect("made from the claim");
    assert_eq!(access(&db, &org.id, &bob.id).await.expect("member").role, Role::Admin);
    assert_eq!(organisations::of_account(&db, &bob.id).await.expect("list").len(), 1, "no organisation of their own");
    let demoted = VouchedPerson { role: Some("viewer".to_owned()), ..person };
    sign_in(&db, clock.as_ref(), &client, &demoted).await.expect("signed in");
    assert_eq!(access(&db, &org.id, &bob.id).await.expect("member").role, Role::Viewer, "the claim is the truth");
}

async fn a_new_person_without_an_organisation_claim_gets_an_organisation_of_their_own(db: DatabaseConnection) {
    let clock = clock();
    let carol = sign_in(&db, clock.as_ref(), &Client::default(), &vouched("sub-carol", "carol@example.com", true))
        .await
        .expect("signed in");
    assert_eq!(access(&db, &carol.id, &carol.id).await.expect("own").role, Role::Owner);
    assert!(!carol.has_password, "no password");
}

async fn a_new_person_signing_in_from_an_invitation_joins_its_organisation_instead(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let origin = app::domain::activity::Origin { actor: "ann@example.com".to_owned(), client: Client::default() };
    let (_, secret) =
        organisations::invitations::invite(&db, clock.as_ref(), &origin, &owner, "dan@example.com", Role::Admin)
            .await
            .expect("invite");
    let dan = oidc::sign_in(
        &db,
        clock.as_ref(),
        &Client::default(),
        &vouched("sub-dan", "dan@example.com", true),
        Some(secret.expose()),
    )
    .await
    .expect("signed in");
    assert_eq!(dan.joined.map(|org| org.id), Some(ann.clone()));
    let theirs = organisations::of_account(&db, &dan.account.id).await.expect("list");
    assert_eq!(
        theirs.iter().map(|(org, role)| (org.id.as_str(), *role)).collect::<Vec<_>>(),
        [(ann.as_str(), Role::Admin)]
    );

    // An invitation for someone else changes nothing for the person signing in.
    let (_, other) =
        organisations::invitations::invite(&db, clock.as_ref(), &origin, &owner, "qa@example.com", Role::Viewer)
            .await
            .expect("invite");
    let eve = oidc::sign_in(
        &db,
        clock.as_ref(),
        &Client::default(),
        &vouched("sub-eve", "eve@example.com", true),
        Some(other.expose()),
    )
    .await
    .expect("signed in");
    assert_eq!(eve.joined, None);
    assert_eq!(access(&db, &eve.account.id, &eve.account.id).await.expect("own").role, Role::Owner);
}

async fn a_portal_link_opens_once_and_later_links_update_the_person(db: DatabaseConnection) {
    let clock = clock();
    let cache = KeyCache::default();
    let policy = PortalPolicy { return_origins: vec!["https://app.example.com".to_owned()], ..PortalPolicy::default() };
    let new = NewPortalSession {
        organisation_external_id: "cus_1".to_owned(),
        organisation_name: "Acme".to_owned(),
        user_external_id: "usr_1".to_owned(),
        user_email: "Dan@Example.com".to_owned(),
        user_name: None,
        role: Role::Developer,
        return_url: "https://app.example.com/back".to_owned(),
    };
    let link = portal_sessions::create(&db, clock.as_ref(), &policy, "app", &new).await.expect("link");
    let client = Client::default();
    let opened =
        portal_sessions::open(&db, clock.as_ref(), &cache, &client, link.secret.expose()).await.expect("opens");
    assert_eq!(opened.account.email, "dan@example.com");
    assert_eq!(access(&db, &opened.organisation_id, &opened.account.id).await.expect("member").role, Role::Developer);
    let twice = portal_sessions::open(&db, clock.as_ref(), &cache, &client, link.secret.expose()).await;
    assert!(matches!(twice, Err(OpenError::Unusable(Unusable::Used))), "{twice:?}");

    let renamed = NewPortalSession { organisation_name: "Acme Group".to_owned(), role: Role::Owner, ..new };
    let link = portal_sessions::create(&db, clock.as_ref(), &policy, "app", &renamed).await.expect("link");
    let other_instance = Caches {
        keys: Arc::new(KeyCache::default()),
        tokens: Arc::new(TokenCache::default()),
        signing_keys: Arc::new(SigningKeys::default()),
        issued_tokens: Arc::new(app::domain::jwt::IssuedTokens::default()),
    };
    let mut follower = Follower::start(&db, other_instance).await.expect("follow");
    let again = portal_sessions::open(&db, clock.as_ref(), &cache, &client, link.secret.expose()).await.expect("opens");
    assert_eq!(
        (again.account.id.as_str(), again.organisation_id.as_str()),
        (opened.account.id.as_str(), opened.organisation_id.as_str())
    );
    assert_eq!(organisations::find(&db, &again.organisation_id).await.expect("org").name, "Acme Group");
    let read = follower.catch_up(&db).await.expect("catch up");
    assert!(read.applied >= 1, "other instances hear of the rename, which verification answers carry");
    assert_eq!(access(&db, &again.organisation_id, &again.account.id).await.expect("member").role, Role::Owner);
}
