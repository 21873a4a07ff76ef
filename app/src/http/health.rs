use std::time::Duration;

use axum::{extract::State, http::StatusCode};

use super::AppState;

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: config is loaded (or we would not be running), the first check of the live
/// model list has answered (or its wait at start is over) and the store takes writes.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    state.studio.first_model_check().await;
    // An unreachable S3 endpoint is retried for minutes; a probe needs its answer sooner.
    let check =
        tokio::time::timeout(Duration::from_secs(5), state.studio.check_store_writable()).await;
    match check {
        Ok(Ok(())) => (StatusCode::OK, "ready".into()),
        failed => {
            tracing::warn!(?failed, "the image store is not writable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the image store is not writable".into(),
            )
        }
    }
}
