//! A per-address limit on 401 answers from `/v1`: a client that keeps presenting tokens or keys that do not
//! work is answered 429 for the rest of the minute, before any lookup, so guessing stays slow and cheap for
//! us however fast it is sent. Checked where credentials are read (the service-token extractor and
//! `/v1/tokens`), not in a layer around every route: a layer cost the verification hot path about 1.8 µs of
//! CPU per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// 401 answers one client address may get in [`WINDOW`] before it is refused outright, by default
/// (`LATCHKEY_UNAUTHORIZED_PER_MINUTE`).
pub const UNAUTHORIZED_PER_WINDOW: u32 = 30;
/// The counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses counted at once; past this, finished windows are dropped (and, if that is not enough, all).
const MAX_TRACKED: usize = 10_000;

/// The counts: recent 401s per address, and the addresses refused until a given instant.
#[derive(Debug, Clone)]
pub struct UnauthorizedLimit {
    counts: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
    blocked: Arc<quick_cache::sync::Cache<IpAddr, Instant>>,
    /// When the last block ends, in milliseconds after `since`: while none is in force, a request (the
    /// verification hot path among them) costs one atomic read here, not a cache lookup.
    blocks_end: Arc<AtomicU64>,
    since: Instant,
    allowed: u32,
}

impl Default for UnauthorizedLimit {
    fn default() -> Self {
        Self {
            counts: Arc::default(),
            blocked: Arc::new(quick_cache::sync::Cache::new(MAX_TRACKED)),
            blocks_end: Arc::default(),
            since: Instant::now(),
            allowed: UNAUTHORIZED_PER_WINDOW,
        }
    }
}

impl UnauthorizedLimit {
    /// A fresh limit of [`UNAUTHORIZED_PER_WINDOW`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh limit of `allowed` 401 answers per address and window (at least 1).
    pub fn allowing(allowed: u32) -> Self {
        Self { allowed: allowed.max(1), ..Self::default() }
    }

    /// How long `ip` is still refused, if it is.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        self.blocked_for(ip, Instant::now())
    }

    /// Counts a 401 answered to `ip`.
    pub fn failed(&self, ip: IpAddr) {
        self.count(ip, Instant::now());
    }

    fn blocked_for(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if self.millis(now) >= self.blocks_end.load(Ordering::Relaxed) {
            return None;
        }
        self.blocked.get(&ip).and_then(|until| until.checked_duration_since(now)).filter(|left| !left.is_zero())
    }

    /// Counts a 401 answered to `ip`; blocks it once it has had its allowance in this window.
    fn count(&self, ip: IpAddr, now: Instant) {
        let Ok(mut counts) = self.counts.lock() else { return };
        if counts.len() >= MAX_TRACKED && !counts.contains_key(&ip) {
            counts.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
            if counts.len() >= MAX_TRACKED {
                counts.clear();
            }
        }
        let entry = counts.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 >= self.allowed {
            let until = entry.0 + WINDOW;
            self.blocked.insert(ip, until);
            self.blocks_end.fetch_max(self.millis(until) + 1, Ordering::Relaxed);
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.since).as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_allowance_of_401s_until_the_window_ends() {
        let limit = UnauthorizedLimit::new();
        let (ip, other): (IpAddr, IpAddr) = ("203.0.113.7".parse().expect("ip"), "203.0.113.8".parse().expect("ip"));
        let start = Instant::now();
        for _ in 0..UNAUTHORIZED_PER_WINDOW - 1 {
            limit.count(ip, start);
        }
        assert_eq!(limit.blocked_for(ip, start), None);
        limit.count(ip, start);
        assert_eq!(limit.blocked_for(ip, start), Some(WINDOW));
        assert_eq!(limit.blocked_for(other, start), None, "only the address that failed");
        assert_eq!(limit.blocked_for(ip, start + WINDOW), None, "and only until its window ends");
    }

    #[test]
    fn the_operator_sets_the_allowance() {
        let limit = UnauthorizedLimit::allowing(3);
        let ip: IpAddr = "203.0.113.9".parse().expect("ip");
        let start = Instant::now();
        limit.count(ip, start);
        limit.count(ip, start);
        assert_eq!(limit.blocked_for(ip, start), None);
        limit.count(ip, start);
        assert_eq!(limit.blocked_for(ip, start), Some(WINDOW));
    }
}
