//! Lowercase hexadecimal strings: the shape of Easel's random ids.

/// 128 random bits as 32 lowercase hex digits.
pub fn random() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether `s` is exactly `len` lowercase hex digits.
pub fn is_lower(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `bytes` as lowercase hex digits, two a byte.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
