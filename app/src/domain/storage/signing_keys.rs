//! The `signing_keys` table, written only by [`crate::domain::jwt`].

use sea_orm::entity::prelude::*;

/// A signing key's private half as stored: sealed with the operator's key (`LATCHKEY_ENCRYPTION_KEY`) as
/// the text `x1:…`, or, without a key, its PKCS#8 DER as it is. Never printed.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct PrivateKeyDer(pub Vec<u8>);

impl std::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKeyDer(<redacted>)")
    }
}

/// One signing key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// The key id (`kid`): the RFC 7638 thumbprint of the public key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// The JWS algorithm, e.g. `EdDSA`.
    pub algorithm: String,
    /// The public key as a JWK (JSON), as the JWKS publishes it.
    pub public_jwk: String,
    /// The private key; erased when the key is retired.
    pub private_key: Option<PrivateKeyDer>,
    /// Generated.
    pub created_at: DateTimeUtc,
    /// Began signing; empty while the key is the published next key.
    pub activated_at: Option<DateTimeUtc>,
    /// Stopped signing.
    pub retired_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
