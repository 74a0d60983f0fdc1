//! The secret in a link that lets its holder in: an invitation link, a portal session link. 32 bytes from
//! the OS CSPRNG in base62, handed out once and stored only as its SHA-256.

use crate::domain::keys::base62;
use crate::domain::random::{RandomError, secret_bytes};
use sha2::{Digest, Sha256};

/// Length of a link's secret (32 bytes in base62).
pub const CHARS: usize = 43;

/// A link's secret. Never printed or serialised.
pub struct LinkSecret(String);

impl LinkSecret {
    /// A fresh secret.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(base62::encode_fixed(&secret_bytes::<32>()?, CHARS)))
    }

    /// The secret, for building the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form it is stored and looked up in.
    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(<redacted>)")
    }
}

/// Hex SHA-256 of a presented secret, the form secrets are stored in.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` could be one of ours at all: a forged or mangled one is refused without a lookup.
pub fn is_well_formed(secret: &str) -> bool {
    secret.len() == CHARS && base62::is_base62(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_well_formed_distinct_and_never_printed() {
        let (a, b) = (LinkSecret::generate().expect("random"), LinkSecret::generate().expect("random"));
        assert!(is_well_formed(a.expose()) && a.expose() != b.expose());
        assert_eq!(a.hash(), hash(a.expose()));
        assert!(!format!("{a:?}").contains(a.expose()));
        assert!(!is_well_formed("short") && !is_well_formed(&"!".repeat(CHARS)));
    }
}
