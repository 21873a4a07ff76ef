//! The one place that decides what a script sees for each failure, in OpenAI's error object
//! (`{"error":{"message","type","param","code"}}`) so its clients raise their usual exceptions.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::{
    identity::IdentityError,
    studio::{StoreFailed, sentences::api as sentences},
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, a malformed one, or one that opens nothing: the sentence says which.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("no such route")]
    NoSuchRoute,
    #[error("no such method")]
    NoSuchMethod,
    /// Nothing of the caller's by that id: another owner's looks the same, so none is revealed.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// A field the caller sent is not one Easel takes: which field, and why.
    #[error("bad {param}: {message}")]
    BadField {
        param: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreFailed),
}

#[derive(Serialize)]
struct Body<'a> {
    error: ErrorObject<'a>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    message: &'a str,
    r#type: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// Seconds a script is asked to wait when the store did not answer.
const RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut param = None;
        let (status, message, kind, code) = match &self {
            ApiError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                *message,
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            ApiError::NoSuchRoute => (
                StatusCode::NOT_FOUND,
                sentences::NO_SUCH_ROUTE,
                "invalid_request_error",
                None,
            ),
            ApiError::NoSuchMethod => (
                StatusCode::METHOD_NOT_ALLOWED,
                sentences::NO_SUCH_METHOD,
                "invalid_request_error",
                None,
            ),
            ApiError::NotFound(message) => (
                StatusCode::NOT_FOUND,
                *message,
                "invalid_request_error",
                None,
            ),
            ApiError::BadField {
                param: field,
                message,
            } => {
                param = Some(*field);
                (
                    StatusCode::BAD_REQUEST,
                    *message,
                    "invalid_request_error",
                    None,
                )
            }
            ApiError::Identity(e) => {
                tracing::error!(error = %e, "the token store failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    sentences::STORE_UNAVAILABLE,
                    "server_error",
                    None,
                )
            }
            ApiError::Store(e) => {
                tracing::error!(error = ?e, "the store failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    sentences::STORE_UNAVAILABLE,
                    "server_error",
                    None,
                )
            }
        };
        let body = Body {
            error: ErrorObject {
                message,
                r#type: kind,
                param,
                code,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}

pub async fn no_such_route() -> ApiError {
    ApiError::NoSuchRoute
}

pub async fn no_such_method() -> ApiError {
    ApiError::NoSuchMethod
}
