//! Whether the store answers, checked in the background so that a readiness probe reads the
//! last answer instead of making requests of its own: a load balancer asks every few seconds,
//! from every task, and on S3 each request costs.

use std::time::Duration;

use object_store::{ObjectStoreExt, path::Path};
use tokio::sync::watch;

use super::Storage;

/// An unreachable S3 endpoint is retried for minutes; a check needs its answer sooner.
const PATIENCE: Duration = Duration::from_secs(5);

/// The last answer of the store's check; cheap to clone.
#[derive(Debug, Clone)]
pub struct Reachability(watch::Receiver<Option<Result<(), String>>>);

impl Reachability {
    /// Checks `storage` now and every `interval` after, for as long as the runtime runs.
    pub fn watch(storage: Storage, interval: Duration) -> Self {
        let (answers, last) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let answer = storage.answers().await;
                if let Err(e) = &answer {
                    tracing::warn!(error = %e, "the store does not answer");
                }
                if answers.send(Some(answer)).is_err() {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        });
        Self(last)
    }

    /// The last check's answer, after waiting (briefly) for the first.
    pub async fn last(&self) -> Result<(), String> {
        let mut last = self.0.clone();
        let first = tokio::time::timeout(PATIENCE, last.wait_for(Option::is_some)).await;
        match first {
            Ok(Ok(answer)) => answer.clone().unwrap_or(Ok(())),
            _ => Err("the store has not answered yet".to_owned()),
        }
    }
}

impl Storage {
    /// Asks the store about an object that need not exist: a read, so that checking leaves
    /// nothing behind (a write and a delete would leave an S3 delete marker each time).
    async fn answers(&self) -> Result<(), String> {
        let key = Path::from_iter(["_easel", "reachable"]);
        match tokio::time::timeout(PATIENCE, self.store.head(&key)).await {
            Ok(Ok(_) | Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PATIENCE.as_secs())),
        }
    }
}
