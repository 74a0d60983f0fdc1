//! The background task that keeps one instance's caches in step with the feed: a poll every interval, an
//! immediate catch-up when PostgreSQL notifies, and a flush of everything cached whenever the listening
//! connection is lost or comes back.

use super::{CHANNEL, Follower, KEEP_CHANGES, prune};
use chrono::Utc;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::time::Duration;
use tokio::sync::mpsc;

/// How an instance follows the feed.
#[derive(Clone)]
pub struct FollowSettings {
    /// How often the feed is read even without a notification; at most [`super::MAX_POLL_INTERVAL`].
    pub poll_interval: Duration,
    /// The PostgreSQL URL to listen on for notifications; `None` polls only (SQLite, or a connection pooler
    /// in transaction mode, which does not pass notifications on).
    pub listen_url: Option<String>,
}

impl std::fmt::Debug for FollowSettings {
    // The URL may carry the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowSettings")
            .field("poll_interval", &self.poll_interval)
            .field("listening", &self.listen_url.is_some())
            .finish()
    }
}

/// The name the listening connection shows in `pg_stat_activity`, so an operator (or a test) can tell
/// which process it belongs to.
fn listener_application_name() -> String {
    format!("latchkey listener {}", std::process::id())
}

/// What the listening task reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    /// A change was committed somewhere.
    Notified,
    /// Listening (again): notifications from before may have been missed.
    Connected,
    /// The listening connection failed; polling carries on.
    Lost,
}

/// Follows the feed until the task is dropped. A failed read is retried at the next tick; the follower
/// never skips a change it could not read.
pub async fn follow(db: DatabaseConnection, mut follower: Follower, settings: FollowSettings) {
    tracing::info!(
        poll_every = ?settings.poll_interval,
        listening = settings.listen_url.is_some(),
        "following key changes made by other instances"
    );
    let (heard_tx, mut heard) = mpsc::channel(16);
    let _listener = settings.listen_url.map(|url| AbortOnDrop(tokio::spawn(listen(url, heard_tx))));
    let mut every = tokio::time::interval(settings.poll_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune_every = tokio::time::interval(KEEP_CHANGES / 12);
    prune_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            Some(event) = heard.recv() => {
                let mut flush = event != Heard::Notified;
                // A burst of notifications needs one catch-up.
                while let Ok(more) = heard.try_recv() {
                    flush |= more != Heard::Notified;
                }
                if flush {
                    follower.caches().forget_everything();
                }
            }
            _ = prune_every.tick() => {
                let keep = chrono::Duration::from_std(KEEP_CHANGES).unwrap_or(chrono::Duration::MAX);
                if let Err(err) = prune(&db, Utc::now() - keep).await {
                    tracing::warn!(error = %err, "could not delete old key changes");
                }
                continue;
            }
        }
        match follower.catch_up(&db).await {
            Ok(done) if done.forgot_everything => {
                tracing::warn!("the key change feed was out of reach for a long time; every cached key was dropped");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not read key changes; will retry"),
        }
    }
}

/// Stops the listening task (and closes its connection) when the follower stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listens for notifications on its own connection and reports what it hears, reconnecting for ever.
async fn listen(url: String, heard: mpsc::Sender<Heard>) {
    let mut failures = 0u32;
    loop {
        match connect(&url).await {
            Ok(mut listener) => {
                failures = 0;
                tracing::debug!("listening for key changes");
                if heard.send(Heard::Connected).await.is_err() {
                    return;
                }
                loop {
                    let event = match listener.try_recv().await {
                        Ok(Some(_)) => Heard::Notified,
                        // The connection was lost and has been re-established (sqlx reconnects eagerly).
                        Ok(None) => {
                            tracing::warn!("the key change listener reconnected; cached keys dropped");
                            Heard::Connected
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "the key change listener lost its connection; polling meanwhile");
                            let _ = heard.send(Heard::Lost).await;
                            break;
                        }
                    };
                    if heard.send(event).await.is_err() {
                        return;
                    }
                }
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(60) {
                    tracing::warn!(error = %err, failures, "cannot listen for key changes; polling meanwhile");
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.application_name(&listener_application_name()));
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
