//! A job's own page, its live updates and its cancel button.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::StatusCode,
    response::{
        IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, StreamExt};

use super::{
    AppError, AppState,
    error::render,
    extract::{HxRequest, OwnedJob},
    views::{GalleryRefresh, JobFragment, JobPage, JobUpdate, JobView, Refreshed, SpendView},
};
use crate::{
    identity::OwnerId,
    studio::{ImageId, Job, JobStatus},
};

/// `GET /jobs/{id}`: the job's card on a page of its own; without JavaScript it refreshes
/// itself until the job ends.
pub async fn page(
    State(state): State<AppState>,
    OwnedJob { owner, id }: OwnedJob,
) -> Result<Response, AppError> {
    let status = state
        .studio
        .status(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    state.studio.seen(&status.job).await?;
    let page = JobPage {
        job: JobView::new(&state.studio, &status),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /jobs/{id}/cancel`: htmx gets the card back; a plain form goes to the job's page.
pub async fn cancel(
    State(state): State<AppState>,
    HxRequest(htmx): HxRequest,
    OwnedJob { owner, id }: OwnedJob,
) -> Result<Response, AppError> {
    state
        .studio
        .cancel(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !htmx {
        return Ok(Redirect::to(&format!("/jobs/{id}")).into_response());
    }
    let status = state
        .studio
        .status(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let card = JobFragment {
        job: JobView::new(&state.studio, &status),
    };
    Ok(render(StatusCode::OK, &card))
}

/// `GET /jobs/{id}/events`: the job's card each time it changes (event `job`), and `end` once
/// it has ended; the last card brings the refreshed gallery along.
pub async fn events(
    State(state): State<AppState>,
    OwnedJob { owner, id }: OwnedJob,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let updates = state
        .studio
        .updates(&owner, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A comment while the job is quiet, so no proxy on the way closes the stream as idle.
    let keep_alive = KeepAlive::new().interval(state.stream_keep_alive);
    let stream = futures::stream::unfold(
        Cards {
            state,
            owner,
            updates: Box::pin(updates),
            sent: None,
            ended: false,
            closed: false,
        },
        Cards::next,
    );
    Ok(Sse::new(stream).keep_alive(keep_alive))
}

/// A job's cards as its updates come.
struct Cards<U> {
    state: AppState,
    owner: OwnerId,
    updates: std::pin::Pin<Box<U>>,
    /// The card last sent, so an unchanged job sends nothing.
    sent: Option<String>,
    /// The final card has been sent: `end` comes next, then nothing.
    ended: bool,
    closed: bool,
}

impl<U: Stream<Item = JobStatus>> Cards<U> {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if self.closed {
            return None;
        }
        if self.ended {
            self.closed = true;
            return Some((Ok(Event::default().event("end").data("ended")), self));
        }
        loop {
            let status = self.updates.next().await?;
            let studio = &self.state.studio;
            let html = JobFragment {
                job: JobView::new(studio, &status),
            }
            .to_string();
            if self.sent.as_deref() == Some(html.as_str()) {
                continue;
            }
            let update = if status.job.state.is_final() {
                self.ended = true;
                let (_, update) = tokio::join!(
                    studio.seen(&status.job),
                    last_update(&self.state, &self.owner, &status)
                );
                update
            } else {
                JobUpdate {
                    job: JobView::new(studio, &status),
                    gallery: None,
                    spend: None,
                }
                .to_string()
            };
            self.sent = Some(html);
            return Some((Ok(Event::default().event("job").data(update)), self));
        }
    }
}
/// The final card, with the gallery that now holds its pictures, and the end of the stream.
async fn last_update(state: &AppState, owner: &OwnerId, status: &JobStatus) -> String {
    let Refreshed { gallery, spend } = after_the_end(state, owner, &[&status.job]).await;
    JobUpdate {
        job: JobView::new(&state.studio, status),
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
        state
            .studio
            .gallery(owner, 1, state.page_size + added.len()),
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
    Some(SpendView::new(spent, state.studio.caps()))
}
