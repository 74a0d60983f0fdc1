//! Organisations: the provider's customers. An organisation owns keys, usage and the activity log; people
//! are its members with a [`Role`]. Every read or change made on a person's behalf starts from
//! [`members::access`], which answers `NotFound` to a non-member exactly as for a missing organisation, and
//! every change checks [`roles::permits`] for the member's role.

pub mod invitations;
pub mod members;
pub mod roles;

pub use members::{Access, Member, access};
pub use roles::{Action, Role, permits};

use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::changes::{self, Change};
use crate::domain::clock::Clock;
use crate::domain::jwt::ledger::{self, Ended};
use crate::domain::operator_log::{self, Action as OperatorAction};
use crate::domain::storage::{memberships, organisations};
use crate::domain::verification::KeyCache;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, TransactionSession, TransactionTrait,
};

/// Longest organisation name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest external id.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// An organisation as the rest of the product sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Public, opaque id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The provider's own id for this customer.
    pub external_id: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the operator disabled it, while it is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl Organisation {
    /// Whether the operator has disabled it: its keys answer `DISABLED` and nothing about them may change.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

impl From<organisations::Model> for Organisation {
    fn from(row: organisations::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            external_id: row.external_id,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        }
    }
}

/// Why something about an organisation was refused.
#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    /// No such organisation, member or invitation, or none the person may see.
    #[error("No such organisation.")]
    NotFound,
    /// A member whose role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A value was refused; `field` names it.
    #[error("{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What to change.
        message: String,
    },
    /// Another organisation has this external id.
    #[error("Another organisation already has the external id {0:?}.")]
    ExternalIdTaken(String),
    /// The change would leave the organisation without an owner.
    #[error("An organisation needs at least one owner. Make another member an owner first.")]
    LastOwner,
    /// The person is already a member.
    #[error("{0} is already a member of this organisation.")]
    AlreadyMember(String),
    /// The invitation cannot be used.
    #[error("{0}")]
    InvitationUnusable(&'static str),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] crate::domain::random::RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn invalid(field: &'static str, message: impl Into<String>) -> OrganisationError {
    OrganisationError::Invalid { field, message: message.into() }
}

/// A checked organisation name: trimmed, 1–100 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, OrganisationError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Give the organisation a name, such as your company's."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("name", "Use a name of at most 100 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "The name cannot contain control characters."));
    }
    Ok(name.to_owned())
}

/// A checked external id: 1–255 characters, no whitespace or control characters (it is compared exactly).
pub fn check_external_id(external_id: &str) -> Result<String, OrganisationError> {
    if external_id.is_empty() || external_id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(invalid("external_id", "Use an external id of 1 to 255 characters."));
    }
    if external_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("external_id", "An external id cannot contain spaces or control characters."));
    }
    Ok(external_id.to_owned())
}

/// What a new organisation should be.
#[derive(Debug, Clone, Default)]
pub struct NewOrganisation {
    /// Its name.
    pub name: String,
    /// The provider's id for it.
    pub external_id: Option<String>,
}

/// Creates an organisation; `owner`, when given, becomes its first owner (a person creating one for
/// themselves). The operator's services create one with no members yet, and that goes to the operator
/// audit log.
pub async fn create(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    new: &NewOrganisation,
    owner: Option<&str>,
) -> Result<Organisation, OrganisationError> {
    let name = check_name(&new.name)?;
    let external_id = new.external_id.as_deref().map(check_external_id).transpose()?;
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = organisations::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name),
        external_id: Set(external_id.clone()),
        created_at: Set(now),
        disabled_at: Set(None),
    };
    let row = match row.insert(&txn).await {
        Ok(row) => row,
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(OrganisationError::ExternalIdTaken(external_id.unwrap_or_default()));
        }
        Err(err) => return Err(err.into()),
    };
    match owner {
        Some(account_id) => members::insert(&txn, &row.id, account_id, Role::Owner, now).await?,
        None => {
            let detail = row.external_id.as_ref().map(|id| format!("external id {id}"));
            operator_log::record(
                &txn,
                clock,
                origin,
                OperatorAction::OrganisationCreated,
                (&row.id, &row.name),
                detail,
            )
            .await?;
        }
    }
    let event =
        NewEvent { log: Log::Organisation(&row.id), kind: EventKind::OrganisationCreated, key: None, detail: None };
    activity::record(&txn, clock, origin, event).await?;
    txn.commit().await?;
    Ok(row.into())
}

/// The organisation with this id.
pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Organisation, OrganisationError> {
    organisations::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .map(Organisation::from)
        .ok_or(OrganisationError::NotFound)
}

/// The organisation a service names by id or by external id.
pub async fn find_by_id_or_external_id(
    db: &impl ConnectionTrait,
    id_or_external_id: &str,
) -> Result<Organisation, OrganisationError> {
    // An id wins over another organisation's equal external id.
    if let Some(row) = organisations::Entity::find_by_id(id_or_external_id.to_owned()).one(db).await? {
        return Ok(row.into());
    }
    let row =
        organisations::Entity::find().filter(organisations::Column::ExternalId.eq(id_or_external_id)).one(db).await?;
    row.map(Organisation::from).ok_or(OrganisationError::NotFound)
}

/// The organisations `account_id` is a member of, by name, with the role held in each.
pub async fn of_account(db: &impl ConnectionTrait, account_id: &str) -> Result<Vec<(Organisation, Role)>, DbErr> {
    let memberships = memberships::Entity::find().filter(memberships::Column::AccountId.eq(account_id)).all(db).await?;
    let ids: Vec<&str> = memberships.iter().map(|membership| membership.organisation_id.as_str()).collect();
    let rows = organisations::Entity::find()
        .filter(organisations::Column::Id.is_in(ids))
        .order_by_asc(organisations::Column::Name)
        .order_by_asc(organisations::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|org| {
            let membership = memberships.iter().find(|membership| membership.organisation_id == org.id)?;
            Some((org.into(), Role::parse(&membership.role)?))
        })
        .collect())
}

/// The organisation an account stands for where the API still names accounts (deprecated): the one made for
/// it when organisations arrived (it has the account's id), otherwise the oldest it owns.
pub async fn own_organisation(db: &impl ConnectionTrait, account_id: &str) -> Result<Option<Organisation>, DbErr> {
    let owned: Vec<String> = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account_id))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .select_only()
        .column(memberships::Column::OrganisationId)
        .into_tuple()
        .all(db)
        .await?;
    if owned.iter().any(|id| id == account_id) {
        return Ok(organisations::Entity::find_by_id(account_id.to_owned()).one(db).await?.map(Organisation::from));
    }
    let oldest = organisations::Entity::find()
        .filter(organisations::Column::Id.is_in(owned))
        .order_by_asc(organisations::Column::CreatedAt)
        .order_by_asc(organisations::Column::Id)
        .one(db)
        .await?;
    Ok(oldest.map(Organisation::from))
}

/// Most organisations one search answers.
pub const MAX_SEARCH_RESULTS: u64 = 100;

/// Organisations whose name or external id contains `query` (case-insensitively), by name; every
/// organisation when `query` is empty.
pub async fn search(db: &impl ConnectionTrait, query: &str, limit: u64) -> Result<Vec<Organisation>, DbErr> {
    let mut select = organisations::Entity::find();
    let query = query.trim();
    if !query.is_empty() {
        use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
        let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
        let like = |column: organisations::Column| {
            Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        select = select.filter(
            Condition::any()
                .add(like(organisations::Column::Name))
                .add(like(organisations::Column::ExternalId))
                .add(organisations::Column::Id.eq(query)),
        );
    }
    let rows = select
        .order_by_asc(organisations::Column::Name)
        .order_by_asc(organisations::Column::Id)
        .limit(limit.clamp(1, MAX_SEARCH_RESULTS))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Organisation::from).collect())
}

/// An organisation as the operator's search lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The organisation.
    pub organisation: Organisation,
    /// How many members it has.
    pub members: u64,
    /// How many keys it has (any status).
    pub keys: u64,
    /// Why it matched, in words ("name", "member ann@example.com", "key lk_3Fa9…").
    pub matched: String,
}

/// The operator's search: organisations whose name or external id contains `query`, whose id is `query`,
/// with a member whose email contains it, or holding a key whose id is `query` or whose hint starts with it
/// (with or without the trailing `…`). At most [`MAX_SEARCH_RESULTS`], by name; every organisation (by
/// name) for an empty query.
pub async fn find_for_operator(db: &impl ConnectionTrait, query: &str) -> Result<Vec<Found>, DbErr> {
    use crate::domain::storage::api_keys;
    let query = query.trim();
    let mut matched: Vec<(String, String)> = search(db, query, MAX_SEARCH_RESULTS)
        .await?
        .into_iter()
        .map(|org| (org.id, "name, external id or id".to_owned()))
        .collect();
    if !query.is_empty() {
        let fragment = query.to_lowercase();
        for id in members::organisations_with_member_like(db, &fragment).await? {
            matched.push((id, format!("a member's email contains “{query}”")));
        }
        let hint = query.trim_end_matches('…');
        let hint_pattern = format!("{}%", escape_like(hint));
        let keys: Vec<(String, String, String)> = api_keys::Entity::find()
            .filter(
                Condition::any()
                    .add(api_keys::Column::Id.eq(query))
                    .add(api_keys::Column::Hint.like(sea_orm::sea_query::LikeExpr::new(hint_pattern).escape('\\'))),
            )
            .select_only()
            .column(api_keys::Column::OrganisationId)
            .column(api_keys::Column::Hint)
            .column(api_keys::Column::Id)
            .limit(MAX_SEARCH_RESULTS)
            .into_tuple()
            .all(db)
            .await?;
        // Hints are 4 body characters: require at least the prefix and a few of them to match by hint.
        let by_hint_ok = hint.len() >= 5;
        for (organisation_id, hint_found, key_id) in keys {
            if key_id == query {
                matched.push((organisation_id, format!("key id {key_id}")));
            } else if by_hint_ok {
                matched.push((organisation_id, format!("key {hint_found}")));
            }
        }
    }
    // Why each organisation matched, in the order found; then one query each for the rows and the counts.
    let mut reasons: Vec<(String, String)> = Vec::new();
    for (id, why) in matched {
        match reasons.iter_mut().find(|(seen, _)| *seen == id) {
            Some((_, reason)) if !reason.contains(&why) => {
                reason.push_str("; ");
                reason.push_str(&why);
            }
            Some(_) => {}
            None => reasons.push((id, why)),
        }
    }
    let ids: Vec<&str> = reasons.iter().map(|(id, _)| id.as_str()).collect();
    let rows = organisations::Entity::find().filter(organisations::Column::Id.is_in(ids.clone())).all(db).await?;
    let members = counts_per_organisation::<memberships::Entity>(db, memberships::Column::OrganisationId, &ids).await?;
    let keys = counts_per_organisation::<api_keys::Entity>(db, api_keys::Column::OrganisationId, &ids).await?;
    let mut found: Vec<Found> = rows
        .into_iter()
        .filter_map(|row| {
            let matched = reasons.iter().find(|(id, _)| *id == row.id)?.1.clone();
            let (members, keys) = (members.get(&row.id).copied(), keys.get(&row.id).copied());
            Some(Found { members: members.unwrap_or(0), keys: keys.unwrap_or(0), matched, organisation: row.into() })
        })
        .collect();
    found.sort_by(|a, b| (&a.organisation.name, &a.organisation.id).cmp(&(&b.organisation.name, &b.organisation.id)));
    found.truncate(MAX_SEARCH_RESULTS as usize);
    Ok(found)
}

/// How many rows of `E` each of the organisations `ids` has, by its `organisation` column (absent: none).
async fn counts_per_organisation<E: EntityTrait>(
    db: &impl ConnectionTrait,
    organisation: E::Column,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, u64>, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, Func};
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column(organisation)
        .column_as(Expr::from(Func::cast_as(Func::count(Expr::col(organisation)), Alias::new("bigint"))), "n")
        .filter(organisation.is_in(ids.iter().copied()))
        .group_by(organisation)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))).collect())
}

/// The organisation's row, locked until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite's writers
/// already take turns), so that changes decided on what was read cannot race each other.
pub(crate) async fn locked(txn: &impl ConnectionTrait, id: &str) -> Result<organisations::Model, OrganisationError> {
    organisations::Entity::find_by_id(id.to_owned()).lock_exclusive().one(txn).await?.ok_or(OrganisationError::NotFound)
}

/// `text` with the `LIKE` wildcards taken literally.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// What [`update`] changes; `None` keeps a value.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrganisationChanges<'a> {
    /// A new name.
    pub name: Option<&'a str>,
    /// A new external id; `Some(None)` removes it.
    pub external_id: Option<Option<&'a str>>,
}

/// Changes an organisation's name or external id; `None` keeps a value, `Some(None)` clears the external
/// id. The operator's services may do this for any organisation (`by_operator`, which goes to the operator
/// audit log); a person needs [`Action::ManageOrganisation`] (checked by the caller through
/// [`Access::require`]).
pub async fn update(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    cache: &KeyCache,
    origin: &Origin,
    by_operator: bool,
    id: &str,
    changes: OrganisationChanges<'_>,
) -> Result<Organisation, OrganisationError> {
    let name = changes.name.map(check_name).transpose()?;
    let external_id = changes.external_id.map(|id| id.map(check_external_id).transpose()).transpose()?;
    let txn = crate::domain::database::begin_write(db).await?;
    let row = locked(&txn, id).await?;
    let mut said = Vec::new();
    let mut active: organisations::ActiveModel = row.clone().into();
    if let Some(name) = name.filter(|name| *name != row.name) {
        said.push(format!("name {} → {name}", row.name));
        active.name = Set(name);
    }
    if let Some(external_id) = external_id.clone().filter(|external_id| *external_id != row.external_id) {
        let words = |id: &Option<String>| id.clone().unwrap_or_else(|| "none".to_owned());
        said.push(format!("external id {} → {}", words(&row.external_id), words(&external_id)));
        active.external_id = Set(external_id);
    }
    if said.is_empty() {
        return Ok(row.into());
    }
    let updated = match active.update(&txn).await {
        Ok(updated) => updated,
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(OrganisationError::ExternalIdTaken(external_id.flatten().unwrap_or_default()));
        }
        Err(err) => return Err(err.into()),
    };
    let event = NewEvent {
        log: Log::Organisation(id),
        kind: EventKind::OrganisationUpdated,
        key: None,
        detail: Some(said.join("; ")),
    };
    activity::record(&txn, clock, origin, event).await?;
    if by_operator {
        let action = OperatorAction::OrganisationUpdated;
        operator_log::record(&txn, clock, origin, action, (&updated.id, &updated.name), Some(said.join("; "))).await?;
    }
    // Verification answers carry the organisation's name and external id: cached keys must be read again,
    // here at once and elsewhere from the change feed.
    changes::record(&txn, clock.now(), &[Change::AllKeys]).await?;
    txn.commit().await?;
    cache.clear();
    Ok(updated.into())
}

/// Disables or enables an organisation (the operator's switch, recorded in the operator audit log). While
/// disabled, every key of it answers `DISABLED`: at once on this instance, and on every other as soon as it
/// reads the change feed.
pub async fn set_disabled(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    cache: &KeyCache,
    origin: &Origin,
    id: &str,
    disabled: bool,
) -> Result<Organisation, OrganisationError> {
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = locked(&txn, id).await?;
    if row.disabled_at.is_some() == disabled {
        return Ok(row.into());
    }
    let mut active: organisations::ActiveModel = row.into();
    active.disabled_at = Set(disabled.then_some(now));
    let updated = active.update(&txn).await?;
    let kind = if disabled { EventKind::OrganisationDisabled } else { EventKind::OrganisationEnabled };
    activity::record(&txn, clock, origin, NewEvent { log: Log::Organisation(id), kind, key: None, detail: None })
        .await?;
    let action = if disabled { OperatorAction::OrganisationDisabled } else { OperatorAction::OrganisationEnabled };
    operator_log::record(&txn, clock, origin, action, (&updated.id, &updated.name), None).await?;
    // Enabling again does not bring ended tokens back: their holders buy new ones.
    if disabled {
        ledger::end_tokens_of_organisation(&txn, now, id, Ended::OrganisationDisabled).await?;
    }
    // Rare and wide: every instance starts its key cache afresh rather than hunt for this one's keys.
    changes::record(&txn, now, &[Change::AllKeys]).await?;
    txn.commit().await?;
    cache.clear();
    Ok(updated.into())
}

/// Deletes an organisation with its keys (revoked first, so a cached copy anywhere stops at once),
/// usage, log, members and invitations.
pub async fn delete(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    cache: &KeyCache,
    id: &str,
) -> Result<(), OrganisationError> {
    let txn = crate::domain::database::begin_write(db).await?;
    delete_in(&txn, clock.now(), id).await?;
    txn.commit().await?;
    cache.clear();
    Ok(())
}

/// [`delete`] inside a transaction the caller commits (and then clears the key cache).
pub(crate) async fn delete_in(txn: &impl ConnectionTrait, now: DateTime<Utc>, id: &str) -> Result<(), DbErr> {
    use crate::domain::storage::api_keys;
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(api_keys::Column::OrganisationId.eq(id))
        .filter(api_keys::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    ledger::end_tokens_of_organisation(txn, now, id, Ended::OrganisationDeleted).await?;
    organisations::Entity::delete_by_id(id.to_owned()).exec(txn).await?;
    changes::record(txn, now, &[Change::AllKeys]).await
}
