//! Limits that keep one client, or one burst, from taking the service down: a per-client rate
//! limit and a bounded queue per model. Both answer "busy, try again" rather than pile up.

mod queue;
mod rate;

pub use queue::ModelQueues;
pub use rate::RateLimit;

/// Every slot is taken and the waiting line is full (or the wait ran out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("busy, try again")]
pub struct Busy;
