//! Fixed-width base62 (`0-9A-Za-z`) for key bodies and checksums: zero-padded, so every key has the
//! same length and a length check alone rejects most mistyped keys.

/// The alphabet, in digit order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `bytes`, read as one big-endian number, in exactly `width` digits. `width` must be large enough
/// (43 for 32 bytes, 6 for 4 bytes); the top digits are `0` padding.
pub fn encode_fixed(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        // Long division of the whole number by 62, most significant byte first.
        let mut remainder = 0_u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = u8::try_from(value / 62).unwrap_or(u8::MAX);
            remainder = value % 62;
        }
        *slot = ALPHABET[usize::try_from(remainder).unwrap_or(0)];
    }
    digits.into_iter().map(char::from).collect()
}

/// Whether every character is in the alphabet.
pub fn is_base62(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_encode_as_expected() {
        assert_eq!(encode_fixed(&[0], 3), "000");
        assert_eq!(encode_fixed(&[61], 2), "0z");
        assert_eq!(encode_fixed(&[62], 2), "10");
        assert_eq!(encode_fixed(&u32::MAX.to_be_bytes(), 6), "4gfFC3");
    }

    #[test]
    fn the_largest_32_byte_number_fits_43_digits() {
        let encoded = encode_fixed(&[0xff; 32], 43);
        assert_eq!(encoded.len(), 43);
        assert_ne!(encoded.as_bytes()[0], b'0', "43 digits are needed, no fewer");
    }
}
