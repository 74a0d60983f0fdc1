//! The Ed25519 keys that sign access tokens, and the JWKS that publishes their public halves.
//!
//! There are always two live keys: the **current** one signs, and the **next** one is already published
//! but signs nothing yet. A rotation retires the current key, makes the next one current and generates a
//! new next key. So a verifier holding a JWKS fetched before the rotation already knows the key that
//! signs after it. A **retired** key loses its private half at once and stays published for
//! [`RETIRED_KEY_PUBLISHED_FOR`], longer than any token it signed can live; then it is dropped.
//!
//! With the operator's key (`LATCHKEY_ENCRYPTION_KEY`) the private halves are stored sealed: a copy of the
//! database alone cannot mint tokens that the provider's services accept. Keys stored before a key was
//! configured are sealed when an instance starts with one.

use super::exchange::Claims;
use crate::domain::changes::{self, Change};
use crate::domain::database::{begin_write, lock_until_commit};
use crate::domain::random::{RandomError, secret_bytes};
use crate::domain::sealing::{SealError, SealedText, Sealer};
use crate::domain::storage::signing_keys::{ActiveModel, Column, Entity, Model, PrivateKeyDer};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// The algorithm every token is signed with.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// No token lives longer than this, whatever the settings say.
pub const MAX_TOKEN_TTL: Duration = Duration::minutes(15);

/// How long a retired key stays in the JWKS: the longest token life, plus time for instances that have
/// not yet heard of the rotation (they sign with the old key for at most a second or two) and for
/// verifiers whose clocks run a little behind.
pub const RETIRED_KEY_PUBLISHED_FOR: Duration = Duration::minutes(20);

/// The transaction-scoped advisory lock that serialises changes to the signing keys ("lk-sign!").
const SIGNING_LOCK: i64 = 0x6c6b_2d73_6967_6e21;

/// Why signing keys could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A stored key could not be read, or a new one encoded.
    #[error("signing key {kid}: {reason}")]
    Corrupt {
        /// The key.
        kid: String,
        /// What is wrong.
        reason: String,
    },
    /// A sealed private key does not open (no key, another key, or altered data).
    #[error("signing key {kid}: {source}")]
    Sealed {
        /// The key.
        kid: String,
        /// Why it does not open.
        source: SealError,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// What a private key is sealed for: its own row.
fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// The stored form of a private key's DER: sealed when `sealer` has a key, as it is without.
fn store_private(sealer: &Sealer, kid: &str, der: &[u8]) -> Result<PrivateKeyDer, SigningKeyError> {
    use base64::Engine as _;
    if !sealer.has_key() {
        return Ok(PrivateKeyDer(der.to_vec()));
    }
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(der);
    let sealed = sealer
        .seal(&encoded, &seal_context(kid))
        .map_err(|source| SigningKeyError::Sealed { kid: kid.to_owned(), source })?;
    Ok(PrivateKeyDer(sealed.0.into_bytes()))
}

/// Whether a stored private key is sealed text rather than DER (which always begins with a SEQUENCE tag).
fn is_sealed(stored: &PrivateKeyDer) -> bool {
    stored.0.starts_with(b"x1:") || stored.0.starts_with(b"p1:")
}

/// The DER of a stored private key.
fn open_private(sealer: &Sealer, kid: &str, stored: &PrivateKeyDer) -> Result<Vec<u8>, SigningKeyError> {
    use base64::Engine as _;
    if !is_sealed(stored) {
        return Ok(stored.0.clone());
    }
    let sealed = |source| SigningKeyError::Sealed { kid: kid.to_owned(), source };
    let text = String::from_utf8(stored.0.clone()).map_err(|_| sealed(SealError::Malformed))?;
    let encoded = sealer.open(&SealedText(text), &seal_context(kid)).map_err(sealed)?;
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).map_err(|_| sealed(SealError::Malformed))
}

/// Seals every private key stored as plain DER, when `sealer` has a key; answers how many it sealed.
/// Safe with several instances doing it at once: each writes a sealing of the same key.
pub async fn seal_stored(db: &impl ConnectionTrait, sealer: &Sealer) -> Result<usize, SigningKeyError> {
    if !sealer.has_key() {
        return Ok(0);
    }
    let mut sealed = 0;
    for row in Entity::find().filter(Column::PrivateKey.is_not_null()).all(db).await? {
        let Some(stored) = row.private_key.as_ref().filter(|stored| !is_sealed(stored)) else { continue };
        let stored = store_private(sealer, &row.kid, &stored.0)?;
        let kid = row.kid.clone();
        let mut model = row.into_active_model();
        model.private_key = Set(Some(stored));
        model.update(db).await?;
        tracing::info!(kid = %kid, "sealed a stored JWT signing key with LATCHKEY_ENCRYPTION_KEY");
        sealed += 1;
    }
    Ok(sealed)
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens.
    Current,
    /// Published, signs from the next rotation.
    Next,
    /// Signs nothing; published until the given time.
    Retired {
        /// When it leaves the JWKS.
        published_until: DateTime<Utc>,
    },
}

/// A signing key as an operator sees it (never its private half).
#[derive(Debug, Clone)]
pub struct SigningKeyInfo {
    /// The `kid`.
    pub kid: String,
    /// The algorithm.
    pub algorithm: String,
    /// Where it stands.
    pub state: KeyState,
    /// Generated.
    pub created_at: DateTime<Utc>,
    /// Began signing.
    pub activated_at: Option<DateTime<Utc>>,
}

impl SigningKeyInfo {
    fn of(row: &Model) -> Self {
        let state = match (row.activated_at, row.retired_at) {
            (_, Some(retired)) => KeyState::Retired { published_until: retired + RETIRED_KEY_PUBLISHED_FOR },
            (Some(_), None) => KeyState::Current,
            (None, None) => KeyState::Next,
        };
        Self {
            kid: row.kid.clone(),
            algorithm: row.algorithm.clone(),
            state,
            created_at: row.created_at,
            activated_at: row.activated_at,
        }
    }
}

/// The current key, ready to sign.
pub struct Signer {
    /// Its `kid`, put in every token's header.
    pub kid: String,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// The key to sign with.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }
}

#[derive(Debug, Default)]
struct KeyRing {
    signer: Option<Arc<Signer>>,
    /// Public keys, each also ready to check signatures, with the time it leaves the JWKS (none for the
    /// current and next keys).
    published: Vec<(Jwk, DecodingKey, Option<DateTime<Utc>>)>,
}

/// One instance's copy of the signing keys: what it signs with and what its JWKS publishes. Loaded from the
/// database at start and again whenever the change feed says the keys changed.
#[derive(Debug, Default)]
pub struct SigningKeys {
    ring: RwLock<Arc<KeyRing>>,
    stale: AtomicBool,
    sealer: Sealer,
}

impl SigningKeys {
    /// Keys whose private halves are sealed with `sealer` (stored as they are when it has no key).
    pub fn sealed_with(sealer: Sealer) -> Self {
        Self { sealer, ..Self::default() }
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Reads the keys from the database.
    pub async fn load(&self, db: &impl ConnectionTrait) -> Result<(), SigningKeyError> {
        // Cleared first: a change that lands during the read marks the copy stale again.
        self.stale.store(false, Ordering::SeqCst);
        let read = self.read(db).await;
        if read.is_err() {
            self.stale.store(true, Ordering::SeqCst);
        }
        read
    }

    async fn read(&self, db: &impl ConnectionTrait) -> Result<(), SigningKeyError> {
        let rows = Entity::find().all(db).await?;
        let mut ring = KeyRing::default();
        let mut current: Option<&Model> = None;
        for row in &rows {
            let jwk: Jwk = serde_json::from_str(&row.public_jwk)
                .map_err(|err| SigningKeyError::Corrupt { kid: row.kid.clone(), reason: err.to_string() })?;
            let until = row.retired_at.map(|at| at + RETIRED_KEY_PUBLISHED_FOR);
            let checking = DecodingKey::from_jwk(&jwk)
                .map_err(|err| SigningKeyError::Corrupt { kid: row.kid.clone(), reason: err.to_string() })?;
            ring.published.push((jwk, checking, until));
            if row.retired_at.is_none() && row.activated_at.is_some() && row.private_key.is_some() {
                // Two current keys cannot happen under the lock; if they did, the newer one wins.
                if current.is_none_or(|other| other.activated_at < row.activated_at) {
                    current = Some(row);
                }
            }
        }
        if let Some(row) = current {
            let der = match row.private_key.as_ref() {
                Some(stored) => open_private(&self.sealer, &row.kid, stored)?,
                None => Vec::new(),
            };
            ring.signer = Some(Arc::new(Signer { kid: row.kid.clone(), key: EncodingKey::from_ed_der(&der) }));
        }
        ring.published.sort_by(|a, b| a.0.common.key_id.cmp(&b.0.common.key_id));
        *self.ring.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(ring);
        Ok(())
    }

    /// Says the stored keys changed (or may have): the next [`Self::refresh`] reads them again.
    pub fn mark_stale(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// Reads the keys again if they were marked stale.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<(), SigningKeyError> {
        if self.stale.load(Ordering::SeqCst) { self.load(db).await } else { Ok(()) }
    }

    /// The key to sign with. On a database that has none yet (the first start, or tests), generates the
    /// current and next keys first.
    pub async fn signer<C>(&self, db: &C, now: DateTime<Utc>) -> Result<Arc<Signer>, SigningKeyError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        if let Some(signer) = self.ring().signer.clone() {
            return Ok(signer);
        }
        self.ensure(db, now).await?;
        self.ring().signer.clone().ok_or_else(|| SigningKeyError::Corrupt {
            kid: "(current)".into(),
            reason: "no current key after generating one".into(),
        })
    }

    /// Makes sure the database holds a current and a next key, with their private halves sealed when there
    /// is an operator's key, then loads them. Only a database that lacks one takes the write lock.
    pub async fn ensure<C>(&self, db: &C, now: DateTime<Utc>) -> Result<(), SigningKeyError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        seal_stored(db, &self.sealer).await?;
        let live = Entity::find().filter(Column::RetiredAt.is_null()).all(db).await?;
        if has_current_and_next(&live) {
            return self.load(db).await;
        }
        let txn = begin_write(db).await?;
        lock_until_commit(&txn, SIGNING_LOCK).await?;
        // Read again under the lock: another instance may have just made them.
        let live = Entity::find().filter(Column::RetiredAt.is_null()).all(&txn).await?;
        if !has_current_and_next(&live) {
            if live.iter().any(|row| row.activated_at.is_some()) {
                generate(&txn, &self.sealer, now, None).await?;
            } else {
                promote_next(&txn, &self.sealer, now, &live).await?;
            }
            changes::record(&txn, now, &[Change::SigningKeys]).await?;
            tracing::info!("signing keys generated");
        }
        txn.commit().await?;
        self.load(db).await
    }

    /// The JWKS document at `now`: the current and next keys, and retired keys still published.
    pub fn jwks(&self, now: DateTime<Utc>) -> JwkSet {
        let ring = self.ring();
        JwkSet {
            keys: ring
                .published
                .iter()
                .filter(|(.., until)| until.is_none_or(|until| now < until))
                .map(|(jwk, ..)| jwk.clone())
                .collect(),
        }
    }

    /// The JWKS at `now` as JSON, with a version that changes whenever the document does (a hash of it, the
    /// same on every instance that publishes the same keys).
    pub fn jwks_document(&self, now: DateTime<Utc>) -> Result<(Vec<u8>, String), SigningKeyError> {
        let body = serde_json::to_vec(&self.jwks(now))
            .map_err(|err| SigningKeyError::Corrupt { kid: "(jwks)".into(), reason: err.to_string() })?;
        let version = hex::encode(&Sha256::digest(&body)[..16]);
        Ok((body, version))
    }

    /// The claims of `token` if one of the published keys signed it (as a verifier holding the JWKS at
    /// `now` would check); `None` for anything else. Times and audience are not checked here.
    pub fn decode(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let ring = self.ring();
        let (_, key, _) = ring.published.iter().find(|(jwk, _, until)| {
            jwk.common.key_id.as_deref() == Some(kid.as_str()) && until.is_none_or(|until| now < until)
        })?;
        let mut validation = Validation::new(ALGORITHM);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Claims>(token, key, &validation).ok().map(|data| data.claims)
    }

    /// Whether any key is loaded (the JWKS handler generates keys on a database that has none).
    pub fn is_empty(&self) -> bool {
        self.ring().published.is_empty()
    }
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The key that signed until now, if there was one.
    pub retired: Option<String>,
    /// The key that signs from now.
    pub current: String,
    /// The key published to sign from the next rotation.
    pub next: String,
}

/// Retires the current key (erasing its private half), makes the next key current and generates a new
/// next key; on a database without keys, generates both. Retired keys that are no longer published are
/// deleted. The new key's private half is sealed with `sealer` when it has a key. Every instance follows
/// within its change poll interval.
pub async fn rotate<C>(db: &C, sealer: &Sealer, now: DateTime<Utc>) -> Result<Rotation, SigningKeyError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    lock_until_commit(&txn, SIGNING_LOCK).await?;
    let rows = Entity::find().filter(Column::RetiredAt.is_null()).all(&txn).await?;
    let mut retired = None;
    for row in rows.iter().filter(|row| row.activated_at.is_some()) {
        let mut old = row.clone().into_active_model();
        old.retired_at = Set(Some(now));
        old.private_key = Set(None);
        old.update(&txn).await?;
        retired = Some(row.kid.clone());
    }
    let (current, next) = promote_next(&txn, sealer, now, &rows).await?;
    Entity::delete_many().filter(Column::RetiredAt.lte(now - RETIRED_KEY_PUBLISHED_FOR)).exec(&txn).await?;
    changes::record(&txn, now, &[Change::SigningKeys]).await?;
    txn.commit().await?;
    Ok(Rotation { retired, current, next })
}

/// Whether `live` (the keys not retired) has a current and a next key.
fn has_current_and_next(live: &[Model]) -> bool {
    live.iter().any(|row| row.activated_at.is_some()) && live.iter().any(|row| row.activated_at.is_none())
}

/// Makes the next key among `live` current (or, without one, a new key) and generates a new next key;
/// answers both kids. The caller has retired the current key, if there was one.
async fn promote_next(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    now: DateTime<Utc>,
    live: &[Model],
) -> Result<(String, String), SigningKeyError> {
    let current = match live.iter().find(|row| row.activated_at.is_none()) {
        Some(next) => {
            let mut next = next.clone().into_active_model();
            next.activated_at = Set(Some(now));
            next.update(db).await?.kid
        }
        None => generate(db, sealer, now, Some(now)).await?,
    };
    Ok((current, generate(db, sealer, now, None).await?))
}

/// Every stored key, current first, then next, then retired (newest first).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<SigningKeyInfo>, DbErr> {
    let mut keys: Vec<SigningKeyInfo> = Entity::find().all(db).await?.iter().map(SigningKeyInfo::of).collect();
    let rank = |state: &KeyState| match state {
        KeyState::Current => 0,
        KeyState::Next => 1,
        KeyState::Retired { .. } => 2,
    };
    keys.sort_by(|a, b| rank(&a.state).cmp(&rank(&b.state)).then(b.created_at.cmp(&a.created_at)));
    Ok(keys)
}

/// Generates and stores a key, signing from `activated_at` (or the next key, for `None`); answers its kid.
async fn generate(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    now: DateTime<Utc>,
    activated_at: Option<DateTime<Utc>>,
) -> Result<String, SigningKeyError> {
    let corrupt = |reason: String| SigningKeyError::Corrupt { kid: "(new)".into(), reason };
    // PKCS#8 v1 (the seed alone, 48 bytes): the form jsonwebtoken reads an Ed25519 private key in.
    let seed = KeypairBytes { secret_key: secret_bytes::<32>()?, public_key: None };
    let der = seed.to_pkcs8_der().map_err(|err| corrupt(err.to_string()))?;
    let encoding = EncodingKey::from_ed_der(der.as_bytes());
    let mut jwk = Jwk::from_encoding_key(&encoding, ALGORITHM).map_err(|err| corrupt(err.to_string()))?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|err| corrupt(err.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let public_jwk = serde_json::to_string(&jwk).map_err(|err| corrupt(err.to_string()))?;
    ActiveModel {
        kid: Set(kid.clone()),
        algorithm: Set("EdDSA".to_owned()),
        public_jwk: Set(public_jwk),
        private_key: Set(Some(store_private(sealer, &kid, der.as_bytes())?)),
        created_at: Set(now),
        activated_at: Set(activated_at),
        retired_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(kid)
}
