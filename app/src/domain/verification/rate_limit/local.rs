//! Rate limits in memory on this instance: each limited key gets a GCRA limiter from `governor`.

use super::{RateLimitState, later, period};
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

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// Default number of limiters kept; a key whose limiter is evicted starts again with a full allowance.
pub const DEFAULT_LIMITERS: usize = 100_000;

/// The limiters of every rate-limited key seen, by key id and limit (a changed limit starts afresh).
pub struct LocalLimits {
    limiters: Cache<(Arc<str>, RateLimit), Arc<Limiter>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for LocalLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimits").field("limiters", &self.limiters.len()).finish()
    }
}

impl Default for LocalLimits {
    fn default() -> Self {
        Self::new(DEFAULT_LIMITERS)
    }
}

impl LocalLimits {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_then_is_refused_without_spending() {
        let limits = LocalLimits::default();
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
