//! `POST /uploads`: a picture of the user's own joins their gallery, to be edited like any
//! other.

use axum::{
    extract::{Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
    response::Response,
};

use super::{
    AppError, AppState,
    answer::go_to,
    edit_views::{UploadFragment, UploadPage, UploadView},
    error::render,
    extract::{HxRequest, Owner},
    multipart,
};
use crate::{
    off_thread,
    studio::sentences,
    upload::{PictureLimits, UploadedPicture},
};

/// The most an upload form may carry: one picture at the largest any operation takes.
pub const MAX_UPLOAD_BODY_BYTES: usize = PictureLimits::EDIT.max_bytes + 64 * 1024;

const PICTURE: &str = "picture";

pub async fn upload(
    State(state): State<AppState>,
    Owner(owner): Owner,
    HxRequest(htmx): HxRequest,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let picture = match checked(form).await {
        Ok(picture) => picture,
        Err((status, message)) => {
            // The sentence goes next to the field.
            let upload = UploadView::new(Some(message));
            return Ok(if htmx {
                render(status, &UploadFragment { upload })
            } else {
                render(status, &UploadPage { upload })
            });
        }
    };
    let record = state.studio.upload(&owner, picture).await?;
    let edit = format!("/images/{}/edit", record.id);
    Ok(go_to(&edit, htmx, StatusCode::CREATED))
}

/// The uploaded picture, decoded and cleaned, or a sentence for its field.
async fn checked(
    form: Result<Multipart, MultipartRejection>,
) -> Result<UploadedPicture, (StatusCode, String)> {
    let sent = multipart::read(form, &[PICTURE], MAX_UPLOAD_BODY_BYTES, 0)
        .await
        .map_err(|unreadable| (unreadable.status, unreadable.message))?;
    let invalid = |message: String| (StatusCode::UNPROCESSABLE_ENTITY, message);
    let bytes = sent
        .file(PICTURE)
        .cloned()
        .ok_or_else(|| invalid(sentences::CHOOSE_UPLOAD.to_owned()))?;
    off_thread::run(move || UploadedPicture::parse(&bytes, &PictureLimits::EDIT))
        .await
        .ok_or_else(|| invalid(sentences::UNREADABLE.to_owned()))?
        .map_err(|e| invalid(e.to_string()))
}
