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
    studio::{Refusal, StoreFailed, sentences},
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
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A field of the request is missing, of the wrong type, or breaks the model's rules.
    #[error("{param}: {message}")]
    BadField {
        param: &'static str,
        message: String,
    },
    #[error("no model {0:?}")]
    ModelNotFound(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The job ended without a picture; the sentence says why.
    #[error("the job failed: {0}")]
    Failed(String),
    /// The job outlived the wait; it still lands in the gallery.
    #[error("the job is still running")]
    StillRunning,
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

/// Seconds a script is asked to wait when the store did not answer or Easel is busy.
const RETRY_AFTER_SECS: u64 = 5;

const INVALID: &str = "invalid_request_error";
const SERVER: &str = "server_error";

/// How one failure is told: OpenAI's status, type and code, and when to try again.
struct Told {
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
    retry_after: Option<u64>,
}

impl Told {
    fn new(status: StatusCode, message: impl Into<String>, kind: &'static str) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }
}

impl ApiError {
    fn told(&self) -> Told {
        match self {
            ApiError::Unauthorized(message) => Told {
                code: Some("invalid_api_key"),
                ..Told::new(StatusCode::UNAUTHORIZED, *message, INVALID)
            },
            ApiError::NoSuchRoute => Told::new(
                StatusCode::NOT_FOUND,
                sentences::api::NO_SUCH_ROUTE,
                INVALID,
            ),
            ApiError::NoSuchMethod => Told::new(
                StatusCode::METHOD_NOT_ALLOWED,
                sentences::api::NO_SUCH_METHOD,
                INVALID,
            ),
            ApiError::NotFound(message) => Told::new(StatusCode::NOT_FOUND, *message, INVALID),
            ApiError::Identity(e) => {
                tracing::error!(error = %e, "the token store failed");
                unavailable()
            }
            ApiError::BadField { param, message } => Told {
                param: Some(param),
                ..Told::new(StatusCode::BAD_REQUEST, message.as_str(), INVALID)
            },
            ApiError::ModelNotFound(model) => Told {
                param: Some("model"),
                code: Some("model_not_found"),
                ..Told::new(
                    StatusCode::NOT_FOUND,
                    sentences::api::model_not_found(model),
                    INVALID,
                )
            },
            ApiError::Refused(refusal) => refused(refusal),
            ApiError::Failed(why) => {
                Told::new(StatusCode::INTERNAL_SERVER_ERROR, why.as_str(), SERVER)
            }
            ApiError::StillRunning => Told::new(
                StatusCode::GATEWAY_TIMEOUT,
                sentences::api::STILL_RUNNING,
                SERVER,
            ),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "the store failed");
                unavailable()
            }
        }
    }
}

fn unavailable() -> Told {
    Told {
        retry_after: Some(RETRY_AFTER_SECS),
        ..Told::new(
            StatusCode::SERVICE_UNAVAILABLE,
            sentences::api::STORE_UNAVAILABLE,
            SERVER,
        )
    }
}

/// The page's refusals, as OpenAI's clients expect them: every limit is a 429, a budget's with
/// `insufficient_quota` so a client does not retry it at once.
fn refused(refusal: &Refusal) -> Told {
    let message = sentences::refusal(refusal);
    let (status, code, retry_after) = match refusal {
        Refusal::ShuttingDown | Refusal::ReadingPictures => (
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            Some(RETRY_AFTER_SECS),
        ),
        Refusal::RateLimited | Refusal::TooManyJobs { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some("rate_limit_exceeded"),
            Some(RETRY_AFTER_SECS),
        ),
        Refusal::QueueFull { wait_secs, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some("rate_limit_exceeded"),
            Some((*wait_secs).max(1)),
        ),
        Refusal::OverBudget(_) | Refusal::OverQuota(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some("insufficient_quota"),
            None,
        ),
        Refusal::Storage(_) | Refusal::Gallery(_) => {
            tracing::error!(error = %refusal, "the store failed");
            return unavailable();
        }
    };
    let kind = match code {
        Some("insufficient_quota") => "insufficient_quota",
        Some(_) => "requests",
        None => SERVER,
    };
    Told {
        code,
        retry_after,
        ..Told::new(status, message, kind)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let told = self.told();
        let body = Body {
            error: ErrorObject {
                message: &told.message,
                r#type: told.kind,
                param: told.param,
                code: told.code,
            },
        };
        let mut response = (told.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if told.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = told.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
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
