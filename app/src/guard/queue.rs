use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Busy;

/// At most `per_model` calls run at once for each model; a few more may wait briefly for a
/// slot, and the rest are told at once to try again, so a burst costs no memory.
#[derive(Clone)]
pub struct ModelQueues {
    queues: Arc<HashMap<String, Queue>>,
    max_waiting: usize,
    max_wait: Duration,
}

struct Queue {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

impl ModelQueues {
    pub fn new<'a>(
        model_ids: impl IntoIterator<Item = &'a str>,
        per_model: usize,
        max_waiting: usize,
        max_wait: Duration,
    ) -> Self {
        let queues = model_ids
            .into_iter()
            .map(|id| {
                let queue = Queue {
                    slots: Arc::new(Semaphore::new(per_model)),
                    waiting: AtomicUsize::new(0),
                };
                (id.to_owned(), queue)
            })
            .collect();
        Self {
            queues: Arc::new(queues),
            max_waiting,
            max_wait,
        }
    }

    pub async fn slot(&self, model_id: &str) -> Result<OwnedSemaphorePermit, Busy> {
        let queue = self.queues.get(model_id).ok_or(Busy)?;
        if let Ok(permit) = queue.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if queue.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            queue.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let waited = tokio::time::timeout(self.max_wait, queue.slots.clone().acquire_owned()).await;
        queue.waiting.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let queues = ModelQueues::new(["m"], 1, 1, Duration::from_secs(60));
        let _running = queues.slot("m").await.unwrap();
        let waiter = {
            let queues = queues.clone();
            tokio::spawn(async move { queues.slot("m").await.map(drop) })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(queues.slot("m").await.unwrap_err(), Busy);
        drop(_running);
        assert!(
            waiter.await.unwrap().is_ok(),
            "the waiter gets the freed slot"
        );
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_the_longest_wait() {
        let queues = ModelQueues::new(["m"], 1, 5, Duration::from_millis(10));
        let _running = queues.slot("m").await.unwrap();
        assert_eq!(queues.slot("m").await.unwrap_err(), Busy);
    }
}
