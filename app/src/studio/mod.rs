//! The use cases: generate, compare and edit, as jobs that outlive the request that made them. The
//! studio is the only caller of Bedrock, the gallery and the guards; the HTML routes (and,
//! later, a JSON API) call it alike.
//!
//! A job is stored before it is acknowledged, waits in this process's fair line for a free slot
//! of its model, and is run by whichever process wins its claim. See docs/jobs.md.

mod error;
mod job;
mod line;
mod run;
mod store;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::watch;

pub use error::Refusal;
pub use job::{EditWork, Job, JobId, JobState, Picture, Problem, Work, WorkerId};
pub use store::Liveness;

use self::{line::Line, store::JobStore};
use crate::{
    bedrock::Bedrock,
    catalogue::{Catalogue, Operations},
    domain::{EditRequest, GenerationRequest},
    gallery::{Gallery, ImageId, ImageRecord, OwnerId, Recipe},
    guard::{Budget, RateLimit, Spending, UploadQuota, Usd},
    metrics::{Gauges, Metrics},
    models::ModelStatus,
    storage::{Storage, StorageError},
    upload::UploadedPicture,
};

/// How long a run that failed on the store waits before it is taken over again.
const STORAGE_RETRY: Duration = Duration::from_secs(5);

/// How long a cancel waits for a running job of this process to stop, to answer with its end.
const CANCEL_WAIT: Duration = Duration::from_secs(2);

/// How many seen jobs a process remembers; past it, it forgets them all and asks the store again.
const KNOWN_SEEN: usize = 10_000;

/// How jobs are queued and run.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Jobs of one model that one process runs at once.
    pub concurrency: usize,
    /// Jobs making large pictures that one process runs at once, whatever their model.
    pub large_picture_jobs: usize,
    /// Jobs of one model that may wait in one process before new ones are refused.
    pub queue_length: usize,
    /// Jobs one browser may have queued or running at once.
    pub per_browser: usize,
    /// How long a silent process keeps its claims before another takes its jobs over.
    pub lease: Duration,
    /// How often the store is scanned for jobs whose process stopped or died.
    pub scan_interval: Duration,
    /// How long a throttled job keeps trying before it fails.
    pub throttle_patience: Duration,
    /// How long the answer that accepted jobs waits for them to end, when their model's calls
    /// have lately taken less: an instant model's pictures then come with the answer, with no
    /// stream to open for them. Other jobs are answered with their cards at once.
    pub quick_answer: Duration,
}

/// The parts a studio is made of.
pub struct Parts {
    pub catalogue: Catalogue,
    pub operations: Operations,
    pub models: ModelStatus,
    pub bedrock: Bedrock,
    pub gallery: Gallery,
    pub storage: Storage,
    pub budget: Budget,
    pub rate_limit: RateLimit,
    pub upload_quota: UploadQuota,
    pub metrics: Metrics,
    pub settings: JobSettings,
}

/// Handle to the studio; cheap to clone.
#[derive(Clone)]
pub struct Studio {
    inner: Arc<Inner>,
}

struct Inner {
    catalogue: Catalogue,
    operations: Operations,
    models: ModelStatus,
    bedrock: Bedrock,
    gallery: Gallery,
    jobs: JobStore,
    budget: Budget,
    rate_limit: RateLimit,
    upload_quota: UploadQuota,
    metrics: Metrics,
    settings: JobSettings,
    worker: WorkerId,
    draining: AtomicBool,
    local: Mutex<Local>,
    /// Running jobs: the drain waits for none.
    idle: watch::Sender<usize>,
    /// Set when the process starts stopping: live pages are told to reconnect elsewhere.
    stopping: watch::Sender<bool>,
    last_beat: tokio::sync::Mutex<LastBeat>,
}

/// This process's heartbeat, as it last wrote it.
#[derive(Debug, Clone, Copy)]
enum LastBeat {
    Never,
    At(std::time::Instant),
    /// Removed for good: the process is exiting.
    Gone,
}

/// What this process holds: jobs waiting in its lines and jobs it runs.
#[derive(Default)]
struct Local {
    lines: HashMap<String, Line>,
    running: HashMap<String, usize>,
    held: HashMap<JobId, Held>,
    /// Recent seconds per model call, per model, for wait estimates.
    call_secs: HashMap<String, f64>,
    /// Requests past the checks whose jobs are not in a line yet, per model and per browser.
    admitting: HashMap<String, usize>,
    admitting_owners: HashMap<OwnerId, usize>,
    /// Ended jobs known to have been seen, so a page load asks the store only about the rest.
    known_seen: HashSet<JobId>,
}

/// What a job is asked to make, before it is accepted.
struct Asked {
    work: Work,
    model_id: String,
    model_name: String,
    count: u8,
    price: Usd,
    group: Option<JobId>,
    note: Option<String>,
    /// Pictures stored with the job, by name.
    inputs: Vec<(&'static str, Bytes)>,
}

/// The names an edit's mask and style picture are stored under, beside its job.
const MASK: &str = "mask";
const STYLE: &str = "style";

/// A request counted against the bounds while it is being accepted.
struct Admission<'a> {
    studio: &'a Studio,
    owner: OwnerId,
    model: String,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut local = self.studio.local();
        if let Some(n) = local.admitting.get_mut(&self.model) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = local.admitting_owners.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                local.admitting_owners.remove(&self.owner);
            }
        }
    }
}

struct Held {
    owner: OwnerId,
    model: String,
    attempt: u8,
    running: bool,
    updates: watch::Sender<Job>,
    cancel: watch::Sender<bool>,
}

/// A job as a browser sees it: with its place in line when this process holds it.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub job: Job,
    pub ahead: Option<usize>,
    pub sighting: Sighting,
}

/// Whether the browser has seen the job end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Shown as it is: still going, or ending as it is watched.
    Live,
    /// It ended while the browser was away, and this is the first time it is shown.
    EndedWhileAway,
    /// It ended and was shown ending: its pictures are in the gallery.
    SeenBefore,
}

impl Studio {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            catalogue,
            operations,
            models,
            bedrock,
            gallery,
            storage,
            budget,
            rate_limit,
            upload_quota,
            metrics,
            settings,
        } = parts;
        Self {
            inner: Arc::new(Inner {
                catalogue,
                operations,
                models,
                bedrock,
                gallery,
                jobs: JobStore::new(storage.clone()),
                budget,
                rate_limit,
                upload_quota,
                metrics,
                settings,
                worker: WorkerId::new_random(),
                draining: AtomicBool::new(false),
                local: Mutex::default(),
                idle: watch::Sender::new(0),
                stopping: watch::Sender::new(false),
                last_beat: tokio::sync::Mutex::new(LastBeat::Never),
            }),
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// Accepts `request` as a job of `owner`'s, or says why not. Once this returns the job is
    /// stored and its highest cost is held against both budgets.
    pub async fn submit(
        &self,
        owner: &OwnerId,
        request: &GenerationRequest,
        group: Option<JobId>,
        note: Option<String>,
    ) -> Result<Job, Refusal> {
        let model = &request.model;
        let asked = Asked {
            work: Work::Generate(request.to_form()),
            model_id: model.id.clone(),
            model_name: model.name.clone(),
            count: request.count.get(),
            price: Usd::from_dollars(model.price_per_image),
            group,
            note,
            inputs: Vec::new(),
        };
        tracing::debug!(prompt = %request.prompt, "prompt");
        self.accept(owner, asked).await
    }

    /// Accepts an edit of `owner`'s picture `source` as a job: the same queue, budget and
    /// guarantees as a generation. Its mask or style picture is stored with the job.
    pub async fn submit_edit(
        &self,
        owner: &OwnerId,
        source: &ImageId,
        request: &EditRequest,
    ) -> Result<Job, Refusal> {
        let spec = request.spec();
        let operation = request.operation();
        let mut inputs = Vec::new();
        if let Some(mask) = operation.mask() {
            inputs.push((MASK, Bytes::from(mask.png())));
        }
        if let Some(style) = operation.style() {
            inputs.push((STYLE, Bytes::copy_from_slice(style.png())));
        }
        let asked = Asked {
            work: Work::Edit(EditWork {
                source: source.clone(),
                form: request.to_form(),
                operation_name: spec.name.clone(),
                has_mask: operation.mask().is_some(),
                has_style: operation.style().is_some(),
            }),
            model_id: spec.model_id.clone(),
            model_name: spec.name.clone(),
            count: 1,
            price: Usd::from_dollars(spec.price_per_image),
            group: None,
            note: None,
            inputs,
        };
        self.accept(owner, asked).await
    }

    /// Whether `owner` may start a job or an upload now, without counting one: asked before a
    /// picture is read.
    pub fn has_room(&self, owner: &OwnerId) -> Result<(), Refusal> {
        let room = self.inner.rate_limit.has_room(owner.as_str());
        room.map_err(|_| Refusal::RateLimited)
    }

    /// Keeps `picture` in `owner`'s gallery as an upload of their own, to edit. It counts
    /// against the same per-browser rate as a job, since it takes the same storage.
    pub async fn upload(
        &self,
        owner: &OwnerId,
        picture: UploadedPicture,
    ) -> Result<ImageRecord, Refusal> {
        if self.inner.rate_limit.check(owner.as_str()).is_err() {
            return Err(Refusal::RateLimited);
        }
        let recipe = Recipe::uploaded(picture.width(), picture.height(), OffsetDateTime::now_utc());
        let png = Bytes::from(picture.into_png());
        let kept = self.inner.gallery.bytes_kept(owner).await?;
        self.inner.upload_quota.check(kept, png.len() as u64)?;
        Ok(self.inner.gallery.save(owner, recipe, png).await?)
    }

    async fn accept(&self, owner: &OwnerId, asked: Asked) -> Result<Job, Refusal> {
        let inner = &self.inner;
        if inner.draining.load(Ordering::SeqCst) {
            return Err(Refusal::ShuttingDown);
        }
        if inner.rate_limit.check(owner.as_str()).is_err() {
            return Err(Refusal::RateLimited);
        }
        // Counted from here until the job is in the line, so requests arriving together cannot
        // all pass the checks before any of them is counted.
        let _admission = self.admit(owner, &asked.model_id, &asked.model_name)?;
        let now = OffsetDateTime::now_utc();
        let id = JobId::new(now);
        let highest = asked.price.times(u64::from(asked.count));
        let reservation = inner
            .budget
            .reserve(owner, id.as_str(), highest, now)
            .await?;
        let job = Job {
            group: asked.group,
            id,
            owner: owner.clone(),
            work: asked.work,
            model_id: asked.model_id,
            model_name: asked.model_name,
            count: asked.count,
            note: asked.note,
            state: JobState::Queued,
            accepted_by: inner.worker.clone(),
            attempt: 0,
            created_at: now,
            started_at: None,
            finished_at: None,
            pictures: Vec::new(),
            calls_done: Vec::new(),
            problems: Vec::new(),
            retrying: false,
            reservation,
            cost: None,
            price_per_image: asked.price,
        };
        self.beat_if_stale().await;
        let stored = async {
            // The pictures first: a stored job can always find what it runs on.
            for (name, png) in asked.inputs {
                inner.jobs.put_input(&job.id, name, png).await?;
            }
            inner.jobs.insert(&job).await
        };
        if let Err(e) = stored.await {
            // Not acknowledged, so not accepted: give the money back.
            let _ = inner
                .budget
                .settle(owner, &job.reservation, Usd::ZERO)
                .await;
            return Err(e.into());
        }
        tracing::info!(job = %job.id, model = %job.model_id, count = job.count, "job accepted");
        self.hold(job.clone(), 1);
        Ok(job)
    }

    /// Checks the per-browser and per-model bounds, counting the request as admitted.
    fn admit(
        &self,
        owner: &OwnerId,
        model_id: &str,
        model_name: &str,
    ) -> Result<Admission<'_>, Refusal> {
        let settings = &self.inner.settings;
        let mut local = self.local();
        let active = local.held.values().filter(|h| h.owner == *owner).count()
            + local.admitting_owners.get(owner).copied().unwrap_or(0);
        if active >= settings.per_browser {
            return Err(Refusal::TooManyJobs {
                limit: settings.per_browser,
            });
        }
        let waiting = local.lines.get(model_id).map_or(0, Line::len)
            + local.admitting.get(model_id).copied().unwrap_or(0);
        let running = local.running.get(model_id).copied().unwrap_or(0);
        if running + waiting >= settings.concurrency + settings.queue_length {
            let per_call = local.call_secs.get(model_id).copied().unwrap_or(10.0);
            let rounds = (waiting + 1) as f64 / settings.concurrency as f64;
            return Err(Refusal::QueueFull {
                model: model_name.to_owned(),
                waiting,
                wait_secs: (rounds * per_call).ceil() as u64,
            });
        }
        *local.admitting.entry(model_id.to_owned()).or_default() += 1;
        *local.admitting_owners.entry(owner.clone()).or_default() += 1;
        Ok(Admission {
            studio: self,
            owner: owner.clone(),
            model: model_id.to_owned(),
        })
    }

    /// The job, if it is `owner`'s.
    pub async fn status(
        &self,
        owner: &OwnerId,
        id: &JobId,
    ) -> Result<Option<JobStatus>, StorageError> {
        let job = match self.local_copy(id) {
            Some(job) => job,
            None => match self.inner.jobs.load(id).await? {
                Some(job) => job,
                None => return Ok(None),
            },
        };
        if job.owner != *owner {
            return Ok(None);
        }
        Ok(Some(JobStatus {
            ahead: self.ahead_of(&job),
            job,
            sighting: Sighting::Live,
        }))
    }

    /// Notes that the owner has now seen how the job ended.
    pub async fn seen(&self, job: &Job) -> Result<(), StorageError> {
        if job.state.is_final() {
            self.first_sight(&job.id).await?;
        }
        Ok(())
    }

    /// Whether the owner sees how this ended job ended for the first time.
    async fn first_sight(&self, id: &JobId) -> Result<bool, StorageError> {
        if self.local().known_seen.contains(id) {
            return Ok(false);
        }
        let first = self.inner.jobs.mark_seen(id).await?;
        let mut local = self.local();
        if local.known_seen.len() >= KNOWN_SEEN {
            local.known_seen.clear();
        }
        local.known_seen.insert(id.clone());
        Ok(first)
    }

    /// The owner's jobs worth listing: every one still going, and those that ended in the last
    /// hour (their pictures are in the gallery anyway). One that ended unseen says so, once.
    pub async fn recent(&self, owner: &OwnerId) -> Result<Vec<JobStatus>, StorageError> {
        let ids = self.inner.jobs.recent(owner).await?;
        let recently = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let mut listed = Vec::new();
        for id in ids {
            let Some(status) = self.status(owner, &id).await? else {
                continue;
            };
            if status.job.state.is_final() && status.job.finished_at.is_some_and(|t| t < recently) {
                continue;
            }
            let sighting = match status.job.state.is_final() {
                false => Sighting::Live,
                true if self.first_sight(&id).await? => Sighting::EndedWhileAway,
                true => Sighting::SeenBefore,
            };
            listed.push(JobStatus { sighting, ..status });
        }
        Ok(listed)
    }

    /// Updates of a job this process holds: each change as it happens, until it ends.
    pub fn watch(&self, id: &JobId) -> Option<watch::Receiver<Job>> {
        self.local().held.get(id).map(|h| h.updates.subscribe())
    }

    /// Waits, for at most [`JobSettings::quick_answer`], for the jobs to end, when this process
    /// holds each of them and its model's calls have lately taken less than that. Returns the
    /// jobs it saw end, as they were stored.
    pub async fn quick_end(&self, ids: &[JobId]) -> Vec<Job> {
        let wait = self.inner.settings.quick_answer;
        let mut updates = Vec::new();
        {
            let local = self.local();
            for id in ids {
                // A queued one counts too: the slot it waits for may be freed by a job that
                // has just ended.
                let Some(held) = local.held.get(id) else {
                    return Vec::new();
                };
                let quick = local
                    .call_secs
                    .get(&held.model)
                    .is_some_and(|secs| *secs < wait.as_secs_f64());
                if !quick {
                    return Vec::new();
                }
                updates.push(held.updates.subscribe());
            }
        }
        // A closed channel still holds the last job sent: an ended job is sent before its
        // channel closes.
        let ended = futures::future::join_all(
            updates
                .iter_mut()
                .map(|u| async move { drop(u.wait_for(|job| job.state.is_final()).await) }),
        );
        let _ = tokio::time::timeout(wait, ended).await;
        updates
            .iter()
            .map(|u| u.borrow().clone())
            .filter(|job| job.state.is_final())
            .collect()
    }

    /// Cancels the owner's job. A queued job ends at once and costs nothing; a running one
    /// stops waiting for its calls and keeps the pictures already made.
    pub async fn cancel(&self, owner: &OwnerId, id: &JobId) -> Result<Option<Job>, StorageError> {
        let inner = &self.inner;
        let Some(status) = self.status(owner, id).await? else {
            return Ok(None);
        };
        let job = status.job;
        if job.state.is_final() {
            return Ok(Some(job));
        }
        // Nobody has started it if we win its first claim: then it never runs anywhere.
        {
            let mut local = self.local();
            if let Some(held) = local.held.get(id).filter(|h| !h.running) {
                let model = held.model.clone();
                if let Some(line) = local.lines.get_mut(&model) {
                    line.remove(owner, id);
                }
            }
        }
        // Marked first, so that whoever ends up running it (even a re-run after a crash of
        // ours below) sees the cancel.
        inner.jobs.request_cancel(id).await?;
        if inner.jobs.claim(id, 1, &inner.worker).await? {
            // Until a claim exists only its acceptor has written it, once: `job` is current.
            let mut job = job;
            job.state = JobState::Cancelled;
            job.finished_at = Some(OffsetDateTime::now_utc());
            job.cost = Some(Usd::ZERO);
            inner
                .budget
                .settle(owner, &job.reservation, Usd::ZERO)
                .await?;
            inner.jobs.save(&job).await?;
            inner.jobs.remove_from_queue(&job).await?;
            self.publish(&job);
            self.release(id);
            inner.metrics.job_ended(job.state.as_str());
            return Ok(Some(job));
        }
        let updates = self.local().held.get(id).map(|held| {
            held.cancel.send_replace(true);
            held.updates.subscribe()
        });
        // Run here, it stops at once: answer with how it ended.
        if let Some(mut updates) = updates {
            let _ = tokio::time::timeout(CANCEL_WAIT, async {
                let _ = updates.wait_for(|j| j.state.is_final()).await;
            })
            .await;
        }
        match self.local_copy(id) {
            Some(job) => Ok(Some(job)),
            None => Ok(inner.jobs.load(id).await?.or(Some(job))),
        }
    }

    /// What this browser has spent and holds today.
    pub async fn spent_today(&self, owner: &OwnerId) -> Result<Spending, StorageError> {
        self.inner
            .budget
            .today(owner, OffsetDateTime::now_utc())
            .await
    }

    /// Starts the background work: the heartbeat and the scan for jobs no process runs.
    pub fn start(&self) {
        let studio = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(studio.inner.settings.lease / 3).await;
                // Only a process holding jobs needs to say it is alive: an idle one costs the
                // store nothing.
                let holding = !studio.local().held.is_empty();
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
    async fn beat_if_stale(&self) {
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

    /// Ends every live update stream, so browsers reconnect to a process that stays.
    pub fn stop_streams(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once the process has started stopping.
    pub async fn stopping(&self) {
        let mut stopping = self.inner.stopping.subscribe();
        let _ = stopping.wait_for(|s| *s).await;
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

    /// Gauges for the metrics page.
    pub async fn gauges(&self) -> Gauges {
        let mut gauges = Gauges::default();
        {
            let local = self.local();
            for held in local.held.values() {
                let state = if held.running { "running" } else { "queued" };
                *gauges.jobs.entry((held.model.clone(), state)).or_default() += 1;
            }
            for (model, line) in &local.lines {
                gauges.queue_depth.insert(model.clone(), line.len());
            }
        }
        let caps = self.inner.budget.caps();
        if let Ok(month) = self
            .inner
            .budget
            .this_month(OffsetDateTime::now_utc())
            .await
        {
            gauges.spend.push((
                "monthly",
                month.committed.dollars(),
                caps.monthly.map(Usd::dollars),
            ));
        }
        gauges
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
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
            if self.local().held.contains_key(&id) {
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
                run::dequeue_ended(self, &job).await?;
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
            if let Err(e) = run::give_up(self, job, lost_attempt + 1).await {
                tracing::warn!(job = %id, error = %e, "could not end an interrupted job");
            }
            return;
        }
        tracing::info!(job = %id, attempt = lost_attempt + 1, "taking over a job");
        self.hold(job, lost_attempt + 1);
    }

    /// A run that failed on the store (not a lost claim) is this process's own interruption:
    /// after a pause it is taken over like a dead process's job.
    async fn retry_after_storage_failure(&self, id: JobId, attempt: u8) {
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

    /// Puts a stored job in this process's line for its model, unless it is already here.
    fn hold(&self, job: Job, attempt: u8) {
        {
            let mut local = self.local();
            if local.held.contains_key(&job.id) {
                return;
            }
            let held = Held {
                owner: job.owner.clone(),
                model: job.model_id.clone(),
                attempt,
                running: false,
                updates: watch::Sender::new(job.clone()),
                cancel: watch::Sender::new(false),
            };
            local.held.insert(job.id.clone(), held);
            local
                .lines
                .entry(job.model_id.clone())
                .or_default()
                .push(job.owner, job.id);
        }
        self.pump();
    }

    /// Starts waiting jobs while their model has free slots.
    fn pump(&self) {
        if self.inner.draining.load(Ordering::SeqCst) {
            return;
        }
        let settings = &self.inner.settings;
        let large = |model: &str| self.inner.operations.makes_large_pictures(model);
        let mut starts = Vec::new();
        {
            let mut local = self.local();
            let local = &mut *local;
            let mut large_running: usize = local
                .running
                .iter()
                .filter(|(model, _)| large(model))
                .map(|(_, n)| n)
                .sum();
            for (model, line) in &mut local.lines {
                let running = local.running.entry(model.clone()).or_default();
                let before = line.len();
                let is_large = large(model);
                while *running < settings.concurrency
                    && (!is_large || large_running < settings.large_picture_jobs)
                {
                    let Some(id) = line.pop() else { break };
                    let Some(held) = local.held.get_mut(&id) else {
                        continue;
                    };
                    held.running = true;
                    *running += 1;
                    large_running += usize::from(is_large);
                    starts.push((id, held.attempt, held.cancel.subscribe()));
                }
                if line.len() != before {
                    // Everyone still waiting moved up: their cards show it.
                    for held in local
                        .held
                        .values()
                        .filter(|h| h.model == *model && !h.running)
                    {
                        held.updates.send_modify(|_| ());
                    }
                }
            }
            let running = local.running.values().sum();
            self.inner.idle.send_replace(running);
        }
        for (id, attempt, cancel) in starts {
            let studio = self.clone();
            tokio::spawn(async move {
                let ran = run::run(&studio, &id, attempt, cancel).await;
                studio.finished(&id);
                match ran {
                    Ok(()) => {}
                    Err(run::RunError::TakenOver) => {
                        tracing::warn!(job = %id, "another process took this job over");
                    }
                    Err(e @ (run::RunError::Storage(_) | run::RunError::Gallery(_))) => {
                        tracing::error!(job = %id, error = %e, "the store failed while running a job; it will be run again");
                        studio.retry_after_storage_failure(id, attempt).await;
                    }
                }
            });
        }
    }

    /// A running job has ended here (or was lost to another process).
    fn finished(&self, id: &JobId) {
        {
            let mut local = self.local();
            if let Some(held) = local.held.remove(id)
                && let Some(running) = local.running.get_mut(&held.model)
            {
                *running = running.saturating_sub(1);
            }
            let running = local.running.values().sum();
            self.inner.idle.send_replace(running);
        }
        self.pump();
    }

    /// Forgets a job that will not run here.
    fn release(&self, id: &JobId) {
        let mut local = self.local();
        if let Some(held) = local.held.get(id).filter(|h| !h.running) {
            let (owner, model) = (held.owner.clone(), held.model.clone());
            if let Some(line) = local.lines.get_mut(&model) {
                line.remove(&owner, id);
            }
            local.held.remove(id);
        }
    }

    /// Shows a change of a job to whoever watches it here.
    fn publish(&self, job: &Job) {
        if let Some(held) = self.local().held.get(&job.id) {
            held.updates.send_replace(job.clone());
        }
    }

    fn local_copy(&self, id: &JobId) -> Option<Job> {
        self.local()
            .held
            .get(id)
            .map(|h| h.updates.borrow().clone())
    }

    fn ahead_of(&self, job: &Job) -> Option<usize> {
        if job.state != JobState::Queued {
            return None;
        }
        let local = self.local();
        local
            .lines
            .get(&job.model_id)?
            .ahead_of(&job.owner, &job.id)
    }

    fn record_call_time(&self, model: &str, secs: f64) {
        let mut local = self.local();
        let average = local.call_secs.entry(model.to_owned()).or_insert(secs);
        *average = *average * 0.8 + secs * 0.2;
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        self.inner.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
