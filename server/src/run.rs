//! Start-up, background tasks and graceful shutdown.

use crate::config::{LogFormat, Settings, redact_url};
use crate::metrics::Metrics;
use crate::metrics::scrape::{self, Sources};
use crate::middleware::client_ip::TrustedProxies;
use crate::router::{AppState, WebPolicy, app};
use crate::v1::VerificationServices;
use crate::v1::unauthorized::UnauthorizedLimit;
use app::domain::accounts::password::PasswordHasher;
use app::domain::changes::{Caches, FollowSettings, Follower, follow};
use app::domain::clock::{SharedClock, SystemClock};
use app::domain::database::{MigrateError, connect, migrate as apply_migrations};
use app::domain::jwt::SigningKeys;
use app::domain::mail::render::MailBrand;
use app::domain::mail::sender::{Mailer, deliver_due};
use app::domain::mail::transport::Transport;
use app::domain::sessions::store::DatabaseSessionStore;
use app::domain::throttle::ThrottlePolicy;
use app::domain::usage::rollup::RollupReport;
use app::domain::usage::{Retention, UsageCounter, roll_up};
use app::domain::verification::{RateLimits, SharedLimits};
use app::domain::webhooks::WebhookSender;
use leptos::config::{Env, LeptosOptions};
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// Why the process could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database could not be opened or migrated.
    #[error("database {url}: {reason}")]
    Database {
        /// The URL, password redacted.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// Redis, asked for with LATCHKEY_REDIS_URL, could not be used.
    #[error("redis {url}: {reason}")]
    Redis {
        /// The URL, password redacted.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Password hashing could not be set up.
    #[error("password hashing could not be set up")]
    Hashing,
    /// Something the settings ask for could not be set up.
    #[error("{0}")]
    Setup(String),
    /// An operator command was refused; the message says why.
    #[error("{0}")]
    Refused(String),
    /// Writing the command's output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Installs the log subscriber; `filter` was checked when the settings were loaded. Logs go to stderr:
/// stdout is for values commands print, so that scripts can capture them. In JSON each line is one object,
/// and an event inside a request carries the request's fields (its id among them) under `span`.
pub fn init_tracing(filter: &str, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
}

pub(crate) async fn open_database(settings: &Settings) -> Result<DatabaseConnection, RunError> {
    open_database_at(settings, &settings.database_url).await
}

/// Opens and migrates the database at `url` with the configured pool.
pub(crate) async fn open_database_at(settings: &Settings, url: &str) -> Result<DatabaseConnection, RunError> {
    let failed =
        |what: &str, err: sea_orm::DbErr| RunError::Database { url: redact_url(url), reason: format!("{what}: {err}") };
    let db = connect(url, &settings.pool)
        .await
        .map_err(|err| failed("cannot connect (is it running, and is LATCHKEY_DATABASE_URL right?)", err))?;
    apply_migrations(&db).await.map_err(|err| match err {
        MigrateError::NewerSchema(_) => RunError::Database { url: redact_url(url), reason: err.to_string() },
        MigrateError::Database(err) => failed("cannot apply migrations", err),
    })?;
    Ok(db)
}

/// Opens and migrates the database of an existing deployment, for the operator commands. Where there is
/// none (no SQLite file, or a database no Latchkey has migrated) it says so and creates nothing: only
/// `serve` and `migrate` make a deployment, so a command run in the wrong directory or with the wrong
/// settings does not leave an empty database behind.
pub(crate) async fn open_existing_database(settings: &Settings) -> Result<DatabaseConnection, RunError> {
    let url = &settings.database_url;
    let missing = || {
        RunError::Refused(format!(
            "there is no Latchkey database at {}: start the portal (latchkey serve) or run latchkey migrate to \
             make one, or point LATCHKEY_DATABASE_URL (or --config) at the deployment's",
            redact_url(url)
        ))
    };
    if sqlite_file(url).is_some_and(|file| !file.exists()) {
        return Err(missing());
    }
    let db = connect(url, &settings.pool).await.map_err(|err| RunError::Database {
        url: redact_url(url),
        reason: format!("cannot connect (is it running, and is LATCHKEY_DATABASE_URL right?): {err}"),
    })?;
    if !app::domain::database::is_migrated(&db).await {
        let _ = db.close().await;
        return Err(missing());
    }
    let _ = db.close().await;
    open_database(settings).await
}

/// The file of a `sqlite:` URL, unless it is an in-memory database.
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

/// `latchkey migrate`.
pub async fn migrate(settings: &Settings) -> Result<(), RunError> {
    let db = open_database(settings).await?;
    tracing::info!(database = %redact_url(&settings.database_url), "migrations applied");
    let _ = db.close().await;
    Ok(())
}

/// The Leptos options for a server listening on `addr`. Set in code, not read from Cargo.toml, so that
/// the binary runs from any working directory.
pub fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder().output_name("latchkey").site_pkg_dir("pkg").site_addr(addr).env(Env::PROD).build()
}

/// `latchkey serve`: migrates, then serves until SIGTERM or Ctrl-C.
pub async fn serve(settings: Settings) -> Result<(), RunError> {
    let db = open_database(&settings).await?;
    let concurrency = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(concurrency))
        .await
        .map_err(|_| RunError::Hashing)?
        .map_err(|_| RunError::Hashing)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = AppState {
        leptos_options: leptos_options(settings.addr),
        db: db.clone(),
        hasher: Arc::new(hasher),
        clock: clock.clone(),
        sessions: settings.sessions.clone(),
        throttle: ThrottlePolicy { sign_ups_per_hour: settings.sign_ups_per_hour, ..ThrottlePolicy::default() },
        keys: settings.keys.clone(),
        scopes: settings.scopes.clone(),
        web: WebPolicy {
            public_origin: settings.public_origin.as_ref().map(|o| o.origin.clone()),
            https: settings.https(),
            trusted_proxies: TrustedProxies::new(&settings.trusted_proxies),
        },
        verification: VerificationServices {
            unauthorized: UnauthorizedLimit::allowing(settings.unauthorized_per_minute),
            signing_keys: Arc::new(SigningKeys::sealed_with(settings.account_security.sealer.clone())),
            ..VerificationServices::with_rate_limits(
                settings.keys.prefix.clone(),
                settings.service_token_prefix.clone(),
                clock.clone(),
                rate_limits(&settings).await?,
            )
        },
        usage_retention: settings.usage_retention,
        tokens: settings.tokens.clone(),
        provider: provider_setup(&settings)?,
        account_security: settings.account_security.clone(),
        events: events_setup(&settings)?,
        metrics: Arc::new(Metrics::new()),
    };
    state.verification.signing_keys.ensure(&db, clock.now()).await.map_err(|err| RunError::Database {
        url: redact_url(&settings.database_url),
        reason: format!("cannot prepare the JWT signing keys: {err}"),
    })?;
    let mailer = mailer(&settings)?;
    let (stop_mail, mail_stop) = tokio::sync::watch::channel(false);
    let mail = tokio::spawn(send_mail(db.clone(), clock.clone(), mailer, mail_stop));
    let notices = tokio::spawn(queue_expiry_notices(db.clone(), clock.clone(), settings.notice_check_interval));
    let sender = WebhookSender::new(Arc::new(settings.account_security.sealer.clone()), settings.webhook_targets)
        .map_err(|err| RunError::Setup(format!("the webhook sender: {err}")))?;
    let (stop_webhooks, webhooks_stop) = tokio::sync::watch::channel(false);
    let webhooks = tokio::spawn(send_webhooks(db.clone(), clock.clone(), sender, webhooks_stop));
    let cleanup =
        tokio::spawn(delete_expired_sessions(DatabaseSessionStore::new(db.clone(), clock.clone()), db.clone(), clock));
    let rollup = tokio::spawn(roll_up_usage(db.clone(), state.clock.clone(), settings.usage_retention));
    let caches = Caches {
        keys: state.verification.verifier.cache().clone(),
        tokens: state.verification.tokens.clone(),
        signing_keys: state.verification.signing_keys.clone(),
        issued_tokens: state.verification.issued_tokens.clone(),
    };
    let follower = Follower::start(&db, caches).await.map_err(|err| RunError::Database {
        url: redact_url(&settings.database_url),
        reason: format!("cannot read the key change feed: {err}"),
    })?;
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let follow_settings = FollowSettings {
        poll_interval: settings.change_poll_interval,
        listen_url: (postgres && settings.database_listen).then(|| settings.database_url.clone()),
    };
    let feed = follower.status();
    let changes = tokio::spawn(follow(db.clone(), follower, follow_settings));
    let (stop_flushing, stop) = tokio::sync::oneshot::channel();
    let flusher =
        tokio::spawn(flush_usage(state.verification.verifier.usage().clone(), db.clone(), state.metrics.clone(), stop));
    // Folding apart from staging: a slow fold never holds up the staging that keeps counts safe.
    let (stop_folding, stop) = tokio::sync::oneshot::channel();
    let folder = tokio::spawn(fold_usage(db.clone(), state.metrics.clone(), stop));
    let metrics = match settings.metrics_addr {
        Some(addr) => {
            let sources =
                Sources { db: db.clone(), verification: state.verification.clone(), feed, clock: state.clock.clone() };
            Some(serve_metrics(addr, scrape::router(state.metrics.clone(), sources)).await?)
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| RunError::Listen { addr: settings.addr, source })?;
    let shown =
        settings.public_origin.as_ref().map_or_else(|| format!("http://{}", settings.addr), |o| o.origin.clone());
    tracing::info!(addr = %settings.addr, database = %redact_url(&settings.database_url), "Latchkey is listening on {shown}");
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(RunError::Serve)?;

    cleanup.abort();
    notices.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    // A message being handed to the mail server finishes; the next round does not start.
    let _ = stop_mail.send(true);
    if tokio::time::timeout(Duration::from_secs(10), mail).await.is_err() {
        tracing::warn!("the mail sender did not stop within 10 s; unsent messages go after the restart");
    }
    let _ = stop_webhooks.send(true);
    if tokio::time::timeout(Duration::from_secs(12), webhooks).await.is_err() {
        tracing::warn!("the webhook sender did not stop within 12 s; its deliveries are retried after the restart");
    }
    rollup.abort();
    changes.abort();
    // Requests are finished; write the last counts before the database closes.
    let _ = stop_flushing.send(());
    if flusher.await.is_err() {
        tracing::error!("the usage flush task failed; the last second of usage counts may be lost");
    }
    // What is staged is safe; folding it now makes it readable at once rather than after the next start.
    let _ = stop_folding.send(());
    if folder.await.is_err() {
        tracing::error!("the usage fold task failed; staged usage is folded after the next start");
    }
    let _ = db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `/metrics` on `addr` until aborted.
async fn serve_metrics(addr: SocketAddr, router: axum::Router) -> Result<tokio::task::JoinHandle<()>, RunError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| RunError::Listen { addr, source })?;
    tracing::info!(%addr, "metrics are served at http://{addr}/metrics");
    Ok(tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "the metrics listener stopped");
        }
    }))
}

/// The brand, portal sessions and identity provider from the settings.
fn provider_setup(settings: &Settings) -> Result<crate::router::ProviderSetup, RunError> {
    let oidc = match &settings.oidc {
        Some(oidc) => {
            let provider = crate::sign_in::oidc::IdentityProvider::new(oidc.clone(), &settings.tokens.issuer)
                .map_err(|err| RunError::Setup(format!("the identity provider: {err}")))?;
            tracing::info!(issuer = %oidc.issuer, "sign-in through the identity provider is on");
            Some(Arc::new(provider))
        }
        None => None,
    };
    Ok(crate::router::ProviderSetup {
        site: settings.site.clone(),
        portal: settings.portal.clone(),
        brand: crate::brand::BrandAssets::new(settings.accent, settings.logo.clone()),
        oidc,
    })
}

/// Webhook targets, the leak policy and GitHub's secret scanning keys, from the settings.
fn events_setup(settings: &Settings) -> Result<crate::router::EventsSetup, RunError> {
    use app::domain::leaks::github::{GithubKeys, KEYS_URL};
    let fetch = settings.github_keys_fetch.then(|| KEYS_URL.to_owned());
    let github_keys = GithubKeys::new(settings.github_keys.clone(), fetch)
        .map_err(|err| RunError::Setup(format!("GitHub's key fetcher: {err}")))?;
    if settings.webhook_targets.allow_private {
        tracing::warn!(
            "LATCHKEY_WEBHOOKS_ALLOW_PRIVATE is on: customers' webhooks may reach this network (testing only)"
        );
    }
    Ok(crate::router::EventsSetup {
        webhook_targets: settings.webhook_targets,
        leak_policy: settings.leak_policy,
        github_keys: Arc::new(github_keys),
    })
}

/// Where mail goes, from the settings; says so in one line.
fn mailer(settings: &Settings) -> Result<Mailer, RunError> {
    let transport = match &settings.smtp {
        Some(server) => {
            tracing::info!(smtp = %server.describe(), from = %settings.mail_from, "mail is sent through SMTP");
            server
                .transport(Duration::from_secs(30))
                .map_err(|err| RunError::Setup(format!("LATCHKEY_SMTP_URL: {err}")))?
        }
        None => {
            // Beside the SQLite file (which git and backups already treat as data), else where it runs.
            let base = sqlite_file(&settings.database_url)
                .and_then(|file| file.parent().map(std::path::Path::to_path_buf))
                .filter(|dir| !dir.as_os_str().is_empty())
                .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
            let dir = base.join("outbox");
            tracing::info!(outbox = %dir.display(), "mail is written to the outbox directory, one .eml file per message (set LATCHKEY_SMTP_URL to send it)");
            Transport::Directory(dir)
        }
    };
    let from = settings.mail_from.parse().map_err(|err| RunError::Setup(format!("LATCHKEY_MAIL_FROM: {err}")))?;
    let base_url =
        settings.public_origin.as_ref().map_or_else(|| format!("http://{}", settings.addr), |o| o.origin.clone());
    let logo_url = settings
        .site
        .logo_url
        .as_ref()
        .map(|src| if src.starts_with('/') { format!("{base_url}{src}") } else { src.clone() });
    let brand = MailBrand {
        product_name: settings.site.product_name.clone(),
        accent: settings.accent.map_or_else(|| "#4338ca".to_owned(), |accent| accent.hex()),
        logo_url,
        support_url: settings.site.support_url.clone(),
        base_url,
    };
    Ok(Mailer { transport, from, brand })
}

/// How often the outbox is looked at.
pub const MAIL_INTERVAL: Duration = Duration::from_secs(2);

/// Sends what the outbox holds, every [`MAIL_INTERVAL`], until told to stop.
async fn send_mail(
    db: DatabaseConnection,
    clock: SharedClock,
    mailer: Mailer,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(MAIL_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return,
        }
        loop {
            match deliver_due(&db, clock.now(), &mailer).await {
                // A full batch: there may be more waiting.
                Ok(round)
                    if round.sent + round.retrying + round.failed
                        >= usize::try_from(app::domain::mail::sender::BATCH).unwrap_or(20) => {}
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "could not read the outbox; will retry");
                    break;
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// How often the webhook queue is looked at.
const WEBHOOK_INTERVAL: Duration = Duration::from_secs(1);
/// How often old deliveries and their log are pruned.
const WEBHOOK_PRUNE_EVERY: u32 = 3600;

/// Delivers due webhooks every second until `stop`; a round under way finishes (each request has 10 s).
async fn send_webhooks(
    db: DatabaseConnection,
    clock: SharedClock,
    sender: WebhookSender,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(WEBHOOK_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = 0_u32;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return,
        }
        ticks = ticks.wrapping_add(1);
        if ticks % WEBHOOK_PRUNE_EVERY == 1 {
            match app::domain::webhooks::deliveries::prune(&db, clock.now()).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "old webhook deliveries pruned"),
                Err(err) => tracing::warn!(error = %err, "could not prune old webhook deliveries"),
            }
        }
        loop {
            match sender.deliver_due(&db, clock.as_ref()).await {
                Ok(round)
                    if round.delivered + round.retrying + round.gave_up
                        >= usize::try_from(app::domain::webhooks::sender::BATCH).unwrap_or(20) => {}
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "could not read the webhook queue; will retry");
                    break;
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// Queues key expiry notices every `interval`; every instance does, and each notice still goes once.
async fn queue_expiry_notices(db: DatabaseConnection, clock: SharedClock, interval: Duration) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app::domain::notices::queue_expiry_notices(&db, clock.now()).await {
            Ok(0) => tracing::debug!("key expiry check: nothing new to queue"),
            Ok(queued) => tracing::info!(queued, "key expiry notices queued"),
            Err(err) => tracing::warn!(error = %err, "could not look for expiring keys; will retry"),
        }
    }
}

/// Rate limits shared through Redis when LATCHKEY_REDIS_URL is set, else this instance's own.
async fn rate_limits(settings: &Settings) -> Result<RateLimits, RunError> {
    let Some(url) = &settings.redis_url else {
        tracing::info!("rate limits are per instance (set LATCHKEY_REDIS_URL to share them between instances)");
        return Ok(RateLimits::local());
    };
    let shared = SharedLimits::connect(url, "latchkey:ratelimit")
        .await
        .map_err(|err| RunError::Redis { url: redact_url(url), reason: err.to_string() })?;
    tracing::info!(redis = %redact_url(url), "rate limits are shared through Redis");
    Ok(RateLimits::shared(shared))
}

/// How often usage counts are staged in the database: at most this long of a killed process's counts is lost.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Stages usage counts every [`USAGE_FLUSH_INTERVAL`] until told to stop, then once more. A failed staging
/// keeps the counts for the next attempt.
async fn flush_usage(
    usage: Arc<UsageCounter>,
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut every = tokio::time::interval(USAGE_FLUSH_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let started = std::time::Instant::now();
                let staged = usage.stage(&db).await;
                metrics.usage_flushed(started.elapsed(), staged.is_ok());
                if let Err(err) = staged {
                    tracing::warn!(error = %err, unwritten = usage.unwritten(), "could not write usage counts; will retry");
                }
            }
            _ = &mut stop => break,
        }
    }
    for attempt in 1..=3 {
        match usage.stage(&db).await {
            Ok(written) => {
                tracing::info!(verifications = written, "usage counts written at shutdown");
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, attempt, unwritten = usage.unwritten(), "could not write usage counts at shutdown");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Folds staged usage (this instance's and any other's) into the usage tables every
/// [`USAGE_FLUSH_INTERVAL`], a backlog in several folds at once, until told to stop; then once more.
async fn fold_usage(db: DatabaseConnection, metrics: Arc<Metrics>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let fold_all = || async {
        loop {
            let started = std::time::Instant::now();
            let folded = app::domain::usage::counter::fold(&db).await;
            metrics.usage_folded(started.elapsed(), folded.is_ok());
            match folded {
                Ok(rows) if rows == app::domain::usage::counter::FOLD_BATCH => {}
                Ok(_) => return,
                Err(err) => {
                    tracing::warn!(error = %err, "could not fold staged usage counts; they stay staged for the next fold");
                    return;
                }
            }
        }
    };
    let mut every = tokio::time::interval(USAGE_FLUSH_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => fold_all().await,
            _ = &mut stop => break,
        }
    }
    fold_all().await;
}

/// How often finished days are rolled up, the usage windows slid and old usage deleted. A day is rolled
/// within this long of midnight UTC (until then its hours are read from the hourly tables, so charts never
/// wait for it), and a window slides within this long of the hour (until then readers subtract the hour it
/// should have left behind: one extra bucket per key).
pub const USAGE_ROLLUP_INTERVAL: Duration = Duration::from_secs(60);

async fn roll_up_usage(db: DatabaseConnection, clock: SharedClock, retention: Retention) {
    let mut every = tokio::time::interval(USAGE_ROLLUP_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match roll_up(&db, clock.now(), retention).await {
            Ok(report) if report == RollupReport::default() => {}
            Ok(report) => tracing::info!(
                days = report.days_rolled,
                windows_rebuilt = report.windows_rebuilt,
                hourly_deleted = report.hourly_deleted,
                daily_deleted = report.daily_deleted,
                "usage rolled up"
            ),
            Err(err) => tracing::warn!(error = %err, "could not roll up usage; will retry"),
        }
    }
}

/// Deletes expired sessions, long-expired portal links and the ledger rows of expired access tokens, every
/// ten minutes.
async fn delete_expired_sessions(store: DatabaseSessionStore, db: DatabaseConnection, clock: SharedClock) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match store.delete_expired().await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired sessions deleted"),
            Err(err) => tracing::warn!(error = %err, "could not delete expired sessions"),
        }
        match app::domain::portal_sessions::delete_expired(&db, clock.as_ref()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired portal links deleted"),
            Err(err) => tracing::warn!(error = %err, "could not delete expired portal links"),
        }
        match app::domain::account_links::delete_expired(&db, clock.now()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired reset and verification links deleted"),
            Err(err) => tracing::warn!(error = %err, "could not delete expired account links"),
        }
        // An expired token is inactive by its own `exp`; the ledger need not remember it.
        match app::domain::jwt::ledger::prune(&db, clock.now()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired access tokens forgotten"),
            Err(err) => tracing::warn!(error = %err, "could not delete expired access tokens"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
