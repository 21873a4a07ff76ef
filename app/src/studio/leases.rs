//! Leases: a process says it is alive with a heartbeat while it holds jobs, takes over the
//! jobs of processes that stopped or died, and on the way out lets its running jobs finish
//! and hands the rest to others.

use std::{collections::HashMap, sync::atomic::Ordering, time::Duration};

use super::{Job, JobId, Liveness, Studio, WorkerId, run};
use crate::storage::StorageError;

/// How long a run that failed on the store waits before it is taken over again.
const STORAGE_RETRY: Duration = Duration::from_secs(5);

/// This process's heartbeat, as it last wrote it.
#[derive(Debug, Clone, Copy)]
pub(super) enum LastBeat {
    Never,
    At(std::time::Instant),
    /// Removed for good: the process is exiting.
    Gone,
}

impl Studio {
    /// Starts the heartbeat, written while this process holds jobs, and the scan for jobs
    /// whose process stopped or died.
    pub(super) fn keep_leases(&self) {
        let studio = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(studio.inner.settings.lease / 3).await;
                // Only a process holding jobs needs to say it is alive: an idle one costs the
                // store nothing.
                let holding = !studio.local().queue.is_empty();
                if holding && !studio.beat().await {
                    return;
                }
            }
        });
        let studio = self.clone();
        tokio::spawn(async move {
            loop {
                if studio.inner.draining.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = studio.adopt_orphans().await {
                    tracing::warn!(error = %e, "could not scan for jobs to take over");
                }
                tokio::time::sleep(studio.inner.settings.scan_interval).await;
            }
        });
    }

    /// Writes this process's heartbeat; false once the process has said it is gone.
    async fn beat(&self) -> bool {
        let inner = &self.inner;
        let mut last = inner.last_beat.lock().await;
        if let LastBeat::Gone = *last {
            return false;
        }
        let draining = inner.draining.load(Ordering::SeqCst);
        match inner.jobs.beat(&inner.worker, draining).await {
            Ok(()) => *last = LastBeat::At(std::time::Instant::now()),
            Err(e) => tracing::warn!(error = %e, "could not write the heartbeat"),
        }
        true
    }

    /// Makes sure the heartbeat is fresh before this process takes a job, so that no other
    /// process mistakes it for dead after an idle spell.
    pub(super) async fn beat_if_stale(&self) {
        let fresh = {
            let last = self.inner.last_beat.lock().await;
            matches!(*last, LastBeat::At(at) if at.elapsed() < self.inner.settings.lease / 3)
        };
        if !fresh {
            self.beat().await;
        }
    }

    /// Removes the heartbeat for good: what this process still holds is others' to take.
    async fn gone(&self) {
        let mut last = self.inner.last_beat.lock().await;
        *last = LastBeat::Gone;
        if let Err(e) = self.inner.jobs.gone(&self.inner.worker).await {
            tracing::warn!(error = %e, "could not remove the heartbeat");
        }
    }

    /// Stops starting jobs, lets running ones finish for up to `grace`, then tells other
    /// processes that what is left here is theirs to take. Queued jobs stay stored.
    pub async fn drain(&self, grace: Duration) {
        let inner = &self.inner;
        inner.draining.store(true, Ordering::SeqCst);
        // Others take its waiting jobs at once; running ones stay its own while it beats.
        self.beat().await;
        let mut idle = inner.idle.subscribe();
        let finished = tokio::time::timeout(grace, async {
            let _ = idle.wait_for(|running| *running == 0).await;
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                ?grace,
                "jobs were still running when the grace period ran out; another process will run them again"
            );
        }
        self.gone().await;
    }

    /// Looks through every unfinished job for ones whose process is stopping or gone, and takes
    /// them over: queued ones to run once, interrupted ones to run again once at most.
    async fn adopt_orphans(&self) -> Result<(), StorageError> {
        let inner = &self.inner;
        let lease =
            time::Duration::try_from(inner.settings.lease).unwrap_or(time::Duration::MINUTE);
        // One heartbeat read per process per scan, however many jobs it holds.
        let mut known: HashMap<WorkerId, Liveness> = HashMap::new();
        known.insert(inner.worker.clone(), Liveness::Alive);
        for (acceptor, id) in inner.jobs.unfinished().await? {
            if self.local().queue.get(&id).is_some() {
                continue;
            }
            // A live process never loses a job it accepted: it is waiting or running there.
            if self.liveness(&mut known, &acceptor, lease).await? == Liveness::Alive {
                continue;
            }
            let Some(job) = inner.jobs.load(&id).await? else {
                continue;
            };
            if job.state.is_final() {
                run::dequeue_ended(&self.inner.runner, &job).await?;
                continue;
            }
            let claim = inner.jobs.newest_claim(&id).await?;
            // A claim of this process's own for a job it does not hold (checked above) is a
            // run that ended without finishing the job: it is as lost as a dead process's.
            if let Some(claim) = &claim
                && claim.worker != inner.worker
                && self.liveness(&mut known, &claim.worker, lease).await? != Liveness::Dead
            {
                continue;
            }
            self.take_over(job, claim.map_or(0, |c| c.attempt)).await;
        }
        Ok(())
    }

    /// Takes over a job whose last attempt (0: none yet) was lost: runs it, or ends it when it
    /// has been interrupted as often as it may be.
    async fn take_over(&self, job: Job, lost_attempt: u8) {
        let id = job.id.clone();
        if lost_attempt >= run::MAX_ATTEMPTS {
            if let Err(e) = run::give_up(&self.inner.runner, self, job, lost_attempt + 1).await {
                tracing::warn!(job = %id, error = %e, "could not end an interrupted job");
            }
            return;
        }
        tracing::info!(job = %id, attempt = lost_attempt + 1, "taking over a job");
        self.hold(job, lost_attempt + 1);
    }

    /// A run that failed on the store (not a lost claim) is this process's own interruption:
    /// after a pause it is taken over like a dead process's job.
    pub(super) async fn retry_after_storage_failure(&self, id: JobId, attempt: u8) {
        tokio::time::sleep(STORAGE_RETRY).await;
        match self.inner.jobs.load(&id).await {
            Ok(Some(job)) if !job.state.is_final() => self.take_over(job, attempt).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "the store still fails; the next scan will take the job over");
            }
        }
    }

    async fn liveness(
        &self,
        known: &mut HashMap<WorkerId, Liveness>,
        worker: &WorkerId,
        lease: time::Duration,
    ) -> Result<Liveness, StorageError> {
        if let Some(liveness) = known.get(worker) {
            return Ok(*liveness);
        }
        let liveness = self.inner.jobs.liveness(worker, lease).await?;
        known.insert(worker.clone(), liveness);
        Ok(liveness)
    }
}
