//! Per-key rate limits on the hot path. Both kinds use GCRA: a key may spend a burst of `limit` at once
//! and gets it back evenly, one request every `window / limit`. Without Redis each instance keeps its own
//! limiters ([`LocalLimits`]), so N instances allow up to N times the limit; with Redis every instance
//! charges the same counter in one atomic script ([`SharedLimits`]), and the limit is exact.

mod local;
mod shared;

pub use local::LocalLimits;
pub use shared::{SharedLimits, SharedLimitsError};

use crate::domain::keys::controls::RateLimit;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

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

/// The rate limits one instance enforces: shared through Redis when configured, else its own. While Redis
/// cannot be reached, limits fall back to this instance's own, so verification never stops on it.
#[derive(Debug, Default)]
pub struct RateLimits {
    local: LocalLimits,
    shared: Option<SharedLimits>,
}

impl RateLimits {
    /// Limits kept in this instance only.
    pub fn local() -> Self {
        Self::default()
    }

    /// Limits kept in Redis, shared by every instance.
    pub fn shared(shared: SharedLimits) -> Self {
        Self { local: LocalLimits::default(), shared: Some(shared) }
    }

    /// Takes one request from `key_id`'s allowance: `Ok` with what is left, or `Err` (nothing taken) with
    /// when a request will be allowed again. `now` dates `reset_at`.
    pub async fn take(
        &self,
        key_id: &Arc<str>,
        rate: RateLimit,
        now: DateTime<Utc>,
    ) -> Result<RateLimitState, RateLimitState> {
        if let Some(shared) = &self.shared {
            // Boxed: only keys with a limit on a deployment with Redis need it; see `Verifier::record`.
            match Box::pin(shared.take(key_id, rate, now)).await {
                Ok(outcome) => return outcome,
                Err(err) => shared.warn_falling_back(&err),
            }
        }
        self.local.take(key_id, rate, now)
    }
}

/// Which store the limits are kept in, as the operator's metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsBackend {
    /// This instance's memory: nothing to fail.
    Local,
    /// Redis, and whether its last answer came (limits fall back to the instance's own while it does not).
    Redis {
        /// The last request to Redis was answered.
        answering: bool,
    },
}

impl RateLimits {
    /// Where limits are kept and, for Redis, whether it is answering.
    pub fn backend(&self) -> LimitsBackend {
        match &self.shared {
            None => LimitsBackend::Local,
            Some(shared) => LimitsBackend::Redis { answering: shared.answering() },
        }
    }
}

/// The time between two requests at a steady `rate`.
fn period(rate: RateLimit) -> Duration {
    Duration::from_secs(u64::from(rate.window_seconds)) / rate.limit.max(1)
}

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}
