//! The verification decision: given what is stored about a key and what a request asks, the outcome code.
//! Checks run in the documented order: revoked / expired / disabled → IP → scopes. The format check and the
//! lookup come before (see [`super::Verifier`]); the rate limit comes after, applied only to a key that passed
//! everything else, so a refused request consumes nothing.

use crate::domain::keys::controls::{RateLimit, Unreadable, read_allowlist, read_meta};
use crate::domain::storage::api_keys::Model;
use crate::domain::storage::organisations;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Every outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The key may be used.
    Valid,
    /// Not a key of this deployment's format (no lookup was made).
    Malformed,
    /// Well-formed, but no such key.
    NotFound,
    /// Past its expiry (or its rolled grace period).
    Expired,
    /// Revoked.
    Revoked,
    /// Its organisation is disabled, or its stored controls cannot be read.
    Disabled,
    /// It lacks a required scope.
    InsufficientScopes,
    /// The caller's address is not on its allowlist.
    IpNotAllowed,
    /// Over its rate limit.
    RateLimited,
    /// Usage only, never a verification answer: the key passed every check and was exchanged for an
    /// access token.
    TokenIssued,
}

impl Code {
    /// Every code, in the documented check order (VALID first, TOKEN_ISSUED last).
    pub const ALL: [Self; 10] = [
        Self::Valid,
        Self::Malformed,
        Self::NotFound,
        Self::Revoked,
        Self::Expired,
        Self::Disabled,
        Self::IpNotAllowed,
        Self::InsufficientScopes,
        Self::RateLimited,
        Self::TokenIssued,
    ];

    /// The code for a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The wire name, e.g. `INSUFFICIENT_SCOPES`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
            Self::Disabled => "DISABLED",
            Self::InsufficientScopes => "INSUFFICIENT_SCOPES",
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::RateLimited => "RATE_LIMITED",
            Self::TokenIssued => "TOKEN_ISSUED",
        }
    }

    /// Whether the key was accepted: a valid verification or an issued token.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Valid | Self::TokenIssued)
    }
}

/// What verification needs to know about a key: the form a cache keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id.
    pub id: std::sync::Arc<str>,
    /// The owning organisation, as services are told.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Expiry (for a rolled key: the end of its grace period).
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it was rolled (and so is within its grace period while it still works).
    pub rolled: bool,
    /// Whether its organisation is disabled.
    pub disabled: bool,
    /// Networks the key may be used from; empty means anywhere.
    pub ip_allowlist: Vec<IpNet>,
    /// Returned to the service on a valid verification.
    pub meta: Option<Map<String, Value>>,
    /// The key's own rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Why its stored scopes, allowlist or rate limit cannot be read, if they cannot: such a key is
    /// refused as `DISABLED` rather than checked against less than was set.
    pub unreadable: Option<Unreadable>,
}

/// A key's owner as the verify answer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The organisation's id.
    pub id: String,
    /// The provider's own id for it.
    pub external_id: Option<String>,
    /// Its name.
    pub name: String,
}

impl KeyRecord {
    /// A stored key and its organisation (`None` if it vanished meanwhile: the key then answers `DISABLED`).
    /// Stored scopes or controls that no longer read make the record [`KeyRecord::unreadable`] (logged with
    /// the key's id), never wider than what was set.
    pub fn new(row: Model, organisation: Option<organisations::Model>) -> Self {
        let scopes = serde_json::from_str(&row.scopes).map_err(|_| Unreadable("the stored scopes are not a JSON list"));
        let ip_allowlist = read_allowlist(row.ip_allowlist.as_deref());
        let rate_limit = RateLimit::from_columns(row.ratelimit_limit, row.ratelimit_window_seconds);
        let unreadable = [scopes.as_ref().err(), ip_allowlist.as_ref().err(), rate_limit.as_ref().err()]
            .into_iter()
            .flatten()
            .next()
            .copied();
        if let Some(why) = unreadable {
            tracing::warn!(key_id = %row.id, reason = %why, "refusing a key whose stored controls cannot be read");
        }
        Self {
            scopes: scopes.unwrap_or_default(),
            ip_allowlist: ip_allowlist.unwrap_or_default(),
            meta: read_meta(row.meta.as_deref()),
            rate_limit: rate_limit.ok().flatten(),
            unreadable,
            rolled: row.rolled_into.is_some(),
            disabled: organisation.as_ref().is_none_or(|org| org.disabled_at.is_some()),
            owner: match organisation {
                Some(org) => Owner { id: org.id, external_id: org.external_id, name: org.name },
                None => Owner { id: row.organisation_id, external_id: None, name: String::new() },
            },
            id: row.id.into(),
            name: row.name,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// What the calling service asks.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// Scopes the request needs; all of them are required.
    pub scopes: &'a [String],
    /// The end client's address, when the service passes it on.
    pub ip: Option<IpAddr>,
}

/// Whether a key works at `now` at all, whatever is asked of it: neither revoked, expired nor disabled.
/// An access token bought with it works only while this holds.
pub fn works_at(record: &KeyRecord, now: DateTime<Utc>) -> bool {
    record.revoked_at.is_none()
        && record.expires_at.is_none_or(|expiry| expiry > now)
        && !record.disabled
        && record.unreadable.is_none()
}

/// The outcome for a stored key, before any rate limit.
pub fn decide(record: &KeyRecord, ask: Ask<'_>, now: DateTime<Utc>) -> Code {
    if record.revoked_at.is_some() {
        return Code::Revoked;
    }
    if record.expires_at.is_some_and(|expiry| expiry <= now) {
        return Code::Expired;
    }
    if record.disabled || record.unreadable.is_some() {
        return Code::Disabled;
    }
    if !record.ip_allowlist.is_empty()
        && !ask.ip.is_some_and(|ip| record.ip_allowlist.iter().any(|net| net.contains(&ip)))
    {
        return Code::IpNotAllowed;
    }
    if !ask.scopes.iter().all(|needed| record.scopes.contains(needed)) {
        return Code::InsufficientScopes;
    }
    Code::Valid
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    /// A live key with two scopes and no controls; other tests of the engine start from it.
    pub(crate) fn record() -> KeyRecord {
        KeyRecord {
            id: "k".into(),
            owner: Owner { id: "o".into(), external_id: Some("cus_1".into()), name: "Acme".into() },
            name: "ci".into(),
            scopes: vec!["orders:read".into(), "orders:write".into()],
            expires_at: None,
            revoked_at: None,
            rolled: false,
            disabled: false,
            ip_allowlist: vec![],
            meta: None,
            rate_limit: None,
            unreadable: None,
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_live_key_with_the_scopes_asked_is_valid() {
        let wanted = scopes(&["orders:read"]);
        assert_eq!(decide(&record(), Ask { scopes: &wanted, ip: None }, now()), Code::Valid);
        assert_eq!(decide(&record(), Ask { scopes: &[], ip: None }, now()), Code::Valid);
    }

    #[test]
    fn each_refusal_has_its_code() {
        let wanted = scopes(&["orders:read"]);
        let ask = Ask { scopes: &wanted, ip: Some("203.0.113.7".parse().expect("ip")) };
        let cases = [
            (KeyRecord { revoked_at: Some(now()), ..record() }, Code::Revoked),
            (KeyRecord { expires_at: Some(now()), ..record() }, Code::Expired),
            (KeyRecord { disabled: true, ..record() }, Code::Disabled),
            (KeyRecord { unreadable: Some(Unreadable("broken")), ..record() }, Code::Disabled),
            (KeyRecord { ip_allowlist: vec!["10.0.0.0/8".parse().expect("net")], ..record() }, Code::IpNotAllowed),
            (KeyRecord { scopes: scopes(&["customers:read"]), ..record() }, Code::InsufficientScopes),
        ];
        for (record, code) in cases {
            assert_eq!(decide(&record, ask, now()), code, "{record:?}");
        }
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        // A key that fails everything reports the earliest check.
        let failing_everything = KeyRecord {
            revoked_at: Some(now()),
            expires_at: Some(now() - Duration::days(1)),
            disabled: true,
            ip_allowlist: vec!["10.0.0.0/8".parse().expect("net")],
            scopes: vec![],
            ..record()
        };
        let wanted = scopes(&["orders:read"]);
        let ask = Ask { scopes: &wanted, ip: None };
        let mut key = failing_everything;
        let mut seen = Vec::new();
        for _ in 0..5 {
            let code = decide(&key, ask, now());
            seen.push(code);
            match code {
                Code::Revoked => key.revoked_at = None,
                Code::Expired => key.expires_at = None,
                Code::Disabled => key.disabled = false,
                Code::IpNotAllowed => key.ip_allowlist.clear(),
                Code::InsufficientScopes => key.scopes = wanted.clone(),
                _ => break,
            }
        }
        assert_eq!(seen, [Code::Revoked, Code::Expired, Code::Disabled, Code::IpNotAllowed, Code::InsufficientScopes]);
        assert_eq!(decide(&key, ask, now()), Code::Valid);
    }

    #[test]
    fn allowlists_take_v4_and_v6_networks_and_need_an_address() {
        let key = KeyRecord {
            ip_allowlist: vec!["10.0.0.0/8".parse().expect("v4"), "2001:db8::/32".parse().expect("v6")],
            ..record()
        };
        let at = |ip: Option<&str>| decide(&key, Ask { scopes: &[], ip: ip.map(|s| s.parse().expect("ip")) }, now());
        assert_eq!(at(Some("10.1.2.3")), Code::Valid);
        assert_eq!(at(Some("2001:db8::1")), Code::Valid);
        assert_eq!(at(Some("11.0.0.1")), Code::IpNotAllowed);
        assert_eq!(at(None), Code::IpNotAllowed, "a key with an allowlist needs the caller's address");
    }

    #[test]
    fn a_rolled_key_works_until_its_grace_ends() {
        let key = KeyRecord { rolled: true, expires_at: Some(now() + Duration::hours(1)), ..record() };
        assert_eq!(decide(&key, Ask { scopes: &[], ip: None }, now()), Code::Valid);
        assert_eq!(decide(&key, Ask { scopes: &[], ip: None }, now() + Duration::hours(1)), Code::Expired);
    }
}
