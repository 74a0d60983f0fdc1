//! Every setting, declared once: its TOML key (the environment variable is `LATCHKEY_` and the key in
//! upper case), its type, its default, its parser and one line of help. `--help`, the reading of the file
//! and the environment, and the README check all come from [`DECLARED`].

use super::ConfigError;
use super::parse::*;
use app::domain::keys::format::KeyPrefix;
use app::domain::scopes::Scope;
use figment::value::Value;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One declared setting, as `--help` and the README show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// The key in the TOML file, e.g. `database_url`.
    pub key: &'static str,
    /// The default as shown (and, for settings with a default value, as parsed).
    pub default: &'static str,
    /// One line of help.
    pub help: &'static str,
}

impl Declared {
    /// The environment variable, e.g. `LATCHKEY_DATABASE_URL`.
    pub fn env(&self) -> String {
        env_name(self.key)
    }
}

/// The environment variable of a key.
pub fn env_name(key: &str) -> String {
    format!("LATCHKEY_{}", key.to_uppercase())
}

/// Declares the settings: `key: Type = ["default"], parser, "help";`, the default parsed like a given
/// value. With `[]` an absent setting is the type's `Default` (none, or an empty list), shown as "none" or as
/// `shown "…"` says.
macro_rules! declare_settings {
    ($( $key:ident : $ty:ty = [$($default:literal)?] $(shown $shown:literal)?, $parse:expr, $help:literal; )+) => {
        /// Every setting as read and parsed, one field per declaration; the checks that involve several
        /// settings come after, in [`super::Settings::check`].
        #[derive(Clone)]
        pub struct Values {
            $(
                #[doc = $help]
                pub $key: $ty,
            )+
        }

        /// Every declared setting, in the order `--help` and the README list them.
        pub const DECLARED: &[Declared] = &[
            $( Declared { key: stringify!($key), default: shown!($($default)? $(; $shown)?), help: $help }, )+
        ];

        impl Values {
            /// Parses each setting present in `map` (removing it), or its default.
            pub fn read(map: &mut BTreeMap<String, Value>) -> Result<Self, ConfigError> {
                Ok(Self {
                    $( $key: {
                        let key = stringify!($key);
                        let parse: fn(&'static str, Value) -> Result<$ty, ConfigError> = $parse;
                        match map.remove(key) {
                            Some(value) => parse(key, value)?,
                            None => absent!(parse, key, $ty $(, $default)?),
                        }
                    }, )+
                })
            }
        }
    };
}

macro_rules! shown {
    () => {
        "none"
    };
    ($default:literal) => {
        $default
    };
    (; $shown:literal) => {
        $shown
    };
}

macro_rules! absent {
    ($parse:ident, $key:ident, $ty:ty) => {
        <$ty>::default()
    };
    ($parse:ident, $key:ident, $ty:ty, $default:literal) => {
        $parse($key, Value::from($default.to_owned()))?
    };
}

declare_settings! {
    database_url: String = ["sqlite://latchkey.db?mode=rwc"],
        database_url, "sqlite://FILE?mode=rwc or postgres://USER:PASSWORD@HOST:5432/DB";
    addr: SocketAddr = ["127.0.0.1:3000"],
        socket_addr, "address and port to listen on";
    public_url: Option<super::PublicOrigin> = [],
        |key, value| public_url(key, value).map(Some),
        "the origin browsers use, e.g. https://keys.example.com; required unless addr is a loopback address";
    log: String = ["info"],
        log_filter, "a tracing filter, e.g. debug or info,latchkey_server=debug";
    log_format: super::LogFormat = ["text"],
        log_format, "text (for people) or json (one object per line, each request's with its request id)";
    metrics_addr: Option<SocketAddr> = [] shown "none: off",
        |key, value| socket_addr(key, value).map(Some),
        "where GET /metrics answers in Prometheus' text format, e.g. 127.0.0.1:9100; keep it off the public network";
    session_idle_timeout: chrono::Duration = ["12h"],
        duration, "a session unused this long ends (30m, 12h, or seconds)";
    session_lifetime: chrono::Duration = ["7d"],
        duration, "a session ends this long after sign-in, however busy";
    key_prefix: KeyPrefix = ["lk"],
        prefix, "the prefix of every API key, 2-12 of a-z0-9";
    max_keys_per_account: u64 = ["100"],
        |key, value| number(key, value, 1, 100_000), "live keys one account may hold, 1-100000";
    max_key_lifetime: Option<chrono::Duration> = [],
        |key, value| duration(key, value).map(Some), "when set (e.g. 90d), every key must expire within it";
    service_token_prefix: KeyPrefix = ["lksvc"],
        prefix, "the prefix of service tokens; must differ from the key prefix";
    scopes: Option<Vec<Scope>> = [] shown "example catalogue",
        |key, value| scope_list(key, value).map(Some),
        "the scopes keys may carry: name=description;name=description ([[scopes]] tables in the file)";
    usage_hourly_retention: chrono::Duration = ["14d"],
        duration, "how long hourly usage buckets are kept, at least 2d";
    usage_daily_retention: chrono::Duration = ["400d"],
        duration, "how long daily usage buckets are kept, at least 31d and the hourly retention";
    database_max_connections: u32 = ["10"],
        |key, value| number(key, value, 1, 1_000), "connections in this instance's pool, 1-1000";
    database_connect_timeout: std::time::Duration = ["5s"],
        std_duration, "how long to wait for the database to accept a connection";
    database_acquire_timeout: std::time::Duration = ["5s"],
        std_duration, "how long a request waits for a free pooled connection";
    database_idle_timeout: std::time::Duration = ["10m"],
        std_duration, "a pooled connection unused this long is closed";
    database_listen: bool = ["true"],
        boolean, "PostgreSQL: listen for key change notifications; false behind a pooler in transaction mode";
    change_poll_interval: std::time::Duration = ["1s"],
        poll_interval, "how often the key change feed is read even without a notification, 50ms-1s";
    token_ttl: chrono::Duration = ["15m"],
        token_ttl, "the longest (and default) life of a JWT from POST /v1/tokens, 10s-15m";
    token_audiences: Vec<String> = [],
        audience_list, "audiences JWTs may be issued for, comma-separated, the first the default; none: any";
    redis_url: Option<String> = [],
        |key, value| redis_url(key, value).map(Some),
        "redis://[:PASSWORD@]HOST:6379[/DB]: rate limits shared by every instance";
    trusted_proxies: Vec<IpNet> = [],
        networks, "comma-separated proxy addresses or CIDRs whose X-Forwarded-For (or Forwarded) is believed";
    sign_ups_per_hour: u32 = ["10"],
        |key, value| number(key, value, 1, 100_000), "sign-ups allowed from one client address per hour, 1-100000";
    unauthorized_per_minute: u32 = ["30"],
        |key, value| number(key, value, 1, 1_000_000),
        "401 answers from /v1 one client address may get in a minute; then 429 until the minute ends, 1-1000000";
    password_sign_in: bool = ["true"],
        boolean, "false turns password sign-up and sign-in off: people come through the identity provider or your app";
    portal_session_ttl: chrono::Duration = ["5m"],
        portal_ttl, "how long a link from POST /v1/portal/sessions works, 10s-5m";
    portal_return_origins: Vec<String> = [],
        origin_list, "origins of your app that portal sessions may send people back to, comma-separated";
    product_name: Option<String> = [] shown "Latchkey",
        |key, value| short_text(key, value, 60).map(Some), "your product's name, on every page in place of Latchkey's";
    product_logo: Option<super::brand::Logo> = [],
        |key, value| logo(key, value).map(Some), "your logo: an https:// URL, or a .png/.svg/.jpg/.webp/.gif file to serve";
    accent_color: Option<super::brand::Accent> = [],
        |key, value| accent_color(key, value).map(Some), "your accent colour, #rrggbb; refused below WCAG AA contrast with white";
    support_url: Option<String> = [],
        |key, value| link_url(key, value).map(Some), "where the footer's Support link goes";
    docs_url: Option<String> = [],
        |key, value| link_url(key, value).map(Some), "where the footer's Documentation link goes";
    oidc_issuer: Option<String> = [],
        |key, value| issuer_url(key, value).map(Some), "an OpenID Connect issuer, e.g. https://login.example.com: turns on Sign in with ...";
    oidc_client_id: Option<String> = [],
        |key, value| short_text(key, value, 255).map(Some), "the client id Latchkey is registered with at the identity provider";
    oidc_client_secret: Option<String> = [],
        |key, value| short_text(key, value, 1024).map(Some), "its client secret (none for a public client, which PKCE protects)";
    oidc_scopes: Vec<String> = ["openid email profile"],
        oidc_scopes, "scopes asked for, space-separated; openid is always one";
    oidc_name: Option<String> = [] shown "the issuer's host",
        |key, value| short_text(key, value, 60).map(Some), "the identity provider's name on the button: Sign in with NAME";
    oidc_organisation_claim: Option<String> = [],
        |key, value| short_text(key, value, 100).map(Some), "an ID token claim holding the external id of the person's organisation";
    oidc_role_claim: Option<String> = [],
        |key, value| short_text(key, value, 100).map(Some), "an ID token claim holding their role there (owner, admin, developer, viewer)";
    smtp_url: Option<app::domain::mail::transport::SmtpServer> = [] shown "none: mail goes to ./outbox",
        |key, value| smtp_url(key, value).map(Some),
        "smtp://USER:PASSWORD@HOST:587 (STARTTLS), smtps://...:465 (TLS), or smtp://127.0.0.1:PORT (plain, loopback only)";
    mail_from: Option<String> = [] shown "PRODUCT <noreply@HOST>",
        |key, value| mailbox(key, value).map(Some), "the From: address of every message, e.g. Acme Keys <keys@acme.com>; required with smtp_url";
    encryption_key: Option<[u8; 32]> = [],
        |key, value| encryption_key(key, value).map(Some),
        "32 random bytes, base64 or hex (openssl rand -base64 32): seals TOTP secrets in the database";
    require_two_factor: bool = ["false"],
        boolean, "true: password accounts must turn on two-factor sign-in before using the portal";
    unverified_may_create_keys: bool = ["true"],
        boolean, "false: password accounts must verify their email address before creating keys";
    notice_check_interval: std::time::Duration = ["5m"],
        |key, value| bounded_interval(key, value, 1, 3600), "how often key expiry notices are looked for, 1s-1h";
    webhooks_allow_private: bool = ["false"],
        boolean, "true: customers' webhook URLs may use http and reach loopback and private addresses (testing only)";
    leak_policy: app::domain::leaks::LeakPolicy = ["revoke"],
        leak_policy, "what a leak report does to a key it finds: revoke (at once) or notify (mark it, tell its owners)";
    github_keys_file: Option<super::GithubKeyFile> = [],
        |key, value| github_keys_file(key, value).map(Some),
        "GitHub's secret scanning keys as api.github.com/meta/public_keys/secret_scanning lists them, a JSON file";
    github_keys_fetch: bool = ["true"],
        boolean, "false: never fetch GitHub's secret scanning keys from api.github.com; trust the file's only";
}

/// What `--help` shows after the options: every setting with its default.
pub fn help_text() -> String {
    let mut text = String::from(
        "Settings: environment variables, or the same keys in lower case without LATCHKEY_ in the\n\
         --config TOML file. The environment wins over the file.\n",
    );
    for setting in DECLARED {
        text.push_str(&format!("  {:<34} {} [default: {}]\n", setting.env(), setting.help, setting.default));
    }
    text.push_str("  LATCHKEY_CONFIG                    the TOML settings file, like --config\n");
    text
}

/// Every TOML key, for the environment reader.
pub fn keys() -> Vec<&'static str> {
    DECLARED.iter().map(|setting| setting.key).collect()
}
