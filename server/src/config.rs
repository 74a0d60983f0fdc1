//! Settings: defaults, then the `--config` TOML file, then `LATCHKEY_*` environment variables. Every
//! setting is checked at start-up, and a bad one stops it with one line naming the setting.

use app::domain::changes::MAX_POLL_INTERVAL;
use app::domain::database::{DEFAULT_DATABASE_URL, PoolSettings};
use app::domain::jwt::{MAX_TOKEN_TTL, TokenPolicy};
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::{Scope, ScopeCatalogue};
use app::domain::sessions::SessionPolicy;
use app::domain::usage::Retention;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Value;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use url::Url;

/// Every setting, checked.
#[derive(Clone)]
pub struct Settings {
    /// Where the data lives.
    pub database_url: String,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The origin browsers use, when configured; otherwise the server is on loopback and trusts the
    /// Host header's loopback name.
    pub public_origin: Option<PublicOrigin>,
    /// The tracing filter.
    pub log: String,
    /// How long sessions last.
    pub sessions: SessionPolicy,
    /// Key prefix and limits.
    pub keys: KeyPolicy,
    /// The scopes keys may carry.
    pub scopes: ScopeCatalogue,
    /// The prefix of service tokens, distinct from the key prefix.
    pub service_token_prefix: KeyPrefix,
    /// How long hourly and daily usage buckets are kept.
    pub usage_retention: Retention,
    /// The database connection pool.
    pub pool: PoolSettings,
    /// Whether to listen for PostgreSQL notifications of key changes (off behind a pooler that drops them).
    pub database_listen: bool,
    /// How often the key change feed is read even without a notification.
    pub change_poll_interval: std::time::Duration,
    /// Redis, for rate limits shared by every instance; `None` keeps them per instance.
    pub redis_url: Option<String>,
    /// Issuer, audiences and lifetime of the access tokens `POST /v1/tokens` issues.
    pub tokens: TokenPolicy,
}

/// The external origin of the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub origin: String,
    /// Whether browsers reach the portal over https.
    pub https: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("public_origin", &self.public_origin)
            .field("log", &self.log)
            .field("sessions", &self.sessions)
            .field("keys", &self.keys)
            .field("scopes", &self.scopes)
            .field("service_token_prefix", &self.service_token_prefix)
            .field("usage_retention", &self.usage_retention)
            .field("pool", &self.pool)
            .field("database_listen", &self.database_listen)
            .field("change_poll_interval", &self.change_poll_interval)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl Settings {
    /// Whether cookies must be `Secure` (and `__Host-` prefixed).
    pub fn https(&self) -> bool {
        self.public_origin.as_ref().is_some_and(|origin| origin.https)
    }
}

/// A setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file could not be used.
    #[error("--config {path}: {reason}")]
    File {
        /// The file as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// One setting has a bad value.
    #[error("invalid setting {env} ({key} in the config file): {reason}")]
    Invalid {
        /// The environment variable's name.
        env: String,
        /// The key in the TOML file.
        key: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

const KEYS: [&str; 22] = [
    "token_ttl",
    "token_audiences",
    "database_max_connections",
    "database_connect_timeout",
    "database_acquire_timeout",
    "database_idle_timeout",
    "database_listen",
    "change_poll_interval",
    "redis_url",
    "usage_hourly_retention",
    "usage_daily_retention",
    "service_token_prefix",
    "database_url",
    "addr",
    "public_url",
    "log",
    "session_idle_timeout",
    "session_lifetime",
    "key_prefix",
    "max_keys_per_account",
    "max_key_lifetime",
    "scopes",
];

/// The settings as read, before checking. Values stay untyped so that every problem can be reported in
/// our own words with the setting's name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    database_url: Option<Value>,
    addr: Option<Value>,
    public_url: Option<Value>,
    log: Option<Value>,
    session_idle_timeout: Option<Value>,
    session_lifetime: Option<Value>,
    key_prefix: Option<Value>,
    max_keys_per_account: Option<Value>,
    max_key_lifetime: Option<Value>,
    scopes: Option<Value>,
    service_token_prefix: Option<Value>,
    usage_hourly_retention: Option<Value>,
    usage_daily_retention: Option<Value>,
    database_max_connections: Option<Value>,
    database_connect_timeout: Option<Value>,
    database_acquire_timeout: Option<Value>,
    database_idle_timeout: Option<Value>,
    database_listen: Option<Value>,
    change_poll_interval: Option<Value>,
    redis_url: Option<Value>,
    token_ttl: Option<Value>,
    token_audiences: Option<Value>,
}

impl Settings {
    /// Reads the settings from `config_file` (if any) and the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(ConfigError::File { path: path.display().to_string(), reason: "no such file".into() });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("LATCHKEY_").only(&KEYS));
        let raw: RawSettings = figment.extract().map_err(|err| match config_file {
            Some(path) => ConfigError::File { path: path.display().to_string(), reason: err.to_string() },
            None => ConfigError::Invalid { env: "LATCHKEY_*".into(), key: "", reason: err.to_string() },
        })?;
        Self::check(raw)
    }

    fn check(raw: RawSettings) -> Result<Self, ConfigError> {
        let database_url = text("database_url", raw.database_url)?.unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                format!("'{}' is neither a sqlite: nor a postgres:// URL", redact_url(&database_url)),
            ));
        }

        let addr = match text("addr", raw.addr)? {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(addr) => addr
                .parse()
                .map_err(|_| invalid("addr", format!("'{addr}' is not an address like 127.0.0.1:3000 or [::]:8080")))?,
        };

        let public_origin = text("public_url", raw.public_url)?.map(|url| parse_public_url(&url)).transpose()?;
        if public_origin.is_none() && !addr.ip().is_loopback() {
            return Err(invalid(
                "public_url",
                format!(
                    "required when LATCHKEY_ADDR ({addr}) is not a loopback address: set it to the https:// \
                     address people use to reach the portal"
                ),
            ));
        }

        let log = text("log", raw.log)?.unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log)
            .map_err(|err| invalid("log", format!("'{log}' is not a tracing filter ({err}); try info or debug")))?;

        let defaults = SessionPolicy::default();
        let sessions = SessionPolicy {
            idle_timeout: duration("session_idle_timeout", raw.session_idle_timeout)?.unwrap_or(defaults.idle_timeout),
            absolute_lifetime: duration("session_lifetime", raw.session_lifetime)?
                .unwrap_or(defaults.absolute_lifetime),
        };

        let key_defaults = KeyPolicy::default();
        let keys = KeyPolicy {
            prefix: match text("key_prefix", raw.key_prefix)? {
                None => key_defaults.prefix,
                Some(prefix) => {
                    KeyPrefix::new(&prefix).map_err(|err| invalid("key_prefix", format!("'{prefix}': {err}")))?
                }
            },
            max_keys_per_account: match text("max_keys_per_account", raw.max_keys_per_account)? {
                None => key_defaults.max_keys_per_account,
                Some(max) => max.parse::<u64>().ok().filter(|max| (1..=100_000).contains(max)).ok_or_else(|| {
                    invalid("max_keys_per_account", format!("'{max}' is not a number from 1 to 100000"))
                })?,
            },
            max_lifetime: duration("max_key_lifetime", raw.max_key_lifetime)?,
        };
        let scopes = match raw.scopes {
            None => ScopeCatalogue::example(),
            Some(value) => ScopeCatalogue::new(scope_list(value)?).map_err(|err| invalid("scopes", err.to_string()))?,
        };

        let service_token_prefix = match text("service_token_prefix", raw.service_token_prefix)? {
            None => KeyPrefix::new("lksvc").map_err(|err| invalid("service_token_prefix", err.to_string()))?,
            Some(prefix) => {
                KeyPrefix::new(&prefix).map_err(|err| invalid("service_token_prefix", format!("'{prefix}': {err}")))?
            }
        };
        if service_token_prefix == keys.prefix {
            return Err(invalid("service_token_prefix", "must differ from LATCHKEY_KEY_PREFIX"));
        }

        let retention_defaults = Retention::default();
        let hourly =
            duration("usage_hourly_retention", raw.usage_hourly_retention)?.unwrap_or(retention_defaults.hourly);
        let daily = duration("usage_daily_retention", raw.usage_daily_retention)?.unwrap_or(retention_defaults.daily);
        let usage_retention = Retention::new(hourly, daily).map_err(|reason| {
            let key = if reason.starts_with("hourly") { "usage_hourly_retention" } else { "usage_daily_retention" };
            invalid(key, reason)
        })?;

        let pool_defaults = PoolSettings::default();
        let pool = PoolSettings {
            max_connections: match text("database_max_connections", raw.database_max_connections)? {
                None => pool_defaults.max_connections,
                Some(max) => max.parse::<u32>().ok().filter(|max| (1..=1_000).contains(max)).ok_or_else(|| {
                    invalid("database_max_connections", format!("'{max}' is not a number from 1 to 1000"))
                })?,
            },
            connect_timeout: std_duration("database_connect_timeout", raw.database_connect_timeout)?
                .unwrap_or(pool_defaults.connect_timeout),
            acquire_timeout: std_duration("database_acquire_timeout", raw.database_acquire_timeout)?
                .unwrap_or(pool_defaults.acquire_timeout),
            idle_timeout: std_duration("database_idle_timeout", raw.database_idle_timeout)?
                .unwrap_or(pool_defaults.idle_timeout),
        };
        let database_listen = match raw.database_listen {
            None => true,
            Some(Value::Bool(_, listen)) => listen,
            Some(value) => match text("database_listen", Some(value))?.as_deref() {
                Some("true" | "1" | "on" | "yes") => true,
                Some("false" | "0" | "off" | "no") => false,
                Some(other) => return Err(invalid("database_listen", format!("'{other}' is not true or false"))),
                None => true,
            },
        };
        let change_poll_interval =
            std_duration("change_poll_interval", raw.change_poll_interval)?.unwrap_or(MAX_POLL_INTERVAL);
        if change_poll_interval > MAX_POLL_INTERVAL || change_poll_interval < std::time::Duration::from_millis(50) {
            return Err(invalid(
                "change_poll_interval",
                "must be from 50ms to 1s: it bounds how long a revocation can take to reach every instance",
            ));
        }
        let redis_url = text("redis_url", raw.redis_url)?;
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://"))
        {
            return Err(invalid("redis_url", format!("'{}' is not a redis:// URL", redact_url(url))));
        }

        let ttl = duration("token_ttl", raw.token_ttl)?.unwrap_or(MAX_TOKEN_TTL);
        if ttl > MAX_TOKEN_TTL || ttl < chrono::Duration::seconds(10) {
            return Err(invalid(
                "token_ttl",
                "must be from 10s to 15m: a token cannot be revoked, so it must not live long",
            ));
        }
        let issuer = public_origin.as_ref().map_or_else(|| format!("http://{addr}"), |o| o.origin.clone());
        let tokens = TokenPolicy { ttl, audiences: audience_list(raw.token_audiences)?, ..TokenPolicy::new(issuer) };

        Ok(Self {
            tokens,
            pool,
            database_listen,
            change_poll_interval,
            redis_url,
            database_url,
            addr,
            public_origin,
            log,
            sessions,
            keys,
            scopes,
            service_token_prefix,
            usage_retention,
        })
    }
}

fn env_name(key: &str) -> String {
    format!("LATCHKEY_{}", key.to_uppercase())
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { env: env_name(key), key, reason: reason.into() }
}

/// A value as text, whether the file or environment gave a string or a number.
fn text(key: &'static str, value: Option<Value>) -> Result<Option<String>, ConfigError> {
    match value {
        None => Ok(None),
        Some(Value::String(_, s)) => Ok(Some(s)),
        Some(Value::Num(_, n)) => Ok(n.to_u128().map(|n| n.to_string()).or_else(|| n.to_f64().map(|f| f.to_string()))),
        Some(_) => Err(invalid(key, "expected a single value, not a table, list or boolean")),
    }
}

/// A duration like `90s`, `30m`, `12h` or `7d`, or a number of seconds.
fn duration(key: &'static str, value: Option<Value>) -> Result<Option<chrono::Duration>, ConfigError> {
    let Some(raw) = text(key, value)? else { return Ok(None) };
    let parsed = raw
        .parse::<u64>()
        .map(std::time::Duration::from_secs)
        .or_else(|_| humantime::parse_duration(&raw))
        .map_err(|_| invalid(key, format!("'{raw}' is not a duration like 30m, 12h or 7d")))?;
    if parsed.is_zero() {
        return Err(invalid(key, "must be longer than zero"));
    }
    chrono::Duration::from_std(parsed).map(Some).map_err(|_| invalid(key, format!("'{raw}' is too long")))
}

/// Like [`duration`], as a std duration (for timers); accepts milliseconds such as `250ms`.
fn std_duration(key: &'static str, value: Option<Value>) -> Result<Option<std::time::Duration>, ConfigError> {
    Ok(duration(key, value)?.and_then(|d| d.to_std().ok()))
}

/// The audiences access tokens may be issued for: a TOML array, or a comma-separated list.
fn audience_list(value: Option<Value>) -> Result<Vec<String>, ConfigError> {
    let entries: Vec<String> = match value {
        None => return Ok(Vec::new()),
        Some(Value::String(_, list)) => list.split(',').map(str::to_owned).collect(),
        Some(value) => value.deserialize::<Vec<String>>().map_err(|_| {
            invalid("token_audiences", "expected a list of audiences, like [\"https://api.example.com\"]")
        })?,
    };
    let mut audiences: Vec<String> = Vec::new();
    for entry in entries.iter().map(|entry| entry.trim()).filter(|entry| !entry.is_empty()) {
        if entry.chars().count() > 256 || entry.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "token_audiences",
                format!("'{entry}' is not an audience: at most 256 characters, no spaces"),
            ));
        }
        if !audiences.iter().any(|seen| seen == entry) {
            audiences.push(entry.to_owned());
        }
    }
    Ok(audiences)
}

/// The scope catalogue: `[[scopes]]` tables in the file, or `name=description;name=description` in
/// `LATCHKEY_SCOPES`.
fn scope_list(value: Value) -> Result<Vec<Scope>, ConfigError> {
    if let Value::String(_, list) = &value {
        return list
            .split(';')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((name, description)) => {
                    Ok(Scope { name: name.trim().to_owned(), description: description.trim().to_owned() })
                }
                None => Err(invalid("scopes", format!("'{entry}' should be name=description"))),
            })
            .collect();
    }
    value.deserialize::<Vec<Scope>>().map_err(|_| {
        invalid(
            "scopes",
            "expected [[scopes]] tables with name and description, or name=description;... in the environment",
        )
    })
}

fn parse_public_url(raw: &str) -> Result<PublicOrigin, ConfigError> {
    let url = Url::parse(raw)
        .map_err(|_| invalid("public_url", format!("'{raw}' is not a URL like https://keys.example.com")))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(invalid("public_url", format!("scheme '{other}' is not http or https"))),
    };
    let Some(host) = url.host_str() else {
        return Err(invalid("public_url", format!("'{raw}' has no host")));
    };
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("public_url", "give only the origin, like https://keys.example.com (no path)"));
    }
    if !https && !is_loopback_host(host) {
        return Err(invalid(
            "public_url",
            format!("plain http is allowed only for localhost; use https://{host} (TLS may end at a proxy)"),
        ));
    }
    Ok(PublicOrigin { origin: url.origin().ascii_serialization(), https })
}

/// Whether `host` (a URL or Host-header host, without port) names this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings::default()
    }

    fn string(s: &str) -> Option<Value> {
        Some(Value::from(s.to_owned()))
    }

    #[test]
    fn no_settings_at_all_means_sqlite_on_localhost() {
        let settings = Settings::check(raw()).expect("defaults are valid");
        assert_eq!(settings.database_url, "sqlite://latchkey.db?mode=rwc");
        assert_eq!(settings.addr.to_string(), "127.0.0.1:3000");
        assert!(!settings.https());
        assert_eq!(settings.sessions.idle_timeout, chrono::Duration::hours(12));
        assert_eq!(settings.sessions.absolute_lifetime, chrono::Duration::days(7));
        assert_eq!(settings.pool.max_connections, 10);
        assert!(settings.database_listen);
        assert_eq!(settings.change_poll_interval, std::time::Duration::from_secs(1));
        assert_eq!(settings.redis_url, None);
    }

    #[test]
    fn pool_listening_polling_and_redis_can_be_set() {
        let settings = Settings::check(RawSettings {
            database_max_connections: Some(Value::from(40_u64)),
            database_connect_timeout: string("2s"),
            database_listen: string("false"),
            change_poll_interval: string("250ms"),
            redis_url: string("redis://:secret@cache:6379/0"),
            ..raw()
        })
        .expect("valid");
        assert_eq!(settings.pool.max_connections, 40);
        assert_eq!(settings.pool.connect_timeout, std::time::Duration::from_secs(2));
        assert!(!settings.database_listen);
        assert_eq!(settings.change_poll_interval, std::time::Duration::from_millis(250));
        assert!(!format!("{settings:?}").contains("secret"), "the Redis password stays out of Debug");
    }

    #[test]
    fn a_bad_setting_names_itself() {
        let err = Settings::check(RawSettings { addr: string("nonsense"), ..raw() }).expect_err("refused");
        assert!(err.to_string().starts_with("invalid setting LATCHKEY_ADDR"), "{err}");
        let err = Settings::check(RawSettings { log: string("info,[="), ..raw() }).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_LOG"), "{err}");
        let err = Settings::check(RawSettings { session_lifetime: string("soon"), ..raw() }).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_SESSION_LIFETIME"), "{err}");
        let err = Settings::check(RawSettings { database_url: string("mysql://x"), ..raw() }).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_DATABASE_URL"), "{err}");
        for (raw, env) in [
            (RawSettings { database_max_connections: string("0"), ..raw() }, "LATCHKEY_DATABASE_MAX_CONNECTIONS"),
            (RawSettings { database_acquire_timeout: string("soon"), ..raw() }, "LATCHKEY_DATABASE_ACQUIRE_TIMEOUT"),
            (RawSettings { database_listen: string("maybe"), ..raw() }, "LATCHKEY_DATABASE_LISTEN"),
            (RawSettings { change_poll_interval: string("5s"), ..raw() }, "LATCHKEY_CHANGE_POLL_INTERVAL"),
            (RawSettings { redis_url: string("http://cache:6379"), ..raw() }, "LATCHKEY_REDIS_URL"),
        ] {
            let err = Settings::check(raw).expect_err("refused");
            assert!(err.to_string().starts_with(&format!("invalid setting {env}")), "{err}");
        }
    }

    #[test]
    fn tokens_are_issued_by_the_public_url_for_configured_audiences_and_live_at_most_15_minutes() {
        let defaults = Settings::check(raw()).expect("defaults");
        assert_eq!(defaults.tokens.issuer, "http://127.0.0.1:3000", "the loopback address without a public URL");
        assert_eq!((defaults.tokens.ttl, defaults.tokens.audiences.len()), (MAX_TOKEN_TTL, 0));
        let set = Settings::check(RawSettings {
            public_url: string("https://keys.example.com"),
            token_ttl: string("5m"),
            token_audiences: string(" https://api.example.com, billing ,billing"),
            ..raw()
        })
        .expect("valid");
        assert_eq!(set.tokens.issuer, "https://keys.example.com");
        assert_eq!(set.tokens.ttl, chrono::Duration::minutes(5));
        assert_eq!(set.tokens.audiences, ["https://api.example.com", "billing"]);
        for (raw, why) in [
            (RawSettings { token_ttl: string("1h"), ..raw() }, "from 10s to 15m"),
            (RawSettings { token_ttl: string("5s"), ..raw() }, "from 10s to 15m"),
            (RawSettings { token_audiences: string("two words"), ..raw() }, "no spaces"),
            (RawSettings { token_audiences: Some(Value::from(3_u64)), ..raw() }, "a list of audiences"),
        ] {
            let err = Settings::check(raw).expect_err("refused");
            assert!(err.to_string().contains(why), "{err}");
            assert!(err.to_string().contains("LATCHKEY_TOKEN_"), "{err}");
        }
    }

    #[test]
    fn plain_http_is_only_for_localhost() {
        let err = Settings::check(RawSettings { public_url: string("http://keys.example.com"), ..raw() })
            .expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_PUBLIC_URL"), "{err}");
        let ok = Settings::check(RawSettings { public_url: string("http://localhost:3000"), ..raw() }).expect("ok");
        assert!(!ok.https());
        let ok = Settings::check(RawSettings { public_url: string("https://keys.example.com/"), ..raw() }).expect("ok");
        assert!(ok.https());
        assert_eq!(ok.public_origin.map(|o| o.origin), Some("https://keys.example.com".into()));
    }

    #[test]
    fn listening_beyond_loopback_needs_a_public_url() {
        let err = Settings::check(RawSettings { addr: string("0.0.0.0:3000"), ..raw() }).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn durations_take_units_or_seconds() {
        let settings = Settings::check(RawSettings {
            session_idle_timeout: Some(Value::from(90_u64)),
            session_lifetime: string("2d"),
            ..raw()
        })
        .expect("valid");
        assert_eq!(settings.sessions.idle_timeout, chrono::Duration::seconds(90));
        assert_eq!(settings.sessions.absolute_lifetime, chrono::Duration::days(2));
    }

    #[test]
    fn the_scope_catalogue_comes_from_the_file_or_the_environment() {
        let settings = Settings::check(raw()).expect("defaults");
        assert_eq!(settings.scopes, ScopeCatalogue::example());

        let from_env = Settings::check(RawSettings {
            scopes: string("orders:read=Read orders; orders:write = Change orders"),
            ..raw()
        })
        .expect("valid");
        let names: Vec<&str> = from_env.scopes.scopes().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["orders:read", "orders:write"]);

        let toml = "[[scopes]]\nname = \"billing:read\"\ndescription = \"Read invoices\"\n";
        let raw_file: RawSettings = Figment::from(Toml::string(toml)).extract().expect("toml");
        let from_file = Settings::check(raw_file).expect("valid");
        assert_eq!(from_file.scopes.scopes()[0].name, "billing:read");

        let err = Settings::check(RawSettings { scopes: string("Orders=Read"), ..raw() }).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_SCOPES"), "{err}");
    }

    #[test]
    fn usage_retention_defaults_and_refuses_periods_the_charts_cannot_live_with() {
        let settings = Settings::check(raw()).expect("defaults");
        assert_eq!(settings.usage_retention, Retention::default());
        let custom = Settings::check(RawSettings {
            usage_hourly_retention: string("3d"),
            usage_daily_retention: string("90d"),
            ..raw()
        })
        .expect("valid");
        assert_eq!(custom.usage_retention.hourly, chrono::Duration::days(3));
        assert_eq!(custom.usage_retention.daily, chrono::Duration::days(90));
        let err = Settings::check(RawSettings { usage_hourly_retention: string("12h"), ..raw() }).expect_err("short");
        assert!(err.to_string().contains("LATCHKEY_USAGE_HOURLY_RETENTION"), "{err}");
        let err = Settings::check(RawSettings { usage_daily_retention: string("7d"), ..raw() }).expect_err("short");
        assert!(err.to_string().contains("LATCHKEY_USAGE_DAILY_RETENTION"), "{err}");
        let err = Settings::check(RawSettings { usage_daily_retention: string("forever"), ..raw() }).expect_err("bad");
        assert!(err.to_string().contains("LATCHKEY_USAGE_DAILY_RETENTION"), "{err}");
    }

    #[test]
    fn key_settings_are_checked() {
        let settings = Settings::check(RawSettings {
            key_prefix: string("acme"),
            max_keys_per_account: Some(Value::from(5_u64)),
            max_key_lifetime: string("90d"),
            ..raw()
        })
        .expect("valid");
        assert_eq!(settings.keys.prefix.as_str(), "acme");
        assert_eq!(settings.keys.max_keys_per_account, 5);
        assert_eq!(settings.keys.max_lifetime, Some(chrono::Duration::days(90)));
        for bad in [
            RawSettings { key_prefix: string("ACME"), ..raw() },
            RawSettings { max_keys_per_account: string("0"), ..raw() },
        ] {
            let err = Settings::check(bad).expect_err("refused");
            assert!(
                err.to_string().contains("LATCHKEY_KEY_PREFIX")
                    || err.to_string().contains("LATCHKEY_MAX_KEYS_PER_ACCOUNT"),
                "{err}"
            );
        }
    }

    #[test]
    fn database_passwords_never_print() {
        let settings = Settings::check(RawSettings { database_url: string("postgres://lk:s3cret@db/lk"), ..raw() })
            .expect("valid");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
