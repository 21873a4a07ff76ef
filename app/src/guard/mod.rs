//! What keeps one client, one burst or one other site from taking the service, or the bill,
//! over: the same-site check, a per-browser rate limit, a bound on pictures read at once, a
//! per-browser upload quota and the budget ledger.

mod bodies;
mod budget;
mod quota;
mod rate;
mod same_site;

pub use bodies::{BodySlot, BodySlots};
pub use budget::{Budget, BudgetError, Caps, OverBudget, Reservation, Spending, Usd};
pub use quota::{OverQuota, UploadQuota};
pub use rate::RateLimit;
pub use same_site::{CrossSite, check_same_site};

/// Too many requests from one client in the last minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("busy, try again")]
pub struct Busy;
