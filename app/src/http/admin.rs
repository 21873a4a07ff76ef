//! `/admin`: the operator's page, for the people `EASEL_ADMINS` lists. Anyone else, and
//! everyone when nobody signs in, is told there is no such page.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, request::Parts},
    middleware::Next,
    response::Response,
};
use time::OffsetDateTime;

use super::{AppError, AppState, error::render, operator_views::OperatorPage};
use crate::{identity::Person, studio::Studio};

/// A signed-in person whom `EASEL_ADMINS` lists; anyone else is "not found", never
/// "forbidden", which would tell them the page exists.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Person>()
            .filter(|person| state.admins.include(person))
            .map(|_| Admin)
            .ok_or(AppError::NotFound)
    }
}

/// `GET /admin`: the month's spend, by day and by person, and the jobs in flight.
pub async fn page(State(state): State<AppState>, _: Admin) -> Result<Response, AppError> {
    let now = OffsetDateTime::now_utc();
    let view = state.studio.operator_view(now).await?;
    Ok(render(StatusCode::OK, &OperatorPage::new(&view, now)))
}

/// Middleware: the studio notes each signed-in person's name and address, for this page to
/// say who spent what.
pub async fn note_people(State(studio): State<Studio>, request: Request, next: Next) -> Response {
    if let Some(person) = request.extensions().get::<Person>()
        && let Err(e) = studio.note_person(person).await
    {
        tracing::warn!(error = %e, "could not note who a person is");
    }
    next.run(request).await
}
