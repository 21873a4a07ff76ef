//! What the operator sees: the month's spend by day and by person against the caps, and the
//! work this process holds per model. One read of the month's account and one per person
//! listed, however long the month has run.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{StoreFailed, Studio};
use crate::{
    guard::{Caps, MonthLedger, Spending, Usd},
    identity::{OwnerId, Person},
};

/// People listed at most, the biggest spenders first.
const PEOPLE_SHOWN: usize = 100;

/// The deployment's month and this process's work.
#[derive(Debug, Clone)]
pub struct OperatorView {
    pub caps: Caps,
    /// What the month has spent and holds.
    pub month: Spending,
    pub resets_at: OffsetDateTime,
    /// What ended jobs cost on each day of the month, from the 1st to its last.
    pub days: Vec<Usd>,
    /// Today's day of the month.
    pub today: u8,
    pub people: Vec<PersonSpend>,
    pub models: Vec<ModelLoad>,
}

/// What one owner spent: today and this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSpend {
    pub owner: OwnerId,
    pub email: Option<String>,
    pub name: Option<String>,
    pub today: Usd,
    pub month: Usd,
}

/// Jobs of one model that this process runs, and those waiting for a slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelLoad {
    pub model: String,
    pub running: usize,
    pub queued: usize,
}

impl Studio {
    /// The operator's view of the month at `now`.
    pub async fn operator_view(&self, now: OffsetDateTime) -> Result<OperatorView, StoreFailed> {
        let MonthLedger {
            spending,
            spent_by_day,
            resets_at,
        } = self.inner.budget.month_ledger(now).await?;
        let date = now.date();
        let today = date.day();
        let days = (1..=date.month().length(date.year()))
            .map(|day| {
                let owners = spent_by_day.get(&day).into_iter().flat_map(|o| o.values());
                owners.fold(Usd::ZERO, |sum, spent| sum + *spent)
            })
            .collect();
        let mut spent: BTreeMap<&OwnerId, (Usd, Usd)> = BTreeMap::new();
        for (day, owners) in &spent_by_day {
            for (owner, cost) in owners {
                let (on_the_day, in_the_month) = spent.entry(owner).or_default();
                *in_the_month = *in_the_month + *cost;
                if *day == today {
                    *on_the_day = *on_the_day + *cost;
                }
            }
        }
        let mut spenders: Vec<_> = spent.into_iter().collect();
        spenders.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
        spenders.truncate(PEOPLE_SHOWN);
        let people = futures::future::try_join_all(spenders.into_iter().map(
            |(owner, (today, month))| async move {
                let known = self.inner.people.known(owner).await?;
                Ok::<_, StoreFailed>(PersonSpend {
                    owner: owner.clone(),
                    email: known.email,
                    name: known.name,
                    today,
                    month,
                })
            },
        ))
        .await?;
        Ok(OperatorView {
            caps: self.caps(),
            month: spending,
            resets_at,
            days,
            today,
            people,
            models: self.model_loads(),
        })
    }

    /// Notes who a signed-in person is, for the operator's page to name them.
    pub async fn note_person(&self, person: &Person) -> Result<(), StoreFailed> {
        Ok(self.inner.people.note(person).await?)
    }

    fn model_loads(&self) -> Vec<ModelLoad> {
        let held = self.held_gauges();
        let mut loads: BTreeMap<String, ModelLoad> = BTreeMap::new();
        for ((model, state), count) in held.jobs {
            let load = loads.entry(model).or_default();
            if state == "running" {
                load.running += count;
            }
        }
        for (model, waiting) in held.queue_depth {
            loads.entry(model).or_default().queued = waiting;
        }
        loads
            .into_iter()
            .filter(|(_, load)| load.running + load.queued > 0)
            .map(|(id, load)| ModelLoad {
                model: self
                    .catalogue()
                    .get(&id)
                    .map_or(id, |spec| spec.name.clone()),
                ..load
            })
            .collect()
    }
}
