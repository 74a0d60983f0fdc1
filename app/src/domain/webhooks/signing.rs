//! Signing secrets and signatures, as the Standard Webhooks specification defines them and its own crate
//! computes them: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one entry per
//! secret in use, separated by spaces, so a receiver keeps working while a secret is rotated.

use crate::domain::random::{RandomError, secret_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// The prefix every secret carries, as Standard Webhooks libraries expect it.
pub const PREFIX: &str = "whsec_";

/// An endpoint's signing secret, `whsec_` and base64 of 32 random bytes. Shown once when made; stored sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(format!("{PREFIX}{}", STANDARD.encode(secret_bytes::<32>()?))))
    }

    /// A secret read back from storage.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The secret, for the one response that shows it and for sealing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A message could not be signed: a stored secret is not base64, or the body is not UTF-8 (ours always is).
#[derive(Debug, thiserror::Error)]
#[error("the message could not be signed: {0}")]
pub struct SignError(String);

/// The `webhook-signature` header for `body` sent as message `id` at `timestamp` (Unix seconds), signed with
/// every secret in `secrets`.
pub fn signature(secrets: &[SigningSecret], id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let webhook = standardwebhooks::Webhook::new(secret.expose()).map_err(|err| SignError(err.to_string()))?;
        signatures.push(webhook.sign(id, timestamp, body).map_err(|err| SignError(err.to_string()))?);
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specification_example() {
        // The example of the Standard Webhooks specification.
        let secret = SigningSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let signed = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(signed.ok().as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn two_secrets_give_two_signatures_and_secrets_never_print() {
        let (a, b) = (SigningSecret::generate().expect("random"), SigningSecret::generate().expect("random"));
        assert!(a.expose().starts_with(PREFIX) && a != b);
        assert_eq!(format!("{a:?}"), "SigningSecret(<redacted>)");
        let signed = signature(&[a, b], "msg_1", 1, b"{}").expect("signed");
        assert_eq!(signed.split(' ').count(), 2);
    }
}
