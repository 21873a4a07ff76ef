use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Busy;

/// How many large request bodies (pictures) are read and decoded at once. Decoding a picture
/// takes several times its size in memory, so without a bound a burst of uploads could hold
/// more than the task has.
#[derive(Debug, Clone)]
pub struct BodySlots(Arc<Semaphore>);

/// Held while one body is read and used; dropping it frees the slot.
pub struct BodySlot {
    _permit: OwnedSemaphorePermit,
}

impl BodySlots {
    pub fn new(at_once: usize) -> Self {
        Self(Arc::new(Semaphore::new(at_once)))
    }

    /// A free slot, or [`Busy`] at once: a waiting body would hold its memory anyway.
    pub fn take(&self) -> Result<BodySlot, Busy> {
        self.0
            .clone()
            .try_acquire_owned()
            .map(|permit| BodySlot { _permit: permit })
            .map_err(|_| Busy)
    }
}
