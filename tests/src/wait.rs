//! Waiting for something the app or a process will do, with a deadline: a test that waits in
//! vain fails, saying what it waited for and what it saw instead, rather than hanging.

use std::{fmt::Display, future::Future, time::Duration};

/// How long a test gives the app to get where it waits for it: generous, as a loaded machine is
/// slow, and only a failing test waits this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How long to pause between two looks.
const POLL: Duration = Duration::from_millis(25);

/// Looks with `check` until it gives `Ok(value)`, and returns the value. `Err` says what was seen
/// instead. Fails the test once `within` has passed, naming `what` was awaited and the last
/// thing seen; a look that itself hangs is cut off at the deadline too.
pub async fn wait_until<T, E: Display, F: Future<Output = Result<T, E>>>(
    what: impl Display,
    within: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let mut last_seen = None;
    let looking = async {
        loop {
            match check().await {
                Ok(value) => return value,
                Err(seen) => last_seen = Some(seen),
            }
            tokio::time::sleep(POLL).await;
        }
    };
    let found = tokio::time::timeout(within, looking).await;
    match (found, last_seen) {
        (Ok(value), _) => value,
        (Err(_), Some(seen)) => panic!("waited {within:?} for {what} in vain; last saw: {seen}"),
        (Err(_), None) => {
            panic!("waited {within:?} for {what} in vain; the first look never ended")
        }
    }
}
