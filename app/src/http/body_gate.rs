//! The routes that take a picture (multipart forms) are the only ones whose body is megabytes.
//! Before such a body is read, a browser already over its rate is refused, and only a few
//! bodies are read and decoded at once; past that, a short "busy" answer.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::{SignedCookieJar, cookie::Key};

use super::{
    answer::with_retry_after,
    error::{RETRY_AFTER_SECS, refusal},
    identity,
};
use crate::{guard::BodySlots, studio::Studio};

#[derive(Clone)]
pub struct BodyGate {
    pub studio: Studio,
    pub slots: BodySlots,
    pub cookie_key: Key,
    pub secure_cookie: bool,
}

const BUSY: &str = "Easel is reading other pictures right now, so this one was not read. \
                    Nothing was charged; try again in a few seconds.";

pub async fn admit(State(gate): State<BodyGate>, request: Request, next: Next) -> Response {
    if !is_multipart(request.headers()) {
        return next.run(request).await;
    }
    let jar = SignedCookieJar::from_headers(request.headers(), gate.cookie_key.clone());
    // A request with no identity is refused by its handler, before it reads anything.
    if let Some(owner) = identity::owner(&jar, gate.secure_cookie)
        && let Err(refused) = gate.studio.has_room(&owner)
    {
        let (status, message, retry_after) = refusal(&refused);
        return with_retry_after((status, message).into_response(), retry_after);
    }
    let Ok(_slot) = gate.slots.take() else {
        let busy = (StatusCode::SERVICE_UNAVAILABLE, BUSY).into_response();
        return with_retry_after(busy, Some(RETRY_AFTER_SECS));
    };
    next.run(request).await
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"))
}
