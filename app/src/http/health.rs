use axum::{Extension, extract::State, http::StatusCode};

use super::AppState;
use crate::storage::Reachability;

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: config is loaded (or we would not be running), the first check of the live
/// model list has answered (or its wait at start is over) and the store answered its last
/// check. Nothing is asked of the store here: probes come often, from every load balancer.
pub async fn readyz(
    State(state): State<AppState>,
    Extension(store): Extension<Reachability>,
) -> (StatusCode, &'static str) {
    state.models.first_check().await;
    match store.last().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the image store does not answer",
        ),
    }
}
