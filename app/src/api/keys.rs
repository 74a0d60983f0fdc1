//! Server functions for an organisation's API keys, for its members, and the wire types the pages render.
//! Every function names the organisation (it is in the page's address), so several tabs on several
//! organisations work side by side. Times are formatted on the server, so the browser shows exactly what
//! the server rendered.

use super::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A key as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// Public id.
    pub id: String,
    /// The owner's name for it.
    pub name: String,
    /// e.g. `lk_3Fa9…`.
    pub hint: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// When it was created, for people.
    pub created: String,
    /// When it expires, for people ("Never" when it does not).
    pub expires: String,
    /// When it was last used, for people ("Never" until first use).
    pub last_used: String,
    /// The client address given with the last verification, if any.
    pub last_used_ip: Option<String>,
    /// Networks the key may be used from; empty means anywhere.
    pub ip_allowlist: Vec<String>,
    /// Its rate limit, if any.
    pub rate_limit: Option<RateLimitView>,
    /// Its metadata, pretty-printed JSON, if any.
    pub meta: Option<String>,
    /// Where it stands.
    pub status: KeyStatusView,
    /// Who created it.
    pub created_by: String,
    /// Whether the signed-in member may edit, roll and revoke it.
    pub can_change: bool,
    /// Where and when a leak report found it in public, if one did.
    pub leak: Option<LeakView>,
    /// How many access tokens bought with it work now (on the key's own page; not counted in lists).
    pub live_tokens: Option<u64>,
}

/// A key just revoked, and how many of its access tokens ended with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedKeyView {
    /// The key, revoked.
    pub key: KeyView,
    /// Access tokens bought with it that worked until the revocation.
    pub tokens_ended: u64,
}

/// A leak report, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakView {
    /// When it was reported.
    pub when: String,
    /// Where it was found (may be empty).
    pub url: String,
    /// Who reported it.
    pub source: String,
}

/// A key's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitView {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window, in seconds.
    pub window_seconds: u32,
}

/// A key's status, with the moment that matters for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatusView {
    /// Works.
    Active,
    /// Works, expires within a week.
    ExpiresSoon,
    /// Rolled; works until the given time.
    Rolled {
        /// The end of the grace period, for people.
        until: String,
    },
    /// No longer works: expired.
    Expired,
    /// No longer works: revoked.
    Revoked,
}

impl KeyStatusView {
    /// Whether the key still answers VALID.
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Active | Self::ExpiresSoon | Self::Rolled { .. })
    }
}

/// A key shown in full, once: the only type that carries a plaintext key to the browser. It never
/// prints; it serialises because this one response must carry it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownKey(pub String);

impl fmt::Debug for ShownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShownKey(<redacted>)")
    }
}

/// A new key (created or rolled) and its plaintext, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKeyShown {
    /// The key's settings.
    pub key: KeyView,
    /// The key itself.
    pub plaintext: ShownKey,
    /// For a roll, the rolled key's status now ("Rolled, valid until …"); none for a new key.
    pub replaces: Option<KeyStatusView>,
}

/// One scope of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    /// The name services check.
    pub name: String,
    /// What it allows.
    pub description: String,
}

/// One activity log entry, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// When.
    pub when: String,
    /// What, in words ("Key created").
    pub what: String,
    /// Who.
    pub actor: String,
    /// Which key (name), if any.
    pub key_name: Option<String>,
    /// Which key (id), if any.
    pub key_id: Option<String>,
    /// What changed.
    pub detail: Option<String>,
    /// From where.
    pub client_ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
}

/// A page of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    /// Newest first.
    pub events: Vec<EventView>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages.
    pub pages: u64,
}

/// The name under which a refused key form gives back the scopes that were ticked, one per line.
pub const SCOPES_GIVEN: &str = "scopes";

/// The choices of the expiry field.
pub const EXPIRY_CHOICES: [(&str, &str); 5] =
    [("never", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("custom", "On a date…")];

/// The choices of the roll grace field.
pub const GRACE_CHOICES: [(&str, &str); 4] =
    [("none", "None: the old key stops now"), ("1h", "1 hour"), ("24h", "24 hours"), ("7d", "7 days")];

/// One page of an organisation's keys, as the keys page asked for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyListView {
    /// The keys on this page.
    pub keys: Vec<KeyView>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages the matching keys fill (at least 1).
    pub pages: u64,
    /// How many keys match.
    pub matching: u64,
    /// Whether the organisation has any key at all (so an empty page can tell "none yet" from "none match").
    pub has_keys: bool,
    /// The scope names a key may carry, for the scope filter.
    pub scopes: Vec<String>,
}

/// Keys on one page of the keys page.
pub const KEYS_PER_PAGE: u64 = 50;

/// The status filter choices of the keys page: (value in the address, words). The first is the default.
pub const STATUS_CHOICES: [(&str, &str); 7] = [
    ("working", "Working"),
    ("any", "Any status"),
    ("active", "Active"),
    ("expires_soon", "Expires soon"),
    ("rolled", "Rolled"),
    ("expired", "Expired"),
    ("revoked", "Revoked"),
];

/// The order choices of the keys page: (value in the address, words). The first is the default.
pub const SORT_CHOICES: [(&str, &str); 4] = [
    ("created_desc", "Newest first"),
    ("created_asc", "Oldest first"),
    ("last_used_desc", "Recently used"),
    ("last_used_asc", "Least recently used"),
];

/// A page of the organisation's keys: `search` (part of a name, the start of a hint or id, or a whole key),
/// `status` and `sort` from [`STATUS_CHOICES`] and [`SORT_CHOICES`], `scope` a scope name.
#[server(endpoint = "keys/list", input = server_fn::codec::GetUrl)]
pub async fn list_keys(
    org: String,
    search: Option<String>,
    status: Option<String>,
    scope: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
) -> Result<KeyListView, ApiError> {
    use crate::api::server_context::{internal, member_of, reject, service};
    use crate::domain::clock::SharedClock;
    use crate::domain::keys::listing::{FindError, KeyOrder, KeyQuery, StatusFilter, find_keys};
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let catalogue = service::<crate::domain::scopes::ScopeCatalogue>()?;
    let status = match status.as_deref().filter(|s| !s.is_empty()) {
        None => StatusFilter::Working,
        Some(name) => StatusFilter::parse(name).ok_or_else(|| {
            reject(ApiError::invalid(
                "status",
                format!("There is no status filter \"{name}\". Choose one from the list."),
            ))
        })?,
    };
    let order = match sort.as_deref().filter(|s| !s.is_empty()) {
        None => KeyOrder::NewestFirst,
        Some(name) => KeyOrder::parse(name).ok_or_else(|| {
            reject(ApiError::invalid("sort", format!("There is no order \"{name}\". Choose one from the list.")))
        })?,
    };
    let scope = scope.filter(|scope| !scope.is_empty());
    if let Some(name) = scope.as_deref()
        && !catalogue.scopes().iter().any(|known| known.name == name)
    {
        return Err(reject(ApiError::invalid(
            "scope",
            format!("There is no scope \"{name}\" on this portal. Choose one from the list."),
        )));
    }
    let query = KeyQuery {
        search: search.unwrap_or_default(),
        status,
        scope,
        order,
        page: page.unwrap_or(1),
        per_page: KEYS_PER_PAGE,
    };
    let now = clock.now();
    let found = find_keys(&db, &access.organisation.id, &query, now).await.map_err(|err| match err {
        FindError::Query(refused) => reject(ApiError::invalid("search", refused.to_string())),
        FindError::Database(err) => internal("listing keys failed", &err),
    })?;
    let has_keys = found.total > 0
        || crate::domain::keys::manage::count_keys(&db, &access.organisation.id)
            .await
            .map_err(|err| internal("counting keys failed", &err))?
            > 0;
    Ok(KeyListView {
        keys: found.keys.iter().map(|key| server::key_view(key, &access, now)).collect(),
        page: found.page,
        pages: found.pages,
        matching: found.total,
        has_keys,
        scopes: catalogue.scopes().iter().map(|scope| scope.name.clone()).collect(),
    })
}

/// One of the organisation's keys.
#[server(endpoint = "keys/get", input = server_fn::codec::GetUrl)]
pub async fn get_key(org: String, id: String) -> Result<KeyView, ApiError> {
    use crate::api::server_context::{member_of, service};
    use crate::domain::clock::SharedClock;
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let key =
        crate::domain::keys::manage::find_key(&db, &access.organisation.id, &id).await.map_err(server::key_error)?;
    let live_tokens = crate::domain::jwt::ledger::live_count(&db, &key.id, clock.now())
        .await
        .map_err(|err| crate::api::server_context::internal("counting access tokens failed", &err))?;
    Ok(KeyView { live_tokens: Some(live_tokens), ..server::key_view(&key, &access, clock.now()) })
}

/// The scopes a key may carry on this deployment.
#[server(endpoint = "keys/scopes", input = server_fn::codec::GetUrl)]
pub async fn scope_catalogue() -> Result<Vec<ScopeView>, ApiError> {
    use crate::api::server_context::{service, signed_in};
    signed_in().await?;
    let catalogue = service::<crate::domain::scopes::ScopeCatalogue>()?;
    Ok(catalogue
        .scopes()
        .iter()
        .map(|scope| ScopeView { name: scope.name.clone(), description: scope.description.clone() })
        .collect())
}

/// Creates a key and shows it, once. `expiry` is one of [`EXPIRY_CHOICES`]; `custom_date` (YYYY-MM-DD)
/// goes with `custom`.
#[server(endpoint = "keys/create")]
pub async fn create_key(
    org: String,
    name: String,
    #[server(default)] scopes: Vec<String>,
    expiry: String,
    custom_date: Option<String>,
) -> Result<NewKeyShown, ApiError> {
    use crate::domain::keys::manage::{self, NewKey};
    let ctx = server::KeyContext::load(&org).await?;
    let security = crate::api::server_context::service::<crate::domain::accounts::security::AccountSecurity>()?;
    if !security.may_create_keys(&ctx.account) {
        return Err(crate::api::server_context::reject(ApiError::Forbidden {
            message: format!(
                "Verify your email address before creating keys: open the link we sent to {}, or send a new one from the banner above.",
                ctx.account.email
            ),
        }));
    }
    let expires_at = server::expiry(&expiry, custom_date.as_deref(), ctx.clock.now())?;
    let new = NewKey { name, scopes, expires_at, ..NewKey::default() };
    let (key, plaintext) = manage::create_key(&ctx.db, ctx.services(), &ctx.origin, ctx.caller(), &new)
        .await
        .map_err(server::key_error)?;
    server::no_store();
    Ok(NewKeyShown {
        key: server::key_view(&key, &ctx.access, ctx.clock.now()),
        plaintext: ShownKey(plaintext.expose().to_owned()),
        replaces: None,
    })
}

/// Changes a key's name, scopes and expiry.
#[server(endpoint = "keys/update")]
pub async fn update_key(
    org: String,
    id: String,
    name: String,
    #[server(default)] scopes: Vec<String>,
    expiry: String,
    custom_date: Option<String>,
) -> Result<KeyView, ApiError> {
    use crate::domain::keys::manage::{self, KeyChanges};
    let ctx = server::KeyContext::load(&org).await?;
    // A refused form comes back with what was chosen in it, not the saved settings.
    let given = |err: ApiError| {
        err.with_given("name", &name)
            .with_given(SCOPES_GIVEN, &scopes.join("\n"))
            .with_given("expiry", &expiry)
            .with_given("custom_date", custom_date.as_deref().unwrap_or_default())
    };
    let expires_at = match expiry.as_str() {
        "keep" => None,
        _ => Some(server::expiry(&expiry, custom_date.as_deref(), ctx.clock.now()).map_err(given)?),
    };
    let changes =
        KeyChanges { name: Some(name.clone()), scopes: Some(scopes.clone()), expires_at, ..KeyChanges::default() };
    let key = manage::update_key(&ctx.db, ctx.services(), &ctx.origin, ctx.caller(), &id, &changes)
        .await
        .map_err(|err| given(server::key_error(err)))?;
    ctx.after_plain_post(&id, "settings", &[], "settings");
    Ok(server::key_view(&key, &ctx.access, ctx.clock.now()))
}

/// Rolls a key: shows its successor once; the old key works for `grace` (one of [`GRACE_CHOICES`]).
#[server(endpoint = "keys/roll")]
pub async fn roll_key(org: String, id: String, grace: String) -> Result<NewKeyShown, ApiError> {
    use crate::domain::keys::manage::{self, Grace};
    let ctx = server::KeyContext::load(&org).await?;
    let grace = match grace.as_str() {
        "none" => Grace::None,
        "1h" => Grace::OneHour,
        "24h" => Grace::OneDay,
        "7d" => Grace::OneWeek,
        _ => return Err(crate::api::server_context::reject(ApiError::invalid("grace", "Choose a grace period."))),
    };
    let (key, plaintext) = manage::roll_key(&ctx.db, ctx.services(), &ctx.origin, ctx.caller(), &id, grace)
        .await
        .map_err(server::key_error)?;
    server::no_store();
    let old = manage::find_key(&ctx.db, &ctx.access.organisation.id, &id).await.map_err(server::key_error)?;
    Ok(NewKeyShown {
        key: server::key_view(&key, &ctx.access, ctx.clock.now()),
        plaintext: ShownKey(plaintext.expose().to_owned()),
        replaces: Some(server::key_view(&old, &ctx.access, ctx.clock.now()).status),
    })
}

/// Revokes a key at once, with the access tokens bought with it.
#[server(endpoint = "keys/revoke")]
pub async fn revoke_key(org: String, id: String) -> Result<RevokedKeyView, ApiError> {
    use crate::domain::keys::manage::revoke_key_and_tokens;
    let ctx = server::KeyContext::load(&org).await?;
    let revoked = revoke_key_and_tokens(&ctx.db, ctx.services(), &ctx.origin, ctx.caller(), &id)
        .await
        .map_err(server::key_error)?;
    let tokens = revoked.tokens_ended;
    ctx.after_plain_post(&id, "revoked", &[("tokens", tokens)], "key");
    Ok(RevokedKeyView {
        key: server::key_view(&revoked.key, &ctx.access, ctx.clock.now()),
        tokens_ended: revoked.tokens_ended,
    })
}

/// Sets a key's access controls: the IP allowlist (networks separated by commas, spaces or new lines; empty
/// for anywhere) and the rate limit (`rate_limit` requests per `rate_window` seconds; both empty for none).
#[server(endpoint = "keys/controls")]
pub async fn update_key_controls(
    org: String,
    id: String,
    ip_allowlist: String,
    rate_limit: String,
    rate_window: String,
) -> Result<KeyView, ApiError> {
    use crate::api::server_context::reject;
    use crate::domain::keys::controls::RateLimit;
    use crate::domain::keys::manage::{self, KeyChanges};
    let ctx = server::KeyContext::load(&org).await?;
    // A refused form comes back with what was typed in it, not the saved controls.
    let given = |err: ApiError| {
        err.with_given("ip_allowlist", &ip_allowlist)
            .with_given("rate_limit", &rate_limit)
            .with_given("rate_window", &rate_window)
    };
    let networks: Vec<String> = ip_allowlist
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    let number = |field: &'static str, text: &str, message: &str| {
        text.trim().parse::<u32>().map_err(|_| reject(given(ApiError::invalid(field, message))))
    };
    let rate = match (rate_limit.trim(), rate_window.trim()) {
        ("", "") => None,
        (limit, window) => Some(RateLimit {
            limit: number("rate_limit", limit, "Enter how many requests are allowed, such as 100.")?,
            window_seconds: number("rate_window", window, "Enter the window in seconds, such as 60.")?,
        }),
    };
    let changes = KeyChanges { ip_allowlist: Some(networks), rate_limit: Some(rate), ..KeyChanges::default() };
    let key = manage::update_key(&ctx.db, ctx.services(), &ctx.origin, ctx.caller(), &id, &changes)
        .await
        .map_err(|err| given(server::key_error(err)))?;
    ctx.after_plain_post(&id, "controls", &[], "controls");
    Ok(server::key_view(&key, &ctx.access, ctx.clock.now()))
}

/// A page of the organisation's activity log, newest first.
#[server(endpoint = "activity", input = server_fn::codec::GetUrl)]
pub async fn activity(org: String, page: Option<u64>) -> Result<ActivityView, ApiError> {
    use crate::api::server_context::{internal, member_of, service};
    use crate::domain::activity::Log;
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let log = crate::domain::activity::list(&db, Log::Organisation(&access.organisation.id), page.unwrap_or(1), 25)
        .await
        .map_err(|err| internal("activity log failed", &err))?;
    Ok(ActivityView { events: log.events.iter().map(server::event_view).collect(), page: log.page, pages: log.pages })
}

/// Conversions between the domain and the wire, on the server only.
#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::{EventView, KeyStatusView, KeyView, RateLimitView};
    use crate::api::ApiError;
    use crate::api::server_context::{client, internal, member_of, reject, service};
    use crate::domain::activity::{Event, EventKind, Origin};
    use crate::domain::clock::SharedClock;
    use crate::domain::keys::manage::{ApiKey, Caller, KeyError, KeyPolicy, KeyServices, KeyStatus};
    use crate::domain::organisations::{Access, Action};
    use crate::domain::scopes::ScopeCatalogue;
    use crate::domain::verification::KeyCache;
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use std::sync::Arc;

    /// What every key-changing server function needs.
    pub struct KeyContext {
        pub access: Access,
        pub db: sea_orm::DatabaseConnection,
        pub clock: SharedClock,
        pub policy: KeyPolicy,
        pub catalogue: ScopeCatalogue,
        pub cache: Arc<KeyCache>,
        pub origin: Origin,
        pub account: crate::domain::accounts::Account,
    }

    impl KeyContext {
        pub async fn load(organisation_id: &str) -> Result<Self, ApiError> {
            let (account, access) = member_of(organisation_id).await?;
            let origin = Origin { actor: account.email.clone(), client: client() };
            Ok(Self {
                access,
                db: service()?,
                clock: service()?,
                policy: service()?,
                catalogue: service()?,
                cache: service()?,
                origin,
                account,
            })
        }

        pub fn caller(&self) -> Caller<'_> {
            Caller::Member(&self.access)
        }

        /// A plain form post that worked comes back to the key's page, which says what it did.
        pub fn after_plain_post(&self, key_id: &str, done: &str, details: &[(&str, u64)], fragment: &str) {
            let page = format!("/o/{}/keys/{key_id}", self.access.organisation.id);
            crate::api::server_context::after_plain_post(&crate::api::outcome::done_with(
                &page, done, details, fragment,
            ));
        }

        pub fn services(&self) -> KeyServices<'_> {
            KeyServices {
                clock: self.clock.as_ref(),
                policy: &self.policy,
                catalogue: &self.catalogue,
                cache: &self.cache,
            }
        }
    }

    /// Responses that carry a plaintext key must never be stored by a browser or proxy.
    pub fn no_store() {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        }
    }

    pub fn key_error(err: KeyError) -> ApiError {
        match err {
            KeyError::NotFound => reject(ApiError::NotFound),
            KeyError::Forbidden(message) => reject(ApiError::Forbidden { message }),
            KeyError::Invalid { field, message } => reject(ApiError::invalid(field, message)),
            KeyError::LimitReached(_) => reject(ApiError::invalid_request(err.to_string())),
            KeyError::Finished(message) => reject(ApiError::Conflict { message: message.to_owned() }),
            KeyError::Random(_) | KeyError::Database(_) => internal("key operation failed", &err),
        }
    }

    /// The expiry a form chose: never, 7/30/90 days from now, or the end of a chosen day (UTC).
    pub fn expiry(
        choice: &str,
        custom_date: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let days = |n| Ok(Some(now + Duration::days(n)));
        match choice {
            "never" => Ok(None),
            "7" => days(7),
            "30" => days(30),
            "90" => days(90),
            "custom" => {
                let date = custom_date
                    .map(str::trim)
                    .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                    .ok_or_else(|| reject(ApiError::invalid("custom_date", "Enter a date like 2027-01-31.")))?;
                let end_of_day = date.and_hms_opt(23, 59, 59).map(|at| at.and_utc());
                match end_of_day {
                    Some(at) if !crate::domain::bounds::instant_in_range(at) => Err(reject(ApiError::invalid(
                        "custom_date",
                        format!("Choose a date {}.", crate::domain::bounds::RANGE_TEXT),
                    ))),
                    Some(at) if at > now => Ok(Some(at)),
                    _ => Err(reject(ApiError::invalid("custom_date", "Choose a date in the future."))),
                }
            }
            _ => Err(reject(ApiError::invalid("expiry", "Choose when the key expires."))),
        }
    }

    pub fn when(at: DateTime<Utc>) -> String {
        at.format("%-d %b %Y, %H:%M UTC").to_string()
    }

    pub fn key_view(key: &ApiKey, access: &Access, now: DateTime<Utc>) -> KeyView {
        let own = key.created_by_account_id.as_deref() == Some(access.account_id.as_str());
        let can_change = !access.organisation.is_disabled() && access.may(Action::ChangeKey { own });
        key_view_as(key, can_change, now)
    }

    /// A key as someone who may (`can_change`) or may not change it sees it.
    pub fn key_view_as(key: &ApiKey, can_change: bool, now: DateTime<Utc>) -> KeyView {
        let status = match key.status(now) {
            KeyStatus::Active => KeyStatusView::Active,
            KeyStatus::ExpiresSoon => KeyStatusView::ExpiresSoon,
            KeyStatus::Rolled { valid_until } => KeyStatusView::Rolled { until: when(valid_until) },
            KeyStatus::Expired => KeyStatusView::Expired,
            KeyStatus::Revoked => KeyStatusView::Revoked,
        };
        KeyView {
            id: key.id.clone(),
            name: key.name.clone(),
            hint: key.hint.clone(),
            scopes: key.scopes.clone(),
            created: when(key.created_at),
            expires: key.expires_at.map_or_else(|| "Never".to_owned(), when),
            last_used: key.last_used_at.map_or_else(|| "Never".to_owned(), when),
            last_used_ip: key.last_used_ip.clone(),
            ip_allowlist: key.ip_allowlist.clone(),
            rate_limit: key
                .rate_limit
                .map(|rate| RateLimitView { limit: rate.limit, window_seconds: rate.window_seconds }),
            meta: key.meta.as_ref().and_then(|meta| serde_json::to_string_pretty(meta).ok()),
            status,
            created_by: key.created_by.clone(),
            can_change,
            leak: key.leak.as_ref().map(|leak| super::LeakView {
                when: when(leak.at),
                url: leak.url.clone(),
                source: leak.source.clone(),
            }),
            live_tokens: None,
        }
    }

    pub fn event_view(event: &Event) -> EventView {
        let what = match event.kind {
            EventKind::AccountCreated => "Account created",
            EventKind::SignedIn => "Signed in",
            EventKind::SignInFailed => "Failed sign-in",
            EventKind::SignedOut => "Signed out",
            EventKind::PasswordChanged => "Password changed",
            EventKind::TwoFactorEnabled => "Two-factor sign-in turned on",
            EventKind::TwoFactorDisabled => "Two-factor sign-in turned off",
            EventKind::RecoveryCodeUsed => "Recovery code used",
            EventKind::EmailVerified => "Email address verified",
            EventKind::KeyCreated => "Key created",
            EventKind::KeyUpdated => "Key changed",
            EventKind::KeyRolled => "Key rolled",
            EventKind::KeyRevoked => "Key revoked",
            EventKind::KeyLeaked => "Key found in public",
            EventKind::TokenRevoked => "Access token revoked",
            EventKind::WebhookAdded => "Webhook endpoint added",
            EventKind::WebhookChanged => "Webhook endpoint changed",
            EventKind::WebhookRemoved => "Webhook endpoint removed",
            EventKind::OrganisationCreated => "Organisation created",
            EventKind::OrganisationUpdated => "Organisation changed",
            EventKind::OrganisationDisabled => "Disabled by the operator",
            EventKind::OrganisationEnabled => "Enabled by the operator",
            EventKind::InvitationCreated => "Member invited",
            EventKind::InvitationRevoked => "Invitation revoked",
            EventKind::MemberJoined => "Member joined",
            EventKind::MemberRoleChanged => "Role changed",
            EventKind::MemberRemoved => "Member removed",
            EventKind::MemberLeft => "Member left",
        };
        EventView {
            when: when(event.occurred_at),
            what: what.to_owned(),
            actor: event.actor.clone(),
            key_name: event.key_name.clone(),
            key_id: event.key_id.clone(),
            detail: event.detail.clone(),
            client_ip: event.client_ip.clone(),
            user_agent: event.user_agent.clone(),
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::{SORT_CHOICES, STATUS_CHOICES};
    use crate::domain::keys::listing::{KeyOrder, StatusFilter};

    #[test]
    fn every_choice_the_keys_page_offers_is_one_the_listing_understands() {
        for (value, _) in STATUS_CHOICES {
            assert!(StatusFilter::parse(value).is_some(), "{value}");
        }
        for (value, _) in SORT_CHOICES {
            assert!(KeyOrder::parse(value).is_some(), "{value}");
        }
        assert_eq!(STATUS_CHOICES.len(), StatusFilter::ALL.len());
        assert_eq!(SORT_CHOICES.len(), KeyOrder::ALL.len());
    }
}
