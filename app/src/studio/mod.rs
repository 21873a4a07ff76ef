//! The use cases: generate, compare and edit, as jobs that outlive the request that made them,
//! and the owner's pictures. The studio is the only caller of Bedrock, the gallery, the guards,
//! the store and the live model list; the HTML routes (and, later, a JSON API) call it alike. It also
//! keeps the links that share a picture with anyone who holds one.
//!
//! A job is stored before it is acknowledged, waits in this process's fair line for a free slot
//! of its model, and is run by whichever process wins its claim. See docs/jobs.md.

mod adopt;
mod error;
mod job;
mod leases;
mod line;
mod operator;
mod people;
mod pictures;
mod queue;
mod run;
pub mod sentences;
mod sharing;
mod store;
mod updates;

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::watch;

pub use adopt::Adopted;
pub use error::{Refusal, StoreFailed};
pub use job::{EditWork, Job, JobId, JobState, Picture, Problem, Work, WorkerId};
pub use operator::{ModelLoad, OperatorView, PersonSpend};
pub use pictures::{EditSource, Lineage};
pub use sharing::{Closed, Expiry, NewShare, Share, ShareId, ShareLink, Shared};
pub use store::Liveness;
// The values the studio's answers are made of.
pub use crate::{
    availability::ModelState,
    gallery::{GalleryPage, ImageId, ImageRecord, Origin, Recipe},
    guard::{Caps, Spending, Standing, Usd},
};

use self::{leases::LastBeat, people::People, queue::Queue, run::Report, store::JobStore};
use crate::{
    availability::ModelStatus,
    bedrock::{Bedrock, ControlPlane},
    catalogue::{Catalogue, Operations},
    domain::{EditRequest, GenerationRequest},
    gallery::Gallery,
    guard::{BodySlot, BodySlots, Budget, RateLimit, UploadQuota},
    identity::OwnerId,
    metrics::{Gauges, Metrics},
    storage::{Reachability, Storage, StorageError},
    upload::UploadedPicture,
};

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
    /// Asked which models are live at start, then every `model_check_interval` (zero: only at
    /// start).
    pub control_plane: ControlPlane,
    pub model_check_interval: Duration,
    /// Where models are called unless the catalogue names another region.
    pub bedrock_region: String,
    pub bedrock: Bedrock,
    pub gallery: Gallery,
    pub storage: Storage,
    /// The store's last background check, for readiness probes.
    pub reachability: Reachability,
    pub budget: Budget,
    pub rate_limit: RateLimit,
    pub upload_quota: UploadQuota,
    /// How many picture-sized request bodies are read and decoded at once.
    pub body_slots: BodySlots,
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
    control_plane: ControlPlane,
    model_check_interval: Duration,
    bedrock_region: String,
    runner: run::Runner,
    gallery: Gallery,
    storage: Storage,
    reachability: Reachability,
    jobs: JobStore,
    budget: Budget,
    people: People,
    rate_limit: RateLimit,
    upload_quota: UploadQuota,
    body_slots: BodySlots,
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

/// What this process holds: jobs waiting in its lines and jobs it runs.
#[derive(Default)]
struct Local {
    queue: Queue<Held>,
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

/// A request counted against the bounds while it is being accepted.
struct Admission<'a> {
    studio: &'a Studio,
    owner: OwnerId,
    model: String,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.studio.local().queue.admitted(&self.owner, &self.model);
    }
}

/// What the studio keeps with a job it holds: who watches it, and its cancel switch.
struct Held {
    updates: watch::Sender<Job>,
    cancel: watch::Sender<bool>,
}

/// A request on a model the live list knows to be gone: which one (0: the first), and why.
#[derive(Debug)]
pub struct Unusable {
    pub index: usize,
    pub message: String,
}

/// The recipe Easel embedded in one of its own pictures, if its text chunks carry one.
pub fn recipe_in(text: &[(String, String)]) -> Option<Recipe> {
    Recipe::from_png_text(text)
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

impl Report for Studio {
    /// Shows a change of a job to whoever watches it here.
    fn show(&self, job: &Job) {
        if let Some(entry) = self.local().queue.get(&job.id) {
            entry.value.updates.send_replace(job.clone());
        }
    }

    fn call_took(&self, model: &str, secs: f64) {
        self.local().queue.record_call_time(model, secs);
    }
}

impl Studio {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            catalogue,
            operations,
            models,
            control_plane,
            model_check_interval,
            bedrock_region,
            bedrock,
            gallery,
            storage,
            reachability,
            budget,
            rate_limit,
            upload_quota,
            body_slots,
            metrics,
            settings,
        } = parts;
        let jobs = JobStore::new(storage.clone());
        let people = People::new(storage.clone());
        let worker = WorkerId::new_random();
        let runner = run::Runner {
            jobs: jobs.clone(),
            worker: worker.clone(),
            bedrock,
            gallery: gallery.clone(),
            budget: budget.clone(),
            models: models.clone(),
            metrics: metrics.clone(),
            catalogue: catalogue.clone(),
            operations: operations.clone(),
            throttle_patience: settings.throttle_patience,
        };
        Self {
            inner: Arc::new(Inner {
                catalogue,
                operations,
                models,
                control_plane,
                model_check_interval,
                bedrock_region,
                runner,
                gallery,
                storage,
                reachability,
                jobs,
                budget,
                people,
                rate_limit,
                upload_quota,
                body_slots,
                metrics,
                settings,
                worker,
                draining: AtomicBool::new(false),
                local: Mutex::default(),
                idle: watch::Sender::new(0),
                stopping: watch::Sender::new(false),
                last_beat: tokio::sync::Mutex::new(LastBeat::Never),
            }),
        }
    }

    /// The models offered, with their rules and prices.
    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    /// The edit operations offered.
    pub fn operations(&self) -> &Operations {
        &self.inner.operations
    }

    /// Whether Bedrock serves the model right now, as far as Easel knows.
    pub fn model_state(&self, model_id: &str) -> ModelState {
        self.inner.models.availability(model_id)
    }

    /// The model to preselect: the best one Bedrock serves.
    pub fn preferred_model(&self) -> &str {
        self.inner.models.preferred()
    }

    /// Why the live model list could not be checked, if it could not.
    pub fn model_check_failure(&self) -> Option<String> {
        self.inner.models.check_failure()
    }

    /// Resolves once the live model list has first been checked, or the wait for it is over.
    pub async fn first_model_check(&self) {
        self.inner.models.first_check().await;
    }

    /// The region a model (by default) or an edit is called in.
    pub fn bedrock_region(&self) -> &str {
        &self.inner.bedrock_region
    }

    /// Whether the store answered its last background check; asks the store nothing.
    pub async fn store_answers(&self) -> Result<(), String> {
        self.inner.reachability.last().await
    }

    /// The longest a started job of `count` pictures runs: every call up to its timeout, and
    /// throttling up to its patience. Past that it has ended, one way or another.
    pub fn longest_run(&self, count: u8) -> Duration {
        let runner = &self.inner.runner;
        runner.bedrock.call_timeout() * u32::from(count) + runner.throttle_patience
    }

    /// The daily and monthly caps.
    pub fn caps(&self) -> Caps {
        self.inner.budget.caps()
    }

    /// Accepts a generation, and the same request on each model to compare with, as jobs of
    /// `owner`'s: one answer per request, the first accepted job grouping the others. Nothing
    /// is accepted when a model is one the live list knows to be gone.
    pub async fn submit(
        &self,
        owner: &OwnerId,
        requests: Vec<(GenerationRequest, Option<String>)>,
    ) -> Result<Vec<Result<Job, Refusal>>, Unusable> {
        for (index, (request, _)) in requests.iter().enumerate() {
            self.usable(request)
                .map_err(|message| Unusable { index, message })?;
        }
        let mut answers = Vec::new();
        let mut group = None;
        for (request, note) in requests {
            let answer = self.submit_one(owner, &request, group.clone(), note).await;
            if let Ok(job) = &answer {
                group.get_or_insert_with(|| job.id.clone());
            }
            answers.push(answer);
        }
        Ok(answers)
    }

    /// The sentence that says why a model cannot be used, if it cannot.
    fn usable(&self, request: &GenerationRequest) -> Result<(), String> {
        let model = &request.model;
        let state = self.model_state(&model.id);
        if state.is_usable() {
            return Ok(());
        }
        let reason = state
            .note(model.region(self.bedrock_region()))
            .unwrap_or_default();
        let instead = self
            .catalogue()
            .get(self.preferred_model())
            .map(|m| m.name.as_str());
        Err(sentences::unusable(&model.name, &reason, instead))
    }

    /// Accepts `request` as a job of `owner`'s, or says why not. Once this returns the job is
    /// stored and its highest cost is held against both budgets.
    async fn submit_one(
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
            inputs.push((job::MASK, Bytes::from(mask.png())));
        }
        if let Some(style) = operation.style() {
            inputs.push((job::STYLE, Bytes::copy_from_slice(style.png())));
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

    /// Lets one picture-sized request body be read, before any of it is: refused while its
    /// sender (when known) is over their rate, without counting one, or while as many
    /// pictures as this process reads at once are being read. Hold the slot while the body
    /// is read and used.
    pub fn admit_picture(&self, owner: Option<&OwnerId>) -> Result<BodySlot, Refusal> {
        if let Some(owner) = owner {
            let room = self.inner.rate_limit.has_room(owner.as_str());
            room.map_err(|_| Refusal::RateLimited)?;
        }
        self.inner
            .body_slots
            .take()
            .map_err(|_| Refusal::ReadingPictures)
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
        self.local()
            .queue
            .admit(owner, model_id, model_name, &self.inner.settings)?;
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
    ) -> Result<Option<JobStatus>, StoreFailed> {
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
    pub async fn seen(&self, job: &Job) -> Result<(), StoreFailed> {
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
    pub async fn recent(&self, owner: &OwnerId) -> Result<Vec<JobStatus>, StoreFailed> {
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
                let Some(entry) = local.queue.get(id) else {
                    return Vec::new();
                };
                let quick = local
                    .queue
                    .call_secs(&entry.model)
                    .is_some_and(|secs| secs < wait.as_secs_f64());
                if !quick {
                    return Vec::new();
                }
                updates.push(entry.value.updates.subscribe());
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
    pub async fn cancel(&self, owner: &OwnerId, id: &JobId) -> Result<Option<Job>, StoreFailed> {
        let inner = &self.inner;
        let Some(status) = self.status(owner, id).await? else {
            return Ok(None);
        };
        let job = status.job;
        if job.state.is_final() {
            return Ok(Some(job));
        }
        // Nobody has started it if we win its first claim: then it never runs anywhere.
        self.local().queue.leave_line(id);
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
            self.show(&job);
            self.release(id);
            inner.metrics.job_ended(job.state.as_str());
            return Ok(Some(job));
        }
        let updates = self.local().queue.get(id).map(|entry| {
            entry.value.cancel.send_replace(true);
            entry.value.updates.subscribe()
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
    pub async fn spent_today(&self, owner: &OwnerId) -> Result<Spending, StoreFailed> {
        Ok(self
            .inner
            .budget
            .today(owner, OffsetDateTime::now_utc())
            .await?)
    }

    /// Where this owner stands against the caps today and this month.
    pub async fn standing(&self, owner: &OwnerId) -> Result<Standing, StoreFailed> {
        Ok(self
            .inner
            .budget
            .standing(owner, OffsetDateTime::now_utc())
            .await?)
    }

    /// Starts the background work: the check of which models are live, the heartbeat and the
    /// scan for jobs no process runs.
    pub fn start(&self) {
        let studio = self.clone();
        tokio::spawn(async move { studio.keep_model_list_fresh().await });
        self.keep_leases();
    }

    /// Checks the live model list now, then every `model_check_interval` (zero: only now).
    async fn keep_model_list_fresh(&self) {
        let inner = &self.inner;
        let refresh = || async {
            let fresh = inner
                .control_plane
                .check(&inner.catalogue, &inner.models.known())
                .await;
            inner.models.update(fresh);
        };
        refresh().await;
        if inner.model_check_interval.is_zero() {
            return;
        }
        let mut ticks = tokio::time::interval(inner.model_check_interval);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            refresh().await;
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

    /// Gauges for the metrics page.
    pub async fn gauges(&self) -> Gauges {
        let mut gauges = self.held_gauges();
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

    /// The jobs this process holds, by model and state, and how many wait per model.
    fn held_gauges(&self) -> Gauges {
        let mut gauges = Gauges::default();
        let local = self.local();
        for entry in local.queue.entries() {
            let state = if entry.running { "running" } else { "queued" };
            *gauges.jobs.entry((entry.model.clone(), state)).or_default() += 1;
        }
        for (model, waiting) in local.queue.waiting() {
            gauges.queue_depth.insert(model.to_owned(), waiting);
        }
        gauges
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Puts a stored job in this process's line for its model, unless it is already here.
    fn hold(&self, job: Job, attempt: u8) {
        let held = Held {
            updates: watch::Sender::new(job.clone()),
            cancel: watch::Sender::new(false),
        };
        self.local()
            .queue
            .hold(job.id, job.owner, job.model_id, attempt, held);
        self.pump();
    }

    /// Starts waiting jobs while their model has free slots.
    fn pump(&self) {
        if self.inner.draining.load(Ordering::SeqCst) {
            return;
        }
        let operations = &self.inner.operations;
        let mut starts = Vec::new();
        {
            let mut local = self.local();
            let pumped = local.queue.pump(&self.inner.settings, |model| {
                operations.makes_large_pictures(model)
            });
            for id in pumped.starts {
                if let Some(entry) = local.queue.get(&id) {
                    starts.push((id, entry.attempt, entry.value.cancel.subscribe()));
                }
            }
            // Everyone still waiting for a model whose line moved moved up: their cards show it.
            for entry in local.queue.entries() {
                if !entry.running && pumped.moved.contains(&entry.model) {
                    entry.value.updates.send_modify(|_| ());
                }
            }
            self.inner.idle.send_replace(local.queue.running());
        }
        for (id, attempt, cancel) in starts {
            let studio = self.clone();
            tokio::spawn(async move {
                studio.beat_if_stale().await;
                let held = studio.local_copy(&id);
                let runner = &studio.inner.runner;
                let ran = run::run(runner, &studio, &id, attempt, held, cancel).await;
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
            local.queue.finished(id);
            self.inner.idle.send_replace(local.queue.running());
        }
        self.pump();
    }

    /// Forgets a job that will not run here.
    fn release(&self, id: &JobId) {
        self.local().queue.release(id);
    }

    fn local_copy(&self, id: &JobId) -> Option<Job> {
        self.local()
            .queue
            .get(id)
            .map(|entry| entry.value.updates.borrow().clone())
    }

    fn ahead_of(&self, job: &Job) -> Option<usize> {
        if job.state != JobState::Queued {
            return None;
        }
        self.local().queue.ahead_of(&job.id)
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        self.inner.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
