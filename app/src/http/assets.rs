use axum::{
    extract::Path,
    http::header,
    response::{IntoResponse, Response},
};

use super::AppError;

// htmx and its SSE extension come from their registry packages at build time (see build.rs), never from the repo.
const HTMX: &str = include_str!(concat!(env!("OUT_DIR"), "/htmx.min.js"));
const HTMX_SSE: &str = include_str!(concat!(env!("OUT_DIR"), "/sse.min.js"));
const APP_JS: &str = include_str!("../../assets/app.js");
const PAINTER_JS: &str = include_str!("../../assets/painter.js");
const APP_CSS: &str = include_str!("../../assets/app.css");

pub async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let (body, content_type) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "sse.js" => (HTMX_SSE, "text/javascript; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "painter.js" => (PAINTER_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return Err(AppError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}
