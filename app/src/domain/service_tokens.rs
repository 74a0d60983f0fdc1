//! Service tokens: what the provider's services present to the `/v1` API. They follow the key format
//! with a prefix of their own, are stored as SHA-256 only, and carry permissions.

use crate::domain::clock::Clock;
use crate::domain::keys::format::{self, KeyPrefix, PlaintextKey};
use crate::domain::random::RandomError;
use crate::domain::storage::service_tokens::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use std::fmt;
use std::str::FromStr;

/// What a service token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// `POST /v1/keys/verify`.
    Verify,
    /// Read keys through the management API.
    KeysRead,
    /// Create, change, roll and revoke keys through the management API.
    KeysWrite,
    /// Read organisations and their members.
    OrganisationsRead,
    /// Create, change, disable and enable organisations.
    OrganisationsWrite,
    /// Sign the provider's customers into the portal (`POST /v1/portal/sessions`).
    Portal,
    /// Register and manage the operator's webhook endpoints (`/v1/webhooks`).
    WebhooksWrite,
    /// Report keys found in public (`POST /v1/leaks`).
    LeaksReport,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Self; 8] = [
        Self::Verify,
        Self::KeysRead,
        Self::KeysWrite,
        Self::OrganisationsRead,
        Self::OrganisationsWrite,
        Self::Portal,
        Self::WebhooksWrite,
        Self::LeaksReport,
    ];

    /// The name operators use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::KeysRead => "keys:read",
            Self::KeysWrite => "keys:write",
            Self::OrganisationsRead => "organisations:read",
            Self::OrganisationsWrite => "organisations:write",
            Self::Portal => "portal",
            Self::WebhooksWrite => "webhooks:write",
            Self::LeaksReport => "leaks:report",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown permission name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown permission '{0}': use verify, keys:read, keys:write, organisations:read, organisations:write, portal, webhooks:write or leaks:report"
)]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == name).ok_or_else(|| UnknownPermission(name.to_owned()))
    }
}

/// A service token as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceToken {
    /// Public id.
    pub id: String,
    /// The operator's name for it.
    pub name: String,
    /// Prefix and first characters.
    pub hint: String,
    /// What it may do, sorted.
    pub permissions: Vec<Permission>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ServiceToken {
    /// Whether it may do `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Why a service token operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ServiceTokenError {
    /// A setting was refused.
    #[error("{0}")]
    Invalid(String),
    /// No such token.
    #[error("no service token with id '{0}'")]
    NotFound(String),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Why a presented token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a token of this deployment's format.
    #[error("malformed service token")]
    Malformed,
    /// Well-formed but unknown.
    #[error("unknown service token")]
    Unknown,
    /// Revoked.
    #[error("revoked service token")]
    Revoked,
}

fn to_token(row: Model) -> ServiceToken {
    let names: Vec<String> = serde_json::from_str(&row.permissions).unwrap_or_default();
    let mut permissions: Vec<Permission> = names.iter().filter_map(|name| name.parse().ok()).collect();
    permissions.sort();
    ServiceToken {
        id: row.id,
        name: row.name,
        hint: row.hint,
        permissions,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    }
}

/// Creates a token named `name` with `permissions`; the plaintext is returned here only.
pub async fn create(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    prefix: &KeyPrefix,
    name: &str,
    permissions: &[Permission],
) -> Result<(ServiceToken, PlaintextKey), ServiceTokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ServiceTokenError::Invalid("a service token needs a name of 1 to 64 characters".into()));
    }
    if permissions.is_empty() {
        return Err(ServiceTokenError::Invalid(
            "give at least one --permission: verify, keys:read, keys:write, organisations:read, organisations:write, portal, webhooks:write or leaks:report"
                .into(),
        ));
    }
    let mut permissions = permissions.to_vec();
    permissions.sort();
    permissions.dedup();
    let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    let plaintext = format::generate(prefix)?;
    let row = ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name.to_owned()),
        token_hash: Set(format::hash(&plaintext).to_hex()),
        hint: Set(format::hint(&plaintext)),
        permissions: Set(serde_json::to_string(&names).map_err(|err| DbErr::Custom(err.to_string()))?),
        created_at: Set(clock.now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((to_token(row), plaintext))
}

/// Every token, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ServiceToken>, DbErr> {
    let rows = Entity::find().order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).all(db).await?;
    Ok(rows.into_iter().map(to_token).collect())
}

/// Revokes a token; revoking a revoked token changes nothing.
pub async fn revoke(
    db: &impl sea_orm::TransactionTrait,
    clock: &dyn Clock,
    id: &str,
) -> Result<ServiceToken, ServiceTokenError> {
    use sea_orm::TransactionSession as _;
    let txn = crate::domain::database::begin_write(db).await?;
    let row =
        Entity::find_by_id(id.to_owned()).one(&txn).await?.ok_or_else(|| ServiceTokenError::NotFound(id.into()))?;
    if row.revoked_at.is_some() {
        return Ok(to_token(row));
    }
    let now = clock.now();
    let mut active: ActiveModel = row.into();
    active.revoked_at = Set(Some(now));
    let revoked = active.update(&txn).await?;
    // Other instances forget their token checks at once rather than after their cache's two seconds.
    crate::domain::changes::record(&txn, now, &[crate::domain::changes::Change::ServiceTokens]).await?;
    txn.commit().await?;
    Ok(to_token(revoked))
}

/// The token `presented` stands for, if it is well-formed, known and not revoked.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    prefix: &KeyPrefix,
    presented: &str,
) -> Result<ServiceToken, AuthenticateError> {
    let hash = format::hash_presented(prefix, presented)
        .map_err(|_| AuthenticateError::Rejected(TokenRejection::Malformed))?;
    find_by_hash(db, &hash).await
}

async fn find_by_hash(db: &impl ConnectionTrait, hash: &format::KeyHash) -> Result<ServiceToken, AuthenticateError> {
    let row = Entity::find()
        .filter(Column::TokenHash.eq(hash.to_hex()))
        .one(db)
        .await?
        .ok_or(AuthenticateError::Rejected(TokenRejection::Unknown))?;
    if row.revoked_at.is_some() {
        return Err(AuthenticateError::Rejected(TokenRejection::Revoked));
    }
    Ok(to_token(row))
}

/// Authentication failed: a rejected token, or the database.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// The token was not accepted.
    #[error(transparent)]
    Rejected(TokenRejection),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// How long an authentication result is reused: a token revoked by another process (the CLI, another
/// instance) stops working within this time; revocations through this instance take effect at once.
pub const AUTHENTICATION_TTL: std::time::Duration = std::time::Duration::from_secs(2);

type CachedAuthentication = (Result<std::sync::Arc<ServiceToken>, TokenRejection>, std::time::Instant);

/// Recent authentication results by token hash, so the verification hot path does not read the database
/// for the calling service's token on every request. Unknown tokens are remembered apart from real ones
/// (known and revoked): a flood of made-up tokens costs one lookup each and cannot evict the tokens of
/// real services.
pub struct TokenCache {
    known: quick_cache::sync::Cache<format::KeyHash, CachedAuthentication>,
    unknown: quick_cache::sync::Cache<format::KeyHash, std::time::Instant>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("known", &self.known.len()).field("unknown", &self.unknown.len()).finish()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self { known: quick_cache::sync::Cache::new(1_000), unknown: quick_cache::sync::Cache::new(10_000) }
    }
}

impl TokenCache {
    /// Like [`authenticate`], reusing a result younger than [`AUTHENTICATION_TTL`].
    pub async fn authenticate(
        &self,
        db: &impl ConnectionTrait,
        prefix: &KeyPrefix,
        presented: &str,
    ) -> Result<std::sync::Arc<ServiceToken>, AuthenticateError> {
        let hash = format::hash_presented(prefix, presented)
            .map_err(|_| AuthenticateError::Rejected(TokenRejection::Malformed))?;
        if let Some((result, at)) = self.known.get(&hash)
            && at.elapsed() < AUTHENTICATION_TTL
        {
            return result.map_err(AuthenticateError::Rejected);
        }
        if let Some(at) = self.unknown.get(&hash)
            && at.elapsed() < AUTHENTICATION_TTL
        {
            return Err(AuthenticateError::Rejected(TokenRejection::Unknown));
        }
        // Boxed: the lookup's future is large and rarely needed; inline, every caller's future would carry
        // (allocate, move and drop) its size on every request.
        let result = match Box::pin(find_by_hash(db, &hash)).await {
            Ok(token) => Ok(std::sync::Arc::new(token)),
            Err(AuthenticateError::Rejected(TokenRejection::Unknown)) => {
                self.unknown.insert(hash, std::time::Instant::now());
                return Err(AuthenticateError::Rejected(TokenRejection::Unknown));
            }
            Err(AuthenticateError::Rejected(rejection)) => Err(rejection),
            Err(err) => return Err(err),
        };
        self.known.insert(hash, (result.clone(), std::time::Instant::now()));
        result.map_err(AuthenticateError::Rejected)
    }

    /// What is known of `presented` without reading the database: `Some(true)` when it worked when last
    /// checked (however long ago: a lookup then says whether it still does), `Some(false)` when it is
    /// malformed or failed a moment ago, `None` when it has not been seen lately.
    pub fn known(&self, prefix: &KeyPrefix, presented: &str) -> Option<bool> {
        let Ok(hash) = format::hash_presented(prefix, presented) else { return Some(false) };
        if let Some((result, at)) = self.known.get(&hash) {
            if result.is_ok() {
                return Some(true);
            }
            if at.elapsed() < AUTHENTICATION_TTL {
                return Some(false);
            }
        }
        self.unknown.get(&hash).filter(|at| at.elapsed() < AUTHENTICATION_TTL).map(|_| false)
    }

    /// How many real (known or revoked) tokens and unknown ones are remembered.
    pub fn len(&self) -> (usize, usize) {
        (self.known.len(), self.unknown.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    /// Forgets every result, after a token was revoked through this instance.
    pub fn clear(&self) {
        self.known.clear();
        self.unknown.clear();
    }
}

/// The deployment's service-token prefix, as the server provides it to the operator pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTokenPrefix(pub KeyPrefix);
