//! How a route answers, alike for htmx and for a plain form post: accepted jobs, refusals,
//! a form swapped whole, and a move to another page.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use super::{
    AppError, AppState,
    jobs::{after_the_end, spending},
    views::{JobFragment, JobView, Refreshed, RefusalFragment},
};
use crate::{
    identity::OwnerId,
    studio::{Job, JobId, JobStatus, Sighting},
};

/// What a browser is told once jobs are accepted: htmx gets their cards (after a sentence for
/// each request that was not) and the new spending line; a plain post is sent to the first
/// job's own page. Jobs that end within moments (an instant model's) come ended, with the
/// gallery that holds their pictures, so the page needs no stream for them.
pub async fn answer_accepted(
    state: &AppState,
    owner: &OwnerId,
    accepted: Vec<Job>,
    messages: Vec<String>,
    htmx: bool,
) -> Result<Response, AppError> {
    if !htmx && let Some(first) = accepted.first() {
        return Ok(Redirect::to(&format!("/jobs/{}", first.id)).into_response());
    }
    let ids: Vec<JobId> = accepted.iter().map(|job| job.id.clone()).collect();
    let mut ended = state.studio.quick_end(&ids).await;
    let mut statuses = Vec::new();
    for job in accepted {
        let status = match ended.iter().position(|e| e.id == job.id) {
            Some(at) => shown_live(ended.swap_remove(at)),
            None => match state.studio.status(owner, &job.id).await? {
                Some(status) => status,
                None => shown_live(job),
            },
        };
        statuses.push(status);
    }
    let mut html = RefusalFragment { messages }.to_string();
    let mut previews = Vec::new();
    for status in &statuses {
        let card = JobFragment {
            job: JobView::new(&state.studio, status),
        };
        previews.extend(card.job.pictures.iter().map(|p| preload_preview(&p.id)));
        html.push_str(&card.to_string());
    }
    let refreshed = if statuses.iter().all(|s| s.job.state.is_final()) {
        let seen = futures::future::join_all(statuses.iter().map(|s| state.studio.seen(&s.job)));
        let ended: Vec<&Job> = statuses.iter().map(|s| &s.job).collect();
        tokio::join!(seen, after_the_end(state, owner, &ended)).1
    } else {
        Refreshed {
            gallery: None,
            spend: spending(state, owner).await,
        }
    };
    html.push_str(&refreshed.to_string());
    let mut response = (StatusCode::ACCEPTED, Html(html)).into_response();
    // Named in the headers, the previews can be fetched while the cards are still being read
    // and swapped in (app.js).
    if !previews.is_empty()
        && let Ok(link) = HeaderValue::try_from(previews.join(", "))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

fn preload_preview(image_id: &str) -> String {
    format!("</images/{image_id}/preview.jpg>; rel=preload; as=image")
}

/// A job as it is shown while the browser watches it.
fn shown_live(job: Job) -> JobStatus {
    JobStatus {
        job,
        ahead: None,
        sighting: Sighting::Live,
    }
}

/// A form whose fields were wrong is swapped whole, so each message sits next to its field,
/// instead of landing in `#result`.
pub fn swap_form(mut response: Response, form_id: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert("hx-retarget", HeaderValue::from_static(form_id));
    headers.insert("hx-reswap", HeaderValue::from_static("outerHTML"));
    response
}

/// Sends the browser to `url`: htmx is told to go there (it would otherwise swap the page in),
/// a plain post is redirected.
pub fn go_to(url: &str, htmx: bool, status: StatusCode) -> Response {
    if !htmx {
        return Redirect::to(url).into_response();
    }
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::try_from(url) {
        response.headers_mut().insert("hx-redirect", location);
    }
    response
}
