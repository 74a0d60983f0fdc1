//! Portal sign-in sessions: what a signed-in session holds and when it ends.

pub mod list;
pub mod store;

use crate::domain::activity::Client;
use chrono::{DateTime, Duration, Utc};
use store::ACCOUNT_ID_KEY;
use tower_sessions::Session;

const SIGNED_IN_AT_KEY: &str = "signed_in_at";
const SEEN_AT_KEY: &str = "seen_at";
/// The browser and address that signed in, for the person's list of sessions.
const USER_AGENT_KEY: &str = "user_agent";
const IP_KEY: &str = "ip";
/// Where "Back to …" goes, for a person the provider's app signed in.
const RETURN_URL_KEY: &str = "return_url";

/// How long sessions last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however busy.
    pub absolute_lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle_timeout: Duration::hours(12), absolute_lifetime: Duration::days(7) }
    }
}

/// How often a busy session is written back to extend its idle timeout; bounds writes to one a minute.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A session could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("session storage failed: {0}")]
pub struct SessionError(#[from] tower_sessions::session::Error);

/// Marks `session` as signed in to `account_id` from `client`, under a fresh session id so that an id
/// planted before sign-in is worthless after it.
pub async fn begin(
    session: &Session,
    account_id: &str,
    now: DateTime<Utc>,
    client: &Client,
) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.remove_value(PENDING_KEY).await?;
    session.insert(ACCOUNT_ID_KEY, account_id).await?;
    session.insert(SIGNED_IN_AT_KEY, now.timestamp()).await?;
    session.insert(SEEN_AT_KEY, now.timestamp()).await?;
    session
        .insert(USER_AGENT_KEY, client.user_agent.as_deref().map(|agent| agent.chars().take(256).collect::<String>()))
        .await?;
    session.insert(IP_KEY, client.ip.map(|ip| ip.to_string())).await?;
    session.remove_value(RETURN_URL_KEY).await?;
    Ok(())
}

/// The account waiting for its second factor on this session, and when its password was accepted.
const PENDING_KEY: &str = "pending_second_factor";

/// How long a person has to give their second factor after their password.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(5);

/// Records that `account_id`'s password was accepted on `session` and a second factor is awaited. The
/// session is not signed in.
pub async fn await_second_factor(session: &Session, account_id: &str, now: DateTime<Utc>) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.insert(PENDING_KEY, (account_id, now.timestamp())).await?;
    Ok(())
}

/// The account awaiting its second factor on `session`, if its password was accepted within
/// [`SECOND_FACTOR_WINDOW`].
pub async fn awaiting_second_factor(session: &Session, now: DateTime<Utc>) -> Result<Option<String>, SessionError> {
    let Some((account_id, at)) = session.get::<(String, i64)>(PENDING_KEY).await? else {
        return Ok(None);
    };
    let fresh = DateTime::from_timestamp(at, 0).is_some_and(|at| now - at < SECOND_FACTOR_WINDOW);
    if !fresh {
        session.remove_value(PENDING_KEY).await?;
        return Ok(None);
    }
    Ok(Some(account_id))
}

/// Like [`begin`], for a person the provider's app sent: the header offers them the way back to `return_url`.
pub async fn begin_from_app(
    session: &Session,
    account_id: &str,
    now: DateTime<Utc>,
    client: &Client,
    return_url: &str,
) -> Result<(), SessionError> {
    begin(session, account_id, now, client).await?;
    session.insert(RETURN_URL_KEY, return_url).await?;
    Ok(())
}

/// Where the provider's app wants this session's person back, if it sent them.
pub async fn return_url(session: &Session) -> Result<Option<String>, SessionError> {
    Ok(session.get::<String>(RETURN_URL_KEY).await?)
}

/// The account signed in on `session`, if any and if the session has outlived neither limit.
/// Ends the session when its absolute lifetime is over.
pub async fn signed_in_account(
    session: &Session,
    policy: &SessionPolicy,
    now: DateTime<Utc>,
) -> Result<Option<String>, SessionError> {
    let Some(account_id) = session.get::<String>(ACCOUNT_ID_KEY).await? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT_KEY).await?.and_then(|t| DateTime::from_timestamp(t, 0));
    let seen_at = session.get::<i64>(SEEN_AT_KEY).await?.and_then(|t| DateTime::from_timestamp(t, 0));
    let (Some(signed_in_at), Some(seen_at)) = (signed_in_at, seen_at) else {
        session.flush().await?;
        return Ok(None);
    };
    if now - signed_in_at >= policy.absolute_lifetime || now - seen_at >= policy.idle_timeout {
        session.flush().await?;
        return Ok(None);
    }
    if now - seen_at >= TOUCH_EVERY {
        // Writing the session pushes its expiry out by the idle timeout.
        session.insert(SEEN_AT_KEY, now.timestamp()).await?;
    }
    Ok(Some(account_id))
}

/// Signs out: deletes the session server-side, so its cookie is worthless from now on.
pub async fn end(session: &Session) -> Result<(), SessionError> {
    session.flush().await?;
    Ok(())
}
