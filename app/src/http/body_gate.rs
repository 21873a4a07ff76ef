//! The routes that take a picture (multipart forms) are the only ones whose body is megabytes.
//! Before such a body is read, the studio admits it: a browser already over its rate is
//! refused, and only a few bodies are read and decoded at once; past that, a short "busy"
//! answer.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::{SignedCookieJar, cookie::Key};

use super::{AppError, identity};
use crate::{identity::Person, studio::Studio};

#[derive(Clone)]
pub struct BodyGate {
    pub studio: Studio,
    pub cookie_key: Key,
    pub secure_cookie: bool,
}

pub async fn admit(State(gate): State<BodyGate>, request: Request, next: Next) -> Response {
    if !is_multipart(request.headers()) {
        return next.run(request).await;
    }
    // A request with no identity is refused by its handler, before it reads anything.
    let owner = match request.extensions().get::<Person>() {
        Some(person) => Some(person.owner.clone()),
        None => {
            let jar = SignedCookieJar::from_headers(request.headers(), gate.cookie_key.clone());
            identity::owner(&jar, gate.secure_cookie)
        }
    };
    match gate.studio.admit_picture(owner.as_ref()) {
        Ok(_slot) => next.run(request).await,
        Err(refused) => AppError::from(refused).into_response(),
    }
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"))
}
