//! Sealing secrets the server must read back (TOTP secrets) before they are stored: XChaCha20-Poly1305
//! with the operator's key (`LATCHKEY_ENCRYPTION_KEY`), bound to the row they belong to. Without a key they
//! are stored as they are, marked so that a key added later still reads them; the README explains what that
//! trades away.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sea_orm::DeriveValueType;

use crate::domain::random::{RandomError, secret_bytes};

/// Marks text sealed with the operator's key.
const SEALED: &str = "x1:";
/// Marks text stored as it is, for want of a key.
const PLAIN: &str = "p1:";

/// Sealed (or marked-plain) text as stored. Never printed.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct SealedText(pub String);

impl std::fmt::Debug for SealedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedText(<redacted>)")
    }
}

/// The operator's key, or none.
#[derive(Clone, Default)]
pub struct Sealer {
    cipher: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("has_key", &self.cipher.is_some()).finish()
    }
}

/// Why sealed text could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Sealed with a key, and no key is configured.
    #[error("a secret was sealed with LATCHKEY_ENCRYPTION_KEY, which is not set")]
    NoKey,
    /// The key is not the one it was sealed with, or the text was altered.
    #[error("a sealed secret does not open with LATCHKEY_ENCRYPTION_KEY (changed key, or altered data)")]
    WrongKey,
    /// Not text this module wrote.
    #[error("a sealed secret is malformed")]
    Malformed,
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl Sealer {
    /// Seals with `key` (32 bytes).
    pub fn with_key(key: &[u8; 32]) -> Self {
        Self { cipher: Some(XChaCha20Poly1305::new(key.into())) }
    }

    /// Stores secrets as they are.
    pub fn without_key() -> Self {
        Self::default()
    }

    /// Whether secrets are sealed.
    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// Seals `plain` for the row named by `context` (e.g. `totp:<account id>`): sealed text moved to another
    /// row does not open there.
    pub fn seal(&self, plain: &str, context: &str) -> Result<SealedText, SealError> {
        let Some(cipher) = &self.cipher else {
            return Ok(SealedText(format!("{PLAIN}{plain}")));
        };
        let nonce = secret_bytes::<24>()?;
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .map_err(|_| SealError::Malformed)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(SealedText(format!("{SEALED}{}", BASE64.encode(bytes))))
    }

    /// Opens what [`Sealer::seal`] wrote for `context`.
    pub fn open(&self, stored: &SealedText, context: &str) -> Result<String, SealError> {
        if let Some(plain) = stored.0.strip_prefix(PLAIN) {
            return Ok(plain.to_owned());
        }
        let encoded = stored.0.strip_prefix(SEALED).ok_or(SealError::Malformed)?;
        let cipher = self.cipher.as_ref().ok_or(SealError::NoKey)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < 24 {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let sealer = Sealer::with_key(&[7; 32]);
        let sealed = sealer.seal("JBSWY3DPEHPK3PXP", "totp:a").expect("seal");
        assert!(!sealed.0.contains("JBSWY3DPEHPK3PXP") && !format!("{sealed:?}").contains("JBSW"));
        assert_eq!(sealer.open(&sealed, "totp:a").expect("open"), "JBSWY3DPEHPK3PXP");
        assert!(matches!(sealer.open(&sealed, "totp:b"), Err(SealError::WrongKey)));
        assert!(matches!(Sealer::with_key(&[8; 32]).open(&sealed, "totp:a"), Err(SealError::WrongKey)));
        assert!(matches!(Sealer::without_key().open(&sealed, "totp:a"), Err(SealError::NoKey)));
    }

    #[test]
    fn secrets_stored_without_a_key_still_open_once_a_key_is_set() {
        let plain = Sealer::without_key().seal("SECRET", "totp:a").expect("seal");
        assert_eq!(Sealer::with_key(&[7; 32]).open(&plain, "totp:a").expect("open"), "SECRET");
    }
}
