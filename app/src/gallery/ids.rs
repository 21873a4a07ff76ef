//! The id of an image, which ends up inside storage keys.
//!
//! It is only ever built by `new` or by a `parse` that accepts one exact shape, so a value
//! taken from a URL can never smuggle a `/`, `..` or anything else into a key.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hex;

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
        Self(format!("{countdown:013}{}", hex::random()))
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
            && hex::is_lower(&s[COUNTDOWN_DIGITS..], RANDOM_DIGITS);
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

#[cfg(test)]
mod tests {
    use super::*;

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
