//! The verification engine: the hot path behind `POST /v1/keys/verify`.
//!
//! A presented key is checked for format and checksum first (MALFORMED touches neither cache nor
//! database), then looked up by hash in the in-memory [`KeyCache`] and only on a miss in the database, then
//! decided ([`decide`]), then charged against its rate limit, and finally counted for usage in memory.

mod cache;
mod decision;
mod rate_limit;

pub use cache::{Cached, Generation, KeyCache};
pub use decision::{Ask, Code, KeyRecord, Owner, decide, works_at};
pub use rate_limit::{LimitsBackend, LocalLimits, RateLimitState, RateLimits, SharedLimits, SharedLimitsError};

use crate::domain::clock::SharedClock;
use crate::domain::keys::format::{self, KeyHash, KeyPrefix};
use crate::domain::storage::api_keys::{Column, Entity};
use crate::domain::storage::organisations;
use crate::domain::usage::UsageCounter;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a service asks about a presented key.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The key as presented (never logged).
    pub key: &'a str,
    /// Scopes the request needs; all are required.
    pub scopes: &'a [String],
    /// The end client's address, when the service passes it on.
    pub ip: Option<IpAddr>,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("key", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("ip", &self.ip)
            .finish()
    }
}

/// The answer to a verification.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The outcome.
    pub code: Code,
    /// The stored key, unless the code is MALFORMED or NOT_FOUND.
    pub key: Option<Arc<KeyRecord>>,
    /// Where the key stands against its rate limit, if it has one and got that far.
    pub rate_limit: Option<RateLimitState>,
}

impl Verdict {
    fn bare(code: Code) -> Self {
        Self { code, key: None, rate_limit: None }
    }

    /// Whether the key may be used.
    pub fn is_valid(&self) -> bool {
        self.code == Code::Valid
    }

    /// A valid key that was rolled: it works only until its grace period ends.
    pub fn rolled(&self) -> bool {
        self.is_valid() && self.key.as_ref().is_some_and(|key| key.rolled)
    }
}

/// Why a key is being checked, which decides how a pass is counted in usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verification,
    TokenExchange,
}

/// The verification engine of one instance.
pub struct Verifier {
    prefix: KeyPrefix,
    clock: SharedClock,
    cache: Arc<KeyCache>,
    limits: RateLimits,
    usage: Arc<UsageCounter>,
    hits: AtomicU64,
    lookups: AtomicU64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("prefix", &self.prefix).field("cache", &self.cache).finish_non_exhaustive()
    }
}

impl Verifier {
    /// An engine for keys with `prefix`, reading and filling `cache` and counting into `usage`.
    pub fn new(prefix: KeyPrefix, clock: SharedClock, cache: Arc<KeyCache>, usage: Arc<UsageCounter>) -> Self {
        Self {
            prefix,
            clock,
            cache,
            limits: RateLimits::default(),
            usage,
            hits: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
        }
    }

    /// The engine with `limits` instead of limits kept in this instance only.
    #[must_use]
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The cache this engine reads; key changes must invalidate it.
    pub fn cache(&self) -> &Arc<KeyCache> {
        &self.cache
    }

    /// The rate limits this engine enforces.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The usage counter this engine counts into.
    pub fn usage(&self) -> &Arc<UsageCounter> {
        &self.usage
    }

    /// How many times a key was read from the database (cache misses).
    pub fn database_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// How many times a hash was answered from the cache, as a key or as known to match none.
    pub fn cache_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Verifies a presented key.
    pub async fn verify(&self, db: &impl ConnectionTrait, request: Request<'_>) -> Result<Verdict, DbErr> {
        self.check(db, request, Purpose::Verification).await
    }

    /// Checks a key presented in exchange for an access token: the same checks, counted in usage as
    /// `TOKEN_ISSUED` when it passes.
    pub async fn exchange(&self, db: &impl ConnectionTrait, request: Request<'_>) -> Result<Verdict, DbErr> {
        self.check(db, request, Purpose::TokenExchange).await
    }

    /// What the cache knows of a presented key without reading the database: `Some(true)` when it is cached
    /// and works now, `Some(false)` when it is malformed, known not to exist or does not work now, `None`
    /// when it is not cached.
    pub fn known(&self, presented: &str) -> Option<bool> {
        let Ok(hash) = format::hash_presented(&self.prefix, presented) else { return Some(false) };
        self.cache.get(&hash).map(|cached| match cached {
            Cached::Key(record) => works_at(&record, self.clock.now()),
            Cached::Unknown => false,
        })
    }

    /// The key with this hash, from the cache or else the database (then cached); `None` if there is none.
    pub async fn record(&self, db: &impl ConnectionTrait, hash: &KeyHash) -> Result<Option<Arc<KeyRecord>>, DbErr> {
        if let Some(cached) = self.cache.get(hash) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(match cached {
                Cached::Key(record) => Some(record),
                Cached::Unknown => None,
            });
        }
        // Boxed: the database read's future is large and rarely needed; inline, every verification's future
        // would carry (allocate, move and drop) its size, cache hit or not.
        Box::pin(self.read_and_cache(db, hash)).await
    }

    /// The key with this hash from the database, put into the cache.
    async fn read_and_cache(&self, db: &impl ConnectionTrait, hash: &KeyHash) -> Result<Option<Arc<KeyRecord>>, DbErr> {
        let read_began = self.cache.generation();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let row = Entity::find().filter(Column::KeyHash.eq(hash.to_hex())).one(db).await?;
        let Some(row) = row else {
            self.cache.fill(*hash, Cached::Unknown, read_began);
            return Ok(None);
        };
        let organisation = organisations::Entity::find_by_id(row.organisation_id.clone()).one(db).await?;
        let record = Arc::new(KeyRecord::new(row, organisation));
        self.cache.fill(*hash, Cached::Key(record.clone()), read_began);
        Ok(Some(record))
    }

    async fn check(&self, db: &impl ConnectionTrait, request: Request<'_>, purpose: Purpose) -> Result<Verdict, DbErr> {
        let Ok(hash) = format::hash_presented(&self.prefix, request.key) else {
            return Ok(Verdict::bare(Code::Malformed));
        };
        let Some(record) = self.record(db, &hash).await? else {
            return Ok(Verdict::bare(Code::NotFound));
        };
        let now = self.clock.now();
        let mut code = decide(&record, Ask { scopes: request.scopes, ip: request.ip }, now);
        let mut rate_limit = None;
        if let (Code::Valid, Some(rate)) = (code, record.rate_limit) {
            let state = self.limits.take(&record.id, rate, now).await;
            if state.is_err() {
                code = Code::RateLimited;
            }
            rate_limit = Some(state.unwrap_or_else(|refused| refused));
        }
        let counted = match (purpose, code) {
            (Purpose::TokenExchange, Code::Valid) => Code::TokenIssued,
            _ => code,
        };
        self.usage.record(&record.id, now, counted, request.ip);
        Ok(Verdict { code, key: Some(record), rate_limit })
    }
}
