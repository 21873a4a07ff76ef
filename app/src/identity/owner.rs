//! The owner id: the key to one browser's or one person's pictures, jobs and budget.
//! It is only ever made at random or by a `parse` that accepts one exact shape, so a value
//! taken from a cookie can never smuggle a `/`, `..` or anything else into a storage key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hex;

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
        Self(hex::random())
    }

    /// A signed-in person's id: the first 128 bits of SHA-256 over issuer and subject, so the
    /// same person gets the same id on every task and every sign-in, and two providers' equal
    /// subjects stay apart.
    pub fn of_person(issuer: &str, subject: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(issuer.len().to_be_bytes())
            .chain_update(issuer)
            .chain_update(subject)
            .finalize();
        Self(hex::encode(&digest[..16]))
    }

    pub fn parse(s: &str) -> Option<Self> {
        hex::is_lower(s, 32).then(|| Self(s.to_owned()))
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
    fn a_person_keeps_one_owner_id_per_issuer() {
        let ada = OwnerId::of_person("https://id.example", "ada");
        assert_eq!(ada, OwnerId::of_person("https://id.example", "ada"));
        assert_eq!(OwnerId::parse(ada.as_str()), Some(ada.clone()));
        assert_ne!(ada, OwnerId::of_person("https://other.example", "ada"));
        assert_ne!(
            OwnerId::of_person("https://id.example/a", "b"),
            OwnerId::of_person("https://id.example/", "ab")
        );
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
}
