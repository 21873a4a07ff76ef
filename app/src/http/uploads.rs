//! `POST /uploads`: a picture of the user's own joins their gallery, to be edited like any
//! other.

use axum::{
    extract::{Multipart, State, multipart::MultipartRejection},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use axum_extra::extract::SignedCookieJar;

use super::{
    AppError, AppState,
    answer::{go_to, with_retry_after},
    edit_views::{UploadFragment, UploadPage, UploadView},
    error::{refusal, render},
    identity, multipart,
};
use crate::{
    off_thread,
    upload::{PictureLimits, UploadedPicture},
};

/// The most an upload form may carry: one picture at the largest any operation takes.
pub const MAX_UPLOAD_BODY_BYTES: usize = PictureLimits::EDIT.max_bytes + 64 * 1024;

const PICTURE: &str = "picture";

/// Said if a decoder gave up in a way it should not have.
pub const UNREADABLE: &str = "Easel could not read this picture. Choose another.";

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let owner = identity::required_owner(&jar, state.secure_cookie)?;
    let htmx = headers.contains_key("hx-request");
    let refused = |status: StatusCode, message: String| {
        let upload = UploadView::new(Some(message));
        if htmx {
            render(status, &UploadFragment { upload })
        } else {
            render(status, &UploadPage { upload })
        }
    };
    let picture = match checked(form).await {
        Ok(picture) => picture,
        Err((status, message)) => return Ok(refused(status, message)),
    };
    let record = match state.studio.upload(&owner, picture).await {
        Ok(record) => record,
        Err(refusal_) => {
            let (status, message, retry_after) = refusal(&refusal_);
            return Ok(with_retry_after(refused(status, message), retry_after));
        }
    };
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
        .ok_or_else(|| invalid("Choose a PNG, JPEG or WebP picture to upload.".to_owned()))?;
    off_thread::run(move || UploadedPicture::parse(&bytes, &PictureLimits::EDIT))
        .await
        .ok_or_else(|| invalid(UNREADABLE.to_owned()))?
        .map_err(|e| invalid(e.to_string()))
}
