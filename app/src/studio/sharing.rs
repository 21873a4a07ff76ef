//! Share links: a picture opened by anyone who holds its link, until it expires, is revoked or
//! the picture is deleted.
//!
//! Like a session, a link is kept in the store only under its SHA-256, so a copy of the store's
//! keys opens nothing. Every open reads the link and the picture from the store, so a revoke on
//! one task closes the link on all of them at once. Each picture keeps the list of its links'
//! digests, for its owner's page and to end them all when it is deleted; the link's own object
//! is the truth, and the list may name links that are gone.

use bytes::Bytes;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::{Studio, error::StoreFailed};
use crate::{
    gallery::{ImageId, ImageRecord},
    hex,
    identity::OwnerId,
};

const PREFIX: &str = "esl_shr_";
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 43 base62 characters carry 256 random bits.
const RANDOM_CHARS: usize = 43;
/// How much of a link its owner's page shows, to tell links apart: 24 of its 256 bits.
const HINT_CHARS: usize = 4;

/// The secret a share link carries: `esl_shr_` and 43 random base62 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareLink(String);

impl ShareLink {
    fn new_random() -> Self {
        let random: String = (0..RANDOM_CHARS)
            .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
            .collect();
        Self(format!("{PREFIX}{random}"))
    }

    /// Only the exact shape: nothing else is ever hashed or looked up.
    pub fn parse(s: &str) -> Option<Self> {
        let random = s.strip_prefix(PREFIX)?;
        let valid = random.len() == RANDOM_CHARS && random.bytes().all(|b| ALPHABET.contains(&b));
        valid.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn id(&self) -> ShareId {
        ShareId(hex::encode(&Sha256::digest(self.0.as_bytes())))
    }

    fn hint(&self) -> String {
        format!("{}…", &self.0[..PREFIX.len() + HINT_CHARS])
    }
}

impl std::fmt::Debug for ShareLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareLink(..)")
    }
}

/// A link's name in the store and in its owner's revoke form: its SHA-256 in hex, which opens
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShareId(String);

impl ShareId {
    pub fn parse(s: &str) -> Option<Self> {
        hex::is_lower(s, 64).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Path {
        Path::from_iter(["_easel", "shares", "links", &format!("{}.json", self.0)])
    }
}

impl TryFrom<String> for ShareId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or("not a share link's digest")
    }
}

impl From<ShareId> for String {
    fn from(id: ShareId) -> Self {
        id.0
    }
}

/// How long a new link lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Not offered on the page: the API's `url` answers, which OpenAI documents as short-lived.
    Hour,
    Day,
    Week,
    Never,
}

impl Expiry {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "never" => Some(Self::Never),
            _ => None,
        }
    }

    fn after(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Self::Hour => Some(now + Duration::hours(1)),
            Self::Day => Some(now + Duration::days(1)),
            Self::Week => Some(now + Duration::weeks(1)),
            Self::Never => None,
        }
    }
}

/// One link as stored, and as its owner's page lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    pub id: ShareId,
    owner: OwnerId,
    image: ImageId,
    /// The link's first characters, so its owner can tell it from the others.
    pub hint: String,
    pub show_recipe: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Share {
    fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A link just made: the only time its secret is seen.
pub struct NewShare {
    pub link: ShareLink,
    pub share: Share,
}

/// Why a link opens nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// No such link, revoked, or its picture deleted.
    Unknown,
    Expired,
}

/// A picture as its link shows it. Its owner stays inside the studio.
pub struct Shared {
    pub record: ImageRecord,
    pub show_recipe: bool,
    owner: OwnerId,
}

impl Studio {
    /// Makes a link to the owner's picture `id`, living from `now` for `expiry`; `None`: no such
    /// picture.
    pub async fn share(
        &self,
        owner: &OwnerId,
        id: &ImageId,
        expiry: Expiry,
        show_recipe: bool,
        now: OffsetDateTime,
    ) -> Result<Option<NewShare>, StoreFailed> {
        if self.inner.gallery.record(owner, id).await?.is_none() {
            return Ok(None);
        }
        let link = ShareLink::new_random();
        let share = Share {
            id: link.id(),
            owner: owner.clone(),
            image: id.clone(),
            hint: link.hint(),
            show_recipe,
            made_at: now,
            expires_at: expiry.after(now),
        };
        let storage = &self.inner.storage;
        // Listed first: a link its owner could not see or revoke must never exist.
        storage
            .update_json(&list_key(owner, id), |ids: Option<Vec<ShareId>>| {
                let mut ids = ids.unwrap_or_default();
                ids.push(share.id.clone());
                Ok::<_, StoreFailed>((ids, ()))
            })
            .await?;
        storage.put_json(&share.id.key(), &share).await?;
        Ok(Some(NewShare { link, share }))
    }

    /// The live links to the owner's picture `id`, newest first.
    pub async fn shares(
        &self,
        owner: &OwnerId,
        id: &ImageId,
        now: OffsetDateTime,
    ) -> Result<Vec<Share>, StoreFailed> {
        let storage = &self.inner.storage;
        let ids: Vec<ShareId> = storage
            .get_json(&list_key(owner, id))
            .await?
            .unwrap_or_default();
        let found = futures::future::try_join_all(
            ids.iter()
                .map(|share| async move { storage.get_json::<Share>(&share.key()).await }),
        )
        .await?;
        let mut live: Vec<Share> = found
            .into_iter()
            .flatten()
            .filter(|share| !share.expired(now))
            .collect();
        live.sort_by_key(|share| std::cmp::Reverse(share.made_at));
        Ok(live)
    }

    /// Ends the owner's link `share` to their picture `id` for every task; false if the owner has
    /// no such link.
    pub async fn revoke_share(
        &self,
        owner: &OwnerId,
        id: &ImageId,
        share: &ShareId,
    ) -> Result<bool, StoreFailed> {
        let storage = &self.inner.storage;
        let stored: Option<Share> = storage.get_json(&share.key()).await?;
        if !stored.is_some_and(|s| &s.owner == owner && &s.image == id) {
            return Ok(false);
        }
        storage.delete(&share.key()).await?;
        storage
            .change_json(&list_key(owner, id), |ids: Option<Vec<ShareId>>| {
                let kept = ids.map(|ids| ids.into_iter().filter(|i| i != share).collect());
                Ok::<_, StoreFailed>((kept, ()))
            })
            .await?;
        Ok(true)
    }

    /// Ends every link to the owner's picture `id`, as deleting it does.
    pub(super) async fn end_shares(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<(), StoreFailed> {
        let storage = &self.inner.storage;
        let list = list_key(owner, id);
        let ids: Vec<ShareId> = storage.get_json(&list).await?.unwrap_or_default();
        futures::future::try_join_all(
            ids.iter()
                .map(|share| async move { storage.delete(&share.key()).await }),
        )
        .await?;
        storage.delete(&list).await?;
        Ok(())
    }

    /// The picture `link` opens at `now`, read afresh from the store.
    pub async fn open_share(
        &self,
        link: &ShareLink,
        now: OffsetDateTime,
    ) -> Result<Result<Shared, Closed>, StoreFailed> {
        let Some(share) = self
            .inner
            .storage
            .get_json::<Share>(&link.id().key())
            .await?
        else {
            return Ok(Err(Closed::Unknown));
        };
        if share.expired(now) {
            return Ok(Err(Closed::Expired));
        }
        // A deleted picture's links end even if ending them was cut short.
        let Some(record) = self
            .inner
            .gallery
            .record(&share.owner, &share.image)
            .await?
        else {
            return Ok(Err(Closed::Unknown));
        };
        Ok(Ok(Shared {
            record,
            show_recipe: share.show_recipe,
            owner: share.owner,
        }))
    }

    /// The shared picture, full size.
    pub async fn shared_picture(&self, shared: &Shared) -> Result<Option<Bytes>, StoreFailed> {
        self.picture(&shared.owner, &shared.record.id).await
    }

    /// The shared picture's display-sized preview, for link unfurls.
    pub async fn shared_preview(&self, shared: &Shared) -> Result<Option<Bytes>, StoreFailed> {
        self.preview(&shared.owner, &shared.record.id).await
    }
}

fn list_key(owner: &OwnerId, id: &ImageId) -> Path {
    Path::from_iter([
        "_easel",
        "shares",
        "pictures",
        owner.as_str(),
        &format!("{id}.json"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_256_random_bits_in_base62_and_only_that_shape_parses() {
        let link = ShareLink::new_random();
        assert_ne!(link, ShareLink::new_random());
        assert_eq!(link.as_str().len(), PREFIX.len() + RANDOM_CHARS);
        assert_eq!(ShareLink::parse(link.as_str()), Some(link.clone()));
        assert_eq!(ShareLink::parse(&link.as_str()[1..]), None);
        assert_eq!(
            ShareLink::parse(&format!("{}-", &link.as_str()[..50])),
            None
        );
        assert_eq!(ShareLink::parse("esl_shr_../../_easel/sessions"), None);
        assert!(ShareId::parse(link.id().as_str()).is_some());
        assert!(
            !link
                .hint()
                .contains(&link.as_str()[PREFIX.len() + HINT_CHARS..])
        );
    }

    #[test]
    fn a_link_expires_at_its_end_and_a_link_for_ever_never_does() {
        let now = OffsetDateTime::now_utc();
        let end = Expiry::Day.after(now).unwrap();
        assert_eq!(end - now, Duration::days(1));
        assert_eq!(Expiry::Never.after(now), None);
        assert_eq!(Expiry::parse("fortnight"), None);
    }
}
