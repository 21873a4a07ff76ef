//! A browser's anonymous gallery moves to the person who first signs in with that browser.
//!
//! `_easel/owners/{anonymous}/gallery-moved.json` names that person. It is created only if
//! absent, so the first sign-in binds the gallery to one person for good, on any task. Then each
//! picture moves on its own (`Gallery::move_picture`: copied inside the store, indexed under the
//! person, then taken out of the anonymous gallery), and at the end the marker says the move is
//! done. A move cut short (a crash, a store that failed) is finished by the next call for the
//! same anonymous gallery, whoever makes it: every step of a picture's move can be done again
//! without copying anything twice, and two calls at once (two sign-ins of one browser on two
//! tasks) end as one. See docs/gallery.md.

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::{Studio, error::StoreFailed};
use crate::identity::OwnerId;

/// Pictures moved at once: each move is a handful of small requests.
const MOVES_AT_ONCE: usize = 8;

/// What a sign-in did with the browser's anonymous gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adopted {
    /// Pictures this call moved to the person signing in.
    pub moved: usize,
}

/// The marker of an anonymous gallery's move.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Move {
    to: OwnerId,
    done: bool,
}

impl Studio {
    /// Moves the pictures of the anonymous gallery `from` to the person `to`, unless that gallery
    /// was given to someone earlier. An unfinished move is finished first, even one to another
    /// person, who keeps the gallery. Pictures that jobs of `from` store after the move stay in
    /// `from`: the move takes what the gallery holds when it starts.
    pub async fn adopt_anonymous(
        &self,
        from: &OwnerId,
        to: &OwnerId,
    ) -> Result<Adopted, StoreFailed> {
        if from == to {
            return Ok(Adopted { moved: 0 });
        }
        let storage = &self.inner.storage;
        let key = marker_key(from);
        let asked = Move {
            to: to.clone(),
            done: false,
        };
        let binding = storage
            .change_json(&key, |marker: Option<Move>| {
                Ok::<_, StoreFailed>(match marker {
                    Some(marker) => (None, marker),
                    None => (Some(asked.clone()), asked.clone()),
                })
            })
            .await?;
        if binding.done {
            return Ok(Adopted { moved: 0 });
        }
        let gallery = &self.inner.gallery;
        let pictures = gallery.stored_records(from).await?;
        let to_whom = &binding.to;
        // Owned records and an `async move` per picture keep the future `Send` for any
        // lifetime, as an axum handler needs.
        let moved = futures::stream::iter(pictures)
            .map(|record| async move { gallery.move_picture(from, to_whom, &record).await })
            .buffer_unordered(MOVES_AT_ONCE)
            .try_fold(
                0,
                |moved, taken| async move { Ok(moved + usize::from(taken)) },
            )
            .await?;
        tracing::info!(%from, to = %binding.to, moved, "anonymous gallery moved");
        let done = Move {
            done: true,
            ..binding
        };
        storage.put_json(&key, &done).await?;
        let moved = if done.to == *to { moved } else { 0 };
        Ok(Adopted { moved })
    }
}

fn marker_key(from: &OwnerId) -> Path {
    Path::from_iter(["_easel", "owners", from.as_str(), "gallery-moved.json"])
}
