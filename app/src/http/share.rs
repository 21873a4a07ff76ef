//! Share links: the owner makes and revokes them on a picture's page; anyone holding one opens
//! `/s/{link}`, its picture at `/s/{link}/image.png` and its preview at `/s/{link}/preview.jpg`.

use axum::{
    Form,
    extract::{Path, State, rejection::FormRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use bytes::Bytes;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{
    AppError, AppState, error::render, extract::OwnedImage, origin::origin, pages::permalink_page,
    share_views::SharedPage,
};
use crate::studio::{Closed, Expiry, ShareId, ShareLink, Shared, sentences};

#[derive(Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    expiry: String,
    /// A checkbox: present when ticked.
    recipe: Option<String>,
}

/// `POST /images/{id}/share`: a new link, shown once on the picture's page.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    OwnedImage { owner, id }: OwnedImage,
    form: Result<Form<ShareForm>, FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form.map_err(|_| AppError::Invalid(&sentences::BAD_SHARE))?;
    let expiry =
        Expiry::parse(form.expiry.trim()).ok_or(AppError::Invalid(&sentences::BAD_SHARE))?;
    let show_recipe = form.recipe.is_some();
    let now = OffsetDateTime::now_utc();
    let made = state
        .studio
        .share(&owner, &id, expiry, show_recipe, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let new_link = format!("{}/s/{}", origin(&state, &headers), made.link.as_str());
    let response = permalink_page(&state, &headers, &owner, &id, Some(new_link)).await?;
    Ok((StatusCode::CREATED, response).into_response())
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    share: String,
}

/// `POST /images/{id}/shares/revoke`: the link ends for everyone at once.
pub async fn revoke(
    State(state): State<AppState>,
    OwnedImage { owner, id }: OwnedImage,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Redirect, AppError> {
    let share = form
        .ok()
        .and_then(|Form(form)| ShareId::parse(&form.share))
        .ok_or(AppError::NotFound)?;
    if !state.studio.revoke_share(&owner, &id, &share).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!("/images/{id}")))
}

/// `GET /s/{link}`: the shared picture, to anyone.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(link): Path<String>,
) -> Result<Response, AppError> {
    let (link, shared) = open(&state, &link).await?;
    let title = if shared.show_recipe {
        shared.record.recipe.prompt.clone()
    } else {
        "A picture shared from Easel".to_owned()
    };
    let path = format!("/s/{}", link.as_str());
    let url = format!("{}{path}", origin(&state, &headers));
    let page = SharedPage {
        title,
        path,
        url,
        shared,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /s/{link}/image.png`
pub async fn image(
    State(state): State<AppState>,
    Path(link): Path<String>,
) -> Result<Response, AppError> {
    let (_, shared) = open(&state, &link).await?;
    picture("image/png", state.studio.shared_picture(&shared).await?)
}

/// `GET /s/{link}/preview.jpg`: what chat apps show when they unfurl the link.
pub async fn preview(
    State(state): State<AppState>,
    Path(link): Path<String>,
) -> Result<Response, AppError> {
    let (_, shared) = open(&state, &link).await?;
    picture("image/jpeg", state.studio.shared_preview(&shared).await?)
}

async fn open(state: &AppState, link: &str) -> Result<(ShareLink, Shared), AppError> {
    let link = ShareLink::parse(link).ok_or(AppError::NotFound)?;
    match state
        .studio
        .open_share(&link, OffsetDateTime::now_utc())
        .await?
    {
        Ok(shared) => Ok((link, shared)),
        Err(Closed::Unknown) => Err(AppError::NotFound),
        Err(Closed::Expired) => Err(AppError::Gone),
    }
}

/// Left to the router's `no-store`: a revoke must close the link at once, which no cache
/// between here and the viewer would know of.
fn picture(content_type: &'static str, bytes: Option<Bytes>) -> Result<Response, AppError> {
    let bytes = bytes.ok_or(AppError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response())
}
