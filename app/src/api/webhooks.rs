//! Server functions for the Webhooks pages: an organisation's endpoints (`/o/:org/webhooks`, owners and
//! admins) and the operator's (`/operator/webhooks`). `org` names the organisation; empty means the
//! operator's endpoints, which only operators may see (to anyone else they answer 404).

use super::ApiError;
use super::keys::ShownKey;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Every event type an endpoint can receive, with what it means.
pub const EVENT_CHOICES: [(&str, &str); 13] = [
    ("key.created", "A key was created"),
    ("key.updated", "A key's name, scopes, expiry or controls changed"),
    ("key.rolled", "A key was rolled"),
    ("key.revoked", "A key was revoked"),
    ("key.expiring", "A key expires in 7 days, and in 1 day"),
    ("key.expired", "A key expired"),
    ("key.leaked", "A key was found in public"),
    ("token.revoked", "A key revoked one of its access tokens"),
    ("organisation.created", "An organisation was created"),
    ("organisation.disabled", "The operator disabled an organisation"),
    ("organisation.enabled", "The operator enabled an organisation"),
    ("member.added", "Someone joined"),
    ("member.removed", "Someone left or was removed"),
];

/// One attempt of the delivery log, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// The event (the `webhook-id`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// When, for people.
    pub when: String,
    /// Which attempt of its delivery.
    pub attempt: i32,
    /// Delivered.
    pub succeeded: bool,
    /// The status, or what went wrong.
    pub result: String,
    /// Milliseconds.
    pub latency_ms: i64,
    /// The start of the answer.
    pub response_excerpt: String,
}

/// An endpoint, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    /// Id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it receives; empty for all.
    pub events: Vec<String>,
    /// Deliveries go out.
    pub enabled: bool,
    /// Why it is paused.
    pub disabled_reason: Option<String>,
    /// Failing since, for people.
    pub failing_since: Option<String>,
    /// Deliveries waiting.
    pub waiting: u64,
    /// The latest attempts, newest first.
    pub attempts: Vec<AttemptView>,
}

/// A Webhooks page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    /// Whose endpoints, in words ("Acme", or "every organisation").
    pub owner: String,
    /// The endpoints, oldest first.
    pub endpoints: Vec<EndpointView>,
}

/// Attempts each endpoint shows.
#[cfg(feature = "ssr")]
const LOG_ROWS: u64 = 20;

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::api::server_context::{client, internal, member_of, reject, service, signed_in_operator};
    use crate::domain::activity::Origin;
    use crate::domain::organisations::Action;
    use crate::domain::webhooks::EndpointError;
    use crate::domain::webhooks::endpoints::Owner;

    /// Who is acting on whose endpoints.
    pub struct Acting {
        pub origin: Origin,
        pub organisation: Option<(String, String)>,
    }

    impl Acting {
        pub fn owner(&self) -> Owner<'_> {
            self.organisation.as_ref().map_or(Owner::Operator, |(id, _)| Owner::Organisation(id))
        }
    }

    /// The operator (for `org` empty), or an owner or admin of `org`.
    pub async fn acting(org: &str) -> Result<Acting, ApiError> {
        if org.is_empty() {
            let operator = signed_in_operator().await?;
            let origin = Origin { actor: format!("operator {}", operator.email), client: client() };
            return Ok(Acting { origin, organisation: None });
        }
        let (account, access) = member_of(org).await?;
        access.require(Action::ManageWebhooks).map_err(crate::api::server_context::organisation_error)?;
        let origin = Origin { actor: account.email, client: client() };
        Ok(Acting { origin, organisation: Some((access.organisation.id, access.organisation.name)) })
    }

    impl Acting {
        /// A plain form post that worked comes back to the Webhooks page, which says what it did.
        pub fn after_plain_post(&self, done: &str, fragment: &str) {
            let page = match &self.organisation {
                Some((id, _)) => format!("/o/{id}/webhooks"),
                None => "/operator/webhooks".to_owned(),
            };
            crate::api::server_context::after_plain_post(&crate::api::outcome::done_at(&page, done, fragment));
        }
    }

    pub fn endpoint_error(err: EndpointError) -> ApiError {
        match err {
            EndpointError::Invalid { field, message } => reject(ApiError::invalid(field, message)),
            EndpointError::NotFound => reject(ApiError::NotFound),
            EndpointError::Limit => reject(ApiError::Conflict { message: err.to_string() }),
            EndpointError::Seal(_) | EndpointError::Random(_) | EndpointError::Database(_) => {
                internal("webhook endpoint operation failed", &err)
            }
        }
    }

    pub fn db() -> Result<sea_orm::DatabaseConnection, ApiError> {
        service::<sea_orm::DatabaseConnection>()
    }

    pub fn clock() -> Result<crate::domain::clock::SharedClock, ApiError> {
        service::<crate::domain::clock::SharedClock>()
    }

    pub fn sealer() -> Result<crate::domain::sealing::Sealer, ApiError> {
        Ok(service::<crate::domain::accounts::security::AccountSecurity>()?.sealer)
    }
}

/// The endpoints of `org` (empty: the operator's) with their latest deliveries.
#[server(endpoint = "webhooks/list", input = server_fn::codec::GetUrl)]
pub async fn webhooks(org: String) -> Result<WebhooksView, ApiError> {
    use crate::api::keys::server::when;
    use crate::api::server_context::internal;
    use crate::domain::webhooks::{deliveries, endpoints};
    let acting = server::acting(&org).await?;
    let db = server::db()?;
    let list = endpoints::list(&db, acting.owner()).await.map_err(|err| internal("listing webhooks failed", &err))?;
    let mut views = Vec::with_capacity(list.len());
    for endpoint in list {
        let attempts = deliveries::log(&db, &endpoint.id, LOG_ROWS)
            .await
            .map_err(|err| internal("reading the log failed", &err))?;
        let waiting =
            deliveries::waiting(&db, &endpoint.id).await.map_err(|err| internal("reading the queue failed", &err))?;
        views.push(EndpointView {
            events: endpoint.event_types.iter().map(|kind| kind.as_str().to_owned()).collect(),
            enabled: endpoint.disabled_at.is_none(),
            failing_since: endpoint.failing_since.map(when),
            waiting,
            attempts: attempts
                .into_iter()
                .map(|attempt| AttemptView {
                    result: match (&attempt.error, attempt.status_code) {
                        (Some(error), _) => error.clone(),
                        (None, Some(status)) => format!("HTTP {status}"),
                        (None, None) => "no answer".into(),
                    },
                    when: when(attempt.attempted_at),
                    event_id: attempt.event_id,
                    event_type: attempt.event_type,
                    attempt: attempt.attempt,
                    succeeded: attempt.succeeded,
                    latency_ms: attempt.latency_ms,
                    response_excerpt: attempt.response_excerpt,
                })
                .collect(),
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            disabled_reason: endpoint.disabled_reason,
        });
    }
    let owner = acting.organisation.map_or_else(|| "every organisation".to_owned(), |(_, name)| name);
    Ok(WebhooksView { owner, endpoints: views })
}

/// Registers an endpoint; answers its signing secret, shown once.
#[server(endpoint = "webhooks/add")]
pub async fn add_webhook(
    org: String,
    url: String,
    #[server(default)] description: String,
    #[server(default)] events: Vec<String>,
) -> Result<ShownKey, ApiError> {
    use crate::domain::webhooks::{NewEndpoint, TargetPolicy, endpoints};
    let acting = server::acting(&org).await?;
    let policy = crate::api::server_context::service::<TargetPolicy>().unwrap_or_default();
    let new = NewEndpoint { url, description, event_types: events };
    let (_, secret) = endpoints::create(
        &server::db()?,
        server::clock()?.as_ref(),
        &server::sealer()?,
        policy,
        &acting.origin,
        acting.owner(),
        &new,
    )
    .await
    .map_err(server::endpoint_error)?;
    Ok(ShownKey(secret.expose().to_owned()))
}

/// Sends a test event (`test`), pauses (`pause`), resumes (`resume`) or removes (`delete`) an endpoint.
#[server(endpoint = "webhooks/act")]
pub async fn webhook_action(org: String, id: String, action: String) -> Result<String, ApiError> {
    use crate::api::server_context::internal;
    use crate::domain::webhooks::endpoints::{self, EndpointChanges};
    use crate::domain::webhooks::{TargetPolicy, deliveries};
    let acting = server::acting(&org).await?;
    let (db, clock) = (server::db()?, server::clock()?);
    let policy = crate::api::server_context::service::<TargetPolicy>().unwrap_or_default();
    let endpoint = endpoints::get(&db, acting.owner(), &id).await.map_err(server::endpoint_error)?;
    match action.as_str() {
        "test" => {
            let event = deliveries::send_test(&db, clock.now(), &endpoint, &acting.origin.actor)
                .await
                .map_err(|err| internal("queueing a test event failed", &err))?;
            acting.after_plain_post("test", &format!("webhook-{id}"));
            Ok(format!("Test event {event} queued; it shows in the log below within seconds."))
        }
        "pause" | "resume" => {
            let changes = EndpointChanges { enabled: Some(action == "resume"), ..EndpointChanges::default() };
            endpoints::update(&db, clock.as_ref(), policy, &acting.origin, acting.owner(), &id, &changes)
                .await
                .map_err(server::endpoint_error)?;
            acting.after_plain_post(&action, &format!("webhook-{id}"));
            Ok(if action == "pause" { "Paused: events wait until you resume it." } else { "Resumed." }.to_owned())
        }
        "delete" => {
            endpoints::delete(&db, clock.as_ref(), &acting.origin, acting.owner(), &id)
                .await
                .map_err(server::endpoint_error)?;
            acting.after_plain_post("removed", "endpoints");
            Ok(format!("Removed {}.", endpoint.url))
        }
        _ => Err(crate::api::server_context::reject(ApiError::invalid("action", "Unknown action."))),
    }
}

/// Gives an endpoint a new signing secret, shown once; the old one signs too for a day.
#[server(endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(org: String, id: String) -> Result<ShownKey, ApiError> {
    use crate::domain::webhooks::endpoints;
    let acting = server::acting(&org).await?;
    let (_, secret) = endpoints::rotate_secret(
        &server::db()?,
        server::clock()?.as_ref(),
        &server::sealer()?,
        &acting.origin,
        acting.owner(),
        &id,
        endpoints::DEFAULT_OVERLAP,
    )
    .await
    .map_err(server::endpoint_error)?;
    Ok(ShownKey(secret.expose().to_owned()))
}

/// Sends event `event_id` to endpoint `id` again, with the same `webhook-id`.
#[server(endpoint = "webhooks/resend")]
pub async fn resend_webhook(org: String, id: String, event_id: String) -> Result<String, ApiError> {
    use crate::api::server_context::{internal, reject};
    use crate::domain::webhooks::{deliveries, endpoints};
    let acting = server::acting(&org).await?;
    let (db, clock) = (server::db()?, server::clock()?);
    let endpoint = endpoints::get(&db, acting.owner(), &id).await.map_err(server::endpoint_error)?;
    deliveries::resend(&db, clock.now(), &endpoint.id, &event_id)
        .await
        .map_err(|err| internal("queueing a resend failed", &err))?
        .ok_or_else(|| reject(ApiError::NotFound))?;
    acting.after_plain_post("resent", &format!("webhook-{id}"));
    Ok(format!("Event {event_id} queued again."))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::EVENT_CHOICES;
    use crate::domain::webhooks::events::EventType;

    #[test]
    fn the_portal_offers_exactly_the_event_types_an_endpoint_can_receive() {
        let offered: Vec<&str> = EVENT_CHOICES.iter().map(|(name, _)| *name).collect();
        let receivable: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(offered, receivable);
    }
}
