//! JSON for scripts: the OpenAI-compatible routes under `/v1`. A caller is known by a
//! personal access token alone ([`ApiCaller`]), never by a browser's cookie or session, so
//! these routes sit outside the pages' session gate and same-site check.

mod caller;
mod error;
mod generations;
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
}

/// The routes under `/v1`; any other path there answers in OpenAI's error shape.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    let v1 = Router::new()
        .route("/models", get(models::list))
        .route(
            "/images/generations",
            post(generations::generate).layer(DefaultBodyLimit::max(generations::MAX_BODY_BYTES)),
        )
        .fallback(error::no_such_route);
    Router::new().nest("/v1", v1).with_state(state)
}
