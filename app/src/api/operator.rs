//! Server functions of the operator console: find a customer organisation (by name, external id, member
//! email, key id or hint), look at it read-only (keys, members, usage, activity), disable or enable it, and
//! read the operator audit log. To anyone but an operator they answer 404.

use super::ApiError;
use super::keys::{EventView, KeyView};
use super::usage::ChartView;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One organisation in the search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The provider's id.
    pub external_id: Option<String>,
    /// Disabled by the operator.
    pub disabled: bool,
    /// Members.
    pub members: u64,
    /// Keys.
    pub keys: u64,
    /// Why it matched.
    pub matched: String,
}

/// A member, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMemberView {
    /// Email.
    pub email: String,
    /// Role.
    pub role: String,
    /// Joined, for people.
    pub joined: String,
}

/// One organisation, everything about it, read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The provider's id.
    pub external_id: Option<String>,
    /// Created, for people.
    pub created: String,
    /// Disabled since, for people.
    pub disabled_since: Option<String>,
    /// Its members.
    pub members: Vec<OperatorMemberView>,
    /// Its newest keys, at most [`INSPECT_KEYS`].
    pub keys: Vec<KeyView>,
    /// How many keys it has in all.
    pub key_count: u64,
    /// Every key's verifications, per day, last 30 days.
    pub chart: ChartView,
    /// Its latest activity.
    pub activity: Vec<EventView>,
}

/// One entry of the operator audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorEventView {
    /// When.
    pub when: String,
    /// Who.
    pub actor: String,
    /// What.
    pub what: String,
    /// Which organisation: id and name at the time.
    pub organisation: Option<(String, String)>,
    /// More.
    pub detail: Option<String>,
    /// From where.
    pub client_ip: Option<String>,
}

/// A page of the operator audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorActivityView {
    /// Newest first.
    pub events: Vec<OperatorEventView>,
    /// This page.
    pub page: u64,
    /// Pages.
    pub pages: u64,
}

/// Organisations matching `query` (all, by name, for an empty one).
#[server(endpoint = "operator/organisations", input = server_fn::codec::GetUrl)]
pub async fn find_organisations(query: Option<String>) -> Result<Vec<FoundView>, ApiError> {
    use crate::api::server_context::{internal, service, signed_in_operator};
    signed_in_operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let query = query.unwrap_or_default();
    let query: String = query.chars().take(255).collect();
    let found = crate::domain::organisations::find_for_operator(&db, &query)
        .await
        .map_err(|err| internal("organisation search failed", &err))?;
    Ok(found
        .into_iter()
        .map(|found| FoundView {
            disabled: found.organisation.is_disabled(),
            id: found.organisation.id,
            name: found.organisation.name,
            external_id: found.organisation.external_id,
            members: found.members,
            keys: found.keys,
            matched: found.matched,
        })
        .collect())
}

/// Most keys the operator's view of one organisation lists (its newest).
pub const INSPECT_KEYS: u64 = 50;

/// One organisation, read-only: the support case ("my key stopped working").
#[server(endpoint = "operator/organisation", input = server_fn::codec::GetUrl)]
pub async fn inspect_organisation(id: String) -> Result<InspectView, ApiError> {
    use crate::api::keys::server::{event_view, key_view_as, when};
    use crate::api::server_context::{internal, organisation_error, service, signed_in_operator};
    use crate::domain::activity::Log;
    use crate::domain::usage::{Period, UsageOf, series};
    signed_in_operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let now = clock.now();
    let org = crate::domain::organisations::find(&db, &id).await.map_err(organisation_error)?;
    let failed = |err: sea_orm::DbErr| internal("inspecting an organisation failed", &err);
    let members = crate::domain::organisations::members::list(&db, &org.id).await.map_err(failed)?;
    let keys = crate::domain::keys::manage::page_of_keys(&db, &org.id, 1, INSPECT_KEYS).await.map_err(failed)?;
    let period = Period::last_30_days(now);
    let buckets = series(&db, UsageOf::Organisation(&org.id), &period).await.map_err(failed)?;
    let log = crate::domain::activity::list(&db, Log::Organisation(&org.id), 1, 25).await.map_err(failed)?;
    Ok(InspectView {
        created: when(org.created_at),
        disabled_since: org.disabled_at.map(when),
        members: members
            .into_iter()
            .map(|member| OperatorMemberView {
                email: member.email,
                role: member.role.as_str().to_owned(),
                joined: when(member.joined_at),
            })
            .collect(),
        keys: keys.keys.iter().map(|key| key_view_as(key, false, now)).collect(),
        key_count: keys.total,
        chart: crate::api::usage::server::chart("All keys, per day, last 30 days", &period, &buckets),
        activity: log.events.iter().map(event_view).collect(),
        id: org.id,
        name: org.name,
        external_id: org.external_id,
    })
}

/// Disables (`disabled` true) or enables an organisation; recorded in the operator audit log.
#[server(endpoint = "operator/organisation/switch")]
pub async fn switch_organisation(id: String, disabled: bool) -> Result<(), ApiError> {
    use crate::api::server_context::{client, organisation_error, service, signed_in_operator};
    use crate::domain::activity::Origin;
    let operator = signed_in_operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let cache = service::<std::sync::Arc<crate::domain::verification::KeyCache>>()?;
    let origin = Origin { actor: format!("operator {}", operator.email), client: client() };
    crate::domain::organisations::set_disabled(&db, clock.as_ref(), &cache, &origin, &id, disabled)
        .await
        .map_err(organisation_error)?;
    tracing::info!(organisation = %id, disabled, by = %operator.id, "organisation switched in the operator console");
    Ok(())
}

/// A page of the operator audit log, newest first.
#[server(endpoint = "operator/activity", input = server_fn::codec::GetUrl)]
pub async fn operator_activity(page: Option<u64>) -> Result<OperatorActivityView, ApiError> {
    use crate::api::keys::server::when;
    use crate::api::server_context::{internal, service, signed_in_operator};
    use crate::domain::operator_log::{Action, list};
    signed_in_operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let (events, page, pages) =
        list(&db, page.unwrap_or(1), 25).await.map_err(|err| internal("operator log failed", &err))?;
    Ok(OperatorActivityView {
        events: events
            .into_iter()
            .map(|event| OperatorEventView {
                when: when(event.occurred_at),
                what: Action::title(&event.action).to_owned(),
                actor: event.actor,
                organisation: event.organisation,
                detail: event.detail,
                client_ip: event.client_ip,
            })
            .collect(),
        page,
        pages,
    })
}
