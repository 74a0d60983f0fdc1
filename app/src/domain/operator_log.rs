//! The operator audit log: what the operator's people, CLI and service tokens did to customer
//! organisations (created, changed, disabled, enabled), who, when and from where. Written in the same
//! transaction as the change it records.

use crate::domain::activity::Origin;
use crate::domain::clock::Clock;
use crate::domain::storage::operator_events::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set};

/// Most entries on one page.
pub const MAX_PAGE_SIZE: u64 = 100;

/// Something the operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created an organisation (through the API).
    OrganisationCreated,
    /// Renamed it or changed its external id.
    OrganisationUpdated,
    /// Disabled it: its keys answer `DISABLED`.
    OrganisationDisabled,
    /// Enabled it again.
    OrganisationEnabled,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrganisationCreated => "organisation.created",
            Self::OrganisationUpdated => "organisation.updated",
            Self::OrganisationDisabled => "organisation.disabled",
            Self::OrganisationEnabled => "organisation.enabled",
        }
    }

    /// In words, for the operator's page.
    pub fn title(stored: &str) -> &'static str {
        match stored {
            "organisation.created" => "Organisation created",
            "organisation.updated" => "Organisation changed",
            "organisation.disabled" => "Organisation disabled",
            "organisation.enabled" => "Organisation enabled",
            _ => "Other",
        }
    }
}

/// Records `action` on the organisation `(id, name)` by `origin`.
pub async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    action: Action,
    organisation: (&str, &str),
    detail: Option<String>,
) -> Result<(), DbErr> {
    let user_agent = origin.client.user_agent.as_deref().map(|agent| agent.chars().take(256).collect());
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        occurred_at: Set(clock.now()),
        actor: Set(origin.actor.chars().take(300).collect()),
        action: Set(action.as_str().to_owned()),
        organisation_id: Set(Some(organisation.0.to_owned())),
        organisation_name: Set(Some(organisation.1.chars().take(100).collect())),
        detail: Set(detail),
        client_ip: Set(origin.client.ip.map(|ip| ip.to_string())),
        user_agent: Set(user_agent),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// One entry, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEvent {
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What (stored name).
    pub action: String,
    /// Which organisation: id and name at the time.
    pub organisation: Option<(String, String)>,
    /// More.
    pub detail: Option<String>,
    /// From where.
    pub client_ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
}

/// A page of the log, newest first, and how many pages there are.
pub async fn list(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<(Vec<OperatorEvent>, u64, u64), DbErr> {
    let per_page = per_page.clamp(1, MAX_PAGE_SIZE);
    let total = Entity::find().count(db).await?;
    let pages = total.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let rows: Vec<Model> = Entity::find()
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    let events = rows
        .into_iter()
        .map(|row| OperatorEvent {
            occurred_at: row.occurred_at,
            actor: row.actor,
            action: row.action,
            organisation: row.organisation_id.map(|id| (id, row.organisation_name.unwrap_or_default())),
            detail: row.detail,
            client_ip: row.client_ip,
            user_agent: row.user_agent,
        })
        .collect();
    Ok((events, page, pages))
}
