//! Sessions of signed-in people, kept in the store so that any task serves them and a sign-out
//! on one task ends the session on all of them at once (each request reads its session).
//!
//! The browser holds a random 32-byte id; the store holds the session under the SHA-256 of
//! that id, so a copy of the store's keys opens no session.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{IdentityError, OwnerId, Person};
use crate::{hex, storage::Storage};

/// The id a browser presents: 32 random bytes, base64url without padding (43 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

const ID_BYTES: usize = 32;
const ID_CHARS: usize = 43;

impl SessionId {
    fn new_random() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; ID_BYTES]>()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let decoded = (s.len() == ID_CHARS)
            .then(|| URL_SAFE_NO_PAD.decode(s).ok())
            .flatten()?;
        (decoded.len() == ID_BYTES).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Path {
        let digest = Sha256::digest(self.0.as_bytes());
        Path::from(format!("_easel/sessions/{}.json", hex::encode(&digest)))
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// One session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub owner: OwnerId,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Handed back to the provider at sign-out as `id_token_hint`.
    pub id_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Session {
    pub fn person(&self) -> Person {
        Person {
            owner: self.owner.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Sessions {
    storage: Storage,
    lifetime: Duration,
}

impl Sessions {
    pub fn new(storage: Storage, lifetime: Duration) -> Self {
        Self { storage, lifetime }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session for `person` under a new id (never one the browser had before).
    pub async fn start(
        &self,
        person: &Person,
        id_token: String,
    ) -> Result<SessionId, IdentityError> {
        let id = SessionId::new_random();
        let made_at = OffsetDateTime::now_utc();
        let session = Session {
            owner: person.owner.clone(),
            email: person.email.clone(),
            name: person.name.clone(),
            id_token,
            made_at,
            expires_at: made_at + self.lifetime,
        };
        self.storage.put_json(&id.key(), &session).await?;
        Ok(id)
    }

    /// The live session behind `id`; none when it ended or expired.
    pub async fn find(&self, id: &SessionId) -> Result<Option<Session>, IdentityError> {
        let session: Option<Session> = self.storage.get_json(&id.key()).await?;
        match session {
            Some(s) if s.expires_at <= OffsetDateTime::now_utc() => {
                // An expired session holds an ID token, personal data: it goes when next seen
                // (the bucket's lifecycle rule takes those never seen again).
                self.storage.delete(&id.key()).await?;
                Ok(None)
            }
            live => Ok(live),
        }
    }

    /// Ends the session behind `id` for every task, answering what it was.
    pub async fn end(&self, id: &SessionId) -> Result<Option<Session>, IdentityError> {
        let session = self.find(id).await?;
        self.storage.delete(&id.key()).await?;
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_32_random_bytes() {
        let a = SessionId::new_random();
        assert_ne!(a, SessionId::new_random());
        assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(SessionId::parse(&a.as_str()[1..]), None);
        assert_eq!(
            SessionId::parse("../../_easel/budget/xxxxxxxxxxxxxxxxxxxxxxxxx"),
            None
        );
    }

    #[tokio::test]
    async fn an_ended_session_is_gone_and_an_expired_one_never_found() {
        let sessions = Sessions::new(Storage::in_memory(), Duration::from_secs(3600));
        let ada = Person {
            owner: OwnerId::of_person("https://id.example", "ada"),
            email: Some("ada@example.test".into()),
            name: None,
        };
        let id = sessions.start(&ada, "token".into()).await.unwrap();
        assert_eq!(sessions.find(&id).await.unwrap().unwrap().person(), ada);
        assert!(sessions.end(&id).await.unwrap().is_some());
        assert!(sessions.find(&id).await.unwrap().is_none());

        let gone = Sessions::new(Storage::in_memory(), Duration::ZERO);
        let id = gone.start(&ada, "token".into()).await.unwrap();
        assert!(gone.find(&id).await.unwrap().is_none());
        let kept: Option<Session> = gone.storage.get_json(&id.key()).await.unwrap();
        assert!(kept.is_none(), "an expired session is deleted when seen");
    }
}
