//! Whether an access token still works, answered from memory like a verification: RFC 7662 introspection,
//! and the revocation list for services that verify tokens locally.
//!
//! A token is active when a published signing key signed it (checked once per token and remembered), its issuer is ours, `nbf <= now < exp`, the
//! ledger knows it and has not revoked it, and the key that bought it still works. The ledger's answer per
//! `jti` and the list are cached here; the change feed drops them when tokens are revoked anywhere, and the
//! key's state comes from the verification engine's key cache, which every key change invalidates at once.
//! So a revocation through any instance is seen by every other within the feed's promise.

use super::exchange::{Claims, TokenPolicy};
use super::ledger::{self, Revoked};
use super::signing_keys::SigningKeys;
use crate::domain::keys::format::KeyHash;
use crate::domain::storage::api_keys;
use crate::domain::verification::{Verifier, works_at};
use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, MutexGuard};

/// Longest token looked at; anything longer is not one of ours.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// Default number of token states kept.
pub const DEFAULT_STATES: usize = 100_000;
/// Most `jti`s on one page of the revocation list; the default page size.
pub const MAX_PAGE: usize = 1000;

/// What the ledger says of one `jti`.
#[derive(Debug, Clone)]
enum State {
    /// Issued with the key of this hash; revoked or not.
    Issued { key_hash: KeyHash, revoked: bool },
    /// Not in the ledger (never issued here, or pruned after it expired), or its key is gone.
    Unknown,
}

/// The revoked, unexpired tokens as read at one moment.
#[derive(Debug)]
struct Snapshot {
    generation: u64,
    entries: Vec<Revoked>,
}

/// What one instance knows of issued access tokens: tokens whose signature it checked, each token's state,
/// and the revocation list.
pub struct IssuedTokens {
    // By the SHA-256 of the whole token, so only that exact string finds its claims: a signature is checked
    // once per token rather than on every introspection (an Ed25519 check costs about 70 verifications).
    // Only tokens that passed are kept; a change of the signing keys forgets them all.
    signed: Cache<[u8; 32], Arc<Claims>>,
    states: Cache<String, State>,
    // Forgetting and filling take this lock (reads do not), so a fill can check that nothing was forgotten
    // since its database read began, as the key cache does.
    generation: Mutex<u64>,
    list: Mutex<Option<Arc<Snapshot>>>,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens").field("states", &self.states.len()).finish_non_exhaustive()
    }
}

impl Default for IssuedTokens {
    fn default() -> Self {
        Self::new(DEFAULT_STATES)
    }
}

impl IssuedTokens {
    /// A cache holding at most `states` token states.
    pub fn new(states: usize) -> Self {
        Self {
            signed: Cache::new(states.max(1)),
            states: Cache::new(states.max(1)),
            generation: Mutex::new(0),
            list: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets what was cached of token `jti`: it was revoked.
    pub fn forget(&self, jti: &str) {
        let mut generation = self.lock();
        *generation += 1;
        self.states.remove(jti);
    }

    /// Forgets every token's state: tokens of a key or an organisation were ended.
    pub fn forget_all(&self) {
        let mut generation = self.lock();
        *generation += 1;
        self.states.clear();
    }

    /// Forgets which tokens passed their signature check: the signing keys changed, and a key that signed
    /// them may no longer be published.
    pub fn forget_signatures(&self) {
        self.signed.clear();
    }

    /// How many token states are cached.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// The claims of `token` if one of the published keys signed it, checking the signature only the first
    /// time this instance sees the token.
    fn signed(&self, signing: &SigningKeys, token: &str, now: DateTime<Utc>) -> Option<Arc<Claims>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.signed.get(&digest) {
            return Some(claims);
        }
        let claims = Arc::new(signing.decode(token, now)?);
        self.signed.insert(digest, claims.clone());
        Some(claims)
    }

    async fn state(&self, db: &impl ConnectionTrait, jti: &str) -> Result<State, DbErr> {
        if let Some(state) = self.states.get(jti) {
            return Ok(state);
        }
        let read_began = *self.lock();
        let state = match ledger::find(db, jti).await? {
            Some(row) => match api_keys::Entity::find_by_id(row.key_id).one(db).await? {
                Some(key) => {
                    State::Issued { key_hash: KeyHash::from_stored(&key.key_hash), revoked: row.revoked_at.is_some() }
                }
                None => State::Unknown,
            },
            None => State::Unknown,
        };
        let generation = self.lock();
        if *generation == read_began {
            self.states.insert(jti.to_owned(), state.clone());
        }
        Ok(state)
    }

    async fn snapshot(&self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Arc<Snapshot>, DbErr> {
        let read_began = *self.lock();
        if let Some(snapshot) = self.list.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
            && snapshot.generation == read_began
        {
            return Ok(snapshot);
        }
        let snapshot = Arc::new(Snapshot { generation: read_began, entries: ledger::revoked_and_live(db, now).await? });
        *self.list.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(snapshot.clone());
        Ok(snapshot)
    }
}

/// What checking a token takes: one instance's verification engine (for the key's state), signing keys,
/// token policy and what it knows of issued tokens.
#[derive(Debug, Clone, Copy)]
pub struct TokenChecks<'a> {
    /// The engine whose key cache says whether the key still works.
    pub verifier: &'a Verifier,
    /// The published keys a token must be signed with.
    pub signing: &'a SigningKeys,
    /// The issuer a token must name.
    pub policy: &'a TokenPolicy,
    /// The ledger's answers and the revocation list, cached.
    pub issued: &'a IssuedTokens,
}

/// The claims of `token` if it is active at `now`; `None` if it is revoked, expired, unknown, not signed by
/// us or not a token at all.
pub async fn introspect(
    db: &impl ConnectionTrait,
    checks: TokenChecks<'_>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Claims>, DbErr> {
    if token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let Some(claims) = checks.issued.signed(checks.signing, token, now) else { return Ok(None) };
    let at = now.timestamp();
    if claims.iss != checks.policy.issuer || claims.nbf > at || claims.exp <= at {
        return Ok(None);
    }
    let State::Issued { key_hash, revoked: false } = checks.issued.state(db, &claims.jti).await? else {
        return Ok(None);
    };
    let Some(key) = checks.verifier.record(db, &key_hash).await? else { return Ok(None) };
    if *key.id != *claims.key_id || !works_at(&key, now) {
        return Ok(None);
    }
    Ok(Some(Claims::clone(&claims)))
}

/// One page of the revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedPage {
    /// Revoked tokens that have not expired, by `jti`.
    pub revoked: Vec<Revoked>,
    /// The cursor for the next page, when there is one.
    pub next: Option<String>,
    /// A strong validator of exactly this page: the same on every instance for the same answer.
    pub etag: String,
}

/// The revoked, unexpired tokens at `now` whose `jti` sorts after `after`, at most `limit`.
pub async fn revoked_page(
    db: &impl ConnectionTrait,
    issued: &IssuedTokens,
    now: DateTime<Utc>,
    after: Option<&str>,
    limit: usize,
) -> Result<RevokedPage, DbErr> {
    let snapshot = issued.snapshot(db, now).await?;
    let start = after.map_or(0, |after| snapshot.entries.partition_point(|entry| entry.jti.as_str() <= after));
    let limit = limit.clamp(1, MAX_PAGE);
    let mut live = snapshot.entries[start..].iter().filter(|entry| entry.expires_at > now);
    let revoked: Vec<Revoked> = live.by_ref().take(limit).cloned().collect();
    let next = if live.next().is_some() { revoked.last().map(|last| last.jti.clone()) } else { None };
    let mut digest = Sha256::new();
    for entry in &revoked {
        digest.update(entry.jti.as_bytes());
        digest.update(entry.expires_at.timestamp().to_be_bytes());
    }
    digest.update(next.as_deref().unwrap_or_default().as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest.finalize()[..16]));
    Ok(RevokedPage { revoked, next, etag })
}
