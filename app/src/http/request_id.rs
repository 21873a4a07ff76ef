//! Request ids are Easel's own. A client's `X-Request-Id` could repeat another request's id or
//! forge one to muddle the logs, so it is set aside and logged in a field of its own.

use axum::{body::Body, http::Request, middleware::Next, response::Response};

const HEADER: &str = "x-request-id";

/// The id a client sent, at most [`KEPT`] characters of it.
#[derive(Clone)]
pub struct ClientRequestId(pub String);

/// Enough for any UUID or trace id; a longer one is cut rather than logged whole.
const KEPT: usize = 64;

/// Takes the client's id off the request, so that Easel makes its own, and keeps it for the log.
pub async fn set_aside_client_id(mut request: Request<Body>, next: Next) -> Response {
    if let Some(sent) = request.headers_mut().remove(HEADER) {
        let sent = String::from_utf8_lossy(sent.as_bytes());
        let kept = sent.chars().take(KEPT).collect();
        request.extensions_mut().insert(ClientRequestId(kept));
    }
    next.run(request).await
}

/// The client's id for the log line, or nothing.
pub fn client_id<B>(request: &Request<B>) -> &str {
    request
        .extensions()
        .get::<ClientRequestId>()
        .map_or("", |id| id.0.as_str())
}
