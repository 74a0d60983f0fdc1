//! Account settings: change the password, delete the account.

use super::ApiError;
use super::auth::PasswordInput;
use leptos::prelude::*;

/// Changes the password (the current one is required) and signs out every other session.
#[server(endpoint = "account/password")]
pub async fn change_password(current_password: PasswordInput, new_password: PasswordInput) -> Result<(), ApiError> {
    use crate::api::server_context::{
        after_plain_post, client, hashing_busy, internal, reject, service, session, signed_in_to_settings,
    };
    use crate::domain::accounts::{
        AccountChangeError, change_password,
        password::{HashingError, Password, PasswordHasher},
    };
    use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
    use crate::domain::clock::SharedClock;
    use crate::domain::sessions::store::DatabaseSessionStore;
    use std::sync::Arc;

    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    let session = session().await?;
    if current_password.0.is_empty() {
        return Err(reject(ApiError::invalid("current_password", "Enter your current password.")));
    }
    let current = Password::new(current_password.0);
    let new = Password::new(new_password.0);
    match change_password(&db, &hasher, clock.as_ref(), &account.id, (&current, &new), &client()).await {
        Ok(()) => {}
        Err(AccountChangeError::WrongPassword) => {
            return Err(reject(ApiError::invalid("current_password", AccountChangeError::WrongPassword.to_string())));
        }
        Err(AccountChangeError::Password(err)) => {
            return Err(reject(ApiError::invalid("new_password", err.to_string())));
        }
        Err(AccountChangeError::Hashing(HashingError::Busy)) => return Err(hashing_busy()),
        Err(err) => return Err(internal("password change failed", &err)),
    }
    // A new id for this session too: whoever held a copy of the old cookie is out as well.
    session.cycle_id().await.map_err(|err| internal("session cycle failed", &err))?;
    let store = DatabaseSessionStore::new(db.clone(), clock.clone());
    store
        .delete_for_account(&account.id, session.id())
        .await
        .map_err(|err| internal("ending sessions failed", &err))?;
    let origin = Origin { actor: account.email.clone(), client: client() };
    let event = NewEvent { log: Log::Account(&account.id), kind: EventKind::PasswordChanged, key: None, detail: None };
    activity::record(&db, clock.as_ref(), &origin, event).await.map_err(|err| internal("activity log failed", &err))?;
    after_plain_post(&crate::api::outcome::done_at("/settings", "password", "password"));
    Ok(())
}

/// Deletes the account (its password is required), with the organisations only it belongs to (their keys
/// revoked), and signs out everywhere. Refused while it is the only owner of an organisation with others.
#[server(endpoint = "account/delete")]
pub async fn delete_account(password: PasswordInput) -> Result<(), ApiError> {
    use crate::api::server_context::{after_plain_post, hashing_busy, internal, reject, service, session, signed_in};
    use crate::domain::accounts::{
        AccountChangeError, delete_account,
        password::{HashingError, Password, PasswordHasher},
    };
    use crate::domain::clock::SharedClock;
    use crate::domain::sessions::{self, store::DatabaseSessionStore};
    use std::sync::Arc;

    let account = signed_in().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let hasher = service::<Arc<PasswordHasher>>()?;
    let clock = service::<SharedClock>()?;
    let cache = service::<Arc<crate::domain::verification::KeyCache>>()?;
    let session = session().await?;
    match delete_account(&db, &hasher, clock.as_ref(), &cache, &account.id, &Password::new(password.0)).await {
        Ok(()) => {}
        Err(AccountChangeError::WrongPassword) => {
            return Err(reject(ApiError::invalid("password", "That password is not correct.")));
        }
        Err(AccountChangeError::Hashing(HashingError::Busy)) => return Err(hashing_busy()),
        Err(err @ AccountChangeError::LastOwner(_)) => {
            return Err(reject(ApiError::Conflict { message: err.to_string() }));
        }
        Err(err) => return Err(internal("account deletion failed", &err)),
    }
    let store = DatabaseSessionStore::new(db.clone(), clock.clone());
    store.delete_for_account(&account.id, None).await.map_err(|err| internal("ending sessions failed", &err))?;
    sessions::end(&session).await.map_err(|err| internal("sign-out failed", &err))?;
    tracing::info!(account_id = %account.id, "account deleted");
    after_plain_post("/sign-up");
    Ok(())
}

/// The signed-in person's own log, newest first: sign-ins (and failed ones), sign-outs, password changes.
#[server(endpoint = "account/activity", input = server_fn::codec::GetUrl)]
pub async fn own_activity(page: Option<u64>) -> Result<super::keys::ActivityView, ApiError> {
    use crate::api::server_context::{internal, service, signed_in_to_settings};
    use crate::domain::activity::Log;
    let account = signed_in_to_settings().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let log = crate::domain::activity::list(&db, Log::Account(&account.id), page.unwrap_or(1), 10)
        .await
        .map_err(|err| internal("own activity failed", &err))?;
    Ok(super::keys::ActivityView {
        events: log.events.iter().map(crate::api::keys::server::event_view).collect(),
        page: log.page,
        pages: log.pages,
    })
}
