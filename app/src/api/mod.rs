//! JSON for scripts: the OpenAI-compatible routes under `/v1`. A caller is known by a
//! personal access token alone ([`ApiCaller`]), never by a browser's cookie or session, so
//! these routes sit outside the pages' session gate and same-site check.

mod caller;
mod error;
mod models;

use axum::{Router, routing::get};

use crate::{identity::Tokens, studio::Studio};

pub use caller::ApiCaller;
pub use error::ApiError;

/// What the API's handlers need; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub studio: Studio,
    pub tokens: Tokens,
}

/// The routes under `/v1`; any other path there answers in OpenAI's error shape.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    let v1 = Router::new()
        .route("/models", get(models::list))
        .fallback(error::no_such_route);
    Router::new().nest("/v1", v1).with_state(state)
}
