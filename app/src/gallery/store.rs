//! Reading and writing gallery entries in an object store.
//!
//! An entry is its PNG, its JSON record and its line in the owner's index (see `index.rs`).
//! The PNG and the record are written together and the index line after both; removal goes
//! the other way. So a crash leaves at most objects nothing points at, never an index line
//! whose picture is missing (a record without its PNG counts as absent). The preview is made
//! in the background while the picture is written (`preview.rs`). Each single write is
//! atomic: S3 puts are, and `LocalFileSystem` writes a temporary file and renames it.

use std::collections::HashMap;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use tracing::warn;

use super::index::Index;
use super::png_text::insert_text_chunks;
use super::preview::Previews;
use super::{GalleryError, ImageId, ImageRecord, Recipe};
use crate::identity::OwnerId;
use crate::storage::{Storage, StorageError, StorageLocation};

pub(super) const GALLERIES: &str = "galleries";
const INTERNAL: &str = "_easel";
const PNG: &str = "png";
const JSON: &str = "json";
const PREVIEW: &str = "jpg";
/// Records are small, so an index is built with this many reads in flight.
const CONCURRENT_READS: usize = 8;

/// One page of a gallery, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryPage {
    pub records: Vec<ImageRecord>,
    /// 1-based.
    pub page: usize,
    pub has_more: bool,
    /// Number of entries in the whole gallery.
    pub total: usize,
}

/// Handle to the gallery store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Gallery {
    storage: Storage,
    index: Index,
    previews: Previews,
}

impl Gallery {
    /// Opens the store. No request is made.
    pub fn open(location: &StorageLocation) -> Result<Self, GalleryError> {
        Ok(Self::new(&Storage::open(location)?))
    }

    /// The gallery inside a store shared with the rest of Easel.
    pub fn new(storage: &Storage) -> Self {
        Self {
            storage: storage.clone(),
            index: Index::new(storage.clone()),
            previews: Previews::new(storage),
        }
    }

    /// A gallery that lives and dies with the process.
    pub fn in_memory() -> Self {
        Self::new(&Storage::in_memory())
    }

    /// Stores `png` with `recipe` embedded as text chunks, and its record.
    /// The id is derived from `recipe.created_at`, which orders the gallery.
    pub async fn save(
        &self,
        owner: &OwnerId,
        recipe: Recipe,
        png: Bytes,
    ) -> Result<ImageRecord, GalleryError> {
        let id = ImageId::new(recipe.created_at);
        self.save_as(owner, id, recipe, png).await
    }

    /// Stores a picture under an id chosen by the caller. Saving the same id again keeps the
    /// first entry, so a job that is run again after a crash never adds a picture twice, and
    /// indexes it if the crash came between its record and the index.
    pub async fn save_as(
        &self,
        owner: &OwnerId,
        id: ImageId,
        recipe: Recipe,
        png: Bytes,
    ) -> Result<ImageRecord, GalleryError> {
        // `record` hides a record whose PNG is missing: a crash between the two writes below.
        if let Some(existing) = self.record(owner, &id).await? {
            self.index_record(owner, &existing).await?;
            return Ok(existing);
        }
        let text = recipe.png_text();
        let png = Bytes::from(insert_text_chunks(
            &png,
            text.iter().map(|(key, value)| (*key, value.as_str())),
        )?);
        let record = ImageRecord {
            id,
            recipe,
            png_bytes: png.len() as u64,
        };
        let record_key = image_key(owner, &record.id, JSON);
        // Serialized before anything is written, so a failure leaves nothing behind.
        let json = serde_json::to_vec_pretty(&record).map_err(|e| corrupt(&record_key, e))?;

        // Made while the picture is written, so a job never waits for its preview.
        self.previews
            .start(image_key(owner, &record.id, PREVIEW), png.clone());
        // The index is what makes the entry visible, so it goes last; the PNG and the record
        // are written together, and a record without its PNG counts as absent.
        let png_key = image_key(owner, &record.id, PNG);
        futures::try_join!(
            self.storage.put(&png_key, png),
            self.storage.put(&record_key, json.into()),
            self.note_lineage(owner, &record),
        )?;
        self.index_record(owner, &record).await?;
        Ok(record)
    }

    /// An edit is noted under its source, so the source's page can list its edits without
    /// reading the gallery. A note whose record is missing (a crash, a deletion) is skipped.
    async fn note_lineage(
        &self,
        owner: &OwnerId,
        record: &ImageRecord,
    ) -> Result<(), StorageError> {
        match record.recipe.origin.edit() {
            Some(edit) => {
                let key = lineage_key(owner, &edit.source, Some(&record.id));
                self.storage.put(&key, Bytes::new()).await
            }
            None => Ok(()),
        }
    }

    /// The pictures made from `source` by an edit, newest first, as the gallery lists them.
    pub async fn edits_of(
        &self,
        owner: &OwnerId,
        source: &ImageId,
    ) -> Result<Vec<ImageRecord>, GalleryError> {
        let folder = lineage_key(owner, source, None);
        let mut ids: Vec<ImageId> = self
            .storage
            .names_under(&folder)
            .await?
            .iter()
            .filter_map(|name| ImageId::parse(name))
            .collect();
        ids.sort();
        let mut edits = Vec::new();
        for id in ids {
            if let Some(record) = self.record(owner, &id).await? {
                edits.push(record);
            }
        }
        Ok(edits)
    }

    /// Page `page` (1-based; 0 is taken as 1) of `per_page` entries, newest first. Reads the
    /// owner's index alone (and the chunk a later page falls in); a gallery made before there
    /// was an index is indexed on its first read.
    pub async fn page(
        &self,
        owner: &OwnerId,
        page: usize,
        per_page: usize,
    ) -> Result<GalleryPage, GalleryError> {
        let (page, per_page) = (page.max(1), per_page.max(1));
        let offset = (page - 1).saturating_mul(per_page);
        loop {
            let head = match self.index.head(owner).await? {
                Some(head) => head,
                None => {
                    let listed = self.listed_records(owner).await?;
                    if listed.is_empty() {
                        // Nothing to index: a browser that has made nothing costs no write.
                        return Ok(GalleryPage {
                            records: Vec::new(),
                            page,
                            has_more: false,
                            total: 0,
                        });
                    }
                    self.index.create(owner, listed).await?
                }
            };
            // None: a chunk was replaced between reading the head and reading it.
            if let Some(records) = self.index.slice(owner, &head, offset, per_page).await? {
                let total = head.total();
                return Ok(GalleryPage {
                    records,
                    page,
                    has_more: offset.saturating_add(per_page) < total,
                    total,
                });
            }
        }
    }

    /// The record of one entry, if it exists and its PNG is whole.
    pub async fn record(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<ImageRecord>, GalleryError> {
        let png_key = image_key(owner, id, PNG);
        let (record, png_size) = futures::try_join!(self.read_record(owner, id), async {
            Ok(self.storage.size(&png_key).await?)
        })?;
        Ok(record.filter(|record| is_whole(owner, record, png_size)))
    }

    /// The stored PNG, with its text chunks.
    ///
    /// The record is not consulted, to keep image requests to one read: an
    /// orphan PNG's id was never handed out, as its record was never written.
    pub async fn png(&self, owner: &OwnerId, id: &ImageId) -> Result<Option<Bytes>, GalleryError> {
        Ok(self.storage.get(&image_key(owner, id, PNG)).await?)
    }

    /// The picture's preview (a JPEG). One stored before previews existed gets it now.
    pub async fn preview(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<Bytes>, GalleryError> {
        let key = image_key(owner, id, PREVIEW);
        if let Some(preview) = self.previews.get(&key).await? {
            return Ok(Some(preview));
        }
        let Some(png) = self.png(owner, id).await? else {
            return Ok(None);
        };
        self.previews
            .make(key, png)
            .await
            .map(Some)
            .map_err(GalleryError::Preview)
    }

    /// Removes an entry; returns whether it existed.
    pub async fn delete(&self, owner: &OwnerId, id: &ImageId) -> Result<bool, GalleryError> {
        // The index first: once the line is gone the entry is invisible, so a crash before the
        // objects are removed leaves only objects nothing points at.
        let indexed = self
            .index
            .remove(owner, id, || self.listed_records(owner))
            .await?;
        let record_key = image_key(owner, id, JSON);
        let existed = indexed || self.storage.exists(&record_key).await?;
        for extension in [JSON, PREVIEW, PNG] {
            self.storage
                .delete(&image_key(owner, id, extension))
                .await?;
        }
        Ok(existed)
    }

    /// Every record in the owner's folder, indexed or not, whole or not: what a move takes, so
    /// that it also finishes a move cut short between removing a picture and its record.
    pub async fn stored_records(&self, owner: &OwnerId) -> Result<Vec<ImageRecord>, GalleryError> {
        let listed = self.listed_with_png_sizes(owner).await?;
        Ok(listed.into_iter().map(|(record, _)| record).collect())
    }

    /// Moves `record`'s picture from `from`'s gallery to `to`'s. Its PNG, preview and record are
    /// copied inside the store (a copy already there is skipped), its lineage note follows it,
    /// it is indexed under `to`, and only then is it taken out of `from`. Every step can be done
    /// again, so moving it again finishes a move cut short by a crash, and two moves of it at
    /// once end as one. True when this call took it out of `from`'s gallery.
    pub async fn move_picture(
        &self,
        from: &OwnerId,
        to: &OwnerId,
        record: &ImageRecord,
    ) -> Result<bool, GalleryError> {
        let id = &record.id;
        // A preview this process is still storing would be left behind in `from`.
        self.previews.settled(&image_key(from, id, PREVIEW)).await;
        // The record last, as a save writes it: a record under `to` always has its PNG.
        for extension in [PNG, PREVIEW, JSON] {
            let (source, target) = (image_key(from, id, extension), image_key(to, id, extension));
            self.storage.copy_unless_present(&source, &target).await?;
        }
        self.note_lineage(to, record).await?;
        // Absent when the picture was deleted from `from` before it could be copied.
        if let Some(moved) = self.record(to, id).await? {
            self.index_record(to, &moved).await?;
        }
        // As a delete does, the index line first; only one of two moves at once takes it.
        let taken = self
            .index
            .remove(from, id, || self.listed_records(from))
            .await?;
        let mut left = vec![image_key(from, id, PREVIEW), image_key(from, id, PNG)];
        if let Some(edit) = record.recipe.origin.edit() {
            left.push(lineage_key(from, &edit.source, Some(id)));
        }
        // The record last: it is what a move cut short finds the rest by.
        left.push(image_key(from, id, JSON));
        for key in &left {
            self.storage.delete(key).await?;
        }
        Ok(taken)
    }

    /// Bytes the owner's pictures, previews and records take in the store.
    pub async fn bytes_kept(&self, owner: &OwnerId) -> Result<u64, GalleryError> {
        let folder = Path::from_iter([GALLERIES, owner.as_str()]);
        let sizes = self.storage.sizes_under(&folder).await?;
        Ok(sizes.iter().map(|(_, size)| size).sum())
    }

    /// Loads the secret `_easel/{name}` of `len` bytes, creating it with
    /// random bytes on first use. Every task sharing the store gets the same
    /// secret, and it survives restarts.
    pub async fn secret(&self, name: &str, len: usize) -> Result<Vec<u8>, GalleryError> {
        let key = Path::from_iter([INTERNAL, name]);
        let secret = match self.storage.get(&key).await? {
            Some(existing) => existing,
            None => {
                let mut fresh = vec![0; len];
                rand::fill(&mut fresh[..]);
                // Create rather than overwrite: when several tasks start at
                // once, exactly one write wins and the others read it back.
                if self.storage.create(&key, fresh.clone().into()).await? {
                    Bytes::from(fresh)
                } else {
                    self.storage.get(&key).await?.unwrap_or_default()
                }
            }
        };
        if secret.len() != len {
            return Err(GalleryError::Corrupt {
                path: key.to_string(),
                reason: format!("{} bytes where {len} are expected", secret.len()),
            });
        }
        Ok(secret.to_vec())
    }

    /// Adds a stored record to the index, indexing the whole gallery first if it has none yet.
    async fn index_record(
        &self,
        owner: &OwnerId,
        record: &ImageRecord,
    ) -> Result<(), GalleryError> {
        self.index
            .insert(owner, record, || self.listed_records(owner))
            .await
    }

    /// Every entry found by listing the owner's folder: records that have their PNG. This is
    /// how a gallery without an index (one made before indexes existed) gets one.
    async fn listed_records(&self, owner: &OwnerId) -> Result<Vec<ImageRecord>, GalleryError> {
        let listed = self.listed_with_png_sizes(owner).await?;
        Ok(listed
            .into_iter()
            .filter(|(record, png_size)| is_whole(owner, record, *png_size))
            .map(|(record, _)| record)
            .collect())
    }

    /// Every record in the owner's folder, whole or not, with the size of its PNG if it has one.
    async fn listed_with_png_sizes(
        &self,
        owner: &OwnerId,
    ) -> Result<Vec<(ImageRecord, Option<u64>)>, GalleryError> {
        let ids = self.listed_ids(owner).await?;
        let records: Vec<Option<(ImageRecord, Option<u64>)>> = futures::stream::iter(ids)
            .map(|(id, png_size)| async move {
                match self.read_record(owner, &id).await {
                    Ok(record) => Ok(record.map(|record| (record, png_size))),
                    // One damaged record must not take the whole gallery down.
                    Err(GalleryError::Corrupt { path, reason }) => {
                        warn!(%path, %reason, "skipping corrupt gallery record");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(CONCURRENT_READS)
            .try_collect()
            .await?;
        Ok(records.into_iter().flatten().collect())
    }

    /// Ids of the owner's records, with the size of each one's PNG if it has one.
    async fn listed_ids(
        &self,
        owner: &OwnerId,
    ) -> Result<Vec<(ImageId, Option<u64>)>, GalleryError> {
        let dir = Path::from_iter([GALLERIES, owner.as_str()]);
        let names = self.storage.sizes_under(&dir).await?;

        let mut records = Vec::new();
        let mut pngs = HashMap::new();
        for (name, size) in &names {
            let Some((stem, extension)) = name.rsplit_once('.') else {
                continue;
            };
            let Some(id) = ImageId::parse(stem) else {
                continue;
            };
            match extension {
                JSON => records.push(id),
                PNG => {
                    pngs.insert(id, *size);
                }
                _ => {}
            }
        }

        Ok(records
            .into_iter()
            .map(|id| {
                let png_size = pngs.get(&id).copied();
                (id, png_size)
            })
            .collect())
    }

    /// Rebuilds every gallery's index from the entries that are whole, for when the machine
    /// stopped before the last writes were durable: an index could then list a picture whose
    /// PNG was lost or cut short. Each index is made again on its gallery's next read.
    pub async fn reindex_after_crash(&self) -> Result<(), GalleryError> {
        let galleries = Path::from(GALLERIES);
        for owner in self.storage.folders_under(&galleries).await? {
            let index = Path::from_iter([GALLERIES, owner.as_str(), "index"]);
            for key in self.storage.keys_under(&index).await? {
                self.storage.delete(&key).await?;
            }
        }
        Ok(())
    }

    async fn read_record(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<ImageRecord>, GalleryError> {
        Ok(self.storage.get_json(&image_key(owner, id, JSON)).await?)
    }
}

/// Whether the record's PNG is there, and as long as when it was stored.
fn is_whole(owner: &OwnerId, record: &ImageRecord, png_size: Option<u64>) -> bool {
    let whole = png_size == Some(record.png_bytes);
    if !whole {
        warn!(%owner, id = %record.id, "gallery record without its whole PNG; hidden");
    }
    whole
}

fn image_key(owner: &OwnerId, id: &ImageId, extension: &str) -> Path {
    Path::from_iter([GALLERIES, owner.as_str(), &format!("{id}.{extension}")])
}

/// `galleries/{owner}/edits/{source}/`, or the note of one edit in it.
fn lineage_key(owner: &OwnerId, source: &ImageId, edit: Option<&ImageId>) -> Path {
    let folder = [GALLERIES, owner.as_str(), "edits", source.as_str()];
    match edit {
        Some(edit) => Path::from_iter(folder.into_iter().chain([edit.as_str()])),
        None => Path::from_iter(folder),
    }
}

fn corrupt(key: &Path, error: serde_json::Error) -> GalleryError {
    GalleryError::Corrupt {
        path: key.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::{EditRecipe, Origin, read_text_chunks, test_png, test_recipe};
    use crate::storage::Operation;

    fn recipe_at_minute(prompt: &str, minute: i64) -> Recipe {
        let mut recipe = test_recipe(prompt);
        recipe.created_at += time::Duration::minutes(minute);
        recipe
    }

    async fn save(gallery: &Gallery, owner: &OwnerId, recipe: Recipe) -> ImageRecord {
        let png = Bytes::from(test_png(4, 3));
        gallery.save(owner, recipe, png).await.unwrap()
    }

    fn prompts(page: &GalleryPage) -> Vec<&str> {
        page.records
            .iter()
            .map(|r| r.recipe.prompt.as_str())
            .collect()
    }

    #[tokio::test]
    async fn saved_png_carries_the_recipe_and_stays_valid() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        let record = save(&gallery, &owner, test_recipe("café 🌅")).await;

        let png = gallery.png(&owner, &record.id).await.unwrap().unwrap();
        assert_eq!(png.len() as u64, record.png_bytes);
        let expected = [
            ("Model", "Nova Canvas (amazon.nova-canvas-v1:0)"),
            ("Prompt", "café 🌅"),
            ("Negative prompt", "blurry"),
            ("Size", "16:9"),
            ("CFG scale", "6.5"),
            ("Seed", "42"),
            ("Quality", "premium"),
            ("Price USD", "0.08"),
            ("Created", "2025-06-01T12:30:00Z"),
            ("Software", "Easel"),
        ]
        .map(|(key, value)| (key.to_owned(), value.to_owned()));
        assert_eq!(read_text_chunks(&png), expected);

        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width, frame.height), (4, 3));

        assert_eq!(
            gallery.record(&owner, &record.id).await.unwrap(),
            Some(record)
        );
    }

    #[tokio::test]
    async fn non_png_is_rejected_and_nothing_is_stored() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        let result = gallery
            .save(&owner, test_recipe("x"), Bytes::from_static(b"GIF89a"))
            .await;
        assert!(matches!(result, Err(GalleryError::NotPng)));
        let listing = gallery
            .storage
            .store
            .list(None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert!(listing.is_empty());
    }

    #[tokio::test]
    async fn pages_are_newest_first() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        for minute in 0..5 {
            save(
                &gallery,
                &owner,
                recipe_at_minute(&minute.to_string(), minute),
            )
            .await;
        }

        let first = gallery.page(&owner, 1, 2).await.unwrap();
        assert_eq!(prompts(&first), ["4", "3"]);
        assert_eq!((first.page, first.has_more, first.total), (1, true, 5));
        let second = gallery.page(&owner, 2, 2).await.unwrap();
        assert_eq!(prompts(&second), ["2", "1"]);
        assert!(second.has_more);
        let last = gallery.page(&owner, 3, 2).await.unwrap();
        assert_eq!(prompts(&last), ["0"]);
        assert!(!last.has_more);
        let beyond = gallery.page(&owner, 4, 2).await.unwrap();
        assert!(beyond.records.is_empty() && !beyond.has_more);
        assert_eq!(beyond.total, 5);
    }

    #[tokio::test]
    async fn owners_cannot_reach_each_others_images() {
        let gallery = Gallery::in_memory();
        let (alice, bob) = (OwnerId::new_random(), OwnerId::new_random());
        let record = save(&gallery, &alice, test_recipe("mine")).await;

        assert_eq!(gallery.record(&bob, &record.id).await.unwrap(), None);
        assert_eq!(gallery.png(&bob, &record.id).await.unwrap(), None);
        assert!(!gallery.delete(&bob, &record.id).await.unwrap());
        assert_eq!(gallery.page(&bob, 1, 10).await.unwrap().total, 0);

        assert_eq!(
            gallery.page(&alice, 1, 10).await.unwrap().records,
            std::slice::from_ref(&record)
        );
        assert!(gallery.delete(&alice, &record.id).await.unwrap());
        assert_eq!(gallery.record(&alice, &record.id).await.unwrap(), None);
        assert_eq!(gallery.png(&alice, &record.id).await.unwrap(), None);
        assert!(!gallery.delete(&alice, &record.id).await.unwrap());
    }

    /// An entry as galleries were written before the index: its PNG and record only.
    async fn save_unindexed(gallery: &Gallery, owner: &OwnerId, record: &ImageRecord) {
        let json = serde_json::to_vec_pretty(record).unwrap();
        let png = Bytes::from(test_png(4, 3));
        gallery
            .storage
            .put(&image_key(owner, &record.id, PNG), png)
            .await
            .unwrap();
        gallery
            .storage
            .put(&image_key(owner, &record.id, JSON), json.into())
            .await
            .unwrap();
    }

    fn record_at_minute(prompt: &str, minute: i64) -> ImageRecord {
        let recipe = recipe_at_minute(prompt, minute);
        ImageRecord {
            id: ImageId::new(recipe.created_at),
            recipe,
            png_bytes: test_png(4, 3).len() as u64,
        }
    }

    #[tokio::test]
    async fn a_gallery_without_an_index_is_indexed_from_what_is_whole() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        let kept = record_at_minute("kept", 0);
        save_unindexed(&gallery, &owner, &kept).await;

        // A crash between the PNG and the record leaves only the PNG.
        let orphan = ImageId::new(recipe_at_minute("orphan", 1).created_at);
        let orphan_key = image_key(&owner, &orphan, PNG);
        gallery
            .storage
            .put(&orphan_key, test_png(1, 1).into())
            .await
            .unwrap();

        // A record whose PNG went missing.
        let lost = record_at_minute("lost", 2);
        save_unindexed(&gallery, &owner, &lost).await;
        gallery
            .storage
            .delete(&image_key(&owner, &lost.id, PNG))
            .await
            .unwrap();

        // Neither a damaged record nor a stray object hides the rest.
        let damaged = record_at_minute("damaged", 3);
        save_unindexed(&gallery, &owner, &damaged).await;
        let damaged_key = image_key(&owner, &damaged.id, JSON);
        gallery.storage.put(&damaged_key, "{".into()).await.unwrap();
        let stray = Path::from_iter([GALLERIES, owner.as_str(), "notes.txt"]);
        gallery.storage.put(&stray, "hi".into()).await.unwrap();

        let page = gallery.page(&owner, 1, 10).await.unwrap();
        assert_eq!(page.records, std::slice::from_ref(&kept));
        assert_eq!(gallery.record(&owner, &orphan).await.unwrap(), None);
        assert_eq!(gallery.record(&owner, &lost.id).await.unwrap(), None);
        assert!(matches!(
            gallery.record(&owner, &damaged.id).await,
            Err(GalleryError::Corrupt { .. })
        ));

        // Old pictures get their preview when first asked for it.
        let preview = gallery.preview(&owner, &kept.id).await.unwrap().unwrap();
        assert!(preview.starts_with(&[0xff, 0xd8]), "a JPEG");
    }

    #[tokio::test]
    async fn a_preview_someone_waits_for_is_not_held_up_by_busy_background_work() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (busy_now, is_busy) = tokio::sync::oneshot::channel();
        let busy = tokio::spawn(crate::off_thread::run_in_background(move || {
            let _ = busy_now.send(());
            let _ = held.recv();
        }));
        is_busy.await.unwrap();
        let saved = save(&gallery, &owner, recipe_at_minute("wanted", 0)).await;

        let preview = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            gallery.preview(&owner, &saved.id),
        )
        .await
        .expect("the card's preview came while the background was busy");
        assert!(
            preview.unwrap().unwrap().starts_with(&[0xff, 0xd8]),
            "a JPEG"
        );
        release.send(()).unwrap();
        busy.await.unwrap();
    }

    #[tokio::test]
    async fn a_picture_stored_but_not_indexed_is_indexed_when_saved_again() {
        let gallery = Gallery::in_memory();
        let owner = OwnerId::new_random();
        let first = save(&gallery, &owner, recipe_at_minute("first", 0)).await;
        // A crash after the record and before the index line.
        let crashed = record_at_minute("crashed", 1);
        save_unindexed(&gallery, &owner, &crashed).await;
        assert_eq!(gallery.page(&owner, 1, 10).await.unwrap().total, 1);

        // The job that made it runs again and saves the same id.
        let again = gallery
            .save_as(
                &owner,
                crashed.id.clone(),
                crashed.recipe.clone(),
                Bytes::from(test_png(4, 3)),
            )
            .await
            .unwrap();

        assert_eq!(again, crashed, "the first write stands");
        let page = gallery.page(&owner, 1, 10).await.unwrap();
        assert_eq!(page.records, [crashed, first]);
    }

    #[tokio::test]
    async fn folder_store_keeps_entries_and_secrets_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let location = StorageLocation::Folder(dir.path().join("not-yet-created"));
        let first = Gallery::open(&location).unwrap();
        let owner = OwnerId::new_random();
        let record = save(&first, &owner, test_recipe("on disk")).await;
        let secret = first.secret("cookie-key", 64).await.unwrap();
        assert_eq!(secret.len(), 64);

        let second = Gallery::open(&location).unwrap();
        assert_eq!(second.secret("cookie-key", 64).await.unwrap(), secret);
        assert_ne!(second.secret("other-key", 64).await.unwrap(), secret);
        assert!(matches!(
            second.secret("cookie-key", 32).await,
            Err(GalleryError::Corrupt { .. })
        ));
        assert_eq!(
            second.page(&owner, 1, 10).await.unwrap().records,
            std::slice::from_ref(&record)
        );
        let png_file = dir.path().join(format!(
            "not-yet-created/galleries/{owner}/{}.png",
            record.id
        ));
        assert!(png_file.is_file());

        assert!(second.delete(&owner, &record.id).await.unwrap());
        assert!(!png_file.exists());
        assert!(!second.delete(&owner, &record.id).await.unwrap());
        // The readiness probe leaves nothing behind.
        let internal = Path::from(INTERNAL);
        let mut names: Vec<_> = second
            .storage
            .store
            .list(Some(&internal))
            .map_ok(|object| object.location.to_string())
            .try_collect()
            .await
            .unwrap();
        names.sort();
        assert_eq!(names, ["_easel/cookie-key", "_easel/other-key"]);
    }

    #[tokio::test]
    async fn after_a_crash_of_the_machine_a_picture_cut_short_is_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let location = StorageLocation::Folder(dir.path().into());
        let before = Gallery::open(&location).unwrap();
        let owner = OwnerId::new_random();
        let kept = save(&before, &owner, test_recipe("made a while ago")).await;
        let cut = save(&before, &owner, test_recipe("made just before")).await;
        assert_eq!(before.page(&owner, 1, 10).await.unwrap().total, 2);

        // The machine stopped before the newest PNG was all on the disk.
        let png_file = dir.path().join(format!("galleries/{owner}/{}.png", cut.id));
        let png = std::fs::read(&png_file).unwrap();
        std::fs::write(&png_file, &png[..png.len() / 2]).unwrap();

        let after = Gallery::open(&location).unwrap();
        after.reindex_after_crash().await.unwrap();
        let page = after.page(&owner, 1, 10).await.unwrap();
        assert_eq!(page.records, std::slice::from_ref(&kept));
        assert_eq!(page.total, 1);
        assert_eq!(after.record(&owner, &cut.id).await.unwrap(), None);
        // Made again, it is stored whole under the same id.
        let again = after
            .save_as(
                &owner,
                cut.id.clone(),
                cut.recipe.clone(),
                test_png(4, 3).into(),
            )
            .await
            .unwrap();
        assert_eq!(after.page(&owner, 1, 10).await.unwrap().total, 2);
        assert_eq!(after.record(&owner, &cut.id).await.unwrap(), Some(again));
    }

    /// A picture, and an edit made from it, in `owner`'s gallery.
    async fn picture_and_edit(gallery: &Gallery, owner: &OwnerId) -> [ImageRecord; 2] {
        let source = save(gallery, owner, recipe_at_minute("source", 0)).await;
        let mut edit = recipe_at_minute("edit", 1);
        edit.origin = Origin::Edited(EditRecipe {
            operation: "inpaint".to_owned(),
            operation_name: "Inpaint".to_owned(),
            source: source.id.clone(),
            form: Vec::new(),
        });
        let edit = save(gallery, owner, edit).await;
        [edit, source]
    }

    #[tokio::test]
    async fn a_moved_picture_is_the_new_owners_with_its_lineage_and_gone_from_the_old() {
        let gallery = Gallery::in_memory();
        let (anonymous, person) = (OwnerId::new_random(), OwnerId::new_random());
        let [edit, source] = picture_and_edit(&gallery, &anonymous).await;
        let png = gallery.png(&anonymous, &source.id).await.unwrap();
        let preview = gallery.preview(&anonymous, &source.id).await.unwrap();

        for record in [&source, &edit] {
            let taken = gallery.move_picture(&anonymous, &person, record);
            assert!(taken.await.unwrap());
        }

        let page = gallery.page(&person, 1, 10).await.unwrap();
        assert_eq!(page.records, [edit.clone(), source.clone()]);
        assert_eq!(gallery.png(&person, &source.id).await.unwrap(), png);
        assert_eq!(gallery.preview(&person, &source.id).await.unwrap(), preview);
        assert_eq!(
            gallery.edits_of(&person, &source.id).await.unwrap(),
            std::slice::from_ref(&edit)
        );
        assert_eq!(gallery.page(&anonymous, 1, 10).await.unwrap().total, 0);
        for record in [&source, &edit] {
            assert_eq!(gallery.record(&anonymous, &record.id).await.unwrap(), None);
            assert_eq!(gallery.png(&anonymous, &record.id).await.unwrap(), None);
        }
        assert!(gallery.stored_records(&anonymous).await.unwrap().is_empty());
        assert!(
            gallery
                .edits_of(&anonymous, &source.id)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn moving_a_picture_again_changes_nothing() {
        let gallery = Gallery::in_memory();
        let (anonymous, person) = (OwnerId::new_random(), OwnerId::new_random());
        let [edit, source] = picture_and_edit(&gallery, &anonymous).await;
        assert!(
            gallery
                .move_picture(&anonymous, &person, &edit)
                .await
                .unwrap()
        );
        let copies = gallery.storage.requests().count(Operation::Copy);

        assert!(
            !gallery
                .move_picture(&anonymous, &person, &edit)
                .await
                .unwrap()
        );

        let page = gallery.page(&person, 1, 10).await.unwrap();
        assert_eq!(page.records, std::slice::from_ref(&edit));
        let refused = gallery.storage.requests().count(Operation::Copy) - copies;
        assert_eq!(refused, 3, "one refused copy per object, no bytes copied");
        assert_eq!(
            gallery.page(&anonymous, 1, 10).await.unwrap().records,
            [source]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_moves_of_a_gallery_at_once_end_as_one() {
        let gallery = Gallery::in_memory();
        let (anonymous, person) = (OwnerId::new_random(), OwnerId::new_random());
        let mut made: Vec<ImageRecord> = Vec::new();
        for minute in 0..12 {
            made.push(save(&gallery, &anonymous, recipe_at_minute("p", minute)).await);
        }
        let moves: Vec<_> = (0..2)
            .map(|_| {
                let (gallery, from, to) = (gallery.clone(), anonymous.clone(), person.clone());
                let pictures = made.clone();
                tokio::spawn(async move {
                    let mut taken = 0;
                    for record in &pictures {
                        taken +=
                            usize::from(gallery.move_picture(&from, &to, record).await.unwrap());
                    }
                    taken
                })
            })
            .collect();
        let taken: usize = futures::future::try_join_all(moves)
            .await
            .unwrap()
            .iter()
            .sum();

        assert_eq!(taken, made.len(), "each picture taken out once");
        made.reverse();
        assert_eq!(gallery.page(&person, 1, 20).await.unwrap().records, made);
        assert_eq!(gallery.page(&anonymous, 1, 20).await.unwrap().total, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn tasks_racing_for_a_new_secret_agree() {
        let dir = tempfile::tempdir().unwrap();
        let gallery = Gallery::open(&StorageLocation::Folder(dir.path().into())).unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let gallery = gallery.clone();
                tokio::spawn(async move { gallery.secret("race", 32).await.unwrap() })
            })
            .collect();
        let secrets = futures::future::try_join_all(tasks).await.unwrap();
        assert!(secrets.iter().all(|s| *s == secrets[0]));
    }
}
