//! The parsers of single settings: each takes the key (for its error) and the value as the file or the
//! environment gave it, and answers the typed value or an error naming the setting.

use super::{ConfigError, PublicOrigin, is_loopback_host, redact_url};
use app::domain::changes::MAX_POLL_INTERVAL;
use app::domain::jwt::MAX_TOKEN_TTL;
use app::domain::keys::format::KeyPrefix;
use app::domain::scopes::Scope;
use figment::value::Value;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// The error for `key`.
pub fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { env: super::declared::env_name(key), key, reason: reason.into() }
}

/// A value as text, whether the file or environment gave a string, a number or a boolean.
pub fn text(key: &'static str, value: Value) -> Result<String, ConfigError> {
    match value {
        Value::String(_, s) => Ok(s),
        Value::Num(_, n) => {
            Ok(n.to_u128().map(|n| n.to_string()).or_else(|| n.to_f64().map(|f| f.to_string())).unwrap_or_default())
        }
        Value::Bool(_, b) => Ok(b.to_string()),
        _ => Err(invalid(key, "expected a single value, not a table or list")),
    }
}

/// `sqlite:…` or `postgres://…`.
pub fn database_url(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let url = text(key, value)?;
    if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url)
    } else {
        Err(invalid(key, format!("'{}' is neither a sqlite: nor a postgres:// URL", redact_url(&url))))
    }
}

/// An address and port.
pub fn socket_addr(key: &'static str, value: Value) -> Result<SocketAddr, ConfigError> {
    let addr = text(key, value)?;
    addr.parse().map_err(|_| invalid(key, format!("'{addr}' is not an address like 127.0.0.1:3000 or [::]:8080")))
}

/// A tracing filter.
pub fn log_filter(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let log = text(key, value)?;
    tracing_subscriber::EnvFilter::try_new(&log)
        .map_err(|err| invalid(key, format!("'{log}' is not a tracing filter ({err}); try info or debug")))?;
    Ok(log)
}

/// A whole number from `min` to `max`.
pub fn number<T: TryFrom<u64>>(key: &'static str, value: Value, min: u64, max: u64) -> Result<T, ConfigError> {
    let raw = text(key, value)?;
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| invalid(key, format!("'{raw}' is not a number from {min} to {max}")))
}

/// true or false (also 1/0, on/off, yes/no).
pub fn boolean(key: &'static str, value: Value) -> Result<bool, ConfigError> {
    match text(key, value)?.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        other => Err(invalid(key, format!("'{other}' is not true or false"))),
    }
}

/// A key prefix.
pub fn prefix(key: &'static str, value: Value) -> Result<KeyPrefix, ConfigError> {
    let prefix = text(key, value)?;
    KeyPrefix::new(&prefix).map_err(|err| invalid(key, format!("'{prefix}': {err}")))
}

/// A duration like `90s`, `30m`, `12h` or `7d`, or a number of seconds; never zero.
pub fn duration(key: &'static str, value: Value) -> Result<chrono::Duration, ConfigError> {
    let raw = text(key, value)?;
    let parsed = raw
        .parse::<u64>()
        .map(std::time::Duration::from_secs)
        .or_else(|_| humantime::parse_duration(&raw))
        .map_err(|_| invalid(key, format!("'{raw}' is not a duration like 30m, 12h or 7d")))?;
    if parsed.is_zero() {
        return Err(invalid(key, "must be longer than zero"));
    }
    // Far beyond any sensible setting, and safe for date arithmetic from now.
    if parsed > std::time::Duration::from_secs(100 * 365 * 86_400) {
        return Err(invalid(key, format!("'{raw}' is too long; at most 100 years")));
    }
    chrono::Duration::from_std(parsed).map_err(|_| invalid(key, format!("'{raw}' is too long")))
}

/// Like [`duration`], as a std duration (for timers); accepts milliseconds such as `250ms`.
pub fn std_duration(key: &'static str, value: Value) -> Result<std::time::Duration, ConfigError> {
    duration(key, value)?.to_std().map_err(|_| invalid(key, "must be longer than zero"))
}

/// The change feed's poll interval: 50 ms to 1 s.
pub fn poll_interval(key: &'static str, value: Value) -> Result<std::time::Duration, ConfigError> {
    let interval = std_duration(key, value)?;
    if interval > MAX_POLL_INTERVAL || interval < std::time::Duration::from_millis(50) {
        return Err(invalid(
            key,
            "must be from 50ms to 1s: it bounds how long a revocation can take to reach every instance",
        ));
    }
    Ok(interval)
}

/// The access tokens' lifetime: 10 s to 15 min.
pub fn token_ttl(key: &'static str, value: Value) -> Result<chrono::Duration, ConfigError> {
    let ttl = duration(key, value)?;
    if ttl > MAX_TOKEN_TTL || ttl < chrono::Duration::seconds(10) {
        return Err(invalid(key, "must be from 10s to 15m: a token cannot be revoked, so it must not live long"));
    }
    Ok(ttl)
}

/// A `redis://` URL.
pub fn redis_url(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let url = text(key, value)?;
    if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://") {
        Ok(url)
    } else {
        Err(invalid(key, format!("'{}' is not a redis:// URL", redact_url(&url))))
    }
}

/// A list: a TOML array, or comma-separated text; blanks are dropped.
fn list(key: &'static str, value: Value, expected: &str) -> Result<Vec<String>, ConfigError> {
    let entries: Vec<String> = match value {
        Value::String(_, list) => list.split(',').map(str::to_owned).collect(),
        value => value.deserialize::<Vec<String>>().map_err(|_| invalid(key, expected.to_owned()))?,
    };
    Ok(entries.iter().map(|entry| entry.trim()).filter(|entry| !entry.is_empty()).map(str::to_owned).collect())
}

/// The audiences access tokens may be issued for.
pub fn audience_list(key: &'static str, value: Value) -> Result<Vec<String>, ConfigError> {
    let mut audiences: Vec<String> = Vec::new();
    for entry in list(key, value, "expected a list of audiences, like [\"https://api.example.com\"]")? {
        if entry.chars().count() > 256 || entry.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(key, format!("'{entry}' is not an audience: at most 256 characters, no spaces")));
        }
        if !audiences.contains(&entry) {
            audiences.push(entry);
        }
    }
    Ok(audiences)
}

/// Networks: CIDRs or single addresses.
pub fn networks(key: &'static str, value: Value) -> Result<Vec<IpNet>, ConfigError> {
    list(key, value, "expected a list of addresses or networks, like [\"10.0.0.0/8\", \"192.0.2.7\"]")?
        .iter()
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| invalid(key, format!("'{entry}' is not an address or a network like 10.0.0.0/8")))
        })
        .collect()
}

/// The scope catalogue: `[[scopes]]` tables in the file, or `name=description;name=description` in
/// `LATCHKEY_SCOPES`.
pub fn scope_list(key: &'static str, value: Value) -> Result<Vec<Scope>, ConfigError> {
    if let Value::String(_, list) = &value {
        return list
            .split(';')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((name, description)) => {
                    Ok(Scope { name: name.trim().to_owned(), description: description.trim().to_owned() })
                }
                None => Err(invalid(key, format!("'{entry}' should be name=description"))),
            })
            .collect();
    }
    value.deserialize::<Vec<Scope>>().map_err(|_| {
        invalid(key, "expected [[scopes]] tables with name and description, or name=description;... in the environment")
    })
}

/// The public origin: https, or http on localhost; no path.
pub fn public_url(key: &'static str, value: Value) -> Result<PublicOrigin, ConfigError> {
    let raw = text(key, value)?;
    let url =
        Url::parse(&raw).map_err(|_| invalid(key, format!("'{raw}' is not a URL like https://keys.example.com")))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(invalid(key, format!("scheme '{other}' is not http or https"))),
    };
    let Some(host) = url.host_str() else {
        return Err(invalid(key, format!("'{raw}' has no host")));
    };
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, "give only the origin, like https://keys.example.com (no path)"));
    }
    if !https && !is_loopback_host(host) {
        return Err(invalid(
            key,
            format!("plain http is allowed only for localhost; use https://{host} (TLS may end at a proxy)"),
        ));
    }
    Ok(PublicOrigin { origin: url.origin().ascii_serialization(), https })
}
