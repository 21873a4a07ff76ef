//! Decoding and encoding pictures: CPU work that would hold up the async threads, and that can
//! hold a decoded picture of tens of megabytes while it runs.
//!
//! It runs on a few threads of its own, one per core: more would not finish sooner, a burst of
//! uploads and edits waits its turn instead of holding every decoded picture at once, and
//! glibc's malloc, which keeps each thread's freed memory for that thread, keeps it for these
//! few instead of for each of the hundreds of threads tokio's blocking pool may start.
//!
//! Work nobody is waiting for (previews) runs on one more thread, at the lowest CPU priority:
//! on a small machine it would otherwise take a core from the answers people wait for.

use std::{
    num::NonZeroUsize,
    panic::{self, AssertUnwindSafe},
    sync::{Arc, LazyLock, Mutex, PoisonError, mpsc},
    thread,
};

use tokio::sync::oneshot;

type Work = Box<dyn FnOnce() + Send>;

static WORKERS: LazyLock<mpsc::Sender<Work>> =
    LazyLock::new(|| threads("pictures", cores(), Priority::Normal));

static BACKGROUND: LazyLock<mpsc::Sender<Work>> =
    LazyLock::new(|| threads("background", 1, Priority::Lowest));

#[derive(Clone, Copy, PartialEq, Eq)]
enum Priority {
    Normal,
    Lowest,
}

/// `count` threads named `name-N` taking work from one queue.
fn threads(name: &str, count: usize, priority: Priority) -> mpsc::Sender<Work> {
    let (sender, receiver) = mpsc::channel::<Work>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..count {
        let receiver = receiver.clone();
        thread::Builder::new()
            .name(format!("{name}-{n}"))
            .spawn(move || {
                if priority == Priority::Lowest {
                    lower_this_threads_priority();
                }
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
}

/// The highest niceness. Linux applies it to the calling thread alone; elsewhere it would
/// apply to the whole process, so there the thread keeps its priority.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::warn!(error = %e, "the background thread keeps its priority");
    }
}

fn cores() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `work` on a picture thread once one is free; `None` if it panicked.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    run_on(&WORKERS, work).await
}

/// Runs `work` when the machine has a core to spare: for work whose result nobody is waiting
/// for yet. `None` if it panicked.
pub async fn run_in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    run_on(&BACKGROUND, work).await
}

async fn run_on<T: Send + 'static>(
    threads: &mpsc::Sender<Work>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (answer, answered) = oneshot::channel();
    let work: Work = Box::new(move || {
        // A hostile file that trips a decoder's panic costs its own answer, not the thread.
        if let Ok(done) = panic::catch_unwind(AssertUnwindSafe(work)) {
            let _ = answer.send(done);
        }
    });
    threads.send(work).ok()?;
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

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn background_work_leaves_the_cpu_to_everything_else() {
        // Relative to the process's own priority: the tests may run under `nice`.
        let own = rustix::process::getpriority_process(None).ok();
        let niceness = run_in_background(|| rustix::process::getpriority_process(None)).await;
        assert_eq!(niceness.map(Result::ok), Some(Some(19)));
        let niceness = run(|| rustix::process::getpriority_process(None)).await;
        assert_eq!(niceness.map(Result::ok), Some(own));
    }

    #[tokio::test]
    async fn a_panic_while_decoding_is_an_answer_not_a_crash() {
        assert_eq!(run(|| -> u8 { panic!("a hostile file") }).await, None);
    }
}
