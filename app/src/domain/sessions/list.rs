//! A person's own sessions, for the settings page: which browser, from where, since when, last active;
//! and ending one of them.

use super::store::id_hash;
use crate::domain::known_browsers::describe;
use crate::domain::storage::sessions::{Column, Entity};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tower_sessions::session::Id;

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// Names the session in this list: the SHA-256 the store keys it by, never the id itself.
    pub reference: String,
    /// "Firefox on Linux".
    pub browser: String,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// When it signed in.
    pub signed_in_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_active_at: Option<DateTime<Utc>>,
    /// Whether it is the session asking.
    pub current: bool,
}

fn timestamp(data: &serde_json::Value, key: &str) -> Option<DateTime<Utc>> {
    data.get(key).and_then(serde_json::Value::as_i64).and_then(|t| DateTime::from_timestamp(t, 0))
}

/// The account's unexpired, signed-in sessions, most recently active first.
pub async fn list(
    db: &impl ConnectionTrait,
    account_id: &str,
    now: DateTime<Utc>,
    current: Option<Id>,
) -> Result<Vec<ActiveSession>, DbErr> {
    let current = current.as_ref().map(id_hash);
    let rows =
        Entity::find().filter(Column::AccountId.eq(account_id)).filter(Column::ExpiresAt.gt(now)).all(db).await?;
    let mut sessions: Vec<ActiveSession> = rows
        .into_iter()
        .map(|row| {
            let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
            ActiveSession {
                current: current.as_deref() == Some(row.id_hash.as_str()),
                browser: describe(data.get("user_agent").and_then(serde_json::Value::as_str)),
                ip: data.get("ip").and_then(serde_json::Value::as_str).map(str::to_owned),
                signed_in_at: timestamp(&data, "signed_in_at"),
                last_active_at: timestamp(&data, "seen_at"),
                reference: row.id_hash,
            }
        })
        .collect();
    sessions.sort_by(|a, b| b.current.cmp(&a.current).then(b.last_active_at.cmp(&a.last_active_at)));
    Ok(sessions)
}

/// Ends the account's session named `reference`; answers whether there was one.
pub async fn end(db: &impl ConnectionTrait, account_id: &str, reference: &str) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::IdHash.eq(reference))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}
