//! `GET /metrics` on its own listener, and the numbers read only when Prometheus asks: cache sizes and
//! hits, pending usage, the change feed's lag, the rate-limit store, the mail and webhook queues, the
//! database pool.

use super::{Metrics, counter, gauge, gauge_vec};
use crate::v1::VerificationServices;
use app::domain::changes::FeedStatus;
use app::domain::clock::SharedClock;
use app::domain::database::pool_use;
use app::domain::verification::LimitsBackend;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{Gauge, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The metrics whose values live elsewhere and are copied in at each scrape.
#[derive(Clone)]
pub(crate) struct Gauges {
    cache_hits: IntCounter,
    key_lookups: IntCounter,
    cache_entries: IntGaugeVec,
    usage_pending: IntGauge,
    feed_lag: Gauge,
    rate_limit_store: IntGaugeVec,
    queue_depth: IntGaugeVec,
    queue_oldest: GaugeVec,
    pool: IntGaugeVec,
}

impl Gauges {
    pub(crate) fn new(registry: &Registry) -> Self {
        let float_vec = |name: &str, help: &str, labels: &[&str]| {
            let metric = GaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|err| super::invalid(name, &err));
            super::registered(registry, metric)
        };
        let float = |name: &str, help: &str| {
            let metric = Gauge::with_opts(Opts::new(name, help)).unwrap_or_else(|err| super::invalid(name, &err));
            super::registered(registry, metric)
        };
        Self {
            cache_hits: counter(
                registry,
                "latchkey_key_cache_hits_total",
                "Key lookups answered from memory (a key, or a hash known to match none)",
            ),
            key_lookups: counter(
                registry,
                "latchkey_key_database_lookups_total",
                "Keys read from the database: cache misses",
            ),
            cache_entries: gauge_vec(
                registry,
                "latchkey_key_cache_entries",
                "Entries in the key cache: keys, and hashes known to match no key",
                &["kind"],
            ),
            usage_pending: gauge(
                registry,
                "latchkey_usage_pending_verifications",
                "Verifications counted in memory and not yet staged in the database",
            ),
            feed_lag: float(
                "latchkey_change_feed_lag_seconds",
                "Time since this instance last read the key change feed to its end",
            ),
            rate_limit_store: gauge_vec(
                registry,
                "latchkey_rate_limit_store_up",
                "1 when rate limits are kept where configured (local, or a Redis that answers); 0 while they fall back to this instance",
                &["store"],
            ),
            queue_depth: gauge_vec(
                registry,
                "latchkey_queue_depth",
                "Messages (mail) and deliveries (webhooks) waiting to go out, and usage counts staged and not yet folded into the usage tables (usage)",
                &["queue"],
            ),
            queue_oldest: float_vec(
                "latchkey_queue_oldest_age_seconds",
                "How long the oldest waiting entry of a queue has waited",
                &["queue"],
            ),
            pool: gauge_vec(
                registry,
                "latchkey_database_pool_connections",
                "Database pool connections: in use, idle, and the most it opens",
                &["state"],
            ),
        }
    }
}

/// Where the numbers read at scrape time come from.
#[derive(Clone)]
pub struct Sources {
    /// The database: pool use and queue depths.
    pub db: DatabaseConnection,
    /// The verification engine: its cache, usage counter and rate limits.
    pub verification: VerificationServices,
    /// The change follower's progress.
    pub feed: FeedStatus,
    /// The time, for ages.
    pub clock: SharedClock,
}

/// Raises a counter kept by Prometheus to a count kept elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    let shown = counter.get();
    if total > shown {
        counter.inc_by(total - shown);
    }
}

fn as_gauge(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

impl Metrics {
    /// Copies the numbers kept elsewhere into the registry. A queue that cannot be read keeps its last value
    /// (and the failure is logged); the rest is still refreshed.
    pub async fn refresh(&self, sources: &Sources) {
        let gauges = &self.read_at_scrape;
        let verifier = &sources.verification.verifier;
        catch_up(&gauges.cache_hits, verifier.cache_hits());
        catch_up(&gauges.key_lookups, verifier.database_lookups());
        let (keys, unknown) = verifier.cache().len();
        gauges.cache_entries.with_label_values(&["key"]).set(as_gauge(keys));
        gauges.cache_entries.with_label_values(&["unknown"]).set(as_gauge(unknown));
        gauges.usage_pending.set(as_gauge(verifier.usage().unwritten()));
        let now = sources.clock.now();
        gauges.feed_lag.set(sources.feed.lag(now).as_secs_f64());
        let (store, up) = match verifier.rate_limits().backend() {
            LimitsBackend::Local => ("local", true),
            LimitsBackend::Redis { answering } => ("redis", answering),
        };
        gauges.rate_limit_store.with_label_values(&[store]).set(i64::from(up));
        for (queue, backlog) in [
            ("mail", app::domain::backlog::mail(&sources.db).await),
            ("webhooks", app::domain::backlog::webhooks(&sources.db).await),
            ("usage", app::domain::backlog::usage(&sources.db).await),
        ] {
            match backlog {
                Ok(backlog) => {
                    gauges.queue_depth.with_label_values(&[queue]).set(as_gauge(backlog.depth));
                    gauges.queue_oldest.with_label_values(&[queue]).set(backlog.oldest_age(now).as_secs_f64());
                }
                Err(err) => tracing::warn!(error = %err, queue, "metrics: could not read the queue"),
            }
        }
        if let Some(pool) = pool_use(&sources.db) {
            gauges.pool.with_label_values(&["in_use"]).set(i64::from(pool.open.saturating_sub(pool.idle)));
            gauges.pool.with_label_values(&["idle"]).set(i64::from(pool.idle));
            gauges.pool.with_label_values(&["max"]).set(i64::from(pool.max));
        }
    }
}

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    sources: Sources,
    // Two scrapes at once would both raise the copied counters by the same difference.
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

/// The router of the metrics listener: `GET /metrics`, and nothing else.
pub fn router(metrics: Arc<Metrics>, sources: Sources) -> Router {
    let state = Scrape { metrics, sources, one_at_a_time: Arc::default() };
    Router::new().route("/metrics", get(answer)).with_state(state)
}

async fn answer(State(scrape): State<Scrape>) -> Response {
    let _one = scrape.one_at_a_time.lock().await;
    scrape.metrics.refresh(&scrape.sources).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(prometheus::TEXT_FORMAT))],
        scrape.metrics.render(),
    )
        .into_response()
}
