//! Exchanging an API key for an access token: OAuth 2.0's client-credentials grant, with the key as the
//! credential. The key goes through every check a verification makes (and is counted in usage as
//! `TOKEN_ISSUED`); the token carries a subset of its scopes and never outlives it.

use super::signing_keys::{ALGORITHM, MAX_TOKEN_TTL, SigningKeyError, SigningKeys};
use crate::domain::verification::{Code, RateLimitState, Request, Verifier};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::Header;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Longest audience accepted.
pub const MAX_AUDIENCE_CHARS: usize = 256;
/// The largest `ttl_seconds` a request may name (one day); lifetimes over the policy's are cut to it.
pub const MAX_REQUESTED_TTL_SECONDS: i64 = 86_400;

/// The operator's rules for access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The `iss` claim: the deployment's public URL.
    pub issuer: String,
    /// The audiences tokens may be issued for, the first being the default. Empty: any audience the
    /// caller names, and the issuer by default.
    pub audiences: Vec<String>,
    /// The longest (and default) token lifetime, at most [`MAX_TOKEN_TTL`].
    pub ttl: Duration,
}

impl TokenPolicy {
    /// A policy for tokens issued by `issuer` for any audience, living up to the maximum.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self { issuer: issuer.into(), audiences: Vec::new(), ttl: MAX_TOKEN_TTL }
    }

    /// The audience of a token whose request names none.
    pub fn default_audience(&self) -> &str {
        self.audiences.first().map_or(self.issuer.as_str(), String::as_str)
    }
}

/// What a caller asks for.
#[derive(Clone)]
pub struct TokenRequest<'a> {
    /// The API key, as presented (never logged).
    pub key: &'a str,
    /// Scopes for the token; `None` for all of the key's.
    pub scopes: Option<Vec<String>>,
    /// The `aud` claim; `None` for the default.
    pub audience: Option<&'a str>,
    /// The lifetime asked for; capped by the policy.
    pub ttl_seconds: Option<i64>,
    /// The caller's address, checked against the key's allowlist.
    pub ip: Option<IpAddr>,
}

impl std::fmt::Debug for TokenRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("key", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("ip", &self.ip)
            .finish()
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The deployment's public URL.
    pub iss: String,
    /// The organisation that owns the key.
    pub sub: String,
    /// The provider's own id for that organisation, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_external_id: Option<String>,
    /// Who the token is for.
    pub aud: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The key it was issued for.
    pub key_id: String,
    /// A unique id of this token.
    pub jti: String,
    /// Issued (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
}

/// A signed access token. Never printed.
#[derive(Clone)]
pub struct AccessToken(String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl AccessToken {
    /// The compact JWT, for the one response that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub token: AccessToken,
    /// What it says.
    pub claims: Claims,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request itself is wrong.
    #[error("{message}")]
    InvalidRequest {
        /// The field at fault.
        field: &'static str,
        /// What to fix.
        message: String,
    },
    /// The key may not be used: the verification code says why.
    #[error("the key was refused: {}", .0.as_str())]
    InvalidToken(Code),
    /// Scopes beyond the key's were asked for.
    #[error("{0}")]
    InvalidScope(String),
    /// The key is over its rate limit.
    #[error("the key is over its rate limit")]
    RateLimited(RateLimitState),
    /// No signing key could be used.
    #[error(transparent)]
    Signing(#[from] SigningKeyError),
    /// The token could not be signed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Checks the request and the key, then signs a token. `now` is the verifier's clock.
pub async fn exchange<C>(
    db: &C,
    verifier: &Verifier,
    signing: &SigningKeys,
    policy: &TokenPolicy,
    request: TokenRequest<'_>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, ExchangeError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let ttl = match request.ttl_seconds {
        None => policy.ttl,
        // Checked before any arithmetic: chrono panics on a Duration of i64::MAX seconds.
        Some(seconds) if (1..=MAX_REQUESTED_TTL_SECONDS).contains(&seconds) => {
            Duration::try_seconds(seconds).unwrap_or(policy.ttl).min(policy.ttl)
        }
        Some(seconds) => {
            return Err(ExchangeError::InvalidRequest {
                field: "ttl_seconds",
                message: format!(
                    "ttl_seconds must be between 1 and {MAX_REQUESTED_TTL_SECONDS} (it was {seconds}); tokens live \
                     at most {} seconds here.",
                    policy.ttl.num_seconds()
                ),
            });
        }
    };
    let audience = audience(policy, request.audience)?;
    let asked = request.scopes.as_deref().map(asked_scopes).transpose()?;

    let verdict = verifier
        .exchange(db, Request { key: request.key, scopes: asked.as_deref().unwrap_or_default(), ip: request.ip })
        .await?;
    let key = match (verdict.code, verdict.key) {
        (Code::Valid, Some(key)) => key,
        (Code::InsufficientScopes, Some(key)) => {
            let missing: Vec<&str> =
                asked.iter().flatten().filter(|scope| !key.scopes.contains(scope)).map(String::as_str).collect();
            return Err(ExchangeError::InvalidScope(format!(
                "This key does not have {}: it has {}.",
                missing.join(", "),
                if key.scopes.is_empty() { "no scopes".to_owned() } else { key.scopes.join(", ") }
            )));
        }
        (Code::RateLimited, _) => {
            return Err(ExchangeError::RateLimited(verdict.rate_limit.unwrap_or(RateLimitState {
                limit: 0,
                remaining: 0,
                reset_at: now,
            })));
        }
        (code, _) => return Err(ExchangeError::InvalidToken(code)),
    };

    let issued_at = now.timestamp();
    let mut expires = issued_at + ttl.num_seconds();
    if let Some(key_expiry) = key.expires_at {
        expires = expires.min(key_expiry.timestamp());
    }
    if expires <= issued_at {
        return Err(ExchangeError::InvalidToken(Code::Expired));
    }
    let claims = Claims {
        iss: policy.issuer.clone(),
        sub: key.owner.id.clone(),
        org_external_id: key.owner.external_id.clone(),
        aud: audience,
        scope: asked.unwrap_or_else(|| key.scopes.clone()).join(" "),
        key_id: key.id.to_string(),
        jti: uuid::Uuid::now_v7().simple().to_string(),
        iat: issued_at,
        nbf: issued_at,
        exp: expires,
    };
    let signer = signing.signer(db, now).await?;
    let header = Header { typ: Some("at+jwt".to_owned()), kid: Some(signer.kid.clone()), ..Header::new(ALGORITHM) };
    let token = jsonwebtoken::encode(&header, &claims, signer.encoding_key())
        .map_err(|err| ExchangeError::Sign(err.to_string()))?;
    // Recorded before it is handed out: a token the ledger does not know is never active.
    super::ledger::record(db, &claims).await?;
    Ok(IssuedToken { token: AccessToken(token), expires_in: expires - issued_at, claims })
}

/// The audience asked for, checked against the policy, or the default.
fn audience(policy: &TokenPolicy, asked: Option<&str>) -> Result<String, ExchangeError> {
    let Some(asked) = asked else { return Ok(policy.default_audience().to_owned()) };
    let invalid = |message: String| ExchangeError::InvalidRequest { field: "audience", message };
    let asked = asked.trim();
    if asked.is_empty() {
        return Err(invalid("audience is empty; leave it out for the default audience.".into()));
    }
    if asked.chars().count() > MAX_AUDIENCE_CHARS || asked.chars().any(char::is_control) {
        return Err(invalid(format!("audience must be at most {MAX_AUDIENCE_CHARS} printable characters.")));
    }
    if !policy.audiences.is_empty() && !policy.audiences.iter().any(|allowed| allowed == asked) {
        return Err(invalid(format!(
            "Tokens are not issued for the audience '{asked}'; ask for one of: {}.",
            policy.audiences.join(", ")
        )));
    }
    Ok(asked.to_owned())
}

/// The scopes asked for, in the order given, each once.
fn asked_scopes(scopes: &[String]) -> Result<Vec<String>, ExchangeError> {
    let mut asked: Vec<String> = Vec::new();
    for scope in scopes.iter().flat_map(|entry| entry.split_ascii_whitespace()) {
        if !asked.iter().any(|seen| seen == scope) {
            asked.push(scope.to_owned());
        }
    }
    if asked.is_empty() {
        return Err(ExchangeError::InvalidScope(
            "scope is empty: name at least one of the key's scopes, or leave scope out for all of them.".into(),
        ));
    }
    Ok(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_split_on_spaces_and_asked_once_each() {
        let asked = asked_scopes(&["orders:read  orders:write".into(), "orders:read".into()]).expect("scopes");
        assert_eq!(asked, ["orders:read", "orders:write"]);
        assert!(matches!(asked_scopes(&[" ".into()]), Err(ExchangeError::InvalidScope(_))));
    }

    #[test]
    fn audiences_default_to_the_first_allowed_or_the_issuer_and_others_are_refused() {
        let open = TokenPolicy::new("https://keys.example.com");
        assert_eq!(audience(&open, None).expect("default"), "https://keys.example.com");
        assert_eq!(audience(&open, Some(" billing ")).expect("any"), "billing");
        assert!(audience(&open, Some("")).is_err());
        assert!(audience(&open, Some("a\nb")).is_err());
        let closed = TokenPolicy { audiences: vec!["https://api.example.com".into(), "billing".into()], ..open };
        assert_eq!(audience(&closed, None).expect("default"), "https://api.example.com");
        assert_eq!(audience(&closed, Some("billing")).expect("listed"), "billing");
        let refused = audience(&closed, Some("payroll")).expect_err("not listed");
        assert!(refused.to_string().contains("https://api.example.com, billing"), "{refused}");
    }
}
