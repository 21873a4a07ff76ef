//! The one place that decides what a user sees for each failure: status code and plain sentence.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use super::views::ErrorPage;
use crate::{bedrock::BedrockError, catalogue::ModelSpec, gallery::GalleryError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("image store: {0}")]
    Storage(#[from] GalleryError),
}

/// Seconds a "busy, try again" answer asks the browser to wait.
pub const RETRY_AFTER_SECS: &str = "5";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page or image here. Images are only visible in the browser that made them.",
            ),
            AppError::Storage(e) => {
                tracing::error!(error = ?e, "image store failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage unavailable",
                    "Easel could not reach its image store. Nothing was lost; try again in a moment.",
                )
            }
        };
        let page = ErrorPage {
            title: title.into(),
            message: message.into(),
        };
        render(status, &page)
    }
}

pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
        }
    }
}

/// The status of a generation in which no picture was made.
pub fn generation_status(error: &BedrockError) -> StatusCode {
    match error {
        BedrockError::InputFiltered
        | BedrockError::OutputFiltered
        | BedrockError::Rejected(_)
        | BedrockError::Retired
        | BedrockError::Legacy
        | BedrockError::NotOffered
        | BedrockError::NeedsProfile => StatusCode::UNPROCESSABLE_ENTITY,
        BedrockError::Throttled | BedrockError::Busy | BedrockError::Unavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        BedrockError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        BedrockError::AccessDenied
        | BedrockError::ModelFailed(_)
        | BedrockError::Malformed(_)
        | BedrockError::Unreachable(_) => StatusCode::BAD_GATEWAY,
    }
}

/// A plain sentence for each way a model call can fail. `instead` names a model to pick
/// when this one cannot be used.
pub fn explain(
    error: &BedrockError,
    model: &ModelSpec,
    region: &str,
    instead: Option<&str>,
) -> String {
    let name = &model.name;
    let pick = match instead {
        Some(other) => format!(" Pick {other} instead."),
        None => " Pick another model.".to_owned(),
    };
    match error {
        BedrockError::InputFiltered => "Bedrock's content filter blocked this prompt. Rephrase it and try again.".into(),
        BedrockError::OutputFiltered => "Bedrock's content filter blocked the picture the model made. Try another prompt or seed.".into(),
        BedrockError::Throttled => format!("Bedrock is getting too many requests for {name} right now and asked Easel to slow down. Wait a moment and try again."),
        BedrockError::Busy => "Easel is busy: every slot for this model is taken. Try again in a few seconds.".into(),
        BedrockError::AccessDenied => format!("This AWS account may not use {name}. Enable access to it in the Bedrock console (Model access, region {region}), then try again."),
        BedrockError::Retired => format!("{name} has reached the end of its life on Bedrock and no longer makes pictures.{pick}"),
        BedrockError::Legacy => format!("{name} is a Legacy model that this AWS account may no longer use.{pick}"),
        BedrockError::NotOffered => format!("{name} is not offered by Bedrock in {region}.{pick}"),
        BedrockError::NeedsProfile => format!("{name} can only be called through an inference profile, and Easel found none in {region}.{pick}"),
        BedrockError::Timeout => format!("{name} did not answer in time. Try again; fewer or smaller pictures are quicker."),
        BedrockError::ModelFailed(_) => format!("{name} failed while making the picture. Try again."),
        BedrockError::Malformed(_) => format!("{name} sent back an answer Easel could not read, so nothing was saved. Try again."),
        BedrockError::Unavailable => "Bedrock is unavailable right now. Try again in a minute.".into(),
        BedrockError::Unreachable(_) => "Easel could not reach Bedrock. Try again later; if it persists, the operator should check the network.".into(),
        BedrockError::Rejected(message) => format!("Bedrock refused the request: {message}"),
    }
}
