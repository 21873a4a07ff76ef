//! The origin a browser sees Easel at, for links that leave the page: the sign-in's callback,
//! a share link, the commands that call the API.

use axum::http::HeaderMap;

use super::AppState;
use crate::identity::PublicUrl;

/// The configured public URL, else the request's own host (a local run).
pub fn origin(state: &AppState, headers: &HeaderMap) -> String {
    PublicUrl::origin_or_host(state.public_url.as_ref(), headers)
}
