//! Routes and the glue between requests, the core and the templates.

mod admin;
mod answer;
mod api_commands;
mod assets;
mod auth;
mod body_gate;
mod edit;
mod edit_views;
mod error;
mod extract;
mod generate;
mod health;
mod identity;
mod images;
mod jobs;
mod multipart;
mod operator_views;
mod origin;
mod pages;
mod recipe;
mod request_id;
mod same_site;
mod share;
mod share_views;
mod tokens;
mod uploads;
mod viewers;
mod views;

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef, State},
    http::{HeaderName, HeaderValue, Request, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::Key;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use self::same_site::check_same_site;
use crate::{
    api::{self, ApiState},
    identity::{Admins, PublicUrl, Tokens},
    studio::Studio,
};

pub use auth::{SignIn, signed_in};
pub use error::AppError;
pub use viewers::AllowedViewers;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub studio: Studio,
    pub cookie_key: Key,
    /// Accepted besides `cookie_key` during a rotation (see `identity`).
    pub previous_cookie_key: Option<Key>,
    pub secure_cookie: bool,
    /// Pictures on one page of the gallery.
    pub page_size: usize,
    /// How often a quiet job stream sends a comment.
    pub stream_keep_alive: Duration,
    /// Where viewers may come from; `None`: anywhere.
    pub allowed_viewers: Option<AllowedViewers>,
    /// Who may open `/admin`.
    pub admins: Admins,
    /// Present when people sign in (`EASEL_AUTH=oidc`).
    pub sign_in: Option<SignIn>,
    /// The origin browsers see, when it is not the request's own host.
    pub public_url: Option<PublicUrl>,
    /// Other origins Easel's forms may lead to: the provider's sign-out.
    pub form_targets: Vec<String>,
    /// Personal access tokens, for the API.
    pub tokens: Tokens,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}

/// A form is a few KB even at the longest prompt; anything bigger is refused before parsing.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let cookie_keys = identity::CookieKeys {
        current: state.cookie_key.clone(),
        previous: state.previous_cookie_key.clone(),
        secure: state.secure_cookie,
    };
    // Served over HTTPS: browsers are told to keep to HTTPS for a year. Sub-domains are left
    // alone, since Easel often runs on one among others it does not own.
    let strict_transport = state.secure_cookie.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    let viewers = state
        .allowed_viewers
        .clone()
        .map(|allowed| middleware::from_fn_with_state(allowed, viewers::only_allowed));
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/generate", post(generate::generate))
        .route("/form-fields", get(pages::form_fields))
        .route("/gallery", get(pages::gallery))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            after_first_model_check,
        ));
    Router::new()
        .merge(pages)
        .route("/images/{id}", get(pages::permalink))
        .route("/images/{id}/image.png", get(images::inline))
        .route("/images/{id}/preview.jpg", get(images::preview))
        .route("/images/{id}/download", get(images::download))
        .route("/images/{id}/delete", post(images::delete))
        .route("/images/{id}/share", post(share::create))
        .route("/images/{id}/shares/revoke", post(share::revoke))
        .route("/s/{link}", get(share::page))
        .route("/s/{link}/image.png", get(share::image))
        .route("/s/{link}/preview.jpg", get(share::preview))
        // Only the routes a picture is sent to take more than a form's worth of body.
        .route(
            "/images/{id}/edit",
            get(edit::page)
                .post(edit::submit)
                .layer(DefaultBodyLimit::max(edit::MAX_EDIT_BODY_BYTES)),
        )
        .route("/images/{id}/edit/fields", get(edit::fields))
        .route(
            "/recipe",
            post(recipe::restore).layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD_BODY_BYTES)),
        )
        .route(
            "/uploads",
            post(uploads::upload).layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD_BODY_BYTES)),
        )
        .route("/jobs/{id}", get(jobs::page))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/admin", get(admin::page))
        .route("/tokens", get(tokens::list).post(tokens::make))
        .route("/tokens/{hash}/revoke", post(tokens::revoke))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/assets/{file}", get(assets::asset))
        .route("/auth/sign-in", get(auth::sign_in))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/sign-out", post(auth::sign_out))
        .fallback(pages::not_found)
        // Innermost, so that the sign-in has already said who is asking.
        .layer(middleware::from_fn_with_state(
            state.studio.clone(),
            admin::note_people,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            body_gate::BodyGate {
                studio: state.studio.clone(),
                cookie_key: state.cookie_key.clone(),
                secure_cookie: state.secure_cookie,
            },
            body_gate::admit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ))
        .layer(middleware::from_fn_with_state(
            cookie_keys,
            identity::accept_previous_key,
        ))
        .layer(middleware::from_fn_with_state(
            state.public_url.clone(),
            same_site_only,
        ))
        .layer(middleware::from_fn(error::note_htmx))
        // The API knows its callers by token alone: outside the session gate and the
        // same-site check, inside what every answer carries (no-store among it).
        .merge(api::router(ApiState {
            studio: state.studio.clone(),
            tokens: state.tokens.clone(),
            public_url: state.public_url.clone(),
            page_size: state.page_size,
        }))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(request_id::set_aside_client_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        let client_request_id = request_id::client_id(request);
                        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id, client_request_id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CompressionLayer::new())
                .option_layer(strict_transport)
                // A page and its htmx fragment share a URL: caches must keep them apart.
                .layer(SetResponseHeaderLayer::appending(
                    header::VARY,
                    HeaderValue::from_static("HX-Request"),
                ))
                // Everything the page needs comes from its own origin; nothing may frame it.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    content_security_policy(&state.form_targets),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // Pages and fragments are one person's: no cache between them and their browser
                // may keep them. Pictures and assets say how long they keep.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::GATEWAY_TIMEOUT,
                    request_timeout,
                ))
                // Inside the headers above, so a refusal carries them too.
                .option_layer(viewers),
        )
        .with_state(state)
}

/// Everything the page needs comes from its own origin; nothing may frame it. Forms post to
/// Easel alone, but a form's redirect counts too: the sign-out's, to the provider, is let out.
fn content_security_policy(form_targets: &[String]) -> HeaderValue {
    let form_action = std::iter::once("'self'")
        .chain(form_targets.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action {form_action}; base-uri 'none'"
    ))
    .expect("origins are valid header text")
}

/// Every state-changing request must come from Easel's own pages.
async fn same_site_only(
    State(public_url): State<Option<PublicUrl>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let origin = public_url.as_ref().map(PublicUrl::origin);
    match check_same_site(request.method(), request.headers(), origin) {
        Ok(()) => next.run(request).await,
        Err(refused) => AppError::from(refused).into_response(),
    }
}

/// `/metrics` alone, for the operators' listen address.
pub fn metrics_router(studio: Studio) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(studio): State<Studio>| async move {
                let gauges = studio.gauges().await;
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    studio.metrics().render(&gauges),
                )
            }),
        )
        .with_state(studio)
}

/// What the model select offers depends on the live model list, so the pages that show it (and
/// a generation, which may need an inference profile) wait for its first check; health checks,
/// pictures and assets never do.
async fn after_first_model_check(
    State(state): State<AppState>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    state.studio.first_model_check().await;
    next.run(request).await
}
