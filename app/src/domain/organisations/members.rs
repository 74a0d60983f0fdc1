//! Membership: who may see an organisation, with which role, and changing that. Access is read from the
//! database on every request, so a member removed on one instance has no access on any instance from the
//! next request on.

use super::roles::{self, Action, Role};
use super::{Organisation, OrganisationError};
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::storage::{accounts, memberships};
use crate::domain::webhooks::events::MemberChange;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};

/// A signed-in person's standing in one organisation: proof that they are a member, and of what role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The organisation.
    pub organisation: Organisation,
    /// The member.
    pub account_id: String,
    /// Their role.
    pub role: Role,
}

impl Access {
    /// Whether the member may do `action`.
    pub fn may(&self, action: Action) -> bool {
        roles::permits(self.role, action)
    }

    /// `Ok` when the member may do `action`, otherwise [`OrganisationError::Forbidden`] saying why.
    pub fn require(&self, action: Action) -> Result<(), OrganisationError> {
        if self.may(action) { Ok(()) } else { Err(OrganisationError::Forbidden(roles::refusal(self.role, action))) }
    }
}

/// `account_id`'s access to organisation `organisation_id`; [`OrganisationError::NotFound`] when there is no
/// such organisation or they are not a member of it, so the two cannot be told apart.
pub async fn access(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    account_id: &str,
) -> Result<Access, OrganisationError> {
    let membership = memberships::Entity::find_by_id((organisation_id.to_owned(), account_id.to_owned()))
        .one(db)
        .await?
        .ok_or(OrganisationError::NotFound)?;
    let role = Role::parse(&membership.role).ok_or(OrganisationError::NotFound)?;
    let organisation = super::find(db, organisation_id).await?;
    Ok(Access { organisation, account_id: account_id.to_owned(), role })
}

/// A member as the members page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their account.
    pub account_id: String,
    /// Their email address.
    pub email: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// The organisation's members: owners first, then by email.
pub async fn list(db: &impl ConnectionTrait, organisation_id: &str) -> Result<Vec<Member>, DbErr> {
    let rows =
        memberships::Entity::find().filter(memberships::Column::OrganisationId.eq(organisation_id)).all(db).await?;
    let ids: Vec<&str> = rows.iter().map(|row| row.account_id.as_str()).collect();
    let people = accounts::Entity::find().filter(accounts::Column::Id.is_in(ids)).all(db).await?;
    let mut members: Vec<Member> = rows
        .iter()
        .filter_map(|row| {
            let person = people.iter().find(|person| person.id == row.account_id)?;
            Some(Member {
                account_id: row.account_id.clone(),
                email: person.email.clone(),
                role: Role::parse(&row.role)?,
                joined_at: row.joined_at,
            })
        })
        .collect();
    members.sort_by(|a, b| (a.role, &a.email).cmp(&(b.role, &b.email)));
    Ok(members)
}

/// Adds a membership row; the caller has checked everything.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    account_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    memberships::ActiveModel {
        organisation_id: Set(organisation_id.to_owned()),
        account_id: Set(account_id.to_owned()),
        role: Set(role.as_str().to_owned()),
        joined_at: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Locks the organisation's row until the transaction ends, so that changes counting its owners take turns.
async fn lock_organisation(db: &impl ConnectionTrait, organisation_id: &str) -> Result<(), OrganisationError> {
    super::locked(db, organisation_id).await.map(|_| ())
}

async fn owners(db: &impl ConnectionTrait, organisation_id: &str) -> Result<u64, DbErr> {
    memberships::Entity::find()
        .filter(memberships::Column::OrganisationId.eq(organisation_id))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await
}

async fn membership_row(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    account_id: &str,
) -> Result<(memberships::Model, Role, String), OrganisationError> {
    let row = memberships::Entity::find_by_id((organisation_id.to_owned(), account_id.to_owned()))
        .one(db)
        .await?
        .ok_or(OrganisationError::NotFound)?;
    let role = Role::parse(&row.role).ok_or(OrganisationError::NotFound)?;
    let email = accounts::Entity::find_by_id(account_id.to_owned())
        .one(db)
        .await?
        .map(|person| person.email)
        .ok_or(OrganisationError::NotFound)?;
    Ok((row, role, email))
}

/// Gives member `account_id` the role `role`. The acting member needs the right to manage both the role held
/// and the role given; the last owner cannot stop being one.
pub async fn change_role(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    by: &Access,
    account_id: &str,
    role: Role,
) -> Result<Member, OrganisationError> {
    let organisation_id = by.organisation.id.as_str();
    let txn = crate::domain::database::begin_write(db).await?;
    lock_organisation(&txn, organisation_id).await?;
    let (row, held, email) = membership_row(&txn, organisation_id, account_id).await?;
    by.require(Action::ManageMember { role: held })?;
    by.require(Action::ManageMember { role })?;
    if held == role {
        return Ok(Member { account_id: row.account_id, email, role, joined_at: row.joined_at });
    }
    if held == Role::Owner && owners(&txn, organisation_id).await? <= 1 {
        return Err(OrganisationError::LastOwner);
    }
    let mut active: memberships::ActiveModel = row.into();
    active.role = Set(role.as_str().to_owned());
    let row = active.update(&txn).await?;
    let event = NewEvent {
        log: Log::Organisation(organisation_id),
        kind: EventKind::MemberRoleChanged,
        key: None,
        detail: Some(format!("{email}: {} → {}", held.as_str(), role.as_str())),
    };
    activity::record(&txn, clock, origin, event).await?;
    txn.commit().await?;
    Ok(Member { account_id: row.account_id, email, role, joined_at: row.joined_at })
}

/// Removes member `account_id`, or lets a member leave (`account_id` is their own): a member may always
/// leave; removing someone else needs the right to manage their role. The last owner can do neither. Their
/// keys stay with the organisation.
pub async fn remove(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    by: &Access,
    account_id: &str,
) -> Result<(), OrganisationError> {
    let organisation_id = by.organisation.id.as_str();
    let txn = crate::domain::database::begin_write(db).await?;
    lock_organisation(&txn, organisation_id).await?;
    let (_, held, email) = membership_row(&txn, organisation_id, account_id).await?;
    let leaving = account_id == by.account_id;
    if !leaving {
        by.require(Action::ManageMember { role: held })?;
    }
    if held == Role::Owner && owners(&txn, organisation_id).await? <= 1 {
        return Err(OrganisationError::LastOwner);
    }
    memberships::Entity::delete_by_id((organisation_id.to_owned(), account_id.to_owned())).exec(&txn).await?;
    let (kind, detail) = if leaving {
        (EventKind::MemberLeft, format!("{email} ({})", held.as_str()))
    } else {
        (EventKind::MemberRemoved, format!("{email} ({})", held.as_str()))
    };
    let event = NewEvent { log: Log::Organisation(organisation_id), kind, key: None, detail: Some(detail) };
    activity::record(&txn, clock, origin, event).await?;
    let change = MemberChange { organisation_id, account_id, email: &email, role: held.as_str(), added: false };
    crate::domain::webhooks::events::member_changed(&txn, clock.now(), origin, change).await?;
    txn.commit().await?;
    Ok(())
}

/// The organisations `account_id` is the only owner of while others are members: deleting the account
/// would leave them ownerless, so it must wait until someone else is made owner.
pub async fn sole_owner_of_shared(db: &impl ConnectionTrait, account_id: &str) -> Result<Vec<String>, DbErr> {
    let owned = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account_id))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .all(db)
        .await?;
    let mut stuck = Vec::new();
    for membership in owned {
        let members = memberships::Entity::find()
            .filter(memberships::Column::OrganisationId.eq(&membership.organisation_id))
            .count(db)
            .await?;
        if members > 1 && owners(db, &membership.organisation_id).await? <= 1 {
            stuck.push(membership.organisation_id);
        }
    }
    Ok(stuck)
}

/// The organisations `account_id` is the only member of.
pub async fn sole_member_of(db: &impl ConnectionTrait, account_id: &str) -> Result<Vec<String>, DbErr> {
    let mine = memberships::Entity::find().filter(memberships::Column::AccountId.eq(account_id)).all(db).await?;
    let mut alone = Vec::new();
    for membership in mine {
        let members = memberships::Entity::find()
            .filter(memberships::Column::OrganisationId.eq(&membership.organisation_id))
            .count(db)
            .await?;
        if members == 1 {
            alone.push(membership.organisation_id);
        }
    }
    alone.sort();
    Ok(alone)
}

/// The ids of organisations with a member whose email contains `fragment` (already lower-case).
pub(crate) async fn organisations_with_member_like(
    db: &impl ConnectionTrait,
    fragment: &str,
) -> Result<Vec<String>, DbErr> {
    let pattern = format!("%{}%", super::escape_like(fragment));
    let people: Vec<String> = accounts::Entity::find()
        .filter(accounts::Column::Email.like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')))
        .select_only()
        .column(accounts::Column::Id)
        .limit(super::MAX_SEARCH_RESULTS)
        .into_tuple()
        .all(db)
        .await?;
    let rows: Vec<String> = memberships::Entity::find()
        .filter(memberships::Column::AccountId.is_in(people))
        .select_only()
        .column(memberships::Column::OrganisationId)
        .order_by_asc(memberships::Column::OrganisationId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows)
}
