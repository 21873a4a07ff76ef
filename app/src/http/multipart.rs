//! Reading a multipart form, the only way a picture reaches Easel. The route's body limit
//! bounds the whole form; a part cut off by it is reported next to its field.

use axum::{
    extract::{
        Multipart,
        multipart::{MultipartError, MultipartRejection},
    },
    http::StatusCode,
};
use bytes::Bytes;

const MIB: usize = 1024 * 1024;

/// A multipart form as sent: its text fields in order, and the files of its file inputs. A
/// file input left empty sends an empty part, which counts as no file.
#[derive(Default)]
pub struct SentForm {
    pub fields: Vec<(String, String)>,
    files: Vec<(String, Bytes)>,
}

impl SentForm {
    pub fn file(&self, name: &str) -> Option<&Bytes> {
        self.files
            .iter()
            .find(|(key, bytes)| key == name && !bytes.is_empty())
            .map(|(_, bytes)| bytes)
    }
}

/// The field that could not be read, and a sentence for it.
#[derive(Debug)]
pub struct Unreadable {
    pub field: &'static str,
    pub message: String,
    /// 413 for a form past the limit, 400 for one that is not a form at all.
    pub status: StatusCode,
}

/// Reads every part: those named in `files` as bytes, any other as text. `limit` is the
/// route's body limit, named in the sentence when a form is past it.
pub async fn read(
    multipart: Result<Multipart, MultipartRejection>,
    files: &[&'static str],
    limit: usize,
) -> Result<SentForm, Unreadable> {
    let first_file = files.first().copied().unwrap_or_default();
    let mut multipart = multipart.map_err(|_| Unreadable {
        field: first_file,
        message: "Send this form from Easel's own page: it was not a file upload.".to_owned(),
        status: StatusCode::BAD_REQUEST,
    })?;
    let mut sent = SentForm::default();
    loop {
        let part = multipart
            .next_field()
            .await
            .map_err(|e| unreadable(first_file, &e, limit))?;
        let Some(part) = part else {
            return Ok(sent);
        };
        let name = part.name().unwrap_or_default().to_owned();
        let file = files.iter().copied().find(|file| *file == name);
        let bytes = part
            .bytes()
            .await
            .map_err(|e| unreadable(file.unwrap_or(first_file), &e, limit))?;
        match file {
            Some(file) => sent.files.push((file.to_owned(), bytes)),
            None => sent
                .fields
                .push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
}

fn unreadable(field: &'static str, error: &MultipartError, limit: usize) -> Unreadable {
    let status = error.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "This is more than Easel takes in one form ({} MB in all). Choose a smaller file.",
            limit / MIB
        )
    } else {
        tracing::debug!(error = %error, "unreadable multipart form");
        "The upload was cut off or malformed. Choose the file again.".to_owned()
    };
    Unreadable {
        field,
        message,
        status: if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        },
    }
}
