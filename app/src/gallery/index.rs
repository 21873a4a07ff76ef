//! The per-browser index: what the gallery shows and counts, without listing or reading records.
//!
//! `galleries/{owner}/index/head.json` holds the newest records and, newest first, references to
//! chunks of older ones (`index/{name}.json`). A chunk is never changed in place: a change writes
//! a new chunk under a fresh name, swaps the reference in the head, then deletes the old one. So
//! the head is the only object ever rewritten, every change is one compare-and-swap on it, and
//! a head always points at chunks that exist and whose counts it knows exactly.
//!
//! Chunk `j` holds the ids from its `from` (inclusive) to the next chunk's `from`; the head holds
//! every id newer than the first chunk's `from`. Ids sort newest first, so a new picture almost
//! always lands in the head, and the head is sealed into a chunk when it grows past
//! [`HEAD_MAX`], which keeps every write small however large the gallery grows.
//! See docs/gallery.md for the failure cases.

use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::{GalleryError, ImageId, ImageRecord};
use crate::identity::OwnerId;
use crate::storage::Storage;

/// Records per sealed chunk.
const CHUNK: usize = 48;
/// The head is sealed past this many records, keeping [`CHUNK`] of them.
const HEAD_MAX: usize = 2 * CHUNK;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Head {
    /// The newest records, newest first.
    records: Vec<ImageRecord>,
    /// Older records, newest chunk first.
    chunks: Vec<ChunkRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChunkRef {
    name: String,
    /// The newest id this chunk may hold; fixed when it is sealed.
    from: ImageId,
    count: usize,
}

/// Where a change to one id has to happen.
enum Place {
    /// The head was changed (or needed no change); `seal` when it has grown too large.
    Done { seal: bool },
    /// The id belongs in this chunk.
    Chunk(ChunkRef),
    /// This gallery has no index yet.
    NoIndex,
}

impl Head {
    pub(super) fn total(&self) -> usize {
        self.records.len() + self.chunks.iter().map(|c| c.count).sum::<usize>()
    }

    /// The chunk whose range holds `id`, if it is not the head's.
    fn chunk_for(&self, id: &ImageId) -> Option<&ChunkRef> {
        self.chunks.iter().rev().find(|c| c.from <= *id)
    }

    /// The head with `records` (any order) laid out as a fresh index: the newest [`CHUNK`] in
    /// the head, the rest in chunks of [`CHUNK`], each given a name by `name`.
    fn laid_out(
        mut records: Vec<ImageRecord>,
        mut name: impl FnMut() -> String,
    ) -> (Self, Vec<(ChunkRef, Vec<ImageRecord>)>) {
        records.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        records.dedup_by(|a, b| a.id == b.id);
        let older = records.split_off(records.len().min(CHUNK));
        let chunks: Vec<_> = older
            .chunks(CHUNK)
            .map(|part| {
                let reference = ChunkRef {
                    name: name(),
                    from: part[0].id.clone(),
                    count: part.len(),
                };
                (reference, part.to_vec())
            })
            .collect();
        let head = Self {
            records,
            chunks: chunks.iter().map(|(r, _)| r.clone()).collect(),
        };
        (head, chunks)
    }
}

/// Inserts `record` into the sorted `records` unless its id is there; whether it was added.
fn insert_sorted(records: &mut Vec<ImageRecord>, record: &ImageRecord) -> bool {
    match records.binary_search_by(|r| r.id.cmp(&record.id)) {
        Ok(_) => false,
        Err(at) => {
            records.insert(at, record.clone());
            true
        }
    }
}

/// Removes `id` from the sorted `records`; whether it was there.
fn remove_sorted(records: &mut Vec<ImageRecord>, id: &ImageId) -> bool {
    match records.binary_search_by(|r| r.id.cmp(id)) {
        Ok(at) => {
            records.remove(at);
            true
        }
        Err(_) => false,
    }
}

/// The index of every gallery in a store.
#[derive(Debug, Clone)]
pub(super) struct Index {
    storage: Storage,
}

/// What a change does to a record list: insert one record or remove one id.
#[derive(Clone, Copy)]
enum Change<'a> {
    Insert(&'a ImageRecord),
    Remove(&'a ImageId),
}

impl Change<'_> {
    fn id(&self) -> &ImageId {
        match self {
            Self::Insert(record) => &record.id,
            Self::Remove(id) => id,
        }
    }

    /// Applies the change; whether `records` changed.
    fn apply(&self, records: &mut Vec<ImageRecord>) -> bool {
        match self {
            Self::Insert(record) => insert_sorted(records, record),
            Self::Remove(id) => remove_sorted(records, id),
        }
    }
}

impl Index {
    pub(super) fn new(storage: Storage) -> Self {
        Self { storage }
    }

    pub(super) async fn head(&self, owner: &OwnerId) -> Result<Option<Head>, GalleryError> {
        Ok(self.storage.get_json(&head_key(owner)).await?)
    }

    /// Records `offset..offset + len` of the gallery under `head`, newest first. None when a
    /// chunk it names has just been replaced: read the head again.
    pub(super) async fn slice(
        &self,
        owner: &OwnerId,
        head: &Head,
        offset: usize,
        len: usize,
    ) -> Result<Option<Vec<ImageRecord>>, GalleryError> {
        let end = offset.saturating_add(len);
        let mut out: Vec<ImageRecord> = head
            .records
            .iter()
            .skip(offset)
            .take(len)
            .cloned()
            .collect();
        // Where each chunk starts, counted from the newest record.
        let mut start = head.records.len();
        let mut wanted = Vec::new();
        for chunk in &head.chunks {
            let chunk_end = start + chunk.count;
            if chunk_end > offset && start < end {
                wanted.push((
                    chunk,
                    offset.saturating_sub(start),
                    end.min(chunk_end) - start,
                ));
            }
            start = chunk_end;
        }
        let reads = wanted.iter().map(|(chunk, ..)| async move {
            let key = chunk_key(owner, &chunk.name);
            self.storage.get_json::<Vec<ImageRecord>>(&key).await
        });
        let chunks = futures::future::try_join_all(reads).await?;
        for ((_, from, to), records) in wanted.iter().zip(chunks) {
            let Some(records) = records else {
                return Ok(None);
            };
            out.extend(records.get(*from..*to).unwrap_or_default().iter().cloned());
        }
        Ok(Some(out))
    }

    /// Adds `record` (nothing when its id is indexed already). `build` makes the index of a
    /// gallery that has none, from what is stored: the record must be stored before.
    pub(super) async fn insert<F>(
        &self,
        owner: &OwnerId,
        record: &ImageRecord,
        build: impl Fn() -> F,
    ) -> Result<(), GalleryError>
    where
        F: Future<Output = Result<Vec<ImageRecord>, GalleryError>>,
    {
        self.change(owner, Change::Insert(record), build)
            .await
            .map(|_| ())
    }

    /// Removes `id`; whether it was indexed.
    pub(super) async fn remove<F>(
        &self,
        owner: &OwnerId,
        id: &ImageId,
        build: impl Fn() -> F,
    ) -> Result<bool, GalleryError>
    where
        F: Future<Output = Result<Vec<ImageRecord>, GalleryError>>,
    {
        self.change(owner, Change::Remove(id), build).await
    }

    async fn change<F>(
        &self,
        owner: &OwnerId,
        change: Change<'_>,
        build: impl Fn() -> F,
    ) -> Result<bool, GalleryError>
    where
        F: Future<Output = Result<Vec<ImageRecord>, GalleryError>>,
    {
        loop {
            let mut changed = false;
            let place = self
                .storage
                .change_json(&head_key(owner), |head: Option<Head>| {
                    let Some(mut head) = head else {
                        return Ok::<_, GalleryError>((None, Place::NoIndex));
                    };
                    if let Some(chunk) = head.chunk_for(change.id()) {
                        return Ok((None, Place::Chunk(chunk.clone())));
                    }
                    changed = change.apply(&mut head.records);
                    let seal = head.records.len() > HEAD_MAX;
                    Ok((changed.then_some(head), Place::Done { seal }))
                })
                .await?;
            match place {
                Place::Done { seal } => {
                    if seal {
                        self.seal(owner).await?;
                    }
                    return Ok(changed);
                }
                Place::Chunk(chunk) => {
                    if let Some(changed) = self.rewrite_chunk(owner, &chunk, change).await? {
                        return Ok(changed);
                    }
                }
                Place::NoIndex => {
                    self.create(owner, build().await?).await?;
                }
            }
        }
    }

    /// Writes a fresh index holding `records`, unless another writer made one first. Chunks go
    /// first, so the head never names one that is missing.
    pub(super) async fn create(
        &self,
        owner: &OwnerId,
        records: Vec<ImageRecord>,
    ) -> Result<Head, GalleryError> {
        let (head, chunks) = Head::laid_out(records, chunk_name);
        for (chunk, records) in &chunks {
            self.storage
                .create_json(&chunk_key(owner, &chunk.name), records)
                .await?;
        }
        if self.storage.create_json(&head_key(owner), &head).await? {
            return Ok(head);
        }
        // Another writer indexed this gallery first: theirs stands, ours was never seen.
        for (chunk, _) in &chunks {
            self.storage.delete(&chunk_key(owner, &chunk.name)).await?;
        }
        Ok(self.head(owner).await?.unwrap_or_default())
    }

    /// Moves the head's oldest [`CHUNK`] records into a new chunk, if the head is still too
    /// large. A writer that changed them meanwhile wins; this chunk is then deleted unseen.
    async fn seal(&self, owner: &OwnerId) -> Result<(), GalleryError> {
        let Some(head) = self.head(owner).await? else {
            return Ok(());
        };
        if head.records.len() <= HEAD_MAX {
            return Ok(());
        }
        let oldest = head.records[head.records.len() - CHUNK..].to_vec();
        let sealed = ChunkRef {
            name: chunk_name(),
            from: oldest[0].id.clone(),
            count: CHUNK,
        };
        let key = chunk_key(owner, &sealed.name);
        self.storage.create_json(&key, &oldest).await?;
        let swapped = self
            .storage
            .change_json(&head_key(owner), |head: Option<Head>| {
                let Some(mut head) = head else {
                    return Ok::<_, GalleryError>((None, false));
                };
                let keep = head.records.len().saturating_sub(CHUNK);
                if head.records.len() <= HEAD_MAX || head.records[keep..] != oldest[..] {
                    return Ok((None, false));
                }
                head.records.truncate(keep);
                head.chunks.insert(0, sealed.clone());
                Ok((Some(head), true))
            })
            .await?;
        if !swapped {
            self.storage.delete(&key).await?;
        }
        Ok(())
    }

    /// Applies `change` to `chunk` by writing its successor and swapping the head's reference.
    /// Some(whether it changed anything) when done; None when another writer replaced the chunk
    /// first: start again from the head.
    async fn rewrite_chunk(
        &self,
        owner: &OwnerId,
        chunk: &ChunkRef,
        change: Change<'_>,
    ) -> Result<Option<bool>, GalleryError> {
        let old_key = chunk_key(owner, &chunk.name);
        let Some(mut records) = self.storage.get_json::<Vec<ImageRecord>>(&old_key).await? else {
            return Ok(None);
        };
        if !change.apply(&mut records) {
            return Ok(Some(false));
        }
        // An emptied chunk is dropped: its range joins the newer neighbour's.
        let successor = (!records.is_empty()).then(|| ChunkRef {
            name: chunk_name(),
            from: chunk.from.clone(),
            count: records.len(),
        });
        if let Some(successor) = &successor {
            self.storage
                .create_json(&chunk_key(owner, &successor.name), &records)
                .await?;
        }
        let swapped = self
            .storage
            .change_json(&head_key(owner), |head: Option<Head>| {
                let Some(mut head) = head else {
                    return Ok::<_, GalleryError>((None, false));
                };
                let Some(at) = head.chunks.iter().position(|c| c == chunk) else {
                    return Ok((None, false));
                };
                match &successor {
                    Some(successor) => head.chunks[at] = successor.clone(),
                    None => {
                        head.chunks.remove(at);
                    }
                }
                Ok((Some(head), true))
            })
            .await?;
        let unused = if swapped {
            Some(chunk)
        } else {
            successor.as_ref()
        };
        if let Some(unused) = unused {
            self.storage.delete(&chunk_key(owner, &unused.name)).await?;
        }
        Ok(swapped.then_some(true))
    }
}

fn head_key(owner: &OwnerId) -> Path {
    Path::from_iter([
        super::store::GALLERIES,
        owner.as_str(),
        "index",
        "head.json",
    ])
}

fn chunk_key(owner: &OwnerId, name: &str) -> Path {
    Path::from_iter([
        super::store::GALLERIES,
        owner.as_str(),
        "index",
        &format!("{name}.json"),
    ])
}

/// A fresh name, so that a chunk is written once and never overwritten.
fn chunk_name() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::test_recipe;

    fn records(n: usize) -> Vec<ImageRecord> {
        (0..n)
            .map(|i| ImageRecord {
                id: ImageId::new(
                    time::macros::datetime!(2025-01-01 00:00 UTC)
                        + time::Duration::seconds(i as i64),
                ),
                recipe: test_recipe(&format!("picture {i}")),
                png_bytes: 1,
            })
            .collect()
    }

    fn no_build() -> impl Fn() -> std::future::Ready<Result<Vec<ImageRecord>, GalleryError>> {
        || std::future::ready(Ok(Vec::new()))
    }

    async fn all(index: &Index, owner: &OwnerId) -> Vec<ImageId> {
        let head = index.head(owner).await.unwrap().unwrap();
        let slice = index.slice(owner, &head, 0, usize::MAX).await.unwrap();
        let ids: Vec<_> = slice.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), head.total(), "the count matches what is listed");
        ids
    }

    #[tokio::test]
    async fn inserts_and_removes_anywhere_keep_the_order_and_the_count() {
        let index = Index::new(Storage::in_memory());
        let owner = OwnerId::new_random();
        let mut made = records(300);
        // Oldest first, as pictures arrive, then a few late ones that belong in old chunks.
        let late: Vec<_> = made.drain(10..13).collect();
        for record in &made {
            index.insert(&owner, record, no_build()).await.unwrap();
        }
        let head = index.head(&owner).await.unwrap().unwrap();
        assert!(head.records.len() <= HEAD_MAX && !head.chunks.is_empty());
        for record in &late {
            index.insert(&owner, record, no_build()).await.unwrap();
            // Twice: a picture saved again is indexed once.
            index.insert(&owner, record, no_build()).await.unwrap();
        }
        made.extend(late);
        let removed = [
            made[0].id.clone(),
            made[150].id.clone(),
            made[299].id.clone(),
        ];
        for id in &removed {
            assert!(index.remove(&owner, id, no_build()).await.unwrap());
            assert!(!index.remove(&owner, id, no_build()).await.unwrap());
        }

        let mut expected: Vec<_> = made.into_iter().map(|r| r.id).collect();
        expected.retain(|id| !removed.contains(id));
        expected.sort();
        assert_eq!(all(&index, &owner).await, expected);
        let head = index.head(&owner).await.unwrap().unwrap();
        let page = index.slice(&owner, &head, 100, 12).await.unwrap().unwrap();
        let ids: Vec<_> = page.into_iter().map(|r| r.id).collect();
        assert_eq!(ids, expected[100..112]);
    }

    #[tokio::test]
    async fn emptied_chunks_are_dropped() {
        let index = Index::new(Storage::in_memory());
        let owner = OwnerId::new_random();
        let made = records(CHUNK * 3);
        index.create(&owner, made.clone()).await.unwrap();
        // The oldest chunk, emptied.
        for record in &made[..CHUNK] {
            assert!(index.remove(&owner, &record.id, no_build()).await.unwrap());
        }
        let head = index.head(&owner).await.unwrap().unwrap();
        assert_eq!(head.total(), CHUNK * 2);
        assert_eq!(head.chunks.len(), 1);
        assert_eq!(all(&index, &owner).await.len(), CHUNK * 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writers_lose_nothing() {
        let index = Index::new(Storage::in_memory());
        let owner = OwnerId::new_random();
        let made = records(400);
        let writers: Vec<_> = made
            .chunks(50)
            .map(|part| {
                let (index, owner, part) = (index.clone(), owner.clone(), part.to_vec());
                tokio::spawn(async move {
                    for record in &part {
                        index.insert(&owner, record, no_build()).await.unwrap();
                    }
                })
            })
            .collect();
        futures::future::try_join_all(writers).await.unwrap();
        let mut expected: Vec<_> = made.into_iter().map(|r| r.id).collect();
        expected.sort();
        assert_eq!(all(&index, &owner).await, expected);
    }
}
