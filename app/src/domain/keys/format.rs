//! The API key format: `{prefix}_{body}{check}`.
//!
//! - prefix: deployment-wide, 2–12 of `[a-z0-9]`, default `lk`;
//! - body: 32 bytes from the OS CSPRNG in fixed-width base62, 43 characters;
//! - check: CRC32 of `{prefix}_{body}` in fixed-width base62, 6 characters.
//!
//! The checksum lets [`parse`] turn away typos and made-up keys before any cache or database lookup.
//! Only the SHA-256 of the whole key is stored ([`KeyHash`]), with a short [`hint`] for people.

use super::base62::{encode_fixed, is_base62};
use crate::domain::random::{RandomError, secret_bytes};
use sha2::{Digest, Sha256};
use std::fmt;

/// Characters in a key body.
pub const BODY_LEN: usize = 43;
/// Characters in a key checksum.
pub const CHECK_LEN: usize = 6;
/// Body characters shown in a hint.
const HINT_LEN: usize = 4;

/// A validated key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

/// Why a prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key prefix is 2 to 12 lower-case letters and digits, like lk or acme")]
pub struct PrefixError;

impl KeyPrefix {
    /// Checks `prefix`.
    pub fn new(prefix: &str) -> Result<Self, PrefixError> {
        let ok =
            (2..=12).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok { Ok(Self(prefix.to_owned())) } else { Err(PrefixError) }
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("lk".to_owned())
    }
}

/// A plaintext API key. It exists only between creation and the one response that shows it: it never
/// prints, is never serialised and is never stored.
pub struct PlaintextKey(String);

impl fmt::Debug for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaintextKey(<redacted>)")
    }
}

impl PlaintextKey {
    /// The key text, for the response that shows it once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Wraps a key as presented by a caller, after [`parse`] accepted it.
    fn presented(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// The SHA-256 of a whole key, as looked up. Not secret, but there is no reason to print it. Kept as the 32
/// bytes themselves: the caches hash and compare it on every verification, and copying it allocates nothing.
/// The database stores it as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// Lower-case hex, 64 characters, as in the `key_hash` and `token_hash` columns.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The hash as read back from a `key_hash` column. Every stored hash was written by [`KeyHash::to_hex`];
    /// a value that is not 64 hex digits (a hand-edited row) can match no presented key, so nothing is ever
    /// cached under it, and it reads as the all-zero hash, which no key has either.
    pub fn from_stored(hex: &str) -> Self {
        let mut bytes = [0; 32];
        if hex::decode_to_slice(hex, &mut bytes).is_err() {
            bytes = [0; 32];
        }
        Self(bytes)
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash")
    }
}

/// Why a presented key was refused without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// It does not start with this deployment's `{prefix}_`.
    #[error("the key does not start with this deployment's prefix")]
    Prefix,
    /// Too short or too long.
    #[error("the key has the wrong length")]
    Length,
    /// A character outside `0-9A-Za-z`.
    #[error("the key contains a character that keys never contain")]
    Alphabet,
    /// The checksum does not match: a typo, a truncated copy or a made-up key.
    #[error("the key's checksum does not match")]
    Checksum,
}

fn crc(prefix: &str, body: &str) -> u32 {
    // Fed in pieces: this runs on every verification, and concatenating would allocate.
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(b"_");
    hasher.update(body.as_bytes());
    hasher.finalize()
}

fn checksum(prefix: &str, body: &str) -> String {
    encode_fixed(&crc(prefix, body).to_be_bytes(), CHECK_LEN)
}

/// Whether `check` is the base62 form of `crc`, without building a string.
fn check_matches(crc: u32, check: &str) -> bool {
    let mut number = u64::from(crc);
    check.bytes().rev().all(|digit| {
        let expected = super::base62::ALPHABET[usize::try_from(number % 62).unwrap_or(0)];
        number /= 62;
        digit == expected
    }) && number == 0
}

/// A new key with `prefix`.
pub fn generate(prefix: &KeyPrefix) -> Result<PlaintextKey, RandomError> {
    let body = encode_fixed(&secret_bytes::<32>()?, BODY_LEN);
    let check = checksum(prefix.as_str(), &body);
    Ok(PlaintextKey(format!("{}_{body}{check}", prefix.as_str())))
}

/// Checks a presented key's prefix, length, alphabet and checksum, in that order.
pub fn parse(prefix: &KeyPrefix, presented: &str) -> Result<PlaintextKey, FormatError> {
    check(prefix, presented).map(|()| PlaintextKey::presented(presented))
}

/// The hash of a presented key, if it passes [`parse`]'s checks: what the hot paths look up, without a copy
/// of the key.
pub fn hash_presented(prefix: &KeyPrefix, presented: &str) -> Result<KeyHash, FormatError> {
    check(prefix, presented).map(|()| hash_text(presented))
}

fn check(prefix: &KeyPrefix, presented: &str) -> Result<(), FormatError> {
    let rest =
        presented.strip_prefix(prefix.as_str()).and_then(|rest| rest.strip_prefix('_')).ok_or(FormatError::Prefix)?;
    if rest.len() != BODY_LEN + CHECK_LEN {
        return Err(FormatError::Length);
    }
    if !is_base62(rest) {
        return Err(FormatError::Alphabet);
    }
    let (body, check) = rest.split_at(BODY_LEN);
    if !check_matches(crc(prefix.as_str(), body), check) {
        return Err(FormatError::Checksum);
    }
    Ok(())
}

/// The hash under which `key` is stored.
pub fn hash(key: &PlaintextKey) -> KeyHash {
    hash_text(&key.0)
}

fn hash_text(key: &str) -> KeyHash {
    KeyHash(Sha256::digest(key.as_bytes()).into())
}

/// What people see of a key: its prefix and the first characters of its body, e.g. `lk_3Fa9…`.
pub fn hint(key: &PlaintextKey) -> String {
    let (prefix, rest) = key.0.split_once('_').unwrap_or(("", &key.0));
    let shown: String = rest.chars().take(HINT_LEN).collect();
    format!("{prefix}_{shown}…")
}

/// The hint a key would have, for text that may be a whole key pasted into a search (`None` when it is too
/// short to be one).
pub fn hint_of_text(text: &str) -> Option<String> {
    let (prefix, rest) = text.split_once('_')?;
    (!prefix.is_empty() && rest.chars().count() > HINT_LEN)
        .then(|| format!("{prefix}_{}…", rest.chars().take(HINT_LEN).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn default_key_shape(text: &str) -> bool {
        text.len() == 52 && text.starts_with("lk_") && text[3..].bytes().all(|b| b.is_ascii_alphanumeric())
    }

    #[test]
    fn a_default_key_has_the_documented_shape() {
        let key = generate(&KeyPrefix::default()).expect("random");
        assert!(default_key_shape(key.expose()), "{}", key.expose());
        assert_eq!(hint(&key).chars().count(), "lk_".len() + 4 + 1);
        assert!(key.expose().starts_with(hint(&key).trim_end_matches('…')));
        assert_eq!(hash(&key).to_hex().len(), 64);
        assert_eq!(KeyHash::from_stored(&hash(&key).to_hex()), hash(&key));
        assert_eq!(hash_presented(&KeyPrefix::default(), key.expose()), Ok(hash(&key)));
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let prefix = KeyPrefix::default();
        let key = generate(&prefix).expect("random");
        let text = key.expose();
        assert_eq!(parse(&prefix, &text.replacen("lk_", "xx_", 1)).err(), Some(FormatError::Prefix));
        assert_eq!(parse(&prefix, &text[..text.len() - 1]).err(), Some(FormatError::Length));
        assert_eq!(parse(&prefix, &format!("{}-", &text[..text.len() - 1])).err(), Some(FormatError::Alphabet));
        let mut typo = text.as_bytes().to_vec();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).expect("ascii");
        assert_eq!(parse(&prefix, &typo).err(), Some(FormatError::Checksum));
    }

    #[test]
    fn a_key_belongs_to_its_prefix_only() {
        let acme = KeyPrefix::new("acme").expect("valid");
        let key = generate(&acme).expect("random");
        assert!(parse(&acme, key.expose()).is_ok());
        assert_eq!(parse(&KeyPrefix::default(), key.expose()).err(), Some(FormatError::Prefix));
    }

    #[test]
    fn prefixes_are_short_lower_case_words() {
        for ok in ["lk", "acme", "a1b2c3d4e5f6"] {
            assert!(KeyPrefix::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "l", "LK", "lk_", "a1b2c3d4e5f6g", "l k"] {
            assert_eq!(KeyPrefix::new(bad), Err(PrefixError), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_key() {
        let key = generate(&KeyPrefix::default()).expect("random");
        assert!(!format!("{key:?}").contains(&key.expose()[3..]));
        assert!(!format!("{:?}", hash(&key)).contains(&hash(&key).to_hex()));
    }

    proptest! {
        #[test]
        fn generated_keys_parse_back(prefix in "[a-z0-9]{2,12}") {
            let prefix = KeyPrefix::new(&prefix).expect("valid");
            let key = generate(&prefix).expect("random");
            let parsed = parse(&prefix, key.expose()).expect("round trip");
            prop_assert_eq!(parsed.expose(), key.expose());
            prop_assert_eq!(hash(&parsed), hash(&key));
        }

        #[test]
        fn arbitrary_strings_never_panic_and_rarely_pass(text in "\\PC{0,80}") {
            let result = parse(&KeyPrefix::default(), &text);
            if let Ok(key) = result {
                prop_assert!(default_key_shape(key.expose()));
            }
        }

        #[test]
        fn near_misses_of_a_real_key_are_refused(position in 3_usize..52, replacement in "[0-9A-Za-z]") {
            let prefix = KeyPrefix::default();
            let key = generate(&prefix).expect("random");
            let mut text = key.expose().to_owned();
            let replacement = replacement.chars().next().expect("one char");
            prop_assume!(text.as_bytes()[position] != replacement as u8);
            text.replace_range(position..=position, &replacement.to_string());
            // CRC32 catches every single-character substitution.
            prop_assert_eq!(parse(&prefix, &text).err(), Some(FormatError::Checksum));
        }
    }
}
