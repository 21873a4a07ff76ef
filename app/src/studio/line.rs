//! The jobs one process holds for a model, waiting for a free slot. Browsers take turns: the
//! next job is the first one of the browser whose turn it is, so one browser's ten jobs do not
//! push another browser's single job behind all of them.

use std::collections::{HashMap, VecDeque};

use super::job::JobId;
use crate::identity::OwnerId;

#[derive(Debug, Default)]
pub struct Line {
    turns: VecDeque<OwnerId>,
    waiting: HashMap<OwnerId, VecDeque<JobId>>,
    len: usize,
}

impl Line {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, owner: OwnerId, job: JobId) {
        let jobs = self.waiting.entry(owner.clone()).or_default();
        if jobs.is_empty() {
            self.turns.push_back(owner);
        }
        jobs.push_back(job);
        self.len += 1;
    }

    /// The next job to run.
    pub fn pop(&mut self) -> Option<JobId> {
        let owner = self.turns.pop_front()?;
        let jobs = self.waiting.get_mut(&owner)?;
        let job = jobs.pop_front()?;
        if jobs.is_empty() {
            self.waiting.remove(&owner);
        } else {
            self.turns.push_back(owner);
        }
        self.len -= 1;
        Some(job)
    }

    /// Takes a job out of the line (cancelled, or run elsewhere); false if it was not in it.
    pub fn remove(&mut self, owner: &OwnerId, job: &JobId) -> bool {
        let Some(jobs) = self.waiting.get_mut(owner) else {
            return false;
        };
        let before = jobs.len();
        jobs.retain(|j| j != job);
        if jobs.len() == before {
            return false;
        }
        if jobs.is_empty() {
            self.waiting.remove(owner);
            self.turns.retain(|o| o != owner);
        }
        self.len -= 1;
        true
    }

    /// How many jobs will start before this one.
    pub fn ahead_of(&self, owner: &OwnerId, job: &JobId) -> Option<usize> {
        let place = self.waiting.get(owner)?.iter().position(|j| j == job)?;
        let turn = self.turns.iter().position(|o| o == owner)?;
        let others: usize = self
            .turns
            .iter()
            .enumerate()
            .filter(|(_, o)| *o != owner)
            .map(|(rank, o)| {
                // Each round takes one job per browser; browsers before ours in this round
                // get one more turn than the rounds we wait.
                let turns = place + usize::from(rank < turn);
                self.waiting[o].len().min(turns)
            })
            .sum();
        Some(place + others)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u8) -> JobId {
        JobId::parse(&format!("0000000000001{:030x}{n:02x}", 0)).unwrap()
    }

    #[test]
    fn browsers_take_turns_and_places_count_down() {
        let (busy, other) = (OwnerId::new_random(), OwnerId::new_random());
        let mut line = Line::default();
        for n in 0..5 {
            line.push(busy.clone(), job(n));
        }
        line.push(other.clone(), job(9));
        assert_eq!(line.ahead_of(&other, &job(9)), Some(1));
        assert_eq!(line.ahead_of(&busy, &job(4)), Some(5));
        assert_eq!(line.pop(), Some(job(0)));
        assert_eq!(line.ahead_of(&other, &job(9)), Some(0));
        assert_eq!(line.pop(), Some(job(9)));
        assert_eq!(line.ahead_of(&busy, &job(4)), Some(3));
        assert!(line.remove(&busy, &job(2)));
        assert!(!line.remove(&busy, &job(2)));
        assert_eq!(line.len(), 3);
        assert_eq!(
            [line.pop(), line.pop(), line.pop(), line.pop()],
            [Some(job(1)), Some(job(3)), Some(job(4)), None]
        );
    }
}
