//! Invitations: an owner or admin invites an email address with a role. The invitation is mailed to the
//! address, and the inviter gets a link of their own to pass on, shown once; either works, once. Each
//! link's secret is 32 bytes from the OS CSPRNG, stored only as its SHA-256 (the mailed one is drawn as the
//! message is sent, by [`crate::domain::mail::links`]). An invitation lasts 7 days, can be revoked, and
//! joins only the person signed in with the invited address. Someone who signs up through one joins its
//! organisation instead of getting one of their own ([`accept_on_sign_up`]).

use super::members;
use super::roles::{Action, Role};
use super::{Access, Organisation, OrganisationError};
use crate::domain::accounts::Account;
use crate::domain::accounts::email::Email;
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::link_secret::{self, LinkSecret};
use crate::domain::mail::{self, Mail};
use crate::domain::storage::{invitations, memberships};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};

/// How long an invitation link works.
pub const LIFETIME: Duration = Duration::days(7);
/// Most open invitations one organisation may have at once.
pub const MAX_OPEN: usize = 100;

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Waiting to be accepted.
    Open,
    /// Accepted.
    Accepted,
    /// Revoked by an owner or admin.
    Revoked,
    /// Not accepted in time.
    Expired,
}

/// An invitation as the members page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: String,
    /// The organisation it joins.
    pub organisation_id: String,
    /// Who may accept it.
    pub email: String,
    /// The role it gives.
    pub role: Role,
    /// Who invited.
    pub invited_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Where it stands, as of when it was read.
    pub status: InvitationStatus,
}

fn to_invitation(row: invitations::Model, now: DateTime<Utc>) -> Option<Invitation> {
    let status = match (row.accepted_at, row.revoked_at) {
        (Some(_), _) => InvitationStatus::Accepted,
        (None, Some(_)) => InvitationStatus::Revoked,
        (None, None) if row.expires_at <= now => InvitationStatus::Expired,
        (None, None) => InvitationStatus::Open,
    };
    Some(Invitation {
        role: Role::parse(&row.role)?,
        id: row.id,
        organisation_id: row.organisation_id,
        email: row.email,
        invited_by: row.invited_by,
        created_at: row.created_at,
        expires_at: row.expires_at,
        status,
    })
}

/// The invitation whose shown or mailed link has this secret.
fn with_secret(secret: &str) -> sea_orm::Condition {
    let hash = link_secret::hash(secret);
    sea_orm::Condition::any()
        .add(invitations::Column::TokenHash.eq(hash.as_str()))
        .add(invitations::Column::MailedTokenHash.eq(hash.as_str()))
}

fn open(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(invitations::Column::AcceptedAt.is_null())
        .add(invitations::Column::RevokedAt.is_null())
        .add(invitations::Column::ExpiresAt.gt(now))
}

/// Invites `email` to the organisation as `role`. Returns the invitation and the link's secret, once.
pub async fn invite(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    by: &Access,
    email: &str,
    role: Role,
) -> Result<(Invitation, LinkSecret), OrganisationError> {
    by.require(Action::ManageMember { role })?;
    let email =
        Email::parse(email).map_err(|err| OrganisationError::Invalid { field: "email", message: err.to_string() })?;
    let now = clock.now();
    let organisation_id = by.organisation.id.as_str();
    let txn = crate::domain::database::begin_write(db).await?;
    if members::list(&txn, organisation_id).await?.iter().any(|member| member.email == email.as_str()) {
        return Err(OrganisationError::AlreadyMember(email.as_str().to_owned()));
    }
    let open_now = invitations::Entity::find()
        .filter(invitations::Column::OrganisationId.eq(organisation_id))
        .filter(open(now))
        .limit(MAX_OPEN as u64 + 1)
        .all(&txn)
        .await?;
    if open_now.len() >= MAX_OPEN {
        return Err(OrganisationError::Invalid {
            field: "email",
            message: format!("This organisation has {MAX_OPEN} open invitations. Revoke some first."),
        });
    }
    let secret = LinkSecret::generate()?;
    let row = invitations::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        organisation_id: Set(organisation_id.to_owned()),
        email: Set(email.as_str().to_owned()),
        role: Set(role.as_str().to_owned()),
        token_hash: Set(secret.hash()),
        mailed_token_hash: Set(None),
        invited_by: Set(origin.actor.chars().take(300).collect()),
        created_at: Set(now),
        expires_at: Set(now + LIFETIME),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let event = NewEvent {
        log: Log::Organisation(organisation_id),
        kind: EventKind::InvitationCreated,
        key: None,
        detail: Some(format!("{} as {}", email.as_str(), role.as_str())),
    };
    activity::record(&txn, clock, origin, event).await?;
    let message = Mail::Invitation {
        invitation_id: row.id.clone(),
        organisation: by.organisation.name.clone(),
        role: role.as_str().to_owned(),
        invited_by: row.invited_by.clone(),
        expires_at: mail::messages::format_time(row.expires_at),
    };
    // Queued with the invitation, so it goes exactly when the invitation exists.
    mail::queue(&txn, now, email.as_str(), None, &message)
        .await
        .map_err(|err| sea_orm::DbErr::Custom(err.to_string()))?;
    txn.commit().await?;
    let invitation = to_invitation(row, now).ok_or(OrganisationError::NotFound)?;
    Ok((invitation, secret))
}

/// The organisation's open invitations, newest first.
pub async fn list_open(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    organisation_id: &str,
) -> Result<Vec<Invitation>, OrganisationError> {
    let now = clock.now();
    let rows = invitations::Entity::find()
        .filter(invitations::Column::OrganisationId.eq(organisation_id))
        .filter(open(now))
        .order_by_desc(invitations::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|row| to_invitation(row, now)).collect())
}

/// Revokes an open invitation of the acting member's organisation; its link stops working at once.
pub async fn revoke(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    by: &Access,
    invitation_id: &str,
) -> Result<(), OrganisationError> {
    let organisation_id = by.organisation.id.as_str();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = invitations::Entity::find_by_id(invitation_id.to_owned())
        .filter(invitations::Column::OrganisationId.eq(organisation_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(OrganisationError::NotFound)?;
    let role = Role::parse(&row.role).ok_or(OrganisationError::NotFound)?;
    by.require(Action::ManageMember { role })?;
    if row.accepted_at.is_some() || row.revoked_at.is_some() {
        return Ok(());
    }
    let detail = format!("{} as {}", row.email, row.role);
    let mut active: invitations::ActiveModel = row.into();
    active.revoked_at = Set(Some(clock.now()));
    active.update(&txn).await?;
    let event = NewEvent {
        log: Log::Organisation(organisation_id),
        kind: EventKind::InvitationRevoked,
        key: None,
        detail: Some(detail),
    };
    activity::record(&txn, clock, origin, event).await?;
    txn.commit().await?;
    Ok(())
}

/// What an invitation link leads to, for the page that offers to accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationOffer {
    /// The invitation.
    pub invitation: Invitation,
    /// The organisation's name.
    pub organisation_name: String,
}

/// The invitation behind a link's secret; [`OrganisationError::InvitationUnusable`] says why one cannot be
/// used, and a forged secret is [`OrganisationError::NotFound`].
pub async fn find_by_secret(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    secret: &str,
) -> Result<InvitationOffer, OrganisationError> {
    if !link_secret::is_well_formed(secret) {
        return Err(OrganisationError::NotFound);
    }
    let row =
        invitations::Entity::find().filter(with_secret(secret)).one(db).await?.ok_or(OrganisationError::NotFound)?;
    let organisation = super::find(db, &row.organisation_id).await?;
    let invitation = to_invitation(row, clock.now()).ok_or(OrganisationError::NotFound)?;
    usable(&invitation)?;
    Ok(InvitationOffer { invitation, organisation_name: organisation.name })
}

fn usable(invitation: &Invitation) -> Result<(), OrganisationError> {
    match invitation.status {
        InvitationStatus::Open => Ok(()),
        InvitationStatus::Accepted => Err(OrganisationError::InvitationUnusable("This invitation was already used.")),
        InvitationStatus::Revoked => Err(OrganisationError::InvitationUnusable("This invitation was revoked.")),
        InvitationStatus::Expired => {
            Err(OrganisationError::InvitationUnusable("This invitation has expired. Ask for a new one."))
        }
    }
}

/// Accepts the invitation behind `secret` for `account`, who must be signed in with the invited address.
/// Single use: a second acceptance is refused.
pub async fn accept(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    secret: &str,
    account: &Account,
) -> Result<Organisation, OrganisationError> {
    let txn = crate::domain::database::begin_write(db).await?;
    let joined = accept_in(&txn, clock, origin, secret, account).await?;
    txn.commit().await?;
    Ok(joined.organisation)
}

/// An accepted invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The organisation joined.
    pub organisation: Organisation,
    /// Whether the link was the one mailed to the address, which proves that the person receives its mail.
    pub through_mail: bool,
}

/// For an account being created through the invitation link with `secret` (the sign-up's `next`), in the
/// transaction that creates it: accepts the invitation when it is open and for the account's address, and
/// answers `None` (nothing done) when it is not, so that the account gets an organisation of its own instead.
pub(crate) async fn accept_on_sign_up(
    txn: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    secret: &str,
    account: &Account,
) -> Result<Option<Joined>, sea_orm::DbErr> {
    match accept_in(txn, clock, origin, secret, account).await {
        Ok(joined) => Ok(Some(joined)),
        Err(OrganisationError::Database(err)) => Err(err),
        Err(_) => Ok(None),
    }
}

/// The secret of the invitation link a portal path opens (`/invitations/{secret}`), if it is one.
pub fn secret_in_path(path: &str) -> Option<&str> {
    let secret = path.strip_prefix("/invitations/")?;
    link_secret::is_well_formed(secret).then_some(secret)
}

async fn accept_in(
    txn: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    secret: &str,
    account: &Account,
) -> Result<Joined, OrganisationError> {
    if !link_secret::is_well_formed(secret) {
        return Err(OrganisationError::NotFound);
    }
    let now = clock.now();
    let row = invitations::Entity::find()
        .filter(with_secret(secret))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(OrganisationError::NotFound)?;
    let through_mail = row.mailed_token_hash.as_deref() == Some(link_secret::hash(secret).as_str());
    let invitation = to_invitation(row.clone(), now).ok_or(OrganisationError::NotFound)?;
    usable(&invitation)?;
    if invitation.email != account.email {
        return Err(OrganisationError::Forbidden(format!(
            "This invitation is for {}. Sign in with that address to accept it.",
            invitation.email
        )));
    }
    let organisation = super::find(txn, &invitation.organisation_id).await?;
    let member = memberships::Entity::find_by_id((organisation.id.clone(), account.id.clone())).one(txn).await?;
    if member.is_some() {
        return Err(OrganisationError::AlreadyMember(account.email.clone()));
    }
    members::insert(txn, &organisation.id, &account.id, invitation.role, now).await?;
    let mut active: invitations::ActiveModel = row.into();
    active.accepted_at = Set(Some(now));
    active.accepted_by = Set(Some(account.id.clone()));
    active.update(txn).await?;
    let event = NewEvent {
        log: Log::Organisation(&organisation.id),
        kind: EventKind::MemberJoined,
        key: None,
        detail: Some(format!(
            "{} as {}, invited by {}",
            account.email,
            invitation.role.as_str(),
            invitation.invited_by
        )),
    };
    activity::record(txn, clock, origin, event).await?;
    let change = crate::domain::webhooks::events::MemberChange {
        organisation_id: &organisation.id,
        account_id: &account.id,
        email: &account.email,
        role: invitation.role.as_str(),
        added: true,
    };
    crate::domain::webhooks::events::member_changed(txn, now, origin, change).await?;
    Ok(Joined { organisation, through_mail })
}
