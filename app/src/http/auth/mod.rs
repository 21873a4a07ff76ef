//! Signing in and out through an OpenID Connect provider: `GET /auth/sign-in?next=/path`
//! leaves for the provider, `GET /auth/callback` comes back with a session, and
//! `POST /auth/sign-out` ends it here and at the provider.

mod callback;
mod cookies;
mod gate;
mod next;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderName, Uri},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::{CookieJar, SignedCookieJar};
use serde::Deserialize;

pub use callback::BadCallback;
pub use gate::{require_session, signed_in};
pub use next::NextPath;

use self::callback::Callback;
use super::{AppError, AppState, identity, origin::origin};
use crate::identity::{IdentityError, Oidc, OwnerId, Sessions};

/// Sign-in's parts, present when `EASEL_AUTH=oidc`.
#[derive(Clone)]
pub struct SignIn {
    pub oidc: Oidc,
    pub sessions: Sessions,
}

fn sign_in_of(state: &AppState) -> Result<&SignIn, AppError> {
    state.sign_in.as_ref().ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
}

/// `GET /auth/sign-in?next=/path`: off to the provider, with the sign-in's secrets kept in a
/// short-lived signed cookie.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Query(query): Query<SignInQuery>,
) -> Result<(SignedCookieJar, Redirect), AppError> {
    let sign_in = sign_in_of(&state)?;
    let next = NextPath::parse(&query.next).unwrap_or_default();
    let callback = format!("{}/auth/callback", origin(&state, &headers));
    let (provider, pending) = sign_in
        .oidc
        .start(&callback, next.as_str().to_owned())
        .await?;
    let jar = cookies::with_pending(jar, &pending, state.secure_cookie);
    Ok((jar, Redirect::to(provider.as_str())))
}

/// `GET /auth/callback`: the provider's answer. The sign-in cookie is used up whatever
/// happens; on success a new session starts and the person goes back where they were.
pub async fn callback(
    State(state): State<AppState>,
    uri: Uri,
    signed: SignedCookieJar,
    jar: CookieJar,
) -> (SignedCookieJar, Result<(CookieJar, Redirect), AppError>) {
    let (signed, pending) = cookies::take_pending(signed, state.secure_cookie);
    let anonymous = identity::owner(&signed, state.secure_cookie);
    let mut handed_over = false;
    let outcome = async {
        let sign_in = sign_in_of(&state)?;
        let callback = Callback::parse(uri.query())?;
        let pending = pending.ok_or(IdentityError::NoSignInInFlight(
            "this browser started no sign-in",
        ))?;
        if let Some(error) = callback.error {
            return Err(IdentityError::ProviderRefused(error).into());
        }
        let (Some(code), Some(returned_state)) = (callback.code, callback.state) else {
            return Err(IdentityError::NoSignInInFlight("no code or state").into());
        };
        let next = NextPath::parse(&pending.next).unwrap_or_default();
        let signed_in = sign_in.oidc.finish(pending, &returned_state, &code).await?;
        if let Some(old) = cookies::session_id(&jar, state.secure_cookie) {
            sign_in.sessions.end(&old).await?;
        }
        let id = sign_in
            .sessions
            .start(&signed_in.person, signed_in.id_token)
            .await?;
        if let Some(anonymous) = &anonymous {
            handed_over = hand_over(&state, anonymous, &signed_in.person.owner).await;
        }
        let jar = cookies::with_session(jar, &id, state.secure_cookie, sign_in.sessions.lifetime());
        tracing::info!(owner = %signed_in.person.owner, "signed in");
        Ok((jar, Redirect::to(next.as_str())))
    }
    .await;
    let signed = if handed_over {
        identity::forget(signed, state.secure_cookie)
    } else {
        signed
    };
    (signed, outcome)
}

/// The browser's anonymous gallery goes to the person signing in, the first time anyone signs
/// in with it. A move that fails leaves the browser its anonymous cookie, so the next sign-in
/// finishes it; the sign-in itself goes on.
async fn hand_over(state: &AppState, anonymous: &OwnerId, person: &OwnerId) -> bool {
    match state.studio.adopt_anonymous(anonymous, person).await {
        Ok(adopted) => {
            tracing::info!(%anonymous, %person, moved = adopted.moved, "anonymous gallery handed over");
            true
        }
        Err(error) => {
            tracing::warn!(%anonymous, %person, %error, "the anonymous gallery could not move yet");
            false
        }
    }
}

/// `POST /auth/sign-out`: the session ends in the store (for every task at once), then the
/// provider ends its own, when it has a way to.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<(CookieJar, Response), AppError> {
    let sign_in = sign_in_of(&state)?;
    let ended = match cookies::session_id(&jar, state.secure_cookie) {
        Some(id) => sign_in.sessions.end(&id).await?,
        None => None,
    };
    let jar = cookies::without_session(jar, state.secure_cookie);
    let back_to = format!("{}/", origin(&state, &headers));
    let provider = match &ended {
        Some(session) => sign_in.oidc.logout_url(&session.id_token, &back_to).await,
        None => None,
    };
    if let Some(session) = &ended {
        tracing::info!(owner = %session.owner, "signed out");
    }
    let to = provider.map_or_else(|| "/".to_owned(), String::from);
    // Pictures are cached privately for a year: a shared computer must not keep showing them
    // to whoever uses it next.
    let forget_pictures = [(HeaderName::from_static("clear-site-data"), "\"cache\"")];
    Ok((jar, (forget_pictures, Redirect::to(&to)).into_response()))
}
