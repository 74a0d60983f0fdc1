//! What happens to a key found in public: it is marked leaked (where, when, by whom), and, by the
//! operator's policy, revoked at once or only reported. Either way, in one transaction: the activity log
//! records it, `key.leaked` goes out to webhooks, and the organisation's owners and admins get a notice.
//! Reports come from GitHub's secret scanning and from the provider's own scanners (see
//! `crate::domain::leaks`).

use super::format::{self, KeyHash, KeyPrefix};
use super::manage::{ApiKey, KeyServices, ended_words, to_key, with_tokens};
use crate::domain::activity::{self, EventKind, Log, NewEvent, Origin};
use crate::domain::changes::{Change, record as record_change};
use crate::domain::jwt::ledger::{self, Ended};
use crate::domain::mail::Mail;
use crate::domain::storage::api_keys::{ActiveModel, Column, Entity};
use crate::domain::webhooks::events::{self, EventType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

/// What to do with a key reported as leaked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeakPolicy {
    /// Revoke it at once (the default): whoever found it cannot use it.
    #[default]
    Revoke,
    /// Only mark it and tell its owners, who decide.
    Notify,
}

impl LeakPolicy {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Notify => "notify",
        }
    }
}

/// One report: a string found in public that may be one of our keys.
#[derive(Debug, Clone)]
pub struct LeakReport {
    /// The string found.
    pub token: String,
    /// Where it was found.
    pub url: String,
}

/// What a report came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Not one of our keys (wrong shape, bad checksum, or no such key).
    NotOurs,
    /// One of our keys.
    Ours {
        /// The key, after the report.
        key: Box<ApiKey>,
        /// This report was the first for it.
        first: bool,
        /// It was revoked because of this report.
        revoked: bool,
    },
}

/// Acts on one report from `origin` (named `source` on the key page), under `policy`.
pub async fn report(
    db: &impl TransactionTrait,
    services: KeyServices<'_>,
    policy: LeakPolicy,
    origin: &Origin,
    source: &str,
    report: &LeakReport,
) -> Result<Finding, DbErr> {
    let Some(hash) = hash_if_ours(&services.policy.prefix, &report.token) else {
        return Ok(Finding::NotOurs);
    };
    let now = services.clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let mut select = Entity::find().filter(Column::KeyHash.eq(hash.to_hex()));
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    let Some(row) = select.one(&txn).await? else {
        return Ok(Finding::NotOurs);
    };
    if row.leaked_at.is_some() {
        return Ok(Finding::Ours { key: Box::new(to_key(row)), first: false, revoked: false });
    }
    let url: String = report.url.trim().chars().filter(|c| !c.is_control()).take(2048).collect();
    let source: String = source.chars().take(100).collect();
    let revoke = policy == LeakPolicy::Revoke && row.revoked_at.is_none();
    let mut active: ActiveModel = row.into();
    active.leaked_at = Set(Some(now));
    active.leak_url = Set(Some(url.clone()));
    active.leak_source = Set(Some(source.clone()));
    if revoke {
        active.revoked_at = Set(Some(now));
        active.updated_at = Set(now);
    }
    let row = active.update(&txn).await?;
    let ended = if revoke { ledger::end_tokens_of_key(&txn, now, &row.id, now, Ended::KeyLeaked).await? } else { 0 };
    let organisation_id = row.organisation_id.clone();
    let found = if url.is_empty() { "found in public".to_owned() } else { format!("found in public at {url}") };
    let detail = format!("{found}, reported by {source}{}", if revoke { "; revoked" } else { "" });
    let event = NewEvent {
        log: Log::Organisation(&organisation_id),
        kind: EventKind::KeyLeaked,
        key: Some((&row.id, &row.name)),
        detail: Some(detail),
    };
    activity::record(&txn, services.clock, origin, event).await?;
    if revoke {
        let event = NewEvent {
            log: Log::Organisation(&organisation_id),
            kind: EventKind::KeyRevoked,
            key: Some((&row.id, &row.name)),
            detail: Some(if ended > 0 {
                format!("found in public; {}", ended_words(ended))
            } else {
                "found in public".into()
            }),
        };
        activity::record(&txn, services.clock, origin, event).await?;
    }
    let leak =
        json!({ "leak": { "url": url, "source": source, "reported_at": events::rfc3339(now), "revoked": revoke } });
    events::key_event(&txn, now, EventType::KeyLeaked, &row, leak, None).await?;
    let key = crate::domain::notices::key_ref(&txn, &row).await?;
    let mail = Mail::KeyLeaked { key, url, source, revoked: revoke };
    crate::domain::notices::tell_owners_and_admins(&txn, now, &organisation_id, &mail).await?;
    let hash = KeyHash::from_stored(&row.key_hash);
    if revoke {
        record_change(&txn, now, &with_tokens(&[Change::Key(&hash)], ended)).await?;
    }
    txn.commit().await?;
    if revoke {
        services.cache.invalidate(&hash);
    }
    Ok(Finding::Ours { key: Box::new(to_key(row)), first: true, revoked: revoke })
}

/// The hash of `token` when it has our keys' shape and checksum; a scanner's false match costs no lookup.
fn hash_if_ours(prefix: &KeyPrefix, token: &str) -> Option<KeyHash> {
    format::hash_presented(prefix, token.trim()).ok()
}

/// The regular expression a scanner uses to find keys with `prefix`: the prefix, an underscore and 49
/// base62 characters (43 of body and 6 of checksum), not inside a longer word. A match whose CRC32 checksum
/// fails is not a key; [`report`] checks it before any lookup.
pub fn scanner_pattern(prefix: &KeyPrefix) -> String {
    format!(
        "(?:^|[^0-9A-Za-z_]){}_[0-9A-Za-z]{{{}}}(?:$|[^0-9A-Za-z_])",
        prefix.as_str(),
        format::BODY_LEN + format::CHECK_LEN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_pattern_names_the_prefix_and_the_length() {
        let pattern = scanner_pattern(&KeyPrefix::new("acme").expect("prefix"));
        assert_eq!(pattern, "(?:^|[^0-9A-Za-z_])acme_[0-9A-Za-z]{49}(?:$|[^0-9A-Za-z_])");
    }

    #[test]
    fn only_well_formed_keys_are_looked_up() {
        let prefix = KeyPrefix::default();
        let key = format::generate(&prefix).expect("random");
        assert!(hash_if_ours(&prefix, key.expose()).is_some());
        assert!(hash_if_ours(&prefix, &key.expose().replace('_', "-")).is_none());
        assert!(hash_if_ours(&prefix, "lk_notakey").is_none());
    }
}
