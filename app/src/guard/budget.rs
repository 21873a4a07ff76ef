//! The budget ledger: what each browser may spend per UTC day and the whole deployment per
//! calendar month. It lives in the shared store and every change is a compare-and-swap, so no
//! number of browsers, requests or tasks can spend past a cap.
//!
//! A job reserves its highest possible cost when it is accepted and settles to what it really
//! cost when it ends. Reservations are kept by job, so settling twice (a job run again after a
//! crash) changes nothing the second time.
//!
//! The month's account also keeps what settled jobs cost by day and by owner, written in the
//! same compare-and-swap as the settlement, so the operator's page reads one account.

use std::{collections::BTreeMap, fmt};

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

use crate::{
    identity::OwnerId,
    storage::{Storage, StorageError},
};

/// An amount of US dollars in millionths, so that sums are exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Usd(u64);

impl Usd {
    pub const ZERO: Usd = Usd(0);

    pub fn from_dollars(dollars: f64) -> Self {
        Self((dollars.max(0.0) * 1e6).round() as u64)
    }

    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub fn times(self, n: u64) -> Self {
        Self(self.0.saturating_mul(n))
    }
}

impl std::ops::Add for Usd {
    type Output = Usd;
    fn add(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }
}

/// What is left, never below zero.
impl std::ops::Sub for Usd {
    type Output = Usd;
    fn sub(self, other: Usd) -> Usd {
        Usd(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Usd {
    /// Cents, unless a fraction of a cent matters (a $0.04 picture, a $0.035 one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(10_000) {
            write!(f, "${:.2}", self.dollars())
        } else {
            write!(f, "${:.3}", self.dollars())
        }
    }
}

/// The two caps; `None` is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub daily_per_browser: Option<Usd>,
    pub monthly: Option<Usd>,
}

/// Which cap a request would break, with what the user needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    #[error("over the daily budget")]
    Daily {
        committed: Usd,
        cap: Usd,
        asked: Usd,
        resets_at: OffsetDateTime,
    },
    /// The deployment's cap: what it has spent is the operator's business, not a visitor's.
    #[error("over the monthly budget")]
    Monthly { resets_at: OffsetDateTime },
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(transparent)]
    Over(#[from] OverBudget),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a job holds against the ledger: kept in the job, so any task can settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub job: String,
    pub amount: Usd,
    /// `YYYY-MM-DD` and `YYYY-MM` of the accounts it was taken from (a job may end tomorrow).
    pub day: String,
    pub month: String,
}

/// What settled jobs cost, by day of the month and by owner.
pub type SpentByDay = BTreeMap<u8, BTreeMap<OwnerId, Usd>>;

/// One account: money spent, and money held by jobs that have not ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Account {
    spent: Usd,
    reserved: BTreeMap<String, Usd>,
    /// Kept by the month's account only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    spent_by_day: SpentByDay,
}

impl Account {
    fn committed(&self) -> Usd {
        self.reserved.values().fold(self.spent, |sum, r| sum + *r)
    }
}

/// Spending so far, for the page and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spending {
    pub spent: Usd,
    pub committed: Usd,
}

/// Where one owner stands against the caps, as they may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub today: Spending,
    pub daily_cap: Option<Usd>,
    pub day_resets_at: OffsetDateTime,
    /// The deployment's monthly cap is not reached (or there is none).
    pub month_open: bool,
    pub month_resets_at: OffsetDateTime,
}

/// The deployment's month, as its operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthLedger {
    pub spending: Spending,
    pub spent_by_day: SpentByDay,
    pub resets_at: OffsetDateTime,
}

/// Who spent, on which day: noted in the month's account when a job settles.
struct Spender<'a> {
    owner: &'a OwnerId,
    day_of_month: u8,
}

#[derive(Debug, Clone)]
pub struct Budget {
    storage: Storage,
    caps: Caps,
}

impl Budget {
    pub fn new(storage: Storage, caps: Caps) -> Self {
        Self { storage, caps }
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Holds `amount` for job `job` in the owner's day and the deployment's month, or says
    /// which cap it would break. Nothing is held when it is refused.
    pub async fn reserve(
        &self,
        owner: &OwnerId,
        job: &str,
        amount: Usd,
        now: OffsetDateTime,
    ) -> Result<Reservation, BudgetError> {
        let reservation = Reservation {
            job: job.to_owned(),
            amount,
            day: day_name(now.date()),
            month: month_name(now.date()),
        };
        let (day_key, month_key) = (
            day_key(&reservation.day, owner),
            month_key(&reservation.month),
        );
        let (daily, monthly) = (self.caps.daily_per_browser, self.caps.monthly);
        // Both at once; whichever held when the other refused is given back.
        let (day, month) = tokio::join!(
            self.hold(&day_key, job, amount, |committed| {
                check(daily, committed, amount).map_err(|cap| OverBudget::Daily {
                    committed,
                    cap,
                    asked: amount,
                    resets_at: next_day(now),
                })
            }),
            self.hold(&month_key, job, amount, |committed| {
                check(monthly, committed, amount).map_err(|_| OverBudget::Monthly {
                    resets_at: next_month(now),
                })
            }),
        );
        match (day, month) {
            (Ok(()), Ok(())) => Ok(reservation),
            (Err(refused), month) => {
                if month.is_ok() {
                    self.release(&month_key, job, Usd::ZERO, None).await?;
                }
                Err(refused)
            }
            (Ok(()), Err(refused)) => {
                self.release(&day_key, job, Usd::ZERO, None).await?;
                Err(refused)
            }
        }
    }

    /// Turns a reservation into what the job really cost. Settling again does nothing.
    pub async fn settle(
        &self,
        owner: &OwnerId,
        reservation: &Reservation,
        cost: Usd,
    ) -> Result<(), StorageError> {
        let job = &reservation.job;
        let (day, month) = (
            day_key(&reservation.day, owner),
            month_key(&reservation.month),
        );
        // Days are named `YYYY-MM-DD` by `day_name`.
        let spender = reservation
            .day
            .rsplit('-')
            .next()
            .and_then(|day| day.parse().ok())
            .map(|day_of_month| Spender {
                owner,
                day_of_month,
            });
        futures::try_join!(
            self.release(&day, job, cost, None),
            self.release(&month, job, cost, spender),
        )?;
        Ok(())
    }

    /// What this browser has spent and holds today.
    pub async fn today(
        &self,
        owner: &OwnerId,
        now: OffsetDateTime,
    ) -> Result<Spending, StorageError> {
        self.spending(&day_key(&day_name(now.date()), owner)).await
    }

    /// What the deployment has spent and holds this month.
    pub async fn this_month(&self, now: OffsetDateTime) -> Result<Spending, StorageError> {
        self.spending(&month_key(&month_name(now.date()))).await
    }

    /// Where one owner stands: their day against its cap, and whether the deployment's month
    /// still takes work. Not what the month has spent: that tells of everyone else's spending.
    pub async fn standing(
        &self,
        owner: &OwnerId,
        now: OffsetDateTime,
    ) -> Result<Standing, StorageError> {
        let (today, month) = futures::try_join!(self.today(owner, now), self.this_month(now))?;
        Ok(Standing {
            today,
            daily_cap: self.caps.daily_per_browser,
            day_resets_at: next_day(now),
            month_open: self.caps.monthly.is_none_or(|cap| month.committed < cap),
            month_resets_at: next_month(now),
        })
    }

    /// The deployment's month: what it has spent and holds, and who spent what on which day.
    pub async fn month_ledger(&self, now: OffsetDateTime) -> Result<MonthLedger, StorageError> {
        let key = month_key(&month_name(now.date()));
        let account: Account = self.storage.get_json(&key).await?.unwrap_or_default();
        Ok(MonthLedger {
            spending: Spending {
                spent: account.spent,
                committed: account.committed(),
            },
            spent_by_day: account.spent_by_day,
            resets_at: next_month(now),
        })
    }

    async fn spending(&self, key: &Path) -> Result<Spending, StorageError> {
        let account: Account = self.storage.get_json(key).await?.unwrap_or_default();
        Ok(Spending {
            spent: account.spent,
            committed: account.committed(),
        })
    }

    async fn hold(
        &self,
        key: &Path,
        job: &str,
        amount: Usd,
        allowed: impl Fn(Usd) -> Result<(), OverBudget>,
    ) -> Result<(), BudgetError> {
        self.storage
            .update_json(key, |account: Option<Account>| {
                let mut account = account.unwrap_or_default();
                allowed(account.committed())?;
                account.reserved.insert(job.to_owned(), amount);
                Ok::<_, BudgetError>((account, ()))
            })
            .await
    }

    async fn release(
        &self,
        key: &Path,
        job: &str,
        cost: Usd,
        spender: Option<Spender<'_>>,
    ) -> Result<(), StorageError> {
        self.storage
            .update_json(key, |account: Option<Account>| {
                let mut account = account.unwrap_or_default();
                if account.reserved.remove(job).is_some() {
                    account.spent = account.spent + cost;
                    if let Some(spender) = spender.as_ref().filter(|_| cost > Usd::ZERO) {
                        let day = account.spent_by_day.entry(spender.day_of_month);
                        let spent = day.or_default().entry(spender.owner.clone()).or_default();
                        *spent = *spent + cost;
                    }
                }
                Ok::<_, StorageError>((account, ()))
            })
            .await
    }
}

/// The cap that `amount` more would break, if any.
fn check(cap: Option<Usd>, committed: Usd, amount: Usd) -> Result<(), Usd> {
    match cap {
        Some(cap) if committed + amount > cap => Err(cap),
        _ => Ok(()),
    }
}

fn day_name(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn month_name(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), u8::from(date.month()))
}

fn day_key(day: &str, owner: &OwnerId) -> Path {
    Path::from_iter(["_easel", "budget", "days", day, &format!("{owner}.json")])
}

fn month_key(month: &str) -> Path {
    Path::from_iter(["_easel", "budget", "months", &format!("{month}.json")])
}

fn next_day(now: OffsetDateTime) -> OffsetDateTime {
    let tomorrow = now.date().next_day().unwrap_or(now.date());
    tomorrow.with_time(Time::MIDNIGHT).assume_utc()
}

fn next_month(now: OffsetDateTime) -> OffsetDateTime {
    let date = now.date();
    let (year, month) = match date.month() {
        Month::December => (date.year() + 1, Month::January),
        month => (date.year(), month.next()),
    };
    Date::from_calendar_date(year, month, 1)
        .unwrap_or(date)
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-31 22:00 UTC);

    fn budget(daily: f64, monthly: f64) -> Budget {
        Budget::new(
            Storage::in_memory(),
            Caps {
                daily_per_browser: Some(Usd::from_dollars(daily)),
                monthly: Some(Usd::from_dollars(monthly)),
            },
        )
    }

    #[tokio::test]
    async fn a_reservation_past_the_daily_cap_is_refused_and_holds_nothing() {
        let budget = budget(0.10, 100.0);
        let owner = OwnerId::new_random();
        let held = budget
            .reserve(&owner, "a", Usd::from_dollars(0.08), NOW)
            .await
            .unwrap();
        let refused = budget
            .reserve(&owner, "b", Usd::from_dollars(0.04), NOW)
            .await
            .unwrap_err();
        let BudgetError::Over(OverBudget::Daily {
            committed,
            resets_at,
            ..
        }) = refused
        else {
            panic!("{refused:?}")
        };
        assert_eq!(committed, Usd::from_dollars(0.08));
        assert_eq!(resets_at, datetime!(2027-01-01 0:00 UTC));
        // Another browser has its own day, and the month saw only the first job.
        budget
            .reserve(&OwnerId::new_random(), "c", Usd::from_dollars(0.04), NOW)
            .await
            .unwrap();
        assert_eq!(
            budget.this_month(NOW).await.unwrap().committed,
            Usd::from_dollars(0.12)
        );

        // Settling to what was made frees the rest, once.
        budget
            .settle(&owner, &held, Usd::from_dollars(0.04))
            .await
            .unwrap();
        budget
            .settle(&owner, &held, Usd::from_dollars(0.04))
            .await
            .unwrap();
        let today = budget.today(&owner, NOW).await.unwrap();
        assert_eq!(
            (today.spent, today.committed),
            (Usd::from_dollars(0.04), Usd::from_dollars(0.04))
        );
        budget
            .reserve(&owner, "b", Usd::from_dollars(0.04), NOW)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_monthly_cap_releases_the_days_hold_when_it_refuses() {
        let budget = budget(10.0, 0.05);
        let owner = OwnerId::new_random();
        let refused = budget
            .reserve(&owner, "a", Usd::from_dollars(0.08), NOW)
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            BudgetError::Over(OverBudget::Monthly { .. })
        ));
        assert_eq!(
            budget.today(&owner, NOW).await.unwrap().committed,
            Usd::ZERO
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_reservations_never_pass_the_cap() {
        let budget = budget(100.0, 1.0);
        let racers: Vec<_> = (0..40)
            .map(|n| {
                let budget = budget.clone();
                tokio::spawn(async move {
                    budget
                        .reserve(
                            &OwnerId::new_random(),
                            &n.to_string(),
                            Usd::from_dollars(0.08),
                            NOW,
                        )
                        .await
                        .is_ok()
                })
            })
            .collect();
        let accepted = futures::future::try_join_all(racers).await.unwrap();
        assert_eq!(accepted.iter().filter(|a| **a).count(), 12);
        assert!(budget.this_month(NOW).await.unwrap().committed <= Usd::from_dollars(1.0));
    }

    #[tokio::test]
    async fn the_month_keeps_what_each_owner_spent_each_day_once() {
        let budget = budget(10.0, 100.0);
        let (ana, bo) = (OwnerId::new_random(), OwnerId::new_random());
        let yesterday = NOW - time::Duration::days(1);
        let cents = |n: u64| Usd::from_dollars(0.01).times(n);
        let spend = |owner: OwnerId, job: &'static str, held: u64, cost: u64, at| {
            let budget = budget.clone();
            async move {
                let reservation = budget.reserve(&owner, job, cents(held), at).await.unwrap();
                for _ in 0..2 {
                    budget
                        .settle(&owner, &reservation, cents(cost))
                        .await
                        .unwrap();
                }
            }
        };
        spend(ana.clone(), "a", 8, 4, yesterday).await;
        spend(ana.clone(), "b", 8, 8, NOW).await;
        spend(bo.clone(), "c", 4, 4, NOW).await;
        spend(bo.clone(), "cancelled", 4, 0, NOW).await;
        budget.reserve(&bo, "running", cents(8), NOW).await.unwrap();

        let month = budget.month_ledger(NOW).await.unwrap();

        let by_day: Vec<(u8, Vec<Usd>)> = month
            .spent_by_day
            .iter()
            .map(|(day, owners)| (*day, owners.values().copied().collect()))
            .collect();
        assert_eq!(by_day[0], (30, vec![cents(4)]));
        assert_eq!(month.spent_by_day[&31][&ana], cents(8));
        assert_eq!(month.spent_by_day[&31][&bo], cents(4));
        assert_eq!(by_day.len(), 2);
        assert_eq!(month.spending.spent, cents(16));
        assert_eq!(month.spending.committed, cents(24));
        assert_eq!(month.resets_at, datetime!(2027-01-01 0:00 UTC));
    }

    #[test]
    fn amounts_read_as_dollars() {
        assert_eq!(Usd::from_dollars(0.04).to_string(), "$0.04");
        assert_eq!(Usd::from_dollars(0.035).times(3).to_string(), "$0.105");
        assert_eq!(Usd::from_dollars(50.0).to_string(), "$50.00");
    }
}
