//! What can be done with an organisation's keys: create, list, view, edit, roll and revoke. Every query is
//! filtered by the owning organisation, so another organisation's key id behaves exactly like one that does
//! not exist; every change checks the caller's role ([`Caller`]).

use super::controls::{self, ControlError, RateLimit};
use super::format::{self, KeyHash, KeyPrefix, PlaintextKey};
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::bounds;
use crate::domain::changes::{Change, record as record_change};
use crate::domain::clock::Clock;
use crate::domain::jwt::ledger::{self, Ended};
use crate::domain::organisations::{Access, Action};
use crate::domain::random::RandomError;
use crate::domain::scopes::{ScopeCatalogue, ScopeError};
use crate::domain::storage::api_keys::{ActiveModel, Column, Entity, Model};
use crate::domain::verification::KeyCache;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};

/// Longest key name.
pub const MAX_NAME_CHARS: usize = 64;
/// A key this close to expiry is flagged "expires soon".
pub const EXPIRES_SOON: Duration = Duration::days(7);

/// The operator's rules for keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// The deployment's key prefix.
    pub prefix: KeyPrefix,
    /// Most live (neither revoked nor expired) keys one organisation may hold.
    pub max_keys_per_organisation: u64,
    /// Longest lifetime a key may be given, if the operator set one.
    pub max_lifetime: Option<Duration>,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self { prefix: KeyPrefix::default(), max_keys_per_organisation: 100, max_lifetime: None }
    }
}

/// A key as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public id.
    pub id: String,
    /// The owning organisation.
    pub organisation_id: String,
    /// Who created it, in words.
    pub created_by: String,
    /// The member who created it, while they have an account.
    pub created_by_account_id: Option<String>,
    /// The owner's name for it.
    pub name: String,
    /// e.g. `lk_3Fa9…`.
    pub hint: String,
    /// Scope names, in catalogue order.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Its successor, if rolled.
    pub rolled_into: Option<String>,
    /// Last verification.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Client address given with the last verification.
    pub last_used_ip: Option<String>,
    /// Returned to services on a valid verification.
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// Networks the key may be used from (CIDR form); empty means anywhere.
    pub ip_allowlist: Vec<String>,
    /// The key's rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Where and when a leak report found it in public, if one did.
    pub leak: Option<Leak>,
}

/// A key found in public, as a leak report said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// When the first report came.
    pub at: DateTime<Utc>,
    /// Where it was found (may be empty when the reporter gave no URL).
    pub url: String,
    /// Who reported it: `GitHub secret scanning`, or a service token's name.
    pub source: String,
}

/// Where a key stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Works, and will for more than a week (or forever).
    Active,
    /// Works, but expires within a week.
    ExpiresSoon,
    /// Rolled; works until its grace period ends.
    Rolled {
        /// The end of the grace period.
        valid_until: DateTime<Utc>,
    },
    /// Past its expiry (or its grace period).
    Expired,
    /// Revoked.
    Revoked,
}

impl ApiKey {
    /// The key's status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> KeyStatus {
        match (self.revoked_at, self.expires_at, &self.rolled_into) {
            (Some(_), _, _) => KeyStatus::Revoked,
            (None, Some(expiry), _) if expiry <= now => KeyStatus::Expired,
            (None, Some(valid_until), Some(_)) => KeyStatus::Rolled { valid_until },
            (None, Some(expiry), None) if expiry - now <= EXPIRES_SOON => KeyStatus::ExpiresSoon,
            _ => KeyStatus::Active,
        }
    }
}

/// What a new key should be.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// Name (required).
    pub name: String,
    /// Scope names (at least one).
    pub scopes: Vec<String>,
    /// Expiry, or never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Metadata: a JSON object of at most 4 KiB.
    pub meta: Option<serde_json::Value>,
    /// IP networks (CIDR) or addresses the key may be used from; empty means anywhere.
    pub ip_allowlist: Vec<String>,
    /// A rate limit.
    pub rate_limit: Option<RateLimit>,
}

/// Changes to a key; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct KeyChanges {
    /// New name.
    pub name: Option<String>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New expiry: `Some(None)` means never.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New metadata: `Some(None)` removes it.
    pub meta: Option<Option<serde_json::Value>>,
    /// New allowlist: `Some(vec![])` removes it.
    pub ip_allowlist: Option<Vec<String>>,
    /// New rate limit: `Some(None)` removes it.
    pub rate_limit: Option<Option<RateLimit>>,
}

/// How long a rolled key keeps working: the portal offers none, 1 h, 24 h and 7 d; services may ask for
/// any number of seconds up to [`Grace::MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace(Duration);

#[allow(non_upper_case_globals)]
impl Grace {
    /// It stops at once.
    pub const None: Self = Self(Duration::zero());
    /// One hour.
    pub const OneHour: Self = Self(Duration::hours(1));
    /// A day.
    pub const OneDay: Self = Self(Duration::hours(24));
    /// A week.
    pub const OneWeek: Self = Self(Duration::days(7));
    /// The longest grace period: 30 days.
    pub const MAX_SECONDS: u32 = 30 * 86_400;

    /// A grace period of `seconds`, at most 30 days.
    pub fn seconds(seconds: u32) -> Result<Self, KeyError> {
        if seconds > Self::MAX_SECONDS {
            return Err(invalid("grace_seconds", "Choose a grace period of at most 30 days (2592000 seconds)."));
        }
        Ok(Self(Duration::seconds(i64::from(seconds))))
    }

    /// The grace period's length.
    pub fn duration(self) -> Duration {
        self.0
    }
}

/// Why a key operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No such key in this organisation (whether it exists in another or not at all).
    #[error("No such key.")]
    NotFound,
    /// A setting was refused; `field` names the form field.
    #[error("{message}")]
    Invalid {
        /// `name`, `scopes` or `expires_at`.
        field: &'static str,
        /// What to change.
        message: String,
    },
    /// The organisation holds as many live keys as allowed.
    #[error("This organisation has {0} active keys, the most allowed. Revoke a key it no longer uses, then try again.")]
    LimitReached(u64),
    /// The caller's role does not allow it, or the organisation is disabled.
    #[error("{0}")]
    Forbidden(String),
    /// The key is revoked or rolled and can no longer be changed.
    #[error("{0}")]
    Finished(&'static str),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn invalid(field: &'static str, message: impl Into<String>) -> KeyError {
    KeyError::Invalid { field, message: message.into() }
}

impl From<ControlError> for KeyError {
    fn from(err: ControlError) -> Self {
        KeyError::Invalid { field: err.field, message: err.message }
    }
}

/// The checked controls, in stored form.
struct StoredControls {
    meta: Option<String>,
    ip_allowlist: Option<String>,
    rate_limit: (Option<i32>, Option<i32>),
}

fn check_controls(
    meta: Option<&serde_json::Value>,
    allowlist: &[String],
    rate_limit: Option<RateLimit>,
) -> Result<StoredControls, KeyError> {
    let rate_limit = match rate_limit {
        Some(rate) => Some(RateLimit::new(rate.limit, rate.window_seconds)?),
        None => None,
    };
    Ok(StoredControls {
        meta: controls::check_meta(meta)?,
        ip_allowlist: controls::allowlist_json(&controls::check_allowlist(allowlist)?),
        rate_limit: RateLimit::to_columns(rate_limit),
    })
}

fn rate_words(rate: Option<RateLimit>) -> String {
    rate.map_or_else(|| "no rate limit".to_owned(), |r| format!("{} requests per {} s", r.limit, r.window_seconds))
}

fn check_name(name: &str) -> Result<String, KeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Give the key a name, such as where it will be used."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("name", "Use a name of at most 64 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "The name cannot contain control characters."));
    }
    Ok(name.to_owned())
}

fn check_scopes(catalogue: &ScopeCatalogue, scopes: &[String]) -> Result<Vec<String>, KeyError> {
    catalogue.choose(scopes).map_err(|err: ScopeError| invalid("scopes", err.to_string()))
}

fn check_expiry(
    policy: &KeyPolicy,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, KeyError> {
    match (expires_at, policy.max_lifetime) {
        (Some(expiry), _) if expiry <= now => Err(invalid("expires_at", "Choose an expiry in the future.")),
        (Some(expiry), _) if !bounds::instant_in_range(expiry) => {
            Err(invalid("expires_at", format!("Choose an expiry {}.", bounds::RANGE_TEXT)))
        }
        (Some(expiry), Some(max)) if expiry > now + max => Err(invalid(
            "expires_at",
            format!("Keys may live at most {} days here. Choose an earlier expiry.", max.num_days()),
        )),
        (None, Some(max)) => Err(invalid(
            "expires_at",
            format!("Keys must expire here, at most {} days from now. Choose an expiry.", max.num_days()),
        )),
        (expiry, _) => Ok(expiry),
    }
}

pub(super) fn to_key(row: Model) -> ApiKey {
    ApiKey {
        scopes: serde_json::from_str(&row.scopes).unwrap_or_default(),
        id: row.id,
        organisation_id: row.organisation_id,
        created_by: row.created_by,
        created_by_account_id: row.created_by_account_id,
        name: row.name,
        hint: row.hint,
        created_at: row.created_at,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        rolled_into: row.rolled_into,
        last_used_at: row.last_used_at,
        last_used_ip: row.last_used_ip,
        meta: controls::read_meta(row.meta.as_deref()),
        ip_allowlist: controls::allowlist_entries(row.ip_allowlist.as_deref()),
        rate_limit: RateLimit::from_columns(row.ratelimit_limit, row.ratelimit_window_seconds).ok().flatten(),
        leak: row.leaked_at.map(|at| Leak {
            at,
            url: row.leak_url.unwrap_or_default(),
            source: row.leak_source.unwrap_or_default(),
        }),
    }
}

fn scopes_json(scopes: &[String]) -> Result<String, KeyError> {
    serde_json::to_string(scopes).map_err(|err| KeyError::Database(DbErr::Custom(err.to_string())))
}

async fn live_keys(db: &impl ConnectionTrait, organisation_id: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::OrganisationId.eq(organisation_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now)))
        .count(db)
        .await
}

fn owned(organisation_id: &str, key_id: &str) -> sea_orm::Select<Entity> {
    Entity::find().filter(Column::Id.eq(key_id)).filter(Column::OrganisationId.eq(organisation_id))
}

async fn owned_row(db: &impl ConnectionTrait, organisation_id: &str, key_id: &str) -> Result<Model, KeyError> {
    owned(organisation_id, key_id).one(db).await?.ok_or(KeyError::NotFound)
}

/// The key row, locked until the transaction ends (`FOR NO KEY UPDATE` on PostgreSQL; SQLite's writers
/// already take turns), so that a change decided on what it read cannot race another change of the same key.
/// No change here alters the key's id or deletes it, and the weaker lock lets rows that refer to the key
/// (usage being folded) be written meanwhile: `FOR UPDATE` made them wait, and made deadlocks with them.
async fn locked_row(
    txn: &impl ConnectionTrait,
    caller: Caller<'_>,
    key_id: &str,
    revoking: bool,
) -> Result<Model, KeyError> {
    let row = owned(caller.organisation_id(), key_id)
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or(KeyError::NotFound)?;
    caller.may_change(&row, revoking)?;
    Ok(row)
}

/// Locks the organisation's row until the transaction ends, so that creates counting its live keys take
/// turns on PostgreSQL (on SQLite, writers already do). `FOR NO KEY UPDATE`: creates exclude each other, but
/// not the rows that refer to the organisation (keys, activity, usage), whose foreign-key checks `FOR UPDATE`
/// would make wait behind every create, and deadlock with a usage fold.
async fn lock_organisation(db: &impl ConnectionTrait, organisation_id: &str) -> Result<(), KeyError> {
    crate::domain::storage::organisations::Entity::find_by_id(organisation_id.to_owned())
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await?
        .ok_or(KeyError::NotFound)?;
    Ok(())
}

/// Who is acting on an organisation's keys.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A member, held to their role; nothing changes while their organisation is disabled.
    Member(&'a Access),
    /// One of the operator's services (a service token with `keys:write`): any key of the organisation.
    Service {
        /// The organisation whose keys it manages.
        organisation_id: &'a str,
    },
}

impl Caller<'_> {
    /// The organisation whose keys are concerned.
    pub fn organisation_id(&self) -> &str {
        match self {
            Self::Member(access) => &access.organisation.id,
            Self::Service { organisation_id } => organisation_id,
        }
    }

    fn account_id(&self) -> Option<&str> {
        match self {
            Self::Member(access) => Some(&access.account_id),
            Self::Service { .. } => None,
        }
    }

    fn require(&self, action: Action, even_if_disabled: bool) -> Result<(), KeyError> {
        let Self::Member(access) = self else { return Ok(()) };
        if access.organisation.is_disabled() && !even_if_disabled {
            return Err(KeyError::Forbidden(DISABLED.to_owned()));
        }
        access.require(action).map_err(|err| KeyError::Forbidden(err.to_string()))
    }

    /// Whether the caller may change `row`; revoking (`even_if_disabled`) stays possible in a disabled
    /// organisation, since it only ever makes a key safer.
    fn may_change(&self, row: &Model, even_if_disabled: bool) -> Result<(), KeyError> {
        let own = self.account_id().is_some() && row.created_by_account_id.as_deref() == self.account_id();
        self.require(Action::ChangeKey { own }, even_if_disabled)
    }
}

/// What a member of a disabled organisation is told when they try to change a key.
pub const DISABLED: &str =
    "This organisation is disabled by the operator: its keys do not work and cannot be changed. Contact support.";

/// Everything a key operation needs besides the database.
#[derive(Debug, Clone, Copy)]
pub struct KeyServices<'a> {
    /// The time.
    pub clock: &'a dyn Clock,
    /// The operator's rules.
    pub policy: &'a KeyPolicy,
    /// The scopes keys may carry.
    pub catalogue: &'a ScopeCatalogue,
    /// The verification cache, invalidated by every change.
    pub cache: &'a KeyCache,
}

/// Creates a key for the caller's organisation; the plaintext is returned here and nowhere else, ever.
pub async fn create_key(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    origin: &Origin,
    caller: Caller<'_>,
    new: &NewKey,
) -> Result<(ApiKey, PlaintextKey), KeyError> {
    caller.require(Action::CreateKey, false)?;
    let organisation_id = caller.organisation_id();
    let now = services.clock.now();
    let name = check_name(&new.name)?;
    let scopes = check_scopes(services.catalogue, &new.scopes)?;
    let expires_at = check_expiry(services.policy, now, new.expires_at)?;
    let stored = check_controls(new.meta.as_ref(), &new.ip_allowlist, new.rate_limit)?;
    let txn = crate::domain::database::begin_write(db).await?;
    lock_organisation(&txn, organisation_id).await?;
    let live = live_keys(&txn, organisation_id, now).await?;
    if live >= services.policy.max_keys_per_organisation {
        return Err(KeyError::LimitReached(live));
    }
    let creator = Creator { label: &origin.actor, account_id: caller.account_id() };
    let (row, plaintext) = insert_key(
        &txn,
        &services.policy.prefix,
        organisation_id,
        creator,
        KeyRow { name: &name, scopes: &scopes, expires_at, controls: stored },
        now,
    )
    .await?;
    let created = to_key(row.clone());
    let mut detail = format!("scopes {}; {}", scopes.join(", "), expiry_words(expires_at));
    if !created.ip_allowlist.is_empty() {
        detail.push_str(&format!("; allowlist {}", created.ip_allowlist.join(", ")));
    }
    if created.rate_limit.is_some() {
        detail.push_str(&format!("; {}", rate_words(created.rate_limit)));
    }
    let event = NewEvent {
        log: Log::Organisation(organisation_id),
        kind: EventKind::KeyCreated,
        key: Some((&row.id, &row.name)),
        detail: Some(detail),
    };
    activity::record(&txn, services.clock, origin, event).await?;
    let hash = format::hash(&plaintext);
    record_change(&txn, now, &[Change::Key(&hash)]).await?;
    txn.commit().await?;
    // A verification of this very key before it existed left its hash in the negative cache.
    services.cache.invalidate(&hash);
    Ok((created, plaintext))
}

/// What a new row holds besides its id, owner, key and times.
struct KeyRow<'a> {
    name: &'a str,
    scopes: &'a [String],
    expires_at: Option<DateTime<Utc>>,
    controls: StoredControls,
}

/// Who made a key.
#[derive(Debug, Clone, Copy)]
struct Creator<'a> {
    label: &'a str,
    account_id: Option<&'a str>,
}

async fn insert_key(
    db: &impl ConnectionTrait,
    prefix: &KeyPrefix,
    organisation_id: &str,
    creator: Creator<'_>,
    row: KeyRow<'_>,
    now: DateTime<Utc>,
) -> Result<(Model, PlaintextKey), KeyError> {
    let plaintext = format::generate(prefix)?;
    let row = ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        organisation_id: Set(organisation_id.to_owned()),
        created_by: Set(creator.label.chars().take(300).collect()),
        created_by_account_id: Set(creator.account_id.map(str::to_owned)),
        key_hash: Set(format::hash(&plaintext).to_hex()),
        hint: Set(format::hint(&plaintext)),
        name: Set(row.name.to_owned()),
        scopes: Set(scopes_json(row.scopes)?),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(row.expires_at),
        revoked_at: Set(None),
        rolled_into: Set(None),
        rolled_at: Set(None),
        last_used_at: Set(None),
        last_used_ip: Set(None),
        meta: Set(row.controls.meta),
        ip_allowlist: Set(row.controls.ip_allowlist),
        ratelimit_limit: Set(row.controls.rate_limit.0),
        ratelimit_window_seconds: Set(row.controls.rate_limit.1),
        leaked_at: Set(None),
        leak_url: Set(None),
        leak_source: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, plaintext))
}

/// The organisation's keys, newest first.
pub async fn list_keys(db: &impl ConnectionTrait, organisation_id: &str) -> Result<Vec<ApiKey>, DbErr> {
    let rows = Entity::find()
        .filter(Column::OrganisationId.eq(organisation_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_key).collect())
}

/// The organisation's keys among `ids` (in no particular order; unknown ids are left out).
pub async fn keys_by_ids(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    ids: &[String],
) -> Result<Vec<ApiKey>, DbErr> {
    let mut keys = Vec::with_capacity(ids.len());
    // Bounded lists keep each statement well inside every backend's limit on bound values.
    for chunk in ids.chunks(500) {
        let rows = Entity::find()
            .filter(Column::OrganisationId.eq(organisation_id))
            .filter(Column::Id.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        keys.extend(rows.into_iter().map(to_key));
    }
    Ok(keys)
}

/// At most `limit` of the organisation's rolled keys still in their grace period, those ending soonest first.
pub async fn rolled_in_grace(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<ApiKey>, DbErr> {
    let rows = Entity::find()
        .filter(Column::OrganisationId.eq(organisation_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::RolledInto.is_not_null())
        .filter(Column::ExpiresAt.gt(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_key).collect())
}

/// How many keys the organisation has, in any state.
pub async fn count_keys(db: &impl ConnectionTrait, organisation_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::OrganisationId.eq(organisation_id)).count(db).await
}

/// One page of the organisation's keys, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys on this page.
    pub keys: Vec<ApiKey>,
    /// The page number, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// How many keys the organisation has.
    pub total: u64,
}

/// Most keys on one page.
pub const MAX_KEYS_PER_PAGE: u64 = 100;

/// Page `page` (from 1) of the organisation's keys, `per_page` (1..=100) a page, newest first.
pub async fn page_of_keys(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    page: u64,
    per_page: u64,
) -> Result<KeyPage, DbErr> {
    use sea_orm::QuerySelect;
    let per_page = per_page.clamp(1, MAX_KEYS_PER_PAGE);
    let total = Entity::find().filter(Column::OrganisationId.eq(organisation_id)).count(db).await?;
    let pages = total.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let rows = Entity::find()
        .filter(Column::OrganisationId.eq(organisation_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok(KeyPage { keys: rows.into_iter().map(to_key).collect(), page, pages, total })
}

/// Any organisation's key by id, for services that manage keys on the operator's behalf.
pub async fn find_any_key(db: &impl ConnectionTrait, key_id: &str) -> Result<ApiKey, KeyError> {
    Entity::find_by_id(key_id.to_owned()).one(db).await?.map(to_key).ok_or(KeyError::NotFound)
}

/// One of the organisation's keys.
pub async fn find_key(db: &impl ConnectionTrait, organisation_id: &str, key_id: &str) -> Result<ApiKey, KeyError> {
    owned_row(db, organisation_id, key_id).await.map(to_key)
}

/// Changes a key's name, scopes or expiry. Revoked and rolled keys cannot change.
pub async fn update_key(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    origin: &Origin,
    caller: Caller<'_>,
    key_id: &str,
    changes: &KeyChanges,
) -> Result<ApiKey, KeyError> {
    let now = services.clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = locked_row(&txn, caller, key_id, false).await?;
    if row.revoked_at.is_some() {
        return Err(KeyError::Finished("This key is revoked and can no longer be changed."));
    }
    if row.rolled_into.is_some() {
        return Err(KeyError::Finished("This key was rolled; change its successor instead."));
    }
    let before = to_key(row.clone());
    let mut active: ActiveModel = row.into();
    let mut said = Vec::new();
    if let Some(name) = &changes.name {
        let name = check_name(name)?;
        if name != before.name {
            said.push(format!("name {} → {name}", before.name));
        }
        active.name = Set(name);
    }
    if let Some(scopes) = &changes.scopes {
        let scopes = check_scopes(services.catalogue, scopes)?;
        if scopes != before.scopes {
            said.push(format!("scopes {} → {}", before.scopes.join(", "), scopes.join(", ")));
        }
        active.scopes = Set(scopes_json(&scopes)?);
    }
    if let Some(expires_at) = changes.expires_at {
        let expires_at = check_expiry(services.policy, now, expires_at)?;
        if expires_at != before.expires_at {
            said.push(format!("{} → {}", expiry_words(before.expires_at), expiry_words(expires_at)));
        }
        active.expires_at = Set(expires_at);
    }
    if let Some(meta) = &changes.meta {
        let meta = controls::check_meta(meta.as_ref())?;
        if controls::read_meta(meta.as_deref()) != before.meta {
            said.push("metadata changed".to_owned());
        }
        active.meta = Set(meta);
    }
    if let Some(allowlist) = &changes.ip_allowlist {
        let networks = controls::check_allowlist(allowlist)?;
        let after: Vec<String> = networks.iter().map(ToString::to_string).collect();
        if after != before.ip_allowlist {
            let words = |list: &[String]| if list.is_empty() { "anywhere".to_owned() } else { list.join(", ") };
            said.push(format!("allowlist {} → {}", words(&before.ip_allowlist), words(&after)));
        }
        active.ip_allowlist = Set(controls::allowlist_json(&networks));
    }
    if let Some(rate_limit) = changes.rate_limit {
        let rate_limit = match rate_limit {
            Some(rate) => Some(RateLimit::new(rate.limit, rate.window_seconds)?),
            None => None,
        };
        if rate_limit != before.rate_limit {
            said.push(format!("{} → {}", rate_words(before.rate_limit), rate_words(rate_limit)));
        }
        let (limit, window) = RateLimit::to_columns(rate_limit);
        active.ratelimit_limit = Set(limit);
        active.ratelimit_window_seconds = Set(window);
    }
    if said.is_empty() {
        return Ok(before);
    }
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    // A token never outlives its key, nor keeps a scope the key lost: those that would outlive a new,
    // earlier expiry end now, and all of them when a scope was taken away (the ledger does not know which
    // token carries which scope).
    let scopes_after: Vec<String> = serde_json::from_str(&updated.scopes).unwrap_or_default();
    let narrowed = before.scopes.iter().any(|scope| !scopes_after.contains(scope));
    let sooner = updated.expires_at.filter(|expiry| before.expires_at.is_none_or(|was| *expiry < was));
    let ended = if narrowed {
        ledger::end_tokens_of_key(&txn, now, &updated.id, now, Ended::KeyScopesNarrowed).await?
    } else if let Some(expiry) = sooner {
        ledger::end_tokens_of_key(&txn, now, &updated.id, expiry, Ended::KeyExpiryMoved).await?
    } else {
        0
    };
    if ended > 0 {
        said.push(ended_words(ended));
    }
    let event = NewEvent {
        log: Log::Organisation(caller.organisation_id()),
        kind: EventKind::KeyUpdated,
        key: Some((&updated.id, &updated.name)),
        detail: Some(said.join("; ")),
    };
    activity::record(&txn, services.clock, origin, event).await?;
    let hash = KeyHash::from_stored(&updated.key_hash);
    record_change(&txn, now, &with_tokens(&[Change::Key(&hash)], ended)).await?;
    txn.commit().await?;
    services.cache.invalidate(&hash);
    Ok(to_key(updated))
}

/// "ended 3 access tokens", for the activity log.
pub(super) fn ended_words(ended: u64) -> String {
    format!("ended {ended} access token{}", if ended == 1 { "" } else { "s" })
}

/// `changes`, and [`Change::Tokens`] when tokens were ended.
pub(super) fn with_tokens<'a>(changes: &[Change<'a>], ended: u64) -> Vec<Change<'a>> {
    let mut all = changes.to_vec();
    if ended > 0 {
        all.push(Change::Tokens);
    }
    all
}

/// "expires 2026-12-01 12:00 UTC" or "never expires", for the activity log.
fn expiry_words(expires_at: Option<DateTime<Utc>>) -> String {
    expires_at.map_or_else(|| "never expires".to_owned(), |at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC")))
}

/// Rolls a key: a successor with the same settings, shown once; the old key keeps working for `grace`
/// (never past its own expiry), then answers EXPIRED.
pub async fn roll_key(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    origin: &Origin,
    caller: Caller<'_>,
    key_id: &str,
    grace: Grace,
) -> Result<(ApiKey, PlaintextKey), KeyError> {
    let now = services.clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let old = locked_row(&txn, caller, key_id, false).await?;
    if old.revoked_at.is_some() {
        return Err(KeyError::Finished("This key is revoked; create a new key instead."));
    }
    if old.rolled_into.is_some() {
        return Err(KeyError::Finished("This key was already rolled; roll its successor instead."));
    }
    if old.expires_at.is_some_and(|expiry| expiry <= now) {
        return Err(KeyError::Finished("This key has expired; create a new key instead."));
    }
    let scopes: Vec<String> = serde_json::from_str(&old.scopes).unwrap_or_default();
    // The successor inherits everything the owner or a service configured.
    let inherited = StoredControls {
        meta: old.meta.clone(),
        ip_allowlist: old.ip_allowlist.clone(),
        rate_limit: (old.ratelimit_limit, old.ratelimit_window_seconds),
    };
    let row = KeyRow { name: &old.name, scopes: &scopes, expires_at: old.expires_at, controls: inherited };
    // The successor keeps its creator: a developer who made the old key may manage the new one.
    let creator = Creator { label: &old.created_by, account_id: old.created_by_account_id.as_deref() };
    let (successor, plaintext) =
        insert_key(&txn, &services.policy.prefix, caller.organisation_id(), creator, row, now).await?;

    let grace_end = now + grace.duration();
    let old_expiry = old.expires_at.map_or(grace_end, |expiry| expiry.min(grace_end));
    let mut rolled: ActiveModel = old.into();
    rolled.rolled_into = Set(Some(successor.id.clone()));
    rolled.rolled_at = Set(Some(now));
    rolled.expires_at = Set(Some(old_expiry));
    rolled.updated_at = Set(now);
    let rolled = rolled.update(&txn).await?;
    let ended = ledger::end_tokens_of_key(&txn, now, &rolled.id, old_expiry, Ended::KeyRolled).await?;
    let mut detail =
        format!("successor {}; this key works until {}", successor.hint, old_expiry.format("%Y-%m-%d %H:%M UTC"));
    if ended > 0 {
        detail = format!("{detail}; {}", ended_words(ended));
    }
    let event = NewEvent {
        log: Log::Organisation(caller.organisation_id()),
        kind: EventKind::KeyRolled,
        key: Some((&rolled.id, &rolled.name)),
        detail: Some(detail),
    };
    activity::record(&txn, services.clock, origin, event).await?;
    let (old_hash, new_hash) = (KeyHash::from_stored(&rolled.key_hash), format::hash(&plaintext));
    record_change(&txn, now, &with_tokens(&[Change::Key(&old_hash), Change::Key(&new_hash)], ended)).await?;
    txn.commit().await?;
    services.cache.invalidate(&old_hash);
    services.cache.invalidate(&new_hash);
    Ok((to_key(successor), plaintext))
}

/// Revokes a key at once: the very next verification on this instance answers REVOKED. Revoking a revoked
/// key changes nothing.
pub async fn revoke_key(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    origin: &Origin,
    caller: Caller<'_>,
    key_id: &str,
) -> Result<ApiKey, KeyError> {
    Ok(revoke_key_and_tokens(db, services, origin, caller, key_id).await?.key)
}

/// A key just revoked, and how many of its access tokens that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    /// The key.
    pub key: ApiKey,
    /// Access tokens bought with it that worked until now.
    pub tokens_ended: u64,
}

/// [`revoke_key`], answering also how many access tokens ended with the key (in the same transaction).
pub async fn revoke_key_and_tokens(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    origin: &Origin,
    caller: Caller<'_>,
    key_id: &str,
) -> Result<RevokedKey, KeyError> {
    let clock = services.clock;
    let txn = crate::domain::database::begin_write(db).await?;
    let row = locked_row(&txn, caller, key_id, true).await?;
    if row.revoked_at.is_some() {
        return Ok(RevokedKey { key: to_key(row), tokens_ended: 0 });
    }
    let now = clock.now();
    let mut active: ActiveModel = row.into();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let revoked = active.update(&txn).await?;
    let ended = ledger::end_tokens_of_key(&txn, now, &revoked.id, now, Ended::KeyRevoked).await?;
    let event = NewEvent {
        log: Log::Organisation(caller.organisation_id()),
        kind: EventKind::KeyRevoked,
        key: Some((&revoked.id, &revoked.name)),
        detail: (ended > 0).then(|| ended_words(ended)),
    };
    activity::record(&txn, clock, origin, event).await?;
    let hash = KeyHash::from_stored(&revoked.key_hash);
    record_change(&txn, now, &with_tokens(&[Change::Key(&hash)], ended)).await?;
    txn.commit().await?;
    services.cache.invalidate(&hash);
    Ok(RevokedKey { key: to_key(revoked), tokens_ended: ended })
}
