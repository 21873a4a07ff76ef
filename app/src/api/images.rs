//! `/api/v1/images`: the caller's gallery for scripts. Listed newest first a page at a time,
//! read, fetched and deleted through the same studio calls as the pages. Another owner's
//! picture answers exactly as a missing one does.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ApiCaller, ApiError, ApiState};
use crate::studio::{ImageId, ImageRecord, Origin, sentences::api as sentences};

/// One picture as a list shows it, with where its bytes are.
#[derive(Debug, Serialize)]
pub struct Image {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// The Easel model id; empty for an uploaded picture.
    model: String,
    prompt: String,
    /// Pixels (`1024x1024`) or an aspect ratio (`16:9`), as the model took it.
    size: String,
    links: Links,
}

/// Where a picture's bytes are, for the caller's token.
#[derive(Debug, Serialize)]
pub struct Links {
    image: String,
    preview: String,
}

impl Links {
    pub fn to(id: &ImageId) -> Self {
        let path = format!("/api/v1/images/{id}");
        Self {
            image: format!("{path}/image.png"),
            preview: format!("{path}/preview.jpg"),
        }
    }
}

/// A picture with how to make it again.
#[derive(Debug, Serialize)]
pub struct ImageWithRecipe {
    #[serde(flatten)]
    image: Image,
    recipe: Recipe,
}

#[derive(Debug, Serialize)]
struct Recipe {
    model_name: String,
    negative_prompt: Option<String>,
    cfg_scale: Option<f32>,
    quality: Option<String>,
    seed: u64,
    price_usd: f64,
    /// `generated`, `uploaded` or `edited`.
    origin: &'static str,
    /// An edit's operation id and the picture it was made from.
    operation: Option<String>,
    source: Option<String>,
}

impl From<&ImageRecord> for Image {
    fn from(record: &ImageRecord) -> Self {
        let recipe = &record.recipe;
        Self {
            id: record.id.to_string(),
            created_at: recipe.created_at,
            model: recipe.model_id.clone(),
            prompt: recipe.prompt.clone(),
            size: recipe.size.clone(),
            links: Links::to(&record.id),
        }
    }
}

impl From<&ImageRecord> for ImageWithRecipe {
    fn from(record: &ImageRecord) -> Self {
        let recipe = &record.recipe;
        let edit = recipe.origin.edit();
        Self {
            image: Image::from(record),
            recipe: Recipe {
                model_name: recipe.model_name.clone(),
                negative_prompt: recipe.negative_prompt.clone(),
                cfg_scale: recipe.cfg_scale,
                quality: recipe.quality.clone(),
                seed: recipe.seed,
                price_usd: recipe.price_usd,
                origin: match recipe.origin {
                    Origin::Generated => "generated",
                    Origin::Uploaded => "uploaded",
                    Origin::Edited(_) => "edited",
                },
                operation: edit.map(|edit| edit.operation.clone()),
                source: edit.map(|edit| edit.source.to_string()),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ImageList {
    data: Vec<Image>,
    /// Pass back as `?cursor=` for the next, older pictures; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// A cursor is the gallery's own page number, as Easel handed it out. Nine digits are more
/// pages than any gallery holds, and keep the offset far from overflowing.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cursor(usize);

impl Cursor {
    const FIRST: Cursor = Cursor(1);

    fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().filter(|&page| page >= 2).map(Cursor)
    }
}

/// `GET /api/v1/images?cursor=...`: the caller's pictures, newest first.
pub async fn list(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ImageList>, ApiError> {
    let Query(query) = query.map_err(|_| bad_cursor())?;
    let cursor = match query.cursor.as_deref() {
        None => Cursor::FIRST,
        Some(text) => Cursor::parse(text).ok_or_else(bad_cursor)?,
    };
    let page = state
        .studio
        .gallery(&owner, cursor.0, state.page_size)
        .await?;
    Ok(Json(ImageList {
        data: page.records.iter().map(Image::from).collect(),
        next_cursor: page.has_more.then(|| (page.page + 1).to_string()),
    }))
}

fn bad_cursor() -> ApiError {
    ApiError::BadField {
        param: "cursor",
        message: sentences::BAD_CURSOR.to_owned(),
    }
}

fn missing() -> ApiError {
    ApiError::NotFound(sentences::NO_SUCH_PICTURE)
}

/// The caller's picture by the id in the path; none, malformed or another owner's alike.
fn owned(id: &str) -> Result<ImageId, ApiError> {
    ImageId::parse(id).ok_or_else(missing)
}

/// `GET /api/v1/images/{id}`: the picture's record and recipe.
pub async fn show(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ImageWithRecipe>, ApiError> {
    let record = state.studio.record(&owner, &owned(&id)?).await?;
    let record = record.ok_or_else(missing)?;
    Ok(Json(ImageWithRecipe::from(&record)))
}

/// `GET /api/v1/images/{id}/image.png`: the full-size PNG, recipe embedded, as the page serves it.
pub async fn png(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state.studio.picture(&owner, &owned(&id)?).await?;
    picture("image/png", bytes)
}

/// `GET /api/v1/images/{id}/preview.jpg`: the display-sized JPEG.
pub async fn preview(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state.studio.preview(&owner, &owned(&id)?).await?;
    picture("image/jpeg", bytes)
}

/// Left to the router's `no-store`: a deleted picture must not live on in a script's cache.
fn picture(content_type: &'static str, bytes: Option<Bytes>) -> Result<Response, ApiError> {
    let bytes = bytes.ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// `DELETE /api/v1/images/{id}`: removes the picture and ends its share links.
pub async fn delete(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.studio.delete(&owner, &owned(&id)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_is_a_later_page_number_easel_could_have_given() {
        assert_eq!(Cursor::parse("2"), Some(Cursor(2)));
        assert_eq!(Cursor::parse("123456789"), Some(Cursor(123_456_789)));
        for bad in ["", "1", "0", "-2", "+2", "2.0", "abc", "1234567890", " 2"] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }
}
