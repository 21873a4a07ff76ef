//! JSON for scripts: the OpenAI-compatible routes under `/v1` and Easel's own under `/api/v1`,
//! both in OpenAI's error shape. A caller is known by a personal access token alone
//! ([`ApiCaller`]), never by a browser's cookie or session, so these routes sit outside the
//! pages' session gate and same-site check.

mod budget;
mod caller;
mod error;
mod generations;
mod images;
mod jobs;
mod models;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

use crate::{
    identity::{PublicUrl, Tokens},
    studio::Studio,
};

pub use caller::ApiCaller;
pub use error::ApiError;

/// What the API's handlers need; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub studio: Studio,
    pub tokens: Tokens,
    /// Where the links in an answer point; else the request's own host.
    pub public_url: Option<PublicUrl>,
    /// Pictures in one page of `GET /api/v1/images`: the gallery page's own size.
    pub page_size: usize,
}

/// The routes under `/v1` and `/api/v1`; any other path there answers in the same error shape.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    let v1 = Router::new()
        .route("/models", get(models::list))
        .route(
            "/images/generations",
            post(generations::generate).layer(DefaultBodyLimit::max(generations::MAX_BODY_BYTES)),
        )
        .fallback(error::no_such_route);
    let easel = Router::new()
        .route("/images", get(images::list))
        .route("/images/{id}", get(images::show).delete(images::delete))
        .route("/images/{id}/image.png", get(images::png))
        .route("/images/{id}/preview.jpg", get(images::preview))
        .route("/jobs/{id}", get(jobs::show).delete(jobs::cancel))
        .route("/budget", get(budget::show))
        .method_not_allowed_fallback(error::no_such_method)
        .fallback(error::no_such_route);
    Router::new()
        .nest("/v1", v1)
        .nest("/api/v1", easel)
        .with_state(state)
}
