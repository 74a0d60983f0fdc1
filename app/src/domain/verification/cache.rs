//! The in-memory key cache the hot path reads: keys by hash, and a negative cache of hashes that matched no
//! key. Both are bounded. Every key change invalidates at once; a load that raced with an invalidation is
//! not cached, so an entry read before a revocation committed can never outlive the revocation.

use super::decision::KeyRecord;
use crate::domain::keys::format::KeyHash;
use quick_cache::sync::Cache;
use std::sync::{Arc, Mutex, MutexGuard};

/// Default number of keys kept.
pub const DEFAULT_KEYS: usize = 100_000;
/// Default number of unknown hashes kept.
pub const DEFAULT_UNKNOWN: usize = 10_000;

/// What the cache knows about a hash.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A stored key.
    Key(Arc<KeyRecord>),
    /// No key has this hash.
    Unknown,
}

/// A ticket taken before a database read; the result may be cached only if nothing was invalidated since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// The bounded key and negative caches.
pub struct KeyCache {
    keys: Cache<KeyHash, Arc<KeyRecord>>,
    unknown: Cache<KeyHash, ()>,
    // Invalidations and cache fills take this lock (reads do not), so a fill can check that no invalidation
    // happened since its database read began and insert in one step.
    generation: Mutex<u64>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").field("keys", &self.keys.len()).field("unknown", &self.unknown.len()).finish()
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_KEYS, DEFAULT_UNKNOWN)
    }
}

impl KeyCache {
    /// A cache holding at most `keys` keys and `unknown` unknown hashes.
    pub fn new(keys: usize, unknown: usize) -> Self {
        Self { keys: Cache::new(keys.max(1)), unknown: Cache::new(unknown.max(1)), generation: Mutex::new(0) }
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What is cached for `hash`, without touching the database.
    pub fn get(&self, hash: &KeyHash) -> Option<Cached> {
        if let Some(record) = self.keys.get(hash) {
            return Some(Cached::Key(record));
        }
        self.unknown.get(hash).map(|()| Cached::Unknown)
    }

    /// Take this before reading a key from the database; hand it to [`Self::fill`] afterwards.
    pub fn generation(&self) -> Generation {
        Generation(*self.lock())
    }

    /// Caches what the database said about `hash`, unless something was invalidated since `read_began`.
    pub fn fill(&self, hash: KeyHash, found: Cached, read_began: Generation) {
        let generation = self.lock();
        if *generation != read_began.0 {
            return;
        }
        match found {
            Cached::Key(record) => {
                self.keys.insert(hash, record);
            }
            Cached::Unknown => self.unknown.insert(hash, ()),
        }
    }

    /// Forgets `hash`: its key changed, or a key with this hash was just created.
    pub fn invalidate(&self, hash: &KeyHash) {
        let mut generation = self.lock();
        *generation += 1;
        self.keys.remove(hash);
        self.unknown.remove(hash);
    }

    /// Forgets everything (for changes to many keys at once, such as deleting an account).
    pub fn clear(&self) {
        let mut generation = self.lock();
        *generation += 1;
        self.keys.clear();
        self.unknown.clear();
    }

    /// How many keys and unknown hashes are cached.
    pub fn len(&self) -> (usize, usize) {
        (self.keys.len(), self.unknown.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::format::{self, KeyPrefix};

    fn record() -> Arc<KeyRecord> {
        Arc::new(super::super::decision::tests::record())
    }

    fn some_hash() -> KeyHash {
        format::hash(&format::generate(&KeyPrefix::default()).expect("random"))
    }

    #[test]
    fn a_read_that_raced_with_an_invalidation_is_not_cached() {
        let cache = KeyCache::default();
        let hash = some_hash();
        let read_began = cache.generation();
        // The key is revoked while the (stale) read is in flight.
        cache.invalidate(&hash);
        cache.fill(hash, Cached::Key(record()), read_began);
        assert!(cache.get(&hash).is_none(), "the stale row must not be served from the cache");
        let read_began = cache.generation();
        cache.fill(hash, Cached::Key(record()), read_began);
        assert!(matches!(cache.get(&hash), Some(Cached::Key(_))));
    }

    #[test]
    fn creating_a_key_forgets_that_its_hash_was_unknown() {
        let cache = KeyCache::default();
        let hash = some_hash();
        cache.fill(hash, Cached::Unknown, cache.generation());
        assert!(matches!(cache.get(&hash), Some(Cached::Unknown)));
        cache.invalidate(&hash);
        assert!(cache.get(&hash).is_none());
    }

    #[test]
    fn the_caches_are_bounded() {
        let cache = KeyCache::new(10, 10);
        for _ in 0..100 {
            cache.fill(some_hash(), Cached::Unknown, cache.generation());
        }
        assert!(cache.len().1 <= 10, "{:?}", cache.len());
    }
}
