//! Settings: defaults, then the `--config` TOML file, then `LATCHKEY_*` environment variables. Every
//! setting is declared once in [`declared`] and checked at start-up; a bad one stops it with one line
//! naming the setting.

pub mod brand;
pub mod declared;
mod parse;

use app::domain::database::PoolSettings;
use app::domain::jwt::TokenPolicy;
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::ScopeCatalogue;
use app::domain::sealing::Sealer;
use app::domain::sessions::SessionPolicy;
use app::domain::usage::Retention;
use declared::Values;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Value;
use ipnet::IpNet;
use parse::invalid;
use std::collections::BTreeMap;
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
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
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
    /// Proxies whose forwarded-for headers name the real client.
    pub trusted_proxies: Vec<IpNet>,
    /// Sign-ups allowed from one client address per hour.
    pub sign_ups_per_hour: u32,
    /// 401 answers from `/v1` one client address may get in a minute before it is refused.
    pub unauthorized_per_minute: u32,
    /// Product name, logo, links and sign-in methods, as pages show them.
    pub site: app::api::site::Site,
    /// How portal links behave.
    pub portal: app::domain::portal_sessions::PortalPolicy,
    /// The accent colour.
    pub accent: Option<brand::Accent>,
    /// The logo.
    pub logo: Option<brand::Logo>,
    /// The OpenID Connect identity provider.
    pub oidc: Option<crate::sign_in::oidc::OidcSettings>,
    /// The SMTP server; `None` writes mail to the outbox directory.
    pub smtp: Option<app::domain::mail::transport::SmtpServer>,
    /// The From: of every message.
    pub mail_from: String,
    /// Two-factor requirements, address verification, and the key that seals TOTP secrets.
    pub account_security: app::domain::accounts::security::AccountSecurity,
    /// How often key expiry notices are looked for.
    pub notice_check_interval: std::time::Duration,
    /// Whether customers' webhook URLs may reach private addresses.
    pub webhook_targets: app::domain::webhooks::TargetPolicy,
    /// What a leak report does to a key.
    pub leak_policy: app::domain::leaks::LeakPolicy,
    /// GitHub's secret scanning keys from the operator's file.
    pub github_keys: std::collections::HashMap<String, p256::ecdsa::VerifyingKey>,
    /// Whether GitHub's keys are fetched from api.github.com.
    pub github_keys_fetch: bool,
}

/// GitHub's secret scanning keys read from the operator's file.
#[derive(Debug, Clone)]
pub struct GithubKeyFile(pub std::collections::HashMap<String, p256::ecdsa::VerifyingKey>);

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
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
            .field("log_format", &self.log_format)
            .field("metrics_addr", &self.metrics_addr)
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
            .field("trusted_proxies", &self.trusted_proxies)
            .field("sign_ups_per_hour", &self.sign_ups_per_hour)
            .field("unauthorized_per_minute", &self.unauthorized_per_minute)
            .field("site", &self.site)
            .field("portal", &self.portal)
            .field("accent", &self.accent)
            .field("logo", &self.logo)
            .field("oidc", &self.oidc)
            .field("smtp", &self.smtp)
            .field("mail_from", &self.mail_from)
            .field("account_security", &self.account_security)
            .field("notice_check_interval", &self.notice_check_interval)
            .field("webhook_targets", &self.webhook_targets)
            .field("leak_policy", &self.leak_policy)
            .field("github_keys", &self.github_keys.keys().collect::<Vec<_>>())
            .field("github_keys_fetch", &self.github_keys_fetch)
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
    /// The file names a setting that does not exist (a typo would otherwise be ignored).
    #[error("unknown setting '{key}' in the config file; see latchkey --help for the settings")]
    Unknown {
        /// The key as written.
        key: String,
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
        figment = figment.merge(Env::prefixed("LATCHKEY_").only(&declared::keys()));
        let map: BTreeMap<String, Value> = figment.extract().map_err(|err| match config_file {
            Some(path) => ConfigError::File { path: path.display().to_string(), reason: err.to_string() },
            None => ConfigError::Invalid { env: "LATCHKEY_*".into(), key: "", reason: err.to_string() },
        })?;
        Self::from_map(map)
    }

    /// The settings from keys and values as the file and the environment give them.
    pub fn from_map(mut map: BTreeMap<String, Value>) -> Result<Self, ConfigError> {
        let values = Values::read(&mut map)?;
        if let Some(key) = map.into_keys().next() {
            return Err(ConfigError::Unknown { key });
        }
        Self::check(values)
    }

    /// The checks that involve several settings, and the policies built from them.
    fn check(values: Values) -> Result<Self, ConfigError> {
        let oidc = oidc_settings(&values)?;
        let addr = values.addr;
        let public_origin = values.public_url;
        if public_origin.is_none() && !addr.ip().is_loopback() {
            return Err(invalid(
                "public_url",
                format!(
                    "required when LATCHKEY_ADDR ({addr}) is not a loopback address: set it to the https:// \
                     address people use to reach the portal"
                ),
            ));
        }
        if let Some(metrics) = values.metrics_addr
            && (metrics == addr
                || (metrics.port() == addr.port() && (metrics.ip().is_unspecified() || addr.ip().is_unspecified())))
        {
            return Err(invalid(
                "metrics_addr",
                format!(
                    "{metrics} is where the portal listens (LATCHKEY_ADDR {addr}): give metrics a port of their own"
                ),
            ));
        }
        let sessions =
            SessionPolicy { idle_timeout: values.session_idle_timeout, absolute_lifetime: values.session_lifetime };
        let keys = KeyPolicy {
            prefix: values.key_prefix,
            max_keys_per_organisation: values.max_keys_per_account,
            max_lifetime: values.max_key_lifetime,
        };
        let scopes = match values.scopes {
            None => ScopeCatalogue::example(),
            Some(list) => ScopeCatalogue::new(list).map_err(|err| invalid("scopes", err.to_string()))?,
        };
        if values.service_token_prefix == keys.prefix {
            return Err(invalid("service_token_prefix", "must differ from LATCHKEY_KEY_PREFIX"));
        }
        let usage_retention =
            Retention::new(values.usage_hourly_retention, values.usage_daily_retention).map_err(|reason| {
                let key = if reason.starts_with("hourly") { "usage_hourly_retention" } else { "usage_daily_retention" };
                invalid(key, reason)
            })?;
        let pool = PoolSettings {
            max_connections: values.database_max_connections,
            connect_timeout: values.database_connect_timeout,
            acquire_timeout: values.database_acquire_timeout,
            idle_timeout: values.database_idle_timeout,
        };
        let issuer = public_origin.as_ref().map_or_else(|| format!("http://{addr}"), |o| o.origin.clone());
        let tokens =
            TokenPolicy { ttl: values.token_ttl, audiences: values.token_audiences, ..TokenPolicy::new(issuer) };
        let portal = app::domain::portal_sessions::PortalPolicy {
            lifetime: values.portal_session_ttl,
            return_origins: values.portal_return_origins.clone(),
        };
        let site = app::api::site::Site {
            branded: values.product_name.is_some() || values.product_logo.is_some() || values.accent_color.is_some(),
            product_named: values.product_name.is_some(),
            product_name: values.product_name.clone().unwrap_or_else(|| "Latchkey".to_owned()),
            logo_url: values.product_logo.as_ref().map(brand::Logo::src),
            support_url: values.support_url.clone(),
            docs_url: values.docs_url.clone(),
            password_sign_in: values.password_sign_in,
            identity_provider: oidc.as_ref().map(|oidc| oidc.name.clone()),
            return_home: portal.fallback_return_url(),
        };
        if values.smtp_url.is_some() && values.mail_from.is_none() {
            return Err(invalid(
                "mail_from",
                "is required with LATCHKEY_SMTP_URL: the address your messages come from",
            ));
        }
        let mail_from = values.mail_from.clone().unwrap_or_else(|| {
            let host = public_origin
                .as_ref()
                .and_then(|o| Url::parse(&o.origin).ok())
                .and_then(|url| url.host_str().map(str::to_owned))
                .filter(|host| host.contains('.') && host.parse::<IpAddr>().is_err())
                .unwrap_or_else(|| "localhost".to_owned());
            let name: String = site.product_name.chars().filter(|c| !matches!(c, '"' | '<' | '>' | '\\')).collect();
            format!("\"{name}\" <noreply@{host}>")
        });
        let account_security = app::domain::accounts::security::AccountSecurity {
            require_two_factor: values.require_two_factor,
            unverified_may_create_keys: values.unverified_may_create_keys,
            sealer: values.encryption_key.as_ref().map_or_else(Sealer::without_key, Sealer::with_key),
            secure_cookies: public_origin.as_ref().is_some_and(|origin| origin.https),
        };
        Ok(Self {
            smtp: values.smtp_url,
            mail_from,
            account_security,
            notice_check_interval: values.notice_check_interval,
            webhook_targets: app::domain::webhooks::TargetPolicy { allow_private: values.webhooks_allow_private },
            leak_policy: values.leak_policy,
            github_keys: values.github_keys_file.map(|file| file.0).unwrap_or_default(),
            github_keys_fetch: values.github_keys_fetch,
            tokens,
            pool,
            database_listen: values.database_listen,
            change_poll_interval: values.change_poll_interval,
            redis_url: values.redis_url,
            database_url: values.database_url,
            addr,
            public_origin,
            log: values.log,
            log_format: values.log_format,
            metrics_addr: values.metrics_addr,
            sessions,
            keys,
            scopes,
            service_token_prefix: values.service_token_prefix,
            usage_retention,
            trusted_proxies: values.trusted_proxies,
            sign_ups_per_hour: values.sign_ups_per_hour,
            unauthorized_per_minute: values.unauthorized_per_minute,
            site,
            portal,
            accent: values.accent_color,
            logo: values.product_logo,
            oidc,
        })
    }
}

/// The identity provider's settings: all of issuer and client id, or none of the OpenID Connect settings.
fn oidc_settings(values: &Values) -> Result<Option<crate::sign_in::oidc::OidcSettings>, ConfigError> {
    let Some(issuer) = values.oidc_issuer.clone() else {
        for (key, set) in [
            ("oidc_client_id", values.oidc_client_id.is_some()),
            ("oidc_client_secret", values.oidc_client_secret.is_some()),
            ("oidc_organisation_claim", values.oidc_organisation_claim.is_some()),
            ("oidc_role_claim", values.oidc_role_claim.is_some()),
        ] {
            if set {
                return Err(invalid(key, "is set, but LATCHKEY_OIDC_ISSUER is not"));
            }
        }
        return Ok(None);
    };
    let Some(client_id) = values.oidc_client_id.clone() else {
        return Err(invalid("oidc_client_id", "is required with LATCHKEY_OIDC_ISSUER"));
    };
    if values.oidc_role_claim.is_some() && values.oidc_organisation_claim.is_none() {
        return Err(invalid("oidc_role_claim", "needs LATCHKEY_OIDC_ORGANISATION_CLAIM: a role is a role somewhere"));
    }
    let name = values.oidc_name.clone().unwrap_or_else(|| {
        Url::parse(&issuer).ok().and_then(|url| url.host_str().map(str::to_owned)).unwrap_or_else(|| issuer.clone())
    });
    Ok(Some(crate::sign_in::oidc::OidcSettings {
        issuer,
        client_id,
        client_secret: values.oidc_client_secret.clone(),
        scopes: values.oidc_scopes.clone(),
        name,
        organisation_claim: values.oidc_organisation_claim.clone(),
        role_claim: values.oidc_role_claim.clone(),
    }))
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
    use app::domain::jwt::MAX_TOKEN_TTL;

    /// The settings from these keys and values, as if from the file or the environment.
    fn from_pairs(pairs: &[(&str, Option<Value>)]) -> Result<Settings, ConfigError> {
        Settings::from_map(pairs.iter().filter_map(|(k, v)| Some(((*k).to_owned(), v.clone()?))).collect())
    }

    fn string(s: &str) -> Option<Value> {
        Some(Value::from(s.to_owned()))
    }

    #[test]
    fn no_settings_at_all_means_sqlite_on_localhost() {
        let settings = from_pairs(&[]).expect("defaults are valid");
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
        let settings = from_pairs(&[
            ("database_max_connections", Some(Value::from(40_u64))),
            ("database_connect_timeout", string("2s")),
            ("database_listen", string("false")),
            ("change_poll_interval", string("250ms")),
            ("redis_url", string("redis://:secret@cache:6379/0")),
        ])
        .expect("valid");
        assert_eq!(settings.pool.max_connections, 40);
        assert_eq!(settings.pool.connect_timeout, std::time::Duration::from_secs(2));
        assert!(!settings.database_listen);
        assert_eq!(settings.change_poll_interval, std::time::Duration::from_millis(250));
        assert!(!format!("{settings:?}").contains("secret"), "the Redis password stays out of Debug");
    }

    #[test]
    fn metrics_need_a_port_of_their_own_and_logs_a_known_format() {
        let settings =
            from_pairs(&[("metrics_addr", string("127.0.0.1:9100")), ("log_format", string("json"))]).expect("valid");
        assert_eq!(settings.metrics_addr, Some("127.0.0.1:9100".parse().expect("address")));
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(from_pairs(&[]).expect("defaults").metrics_addr, None, "metrics are off unless asked for");
        let err = from_pairs(&[("metrics_addr", string("127.0.0.1:3000"))]).expect_err("the portal's own port");
        assert!(err.to_string().contains("LATCHKEY_METRICS_ADDR"), "{err}");
        let err = from_pairs(&[("metrics_addr", string("localhost"))]).expect_err("no port");
        assert!(err.to_string().contains("LATCHKEY_METRICS_ADDR"), "{err}");
        let err = from_pairs(&[("log_format", string("xml"))]).expect_err("unknown format");
        assert!(err.to_string().contains("neither text nor json"), "{err}");
    }

    #[test]
    fn a_bad_setting_names_itself() {
        let err = from_pairs(&[("addr", string("nonsense"))]).expect_err("refused");
        assert!(err.to_string().starts_with("invalid setting LATCHKEY_ADDR"), "{err}");
        let err = from_pairs(&[("log", string("info,[="))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_LOG"), "{err}");
        let err = from_pairs(&[("session_lifetime", string("soon"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_SESSION_LIFETIME"), "{err}");
        let err = from_pairs(&[("database_url", string("mysql://x"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_DATABASE_URL"), "{err}");
        for (raw, env) in [
            (&[("database_max_connections", string("0"))], "LATCHKEY_DATABASE_MAX_CONNECTIONS"),
            (&[("database_acquire_timeout", string("soon"))], "LATCHKEY_DATABASE_ACQUIRE_TIMEOUT"),
            (&[("database_listen", string("maybe"))], "LATCHKEY_DATABASE_LISTEN"),
            (&[("change_poll_interval", string("5s"))], "LATCHKEY_CHANGE_POLL_INTERVAL"),
            (&[("redis_url", string("http://cache:6379"))], "LATCHKEY_REDIS_URL"),
        ] {
            let err = from_pairs(raw).expect_err("refused");
            assert!(err.to_string().starts_with(&format!("invalid setting {env}")), "{err}");
        }
    }

    #[test]
    fn tokens_are_issued_by_the_public_url_for_configured_audiences_and_live_at_most_15_minutes() {
        let defaults = from_pairs(&[]).expect("defaults");
        assert_eq!(defaults.tokens.issuer, "http://127.0.0.1:3000", "the loopback address without a public URL");
        assert_eq!((defaults.tokens.ttl, defaults.tokens.audiences.len()), (MAX_TOKEN_TTL, 0));
        let set = from_pairs(&[
            ("public_url", string("https://keys.example.com")),
            ("token_ttl", string("5m")),
            ("token_audiences", string(" https://api.example.com, billing ,billing")),
        ])
        .expect("valid");
        assert_eq!(set.tokens.issuer, "https://keys.example.com");
        assert_eq!(set.tokens.ttl, chrono::Duration::minutes(5));
        assert_eq!(set.tokens.audiences, ["https://api.example.com", "billing"]);
        for (raw, why) in [
            (&[("token_ttl", string("1h"))], "from 10s to 15m"),
            (&[("token_ttl", string("5s"))], "from 10s to 15m"),
            (&[("token_audiences", string("two words"))], "no spaces"),
            (&[("token_audiences", Some(Value::from(3_u64)))], "a list of audiences"),
        ] {
            let err = from_pairs(raw).expect_err("refused");
            assert!(err.to_string().contains(why), "{err}");
            assert!(err.to_string().contains("LATCHKEY_TOKEN_"), "{err}");
        }
    }

    #[test]
    fn plain_http_is_only_for_localhost() {
        let err = from_pairs(&[("public_url", string("http://keys.example.com"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_PUBLIC_URL"), "{err}");
        let ok = from_pairs(&[("public_url", string("http://localhost:3000"))]).expect("ok");
        assert!(!ok.https());
        let ok = from_pairs(&[("public_url", string("https://keys.example.com/"))]).expect("ok");
        assert!(ok.https());
        assert_eq!(ok.public_origin.map(|o| o.origin), Some("https://keys.example.com".into()));
    }

    #[test]
    fn listening_beyond_loopback_needs_a_public_url() {
        let err = from_pairs(&[("addr", string("0.0.0.0:3000"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn durations_take_units_or_seconds() {
        let settings =
            from_pairs(&[("session_idle_timeout", Some(Value::from(90_u64))), ("session_lifetime", string("2d"))])
                .expect("valid");
        assert_eq!(settings.sessions.idle_timeout, chrono::Duration::seconds(90));
        assert_eq!(settings.sessions.absolute_lifetime, chrono::Duration::days(2));
    }

    #[test]
    fn the_scope_catalogue_comes_from_the_file_or_the_environment() {
        let settings = from_pairs(&[]).expect("defaults");
        assert_eq!(settings.scopes, ScopeCatalogue::example());

        let from_env =
            from_pairs(&[("scopes", string("orders:read=Read orders; orders:write = Change orders"))]).expect("valid");
        let names: Vec<&str> = from_env.scopes.scopes().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["orders:read", "orders:write"]);

        let toml = "[[scopes]]\nname = \"billing:read\"\ndescription = \"Read invoices\"\n";
        let raw_file: BTreeMap<String, Value> = Figment::from(Toml::string(toml)).extract().expect("toml");
        let from_file = Settings::from_map(raw_file).expect("valid");
        assert_eq!(from_file.scopes.scopes()[0].name, "billing:read");

        let err = from_pairs(&[("scopes", string("Orders=Read"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_SCOPES"), "{err}");
    }

    #[test]
    fn usage_retention_defaults_and_refuses_periods_the_charts_cannot_live_with() {
        let settings = from_pairs(&[]).expect("defaults");
        assert_eq!(settings.usage_retention, Retention::default());
        let custom = from_pairs(&[("usage_hourly_retention", string("3d")), ("usage_daily_retention", string("90d"))])
            .expect("valid");
        assert_eq!(custom.usage_retention.hourly, chrono::Duration::days(3));
        assert_eq!(custom.usage_retention.daily, chrono::Duration::days(90));
        let err = from_pairs(&[("usage_hourly_retention", string("12h"))]).expect_err("short");
        assert!(err.to_string().contains("LATCHKEY_USAGE_HOURLY_RETENTION"), "{err}");
        let err = from_pairs(&[("usage_daily_retention", string("7d"))]).expect_err("short");
        assert!(err.to_string().contains("LATCHKEY_USAGE_DAILY_RETENTION"), "{err}");
        let err = from_pairs(&[("usage_daily_retention", string("forever"))]).expect_err("bad");
        assert!(err.to_string().contains("LATCHKEY_USAGE_DAILY_RETENTION"), "{err}");
    }

    #[test]
    fn key_settings_are_checked() {
        let settings = from_pairs(&[
            ("key_prefix", string("acme")),
            ("max_keys_per_account", Some(Value::from(5_u64))),
            ("max_key_lifetime", string("90d")),
        ])
        .expect("valid");
        assert_eq!(settings.keys.prefix.as_str(), "acme");
        assert_eq!(settings.keys.max_keys_per_organisation, 5);
        assert_eq!(settings.keys.max_lifetime, Some(chrono::Duration::days(90)));
        for bad in [&[("key_prefix", string("ACME"))], &[("max_keys_per_account", string("0"))]] {
            let err = from_pairs(bad).expect_err("refused");
            assert!(
                err.to_string().contains("LATCHKEY_KEY_PREFIX")
                    || err.to_string().contains("LATCHKEY_MAX_KEYS_PER_ACCOUNT"),
                "{err}"
            );
        }
    }

    #[test]
    fn database_passwords_never_print() {
        let settings = from_pairs(&[("database_url", string("postgres://lk:s3cret@db/lk"))]).expect("valid");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn the_readme_settings_table_lists_every_declared_setting_with_its_key_and_default() {
        let readme = include_str!("../../../README.md");
        let rows: Vec<Vec<String>> = readme
            .lines()
            .filter(|line| line.starts_with("| `LATCHKEY_"))
            .map(|line| line.split(" | ").take(3).map(|cell| cell.trim_matches(['|', ' ', '`']).to_owned()).collect())
            .collect();
        let declared: Vec<Vec<String>> = declared::DECLARED
            .iter()
            .map(|setting| vec![setting.env(), setting.key.to_owned(), setting.default.to_owned()])
            .collect();
        assert_eq!(rows, declared, "README's settings table (variable | key | default) and the declarations differ");
    }

    #[test]
    fn every_declared_default_parses_and_help_lists_every_setting() {
        let defaults = from_pairs(&[]).expect("defaults are valid");
        assert_eq!(defaults.sessions, SessionPolicy::default());
        assert_eq!(defaults.keys, KeyPolicy::default());
        assert_eq!(defaults.usage_retention, Retention::default());
        assert_eq!(defaults.pool, PoolSettings::default());
        assert_eq!((defaults.trusted_proxies.len(), defaults.sign_ups_per_hour), (0, 10));
        assert_eq!(defaults.unauthorized_per_minute, 30);
        let help = declared::help_text();
        for setting in declared::DECLARED {
            assert!(help.contains(&setting.env()), "--help lacks {}", setting.env());
        }
    }

    #[test]
    fn the_provider_settings_brand_the_site_and_refuse_what_cannot_work() {
        let defaults = from_pairs(&[]).expect("defaults");
        assert_eq!(defaults.site, app::api::site::Site::default(), "Latchkey's own look and passwords");
        assert!(defaults.oidc.is_none() && defaults.portal.return_origins.is_empty());

        let set = from_pairs(&[
            ("product_name", string("Acme Cloud")),
            ("accent_color", string("#0f766e")),
            ("portal_return_origins", string("https://app.example.com, http://localhost:8080")),
            ("portal_session_ttl", string("2m")),
            ("password_sign_in", string("false")),
            ("oidc_issuer", string("https://login.example.com")),
            ("oidc_client_id", string("latchkey")),
            ("oidc_client_secret", string("s3cret-client")),
        ])
        .expect("valid");
        assert_eq!(
            (set.site.product_name.as_str(), set.site.branded, set.site.password_sign_in),
            ("Acme Cloud", true, false)
        );
        assert_eq!(set.portal.return_origins, ["https://app.example.com", "http://localhost:8080"]);
        assert_eq!(set.portal.lifetime, chrono::Duration::minutes(2));
        assert_eq!(set.site.identity_provider.as_deref(), Some("login.example.com"), "named after the issuer's host");
        let oidc = set.oidc.as_ref().expect("oidc");
        assert_eq!(
            (oidc.issuer.as_str(), oidc.scopes.join(" ")),
            ("https://login.example.com", "openid email profile".to_owned())
        );
        assert!(!format!("{set:?}").contains("s3cret-client"), "the client secret stays out of Debug");

        for (pairs, env, why) in [
            (vec![("accent_color", string("#ffcc00"))], "LATCHKEY_ACCENT_COLOR", "4.5:1"),
            (
                vec![("portal_return_origins", string("http://app.example.com"))],
                "LATCHKEY_PORTAL_RETURN_ORIGINS",
                "https",
            ),
            (
                vec![("portal_return_origins", string("https://app.example.com/path"))],
                "LATCHKEY_PORTAL_RETURN_ORIGINS",
                "origins",
            ),
            (vec![("portal_session_ttl", string("1h"))], "LATCHKEY_PORTAL_SESSION_TTL", "10s to 5m"),
            (vec![("oidc_issuer", string("https://login.example.com"))], "LATCHKEY_OIDC_CLIENT_ID", "required"),
            (vec![("oidc_client_id", string("latchkey"))], "LATCHKEY_OIDC_CLIENT_ID", "LATCHKEY_OIDC_ISSUER"),
            (vec![("product_logo", string("/no/such/logo.svg"))], "LATCHKEY_PRODUCT_LOGO", "cannot read"),
            (vec![("support_url", string("ftp://acme.example"))], "LATCHKEY_SUPPORT_URL", "https"),
            (
                vec![
                    ("oidc_issuer", string("https://login.example.com")),
                    ("oidc_client_id", string("latchkey")),
                    ("oidc_role_claim", string("role")),
                ],
                "LATCHKEY_OIDC_ROLE_CLAIM",
                "ORGANISATION_CLAIM",
            ),
        ] {
            let err = from_pairs(&pairs).expect_err(env);
            assert!(err.to_string().contains(env) && err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn an_unknown_setting_in_the_file_is_refused() {
        let err = from_pairs(&[("adress", string("127.0.0.1:3000"))]).expect_err("refused");
        assert!(err.to_string().contains("unknown setting 'adress'"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let set = from_pairs(&[("trusted_proxies", string("10.0.0.0/8, 192.0.2.7 ,::1"))]).expect("valid");
        let shown: Vec<String> = set.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]);
        let err = from_pairs(&[("trusted_proxies", string("10.0.0.0/8,proxy.internal"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_TRUSTED_PROXIES") && err.to_string().contains("proxy.internal"));
        let err = from_pairs(&[("sign_ups_per_hour", string("0"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_SIGN_UPS_PER_HOUR"), "{err}");
        let err = from_pairs(&[("unauthorized_per_minute", string("none"))]).expect_err("refused");
        assert!(err.to_string().contains("LATCHKEY_UNAUTHORIZED_PER_MINUTE"), "{err}");
        let raised = from_pairs(&[("unauthorized_per_minute", string("1000"))]).expect("valid");
        assert_eq!(raised.unauthorized_per_minute, 1000);
    }
}
