//! The one place that decides what a user sees for each failure: its status, its sentence,
//! when to try again, and whether it comes as a fragment (htmx) or a whole page.

use askama::Template;
use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

use super::{
    auth::BadCallback,
    same_site::CrossSite,
    views::{ErrorPage, RefusalFragment},
};
use crate::{
    identity::IdentityError,
    studio::{Refusal, StoreFailed, sentences},
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// A share link that has expired.
    #[error("gone")]
    Gone,
    /// A form field the handler could not read, with the sentence that says what it needs.
    #[error("invalid form: {}", .0.title)]
    Invalid(&'static sentences::Explained),
    #[error("image store: {0}")]
    Storage(#[from] StoreFailed),
    #[error(transparent)]
    CrossSite(#[from] CrossSite),
    /// A state-changing request from a browser that has no identity yet: identities are only
    /// made on a page load, never by a post (which another site could send).
    #[error("no identity cookie")]
    NoIdentity,
    /// The viewer's address is outside the networks the studio is open to.
    #[error("viewer outside the allowed networks")]
    ViewerNotAllowed,
    /// The studio did not accept what was asked.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Sign-in is on and the request (not a page load) comes without a session.
    #[error("no session")]
    SignedOut,
    #[error(transparent)]
    SignIn(#[from] IdentityError),
    #[error(transparent)]
    BadCallback(#[from] BadCallback),
}

/// Seconds a "busy, try again" answer asks the browser to wait.
const RETRY_AFTER_SECS: u64 = 5;

tokio::task_local! {
    /// Whether the request being answered came from htmx.
    static FROM_HTMX: bool;
}

/// Middleware: notes whether the request came from htmx, for its errors to answer in kind.
pub async fn note_htmx(request: Request, next: Next) -> Response {
    let htmx = super::extract::is_htmx(request.headers());
    FROM_HTMX.scope(htmx, next.run(request)).await
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message, retry_after, refused) = match &self {
            AppError::CrossSite(e) => {
                tracing::warn!(reason = %e, "refused a cross-site request");
                explained(StatusCode::FORBIDDEN, &sentences::CROSS_SITE)
            }
            AppError::NoIdentity => explained(StatusCode::FORBIDDEN, &sentences::NO_IDENTITY),
            AppError::NotFound => explained(StatusCode::NOT_FOUND, &sentences::NOT_FOUND),
            AppError::Gone => explained(StatusCode::GONE, &sentences::LINK_EXPIRED),
            AppError::Invalid(why) => explained(StatusCode::UNPROCESSABLE_ENTITY, why),
            AppError::ViewerNotAllowed => {
                explained(StatusCode::FORBIDDEN, &sentences::VIEWER_NOT_ALLOWED)
            }
            AppError::Storage(e) => {
                tracing::error!(error = ?e, "image store failed");
                explained(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &sentences::STORE_UNAVAILABLE,
                )
            }
            AppError::Refused(refused) => {
                let (status, retry_after) = refusal(refused);
                let message = sentences::refusal(refused);
                (status, sentences::NOT_ACCEPTED, message, retry_after, true)
            }
            AppError::SignedOut => explained(StatusCode::UNAUTHORIZED, &sentences::SIGNED_OUT),
            AppError::SignIn(e) => sign_in_failed(e),
            AppError::BadCallback(e) => {
                tracing::warn!(reason = %e, "refused a sign-in callback");
                explained(StatusCode::BAD_REQUEST, &sentences::SIGN_IN_FAILED)
            }
        };
        let sign_in = matches!(
            self,
            AppError::SignedOut | AppError::SignIn(_) | AppError::BadCallback(_)
        );
        let htmx = FROM_HTMX.try_with(|htmx| *htmx).unwrap_or(false);
        let mut response = if htmx {
            // Whatever the form aimed at, a failure lands on top of the results.
            // A refusal's sentence says it all; another failure is named first.
            let message = match refused {
                true => message,
                false => format!("{title}. {message}"),
            };
            let mut response = render(
                status,
                &RefusalFragment {
                    messages: vec![message],
                },
            );
            let headers = response.headers_mut();
            headers.insert("hx-retarget", HeaderValue::from_static("#result"));
            headers.insert("hx-reswap", HeaderValue::from_static("afterbegin"));
            response
        } else {
            render(
                status,
                &ErrorPage {
                    title: title.into(),
                    message,
                    sign_in,
                },
            )
        };
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn sign_in_failed(e: &IdentityError) -> (StatusCode, &'static str, String, Option<u64>, bool) {
    match e {
        IdentityError::Store(e) => {
            tracing::error!(error = %e, "the session store failed");
            explained(
                StatusCode::SERVICE_UNAVAILABLE,
                &sentences::STORE_UNAVAILABLE,
            )
        }
        IdentityError::ProviderUnreachable(reason) => {
            tracing::error!(%reason, "the sign-in provider is unreachable");
            explained(StatusCode::BAD_GATEWAY, &sentences::PROVIDER_UNREACHABLE)
        }
        IdentityError::ProviderRefused(error) => {
            tracing::warn!(%error, "the provider refused a sign-in");
            explained(StatusCode::FORBIDDEN, &sentences::SIGN_IN_REFUSED)
        }
        IdentityError::NoSignInInFlight(_) | IdentityError::NotVerified(_) => {
            tracing::warn!(reason = %e, "refused a sign-in callback");
            explained(StatusCode::BAD_REQUEST, &sentences::SIGN_IN_FAILED)
        }
    }
}

fn explained(
    status: StatusCode,
    explained: &sentences::Explained,
) -> (StatusCode, &'static str, String, Option<u64>, bool) {
    (
        status,
        explained.title,
        explained.message.into(),
        None,
        false,
    )
}

/// The status for a request the studio did not accept, and how many seconds to wait before
/// trying again where waiting helps.
pub fn refusal(refused: &Refusal) -> (StatusCode, Option<u64>) {
    match refused {
        Refusal::ShuttingDown | Refusal::ReadingPictures => {
            (StatusCode::SERVICE_UNAVAILABLE, Some(RETRY_AFTER_SECS))
        }
        Refusal::RateLimited | Refusal::TooManyJobs { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, Some(RETRY_AFTER_SECS))
        }
        Refusal::QueueFull { wait_secs, .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, Some((*wait_secs).max(1)))
        }
        Refusal::OverBudget(_) => (StatusCode::PAYMENT_REQUIRED, None),
        Refusal::OverQuota(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
        Refusal::Storage(_) | Refusal::Gallery(_) => {
            tracing::error!(error = %refused, "could not store a job or an upload");
            (StatusCode::SERVICE_UNAVAILABLE, Some(RETRY_AFTER_SECS))
        }
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
