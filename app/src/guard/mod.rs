//! What keeps one client or one burst from taking the service, or the bill, over: a
//! per-browser rate limit, a per-browser upload quota and the budget ledger.

mod bodies;
mod budget;
mod quota;
mod rate;

pub use bodies::{BodySlot, BodySlots};
pub use budget::{
    Budget, BudgetError, Caps, MonthLedger, OverBudget, Reservation, Spending, SpentByDay,
    Standing, Usd,
};
pub use quota::{OverQuota, UploadQuota};
pub use rate::RateLimit;

/// Too many requests from one client in the last minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("busy, try again")]
pub struct Busy;
