//! GitHub's secret scanning partner program: GitHub posts `[{token, type, url, source}]` with headers
//! `Github-Public-Key-Identifier` and `Github-Public-Key-Signature`, an ECDSA P-256 / SHA-256 signature
//! (base64 of DER) of the exact body, made with one of the keys GitHub publishes at
//! <https://api.github.com/meta/public_keys/secret_scanning>. The operator configures those keys (a file,
//! in the endpoint's own JSON format); when the endpoint is reachable, keys not in the file are fetched
//! from it and cached for an hour.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Where GitHub publishes its keys.
pub const KEYS_URL: &str = "https://api.github.com/meta/public_keys/secret_scanning";
/// How long fetched keys are trusted before they are fetched again.
const REFRESH: Duration = Duration::from_secs(3600);
/// How soon after a failed fetch another is tried.
const RETRY_FETCH: Duration = Duration::from_secs(60);

/// One key of GitHub's list.
#[derive(Debug, Clone, Deserialize)]
pub struct PublishedKey {
    /// What `Github-Public-Key-Identifier` names.
    pub key_identifier: String,
    /// The key, PEM (SubjectPublicKeyInfo).
    pub key: String,
    /// Whether GitHub signs with it now (older keys stay valid).
    #[serde(default)]
    pub is_current: bool,
}

/// GitHub's list, as its endpoint answers and as the operator's file holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct PublishedKeys {
    /// The keys.
    pub public_keys: Vec<PublishedKey>,
}

/// Why a report was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The identifier names no key we know.
    #[error("the signing key is not one of GitHub's published keys")]
    UnknownKey,
    /// The signature is not base64 DER, or does not verify.
    #[error("the signature does not verify")]
    Invalid,
}

/// Why the operator's key file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyFileError(pub String);

/// Parses GitHub's key list (from the file or the endpoint), keeping the keys that parse as P-256.
pub fn parse_keys(json: &str) -> Result<HashMap<String, VerifyingKey>, KeyFileError> {
    let list: PublishedKeys = serde_json::from_str(json)
        .map_err(|err| KeyFileError(format!("not GitHub's key list ({{\"public_keys\": [...]}}): {err}")))?;
    let mut keys = HashMap::new();
    for entry in list.public_keys {
        let key = VerifyingKey::from_public_key_pem(entry.key.trim()).map_err(|err| {
            KeyFileError(format!("key {} is not a P-256 public key in PEM: {err}", entry.key_identifier))
        })?;
        keys.insert(entry.key_identifier, key);
    }
    Ok(keys)
}

/// The keys that sign GitHub's reports: the operator's, and those fetched from GitHub.
#[derive(Debug, Default)]
pub struct GithubKeys {
    configured: HashMap<String, VerifyingKey>,
    fetch_from: Option<(String, reqwest::Client)>,
    fetched: RwLock<Fetched>,
}

#[derive(Debug, Default)]
struct Fetched {
    keys: HashMap<String, VerifyingKey>,
    at: Option<Instant>,
    tried: Option<Instant>,
}

impl GithubKeys {
    /// Keys from the operator (`configured`), and from `fetch_from` (normally [`KEYS_URL`]; `None` never
    /// fetches).
    pub fn new(configured: HashMap<String, VerifyingKey>, fetch_from: Option<String>) -> Result<Self, reqwest::Error> {
        let fetch_from = match fetch_from {
            Some(url) => Some((
                url,
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
                    .build()?,
            )),
            None => None,
        };
        Ok(Self { configured, fetch_from, fetched: RwLock::new(Fetched::default()) })
    }

    /// Checks `signature` (base64 DER) of `body` by the key `identifier` names.
    pub async fn verify(
        &self,
        identifier: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let identifier = identifier.ok_or(SignatureError::Missing("Github-Public-Key-Identifier"))?;
        let signature = signature.ok_or(SignatureError::Missing("Github-Public-Key-Signature"))?;
        let key = match self.key(identifier) {
            Some(key) => key,
            None => {
                self.refresh().await;
                self.key(identifier).ok_or(SignatureError::UnknownKey)?
            }
        };
        let der = STANDARD.decode(signature.trim()).map_err(|_| SignatureError::Invalid)?;
        let signature = DerSignature::try_from(der.as_slice()).map_err(|_| SignatureError::Invalid)?;
        key.verify(body, &signature).map_err(|_| SignatureError::Invalid)
    }

    fn key(&self, identifier: &str) -> Option<VerifyingKey> {
        if let Some(key) = self.configured.get(identifier) {
            return Some(*key);
        }
        let fetched = self.fetched.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        fetched.keys.get(identifier).copied()
    }

    /// Fetches GitHub's list when the cached one is old, at most once a minute after a failure.
    async fn refresh(&self) {
        let Some((url, client)) = &self.fetch_from else { return };
        {
            let fetched = self.fetched.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let fresh = fetched.at.is_some_and(|at| at.elapsed() < REFRESH);
            let tried_lately = fetched.tried.is_some_and(|at| at.elapsed() < RETRY_FETCH);
            if fresh || tried_lately {
                return;
            }
        }
        let result = async {
            let response = client.get(url).send().await.map_err(|err| err.to_string())?;
            let text = response
                .error_for_status()
                .map_err(|err| err.to_string())?
                .text()
                .await
                .map_err(|err| err.to_string())?;
            parse_keys(&text).map_err(|err| err.to_string())
        }
        .await;
        let mut fetched = self.fetched.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        fetched.tried = Some(Instant::now());
        match result {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched GitHub's secret scanning keys");
                fetched.keys = keys;
                fetched.at = Some(Instant::now());
            }
            Err(err) => tracing::warn!(%url, error = %err, "GitHub's secret scanning keys could not be fetched"),
        }
    }
}

/// One entry of GitHub's report.
#[derive(Debug, Clone, Deserialize)]
pub struct Match {
    /// The string found.
    pub token: String,
    /// The pattern's name at GitHub.
    #[serde(rename = "type", default)]
    pub token_type: String,
    /// Where it was found.
    #[serde(default)]
    pub url: String,
    /// What was scanned: `content`, `commit`, `pull_request_comment`, `npm`, …
    #[serde(default)]
    pub source: String,
}
