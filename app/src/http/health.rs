use axum::{extract::State, http::StatusCode};

use super::AppState;

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: config is loaded (or we would not be running), the first check of the live
/// model list has answered (or its wait at start is over) and the store answered its last
/// check. Nothing is asked of the store here: probes come often, from every load balancer.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    state.studio.first_model_check().await;
    match state.studio.store_answers().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the image store does not answer",
        ),
    }
}
