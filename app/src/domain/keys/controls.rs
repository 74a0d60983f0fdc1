//! The optional per-key controls a customer or a service sets: metadata returned on a valid verification,
//! an IP allowlist and a rate limit. Checked here once, stored as JSON text and integers.

use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Largest metadata object, serialised.
pub const MAX_META_BYTES: usize = 4096;
/// Most networks on one allowlist.
pub const MAX_ALLOWLIST_ENTRIES: usize = 100;
/// Most requests a rate limit may allow in one window.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;
/// Longest rate limit window: one day.
pub const MAX_WINDOW_SECONDS: u32 = 86_400;

/// A refused control: the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// `meta`, `ip_allowlist` or `ratelimit`.
    pub field: &'static str,
    /// What to change.
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> ControlError {
    ControlError { field, message: message.into() }
}

/// At most `limit` verifications per `window_seconds`; a refused verification consumes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window, in seconds.
    pub window_seconds: u32,
}

impl RateLimit {
    /// Checks the bounds: 1..=1,000,000 requests per 1 s..=1 day.
    pub fn new(limit: u32, window_seconds: u32) -> Result<Self, ControlError> {
        if !(1..=MAX_RATE_LIMIT).contains(&limit) {
            return Err(refuse("ratelimit", format!("Allow between 1 and {MAX_RATE_LIMIT} requests per window.")));
        }
        if !(1..=MAX_WINDOW_SECONDS).contains(&window_seconds) {
            return Err(refuse("ratelimit", "Use a window between 1 second and 1 day (86400 seconds)."));
        }
        Ok(Self { limit, window_seconds })
    }

    /// The stored form: `Ok(None)` when neither column is set, an error when the columns hold something
    /// that is not a rate limit (one set without the other, or out of bounds). Verification refuses such a
    /// key rather than treat it as unlimited.
    pub fn from_columns(limit: Option<i32>, window_seconds: Option<i32>) -> Result<Option<Self>, Unreadable> {
        match (limit, window_seconds) {
            (None, None) => Ok(None),
            (Some(limit), Some(window_seconds)) => {
                let limit = u32::try_from(limit).map_err(|_| Unreadable("the stored rate limit is negative"))?;
                let window = u32::try_from(window_seconds).map_err(|_| Unreadable("the stored window is negative"))?;
                Self::new(limit, window).map(Some).map_err(|_| Unreadable("the stored rate limit is out of bounds"))
            }
            _ => Err(Unreadable("only one of the rate limit's two columns is set")),
        }
    }

    /// The two stored columns.
    pub fn to_columns(limit: Option<Self>) -> (Option<i32>, Option<i32>) {
        match limit {
            // Both are at most 1,000,000, so they fit.
            Some(rate) => (i32::try_from(rate.limit).ok(), i32::try_from(rate.window_seconds).ok()),
            None => (None, None),
        }
    }
}

/// Checks metadata: a JSON object of at most 4 KiB. `None` or an empty object means no metadata.
pub fn check_meta(meta: Option<&Value>) -> Result<Option<String>, ControlError> {
    let Some(value) = meta else { return Ok(None) };
    let Value::Object(object) = value else {
        return Err(refuse("meta", "Metadata must be a JSON object, such as {\"plan\": \"pro\"}."));
    };
    if object.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(object).map_err(|_| refuse("meta", "Metadata must be valid JSON."))?;
    if text.len() > MAX_META_BYTES {
        return Err(refuse("meta", format!("Metadata may be at most {MAX_META_BYTES} bytes; this is {}.", text.len())));
    }
    Ok(Some(text))
}

/// Stored metadata as a JSON object.
pub fn read_meta(stored: Option<&str>) -> Option<Map<String, Value>> {
    serde_json::from_str(stored?).ok()
}

/// Checks an allowlist: IPv4 or IPv6 networks in CIDR form, or single addresses. Returns the networks in
/// canonical form (host bits cleared, duplicates dropped); an empty list means no allowlist.
pub fn check_allowlist(entries: &[String]) -> Result<Vec<IpNet>, ControlError> {
    if entries.len() > MAX_ALLOWLIST_ENTRIES {
        return Err(refuse("ip_allowlist", format!("Use at most {MAX_ALLOWLIST_ENTRIES} networks.")));
    }
    let mut networks: Vec<IpNet> = Vec::with_capacity(entries.len());
    for entry in entries.iter().map(|entry| entry.trim()).filter(|entry| !entry.is_empty()) {
        let network = entry
            .parse::<IpNet>()
            .map(|network| network.trunc())
            .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                refuse(
                    "ip_allowlist",
                    format!(
                        "'{entry}' is not an IP address or network; use forms like 203.0.113.0/24 or 2001:db8::/32."
                    ),
                )
            })?;
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    Ok(networks)
}

/// The stored form of an allowlist: a JSON array of CIDRs, or nothing.
pub fn allowlist_json(networks: &[IpNet]) -> Option<String> {
    if networks.is_empty() {
        return None;
    }
    serde_json::to_string(&networks.iter().map(ToString::to_string).collect::<Vec<_>>()).ok()
}

/// A stored control that no longer reads as one (a hand-edited row, a bad migration): why, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A stored allowlist; empty when none is stored. One entry that does not parse makes the whole list
/// unreadable: dropping it could leave an empty list, which means "anywhere".
pub fn read_allowlist(stored: Option<&str>) -> Result<Vec<IpNet>, Unreadable> {
    let Some(json) = stored else { return Ok(Vec::new()) };
    let entries: Vec<String> =
        serde_json::from_str(json).map_err(|_| Unreadable("the stored IP allowlist is not a JSON list of text"))?;
    entries
        .iter()
        .map(|entry| entry.parse().map_err(|_| Unreadable("an entry of the stored IP allowlist is not a network")))
        .collect()
}

/// The entries of a stored allowlist as text, for showing; what cannot be read is shown as stored.
pub fn allowlist_entries(stored: Option<&str>) -> Vec<String> {
    match read_allowlist(stored) {
        Ok(networks) => networks.iter().map(ToString::to_string).collect(),
        Err(_) => stored.map(|raw| vec![raw.to_owned()]).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_must_be_a_small_object() {
        assert_eq!(check_meta(Some(&json!({"plan": "pro"}))), Ok(Some("{\"plan\":\"pro\"}".into())));
        assert_eq!(check_meta(Some(&json!({}))), Ok(None));
        assert_eq!(check_meta(None), Ok(None));
        assert_eq!(check_meta(Some(&json!([1, 2]))).map_err(|e| e.field), Err("meta"));
        let big = json!({ "blob": "x".repeat(MAX_META_BYTES) });
        let refused = check_meta(Some(&big)).expect_err("over 4 KiB");
        assert!(refused.message.contains("4096"), "{}", refused.message);
    }

    #[test]
    fn allowlists_are_canonical_and_name_the_bad_entry() {
        let list = ["10.1.2.3/8", "2001:db8::1", " 10.0.0.0/8 ", ""].map(String::from);
        let networks = check_allowlist(&list).expect("valid");
        assert_eq!(allowlist_json(&networks).as_deref(), Some("[\"10.0.0.0/8\",\"2001:db8::1/128\"]"));
        assert_eq!(read_allowlist(allowlist_json(&networks).as_deref()), Ok(networks));
        let refused = check_allowlist(&["10.0.0.0/33".into()]).expect_err("bad prefix length");
        assert!(refused.message.contains("'10.0.0.0/33'"), "{}", refused.message);
        assert!(check_allowlist(&[]).expect("empty").is_empty());
    }

    #[test]
    fn rate_limits_have_bounds() {
        assert!(RateLimit::new(100, 60).is_ok());
        assert!(RateLimit::new(0, 60).is_err());
        assert!(RateLimit::new(10, 0).is_err());
        assert!(RateLimit::new(10, MAX_WINDOW_SECONDS + 1).is_err());
        let stored = RateLimit::to_columns(Some(RateLimit { limit: 5, window_seconds: 10 }));
        assert_eq!(RateLimit::from_columns(stored.0, stored.1), Ok(Some(RateLimit { limit: 5, window_seconds: 10 })));
        assert_eq!(RateLimit::from_columns(None, None), Ok(None));
    }

    #[test]
    fn stored_controls_that_do_not_parse_are_unreadable_not_absent() {
        assert!(read_allowlist(Some("[\"10.0.0.0/8\", \"not a network\"]")).is_err());
        assert!(read_allowlist(Some("[\"bogus\"]")).is_err());
        assert!(read_allowlist(Some("{}")).is_err());
        assert_eq!(read_allowlist(None), Ok(vec![]));
        assert!(RateLimit::from_columns(Some(0), Some(60)).is_err());
        assert!(RateLimit::from_columns(Some(-5), Some(60)).is_err());
        assert!(RateLimit::from_columns(Some(10), None).is_err());
        assert!(RateLimit::from_columns(Some(10), Some(MAX_WINDOW_SECONDS as i32 + 1)).is_err());
    }
}
