//! A store kept in memory that fails when told to: every write after the next `n` fails until it
//! is healed, as a store that goes away half-way through a piece of work would. It can also
//! refuse copies on a condition, as S3 does unless a bucket is set up for them.

use std::sync::{Arc, Mutex, PoisonError};

use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, memory::InMemory,
    path::Path,
};

/// What a test tells the store: when its writes start failing, and when they work again.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Writes that still succeed; None: all of them.
    writes_left: Arc<Mutex<Option<usize>>>,
}

impl Faults {
    /// The next `n` writes (puts, copies, deletes) succeed; every one after them fails.
    pub fn fail_after_writes(&self, n: usize) {
        *self.left() = Some(n);
    }

    /// Every write succeeds again.
    pub fn heal(&self) {
        *self.left() = None;
    }

    fn write(&self) -> object_store::Result<()> {
        match self.left().as_mut() {
            Some(0) => Err(object_store::Error::Generic {
                store: "flaky",
                source: "the store failed, as told".into(),
            }),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn left(&self) -> std::sync::MutexGuard<'_, Option<usize>> {
        self.writes_left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
pub struct FlakyStore {
    inner: InMemory,
    faults: Faults,
    conditional_copies: bool,
}

impl FlakyStore {
    /// A store that copies on a condition, as a folder does.
    pub fn new() -> (Arc<Self>, Faults) {
        Self::build(true)
    }

    /// A store that answers a copy on a condition with "not supported", as S3 does by default.
    pub fn like_s3() -> (Arc<Self>, Faults) {
        Self::build(false)
    }

    fn build(conditional_copies: bool) -> (Arc<Self>, Faults) {
        let faults = Faults::default();
        let store = Self {
            inner: InMemory::new(),
            faults: faults.clone(),
            conditional_copies,
        };
        (Arc::new(store), faults)
    }
}

impl std::fmt::Display for FlakyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flaky({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for FlakyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.faults.write()?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.faults.write()?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let faults = self.faults.clone();
        let allowed = locations.and_then(move |location| {
            let allowed = faults.write().map(|()| location);
            std::future::ready(allowed)
        });
        self.inner.delete_stream(allowed.boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        if !self.conditional_copies && matches!(options.mode, CopyMode::Create) {
            return Err(object_store::Error::NotSupported {
                source: "no copy on a condition here, as on S3 by default".into(),
            });
        }
        self.faults.write()?;
        self.inner.copy_opts(from, to, options).await
    }
}
