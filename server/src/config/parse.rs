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

/// `text` or `json`.
pub fn log_format(key: &'static str, value: Value) -> Result<super::LogFormat, ConfigError> {
    match text(key, value)?.trim() {
        "text" => Ok(super::LogFormat::Text),
        "json" => Ok(super::LogFormat::Json),
        other => Err(invalid(key, format!("'{other}' is neither text nor json"))),
    }
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

/// Free text of 1 to `max` characters without control characters, trimmed.
pub fn short_text(key: &'static str, value: Value, max: usize) -> Result<String, ConfigError> {
    let raw = text(key, value)?;
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control) {
        return Err(invalid(key, format!("must be 1 to {max} characters, without control characters")));
    }
    Ok(trimmed.to_owned())
}

/// An absolute http(s) URL, for links people follow (https unless on this machine).
pub fn link_url(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let raw = text(key, value)?;
    let url = Url::parse(raw.trim())
        .map_err(|_| invalid(key, format!("'{raw}' is not an absolute URL like https://example.com/help")))?;
    let Some(host) = url.host_str() else {
        return Err(invalid(key, format!("'{raw}' has no host")));
    };
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if is_loopback_host(host) => Ok(url.to_string()),
        _ => Err(invalid(key, format!("'{raw}' must be an https:// URL (http only for localhost)"))),
    }
}

/// An OpenID Connect issuer: checked like [`link_url`] but kept exactly as written, since discovery compares
/// it with the provider's own statement character for character (a parser's added `/` would break that).
pub fn issuer_url(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let raw = text(key, value)?.trim().to_owned();
    link_url(key, Value::from(raw.clone()))?;
    Ok(raw)
}

/// Origins (`https://app.example.com`) that portal sessions may send people back to.
pub fn origin_list(key: &'static str, value: Value) -> Result<Vec<String>, ConfigError> {
    let mut origins: Vec<String> = Vec::new();
    for entry in list(key, value, "expected a list of origins, like [\"https://app.example.com\"]")? {
        let origin = link_url(key, Value::from(entry.clone()))?;
        let url = Url::parse(&origin).map_err(|_| invalid(key, format!("'{entry}' is not an origin")))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(key, format!("'{entry}': give only origins, like https://app.example.com (no path)")));
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// How long a portal link works: 10 s to 5 min.
pub fn portal_ttl(key: &'static str, value: Value) -> Result<chrono::Duration, ConfigError> {
    let ttl = duration(key, value)?;
    if ttl > app::domain::portal_sessions::MAX_LIFETIME || ttl < chrono::Duration::seconds(10) {
        return Err(invalid(key, "must be from 10s to 5m: a sign-in link must not work for long"));
    }
    Ok(ttl)
}

/// Scopes to ask an identity provider for, space- or comma-separated; `openid` is always among them.
pub fn oidc_scopes(key: &'static str, value: Value) -> Result<Vec<String>, ConfigError> {
    let raw = text(key, value)?;
    let mut scopes = vec!["openid".to_owned()];
    for scope in raw.split([' ', ',']).map(str::trim).filter(|scope| !scope.is_empty()) {
        if scope.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(invalid(key, format!("'{scope}' is not a scope")));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// The accent colour, `#rrggbb` or `#rgb`, refused unless white text on it (and it as text on white) meets
/// WCAG AA's 4.5:1.
pub fn accent_color(key: &'static str, value: Value) -> Result<super::brand::Accent, ConfigError> {
    let raw = text(key, value)?;
    super::brand::Accent::parse(raw.trim()).map_err(|reason| invalid(key, reason))
}

/// The product's logo: an https URL, or a PNG, SVG, JPEG, WebP or GIF file the server reads at start-up.
pub fn logo(key: &'static str, value: Value) -> Result<super::brand::Logo, ConfigError> {
    let raw = text(key, value)?;
    super::brand::Logo::load(raw.trim()).map_err(|reason| invalid(key, reason))
}

/// `LATCHKEY_SMTP_URL`.
pub fn smtp_url(key: &'static str, value: Value) -> Result<app::domain::mail::transport::SmtpServer, ConfigError> {
    let raw = text(key, value)?;
    app::domain::mail::transport::SmtpServer::parse(&raw)
        .map_err(|reason| invalid(key, format!("'{}': {reason}", redact_url(&raw))))
}

/// An address people can read and reply to: `name@example.com` or `Name <name@example.com>`.
pub fn mailbox(key: &'static str, value: Value) -> Result<String, ConfigError> {
    let raw = text(key, value)?;
    raw.parse::<lettre::message::Mailbox>()
        .map(|_| raw.trim().to_owned())
        .map_err(|err| invalid(key, format!("'{raw}' is not an address like Name <name@example.com>: {err}")))
}

/// 32 bytes, base64 (padded or not) or 64 hex digits.
pub fn encryption_key(key: &'static str, value: Value) -> Result<[u8; 32], ConfigError> {
    use base64::Engine as _;
    let raw = text(key, value)?;
    let raw = raw.trim();
    let bytes = if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(raw).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(raw))
            .ok()
    };
    bytes.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()).ok_or_else(|| {
        invalid(
            key,
            "must be 32 bytes as base64 (44 characters) or hex (64 digits); make one with openssl rand -base64 32",
        )
    })
}

/// An interval from `min` to `max` seconds.
pub fn bounded_interval(
    key: &'static str,
    value: Value,
    min: u64,
    max: u64,
) -> Result<std::time::Duration, ConfigError> {
    let interval = std_duration(key, value)?;
    if interval < std::time::Duration::from_secs(min) || interval > std::time::Duration::from_secs(max) {
        return Err(invalid(key, format!("must be from {min}s to {max}s")));
    }
    Ok(interval)
}

/// `revoke` or `notify`.
pub fn leak_policy(key: &'static str, value: Value) -> Result<app::domain::leaks::LeakPolicy, ConfigError> {
    use app::domain::leaks::LeakPolicy;
    match text(key, value)?.trim() {
        "revoke" => Ok(LeakPolicy::Revoke),
        "notify" => Ok(LeakPolicy::Notify),
        other => Err(invalid(key, format!("'{other}' is neither revoke nor notify"))),
    }
}

/// A file of GitHub's secret scanning keys, read and checked now.
pub fn github_keys_file(key: &'static str, value: Value) -> Result<super::GithubKeyFile, ConfigError> {
    let path = text(key, value)?;
    let json = std::fs::read_to_string(path.trim())
        .map_err(|err| invalid(key, format!("{} cannot be read: {err}", path.trim())))?;
    let keys = app::domain::leaks::github::parse_keys(&json).map_err(|err| invalid(key, err.0))?;
    if keys.is_empty() {
        return Err(invalid(key, format!("{} lists no keys", path.trim())));
    }
    Ok(super::GithubKeyFile(keys))
}
