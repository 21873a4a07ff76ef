use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::Busy;

/// At most `per_minute` generations per client in any fixed one-minute window. Kept in memory:
/// behind a load balancer each task counts its own share, which is enough to stop a runaway tab.
#[derive(Clone)]
pub struct RateLimit {
    per_minute: u32,
    windows: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Arc::default(),
        }
    }

    /// Whether `client` may start one more now, without counting it: checked before a large
    /// body is read, so that a client over its rate costs no more than its headers.
    pub fn has_room(&self, client: &str) -> Result<(), Busy> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(client) {
            Some((start, count))
                if now.duration_since(*start) < WINDOW && *count >= self.per_minute =>
            {
                Err(Busy)
            }
            _ => Ok(()),
        }
    }

    pub fn check(&self, client: &str) -> Result<(), Busy> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(client.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(Busy);
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_limit_is_stopped_and_others_are_not() {
        let limit = RateLimit::new(2);
        assert!(limit.check("a").is_ok());
        assert!(limit.check("a").is_ok());
        assert_eq!(limit.check("a"), Err(Busy));
        assert!(limit.check("b").is_ok());
    }

    #[test]
    fn asking_whether_there_is_room_counts_nothing() {
        let limit = RateLimit::new(1);
        assert!(limit.has_room("a").is_ok());
        assert!(limit.has_room("a").is_ok());
        assert!(limit.check("a").is_ok());
        assert_eq!(limit.has_room("a"), Err(Busy));
        assert!(limit.has_room("b").is_ok());
    }
}
