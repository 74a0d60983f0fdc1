//! Webhook endpoints: registered by the operator (for every organisation's events) or by an organisation's
//! owners and admins (for its own). Each has a signing secret, shown once and stored sealed with the
//! operator's key; rotating it keeps the old one signing alongside the new for an overlap, so receivers
//! can switch without missing a delivery.

use super::events::EventType;
use super::signing::SigningSecret;
use super::target::{self, Giver, TargetPolicy};
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::random::RandomError;
use crate::domain::sealing::{SealError, SealedText, Sealer};
use crate::domain::storage::webhook_endpoints::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

/// Most endpoints one owner may register.
pub const MAX_ENDPOINTS: u64 = 20;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// How long a rotated-out secret keeps signing, unless told otherwise.
pub const DEFAULT_OVERLAP: Duration = Duration::hours(24);
/// The longest overlap a rotation may ask for.
pub const MAX_OVERLAP: Duration = Duration::days(7);

/// Whose endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The operator's: they receive every organisation's events.
    Operator,
    /// An organisation's: they receive its events only.
    Organisation(&'a str),
}

impl Owner<'_> {
    fn giver(self) -> Giver {
        match self {
            Self::Operator => Giver::Operator,
            Self::Organisation(_) => Giver::Customer,
        }
    }
}

/// An endpoint as its owner sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Id.
    pub id: String,
    /// The organisation it belongs to; none for the operator's.
    pub organisation_id: Option<String>,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it receives; empty for all.
    pub event_types: Vec<EventType>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// By whom.
    pub created_by: String,
    /// Deliveries are paused since then.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why.
    pub disabled_reason: Option<String>,
    /// Every attempt has failed since then.
    pub failing_since: Option<DateTime<Utc>>,
    /// The previous secret still signs until then.
    pub previous_secret_until: Option<DateTime<Utc>>,
}

/// What registering an endpoint takes.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Where deliveries go.
    pub url: String,
    /// What it is for (may be empty).
    pub description: String,
    /// The event types it receives, by wire name; empty for all.
    pub event_types: Vec<String>,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    /// A new URL.
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event types (empty for all).
    pub event_types: Option<Vec<String>>,
    /// Pause (false) or resume (true) deliveries.
    pub enabled: Option<bool>,
}

/// Why an endpoint operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// A field was refused.
    #[error("{message}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why, in words.
        message: String,
    },
    /// No such endpoint for this owner.
    #[error("No webhook endpoint with this id.")]
    NotFound,
    /// The owner has as many endpoints as allowed.
    #[error("You have {MAX_ENDPOINTS} webhook endpoints, the most allowed; remove one first.")]
    Limit,
    /// The secret could not be sealed or opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn invalid(field: &'static str, message: impl Into<String>) -> EndpointError {
    EndpointError::Invalid { field, message: message.into() }
}

/// The sealing context of endpoint `id`'s secrets: a sealed secret opens only for its own endpoint.
fn context(id: &str) -> String {
    format!("webhook:{id}")
}

fn to_endpoint(row: Model) -> Endpoint {
    Endpoint {
        event_types: row.event_types.split(',').filter_map(EventType::parse).collect(),
        id: row.id,
        organisation_id: row.organisation_id,
        url: row.url,
        description: row.description,
        created_at: row.created_at,
        created_by: row.created_by,
        disabled_at: row.disabled_at,
        disabled_reason: row.disabled_reason,
        failing_since: row.failing_since,
        previous_secret_until: row.previous_secret_until,
    }
}

fn check_description(text: &str) -> Result<String, EndpointError> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid("description", format!("A description is at most {MAX_DESCRIPTION_CHARS} characters.")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("description", "A description has no control characters."));
    }
    Ok(text.to_owned())
}

/// The stored subscription for `names`: known types, in a fixed order, without repeats.
fn check_event_types(names: &[String]) -> Result<String, EndpointError> {
    let mut kinds = Vec::with_capacity(names.len());
    for name in names {
        let kind = EventType::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|kind| kind.as_str()).collect();
            invalid("event_types", format!("Unknown event type '{name}'; the types are {}.", known.join(", ")))
        })?;
        kinds.push(kind);
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(","))
}

async fn check_url(text: &str, owner: Owner<'_>, policy: TargetPolicy) -> Result<String, EndpointError> {
    let url = target::check(text, owner.giver(), policy).await.map_err(|err| invalid("url", err.0))?;
    Ok(url.to_string())
}

fn of_owner(owner: Owner<'_>) -> sea_orm::Select<Entity> {
    match owner {
        Owner::Operator => Entity::find().filter(Column::OrganisationId.is_null()),
        Owner::Organisation(id) => Entity::find().filter(Column::OrganisationId.eq(id)),
    }
}

async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    owner: Owner<'_>,
    kind: EventKind,
    detail: String,
) -> Result<(), DbErr> {
    match owner {
        Owner::Organisation(id) => {
            let event = NewEvent { log: Log::Organisation(id), kind, key: None, detail: Some(detail) };
            activity::record(db, clock, origin, event).await
        }
        Owner::Operator => {
            tracing::info!(actor = %origin.actor, what = kind.as_str(), %detail, "operator webhook endpoint changed");
            Ok(())
        }
    }
}

/// Registers an endpoint for `owner`; answers it with its secret, which is shown this once.
pub async fn create(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    sealer: &Sealer,
    policy: TargetPolicy,
    origin: &Origin,
    owner: Owner<'_>,
    new: &NewEndpoint,
) -> Result<(Endpoint, SigningSecret), EndpointError> {
    let url = check_url(&new.url, owner, policy).await?;
    let description = check_description(&new.description)?;
    let event_types = check_event_types(&new.event_types)?;
    let txn = crate::domain::database::begin_write(db).await?;
    if of_owner(owner).count(&txn).await? >= MAX_ENDPOINTS {
        return Err(EndpointError::Limit);
    }
    let id = uuid::Uuid::now_v7().to_string();
    let secret = SigningSecret::generate()?;
    let sealed = sealer.seal(secret.expose(), &context(&id))?;
    let now = clock.now();
    let row = ActiveModel {
        id: Set(id),
        organisation_id: Set(match owner {
            Owner::Operator => None,
            Owner::Organisation(id) => Some(id.to_owned()),
        }),
        url: Set(url.clone()),
        description: Set(description),
        event_types: Set(event_types),
        secret: Set(sealed.0),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        created_at: Set(now),
        created_by: Set(origin.actor.chars().take(300).collect()),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        failing_since: Set(None),
    }
    .insert(&txn)
    .await?;
    record(&txn, clock, origin, owner, EventKind::WebhookAdded, url).await?;
    txn.commit().await?;
    Ok((to_endpoint(row), secret))
}

/// `owner`'s endpoints, oldest first.
pub async fn list(db: &impl ConnectionTrait, owner: Owner<'_>) -> Result<Vec<Endpoint>, DbErr> {
    Ok(of_owner(owner).order_by_asc(Column::Id).all(db).await?.into_iter().map(to_endpoint).collect())
}

async fn row(db: &impl ConnectionTrait, owner: Owner<'_>, id: &str) -> Result<Model, EndpointError> {
    of_owner(owner).filter(Column::Id.eq(id)).one(db).await?.ok_or(EndpointError::NotFound)
}

/// `owner`'s endpoint `id`.
pub async fn get(db: &impl ConnectionTrait, owner: Owner<'_>, id: &str) -> Result<Endpoint, EndpointError> {
    Ok(to_endpoint(row(db, owner, id).await?))
}

/// Changes `owner`'s endpoint `id`. Resuming a paused endpoint clears its failure record, and the
/// deliveries that waited go out.
pub async fn update(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    policy: TargetPolicy,
    origin: &Origin,
    owner: Owner<'_>,
    id: &str,
    changes: &EndpointChanges,
) -> Result<Endpoint, EndpointError> {
    let url = match &changes.url {
        Some(url) => Some(check_url(url, owner, policy).await?),
        None => None,
    };
    let description = changes.description.as_deref().map(check_description).transpose()?;
    let event_types = changes.event_types.as_deref().map(check_event_types).transpose()?;
    let txn = crate::domain::database::begin_write(db).await?;
    let current = row(&txn, owner, id).await?;
    let mut said = Vec::new();
    let mut active: ActiveModel = current.clone().into();
    if let Some(url) = url.filter(|url| *url != current.url) {
        said.push(format!("URL {url}"));
        active.url = Set(url);
    }
    if let Some(description) = description.filter(|text| *text != current.description) {
        said.push("description".to_owned());
        active.description = Set(description);
    }
    if let Some(types) = event_types.filter(|types| *types != current.event_types) {
        said.push(if types.is_empty() { "all events".to_owned() } else { format!("events {types}") });
        active.event_types = Set(types);
    }
    match changes.enabled {
        Some(true) if current.disabled_at.is_some() => {
            said.push("resumed".to_owned());
            active.disabled_at = Set(None);
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        }
        Some(false) if current.disabled_at.is_none() => {
            said.push("paused".to_owned());
            active.disabled_at = Set(Some(clock.now()));
            active.disabled_reason = Set(Some(format!("Paused by {}", origin.actor)));
        }
        _ => {}
    }
    if said.is_empty() {
        return Ok(to_endpoint(current));
    }
    let updated = active.update(&txn).await?;
    let detail = format!("{}: {}", updated.url, said.join("; "));
    record(&txn, clock, origin, owner, EventKind::WebhookChanged, detail).await?;
    txn.commit().await?;
    Ok(to_endpoint(updated))
}

/// Removes `owner`'s endpoint `id` with its queue and delivery log.
pub async fn delete(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    owner: Owner<'_>,
    id: &str,
) -> Result<(), EndpointError> {
    use crate::domain::storage::{webhook_attempts, webhook_deliveries};
    let txn = crate::domain::database::begin_write(db).await?;
    let current = row(&txn, owner, id).await?;
    // Foreign keys cascade on PostgreSQL; SQLite enforces them only when asked, so the rows go explicitly.
    webhook_attempts::Entity::delete_many().filter(webhook_attempts::Column::EndpointId.eq(id)).exec(&txn).await?;
    webhook_deliveries::Entity::delete_many().filter(webhook_deliveries::Column::EndpointId.eq(id)).exec(&txn).await?;
    Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
    record(&txn, clock, origin, owner, EventKind::WebhookRemoved, current.url).await?;
    txn.commit().await?;
    Ok(())
}

/// Gives endpoint `id` a new secret, shown this once; the old one keeps signing too for `overlap` (at most
/// [`MAX_OVERLAP`]; zero ends it at once).
#[allow(clippy::too_many_arguments)]
pub async fn rotate_secret(
    db: &impl TransactionTrait,
    clock: &dyn Clock,
    sealer: &Sealer,
    origin: &Origin,
    owner: Owner<'_>,
    id: &str,
    overlap: Duration,
) -> Result<(Endpoint, SigningSecret), EndpointError> {
    if overlap < Duration::zero() || overlap > MAX_OVERLAP {
        return Err(invalid("overlap_seconds", "The overlap is from 0 seconds to 7 days."));
    }
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let current = row(&txn, owner, id).await?;
    let secret = SigningSecret::generate()?;
    let sealed = sealer.seal(secret.expose(), &context(id))?;
    let mut active: ActiveModel = current.clone().into();
    active.previous_secret = Set((overlap > Duration::zero()).then_some(current.secret.clone()));
    active.previous_secret_until = Set((overlap > Duration::zero()).then_some(now + overlap));
    active.secret = Set(sealed.0);
    let updated = active.update(&txn).await?;
    let detail = format!("{}: signing secret rotated; the old one signs until {}", updated.url, now + overlap);
    record(&txn, clock, origin, owner, EventKind::WebhookChanged, detail).await?;
    txn.commit().await?;
    Ok((to_endpoint(updated), secret))
}

/// The secrets that sign a delivery to `row` at `now`: the current one, and the previous one during its
/// overlap.
pub fn signing_secrets(sealer: &Sealer, row: &Model, now: DateTime<Utc>) -> Result<Vec<SigningSecret>, SealError> {
    let mut secrets =
        vec![SigningSecret::from_stored(sealer.open(&SealedText(row.secret.clone()), &context(&row.id))?)];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_secret_until)
        && until > now
    {
        secrets.push(SigningSecret::from_stored(sealer.open(&SealedText(previous.clone()), &context(&row.id))?));
    }
    Ok(secrets)
}
