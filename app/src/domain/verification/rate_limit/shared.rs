//! Rate limits shared by every instance through Redis: GCRA in one Lua script, so the read, the decision
//! and the write are one atomic step however many instances charge the same key. The script uses Redis's
//! clock, so instances whose clocks disagree still agree on the limit.

use super::{RateLimitState, later, period};
use crate::domain::keys::controls::RateLimit;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

/// GCRA ("generic cell rate algorithm"): the key's state is its theoretical arrival time (TAT), in
/// microseconds. A request is allowed when `TAT + interval - burst * interval <= now`; allowing it moves
/// the TAT on by one interval. A refused request changes nothing.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, 0, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((burst * interval - (new_tat - now)) / interval), new_tat - now}
";

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA));

/// How long a verification waits for Redis before using this instance's own limits instead.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// Redis could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SharedLimitsError(#[from] redis::RedisError);

/// Limits kept in Redis.
#[derive(Clone)]
pub struct SharedLimits {
    connection: ConnectionManager,
    namespace: Arc<str>,
    last_warning: Arc<AtomicI64>,
    answering: Arc<AtomicBool>,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl SharedLimits {
    /// Connects to the Redis at `url` (which may hold a password: it is not kept or shown) and checks that
    /// it answers. Keys are stored under `namespace`.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, SharedLimitsError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        let mut connection = ConnectionManager::new_with_config(client, config).await?;
        redis::cmd("PING").query_async::<()>(&mut connection).await?;
        Ok(Self {
            connection,
            namespace: Arc::from(namespace),
            last_warning: Arc::new(AtomicI64::new(0)),
            answering: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Takes one request from `key_id`'s allowance in Redis. The outer `Err` is Redis failing.
    pub async fn take(
        &self,
        key_id: &str,
        rate: RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Result<RateLimitState, RateLimitState>, SharedLimitsError> {
        let interval = u64::try_from(period(rate).as_micros()).unwrap_or(u64::MAX).max(1);
        // A changed limit starts afresh, as it does in memory.
        let key = format!("{}:{key_id}:{}:{}", self.namespace, rate.limit, rate.window_seconds);
        let answer = SCRIPT.key(key).arg(interval).arg(rate.limit).invoke_async(&mut self.connection.clone()).await;
        // Written only when it changes: every instance thread reads this cache line.
        if self.answering.load(Ordering::Relaxed) != answer.is_ok() {
            self.answering.store(answer.is_ok(), Ordering::Relaxed);
        }
        let (allowed, remaining, reset_after): (i64, i64, i64) = answer?;
        let reset_at = later(now, Duration::from_micros(u64::try_from(reset_after).unwrap_or(0)));
        let remaining = u32::try_from(remaining).unwrap_or(0).min(rate.limit);
        let state = RateLimitState { limit: rate.limit, remaining, reset_at };
        Ok(if allowed == 1 { Ok(state) } else { Err(state) })
    }

    /// Whether the last request to Redis was answered.
    pub fn answering(&self) -> bool {
        self.answering.load(Ordering::Relaxed)
    }

    /// Says, at most every ten seconds, that limits are per instance until Redis answers again.
    pub(super) fn warn_falling_back(&self, err: &SharedLimitsError) {
        let now = Utc::now().timestamp();
        let last = self.last_warning.load(Ordering::Relaxed);
        if now - last >= 10
            && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(error = %err, "rate limits fall back to this instance's own until Redis answers");
        }
    }
}
