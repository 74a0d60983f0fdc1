//! What an operator watches: counters and histograms in Prometheus' text format, served on an address of
//! their own ([`scrape`]). The hot path only bumps atomics here: handles are resolved once, at start, and
//! the numbers other parts keep (cache sizes, queue depths, pool use) are read when Prometheus asks.

pub mod scrape;

use app::domain::verification::Code;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// Verification latency buckets, in seconds: a cached key answers in microseconds, a cache miss in a
/// database round trip.
const VERIFY_BUCKETS: &[f64] =
    &[0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// Usage flush buckets, in seconds.
const FLUSH_BUCKETS: &[f64] = &[0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Every metric of one process, registered in a registry of its own (tests start many).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    verifications: Vec<IntCounter>,
    verification_seconds: Histogram,
    http_requests: IntCounterVec,
    usage_flush_seconds: Histogram,
    usage_flush_failures: IntCounter,
    usage_fold_seconds: Histogram,
    usage_fold_failures: IntCounter,
    pub(crate) read_at_scrape: scrape::Gauges,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers `metric` and hands it back; a name registered twice is a bug in this module, caught by its
/// tests, so it is not an error callers could handle.
fn registered<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    if let Err(err) = registry.register(Box::new(metric.clone())) {
        tracing::error!(error = %err, "a metric could not be registered");
    }
    metric
}

pub(crate) fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(registry, IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|err| invalid(name, &err)))
}

pub(crate) fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    registered(registry, IntCounter::with_opts(Opts::new(name, help)).unwrap_or_else(|err| invalid(name, &err)))
}

pub(crate) fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    registered(registry, IntGauge::with_opts(Opts::new(name, help)).unwrap_or_else(|err| invalid(name, &err)))
}

pub(crate) fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    registered(registry, IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|err| invalid(name, &err)))
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    registered(registry, Histogram::with_opts(opts).unwrap_or_else(|err| invalid(name, &err)))
}

/// The names and buckets above are constants; a metric they cannot make is a programming error.
fn invalid(name: &str, err: &prometheus::Error) -> ! {
    panic!("metric {name} is declared wrongly: {err}")
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let by_code = counter_vec(
            &registry,
            "latchkey_verifications_total",
            "Key verifications answered by POST /v1/keys/verify, by code",
            &["code"],
        );
        // Resolved once, in `Code::ALL` order, so counting one is an atomic add.
        let verifications = Code::ALL.iter().map(|code| by_code.with_label_values(&[code.as_str()])).collect();
        let verification_seconds = histogram(
            &registry,
            "latchkey_verification_duration_seconds",
            "Time to decide a verification, from the parsed request to the answer",
            VERIFY_BUCKETS,
        );
        let http_requests = counter_vec(
            &registry,
            "latchkey_http_requests_total",
            "HTTP requests answered, by route pattern (unmatched for none) and status",
            &["route", "status"],
        );
        let usage_flush_seconds = histogram(
            &registry,
            "latchkey_usage_flush_duration_seconds",
            "Time to stage a second's usage counts in the database",
            FLUSH_BUCKETS,
        );
        let usage_flush_failures = counter(
            &registry,
            "latchkey_usage_flush_failures_total",
            "Usage stagings that failed (their counts are kept in memory and staged by a later one)",
        );
        let usage_fold_seconds = histogram(
            &registry,
            "latchkey_usage_fold_duration_seconds",
            "Time to fold staged usage counts into the usage tables",
            FLUSH_BUCKETS,
        );
        let usage_fold_failures = counter(
            &registry,
            "latchkey_usage_fold_failures_total",
            "Folds of staged usage that failed (the counts stay staged for a later fold)",
        );
        if let Err(err) = registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self())) {
            tracing::warn!(error = %err, "process metrics are not available");
        }
        let read_at_scrape = scrape::Gauges::new(&registry);
        Self {
            registry,
            verifications,
            verification_seconds,
            http_requests,
            usage_flush_seconds,
            usage_flush_failures,
            usage_fold_seconds,
            usage_fold_failures,
            read_at_scrape,
        }
    }

    /// Counts a verification answered `code` after `took`.
    pub fn verified(&self, code: Code, took: Duration) {
        if let Some(counter) = Code::ALL.iter().position(|known| *known == code).and_then(|i| self.verifications.get(i))
        {
            counter.inc();
        }
        self.verification_seconds.observe(took.as_secs_f64());
    }

    /// Counts an HTTP answer with `status` to a request for `route` (the pattern, never the path: paths
    /// carry ids and secrets, and would make a series per key).
    pub fn answered(&self, route: &str, status: axum::http::StatusCode) {
        self.http_requests.with_label_values(&[route, status.as_str()]).inc();
    }

    /// Records one staging of usage counts: how long it took and whether it failed.
    pub fn usage_flushed(&self, took: Duration, ok: bool) {
        self.usage_flush_seconds.observe(took.as_secs_f64());
        if !ok {
            self.usage_flush_failures.inc();
        }
    }

    /// Records one fold of staged usage: how long it took and whether it failed.
    pub fn usage_folded(&self, took: Duration, ok: bool) {
        self.usage_fold_seconds.observe(took.as_secs_f64());
        if !ok {
            self.usage_fold_failures.inc();
        }
    }

    /// Everything, in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_else(|err| {
            tracing::error!(error = %err, "metrics could not be encoded");
            String::new()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_registers_and_renders() {
        let metrics = Metrics::new();
        metrics.verified(Code::Valid, Duration::from_micros(40));
        metrics.verified(Code::NotFound, Duration::from_micros(900));
        metrics.answered("/v1/keys/verify", axum::http::StatusCode::OK);
        metrics.usage_flushed(Duration::from_millis(3), false);
        let text = metrics.render();
        assert!(text.contains(r#"latchkey_verifications_total{code="VALID"} 1"#), "{text}");
        assert!(text.contains(r#"latchkey_verifications_total{code="NOT_FOUND"} 1"#), "{text}");
        assert!(text.contains(r#"latchkey_verifications_total{code="EXPIRED"} 0"#), "every code from the start");
        assert!(text.contains("latchkey_verification_duration_seconds_count 2"), "{text}");
        assert!(text.contains(r#"latchkey_http_requests_total{route="/v1/keys/verify",status="200"} 1"#));
        assert!(text.contains("latchkey_usage_flush_failures_total 1"), "{text}");
    }
}
