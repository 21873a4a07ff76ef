//! `/api/v1/jobs/{id}`: a job as a script follows it, and its cancel, through the same studio
//! calls as the job's page. Another owner's job answers exactly as a missing one does.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use time::OffsetDateTime;

use super::{ApiCaller, ApiError, ApiState, images::Links};
use crate::studio::{Job, JobId, JobStatus, Usd, sentences::api as sentences};

#[derive(Debug, Serialize)]
pub struct JobView {
    id: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`, as the page's card says.
    state: &'static str,
    model: String,
    prompt: String,
    /// Pictures asked for.
    count: u8,
    /// Jobs ahead of it in its model's line, while this process holds it queued.
    ahead: Option<usize>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    finished_at: Option<OffsetDateTime>,
    /// What it cost, once it has ended.
    cost_usd: Option<f64>,
    /// The pictures made so far, in the gallery.
    images: Vec<JobImage>,
}

#[derive(Debug, Serialize)]
struct JobImage {
    id: String,
    seed: u64,
    links: Links,
}

impl JobView {
    fn new(job: &Job, ahead: Option<usize>) -> Self {
        Self {
            id: job.id.to_string(),
            state: job.state.as_str(),
            model: job.model_id.clone(),
            prompt: job.prompt().to_owned(),
            count: job.count,
            ahead,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            cost_usd: job.cost.map(Usd::dollars),
            images: job
                .pictures
                .iter()
                .map(|picture| JobImage {
                    id: picture.image.to_string(),
                    seed: picture.seed,
                    links: Links::to(&picture.image),
                })
                .collect(),
        }
    }
}

impl From<JobStatus> for JobView {
    fn from(status: JobStatus) -> Self {
        JobView::new(&status.job, status.ahead)
    }
}

fn missing() -> ApiError {
    ApiError::NotFound(sentences::NO_SUCH_JOB)
}

/// The caller's job by the id in the path; none, malformed or another owner's alike.
fn owned(id: &str) -> Result<JobId, ApiError> {
    JobId::parse(id).ok_or_else(missing)
}

/// `GET /api/v1/jobs/{id}`: the job as it stands.
pub async fn show(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let status = state.studio.status(&owner, &owned(&id)?).await?;
    Ok(Json(status.ok_or_else(missing)?.into()))
}

/// `DELETE /api/v1/jobs/{id}`: cancels the job, as the card's Cancel does, and answers with
/// how it ended (a job already over is left as it was).
pub async fn cancel(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = state.studio.cancel(&owner, &owned(&id)?).await?;
    Ok(Json(JobView::new(&job.ok_or_else(missing)?, None)))
}
