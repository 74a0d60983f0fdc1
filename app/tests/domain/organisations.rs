//! Organisations, members, roles and invitations, on both databases, without HTTP.

use crate::support::{clock, customer, hasher, svc};
use app::domain::accounts::{create_invited_account, find_account, password::Password};
use app::domain::activity::{Client, Origin};
use app::domain::clock::{Clock, ManualClock};
use app::domain::keys::manage::{
    self, Caller, Grace, KeyChanges, KeyError, KeyPolicy, KeyServices, NewKey, create_key, find_key, list_keys,
};
use app::domain::mail::{Mail, links, outbox};
use app::domain::organisations::invitations::{self, InvitationStatus};
use app::domain::organisations::{self, Access, NewOrganisation, OrganisationError, Role, access, members};
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::invitations as stored_invitations;
use app::domain::usage::UsageCounter;
use app::domain::verification::{Code, KeyCache, Request, Verifier};
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::sync::Arc;

on_both_databases!(
    every_role_may_do_exactly_what_the_matrix_says,
    a_non_member_gets_the_same_not_found_as_for_a_missing_organisation,
    an_organisation_always_keeps_an_owner,
    an_invitation_joins_only_the_invited_address_once_within_seven_days,
    an_invitation_is_mailed_and_either_its_mailed_or_its_shown_link_joins_once,
    signing_up_through_an_invitation_joins_its_organisation_and_makes_none_of_ones_own,
    removing_a_member_ends_their_access_and_leaves_their_keys_with_the_organisation,
    a_disabled_organisations_keys_answer_disabled_at_once_and_come_back_when_enabled,
    external_ids_are_unique_and_find_their_organisation,
);

struct Fixture {
    clock: Arc<ManualClock>,
    policy: KeyPolicy,
    catalogue: ScopeCatalogue,
    cache: Arc<KeyCache>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            clock: clock(),
            policy: KeyPolicy::default(),
            catalogue: ScopeCatalogue::example(),
            cache: Arc::new(KeyCache::default()),
        }
    }

    fn services(&self) -> KeyServices<'_> {
        KeyServices { clock: self.clock.as_ref(), policy: &self.policy, catalogue: &self.catalogue, cache: &self.cache }
    }

    fn origin(who: &str) -> Origin {
        Origin { actor: who.to_owned(), client: Client::default() }
    }

    /// `email` joined `org` as `role` through an invitation, as in the portal; answers their account id.
    async fn join(&self, db: &DatabaseConnection, owner: &Access, email: &str, role: Role) -> String {
        let account_id = customer(db, self.clock.as_ref(), email).await;
        let (_, secret) = invitations::invite(db, self.clock.as_ref(), &Self::origin("owner"), owner, email, role)
            .await
            .expect("invite");
        let account = app::domain::accounts::find_account(db, &account_id).await.expect("find").expect("account");
        invitations::accept(db, self.clock.as_ref(), &Self::origin(email), secret.expose(), &account)
            .await
            .expect("accept");
        account_id
    }

    async fn key(&self, db: &DatabaseConnection, caller: Caller<'_>, name: &str) -> Result<String, KeyError> {
        let new = NewKey { name: name.into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
        create_key(db, self.services(), &Self::origin("x"), caller, &new).await.map(|(key, _)| key.id)
    }
}

fn forbidden<T: std::fmt::Debug>(result: &Result<T, KeyError>) -> bool {
    matches!(result, Err(KeyError::Forbidden(_)))
}

fn org_forbidden<T: std::fmt::Debug>(result: &Result<T, OrganisationError>) -> bool {
    matches!(result, Err(OrganisationError::Forbidden(_)))
}

/// For every role, every action of the matrix is tried for real against the domain and must be allowed or
/// refused (403) exactly as README's table says.
async fn every_role_may_do_exactly_what_the_matrix_says(db: DatabaseConnection) {
    let fx = Fixture::new();
    let mut checked = 0;
    for (n, role) in Role::ALL.into_iter().enumerate() {
        let owner_id = customer(&db, fx.clock.as_ref(), &format!("owner{n}@example.com")).await;
        let owner = access(&db, &owner_id, &owner_id).await.expect("owner");
        let member_id = fx.join(&db, &owner, &format!("member{n}@example.com"), role).await;
        let member = access(&db, &owner_id, &member_id).await.expect("member");
        assert_eq!(member.role, role);
        let others_key = fx.key(&db, Caller::Member(&owner), "owner's").await.expect("owner's key");

        // Sees keys, usage, activity: everyone.
        assert!(find_key(&db, &member.organisation.id, &others_key).await.is_ok());
        checked += 1;

        // Creates keys: owner, admin, developer.
        let own_key = fx.key(&db, Caller::Member(&member), "mine").await;
        assert_eq!(own_key.is_ok(), role != Role::Viewer, "{role} creating a key: {own_key:?}");
        assert_eq!(forbidden(&own_key), role == Role::Viewer);
        checked += 1;

        // Edits, rolls and revokes any key: owner, admin; a developer only their own.
        let changes = KeyChanges { name: Some("renamed".into()), ..KeyChanges::default() };
        let any = matches!(role, Role::Owner | Role::Admin);
        let updated = manage::update_key(
            &db,
            fx.services(),
            &Fixture::origin("m"),
            Caller::Member(&member),
            &others_key,
            &changes,
        )
        .await;
        assert_eq!(updated.is_ok(), any, "{role} editing another's key");
        assert_eq!(forbidden(&updated), !any);
        let rolled = manage::roll_key(
            &db,
            fx.services(),
            &Fixture::origin("m"),
            Caller::Member(&member),
            &others_key,
            Grace::None,
        )
        .await;
        assert_eq!(rolled.is_ok(), any, "{role} rolling another's key");
        let target = rolled.map(|(successor, _)| successor.id).unwrap_or(others_key);
        let revoked =
            manage::revoke_key(&db, fx.services(), &Fixture::origin("m"), Caller::Member(&member), &target).await;
        assert_eq!(revoked.is_ok(), any, "{role} revoking another's key");
        checked += 3;
        if let Ok(mine) = own_key {
            let mine_updated =
                manage::update_key(&db, fx.services(), &Fixture::origin("m"), Caller::Member(&member), &mine, &changes)
                    .await;
            let (successor, _) = manage::roll_key(
                &db,
                fx.services(),
                &Fixture::origin("m"),
                Caller::Member(&member),
                &mine,
                Grace::None,
            )
            .await
            .expect("rolling one's own key");
            manage::revoke_key(&db, fx.services(), &Fixture::origin("m"), Caller::Member(&member), &successor.id)
                .await
                .expect("revoking the successor of one's own key");
            assert!(mine_updated.is_ok(), "{role} editing their own key");
            checked += 3;
        }

        // Members and invitations: owner (owners too), admin (not owners).
        for concerned in Role::ALL {
            let email = format!("invitee{n}-{}@example.com", concerned.as_str());
            let invited =
                invitations::invite(&db, fx.clock.as_ref(), &Fixture::origin("m"), &member, &email, concerned).await;
            let may = role == Role::Owner || (role == Role::Admin && concerned != Role::Owner);
            assert_eq!(invited.is_ok(), may, "{role} inviting a {concerned}");
            assert_eq!(org_forbidden(&invited), !may);
            checked += 1;
        }
        let third_id = fx.join(&db, &owner, &format!("third{n}@example.com"), Role::Developer).await;
        let changed =
            members::change_role(&db, fx.clock.as_ref(), &Fixture::origin("m"), &member, &third_id, Role::Viewer).await;
        let may_manage = matches!(role, Role::Owner | Role::Admin);
        assert_eq!(changed.is_ok(), may_manage, "{role} changing a developer's role");
        let promoted =
            members::change_role(&db, fx.clock.as_ref(), &Fixture::origin("m"), &member, &third_id, Role::Owner).await;
        assert_eq!(promoted.is_ok(), role == Role::Owner, "{role} making someone an owner");
        let removed = members::remove(&db, fx.clock.as_ref(), &Fixture::origin("m"), &member, &owner_id).await;
        assert_eq!(removed.is_ok(), role == Role::Owner, "{role} removing an owner");
        checked += 3;

        // Renames and deletes the organisation: owner.
        let member = access(&db, &owner_id, &member_id).await.expect("still a member");
        let renamed = member.require(organisations::Action::ManageOrganisation);
        assert_eq!(renamed.is_ok(), role == Role::Owner, "{role} renaming");
        checked += 1;
    }
    assert_eq!(checked, 61, "role × action cases (a viewer cannot make a key of its own to change)");
}

async fn a_non_member_gets_the_same_not_found_as_for_a_missing_organisation(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let bob = customer(&db, fx.clock.as_ref(), "bob@example.com").await;
    let theirs = access(&db, &ann, &bob).await;
    let missing = access(&db, "no-such-organisation", &bob).await;
    assert!(matches!(theirs, Err(OrganisationError::NotFound)), "{theirs:?}");
    assert!(matches!(missing, Err(OrganisationError::NotFound)), "{missing:?}");
    assert_eq!(format!("{}", theirs.expect_err("x")), format!("{}", missing.expect_err("x")));
    let key = fx.key(&db, svc(&ann), "ann's").await.expect("key");
    assert!(matches!(find_key(&db, &bob, &key).await, Err(KeyError::NotFound)));
}

async fn an_organisation_always_keeps_an_owner(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let origin = Fixture::origin("ann@example.com");
    let leave = members::remove(&db, fx.clock.as_ref(), &origin, &owner, &ann).await;
    assert!(matches!(leave, Err(OrganisationError::LastOwner)), "{leave:?}");
    let demote = members::change_role(&db, fx.clock.as_ref(), &origin, &owner, &ann, Role::Admin).await;
    assert!(matches!(demote, Err(OrganisationError::LastOwner)), "{demote:?}");
    let bob = fx.join(&db, &owner, "bob@example.com", Role::Owner).await;
    members::change_role(&db, fx.clock.as_ref(), &origin, &owner, &ann, Role::Admin).await.expect("another owner now");
    let bob_access = access(&db, &ann, &bob).await.expect("bob");
    let stuck = members::remove(&db, fx.clock.as_ref(), &origin, &bob_access, &bob).await;
    assert!(matches!(stuck, Err(OrganisationError::LastOwner)), "bob is the only owner now: {stuck:?}");
}

async fn an_invitation_joins_only_the_invited_address_once_within_seven_days(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let origin = Fixture::origin("ann@example.com");
    let (invitation, secret) =
        invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, " Dev@Example.com ", Role::Developer)
            .await
            .expect("invite");
    assert_eq!(invitation.email, "dev@example.com");
    let stored = stored_invitations::Entity::find().all(&db).await.expect("rows");
    assert!(!format!("{stored:?}").contains(secret.expose()), "the link's secret reached the database");
    assert!(!format!("{secret:?}").contains(secret.expose()), "the secret prints");

    let eve_id = customer(&db, fx.clock.as_ref(), "eve@example.com").await;
    let eve = app::domain::accounts::find_account(&db, &eve_id).await.expect("find").expect("eve");
    let wrong = invitations::accept(&db, fx.clock.as_ref(), &origin, secret.expose(), &eve).await;
    assert!(matches!(wrong, Err(OrganisationError::Forbidden(_))), "{wrong:?}");
    let forged = invitations::accept(&db, fx.clock.as_ref(), &origin, &"A".repeat(43), &eve).await;
    assert!(matches!(forged, Err(OrganisationError::NotFound)), "{forged:?}");

    let dev_id = customer(&db, fx.clock.as_ref(), "dev@example.com").await;
    let dev = app::domain::accounts::find_account(&db, &dev_id).await.expect("find").expect("dev");
    let joined = invitations::accept(&db, fx.clock.as_ref(), &origin, secret.expose(), &dev).await.expect("accept");
    assert_eq!(joined.id, ann);
    assert_eq!(access(&db, &ann, &dev_id).await.expect("member").role, Role::Developer);
    let again = invitations::accept(&db, fx.clock.as_ref(), &origin, secret.expose(), &dev).await;
    assert!(matches!(again, Err(OrganisationError::InvitationUnusable(_))), "single use: {again:?}");

    let (_, late) = invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "late@example.com", Role::Viewer)
        .await
        .expect("invite");
    let (revoked, cancelled) =
        invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "gone@example.com", Role::Viewer)
            .await
            .expect("invite");
    invitations::revoke(&db, fx.clock.as_ref(), &origin, &owner, &revoked.id).await.expect("revoke");
    assert_eq!(invitations::list_open(&db, fx.clock.as_ref(), &ann).await.expect("open").len(), 1);
    fx.clock.advance(Duration::days(7) + Duration::seconds(1));
    let late_id = customer(&db, fx.clock.as_ref(), "late@example.com").await;
    let late_account = app::domain::accounts::find_account(&db, &late_id).await.expect("find").expect("late");
    let expired = invitations::find_by_secret(&db, fx.clock.as_ref(), late.expose()).await;
    assert!(matches!(expired, Err(OrganisationError::InvitationUnusable(_))), "{expired:?}");
    assert!(invitations::accept(&db, fx.clock.as_ref(), &origin, late.expose(), &late_account).await.is_err());
    let gone = invitations::find_by_secret(&db, fx.clock.as_ref(), cancelled.expose()).await;
    assert!(matches!(gone, Err(OrganisationError::InvitationUnusable(_))), "{gone:?}");
    assert_eq!(revoked.status, InvitationStatus::Open);
}

/// The invitation message queued for `email`, and the secret of its link, minted as the sender would.
async fn mailed_invitation(db: &DatabaseConnection, email: &str, now: chrono::DateTime<chrono::Utc>) -> (Mail, String) {
    let messages = outbox::to_recipient(db, email).await.expect("outbox");
    let message = messages.iter().rev().find(|m| m.kind == "invitation").unwrap_or_else(|| panic!("none to {email}"));
    assert_eq!(message.account_id, None, "the invited person may have no account yet");
    let mail: Mail = serde_json::from_str(&message.params).expect("params");
    let url = links::mint(db, mail.link().expect("a link"), "https://keys.test", now).await.expect("mint");
    let url = url.expect("usable");
    assert!(url.starts_with("https://keys.test/invitations/"), "{url}");
    let secret = url.rsplit('/').next().expect("secret").to_owned();
    (mail, secret)
}

async fn an_invitation_is_mailed_and_either_its_mailed_or_its_shown_link_joins_once(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let origin = Fixture::origin("ann@example.com");
    let (_, shown) = invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "dev@example.com", Role::Admin)
        .await
        .expect("invite");
    let (mail, mailed) = mailed_invitation(&db, "dev@example.com", fx.clock.now()).await;
    match &mail {
        Mail::Invitation { organisation, role, invited_by, .. } => {
            assert_eq!((organisation.as_str(), role.as_str()), ("ann@example.com", "admin"));
            assert_eq!(invited_by, "ann@example.com");
        }
        other => panic!("not an invitation: {other:?}"),
    }
    assert_ne!(mailed, shown.expose(), "the mailbox and the inviter hold different links");
    let stored = stored_invitations::Entity::find().all(&db).await.expect("rows");
    assert!(!format!("{stored:?}").contains(&mailed), "the mailed secret reached the database");
    let queued = outbox::to_recipient(&db, "dev@example.com").await.expect("outbox");
    assert!(!format!("{queued:?}").contains(&mailed), "a queued message holds the secret");
    for secret in [shown.expose(), mailed.as_str()] {
        let offer = invitations::find_by_secret(&db, fx.clock.as_ref(), secret).await.expect("both links open it");
        assert_eq!(offer.invitation.email, "dev@example.com");
    }

    let dev_id = customer(&db, fx.clock.as_ref(), "dev@example.com").await;
    let dev = find_account(&db, &dev_id).await.expect("find").expect("dev");
    invitations::accept(&db, fx.clock.as_ref(), &origin, &mailed, &dev).await.expect("the mailed link joins");
    assert_eq!(access(&db, &ann, &dev_id).await.expect("member").role, Role::Admin);
    let shown_after = invitations::accept(&db, fx.clock.as_ref(), &origin, shown.expose(), &dev).await;
    assert!(
        matches!(shown_after, Err(OrganisationError::InvitationUnusable(_))),
        "one use between them: {shown_after:?}"
    );
    let resent = links::mint(&db, mail.link().expect("link"), "", fx.clock.now()).await.expect("mint");
    assert_eq!(resent, None, "a message for an accepted invitation is moot");
}

async fn signing_up_through_an_invitation_joins_its_organisation_and_makes_none_of_ones_own(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let origin = Fixture::origin("ann@example.com");
    let password = || Password::new("correct horse battery".to_owned());
    let sign_up = |email: &'static str, secret: String| {
        let (db, clock) = (db.clone(), fx.clock.clone());
        async move {
            create_invited_account(&db, hasher(), clock.as_ref(), &Client::default(), email, &password(), &secret)
                .await
                .expect("signed up")
        }
    };
    let verification_mails = |email: &'static str| {
        let db = db.clone();
        async move {
            outbox::to_recipient(&db, email).await.expect("outbox").iter().filter(|m| m.kind == "verify_email").count()
        }
    };

    // Through the mailed link: a member of ann's organisation only, and the address is proven.
    invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "dev@example.com", Role::Developer)
        .await
        .expect("invite");
    let (_, mailed) = mailed_invitation(&db, "dev@example.com", fx.clock.now()).await;
    let dev = sign_up("dev@example.com", mailed).await;
    assert_eq!(dev.joined.as_ref().map(|org| org.id.as_str()), Some(ann.as_str()));
    let theirs = organisations::of_account(&db, &dev.account.id).await.expect("list");
    assert_eq!(
        theirs.iter().map(|(org, role)| (org.id.as_str(), *role)).collect::<Vec<_>>(),
        [(ann.as_str(), Role::Developer)]
    );
    assert!(find_account(&db, &dev.account.id).await.expect("read").expect("dev").email_verified);
    assert_eq!(verification_mails("dev@example.com").await, 0, "no message asks to verify a proven address");

    // Through the link the inviter passed on: joined too, and the address still to be verified.
    let (_, shown) = invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "ops@example.com", Role::Viewer)
        .await
        .expect("invite");
    let ops = sign_up("ops@example.com", shown.expose().to_owned()).await;
    assert_eq!(ops.joined.map(|org| org.id), Some(ann.clone()));
    assert_eq!(organisations::of_account(&db, &ops.account.id).await.expect("list").len(), 1);
    assert!(!ops.account.email_verified);
    assert_eq!(verification_mails("ops@example.com").await, 1);

    // Someone else with the link: an organisation of their own, and the invitation stays open.
    let (_, other) = invitations::invite(&db, fx.clock.as_ref(), &origin, &owner, "qa@example.com", Role::Viewer)
        .await
        .expect("invite");
    let eve = sign_up("eve@example.com", other.expose().to_owned()).await;
    assert_eq!(eve.joined, None);
    let eves = organisations::of_account(&db, &eve.account.id).await.expect("list");
    assert_eq!(
        eves.iter().map(|(org, role)| (org.id.as_str(), *role)).collect::<Vec<_>>(),
        [(eve.account.id.as_str(), Role::Owner)]
    );
    let still = invitations::find_by_secret(&db, fx.clock.as_ref(), other.expose()).await.expect("still open");
    assert_eq!(still.invitation.email, "qa@example.com");
}

async fn removing_a_member_ends_their_access_and_leaves_their_keys_with_the_organisation(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let owner = access(&db, &ann, &ann).await.expect("owner");
    let dev_id = fx.join(&db, &owner, "dev@example.com", Role::Developer).await;
    let dev = access(&db, &ann, &dev_id).await.expect("dev");
    let key = fx.key(&db, Caller::Member(&dev), "dev's").await.expect("key");
    members::remove(&db, fx.clock.as_ref(), &Fixture::origin("ann@example.com"), &owner, &dev_id)
        .await
        .expect("remove");
    assert!(matches!(access(&db, &ann, &dev_id).await, Err(OrganisationError::NotFound)));
    let keys = list_keys(&db, &ann).await.expect("keys");
    assert_eq!(keys.iter().map(|key| key.id.as_str()).collect::<Vec<_>>(), [key.as_str()]);
    assert_eq!(keys[0].created_by_account_id.as_deref(), Some(dev_id.as_str()), "who created it is still known");
    assert!(keys[0].revoked_at.is_none(), "the key keeps working for the organisation");
}

async fn a_disabled_organisations_keys_answer_disabled_at_once_and_come_back_when_enabled(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let (_, plaintext) = create_key(&db, fx.services(), &Fixture::origin("x"), svc(&ann), &new).await.expect("key");
    let verifier = Verifier::new(
        app::domain::keys::format::KeyPrefix::default(),
        fx.clock.clone(),
        fx.cache.clone(),
        Arc::new(UsageCounter::default()),
    );
    let verify = || verifier.verify(&db, Request { key: plaintext.expose(), scopes: &[], ip: None });
    assert_eq!(verify().await.expect("verify").code, Code::Valid, "and now it is cached");
    let operator = Fixture::origin("operator ops@example.com");
    let disabled =
        organisations::set_disabled(&db, fx.clock.as_ref(), &fx.cache, &operator, &ann, true).await.expect("disable");
    assert!(disabled.is_disabled());
    assert_eq!(verify().await.expect("verify").code, Code::Disabled, "at once, though it was cached");

    let owner = access(&db, &ann, &ann).await.expect("members can still get in");
    let refused = fx.key(&db, Caller::Member(&owner), "more").await;
    assert!(forbidden(&refused), "{refused:?}");
    let key_id = list_keys(&db, &ann).await.expect("keys")[0].id.clone();
    let changes = KeyChanges { name: Some("x".into()), ..KeyChanges::default() };
    let edit =
        manage::update_key(&db, fx.services(), &Fixture::origin("x"), Caller::Member(&owner), &key_id, &changes).await;
    assert!(forbidden(&edit), "{edit:?}");

    organisations::set_disabled(&db, fx.clock.as_ref(), &fx.cache, &operator, &ann, false).await.expect("enable");
    assert_eq!(verify().await.expect("verify").code, Code::Valid, "enabling restores everything");
    let owner = access(&db, &ann, &ann).await.expect("owner");
    fx.key(&db, Caller::Member(&owner), "more").await.expect("creating works again");
}

async fn external_ids_are_unique_and_find_their_organisation(db: DatabaseConnection) {
    let fx = Fixture::new();
    let origin = Fixture::origin("service token \"crm\"");
    let new = NewOrganisation { name: "Acme Ltd".into(), external_id: Some("cus_4711".into()) };
    let acme = organisations::create(&db, fx.clock.as_ref(), &origin, &new, None).await.expect("create");
    let found = organisations::find_by_id_or_external_id(&db, "cus_4711").await.expect("by external id");
    assert_eq!(found.id, acme.id);
    assert_eq!(organisations::find_by_id_or_external_id(&db, &acme.id).await.expect("by id").id, acme.id);
    let twin = NewOrganisation { name: "Acme again".into(), external_id: Some("cus_4711".into()) };
    let taken = organisations::create(&db, fx.clock.as_ref(), &origin, &twin, None).await;
    assert!(matches!(taken, Err(OrganisationError::ExternalIdTaken(_))), "{taken:?}");
    for bad in [" spaced ", "", &"x".repeat(256)] {
        let new = NewOrganisation { name: "ok".into(), external_id: Some(bad.to_owned()) };
        let refused = organisations::create(&db, fx.clock.as_ref(), &origin, &new, None).await;
        assert!(
            matches!(refused, Err(OrganisationError::Invalid { field: "external_id", .. })),
            "{bad:?}: {refused:?}"
        );
    }
    let found = organisations::search(&db, "acme", 10).await.expect("search");
    assert_eq!(found.len(), 1);
    let changes = organisations::OrganisationChanges { name: Some("Acme Inc"), external_id: Some(None) };
    let renamed = organisations::update(&db, fx.clock.as_ref(), &fx.cache, &origin, true, &acme.id, changes)
        .await
        .expect("update");
    assert_eq!((renamed.name.as_str(), renamed.external_id), ("Acme Inc", None));
}
