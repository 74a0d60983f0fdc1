//! Portal sessions: the provider's app signs one of its customers' people straight into the portal.
//!
//! The app asks (`POST /v1/portal/sessions`) with what it knows: the customer (its external id and name), the
//! person (their id in the app, email and name), the role they should have, and where "Back to …" goes. It
//! gets a link that works once, within minutes; only the SHA-256 of the link's secret is stored. Opening
//! the link applies what the app said, because the app is the source of truth for these people: the
//! organisation, the account and the membership are made on first use and brought up to date on later ones,
//! and the person is signed in.

use crate::domain::accounts::email::Email;
use crate::domain::accounts::{Account, find_row_by_email};
use crate::domain::activity::{self, Origin};
use crate::domain::clock::Clock;
use crate::domain::identities::{self, PORTAL_ISSUER, place};
use crate::domain::link_secret::{self, LinkSecret};
use crate::domain::organisations::{self, Role};
use crate::domain::random::RandomError;
use crate::domain::storage::portal_sessions;
use crate::domain::verification::KeyCache;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};

/// The longest a portal link may live.
pub const MAX_LIFETIME: Duration = Duration::minutes(5);
/// Longest accepted return URL.
pub const MAX_RETURN_URL_CHARS: usize = 2048;
/// Longest accepted name of a person.
pub const MAX_PERSON_NAME_CHARS: usize = 100;

/// How portal links behave in this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalPolicy {
    /// How long a link works, at most [`MAX_LIFETIME`].
    pub lifetime: Duration,
    /// The origins (`https://app.example.com`) a return URL may be on; none: portal sessions are off.
    pub return_origins: Vec<String>,
}

impl Default for PortalPolicy {
    fn default() -> Self {
        Self { lifetime: MAX_LIFETIME, return_origins: Vec::new() }
    }
}

impl PortalPolicy {
    /// `url` if it is an http(s) URL on an allowed origin, else why not.
    pub fn check_return_url(&self, url: &str) -> Result<String, PortalError> {
        let refuse = |message: String| PortalError::Invalid { field: "return_url", message };
        if url.chars().count() > MAX_RETURN_URL_CHARS {
            return Err(refuse(format!("'return_url' must be at most {MAX_RETURN_URL_CHARS} characters.")));
        }
        let parsed = url::Url::parse(url)
            .map_err(|_| refuse("'return_url' must be an absolute http or https URL.".to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(refuse("'return_url' must be an absolute http or https URL.".to_owned()));
        }
        let origin = parsed.origin().ascii_serialization();
        if self.return_origins.is_empty() {
            return Err(refuse(
                "No return origin is allowed yet: the operator sets LATCHKEY_PORTAL_RETURN_ORIGINS.".to_owned(),
            ));
        }
        if !self.return_origins.contains(&origin) {
            return Err(refuse(format!(
                "'return_url' is on {origin}, which is not an allowed return origin ({}).",
                self.return_origins.join(", ")
            )));
        }
        Ok(parsed.to_string())
    }

    /// Where a link that cannot be used sends people back to, when the link itself does not say: the
    /// provider's first allowed origin.
    pub fn fallback_return_url(&self) -> Option<String> {
        self.return_origins.first().cloned()
    }
}

/// Why a portal session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// A field was refused.
    #[error("{message}")]
    Invalid {
        /// The field, as the API names it.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Another account, not known to the provider's app, has this address.
    #[error(
        "Another Latchkey account already uses {0}; that person signs in with their password, and cannot be \
         signed in through the provider's app under the same address."
    )]
    EmailTaken(String),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// What the provider's app says about the person it signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortalSession {
    /// The customer's id in the app.
    pub organisation_external_id: String,
    /// The customer's name.
    pub organisation_name: String,
    /// The person's id in the app.
    pub user_external_id: String,
    /// Their email address.
    pub user_email: String,
    /// Their name, if the app knows it.
    pub user_name: Option<String>,
    /// Their role in the organisation.
    pub role: Role,
    /// Where "Back to …" goes.
    pub return_url: String,
}

/// A link just made.
#[derive(Debug)]
pub struct PortalLink {
    /// Its secret, to be put into the URL.
    pub secret: LinkSecret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A person's name, trimmed; empty means none.
pub fn check_person_name(name: Option<&str>) -> Result<Option<String>, PortalError> {
    let Some(name) = name.map(str::trim).filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_PERSON_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(PortalError::Invalid {
            field: "user.name",
            message: format!(
                "'user.name' must be at most {MAX_PERSON_NAME_CHARS} characters, without control characters."
            ),
        });
    }
    Ok(Some(name.to_owned()))
}

fn field(field: &'static str, err: organisations::OrganisationError) -> PortalError {
    match err {
        organisations::OrganisationError::Invalid { message, .. } => PortalError::Invalid { field, message },
        other => PortalError::Invalid { field, message: other.to_string() },
    }
}

/// Checks what the app said and stores a link for it; the secret is returned here only.
pub async fn create(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    policy: &PortalPolicy,
    created_by: &str,
    new: &NewPortalSession,
) -> Result<PortalLink, PortalError> {
    let organisation_external_id = organisations::check_external_id(&new.organisation_external_id)
        .map_err(|err| field("organisation.external_id", err))?;
    let organisation_name =
        organisations::check_name(&new.organisation_name).map_err(|err| field("organisation.name", err))?;
    let user_external_id =
        organisations::check_external_id(&new.user_external_id).map_err(|err| field("user.external_id", err))?;
    let email = Email::parse(&new.user_email)
        .map_err(|err| PortalError::Invalid { field: "user.email", message: err.to_string() })?;
    let user_name = check_person_name(new.user_name.as_deref())?;
    let return_url = policy.check_return_url(&new.return_url)?;
    // Said now rather than when the person opens the link: the app can act on a 409, a customer cannot.
    check_email_free(db, &email, &user_external_id).await?;
    let now = clock.now();
    let secret = LinkSecret::generate()?;
    let expires_at = now + policy.lifetime.min(MAX_LIFETIME);
    portal_sessions::ActiveModel {
        secret_hash: Set(secret.hash()),
        organisation_external_id: Set(organisation_external_id),
        organisation_name: Set(organisation_name),
        user_external_id: Set(user_external_id),
        user_email: Set(email.as_str().to_owned()),
        user_name: Set(user_name),
        role: Set(new.role.as_str().to_owned()),
        return_url: Set(return_url),
        created_by: Set(created_by.chars().take(100).collect()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(PortalLink { secret, expires_at })
}

/// Refuses an address that belongs to an account the app's person is not.
async fn check_email_free(db: &impl ConnectionTrait, email: &Email, user_external_id: &str) -> Result<(), PortalError> {
    let Some(holder) = find_row_by_email(db, email).await? else {
        return Ok(());
    };
    let known = identities::find_account(db, PORTAL_ISSUER, user_external_id).await?;
    if known.is_some_and(|account| account.id == holder.id) {
        Ok(())
    } else {
        Err(PortalError::EmailTaken(email.as_str().to_owned()))
    }
}

/// Why a link did not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Opened before: links work once.
    Used,
    /// Not opened in time.
    Expired,
    /// No such link (mistyped, forged, or cleaned up long after it expired).
    Unknown,
}

/// Why opening a link failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The link cannot be used.
    #[error("portal link unusable: {0:?}")]
    Unusable(Unusable),
    /// Since the link was made, another account took the address.
    #[error("the address belongs to another account")]
    EmailTaken,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The person a link signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Their account.
    pub account: Account,
    /// The organisation they land in.
    pub organisation_id: String,
    /// Where "Back to …" goes.
    pub return_url: String,
}

/// Whether a link would open now, without spending it: the page a `GET` of the link answers asks this, so
/// that a link that cannot work says why at once and a mail scanner's fetch spends nothing.
pub async fn check(db: &impl ConnectionTrait, clock: &dyn Clock, secret: &str) -> Result<(), OpenError> {
    if !link_secret::is_well_formed(secret) {
        return Err(OpenError::Unusable(Unusable::Unknown));
    }
    let row = portal_sessions::Entity::find_by_id(link_secret::hash(secret))
        .one(db)
        .await?
        .ok_or(OpenError::Unusable(Unusable::Unknown))?;
    if row.used_at.is_some() {
        return Err(OpenError::Unusable(Unusable::Used));
    }
    if row.expires_at <= clock.now() {
        return Err(OpenError::Unusable(Unusable::Expired));
    }
    Ok(())
}

/// Opens a link: marks it used (once, whoever races), applies what the app said, and answers whom to sign in.
pub async fn open(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    cache: &KeyCache,
    client: &activity::Client,
    secret: &str,
) -> Result<Opened, OpenError> {
    if !link_secret::is_well_formed(secret) {
        return Err(OpenError::Unusable(Unusable::Unknown));
    }
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let row = portal_sessions::Entity::find_by_id(link_secret::hash(secret))
        .one(&txn)
        .await?
        .ok_or(OpenError::Unusable(Unusable::Unknown))?;
    if row.used_at.is_some() {
        return Err(OpenError::Unusable(Unusable::Used));
    }
    if row.expires_at <= now {
        return Err(OpenError::Unusable(Unusable::Expired));
    }
    let marked = portal_sessions::Entity::update_many()
        .col_expr(portal_sessions::Column::UsedAt, Expr::value(now))
        .filter(portal_sessions::Column::SecretHash.eq(row.secret_hash.clone()))
        .filter(portal_sessions::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected == 0 {
        return Err(OpenError::Unusable(Unusable::Used));
    }
    // Stored only after `Email::parse` accepted it.
    let email = Email::parse(&row.user_email).map_err(|_| OpenError::Unusable(Unusable::Unknown))?;
    let origin = Origin { actor: row.user_email.clone(), client: client.clone() };
    let person = place::Person {
        issuer: PORTAL_ISSUER,
        subject: &row.user_external_id,
        email: &email,
        name: row.user_name.as_deref(),
        link_by_verified_email: false,
    };
    let (account, created) = match place::account_for(&txn, now, &person).await? {
        place::Found::Account { account, created } => (account, created),
        place::Found::EmailTaken => return Err(OpenError::EmailTaken),
    };
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
    let membership = place::Membership {
        organisation_external_id: &row.organisation_external_id,
        organisation_name: Some(&row.organisation_name),
        role: Some(role),
    };
    let placed = place::in_organisation(&txn, clock, &origin, &account.id, &membership).await?;
    place::record_sign_in(&txn, clock, &origin, &account.id, created).await?;
    txn.commit().await?;
    if placed.renamed {
        // Verification answers carry the organisation's name.
        cache.clear();
    }
    Ok(Opened { account, organisation_id: placed.organisation_id, return_url: row.return_url })
}

/// Deletes links that expired a day or more ago; run periodically. Recently expired ones are kept a while so
/// that opening one says "expired" rather than "unknown".
pub async fn delete_expired(db: &impl ConnectionTrait, clock: &dyn Clock) -> Result<u64, DbErr> {
    let cutoff = clock.now() - Duration::days(1);
    let done =
        portal_sessions::Entity::delete_many().filter(portal_sessions::Column::ExpiresAt.lt(cutoff)).exec(db).await?;
    Ok(done.rows_affected)
}
