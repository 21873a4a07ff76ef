//! Reading a multipart form, the only way a picture reaches Easel. The route's body limit
//! bounds the whole form; a part cut off by it is reported next to its field. Text is capped
//! while it is read, field by field and in all, since a form's text is shown again in the
//! answer: a prompt of megabytes would come back as more megabytes, escaped.

use axum::{
    extract::{
        Multipart,
        multipart::{MultipartError, MultipartRejection},
    },
    http::StatusCode,
};
use bytes::Bytes;

const MIB: usize = 1024 * 1024;
const KIB: usize = 1024;

/// Any text field but a prompt: a setting, a seed, an operation's id.
const FIELD_BYTES: usize = 4 * KIB;
/// All the text of one form.
const TEXT_BYTES: usize = 64 * KIB;
/// The fields whose cap is the longest prompt the form may carry.
const PROMPTS: [&str; 2] = ["prompt", "negative_prompt"];

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
    /// The field's name as sent.
    pub field: String,
    pub message: String,
    /// 413 for a form or a field past its limit, 400 for one that is not a form at all.
    pub status: StatusCode,
}

/// Reads every part: those named in `files` as bytes, any other as text. `limit` is the
/// route's body limit, named in the sentence when a form is past it; `prompt_chars` is the
/// longest prompt the form may carry (0 when it carries none).
pub async fn read(
    multipart: Result<Multipart, MultipartRejection>,
    files: &[&'static str],
    limit: usize,
    prompt_chars: usize,
) -> Result<SentForm, Unreadable> {
    let first_file = files.first().copied().unwrap_or_default();
    let mut multipart = multipart.map_err(|_| Unreadable {
        field: first_file.to_owned(),
        message: "Send this form from Easel's own page: it was not a file upload.".to_owned(),
        status: StatusCode::BAD_REQUEST,
    })?;
    let mut sent = SentForm::default();
    let mut text_left = TEXT_BYTES;
    loop {
        let part = multipart
            .next_field()
            .await
            .map_err(|e| unreadable(first_file, &e, limit))?;
        let Some(mut part) = part else {
            return Ok(sent);
        };
        let name = part.name().unwrap_or_default().to_owned();
        let file = files.iter().copied().find(|file| *file == name);
        let cap = match file {
            Some(_) => usize::MAX,
            None => text_cap(&name, prompt_chars).min(text_left),
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = part
            .chunk()
            .await
            .map_err(|e| unreadable(file.unwrap_or(first_file), &e, limit))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > cap {
                return Err(too_long(name, prompt_chars, text_left));
            }
        }
        match file {
            Some(file) => sent.files.push((file.to_owned(), Bytes::from(bytes))),
            None => {
                text_left -= bytes.len();
                sent.fields
                    .push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
}

/// The most a text field may hold, in bytes: a prompt's characters may take four each.
fn text_cap(name: &str, prompt_chars: usize) -> usize {
    if PROMPTS.contains(&name) {
        (prompt_chars * 4).max(FIELD_BYTES)
    } else {
        FIELD_BYTES
    }
}

/// The sentence for a text field past its cap; the value itself is never shown again.
fn too_long(field: String, prompt_chars: usize, text_left: usize) -> Unreadable {
    let message = if text_cap(&field, prompt_chars) > text_left {
        format!(
            "This form holds more text than Easel takes ({} KB in all). Shorten it.",
            TEXT_BYTES / KIB
        )
    } else if PROMPTS.contains(&field.as_str()) {
        format!(
            "The {} is longer than any operation takes: at most {prompt_chars} characters.",
            field.replace('_', " ")
        )
    } else {
        format!(
            "This field is longer than Easel takes ({} KB at most).",
            FIELD_BYTES / KIB
        )
    };
    Unreadable {
        field,
        message,
        status: StatusCode::PAYLOAD_TOO_LARGE,
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
        field: field.to_owned(),
        message,
        status: if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        },
    }
}
