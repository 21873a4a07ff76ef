//! The origin a browser sees Easel at, for links that leave the page: the sign-in's callback,
//! a share link, the commands that call the API.

use axum::http::{HeaderMap, header};

use super::AppState;

/// The configured public URL, else the request's own host (a local run).
pub fn origin(state: &AppState, headers: &HeaderMap) -> String {
    match &state.public_url {
        Some(url) => url.origin().to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}
