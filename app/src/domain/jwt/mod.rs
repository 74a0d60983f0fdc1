//! Short-lived JWT access tokens for services that verify locally.
//!
//! - [`exchange`]: an API key in, a signed token out, after the checks a verification makes.
//! - [`signing_keys`]: the Ed25519 keys that sign, their rotation, and the JWKS that publishes them.
//!
//! Opaque keys verified through the API take effect at once when revoked; a token cannot be recalled and
//! stays valid until it expires (at most [`MAX_TOKEN_TTL`]), in exchange for no network call per request.

pub mod exchange;
pub mod signing_keys;

pub use exchange::{AccessToken, Claims, ExchangeError, IssuedToken, TokenPolicy, TokenRequest, exchange};
pub use signing_keys::{
    ALGORITHM, KeyState, MAX_TOKEN_TTL, RETIRED_KEY_PUBLISHED_FOR, Rotation, SigningKeyError, SigningKeyInfo,
    SigningKeys, list, rotate,
};
