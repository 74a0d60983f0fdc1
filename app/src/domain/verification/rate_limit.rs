//! Per-key rate limits on the hot path, in memory on this instance. Each limited key gets a GCRA limiter
//! from `governor` allowing a burst of `limit` and refilling one request every `window / limit`, so a
//! client can spend the whole allowance at once and then gets it back evenly over one window.

use crate::domain::keys::controls::RateLimit;
use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use quick_cache::sync::Cache;
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// Default number of limiters kept; a key whose limiter is evicted starts again with a full allowance.
pub const DEFAULT_LIMITERS: usize = 100_000;

/// Where a key stands against its limit after a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left right now.
    pub remaining: u32,
    /// When the full allowance is back.
    pub reset_at: DateTime<Utc>,
}

/// The limiters of every rate-limited key seen, by key id and limit (a changed limit starts afresh).
pub struct RateLimits {
    limiters: Cache<(Arc<str>, RateLimit), Arc<Limiter>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").field("limiters", &self.limiters.len()).finish()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(DEFAULT_LIMITERS)
    }
}

fn period(rate: RateLimit) -> Duration {
    Duration::from_secs(u64::from(rate.window_seconds)) / rate.limit.max(1)
}

impl RateLimits {
    /// Keeps at most `capacity` limiters.
    pub fn new(capacity: usize) -> Self {
        Self { limiters: Cache::new(capacity.max(1)), clock: DefaultClock::default() }
    }

    /// Takes one request from `key_id`'s allowance: `Ok` with what is left, or `Err` (nothing taken) with
    /// when a request will be allowed again. `now` dates `reset_at`.
    pub fn take(
        &self,
        key_id: &Arc<str>,
        rate: RateLimit,
        now: DateTime<Utc>,
    ) -> Result<RateLimitState, RateLimitState> {
        let burst = NonZeroU32::new(rate.limit).unwrap_or(NonZeroU32::MIN);
        let limiter = self.limiters.get_or_insert_with(&(key_id.clone(), rate), || {
            let quota = Quota::with_period(period(rate)).unwrap_or(Quota::per_second(burst)).allow_burst(burst);
            Ok::<_, Infallible>(Arc::new(
                RateLimiter::direct_with_clock(quota, self.clock.clone())
                    .with_middleware::<StateInformationMiddleware>(),
            ))
        });
        let Ok(limiter) = limiter;
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let refill = period(rate) * (rate.limit - remaining.min(rate.limit));
                Ok(RateLimitState { limit: rate.limit, remaining, reset_at: later(now, refill) })
            }
            Err(not_until) => {
                // The next request is allowed after `wait`; the rest of the allowance follows one period apart.
                let wait = not_until.wait_time_from(self.clock.now());
                let full = wait + period(rate) * (rate.limit - 1);
                Err(RateLimitState { limit: rate.limit, remaining: 0, reset_at: later(now, full) })
            }
        }
    }
}

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_then_is_refused_without_spending() {
        let limits = RateLimits::default();
        let key: Arc<str> = Arc::from("k");
        let rate = RateLimit { limit: 3, window_seconds: 60 };
        let now = Utc::now();
        let taken: Vec<u32> =
            (0..3).map(|_| limits.take(&key, rate, now).expect("within the limit").remaining).collect();
        assert_eq!(taken, [2, 1, 0]);
        let refused = limits.take(&key, rate, now).expect_err("over the limit");
        assert_eq!((refused.limit, refused.remaining), (3, 0));
        assert!(refused.reset_at > now);
        // Another key, or the same key under a new limit, has its own allowance.
        assert!(limits.take(&Arc::from("other"), rate, now).is_ok());
        assert!(limits.take(&key, RateLimit { limit: 5, window_seconds: 60 }, now).is_ok());
    }
}
