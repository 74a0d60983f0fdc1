//! Passwords: the rules a new one must meet, and argon2id hashing off the async runtime.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

/// Fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// What the sign-up form recommends.
pub const RECOMMENDED_PASSWORD_CHARS: usize = 12;
/// Most characters a password may have; bounds the work one sign-in can cause.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A plaintext password. It never prints and cannot be serialised.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a new password was refused. There are no composition rules, only length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Under [`MIN_PASSWORD_CHARS`].
    #[error("Use at least 8 characters; 12 or more is better.")]
    TooShort,
    /// Over [`MAX_PASSWORD_CHARS`].
    #[error("Use at most 128 characters.")]
    TooLong,
}

impl Password {
    /// Wraps a plaintext password as typed.
    pub fn new(plaintext: impl Into<String>) -> Self {
        Self(plaintext.into())
    }

    /// Checks the length rules for a password being set.
    pub fn check_new(&self) -> Result<(), PasswordError> {
        let chars = self.0.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_PASSWORD_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(())
        }
    }
}

/// Hashing failed or could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashingError {
    /// Every hashing permit stayed taken for longer than [`PasswordHasher::MAX_QUEUE_WAIT`]: the
    /// server is overloaded with sign-ins; the caller should answer 503 and ask to retry.
    #[error("password hashing is busy")]
    Busy,
    /// A bug or an exhausted machine, never the user's fault.
    #[error("password hashing failed")]
    Failed,
}

/// Hashes and verifies passwords with argon2id on blocking threads, a bounded number at a time, so that
/// a burst of sign-ins can neither stall the async runtime nor exhaust memory (each hash takes ~19 MiB).
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so that the answer takes as long as a wrong password.
    dummy_hash: Arc<str>,
    verifications: AtomicU64,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP's recommendation), at most `concurrency` at once.
    /// Computes the dummy hash, so it costs one hash: call it at start-up.
    pub fn new(concurrency: usize) -> Result<Self, HashingError> {
        let params = Params::new(19_456, 2, 1, None).map_err(|_| HashingError::Failed)?;
        let dummy_hash = hash_blocking(&params, b"latchkey dummy password")?.into();
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash,
            verifications: AtomicU64::new(0),
        })
    }

    /// The longest a hash waits for a permit. Beyond it the request is answered "busy" rather than
    /// queued: a burst of sign-ins must not build a queue that outlives every client's patience.
    pub const MAX_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashingError> {
        match tokio::time::timeout(Self::MAX_QUEUE_WAIT, self.permits.acquire()).await {
            Ok(permit) => permit.map_err(|_| HashingError::Failed),
            Err(_) => Err(HashingError::Busy),
        }
    }

    /// The PHC string for `password`.
    pub async fn hash(&self, password: &Password) -> Result<String, HashingError> {
        let _permit = self.permit().await?;
        let params = self.params.clone();
        let plaintext = password.0.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&params, plaintext.as_bytes()))
            .await
            .map_err(|_| HashingError::Failed)?
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown email) it checks against the
    /// dummy hash and answers `false`, taking the same time as a wrong password.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool, HashingError> {
        let _permit = self.permit().await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let plaintext = password.0.clone();
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default().verify_password(plaintext.as_bytes(), &*hash).is_ok()
        })
        .await
        .map_err(|_| HashingError::Failed)?;
        Ok(known && matches)
    }

    /// Takes every hashing permit until the guard is dropped: tests use it to see a starved hasher.
    #[cfg(feature = "testing")]
    pub async fn take_every_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let all = u32::try_from(self.permits.available_permits()).ok()?;
        self.permits.clone().acquire_many_owned(all).await.ok()
    }

    /// How many verifications ran, whether the account existed or not.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

fn hash_blocking(params: &Params, plaintext: &[u8]) -> Result<String, HashingError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon.hash_password(plaintext).map(|hash| hash.to_string()).map_err(|_| HashingError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_the_only_rule() {
        assert_eq!(Password::new("short").check_new(), Err(PasswordError::TooShort));
        assert_eq!(Password::new("aaaaaaaa").check_new(), Ok(()));
        assert_eq!(Password::new("é".repeat(128)).check_new(), Ok(()));
        assert_eq!(Password::new("a".repeat(129)).check_new(), Err(PasswordError::TooLong));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", Password::new("hunter2hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_documented_cost() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let hash = hasher.hash(&Password::new("correct horse battery")).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&Password::new("correct horse battery"), Some(&hash)).await.expect("verify"));
        assert!(!hasher.verify(&Password::new("wrong horse battery"), Some(&hash)).await.expect("verify"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hash_that_cannot_get_a_permit_soon_is_refused_as_busy() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let held = hasher.permits.clone().acquire_owned().await.expect("permit");
        let refused = hasher.verify(&Password::new("correct horse battery"), None).await;
        assert_eq!(refused, Err(HashingError::Busy), "no unbounded queue behind a taken permit");
        drop(held);
        assert_eq!(hasher.verify(&Password::new("correct horse battery"), None).await, Ok(false));
    }

    #[tokio::test]
    async fn an_unknown_account_costs_a_verification_too() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let before = hasher.verifications();
        assert!(!hasher.verify(&Password::new("latchkey dummy password"), None).await.expect("verify"));
        assert_eq!(hasher.verifications(), before + 1);
    }
}
