//! Short-lived JWT access tokens for services that verify locally.
//!
//! - [`exchange`]: an API key in, a signed token out, after the checks a verification makes.
//! - [`signing_keys`]: the Ed25519 keys that sign, their rotation, and the JWKS that publishes them.
//! - [`ledger`]: every issued token's `jti`, key and expiry, so that tokens die with their key.
//! - [`introspection`]: whether a token still works (RFC 7662), and the list of revoked ones.
//! - [`revocation`]: a key revoking one of its own tokens (RFC 7009).
//!
//! A service that verifies tokens with the JWKS alone accepts a revoked token until it expires (at most
//! [`MAX_TOKEN_TTL`]); one that polls the revocation list refuses it within its polling interval, and one
//! that introspects refuses it within the change feed's promise.

pub mod exchange;
pub mod introspection;
pub mod ledger;
pub mod revocation;
pub mod signing_keys;

pub use exchange::{AccessToken, Claims, ExchangeError, IssuedToken, TokenPolicy, TokenRequest, exchange};
pub use introspection::{IssuedTokens, RevokedPage, TokenChecks, introspect, revoked_page};
pub use revocation::{Revocation, revoke};
pub use signing_keys::{
    ALGORITHM, KeyState, MAX_TOKEN_TTL, RETIRED_KEY_PUBLISHED_FOR, Rotation, SigningKeyError, SigningKeyInfo,
    SigningKeys, list, rotate, seal_stored,
};
