//! What a handler takes from a request besides its body: who is asking, whether htmx asked,
//! and which of the asker's pictures the path names.

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts, Path},
    http::{HeaderMap, Method, request::Parts},
};
use axum_extra::extract::SignedCookieJar;

use super::{AppError, AppState, identity};
use crate::{
    identity::{OwnerId, Person},
    studio::{ImageId, JobId},
};

/// The owner behind the request: the signed-in person when sign-in is on, else the browser's
/// signed cookie. Without one, a page or a picture is "not found" (never "forbidden", which would tell a stranger it exists) and a
/// state-changing request is refused: identities are only made on a page load.
pub struct Owner(pub OwnerId);

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let owner =
            <Owner as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        match owner {
            Some(owner) => Ok(owner),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(AppError::NotFound)
            }
            None => Err(AppError::NoIdentity),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, AppError> {
        if state.sign_in.is_some() {
            return Ok(parts
                .extensions
                .get::<Person>()
                .map(|person| Owner(person.owner.clone())));
        }
        let Ok(jar) = SignedCookieJar::from_request_parts(parts, state).await;
        Ok(identity::owner(&jar, state.secure_cookie).map(Owner))
    }
}

/// Whether htmx made the request (it then wants a fragment, not a page).
pub struct HxRequest(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for HxRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(HxRequest(is_htmx(&parts.headers)))
    }
}

pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// The picture the path's `{id}` names, as one of the asker's own: a malformed id, or a
/// request without an owner, is "not found". Every picture is read under its owner, so a
/// well-formed id of someone else's picture is "not found" as soon as it is read.
pub struct OwnedImage {
    pub owner: OwnerId,
    pub id: ImageId,
}

impl FromRequestParts<AppState> for OwnedImage {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (owner, id) = owned(parts, state, ImageId::parse).await?;
        Ok(OwnedImage { owner, id })
    }
}

/// The job the path's `{id}` names, as one of the asker's own, alike.
pub struct OwnedJob {
    pub owner: OwnerId,
    pub id: JobId,
}

impl FromRequestParts<AppState> for OwnedJob {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (owner, id) = owned(parts, state, JobId::parse).await?;
        Ok(OwnedJob { owner, id })
    }
}

/// The asker and the id in the path, or "not found".
async fn owned<T>(
    parts: &mut Parts,
    state: &AppState,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<(OwnerId, T), AppError> {
    let owner = <Owner as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
        .await?
        .ok_or(AppError::NotFound)?;
    let Path(id) = <Path<String> as FromRequestParts<AppState>>::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound)?;
    let id = parse(&id).ok_or(AppError::NotFound)?;
    Ok((owner.0, id))
}
