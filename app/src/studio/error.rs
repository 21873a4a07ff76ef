use crate::{
    gallery::GalleryError,
    guard::{OverBudget, OverQuota},
    storage::StorageError,
};

/// Why the studio did not accept a request; `sentences` words each one for the user.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Easel is shutting down")]
    ShuttingDown,
    #[error("too many requests from this browser")]
    RateLimited,
    #[error("as many pictures as this process reads at once are being read")]
    ReadingPictures,
    #[error("this browser has {limit} jobs going")]
    TooManyJobs { limit: usize },
    #[error("the queue for {model} is full")]
    QueueFull {
        model: String,
        waiting: usize,
        wait_secs: u64,
    },
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    #[error(transparent)]
    OverQuota(#[from] OverQuota),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

impl From<crate::guard::BudgetError> for Refusal {
    fn from(error: crate::guard::BudgetError) -> Self {
        match error {
            crate::guard::BudgetError::Over(over) => Refusal::OverBudget(over),
            crate::guard::BudgetError::Storage(e) => Refusal::Storage(e),
        }
    }
}

/// The store failed while the studio read or changed what it keeps.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StoreFailed(#[from] GalleryError);

impl From<StorageError> for StoreFailed {
    fn from(error: StorageError) -> Self {
        Self(error.into())
    }
}
