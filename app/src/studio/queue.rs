//! This process's queue, with no I/O: a fair line per model, the slots each model runs in,
//! and the bounds a new job must pass. The studio asks it what to do and does it.

use std::collections::HashMap;

use super::{JobSettings, Refusal, job::JobId, line::Line};
use crate::identity::OwnerId;

/// A job this process holds, waiting or running, and what the studio keeps with it.
pub struct Entry<T> {
    pub owner: OwnerId,
    pub model: String,
    /// 1 for the first run; more for a job taken over.
    pub attempt: u8,
    pub running: bool,
    pub value: T,
}

/// What a pump decided.
#[derive(Debug, Default, PartialEq)]
pub struct Pumped {
    /// Jobs to start now.
    pub starts: Vec<JobId>,
    /// Models whose lines moved: everyone still waiting there moved up.
    pub moved: Vec<String>,
}

pub struct Queue<T> {
    lines: HashMap<String, Line>,
    running: HashMap<String, usize>,
    held: HashMap<JobId, Entry<T>>,
    /// Recent seconds per model call, per model, for wait estimates.
    call_secs: HashMap<String, f64>,
    /// Requests past the checks whose jobs are not in a line yet, per model and per browser.
    admitting: HashMap<String, usize>,
    admitting_owners: HashMap<OwnerId, usize>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            lines: HashMap::new(),
            running: HashMap::new(),
            held: HashMap::new(),
            call_secs: HashMap::new(),
            admitting: HashMap::new(),
            admitting_owners: HashMap::new(),
        }
    }
}

impl<T> Queue<T> {
    /// Checks the per-browser and per-model bounds and counts the request as admitted, until
    /// [`Queue::admitted`].
    pub fn admit(
        &mut self,
        owner: &OwnerId,
        model_id: &str,
        model_name: &str,
        settings: &JobSettings,
    ) -> Result<(), Refusal> {
        let active = self.held.values().filter(|h| h.owner == *owner).count()
            + self.admitting_owners.get(owner).copied().unwrap_or(0);
        if active >= settings.per_browser {
            return Err(Refusal::TooManyJobs {
                limit: settings.per_browser,
            });
        }
        let waiting = self.lines.get(model_id).map_or(0, Line::len)
            + self.admitting.get(model_id).copied().unwrap_or(0);
        let running = self.running.get(model_id).copied().unwrap_or(0);
        if running + waiting >= settings.concurrency + settings.queue_length {
            let per_call = self.call_secs.get(model_id).copied().unwrap_or(10.0);
            let rounds = (waiting + 1) as f64 / settings.concurrency as f64;
            return Err(Refusal::QueueFull {
                model: model_name.to_owned(),
                waiting,
                wait_secs: (rounds * per_call).ceil() as u64,
            });
        }
        *self.admitting.entry(model_id.to_owned()).or_default() += 1;
        *self.admitting_owners.entry(owner.clone()).or_default() += 1;
        Ok(())
    }

    /// An admitted request is in a line now, or was given up.
    pub fn admitted(&mut self, owner: &OwnerId, model_id: &str) {
        if let Some(n) = self.admitting.get_mut(model_id) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.admitting_owners.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.admitting_owners.remove(owner);
            }
        }
    }

    /// Puts a job in its model's line; false if it is already held here.
    pub fn hold(
        &mut self,
        id: JobId,
        owner: OwnerId,
        model: String,
        attempt: u8,
        value: T,
    ) -> bool {
        if self.held.contains_key(&id) {
            return false;
        }
        self.lines
            .entry(model.clone())
            .or_default()
            .push(owner.clone(), id.clone());
        let entry = Entry {
            owner,
            model,
            attempt,
            running: false,
            value,
        };
        self.held.insert(id, entry);
        true
    }

    /// Takes waiting jobs off their lines while their model has free slots, and no more jobs
    /// making large pictures (`large` says which models make them) run than allowed.
    pub fn pump(&mut self, settings: &JobSettings, large: impl Fn(&str) -> bool) -> Pumped {
        let mut pumped = Pumped::default();
        let mut large_running: usize = self
            .running
            .iter()
            .filter(|(model, _)| large(model))
            .map(|(_, n)| n)
            .sum();
        for (model, line) in &mut self.lines {
            let running = self.running.entry(model.clone()).or_default();
            let before = line.len();
            let is_large = large(model);
            while *running < settings.concurrency
                && (!is_large || large_running < settings.large_picture_jobs)
            {
                let Some(id) = line.pop() else { break };
                let Some(entry) = self.held.get_mut(&id) else {
                    continue;
                };
                entry.running = true;
                *running += 1;
                large_running += usize::from(is_large);
                pumped.starts.push(id);
            }
            if line.len() != before {
                pumped.moved.push(model.clone());
            }
        }
        pumped
    }

    /// A running job has ended here (or was lost to another process): its slot is free.
    pub fn finished(&mut self, id: &JobId) -> Option<Entry<T>> {
        let entry = self.held.remove(id)?;
        if entry.running
            && let Some(running) = self.running.get_mut(&entry.model)
        {
            *running = running.saturating_sub(1);
        }
        Some(entry)
    }

    /// Forgets a waiting job that will not run here.
    pub fn release(&mut self, id: &JobId) {
        if self.held.get(id).is_some_and(|entry| !entry.running) {
            self.leave_line(id);
            self.held.remove(id);
        }
    }

    /// Takes a waiting job out of its line, so it never starts here; it stays held.
    pub fn leave_line(&mut self, id: &JobId) {
        let Some(entry) = self.held.get(id).filter(|entry| !entry.running) else {
            return;
        };
        if let Some(line) = self.lines.get_mut(&entry.model) {
            line.remove(&entry.owner, id);
        }
    }

    pub fn get(&self, id: &JobId) -> Option<&Entry<T>> {
        self.held.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Every job held here.
    pub fn entries(&self) -> impl Iterator<Item = &Entry<T>> {
        self.held.values()
    }

    /// How many jobs wait in each model's line.
    pub fn waiting(&self) -> impl Iterator<Item = (&str, usize)> {
        self.lines
            .iter()
            .map(|(model, line)| (model.as_str(), line.len()))
    }

    /// How many jobs start before this waiting one.
    pub fn ahead_of(&self, id: &JobId) -> Option<usize> {
        let entry = self.held.get(id)?;
        self.lines.get(&entry.model)?.ahead_of(&entry.owner, id)
    }

    /// Jobs running here, over all models.
    pub fn running(&self) -> usize {
        self.running.values().sum()
    }

    /// Notes how long a call of `model` took, for wait estimates.
    pub fn record_call_time(&mut self, model: &str, secs: f64) {
        let average = self.call_secs.entry(model.to_owned()).or_insert(secs);
        *average = *average * 0.8 + secs * 0.2;
    }

    /// Recent seconds per call of `model`, once one has been timed.
    pub fn call_secs(&self, model: &str) -> Option<f64> {
        self.call_secs.get(model).copied()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings() -> JobSettings {
        JobSettings {
            concurrency: 2,
            large_picture_jobs: 1,
            queue_length: 1,
            per_browser: 3,
            lease: Duration::from_secs(30),
            scan_interval: Duration::from_secs(10),
            throttle_patience: Duration::from_secs(60),
            quick_answer: Duration::ZERO,
        }
    }

    fn job(n: u8) -> JobId {
        JobId::parse(&format!("0000000000001{:030x}{n:02x}", 0)).unwrap()
    }

    /// Admits and holds job `n` of `owner` for `model`.
    fn accept(queue: &mut Queue<()>, owner: &OwnerId, model: &str, n: u8) -> Result<(), Refusal> {
        queue.admit(owner, model, model, &settings())?;
        queue.admitted(owner, model);
        assert!(queue.hold(job(n), owner.clone(), model.to_owned(), 1, ()));
        Ok(())
    }

    #[test]
    fn a_model_runs_as_many_jobs_as_it_has_slots_and_the_next_starts_when_one_ends() {
        let mut queue = Queue::default();
        let (a, b) = (OwnerId::new_random(), OwnerId::new_random());
        for n in 0..2 {
            accept(&mut queue, &a, "core", n).unwrap();
        }
        accept(&mut queue, &b, "core", 2).unwrap();

        let pumped = queue.pump(&settings(), |_| false);
        assert_eq!(pumped.starts, [job(0), job(2)], "the browsers take turns");
        assert_eq!(pumped.moved, ["core"]);
        assert_eq!(queue.ahead_of(&job(1)), Some(0));
        assert_eq!(queue.pump(&settings(), |_| false), Pumped::default());

        assert!(queue.finished(&job(0)).is_some());
        assert_eq!(queue.pump(&settings(), |_| false).starts, [job(1)]);
        assert_eq!(queue.running(), 2);
    }

    #[test]
    fn a_full_queue_refuses_with_an_estimate_and_a_busy_browser_is_refused() {
        let mut queue = Queue::default();
        let owners: Vec<OwnerId> = (0..3).map(|_| OwnerId::new_random()).collect();
        for (n, owner) in owners.iter().enumerate() {
            accept(&mut queue, owner, "core", n as u8).unwrap();
        }
        queue.record_call_time("core", 4.0);
        let late = OwnerId::new_random();
        assert!(matches!(
            queue.admit(&late, "core", "Core", &settings()),
            Err(Refusal::QueueFull {
                waiting: 3,
                wait_secs: 8,
                ..
            })
        ));
        // Another model has its own slots; the same browser has its own bound.
        for n in 3..6 {
            accept(&mut queue, &late, &format!("model-{n}"), n).unwrap();
        }
        assert!(matches!(
            queue.admit(&late, "other", "Other", &settings()),
            Err(Refusal::TooManyJobs { limit: 3 })
        ));
    }

    #[test]
    fn large_pictures_share_their_own_slots_across_models() {
        let mut queue = Queue::default();
        let owner = OwnerId::new_random();
        accept(&mut queue, &owner, "upscale", 0).unwrap();
        accept(&mut queue, &owner, "outpaint", 1).unwrap();
        let pumped = queue.pump(&settings(), |_| true);
        assert_eq!(pumped.starts.len(), 1, "one large job at a time");
        let waiting = if pumped.starts == [job(0)] {
            job(1)
        } else {
            job(0)
        };
        queue.release(&waiting);
        assert!(queue.get(&waiting).is_none(), "a released job is forgotten");
        assert_eq!(queue.waiting().map(|(_, n)| n).sum::<usize>(), 0);
    }
}
