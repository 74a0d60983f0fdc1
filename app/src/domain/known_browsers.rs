//! The browsers a person has signed in from, known by a random id in a long-lived cookie (stored as its
//! SHA-256), so that a sign-in from one never seen before can be told to them. Also how a client is named
//! in messages and the sessions list ("Firefox on Linux, 203.0.113.9").

use crate::domain::activity::Client;
use crate::domain::storage::known_browsers::{ActiveModel, Column, Entity};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

/// The cookie that names a browser.
pub const COOKIE: &str = "latchkey_browser";

/// What a sign-in's browser was to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Signed in from before.
    Known,
    /// The account's first browser: nothing to compare with, nothing to tell.
    First,
    /// Not seen before, while others have been: the person is told.
    New,
}

/// Records a sign-in to `account_id` from the browser with `browser_id`.
pub async fn sign_in_from(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    account_id: &str,
    browser_id: &str,
) -> Result<Seen, DbErr> {
    let hash = hex::encode(Sha256::digest(browser_id.as_bytes()));
    let row = ActiveModel {
        account_id: Set(account_id.to_owned()),
        browser_hash: Set(hash.clone()),
        first_seen_at: Set(now),
    };
    let inserted = Entity::insert(row)
        .on_conflict(OnConflict::columns([Column::AccountId, Column::BrowserHash]).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    if inserted == 0 {
        return Ok(Seen::Known);
    }
    let others =
        Entity::find().filter(Column::AccountId.eq(account_id)).filter(Column::BrowserHash.ne(hash)).count(db).await?;
    Ok(if others == 0 { Seen::First } else { Seen::New })
}

/// A browser and system in words, from a user agent: "Firefox on Linux".
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.filter(|agent| !agent.trim().is_empty()) else {
        return "An unknown browser".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => agent.chars().take(60).collect(),
    }
}

/// A client in words: browser, system and address.
pub fn describe_client(client: &Client) -> String {
    let browser = describe(client.user_agent.as_deref());
    match client.ip {
        Some(ip) => format!("{browser}, {ip}"),
        None => browser,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(describe(Some(chrome)), "Chrome on Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(describe(Some(edge)), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1";
        assert_eq!(describe(Some(safari)), "Safari on iOS");
        assert_eq!(describe(None), "An unknown browser");
    }
}
