//! Server functions for the operator's service-token page. Only operators may call them; to anyone else
//! they answer 404, as if the page did not exist.

use super::ApiError;
use super::keys::ShownKey;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The permissions a service token may carry, with what each allows.
pub const PERMISSION_CHOICES: [(&str, &str); 7] = [
    ("verify", "Verify keys (POST /v1/keys/verify)"),
    ("keys:read", "Read customers' keys and their usage"),
    ("keys:write", "Create, change, roll and revoke customers' keys"),
    ("organisations:read", "Find customer organisations and list their members"),
    ("organisations:write", "Create, rename, disable and enable customer organisations"),
    ("webhooks:write", "Register and manage your own webhook endpoints (/v1/webhooks)"),
    ("leaks:report", "Report keys your scanners found in public (POST /v1/leaks)"),
];

/// A service token as the operator sees it; never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTokenView {
    /// Public id.
    pub id: String,
    /// The operator's name for it.
    pub name: String,
    /// Prefix and first characters.
    pub hint: String,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Created, for people.
    pub created: String,
    /// Revoked, for people.
    pub revoked: Option<String>,
}

/// A token just created, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewServiceToken {
    /// Its settings.
    pub token: ServiceTokenView,
    /// The token itself.
    pub plaintext: ShownKey,
}

/// Every service token, newest first.
#[server(endpoint = "service_tokens/list", input = server_fn::codec::GetUrl)]
pub async fn list_service_tokens() -> Result<Vec<ServiceTokenView>, ApiError> {
    use crate::api::server_context::{internal, service};
    server::operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let tokens =
        crate::domain::service_tokens::list(&db).await.map_err(|err| internal("listing tokens failed", &err))?;
    Ok(tokens.iter().map(server::view).collect())
}

/// Creates a service token and shows it once.
#[server(endpoint = "service_tokens/create")]
pub async fn create_service_token(
    name: String,
    #[server(default)] permissions: Vec<String>,
) -> Result<NewServiceToken, ApiError> {
    use crate::api::server_context::{internal, reject, service};
    use crate::domain::clock::SharedClock;
    use crate::domain::service_tokens::{self, Permission, ServiceTokenError, ServiceTokenPrefix};
    let operator = server::operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let prefix = service::<ServiceTokenPrefix>()?;
    if name.trim().is_empty() || name.trim().chars().count() > 64 {
        return Err(reject(ApiError::invalid(
            "name",
            "Give the token a name of 1 to 64 characters, such as the service that uses it.",
        )));
    }
    let permissions = permissions
        .iter()
        .map(|name| name.parse::<Permission>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| reject(ApiError::invalid("permissions", err.to_string())))?;
    if permissions.is_empty() {
        return Err(reject(ApiError::invalid("permissions", "Choose at least one permission.")));
    }
    let (token, plaintext) =
        service_tokens::create(&db, clock.as_ref(), &prefix.0, &name, &permissions).await.map_err(|err| match err {
            ServiceTokenError::Invalid(message) => reject(ApiError::invalid("name", message)),
            other => internal("creating a token failed", &other),
        })?;
    tracing::info!(id = %token.id, by = %operator.id, "service token created in the portal");
    crate::api::keys::server::no_store();
    Ok(NewServiceToken { token: server::view(&token), plaintext: ShownKey(plaintext.expose().to_owned()) })
}

/// Revokes a service token: this instance refuses it at once, others within two seconds.
#[server(endpoint = "service_tokens/revoke")]
pub async fn revoke_service_token(id: String) -> Result<ServiceTokenView, ApiError> {
    use crate::api::server_context::{after_plain_post, internal, reject, service};
    use crate::domain::clock::SharedClock;
    use crate::domain::service_tokens::{self, ServiceTokenError, TokenCache};
    use std::sync::Arc;
    let operator = server::operator().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let cache = service::<Arc<TokenCache>>()?;
    let token = service_tokens::revoke(&db, clock.as_ref(), &id).await.map_err(|err| match err {
        ServiceTokenError::NotFound(_) => reject(ApiError::NotFound),
        other => internal("revoking a token failed", &other),
    })?;
    cache.clear();
    tracing::info!(id = %token.id, by = %operator.id, "service token revoked in the portal");
    after_plain_post("/operator/service-tokens#tokens");
    Ok(server::view(&token))
}

#[cfg(feature = "ssr")]
mod server {
    use super::ServiceTokenView;
    use crate::domain::service_tokens::ServiceToken;

    pub use crate::api::server_context::signed_in_operator as operator;

    pub fn view(token: &ServiceToken) -> ServiceTokenView {
        ServiceTokenView {
            id: token.id.clone(),
            name: token.name.clone(),
            hint: token.hint.clone(),
            permissions: token.permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            created: crate::api::keys::server::when(token.created_at),
            revoked: token.revoked_at.map(crate::api::keys::server::when),
        }
    }
}
