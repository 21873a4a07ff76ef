//! Personal access tokens: what a script shows instead of a browser's cookie or session.
//!
//! A token is `esl_pat_`, 32 random bytes in base62 (43 characters, zero-padded) and a CRC32
//! of those characters in base62 (6 characters), so a secret scanner can tell a real token
//! from a look-alike without asking Easel. The store keeps only the token's SHA-256: the
//! record sits under the hash (a look-up is one read) and the owner's list holds one empty
//! marker per hash (the page lists them).
//!
//! A revoked token is not deleted but marked, through the same compare-and-swap write that
//! notes its last use, so a use racing a revoke can never bring the token back.

use std::time::Duration;

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{IdentityError, OwnerId};
use crate::{hex, storage::Storage};

const PREFIX: &str = "esl_pat_";
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43;
const CHECKSUM_CHARS: usize = 6;
const TOKEN_CHARS: usize = PREFIX.len() + SECRET_CHARS + CHECKSUM_CHARS;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A last use is written at most this often, so a busy script costs one write a minute, not
/// one per call.
const LAST_USED_EVERY: time::Duration = time::Duration::minutes(1);

/// The longest name a token may have, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// A token as shown once to its owner and then presented by a script.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    fn new_random() -> Self {
        let secret = base62(&rand::random::<[u8; SECRET_BYTES]>(), SECRET_CHARS);
        let checksum = checksum(&secret);
        Self(format!("{PREFIX}{secret}{checksum}"))
    }

    /// A token of the right shape whose checksum holds; anything else is never looked up.
    pub fn parse(s: &str) -> Option<Self> {
        let body = s.strip_prefix(PREFIX)?;
        if s.len() != TOKEN_CHARS || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (secret, sum) = body.split_at(SECRET_CHARS);
        (checksum(secret) == sum).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(&Sha256::digest(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

fn checksum(secret: &str) -> String {
    base62(
        &crc32fast::hash(secret.as_bytes()).to_be_bytes(),
        CHECKSUM_CHARS,
    )
}

/// `bytes` as a big-endian number in base62, padded with zeros to `width` digits.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|&b| b != 0) {
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    digits.resize(width.max(digits.len()), b'0');
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// The SHA-256 of a token in hex: its name in the store and in the page's revoke form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn parse(s: &str) -> Option<Self> {
        hex::is_lower(s, 64).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Path {
        Path::from(format!("_easel/tokens/{}.json", self.0))
    }
}

/// A token's name as its owner typed it: trimmed, not empty, at most [`MAX_NAME_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let name = s.trim();
        if name.is_empty() {
            return Err("Give the token a name, such as the script that will use it.");
        }
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err("A token's name is at most 60 characters on one line.");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One token as stored (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    owner: OwnerId,
    name: String,
    #[serde(with = "time::serde::rfc3339")]
    made_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(default)]
    revoked: bool,
}

impl Record {
    fn opens(&self, now: OffsetDateTime) -> bool {
        !self.revoked && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A token as its owner's page lists it.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub hash: TokenHash,
    pub name: String,
    pub made_at: OffsetDateTime,
    pub last_used: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Clone)]
pub struct Tokens {
    storage: Storage,
}

impl Tokens {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    fn owner_list(owner: &OwnerId) -> Path {
        Path::from(format!("_easel/owners/{owner}/tokens"))
    }

    /// The owner's list entry for one token.
    fn marker(owner: &OwnerId, hash: &TokenHash) -> Path {
        Path::from(format!("_easel/owners/{owner}/tokens/{}", hash.as_str()))
    }

    /// Makes a token for `owner`, good for `lifetime` (or until revoked). The token itself is
    /// answered here once and kept nowhere.
    pub async fn make(
        &self,
        owner: &OwnerId,
        name: &TokenName,
        lifetime: Option<Duration>,
    ) -> Result<Token, IdentityError> {
        let token = Token::new_random();
        let hash = token.hash();
        let made_at = OffsetDateTime::now_utc();
        let record = Record {
            owner: owner.clone(),
            name: name.as_str().to_owned(),
            made_at,
            last_used: None,
            expires_at: lifetime.map(|l| made_at + l),
            revoked: false,
        };
        // The list entry first: a token whose record failed to be written is listed as
        // nothing, while one missing from the list could never be revoked from the page.
        self.storage
            .put(&Self::marker(owner, &hash), Default::default())
            .await?;
        self.storage.put_json(&hash.key(), &record).await?;
        Ok(token)
    }

    /// The owner a token opens the API for; none when it is unknown, expired or revoked.
    /// Notes the use, at most once a minute.
    pub async fn owner_of(&self, token: &Token) -> Result<Option<OwnerId>, IdentityError> {
        let key = token.hash().key();
        let now = OffsetDateTime::now_utc();
        let Some(record) = self.storage.get_json::<Record>(&key).await? else {
            return Ok(None);
        };
        if !record.opens(now) {
            return Ok(None);
        }
        if record
            .last_used
            .is_none_or(|at| now - at >= LAST_USED_EVERY)
        {
            self.storage
                .change_json(&key, |current: Option<Record>| {
                    let used = current.filter(|r| !r.revoked).map(|r| Record {
                        last_used: Some(now),
                        ..r
                    });
                    Ok::<_, IdentityError>((used, ()))
                })
                .await?;
        }
        Ok(Some(record.owner))
    }

    /// The owner's live tokens, newest first.
    pub async fn list(&self, owner: &OwnerId) -> Result<Vec<TokenInfo>, IdentityError> {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Vec::new();
        for name in self.storage.names_under(&Self::owner_list(owner)).await? {
            let Some(hash) = TokenHash::parse(&name) else {
                continue;
            };
            let Some(record) = self.storage.get_json::<Record>(&hash.key()).await? else {
                continue;
            };
            if record.owner == *owner && record.opens(now) {
                tokens.push(TokenInfo {
                    hash,
                    name: record.name,
                    made_at: record.made_at,
                    last_used: record.last_used,
                    expires_at: record.expires_at,
                });
            }
        }
        tokens.sort_by_key(|token| std::cmp::Reverse(token.made_at));
        Ok(tokens)
    }

    /// Revokes one of the owner's tokens for every task at once. False when the owner has no
    /// such token (someone else's is left alone).
    pub async fn revoke(&self, owner: &OwnerId, hash: &TokenHash) -> Result<bool, IdentityError> {
        let revoked = self
            .storage
            .change_json(&hash.key(), |current: Option<Record>| {
                let mine = current.filter(|r| r.owner == *owner && !r.revoked);
                let revoked = mine.map(|r| Record { revoked: true, ..r });
                let found = revoked.is_some();
                Ok::<_, IdentityError>((revoked, found))
            })
            .await?;
        if revoked {
            self.storage.delete(&Self::marker(owner, hash)).await?;
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_has_its_prefix_a_checksum_and_fixed_length() {
        let token = Token::new_random();
        assert!(token.as_str().starts_with("esl_pat_"));
        assert_eq!(token.as_str().len(), TOKEN_CHARS);
        assert_eq!(Token::parse(token.as_str()), Some(token.clone()));
        assert_ne!(token, Token::new_random());

        let mut typo = token.as_str().to_owned();
        let flipped = if typo.ends_with('a') { "b" } else { "a" };
        typo.replace_range(TOKEN_CHARS - 1.., flipped);
        assert_eq!(Token::parse(&typo), None);
        assert_eq!(Token::parse(&token.as_str()[1..]), None);
        assert_eq!(
            Token::parse(&token.as_str().replace("esl_pat_", "esl_shr_")),
            None
        );
        assert_eq!(Token::parse(""), None);
    }

    #[test]
    fn base62_pads_and_counts_like_a_number() {
        assert_eq!(base62(&[0, 0], 3), "000");
        assert_eq!(base62(&[0, 61], 2), "0z");
        assert_eq!(base62(&[0, 62], 2), "10");
        assert_eq!(base62(&[0xff; 32], 0).len(), SECRET_CHARS);
    }

    #[test]
    fn a_name_is_trimmed_and_bounded() {
        assert_eq!(TokenName::parse("  ci  ").unwrap().as_str(), "ci");
        assert!(TokenName::parse("   ").is_err());
        assert!(TokenName::parse(&"x".repeat(61)).is_err());
        assert!(TokenName::parse("a\nb").is_err());
        assert!(TokenName::parse(&"é".repeat(60)).is_ok());
    }

    #[tokio::test]
    async fn a_token_opens_until_revoked_or_expired_and_only_its_owner_revokes_it() {
        let tokens = Tokens::new(Storage::in_memory());
        let ada = OwnerId::new_random();
        let bob = OwnerId::new_random();
        let name = TokenName::parse("notebook").unwrap();
        let token = tokens.make(&ada, &name, None).await.unwrap();
        assert_eq!(tokens.owner_of(&token).await.unwrap(), Some(ada.clone()));
        let listed = tokens.list(&ada).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used.is_some());
        assert!(tokens.list(&bob).await.unwrap().is_empty());

        assert!(!tokens.revoke(&bob, &listed[0].hash).await.unwrap());
        assert_eq!(tokens.owner_of(&token).await.unwrap(), Some(ada.clone()));
        assert!(tokens.revoke(&ada, &listed[0].hash).await.unwrap());
        assert_eq!(tokens.owner_of(&token).await.unwrap(), None);
        assert!(tokens.list(&ada).await.unwrap().is_empty());

        let expired = tokens
            .make(&ada, &name, Some(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(tokens.owner_of(&expired).await.unwrap(), None);
    }
}
