//! The one source of randomness for secrets: the operating system's CSPRNG.

use rand::TryRngCore;
use rand::rngs::OsRng;

/// The OS random source failed; nothing secret can be made until it recovers.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

/// `N` bytes from the OS CSPRNG.
pub fn secret_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0_u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|_| RandomError)?;
    Ok(bytes)
}
