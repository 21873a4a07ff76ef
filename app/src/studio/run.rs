//! Running one job: claim it, make its pictures call by call, store each as it arrives, and
//! settle its cost. Every step is written to the store before it is shown.

use std::{pin::pin, time::Instant};

use futures::{StreamExt, stream::FuturesUnordered};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{
    Job, JobId, JobState, Picture, Problem, Work, WorkerId, pictures::decode_edit, store::JobStore,
};
use crate::{
    availability::ModelStatus,
    bedrock::{self, Bedrock, BedrockError, Call, GeneratedImage, Generation},
    catalogue::{Catalogue, Operations},
    domain::{EditRequest, Field, FieldErrors, GenerationRequest},
    gallery::{EditRecipe, Gallery, GalleryError, ImageId, Origin, Recipe, png_size},
    guard::Budget,
    metrics::Metrics,
    storage::StorageError,
};

/// A job whose process died while running it is run once more; a second death ends it.
pub const MAX_ATTEMPTS: u8 = 2;

/// How often a running job looks in the store for a cancel made through another process.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The first wait after Bedrock throttled a call; each later wait doubles.
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Gallery(#[from] GalleryError),
    /// Its process was thought dead and another has taken the job over: this one stops.
    #[error("another process has taken the job over")]
    TakenOver,
}

/// What running a job needs, handed over by the studio once.
#[derive(Clone)]
pub struct Runner {
    pub jobs: JobStore,
    /// This process, as its claims name it.
    pub worker: WorkerId,
    pub bedrock: Bedrock,
    pub gallery: Gallery,
    pub budget: Budget,
    pub models: ModelStatus,
    pub metrics: Metrics,
    pub catalogue: Catalogue,
    pub operations: Operations,
    /// How long a throttled job keeps trying before it fails.
    pub throttle_patience: std::time::Duration,
}

/// What a run tells the studio as it goes.
pub trait Report: Sync {
    /// A stored change of the job, for whoever watches it.
    fn show(&self, job: &Job);
    /// How long a call of `model` took, for wait estimates.
    fn call_took(&self, model: &str, secs: f64);
}

/// What a call came back with, and after how many throttled tries.
struct Outcome {
    call: Call,
    generation: Generation,
    throttled: u32,
}

/// Runs the job `id` as its `attempt`th run; `held` is the job as this process accepted it,
/// for a first run.
pub async fn run(
    runner: &Runner,
    report: &dyn Report,
    id: &JobId,
    attempt: u8,
    held: Option<Job>,
    mut cancel: watch::Receiver<bool>,
) -> Result<(), RunError> {
    if !runner.jobs.claim(id, attempt, &runner.worker).await? {
        // Another process (or a cancel) got there first.
        return Ok(());
    }
    // Until a first claim exists only the acceptor has written the job, once, so the copy
    // held here is what the store holds; a later attempt reads what the last one left.
    let held = held.filter(|_| attempt == 1);
    let (job, cancel_requested) = tokio::join!(
        async {
            match held {
                Some(job) => Ok(Some(job)),
                None => runner.jobs.load(id).await,
            }
        },
        runner.jobs.cancel_requested(id)
    );
    let Some(mut job) = job? else {
        return Ok(());
    };
    if job.state.is_final() {
        return Ok(dequeue_ended(runner, &job).await?);
    }
    job.attempt = attempt;
    if *cancel.borrow() || cancel_requested? {
        return finish(runner, report, job, JobState::Cancelled, 0).await;
    }
    let request = match Plan::read(runner, &job).await? {
        Ok(request) => request,
        Err(why) => {
            job.problems.push(Problem::NoLongerValid(why));
            return finish(runner, report, job, JobState::Failed, 0).await;
        }
    };
    job.state = JobState::Running;
    job.started_at.get_or_insert_with(OffsetDateTime::now_utc);
    job.retrying = false;
    let remaining = if attempt > 1 {
        recover_stored(runner, &mut job, &request).await?
    } else {
        request.calls()
    };
    // The claim already says who runs the job, so its calls need not wait for the running
    // state to be written; every later write of the job waits for it.
    let running = job.clone();
    let mut running_stored = pin!(save(runner, report, &running));
    let mut stored = false;

    let call_id = runner.models.call_id(&job.model_id);
    let mut calls: FuturesUnordered<_> = remaining
        .into_iter()
        .map(|call| make(runner, report, &request, &call_id, call, 0))
        .collect();
    let mut in_flight = calls.len();
    let mut cancelled = pin!(cancelled(runner, id, &mut cancel));
    let patience = Instant::now() + runner.throttle_patience;
    loop {
        let outcome = tokio::select! {
            saved = &mut running_stored, if !stored => {
                saved?;
                stored = true;
                continue;
            }
            next = calls.next() => match next {
                Some(outcome) => outcome,
                None => break,
            },
            () = &mut cancelled => {
                if !stored {
                    running_stored.await?;
                }
                // Calls still out may be billed: they count as spent.
                let abandoned = u8::try_from(in_flight).unwrap_or(u8::MAX);
                return finish(runner, report, job, JobState::Cancelled, abandoned).await;
            }
        };
        if !stored {
            (&mut running_stored).await?;
            stored = true;
        }
        let throttled = outcome
            .generation
            .failures
            .contains(&BedrockError::Throttled);
        if throttled && Instant::now() < patience {
            job.retrying = true;
            save(runner, report, &job).await?;
            calls.push(make(
                runner,
                report,
                &request,
                &call_id,
                outcome.call,
                outcome.throttled + 1,
            ));
            continue;
        }
        in_flight -= 1;
        job.retrying = false;
        keep(runner, &mut job, &request, outcome).await;
        // After the last call, `finish` stores the job once, with its end.
        if in_flight > 0 {
            save(runner, report, &job).await?;
        }
    }
    if !stored {
        running_stored.await?;
    }
    let state = if job.pictures.is_empty() {
        JobState::Failed
    } else {
        JobState::Done
    };
    finish(runner, report, job, state, 0).await
}

/// The calls a re-run still has to make. A call whose pictures all reached the gallery before
/// the last process died counts as done, so it is neither made nor paid for twice.
async fn recover_stored(
    runner: &Runner,
    job: &mut Job,
    request: &Plan,
) -> Result<Vec<Call>, RunError> {
    let gallery = &runner.gallery;
    let mut remaining = Vec::new();
    for call in request.calls() {
        if job.calls_done.contains(&call.first) {
            continue;
        }
        let mut stored = Vec::new();
        for index in call.first..call.first + call.pictures {
            let image = job.id.picture(index);
            match gallery.record(&job.owner, &image).await? {
                Some(record) => stored.push(Picture {
                    index,
                    image,
                    seed: record.recipe.seed,
                }),
                None => break,
            }
        }
        if stored.len() == usize::from(call.pictures) {
            job.pictures.extend(stored);
            job.calls_done.push(call.first);
        } else {
            remaining.push(call);
        }
    }
    job.pictures.sort_by_key(|p| p.index);
    Ok(remaining)
}

/// One call, after waiting out its earlier throttling.
async fn make(
    runner: &Runner,
    report: &dyn Report,
    request: &Plan,
    call_id: &str,
    call: Call,
    throttled: u32,
) -> Outcome {
    if throttled > 0 {
        tokio::time::sleep(FIRST_BACKOFF * 2u32.saturating_pow(throttled - 1).min(16)).await;
    }
    let started = Instant::now();
    let bedrock = &runner.bedrock;
    let generation = match request {
        Plan::Generate(request) => bedrock.make(request, call_id, call).await,
        Plan::Edit { request, .. } => match bedrock.edit(request).await {
            Ok(image) => Generation {
                images: vec![image],
                failures: Vec::new(),
            },
            Err(failure) => Generation {
                images: Vec::new(),
                failures: vec![failure],
            },
        },
    };
    let secs = started.elapsed().as_secs_f64();
    let outcome = match generation.failures.first() {
        None => "ok",
        Some(BedrockError::Throttled) => "throttled",
        Some(
            BedrockError::InputFiltered
            | BedrockError::InputImageFiltered
            | BedrockError::OutputFiltered,
        ) => "filtered",
        Some(BedrockError::Timeout) => "timeout",
        Some(_) => "error",
    };
    let model_id = request.model_id();
    runner.metrics.call(model_id, outcome, secs);
    report.call_took(model_id, secs);
    Outcome {
        call,
        generation,
        throttled,
    }
}

/// Stores the pictures of an ended call in the gallery and notes them in the job.
async fn keep(runner: &Runner, job: &mut Job, request: &Plan, outcome: Outcome) {
    let Outcome {
        call, generation, ..
    } = outcome;
    for failure in generation.failures {
        tracing::warn!(job = %job.id, model = %job.model_id, error = %failure, "a model call failed");
        if failure == BedrockError::NotSubscribed {
            runner.models.mark_not_subscribed(&job.model_id);
        } else if let Some(lifecycle) = failure.lifecycle() {
            runner.models.mark(&job.model_id, lifecycle);
        }
        if !job.problems.contains(&Problem::Bedrock(failure.clone())) {
            job.problems.push(Problem::Bedrock(failure));
        }
    }
    let (mut saved, mut not_saved) = (0, 0);
    for (offset, image) in generation.images.into_iter().enumerate() {
        let index = call.first + offset as u8;
        let recipe = request.recipe(&image);
        let id = job.id.picture(index);
        match runner
            .gallery
            .save_as(&job.owner, id.clone(), recipe, image.png)
            .await
        {
            Ok(_) => {
                saved += 1;
                job.pictures.push(Picture {
                    index,
                    image: id,
                    seed: image.seed,
                });
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = ?e, "could not store a picture");
                not_saved += 1;
            }
        }
    }
    runner.metrics.pictures(&job.model_id, saved);
    if not_saved > 0 {
        job.problems.push(Problem::NotSaved(not_saved));
    }
    job.pictures.sort_by_key(|p| p.index);
    job.calls_done.push(call.first);
}

/// What a job's calls are made of, read back from the stored job and checked again.
enum Plan {
    Generate(GenerationRequest),
    Edit {
        request: EditRequest,
        source: ImageId,
    },
}

impl Plan {
    /// The request, or why it can no longer be run (its model, operation or picture is gone).
    async fn read(runner: &Runner, job: &Job) -> Result<Result<Self, String>, RunError> {
        let edit = match &job.work {
            Work::Generate(form) => {
                return Ok(GenerationRequest::parse(form, &runner.catalogue)
                    .map(Plan::Generate)
                    .map_err(|errors| sentences(&errors)));
            }
            Work::Edit(edit) => edit,
        };
        let Some(png) = runner.gallery.png(&job.owner, &edit.source).await? else {
            return Ok(Err("the picture to edit has been deleted.".to_owned()));
        };
        let operation = edit
            .form
            .iter()
            .find(|(name, _)| name == Field::Operation.name())
            .and_then(|(_, id)| runner.operations.get(id));
        let Some(spec) = operation else {
            return Ok(Err("its operation is no longer offered.".to_owned()));
        };
        let mask = match edit.has_mask {
            true => match runner.jobs.input(&job.id, super::job::MASK).await? {
                Some(bytes) => Some(bytes),
                None => return Ok(Err("its mask is missing.".to_owned())),
            },
            false => None,
        };
        let style = match edit.has_style {
            true => match runner.jobs.input(&job.id, super::job::STYLE).await? {
                Some(bytes) => Some(bytes),
                None => return Ok(Err("its style picture is missing.".to_owned())),
            },
            false => None,
        };
        let decoded = decode_edit(spec.clone(), png, mask, style).await;
        let pictures = match decoded {
            Some(Ok(pictures)) => pictures,
            Some(Err(errors)) => return Ok(Err(sentences(&errors))),
            None => return Ok(Err("its picture could not be read.".to_owned())),
        };
        Ok(EditRequest::parse(&edit.form, pictures, &runner.operations)
            .map(|request| Plan::Edit {
                request,
                source: edit.source.clone(),
            })
            .map_err(|errors| sentences(&errors)))
    }

    fn calls(&self) -> Vec<Call> {
        match self {
            Plan::Generate(request) => bedrock::calls(request),
            Plan::Edit { .. } => vec![Call {
                first: 0,
                pictures: 1,
            }],
        }
    }

    fn model_id(&self) -> &str {
        match self {
            Plan::Generate(request) => &request.model.id,
            Plan::Edit { request, .. } => &request.spec().model_id,
        }
    }

    /// The recipe stored with `image`, in its record and its PNG.
    fn recipe(&self, image: &GeneratedImage) -> Recipe {
        let created_at = OffsetDateTime::now_utc();
        match self {
            Plan::Generate(request) => Recipe {
                model_id: request.model.id.clone(),
                model_name: request.model.name.clone(),
                prompt: request.prompt.to_string(),
                negative_prompt: request.negative_prompt.as_ref().map(ToString::to_string),
                size: request.shape.to_string(),
                cfg_scale: request.cfg_scale,
                quality: request.quality.map(|q| q.as_str().to_owned()),
                seed: image.seed,
                price_usd: request.model.price_per_image,
                created_at,
                origin: Origin::Generated,
            },
            Plan::Edit { request, source } => {
                let spec = request.spec();
                let (prompt, negative_prompt) = request.operation().prompts().unwrap_or_default();
                let (width, height) = png_size(&image.png).unwrap_or_default();
                Recipe {
                    model_id: spec.model_id.clone(),
                    model_name: spec.name.clone(),
                    prompt: prompt.map(ToString::to_string).unwrap_or_default(),
                    negative_prompt: negative_prompt.map(ToString::to_string),
                    size: format!("{width}x{height}"),
                    cfg_scale: None,
                    quality: None,
                    seed: image.seed,
                    price_usd: spec.price_per_image,
                    created_at,
                    origin: Origin::Edited(EditRecipe {
                        operation: spec.id().to_owned(),
                        operation_name: spec.name.clone(),
                        source: source.clone(),
                        form: request.to_form(),
                    }),
                }
            }
        }
    }
}

/// A form's problems as one sentence, for a job that can no longer run.
fn sentences(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(_, m)| m.to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolves when the owner cancels: through this process at once, through another within
/// [`CANCEL_POLL`].
async fn cancelled(runner: &Runner, id: &JobId, local: &mut watch::Receiver<bool>) {
    let asked_here = async {
        if local.wait_for(|c| *c).await.is_err() {
            // The job is no longer held here: only the store can tell.
            std::future::pending::<()>().await;
        }
    };
    let asked_elsewhere = async {
        loop {
            tokio::time::sleep(CANCEL_POLL).await;
            if runner.jobs.cancel_requested(id).await.unwrap_or(false) {
                return;
            }
        }
    };
    tokio::select! {
        () = asked_here => {}
        () = asked_elsewhere => {}
    }
}

/// Ends the job: its cost settled to what was made (plus calls abandoned in flight), its final
/// state stored and shown.
async fn finish(
    runner: &Runner,
    report: &dyn Report,
    mut job: Job,
    state: JobState,
    abandoned: u8,
) -> Result<(), RunError> {
    let made = job.pictures.len() as u64 + u64::from(abandoned);
    let cost = job.price_per_image.times(made);
    job.state = state;
    job.retrying = false;
    job.finished_at = Some(OffsetDateTime::now_utc());
    job.cost = Some(cost);
    // Both at once, so the end is shown sooner; a process that dies between the two leaves an
    // ended job in the queue, and whoever finds it there settles it (`dequeue_ended`).
    let (settled, stored) = tokio::join!(
        runner.budget.settle(&job.owner, &job.reservation, cost),
        store(runner, &job),
    );
    settled?;
    stored?;
    report.show(&job);
    runner.jobs.remove_from_queue(&job).await?;
    runner.metrics.job_ended(state.as_str());
    tracing::info!(job = %job.id, state = state.as_str(), pictures = job.pictures.len(), "job ended");
    Ok(())
}

/// Ends a job whose process died on its last allowed attempt, without running it again.
pub async fn give_up(
    runner: &Runner,
    report: &dyn Report,
    mut job: Job,
    attempt: u8,
) -> Result<(), RunError> {
    if !runner.jobs.claim(&job.id, attempt, &runner.worker).await? {
        return Ok(());
    }
    tracing::warn!(job = %job.id, "a job was interrupted twice; it is not run again");
    job.attempt = attempt;
    job.problems.push(Problem::Interrupted);
    let state = if job.pictures.is_empty() {
        JobState::Failed
    } else {
        JobState::Done
    };
    // What the lost calls cost is unknown; only the stored pictures are counted.
    finish(runner, report, job, state, 0).await
}

/// Takes an ended job out of the queue, settling its cost first: settling again changes
/// nothing, and its process may have died after storing the end but before settling.
pub async fn dequeue_ended(runner: &Runner, job: &Job) -> Result<(), StorageError> {
    let cost = job.cost.unwrap_or(job.reservation.amount);
    runner
        .budget
        .settle(&job.owner, &job.reservation, cost)
        .await?;
    runner.jobs.remove_from_queue(job).await
}

/// Stores the job and shows it, unless a newer attempt has taken it over.
async fn save(runner: &Runner, report: &dyn Report, job: &Job) -> Result<(), RunError> {
    store(runner, job).await?;
    report.show(job);
    Ok(())
}

/// Stores the job, unless a newer attempt has taken it over.
async fn store(runner: &Runner, job: &Job) -> Result<(), RunError> {
    if runner.jobs.is_claimed(&job.id, job.attempt + 1).await? {
        return Err(RunError::TakenOver);
    }
    Ok(runner.jobs.save(job).await?)
}
