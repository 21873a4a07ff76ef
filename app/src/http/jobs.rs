//! A job's own page, its live updates and its cancel button.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{
        IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use axum_extra::extract::SignedCookieJar;
use futures::Stream;

use super::{
    AppError, AppState,
    error::render,
    identity,
    views::{GalleryRefresh, JobFragment, JobPage, JobUpdate, JobView, Refreshed, SpendView},
};
use crate::{
    gallery::ImageId,
    identity::OwnerId,
    studio::{Job, JobId, JobStatus},
};

/// How often a job run by another process is looked up again for its page.
const POLL_OTHER_PROCESS: Duration = Duration::from_secs(1);

/// `GET /jobs/{id}`: the job's card on a page of its own; without JavaScript it refreshes
/// itself until the job ends.
pub async fn page(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let status = owned_job(&state, &jar, &id).await?;
    state.studio.seen(&status.job).await?;
    let page = JobPage {
        job: JobView::new(&state, &status),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /jobs/{id}/cancel`: htmx gets the card back; a plain form goes to the job's page.
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (owner, id) = job_of(&state, &jar, &id)?;
    state
        .studio
        .cancel(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !headers.contains_key("hx-request") {
        return Ok(Redirect::to(&format!("/jobs/{id}")).into_response());
    }
    let status = state
        .studio
        .status(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let card = JobFragment {
        job: JobView::new(&state, &status),
    };
    Ok(render(StatusCode::OK, &card))
}

/// `GET /jobs/{id}/events`: the job's card each time it changes (event `job`), and `end` once
/// it has ended; the last card brings the refreshed gallery along.
pub async fn events(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let (owner, id) = job_of(&state, &jar, &id)?;
    state
        .studio
        .status(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let updates = state.studio.watch(&id);
    let stream = futures::stream::unfold(
        Updates {
            state,
            owner,
            id,
            updates,
            sent: None,
            ended: false,
            closed: false,
        },
        next_update,
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

struct Updates {
    state: AppState,
    owner: OwnerId,
    id: JobId,
    updates: Option<tokio::sync::watch::Receiver<crate::studio::Job>>,
    /// The card last sent, so an unchanged job sends nothing.
    sent: Option<String>,
    /// The final card has been sent: `end` comes next, then nothing.
    ended: bool,
    closed: bool,
}

async fn next_update(mut u: Updates) -> Option<(Result<Event, Infallible>, Updates)> {
    if u.closed {
        return None;
    }
    if u.ended {
        u.closed = true;
        return Some((Ok(Event::default().event("end").data("ended")), u));
    }
    loop {
        let status = match u.state.studio.status(&u.owner, &u.id).await {
            Ok(Some(status)) => status,
            _ => return None,
        };
        let card = JobView::new(&u.state, &status);
        let html = JobFragment { job: card }.to_string();
        if u.sent.as_deref() != Some(html.as_str()) {
            let ended = status.job.state.is_final();
            let update = if ended {
                u.ended = true;
                let (_, update) = tokio::join!(
                    u.state.studio.seen(&status.job),
                    last_update(&u.state, &u.owner, &status)
                );
                update
            } else {
                JobUpdate {
                    job: JobView::new(&u.state, &status),
                    gallery: None,
                    spend: None,
                }
                .to_string()
            };
            u.sent = Some(html);
            let event = Event::default().event("job").data(update);
            return Some((Ok(event), u));
        }
        // Wait for a change: pushed by this process, or looked up when another runs the job.
        let stopping = u.state.studio.clone();
        tokio::select! {
            () = stopping.stopping() => return None,
            () = changed(&mut u.updates) => {}
        }
    }
}

async fn changed(updates: &mut Option<tokio::sync::watch::Receiver<crate::studio::Job>>) {
    match updates {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                // The job has ended here: its last state is in the store.
                *updates = None;
            }
        }
        None => tokio::time::sleep(POLL_OTHER_PROCESS).await,
    }
}

/// The final card, with the gallery that now holds its pictures, and the end of the stream.
async fn last_update(state: &AppState, owner: &OwnerId, status: &JobStatus) -> String {
    let Refreshed { gallery, spend } = after_the_end(state, owner, &[&status.job]).await;
    JobUpdate {
        job: JobView::new(state, status),
        gallery,
        spend,
    }
    .to_string()
}

/// What the page refreshes once jobs have ended: the gallery that now holds their pictures,
/// and what the browser has spent.
pub async fn after_the_end(state: &AppState, owner: &OwnerId, ended: &[&Job]) -> Refreshed {
    let added: Vec<ImageId> = ended
        .iter()
        .flat_map(|job| job.pictures.iter().map(|p| p.image.clone()))
        .collect();
    let (gallery, spend) = tokio::join!(
        state.gallery.page(owner, 1, state.page_size + added.len()),
        spending(state, owner)
    );
    Refreshed {
        gallery: gallery
            .ok()
            .map(|page| GalleryRefresh::new(&page, state.page_size, &added)),
        spend,
    }
}

/// What the browser has spent today, against its cap; nothing when the ledger cannot be read.
pub async fn spending(state: &AppState, owner: &OwnerId) -> Option<SpendView> {
    let spent = state.studio.spent_today(owner).await.ok()?;
    Some(SpendView::new(spent, state.studio.budget().caps()))
}

async fn owned_job(
    state: &AppState,
    jar: &SignedCookieJar,
    id: &str,
) -> Result<JobStatus, AppError> {
    let (owner, id) = job_of(state, jar, id)?;
    state
        .studio
        .status(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The browser's owner id and a well-formed job id, or "not found".
fn job_of(state: &AppState, jar: &SignedCookieJar, id: &str) -> Result<(OwnerId, JobId), AppError> {
    let owner = identity::owner(jar, state.secure_cookie).ok_or(AppError::NotFound)?;
    let id = JobId::parse(id).ok_or(AppError::NotFound)?;
    Ok((owner, id))
}
