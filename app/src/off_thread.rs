//! Decoding and encoding pictures: CPU work that would hold up the async threads, and that can
//! hold a decoded picture of tens of megabytes while it runs.
//!
//! It runs on a few threads of its own, one per core: more would not finish sooner, a burst of
//! uploads, edits and previews waits its turn instead of holding every decoded picture at once,
//! and glibc's malloc, which keeps each thread's freed memory for that thread, keeps it for these
//! few instead of for each of the hundreds of threads tokio's blocking pool may start.

use std::{
    num::NonZeroUsize,
    panic::{self, AssertUnwindSafe},
    sync::{Arc, LazyLock, Mutex, PoisonError, mpsc},
    thread,
};

use tokio::sync::oneshot;

type Work = Box<dyn FnOnce() + Send>;

static WORKERS: LazyLock<mpsc::Sender<Work>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel::<Work>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..cores() {
        let receiver = receiver.clone();
        thread::Builder::new()
            .name(format!("pictures-{n}"))
            .spawn(move || {
                loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok(work) = next else { return };
                    work();
                }
            })
            .expect("a thread for pictures starts");
    }
    sender
});

fn cores() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `work` on a picture thread once one is free; `None` if it panicked.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (answer, answered) = oneshot::channel();
    let work: Work = Box::new(move || {
        // A hostile file that trips a decoder's panic costs its own answer, not the thread.
        if let Ok(done) = panic::catch_unwind(AssertUnwindSafe(work)) {
            let _ = answer.send(done);
        }
    });
    WORKERS.send(work).ok()?;
    answered.await.ok()
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn no_more_pictures_are_worked_on_at_once_than_there_are_cores() {
        let cores = cores();
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let burst = (0..cores * 3).map(|_| {
            let (now, most) = (now.clone(), most.clone());
            run(move || {
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at_once, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(20));
                now.fetch_sub(1, Ordering::SeqCst);
            })
        });
        let done = futures::future::join_all(burst).await;
        assert!(done.iter().all(Option::is_some));
        // Other tests share the threads, so fewer may have been free.
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=cores).contains(&most),
            "{most} at once on {cores} cores"
        );
    }

    #[tokio::test]
    async fn a_panic_while_decoding_is_an_answer_not_a_crash() {
        assert_eq!(run(|| -> u8 { panic!("a hostile file") }).await, None);
    }
}
