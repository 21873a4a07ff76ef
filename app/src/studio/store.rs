//! Where jobs live in the shared store, and the claims that decide who runs them.
//!
//! ```text
//! _easel/jobs/{job}/job.json       the job; written only by the holder of its newest claim
//! _easel/jobs/{job}/claim-{n}.json attempt n: created once (If-None-Match), so one process wins
//! _easel/jobs/{job}/cancel.json    the owner asked to cancel it
//! _easel/jobs/{job}/seen.json      the owner has seen how it ended
//! _easel/jobs/{job}/{input}.png     an edit's mask or style picture, written before job.json
//! _easel/queue/{worker}/{job}      present while the job has not ended, under the process that
//!                                  accepted it: what a scan looks at
//! _easel/owners/{owner}/jobs/{job} the owner's recent jobs, newest first
//! _easel/workers/{worker}.json     a process's heartbeat
//! ```
//! See docs/jobs.md for why claims are safe and where they are not.

use bytes::Bytes;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::job::{Job, JobId, WorkerId};
use crate::{
    identity::OwnerId,
    storage::{Storage, StorageError},
};

const ROOT: &str = "_easel";
/// How many of an owner's jobs are listed; older ones stay stored but drop out of the list.
const RECENT_JOBS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claim {
    worker: WorkerId,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Heartbeat {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    draining: bool,
}

/// Whether a process still runs what it holds, as its heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// Stopping: it finishes its running calls but starts nothing new.
    Draining,
    Dead,
}

/// The newest claim on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub attempt: u8,
    pub worker: WorkerId,
}

#[derive(Debug, Clone)]
pub struct JobStore {
    storage: Storage,
}

impl JobStore {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// Stores a newly accepted job; once this returns, the job cannot be lost.
    pub async fn insert(&self, job: &Job) -> Result<(), StorageError> {
        futures::try_join!(
            // A queued mark is taken to mean a stored job: it comes second.
            async {
                self.save(job).await?;
                self.put_empty(queue_key(job)).await
            },
            // The browser's list skips a mark whose job is not stored (yet).
            self.put_empty(owner_key(&job.owner, &job.id)),
        )?;
        Ok(())
    }

    pub async fn save(&self, job: &Job) -> Result<(), StorageError> {
        self.storage
            .put_json(&job_key(&job.id, "job.json"), job)
            .await
    }

    /// Stores a picture an edit came with (`mask`, `style`), before the job itself.
    pub async fn put_input(&self, id: &JobId, name: &str, png: Bytes) -> Result<(), StorageError> {
        self.storage
            .put(&job_key(id, &format!("{name}.png")), png)
            .await
    }

    pub async fn input(&self, id: &JobId, name: &str) -> Result<Option<Bytes>, StorageError> {
        self.storage.get(&job_key(id, &format!("{name}.png"))).await
    }

    pub async fn load(&self, id: &JobId) -> Result<Option<Job>, StorageError> {
        self.storage.get_json(&job_key(id, "job.json")).await
    }

    /// Takes attempt `attempt` of the job for `worker`; false when another process has it.
    pub async fn claim(
        &self,
        id: &JobId,
        attempt: u8,
        worker: &WorkerId,
    ) -> Result<bool, StorageError> {
        let claim = Claim {
            worker: worker.clone(),
            at: OffsetDateTime::now_utc(),
        };
        let key = job_key(id, &format!("claim-{attempt}.json"));
        if self.storage.create_json(&key, &claim).await? {
            return Ok(true);
        }
        // A create the client sent again after its first try landed unanswered finds this very
        // claim there, to the nanosecond: it is still won.
        let there: Option<Claim> = self.storage.get_json(&key).await?;
        Ok(there.as_ref() == Some(&claim))
    }

    /// Whether attempt `attempt` has been claimed (a newer claim means an older holder lost
    /// the job and must stop writing it).
    pub async fn is_claimed(&self, id: &JobId, attempt: u8) -> Result<bool, StorageError> {
        self.storage
            .exists(&job_key(id, &format!("claim-{attempt}.json")))
            .await
    }

    pub async fn newest_claim(&self, id: &JobId) -> Result<Option<Claimed>, StorageError> {
        let names = self
            .storage
            .names_under(&Path::from_iter([ROOT, "jobs", id.as_str()]))
            .await?;
        let newest = names
            .iter()
            .filter_map(|n| {
                n.strip_prefix("claim-")?
                    .strip_suffix(".json")?
                    .parse::<u8>()
                    .ok()
            })
            .max();
        let Some(attempt) = newest else {
            return Ok(None);
        };
        let key = job_key(id, &format!("claim-{attempt}.json"));
        Ok(self
            .storage
            .get_json::<Claim>(&key)
            .await?
            .map(|claim| Claimed {
                attempt,
                worker: claim.worker,
            }))
    }

    pub async fn request_cancel(&self, id: &JobId) -> Result<(), StorageError> {
        self.storage
            .create_json(
                &job_key(id, "cancel.json"),
                &OffsetDateTime::now_utc().unix_timestamp(),
            )
            .await
            .map(drop)
    }

    pub async fn cancel_requested(&self, id: &JobId) -> Result<bool, StorageError> {
        self.storage.exists(&job_key(id, "cancel.json")).await
    }

    /// Notes that the owner has seen how the job ended; true the first time.
    pub async fn mark_seen(&self, id: &JobId) -> Result<bool, StorageError> {
        self.storage
            .create_json(&job_key(id, "seen.json"), &true)
            .await
    }

    /// The job has ended: scans no longer look at it.
    /// Every way a job ends comes here. The pictures it came with go first: nothing reads
    /// them once it has ended, and while its queue mark stays, whoever finds it ends it again.
    pub async fn remove_from_queue(&self, job: &Job) -> Result<(), StorageError> {
        // Named by the job itself: no listing, and a generation's end costs nothing here.
        for name in job.work.inputs() {
            let key = job_key(&job.id, &format!("{name}.png"));
            self.storage.delete(&key).await?;
        }
        self.storage.delete(&queue_key(job)).await
    }

    /// Every job that has not ended, in any process, with the process that accepted it.
    pub async fn unfinished(&self) -> Result<Vec<(WorkerId, JobId)>, StorageError> {
        let keys = self
            .storage
            .keys_under(&Path::from_iter([ROOT, "queue"]))
            .await?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let mut parts = key.parts().skip(2);
                let worker = WorkerId::parse(parts.next()?.as_ref())?;
                let job = JobId::parse(parts.next()?.as_ref())?;
                Some((worker, job))
            })
            .collect())
    }

    /// The owner's most recent jobs, newest first.
    pub async fn recent(&self, owner: &OwnerId) -> Result<Vec<JobId>, StorageError> {
        let folder = Path::from_iter([ROOT, "owners", owner.as_str(), "jobs"]);
        let mut ids: Vec<JobId> = self
            .storage
            .names_under(&folder)
            .await?
            .iter()
            .filter_map(|n| JobId::parse(n))
            .collect();
        ids.sort_unstable();
        for old in ids.iter().skip(RECENT_JOBS) {
            self.storage.delete(&owner_key(owner, old)).await?;
        }
        ids.truncate(RECENT_JOBS);
        Ok(ids)
    }

    pub async fn beat(&self, worker: &WorkerId, draining: bool) -> Result<(), StorageError> {
        let beat = Heartbeat {
            at: OffsetDateTime::now_utc(),
            draining,
        };
        self.storage.put_json(&worker_key(worker), &beat).await
    }

    /// A process that exits says so, so its jobs need not wait for its heartbeat to age.
    pub async fn gone(&self, worker: &WorkerId) -> Result<(), StorageError> {
        self.storage.delete(&worker_key(worker)).await
    }

    pub async fn liveness(
        &self,
        worker: &WorkerId,
        lease: time::Duration,
    ) -> Result<Liveness, StorageError> {
        let beat: Option<Heartbeat> = self.storage.get_json(&worker_key(worker)).await?;
        Ok(match beat {
            Some(beat) if OffsetDateTime::now_utc() - beat.at > lease => Liveness::Dead,
            Some(beat) if beat.draining => Liveness::Draining,
            Some(_) => Liveness::Alive,
            None => Liveness::Dead,
        })
    }

    async fn put_empty(&self, key: Path) -> Result<(), StorageError> {
        use object_store::ObjectStoreExt;
        self.storage
            .store
            .put(&key, bytes::Bytes::new().into())
            .await?;
        Ok(())
    }
}

fn job_key(id: &JobId, name: &str) -> Path {
    Path::from_iter([ROOT, "jobs", id.as_str(), name])
}

fn queue_key(job: &Job) -> Path {
    Path::from_iter([ROOT, "queue", job.accepted_by.as_str(), job.id.as_str()])
}

fn owner_key(owner: &OwnerId, id: &JobId) -> Path {
    Path::from_iter([ROOT, "owners", owner.as_str(), "jobs", id.as_str()])
}

fn worker_key(worker: &WorkerId) -> Path {
    Path::from_iter([ROOT, "workers", &format!("{}.json", worker.as_str())])
}
