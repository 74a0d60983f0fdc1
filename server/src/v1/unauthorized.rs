//! A per-address limit on 401 answers from `/v1`: a client that keeps presenting tokens or keys that do not
//! work is answered 429 for the rest of the minute, so guessing stays slow and cheap for us however fast it
//! is sent. Checked where credentials are read (the service-token extractor and the routes an API key
//! authenticates), not in a layer around every route: a layer cost the verification hot path about 1.8 µs
//! of CPU per request.
//!
//! The block is on credentials that do not work, never on the address: services share addresses (a NAT
//! gateway, a cluster's egress, one host's sidecars), and one of them left with an old token must not stop
//! the others. While an address is blocked, a credential this instance already knows to work is answered as
//! usual; one it knows not to work, or one that failed during this block, is refused without a lookup; one it
//! has not seen is looked up at most [`LOOKUPS_WHILE_BLOCKED`] times a second per address, so a guesser
//! sending new credentials still costs us one indexed read a second. A working credential is refused only
//! when it is new to this instance and a guesser at its address has just spent that second's look-up.

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
/// Credentials not seen before that one blocked address may have looked up each second.
pub const LOOKUPS_WHILE_BLOCKED: u32 = 1;
/// Credentials that failed during a block, remembered so that they are refused without another look-up.
const MAX_REFUSED: usize = 10_000;

/// What an instance knows of a presented credential without reading the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// It worked when last checked.
    Works,
    /// It did not work a moment ago.
    Fails,
    /// Not seen lately.
    Unseen,
}

impl From<Option<bool>> for Known {
    /// The caches' answer (`Some(works)`, or `None` when they have not seen it lately).
    fn from(seen: Option<bool>) -> Self {
        match seen {
            Some(true) => Self::Works,
            Some(false) => Self::Fails,
            None => Self::Unseen,
        }
    }
}

/// The counts: recent 401s per address, and the addresses refused until a given instant.
#[derive(Debug, Clone)]
pub struct UnauthorizedLimit {
    counts: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
    blocked: Arc<quick_cache::sync::Cache<IpAddr, Instant>>,
    /// When the last block ends, in milliseconds after `since`: while none is in force, a request (the
    /// verification hot path among them) costs one atomic read here, not a cache lookup.
    blocks_end: Arc<AtomicU64>,
    /// When each blocked address may next have an unseen credential looked up.
    next_lookup: Arc<quick_cache::sync::Cache<IpAddr, Instant>>,
    /// Credentials that failed while their address was blocked, by address and fingerprint, until when.
    refused: Arc<quick_cache::sync::Cache<(IpAddr, u64), Instant>>,
    /// Seeds the fingerprints, so that nobody outside can make two credentials share one.
    fingerprints: std::collections::hash_map::RandomState,
    since: Instant,
    allowed: u32,
}

impl Default for UnauthorizedLimit {
    fn default() -> Self {
        Self {
            counts: Arc::default(),
            blocked: Arc::new(quick_cache::sync::Cache::new(MAX_TRACKED)),
            blocks_end: Arc::default(),
            next_lookup: Arc::new(quick_cache::sync::Cache::new(MAX_TRACKED)),
            refused: Arc::new(quick_cache::sync::Cache::new(MAX_REFUSED)),
            fingerprints: std::collections::hash_map::RandomState::new(),
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

    /// Whether a request from `ip`, blocked for now, presenting `credential` (of which this instance knows
    /// `known`) is answered in full: see the module's comment. When it is and its credential then fails,
    /// call [`Self::failed_while_blocked`].
    pub fn admits_while_blocked(&self, ip: IpAddr, credential: &str, known: Known) -> bool {
        self.admits_at(ip, credential, known, Instant::now())
    }

    /// Remembers that `credential` failed from `ip` while it was blocked, so that it is refused without a
    /// look-up until the block ends.
    pub fn failed_while_blocked(&self, ip: IpAddr, credential: &str) {
        let now = Instant::now();
        let until = self.blocked.get(&ip).unwrap_or(now + WINDOW);
        self.refused.insert((ip, self.fingerprint(credential)), until);
        self.count(ip, now);
    }

    fn admits_at(&self, ip: IpAddr, credential: &str, known: Known, now: Instant) -> bool {
        match known {
            Known::Works => true,
            Known::Fails => false,
            Known::Unseen => {
                if self.refused.get(&(ip, self.fingerprint(credential))).is_some_and(|until| until > now) {
                    return false;
                }
                if self.next_lookup.get(&ip).is_some_and(|next| next > now) {
                    return false;
                }
                self.next_lookup.insert(ip, now + Duration::from_secs(1) / LOOKUPS_WHILE_BLOCKED);
                true
            }
        }
    }

    fn fingerprint(&self, credential: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.fingerprints, credential)
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
    fn a_blocked_address_still_has_working_credentials_answered_and_unseen_ones_looked_up_once_a_second() {
        let limit = UnauthorizedLimit::allowing(1);
        let ip: IpAddr = "203.0.113.10".parse().expect("ip");
        let start = Instant::now();
        limit.count(ip, start);
        assert!(limit.blocked_for(ip, start).is_some());
        assert!(limit.admits_at(ip, "good", Known::Works, start), "a credential known to work");
        assert!(!limit.admits_at(ip, "stale", Known::Fails, start), "a credential known to fail");
        assert!(limit.admits_at(ip, "new", Known::Unseen, start), "one unseen credential is looked up");
        assert!(!limit.admits_at(ip, "newer", Known::Unseen, start), "and no second in the same second");
        let later = start + Duration::from_secs(1);
        limit.refused.insert((ip, limit.fingerprint("stale")), start + WINDOW);
        assert!(!limit.admits_at(ip, "stale", Known::Unseen, later), "one that failed in this block is not again");
        assert!(limit.admits_at(ip, "newer", Known::Unseen, later), "the next second, the next unseen one");
        assert!(limit.admits_at(ip, "stale", Known::Unseen, start + WINDOW), "after the block, looked up again");
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
