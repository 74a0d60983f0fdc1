//! `GET /portal/{secret}`: the link `POST /v1/portal/sessions` answered. Opening it signs the person in and
//! lands them on their organisation's keys; a link that cannot be used lands on a page that says why and
//! leads back to the provider's app. The secret never reaches a log: the router logs this path cut.

use crate::router::AppState;
use app::api::server_context::client_from;
use app::domain::portal_sessions::{self, OpenError, Unusable};
use app::domain::sessions;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Opens the link. A `HEAD` (a link previewer, a mail scanner) is answered without spending it.
pub async fn open(
    method: Method,
    State(state): State<AppState>,
    session: Session,
    secret: Result<Path<String>, axum::extract::rejection::PathRejection>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Response {
    if method == Method::HEAD {
        return StatusCode::OK.into_response();
    }
    // A path that is not even text is no link of ours.
    let secret = secret.map(|Path(secret)| secret).unwrap_or_default();
    let client = client_from(&extensions, &headers);
    let cache = state.verification.verifier.cache().clone();
    let opened = portal_sessions::open(&state.db, state.clock.as_ref(), &cache, &client, &secret).await;
    let unusable = |reason: &str| Redirect::to(&format!("/portal/unusable?reason={reason}")).into_response();
    match opened {
        Ok(opened) => {
            if let Err(err) =
                sessions::begin_from_app(&session, &opened.account.id, state.clock.now(), &client, &opened.return_url)
                    .await
            {
                tracing::error!(error = %err, "session start failed");
                return unusable("error");
            }
            tracing::info!(account_id = %opened.account.id, organisation_id = %opened.organisation_id, "signed in from the provider's app");
            Redirect::to(&format!("/o/{}/keys", opened.organisation_id)).into_response()
        }
        Err(OpenError::Unusable(reason)) => {
            tracing::info!(?reason, "portal link refused");
            unusable(match reason {
                Unusable::Used => "used",
                Unusable::Expired => "expired",
                Unusable::Unknown => "unknown",
            })
        }
        Err(OpenError::EmailTaken) => {
            tracing::warn!("portal link refused: the address now belongs to another account");
            unusable("email_taken")
        }
        Err(OpenError::Database(err)) => {
            tracing::error!(error = %err, "portal link failed");
            unusable("error")
        }
    }
}
