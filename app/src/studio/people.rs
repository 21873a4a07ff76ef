//! A small record of the people who sign in (their e-mail and name by owner id), so that the
//! operator's page can say who spent what. Each process writes a person's record the first
//! time it sees them, which also keeps a changed name or address current after a restart.

use std::{
    collections::HashSet,
    sync::{Mutex, MutexGuard},
};

use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::{
    identity::{OwnerId, Person},
    storage::{Storage, StorageError},
};

/// How many people a process remembers having noted; past it, it forgets them all and notes
/// each again once.
const KNOWN_PEOPLE: usize = 10_000;

/// What the page may say about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub email: Option<String>,
    pub name: Option<String>,
}

pub struct People {
    storage: Storage,
    noted: Mutex<HashSet<OwnerId>>,
}

impl People {
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            noted: Mutex::default(),
        }
    }

    /// Records `person` unless this process already has.
    pub async fn note(&self, person: &Person) -> Result<(), StorageError> {
        {
            let mut noted = self.noted();
            if noted.len() >= KNOWN_PEOPLE {
                noted.clear();
            }
            if !noted.insert(person.owner.clone()) {
                return Ok(());
            }
        }
        let known = Known {
            email: person.email.clone(),
            name: person.name.clone(),
        };
        let written = self.storage.put_json(&key(&person.owner), &known).await;
        if written.is_err() {
            // Not recorded: the next request tries again.
            self.noted().remove(&person.owner);
        }
        written
    }

    /// What is known about `owner`; nothing for an anonymous browser.
    pub async fn known(&self, owner: &OwnerId) -> Result<Known, StorageError> {
        Ok(self
            .storage
            .get_json(&key(owner))
            .await?
            .unwrap_or_default())
    }

    fn noted(&self) -> MutexGuard<'_, HashSet<OwnerId>> {
        self.noted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(owner: &OwnerId) -> Path {
    Path::from_iter(["_easel", "people", &format!("{owner}.json")])
}
