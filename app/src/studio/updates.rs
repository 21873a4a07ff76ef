//! A job's updates for those who watch it: pushed by this process while it holds the job,
//! looked up in the store while another runs it.

use std::time::Duration;

use futures::Stream;
use tokio::sync::watch;

use super::{Job, JobId, JobStatus, StoreFailed, Studio};
use crate::identity::OwnerId;

/// How often a job run by another process is looked up again for those who watch it.
const POLL_OTHER_PROCESS: Duration = Duration::from_secs(1);

/// A job being watched, for [`Studio::updates`].
struct Watched {
    studio: Studio,
    owner: OwnerId,
    id: JobId,
    /// This process's changes of the job, while it holds it.
    updates: Option<watch::Receiver<Job>>,
    /// What to show next without waiting.
    next: Option<JobStatus>,
    /// The job's end has been shown: nothing follows.
    ended: bool,
}

impl Watched {
    async fn next(mut self) -> Option<(JobStatus, Self)> {
        if self.ended {
            return None;
        }
        let status = match self.next.take() {
            Some(status) => status,
            None => {
                let studio = self.studio.clone();
                tokio::select! {
                    () = studio.stopping() => return None,
                    () = self.changed() => {}
                }
                self.studio.status(&self.owner, &self.id).await.ok()??
            }
        };
        self.ended = status.job.state.is_final();
        Some((status, self))
    }

    /// Waits for a change: pushed by this process, or looked up when another runs the job.
    async fn changed(&mut self) {
        match &mut self.updates {
            Some(receiver) => {
                if receiver.changed().await.is_err() {
                    // The job has ended here: its last state is in the store.
                    self.updates = None;
                }
            }
            None => tokio::time::sleep(POLL_OTHER_PROCESS).await,
        }
    }
}

impl Studio {
    /// The owner's job as it is now, then again each time it may have changed, until it ends
    /// (its end included) or the process starts stopping. A job this process holds is shown
    /// as it changes; one held elsewhere is looked up every [`POLL_OTHER_PROCESS`]. `None`:
    /// the owner has no such job.
    pub async fn updates(
        &self,
        owner: &OwnerId,
        id: &JobId,
    ) -> Result<Option<impl Stream<Item = JobStatus> + Send + use<>>, StoreFailed> {
        let Some(first) = self.status(owner, id).await? else {
            return Ok(None);
        };
        let watched = Watched {
            studio: self.clone(),
            owner: owner.clone(),
            id: id.clone(),
            updates: self
                .local()
                .queue
                .get(id)
                .map(|entry| entry.value.updates.subscribe()),
            next: Some(first),
            ended: false,
        };
        Ok(Some(futures::stream::unfold(watched, Watched::next)))
    }
}
