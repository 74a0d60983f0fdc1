//! Putting a person another system vouches for where that system says: their account (found by the
//! system's own id for them, made on first sight, its email and name kept as the system last said) and their
//! organisation and role. Shared by portal sessions and OpenID Connect sign-in.

use crate::domain::accounts::email::Email;
use crate::domain::accounts::{Account, find_row_by_email};
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::changes::{self, Change};
use crate::domain::clock::Clock;
use crate::domain::identities;
use crate::domain::organisations::Role;
use crate::domain::storage::{accounts, memberships, organisations};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// A person as another system describes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person<'a> {
    /// Who vouches: [`identities::PORTAL_ISSUER`] or an identity provider's issuer URL.
    pub issuer: &'a str,
    /// Their id for the person.
    pub subject: &'a str,
    /// The person's address.
    pub email: &'a Email,
    /// Their name, if given.
    pub name: Option<&'a str>,
    /// Whether an account that has the address, and no link to this system yet, becomes this person's: only
    /// when the system vouches that the address is theirs (OpenID Connect's `email_verified`).
    pub link_by_verified_email: bool,
}

/// What [`account_for`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The person's account.
    Account {
        /// The account.
        account: Account,
        /// Whether it was made just now.
        created: bool,
    },
    /// The address belongs to an account the system does not vouch for.
    EmailTaken,
}

/// The person's account: the one linked to (issuer, subject), brought up to date; or a new one without a
/// password. An account that merely has the same address is never taken over here.
pub async fn account_for(db: &impl ConnectionTrait, now: DateTime<Utc>, person: &Person<'_>) -> Result<Found, DbErr> {
    let holder = find_row_by_email(db, person.email).await?;
    if let Some(row) = identities::find_account(db, person.issuer, person.subject).await? {
        if holder.as_ref().is_some_and(|holder| holder.id != row.id) {
            return Ok(Found::EmailTaken);
        }
        let name = person.name.map(str::to_owned).or(row.display_name.clone());
        if row.email != person.email.as_str() || row.display_name != name {
            let mut active: accounts::ActiveModel = row.into();
            active.email = Set(person.email.as_str().to_owned());
            active.display_name = Set(name);
            let account = Account::from(active.update(db).await?);
            return Ok(Found::Account { account, created: false });
        }
        return Ok(Found::Account { account: Account::from(row), created: false });
    }
    if let Some(holder) = holder {
        if !person.link_by_verified_email {
            return Ok(Found::EmailTaken);
        }
        identities::link(db, &holder.id, person.issuer, person.subject, now).await?;
        return Ok(Found::Account { account: Account::from(holder), created: false });
    }
    let row = new_account_row(person.email.as_str(), person.name, now).insert(db).await?;
    identities::link(db, &row.id, person.issuer, person.subject, now).await?;
    Ok(Found::Account { account: Account::from(row), created: true })
}

/// A fresh account for a person another system vouches for; it has no password.
fn new_account_row(email: &str, name: Option<&str>, now: DateTime<Utc>) -> accounts::ActiveModel {
    accounts::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        email: Set(email.to_owned()),
        password_hash: Set(accounts::StoredPasswordHash(crate::domain::accounts::NO_PASSWORD.to_owned())),
        is_operator: Set(false),
        created_at: Set(now),
        password_changed_at: Set(now),
        display_name: Set(name.map(str::to_owned)),
        // The system that sent the person vouches for their address.
        email_verified_at: Set(Some(now)),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_last_step: Set(None),
        muted_notices: Set(String::new()),
    }
}

/// Where the system puts the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership<'a> {
    /// The organisation's external id; it is made when no organisation has it.
    pub organisation_external_id: &'a str,
    /// Its name; when given it is kept up to date, when not a new organisation is named after its id.
    pub organisation_name: Option<&'a str>,
    /// The person's role; when not given, a new member is a developer and a member keeps their role.
    pub role: Option<Role>,
}

/// Where the person was put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The organisation.
    pub organisation_id: String,
    /// Whether its name changed: the caller clears this instance's key cache after committing (the change
    /// feed tells the other instances).
    pub renamed: bool,
}

/// Puts `account_id` into the organisation the system names, with the role it says, making or renaming
/// the organisation as needed; every change goes to the organisation's activity log.
pub async fn in_organisation(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    account_id: &str,
    membership: &Membership<'_>,
) -> Result<Placed, DbErr> {
    let now = clock.now();
    let existing = organisations::Entity::find()
        .filter(organisations::Column::ExternalId.eq(membership.organisation_external_id))
        .one(db)
        .await?;
    let mut renamed = false;
    let organisation = match existing {
        Some(row) => match membership.organisation_name {
            Some(name) if name != row.name => {
                let said = format!("name {} → {name}", row.name);
                let mut active: organisations::ActiveModel = row.into();
                active.name = Set(name.to_owned());
                renamed = true;
                let row = active.update(db).await?;
                record(db, clock, origin, &row.id, EventKind::OrganisationUpdated, Some(said)).await?;
                // Verification answers carry the name: every instance reads its cached keys again, as after
                // any other rename (the caller clears this instance's cache once the transaction commits).
                changes::record(db, now, &[Change::AllKeys]).await?;
                row
            }
            _ => row,
        },
        None => {
            let name = membership.organisation_name.unwrap_or(membership.organisation_external_id);
            let row = organisations::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                name: Set(name.chars().take(crate::domain::organisations::MAX_NAME_CHARS).collect()),
                external_id: Set(Some(membership.organisation_external_id.to_owned())),
                created_at: Set(now),
                disabled_at: Set(None),
            }
            .insert(db)
            .await?;
            record(db, clock, origin, &row.id, EventKind::OrganisationCreated, None).await?;
            row
        }
    };
    let current = memberships::Entity::find()
        .filter(memberships::Column::OrganisationId.eq(organisation.id.clone()))
        .filter(memberships::Column::AccountId.eq(account_id))
        .one(db)
        .await?;
    match (current, membership.role) {
        (None, role) => {
            let role = role.unwrap_or(Role::Developer);
            crate::domain::organisations::members::insert(db, &organisation.id, account_id, role, now).await?;
            record(db, clock, origin, &organisation.id, EventKind::MemberJoined, Some(format!("as {role}"))).await?;
            let email = crate::domain::storage::accounts::Entity::find_by_id(account_id.to_owned())
                .one(db)
                .await?
                .map(|row| row.email)
                .unwrap_or_default();
            let change = crate::domain::webhooks::events::MemberChange {
                organisation_id: &organisation.id,
                account_id,
                email: &email,
                role: role.as_str(),
                added: true,
            };
            crate::domain::webhooks::events::member_changed(db, now, origin, change).await?;
        }
        (Some(row), Some(role)) if row.role != role.as_str() => {
            let mut active: memberships::ActiveModel = row.into();
            active.role = Set(role.as_str().to_owned());
            active.update(db).await?;
            record(db, clock, origin, &organisation.id, EventKind::MemberRoleChanged, Some(format!("now {role}")))
                .await?;
        }
        _ => {}
    }
    Ok(Placed { organisation_id: organisation.id, renamed })
}

async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    organisation_id: &str,
    kind: EventKind,
    detail: Option<String>,
) -> Result<(), DbErr> {
    let event = NewEvent { log: Log::Organisation(organisation_id), kind, key: None, detail };
    activity::record(db, clock, origin, event).await
}

/// Logs the sign-in on the person's own log, after the account's creation when it was made just now.
pub async fn record_sign_in(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    account_id: &str,
    created: bool,
) -> Result<(), DbErr> {
    let kinds: &[EventKind] =
        if created { &[EventKind::AccountCreated, EventKind::SignedIn] } else { &[EventKind::SignedIn] };
    for kind in kinds {
        let event = NewEvent { log: Log::Account(account_id), kind: *kind, key: None, detail: None };
        activity::record(db, clock, origin, event).await?;
    }
    Ok(())
}
