//! With sign-in on, every request but health checks, assets and the sign-in routes themselves
//! needs a session. Its person rides the request's extensions (for the extractors) and a
//! task-local (for the page header that says who is signed in).

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;

use super::{NextPath, cookies};
use crate::{
    http::{AppError, AppState, extract::is_htmx},
    identity::Person,
};

tokio::task_local! {
    static SIGNED_IN: Person;
}

/// The person the request being answered comes from, when sign-in is on.
pub fn signed_in() -> Option<Person> {
    SIGNED_IN.try_with(Person::clone).ok()
}

/// Paths anyone may reach: the load balancer's checks, the page's own files, the way in, and
/// shared pictures, whose link is their key.
fn is_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
        || path.starts_with("/assets/")
        || path.starts_with("/auth/")
        || path.starts_with("/s/")
}

pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(sign_in) = &state.sign_in else {
        return next.run(request).await;
    };
    if is_open(request.uri().path()) {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let session = match cookies::session_id(&jar, state.secure_cookie) {
        Some(id) => sign_in.sessions.find(&id).await,
        None => Ok(None),
    };
    match session {
        Ok(Some(session)) => {
            let person = session.person();
            request.extensions_mut().insert(person.clone());
            SIGNED_IN.scope(person, next.run(request)).await
        }
        Ok(None) => to_sign_in(&request),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// A page load goes to sign in and comes back; htmx is told to load the sign-in instead of
/// its fragment; anything else (a form post) does nothing and says why.
fn to_sign_in(request: &Request) -> Response {
    let headers = request.headers();
    if is_htmx(headers) {
        let back_to = headers
            .get("hx-current-url")
            .and_then(|v| v.to_str().ok())
            .and_then(NextPath::of_url)
            .unwrap_or_default();
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(link) = HeaderValue::from_str(&back_to.sign_in_link()) {
            response.headers_mut().insert("hx-redirect", link);
        }
        return response;
    }
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let here = request
            .uri()
            .path_and_query()
            .and_then(|p| NextPath::parse(p.as_str()))
            .unwrap_or_default();
        let mut response = Redirect::to(&here.sign_in_link()).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    AppError::SignedOut.into_response()
}
