//! The one object store every part of Easel keeps its state in (a local folder or S3), with the
//! two primitives that make it safe to share between processes: create-if-absent and
//! compare-and-swap.
//!
//! S3 (and `InMemory`) check both on the server: `If-None-Match: *` and `If-Match: ETAG`. A local
//! folder creates atomically (a hard link) but cannot compare-and-swap, so a folder is for one
//! process, and read-modify-write on it is serialised by a lock inside that process. A folder's
//! writes are made durable in the background: see [`write_behind`].

use std::{
    fmt,
    ops::Range,
    path::PathBuf,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, UpdateVersion,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    memory::InMemory,
    path::Path,
    prefix::PrefixStore,
};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::Mutex;

mod reachable;
mod write_behind;

pub use reachable::Reachability;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage failed: {0}")]
    Store(#[from] object_store::Error),
    #[error("object {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("cannot create the storage folder {}: {source}", path.display())]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the storage folder's writes durable: {0}")]
    Sync(#[source] std::io::Error),
    #[error(
        "the storage folder {} is in use by another Easel process; give each process a folder \
         of its own, or share an s3:// location between them",
        .0.display()
    )]
    InUse(PathBuf),
}

/// Where the gallery lives, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    Folder(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl FromStr for StorageLocation {
    type Err = String;

    /// `s3://bucket/optional/prefix` is S3; anything else is a folder.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(rest) = s.strip_prefix("s3://") else {
            return if s.is_empty() {
                Err("the storage location is empty".to_owned())
            } else {
                Ok(Self::Folder(PathBuf::from(s)))
            };
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!(
                "{s:?} names no bucket; expected s3://bucket or s3://bucket/prefix"
            ));
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

/// Handle to the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    pub(crate) store: Arc<dyn ObjectStore>,
    requests: StoreRequests,
    /// Present when the store cannot compare-and-swap: then this process is its only writer.
    local_lock: Option<Arc<KeyLocks>>,
    /// Present on a folder, whose writes are synced in the background.
    folder: Option<Arc<write_behind::Folder>>,
}

impl Storage {
    /// Opens the store. No request is made.
    pub fn open(location: &StorageLocation) -> Result<Self, StorageError> {
        let (store, local_lock, folder): (Arc<dyn ObjectStore>, _, _) = match location {
            StorageLocation::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateFolder {
                    path: dir.clone(),
                    source,
                })?;
                (
                    Arc::new(LocalFileSystem::new_with_prefix(dir)?),
                    Some(Arc::default()),
                    Some(Arc::new(write_behind::Folder::new(dir.clone()))),
                )
            }
            StorageLocation::S3 { bucket, prefix } => {
                let s3 = s3_builder(bucket).build()?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                };
                (store, None, None)
            }
        };
        Ok(Self {
            folder,
            ..Self::counted(store, local_lock)
        })
    }

    /// A store that lives and dies with the process.
    pub fn in_memory() -> Self {
        Self::counted(Arc::new(InMemory::new()), None)
    }

    /// A store opened by the caller, which must check conditional writes itself, as S3 and
    /// `InMemory` do: nothing here serialises them.
    pub fn over(store: Arc<dyn ObjectStore>) -> Self {
        Self::counted(store, None)
    }

    fn counted(inner: Arc<dyn ObjectStore>, local_lock: Option<Arc<KeyLocks>>) -> Self {
        let requests = StoreRequests::default();
        Self {
            store: counting(inner, &requests),
            requests,
            local_lock,
            folder: None,
        }
    }

    /// Starts this process's use of the store. True when a folder's last process may have lost
    /// writes to a crash of the machine, so what they pointed at may be missing or cut short.
    pub async fn open_session(&self) -> Result<bool, StorageError> {
        match &self.folder {
            Some(folder) => folder.open_session().await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    StorageError::InUse(folder.root().to_path_buf())
                } else {
                    StorageError::Sync(e)
                }
            }),
            None => Ok(false),
        }
    }

    /// Makes a folder's writes durable every [`write_behind::EVERY`] while any are made.
    /// Runs until dropped.
    pub async fn keep_durable(&self) {
        let Some(folder) = &self.folder else {
            return;
        };
        let mut synced = self.requests.writes();
        loop {
            tokio::time::sleep(write_behind::EVERY).await;
            let written = self.requests.writes();
            if written == synced {
                continue;
            }
            match folder.sync().await {
                Ok(()) => synced = written,
                Err(e) => tracing::error!(error = %e, "could not sync the storage folder"),
            }
        }
    }

    /// Ends this process's use of the store with every write durable.
    pub async fn close_session(&self) -> Result<(), StorageError> {
        match &self.folder {
            Some(folder) => folder.close_session().await.map_err(StorageError::Sync),
            None => Ok(()),
        }
    }

    /// How many requests of each kind this process has made to the store.
    pub fn requests(&self) -> StoreRequests {
        self.requests.clone()
    }

    pub async fn get(&self, key: &Path) -> Result<Option<Bytes>, StorageError> {
        // The object can also vanish between the request and reading its body.
        let read = async { self.store.get(key).await?.bytes().await };
        match read.await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        key: &Path,
    ) -> Result<Option<T>, StorageError> {
        match self.get(key).await? {
            Some(bytes) => parse_json(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub async fn put_json<T: Serialize>(&self, key: &Path, value: &T) -> Result<(), StorageError> {
        self.put(key, to_json(key, value)?.into()).await
    }

    pub async fn put(&self, key: &Path, bytes: Bytes) -> Result<(), StorageError> {
        self.store.put(key, bytes.into()).await?;
        Ok(())
    }

    /// Writes `value` only if nothing is at `key` yet; false when something was. Exactly one of
    /// any number of racing writers, in any number of processes, gets true.
    pub async fn create_json<T: Serialize>(
        &self,
        key: &Path,
        value: &T,
    ) -> Result<bool, StorageError> {
        self.create(key, to_json(key, value)?.into()).await
    }

    /// [`Storage::create_json`] for bytes.
    pub async fn create(&self, key: &Path, bytes: Bytes) -> Result<bool, StorageError> {
        let create = PutOptions::from(PutMode::Create);
        match self.store.put_opts(key, bytes.into(), create).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Read-modify-write of one JSON object that any process may change at the same time.
    /// `change` sees the current value (None when absent) and returns the new value and an
    /// answer, or `Err` to write nothing. On S3 a lost race is retried with a fresh read.
    pub async fn update_json<T, R, E>(
        &self,
        key: &Path,
        mut change: impl FnMut(Option<T>) -> Result<(T, R), E>,
    ) -> Result<R, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StorageError>,
    {
        self.change_json(key, |current| {
            change(current).map(|(new, answer)| (Some(new), answer))
        })
        .await
    }

    /// As [`Storage::update_json`], but `change` may answer `None` for the value: then nothing
    /// is written, which saves a request when the object is already as wanted.
    pub async fn change_json<T, R, E>(
        &self,
        key: &Path,
        mut change: impl FnMut(Option<T>) -> Result<(Option<T>, R), E>,
    ) -> Result<R, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StorageError>,
    {
        if let Some(locks) = &self.local_lock {
            let _only_writer = locks.of(key).lock().await;
            let (new, answer) = change(self.get_json(key).await?)?;
            if let Some(new) = new {
                self.put_json(key, &new).await?;
            }
            return Ok(answer);
        }
        loop {
            let (current, version) = match self.store.get(key).await {
                Ok(found) => {
                    let version = UpdateVersion {
                        e_tag: found.meta.e_tag.clone(),
                        version: found.meta.version.clone(),
                    };
                    let bytes = found.bytes().await.map_err(StorageError::from)?;
                    (Some(parse_json(key, &bytes)?), Some(version))
                }
                Err(object_store::Error::NotFound { .. }) => (None, None),
                Err(e) => return Err(StorageError::from(e).into()),
            };
            let (new, answer) = change(current)?;
            let Some(new) = new else {
                return Ok(answer);
            };
            let mode = match version {
                Some(version) => PutMode::Update(version),
                None => PutMode::Create,
            };
            let payload = to_json(key, &new)?;
            match self.store.put_opts(key, payload.into(), mode.into()).await {
                Ok(_) => return Ok(answer),
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => continue,
                Err(e) => return Err(StorageError::from(e).into()),
            }
        }
    }

    /// Copies the object at `from` to `to` inside the store (its bytes never pass through here),
    /// unless something is at `to` already. False when nothing was copied: `to` was there, or
    /// `from` was not. Made for objects that never change once written, so that doing it again
    /// after a crash copies nothing twice.
    pub async fn copy_unless_present(&self, from: &Path, to: &Path) -> Result<bool, StorageError> {
        let create = CopyOptions::new().with_mode(CopyMode::Create);
        let copied = match self.store.copy_opts(from, to, create).await {
            // S3 copies on a condition only where a bucket is set up for it, which it is not by
            // default. Racing copies of an object that never changes write the same bytes.
            Err(object_store::Error::NotSupported { .. }) => {
                if self.exists(to).await? {
                    return Ok(false);
                }
                self.store.copy_opts(from, to, CopyOptions::new()).await
            }
            other => other,
        };
        match copied {
            Ok(()) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. } | object_store::Error::NotFound { .. },
            ) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Names of the objects directly under `prefix` (not their folders).
    pub async fn names_under(&self, prefix: &Path) -> Result<Vec<String>, StorageError> {
        let sized = self.sizes_under(prefix).await?;
        Ok(sized.into_iter().map(|(name, _)| name).collect())
    }

    /// Names and sizes in bytes of the objects directly under `prefix`.
    pub async fn sizes_under(&self, prefix: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        let listing = self.store.list_with_delimiter(Some(prefix)).await?;
        Ok(listing
            .objects
            .into_iter()
            .filter_map(|o| Some((o.location.filename()?.to_owned(), o.size)))
            .collect())
    }

    /// Names of the folders directly under `prefix`.
    pub async fn folders_under(&self, prefix: &Path) -> Result<Vec<String>, StorageError> {
        let listing = self.store.list_with_delimiter(Some(prefix)).await?;
        Ok(listing
            .common_prefixes
            .into_iter()
            .filter_map(|folder| folder.filename().map(str::to_owned))
            .collect())
    }

    /// Every object under `prefix`, folders included.
    pub async fn keys_under(&self, prefix: &Path) -> Result<Vec<Path>, StorageError> {
        Ok(self
            .store
            .list(Some(prefix))
            .map_ok(|o| o.location)
            .try_collect()
            .await?)
    }

    pub async fn exists(&self, key: &Path) -> Result<bool, StorageError> {
        Ok(self.size(key).await?.is_some())
    }

    /// The object's size in bytes, if it exists.
    pub async fn size(&self, key: &Path) -> Result<Option<u64>, StorageError> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deleting a missing object is an error for some stores and not for others; here it is
    /// never one.
    pub async fn delete(&self, key: &Path) -> Result<(), StorageError> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Serialises read-modify-write per key on a store without compare-and-swap. Keys share a
/// fixed number of locks, so changes to different objects (a day's budget and the month's)
/// rarely wait for each other, and the locks never grow with the number of keys.
#[derive(Debug)]
struct KeyLocks([Mutex<()>; 64]);

impl Default for KeyLocks {
    fn default() -> Self {
        Self(std::array::from_fn(|_| Mutex::new(())))
    }
}

impl KeyLocks {
    fn of(&self, key: &Path) -> &Mutex<()> {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(key.as_ref(), &mut hasher);
        let slot = std::hash::Hasher::finish(&hasher) % self.0.len() as u64;
        &self.0[slot as usize]
    }
}

/// `inner`, with its requests counted in `requests`.
fn counting(inner: Arc<dyn ObjectStore>, requests: &StoreRequests) -> Arc<dyn ObjectStore> {
    Arc::new(CountingStore {
        inner,
        requests: requests.clone(),
    })
}

fn to_json<T: Serialize>(key: &Path, value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| corrupt(key, e))
}

fn parse_json<T: DeserializeOwned>(key: &Path, bytes: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e))
}

pub(crate) fn corrupt(key: &Path, error: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        path: key.to_string(),
        reason: error.to_string(),
    }
}

/// `AWS_*` settings come from the environment, as for the rest of the app.
fn s3_builder(bucket: &str) -> AmazonS3Builder {
    let builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    // Local S3 stand-ins (MinIO, moto) usually speak plain HTTP, which the client refuses
    // unless told otherwise.
    if endpoint.is_some_and(|url| url.starts_with("http://")) {
        builder.with_allow_http(true)
    } else {
        builder
    }
}

/// What a request to the store did, as S3 bills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Get,
    Head,
    Put,
    List,
    Delete,
    Copy,
}

impl Operation {
    pub const ALL: [Self; 6] = [
        Self::Get,
        Self::Head,
        Self::Put,
        Self::List,
        Self::Delete,
        Self::Copy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Head => "head",
            Self::Put => "put",
            Self::List => "list",
            Self::Delete => "delete",
            Self::Copy => "copy",
        }
    }
}

/// Requests made to the store, by operation; cheap to clone, shared by the clones.
#[derive(Debug, Clone, Default)]
pub struct StoreRequests(Arc<[AtomicU64; Operation::ALL.len()]>);

impl StoreRequests {
    fn add(&self, operation: Operation) {
        self.0[operation as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self, operation: Operation) -> u64 {
        self.0[operation as usize].load(Ordering::Relaxed)
    }

    /// Requests that change the store.
    fn writes(&self) -> u64 {
        [Operation::Put, Operation::Delete, Operation::Copy]
            .map(|operation| self.count(operation))
            .iter()
            .sum()
    }
}

/// Counts every request on its way to the real store. S3 bills per request, and a page that
/// should read one object must not quietly read a hundred.
#[derive(Debug)]
struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    requests: StoreRequests,
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.requests.add(Operation::Put);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.requests.add(Operation::Put);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.requests.add(if options.head {
            Operation::Head
        } else {
            Operation::Get
        });
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.requests.add(Operation::Get);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let requests = self.requests.clone();
        let counted = locations.inspect(move |_| requests.add(Operation::Delete));
        self.inner.delete_stream(counted.boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.requests.add(Operation::List);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.requests.add(Operation::List);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.requests.add(Operation::List);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.requests.add(Operation::Copy);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        // A rename is a copy and a delete on S3.
        self.requests.add(Operation::Copy);
        self.requests.add(Operation::Delete);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn add_racing(storage: Storage) -> u32 {
        let key = Path::from("counter.json");
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let storage = storage.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    storage
                        .update_json::<u32, (), StorageError>(&key, |n| {
                            Ok((n.unwrap_or(0) + 1, ()))
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        futures::future::try_join_all(writers).await.unwrap();
        storage.get_json(&key).await.unwrap().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_updates_are_never_lost() {
        assert_eq!(add_racing(Storage::in_memory()).await, 16);
        let dir = tempfile::tempdir().unwrap();
        let folder = Storage::open(&StorageLocation::Folder(dir.path().into())).unwrap();
        assert_eq!(add_racing(folder).await, 16);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exactly_one_racing_create_wins() {
        let dir = tempfile::tempdir().unwrap();
        for storage in [
            Storage::in_memory(),
            Storage::open(&StorageLocation::Folder(dir.path().into())).unwrap(),
        ] {
            let key = Path::from("claim.json");
            let racers: Vec<_> = (0..16)
                .map(|n| {
                    let (storage, key) = (storage.clone(), key.clone());
                    tokio::spawn(async move { storage.create_json(&key, &n).await.unwrap() })
                })
                .collect();
            let wins = futures::future::try_join_all(racers).await.unwrap();
            assert_eq!(wins.iter().filter(|w| **w).count(), 1);
        }
    }

    #[tokio::test]
    async fn an_object_is_copied_once_and_never_from_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for storage in [
            Storage::in_memory(),
            Storage::open(&StorageLocation::Folder(dir.path().into())).unwrap(),
        ] {
            let (from, to) = (Path::from("a/picture.png"), Path::from("b/picture.png"));
            storage.put(&from, "first".into()).await.unwrap();
            assert!(storage.copy_unless_present(&from, &to).await.unwrap());
            storage.put(&from, "second".into()).await.unwrap();

            assert!(!storage.copy_unless_present(&from, &to).await.unwrap());
            assert_eq!(storage.get(&to).await.unwrap().unwrap(), "first");
            let (missing, target) = (Path::from("a/missing.png"), Path::from("b/missing.png"));
            assert!(
                !storage
                    .copy_unless_present(&missing, &target)
                    .await
                    .unwrap()
            );
            assert!(!storage.exists(&target).await.unwrap());
        }
    }

    #[test]
    fn storage_locations_parse() {
        let parse = |s: &str| s.parse::<StorageLocation>();
        assert_eq!(
            parse("s3://bucket/some/prefix/"),
            Ok(StorageLocation::S3 {
                bucket: "bucket".to_owned(),
                prefix: "some/prefix".to_owned()
            })
        );
        assert_eq!(
            parse("s3://bucket"),
            Ok(StorageLocation::S3 {
                bucket: "bucket".to_owned(),
                prefix: String::new()
            })
        );
        assert_eq!(
            parse("./data"),
            Ok(StorageLocation::Folder("./data".into()))
        );
        assert_eq!(
            parse("/var/lib/easel"),
            Ok(StorageLocation::Folder("/var/lib/easel".into()))
        );
        assert!(parse("s3://").is_err());
        assert!(parse("s3:///prefix").is_err());
        assert!(parse("").is_err());
    }
}
