//! Identifiers that end up inside storage keys.
//!
//! Both ids are only ever built by `new_*` or by a `parse` that accepts one
//! exact shape, so a value taken from a cookie or a URL can never smuggle a
//! `/`, `..` or anything else into a key.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The anonymous identity of one browser: 128 random bits as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OwnerId(String);

impl TryFrom<String> for OwnerId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("not an owner id: {s:?}"))
    }
}

impl From<OwnerId> for String {
    fn from(id: OwnerId) -> Self {
        id.0
    }
}

impl OwnerId {
    pub fn new_random() -> Self {
        Self(random_hex())
    }

    pub fn parse(s: &str) -> Option<Self> {
        is_lower_hex(s, 32).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one image: a 13-digit countdown of Unix milliseconds followed by
/// 128 random bits in hex (45 characters).
///
/// The countdown makes plain lexicographic order newest-first, which is the
/// order the gallery shows; the random part makes ids unguessable, so a
/// permalink reveals nothing about other images.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageId(String);

/// Larger than any Unix time in milliseconds until the year 2286.
const COUNTDOWN_FROM: i128 = 9_999_999_999_999;
const COUNTDOWN_DIGITS: usize = 13;
const RANDOM_DIGITS: usize = 32;

impl ImageId {
    pub fn new(now: OffsetDateTime) -> Self {
        let millis = now.unix_timestamp_nanos() / 1_000_000;
        let countdown = (COUNTDOWN_FROM - millis).clamp(0, COUNTDOWN_FROM);
        Self(format!("{countdown:013}{}", random_hex()))
    }

    /// The `n`th id made from this one: the same time, and the same random part but for its
    /// last byte. A job's pictures get these, so running a job again reuses its pictures' ids.
    pub fn nth(&self, n: u8) -> Self {
        let kept = &self.0[..self.0.len() - 2];
        Self(format!("{kept}{n:02x}"))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let valid = s.len() == COUNTDOWN_DIGITS + RANDOM_DIGITS
            && s.is_char_boundary(COUNTDOWN_DIGITS)
            && s[..COUNTDOWN_DIGITS].bytes().all(|b| b.is_ascii_digit())
            && is_lower_hex(&s[COUNTDOWN_DIGITS..], RANDOM_DIGITS);
        valid.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ImageId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("not an image id: {s:?}"))
    }
}

impl From<ImageId> for String {
    fn from(id: ImageId) -> Self {
        id.0
    }
}

fn random_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids_are_random_and_round_trip() {
        let a = OwnerId::new_random();
        assert_ne!(a, OwnerId::new_random());
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(OwnerId::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn owner_id_rejects_anything_but_32_lowercase_hex() {
        for bad in [
            "",
            "../x",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef/123456789abcdef",
            "0123456789abcdef0123456789abcdeé",
        ] {
            assert_eq!(OwnerId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn image_ids_sort_newest_first() {
        let older = ImageId::new(time::macros::datetime!(2025-01-01 00:00 UTC));
        let newer = ImageId::new(time::macros::datetime!(2025-01-01 00:00:00.001 UTC));
        assert!(newer < older);
        assert!(older.as_str().starts_with("8264"), "{older}");
        assert_eq!(ImageId::parse(older.as_str()), Some(older));
    }

    #[test]
    fn image_id_rejects_path_injection_and_wrong_shapes() {
        let good = "82643103999990123456789abcdef0123456789abcdef";
        assert!(ImageId::parse(good).is_some());
        for bad in [
            String::new(),
            "../x".to_owned(),
            format!("../{good}"),
            format!("{good}0"),
            good[1..].to_owned(),
            good.replace('a', "A"),
            format!("a{}", &good[1..]),
            format!("{}/", &good[..44]),
            format!("{}é", &good[..43]),
        ] {
            assert_eq!(ImageId::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn image_id_deserialization_validates() {
        let id = ImageId::new(OffsetDateTime::now_utc());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ImageId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ImageId>("\"../etc/passwd\"").is_err());
    }
}
