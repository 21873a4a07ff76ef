//! `/tokens`: the signed-in person's (or, with sign-in off, the browser's) personal access
//! tokens: made with a name and an expiry, shown once, listed, revoked.

use std::time::Duration;

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, State},
    http::StatusCode,
    response::{Redirect, Response},
};
use axum_extra::extract::SignedCookieJar;
use serde::Deserialize;
use time::{OffsetDateTime, macros::format_description};

use super::{AppError, AppState, error::render, extract::Owner, identity};
use crate::identity::{OwnerId, Person, TokenHash, TokenInfo, TokenName};

/// How long a new token lasts, as the form offers it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    #[default]
    Never,
    #[serde(rename = "30")]
    Days30,
    #[serde(rename = "90")]
    Days90,
}

impl Expiry {
    fn lifetime(self) -> Option<Duration> {
        const DAY: u64 = 24 * 60 * 60;
        match self {
            Expiry::Never => None,
            Expiry::Days30 => Some(Duration::from_secs(30 * DAY)),
            Expiry::Days90 => Some(Duration::from_secs(90 * DAY)),
        }
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expiry: Expiry,
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    tokens: Vec<TokenRow>,
    name: String,
    name_error: Option<&'static str>,
    new_token: Option<String>,
}

struct TokenRow {
    hash: String,
    name: String,
    made: String,
    last_used: String,
    expires: String,
}

impl TokenRow {
    fn new(token: TokenInfo) -> Self {
        Self {
            hash: token.hash.as_str().to_owned(),
            name: token.name,
            made: day(token.made_at),
            last_used: token.last_used.map_or_else(|| "never".into(), minute),
            expires: token.expires_at.map_or_else(|| "never".into(), day),
        }
    }
}

fn day(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn minute(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

async fn page(
    state: &AppState,
    owner: &OwnerId,
    status: StatusCode,
    form: TokensPage,
) -> Result<Response, AppError> {
    let tokens = state.tokens.list(owner).await?;
    let page = TokensPage {
        tokens: tokens.into_iter().map(TokenRow::new).collect(),
        ..form
    };
    Ok(render(status, &page))
}

fn empty_form() -> TokensPage {
    TokensPage {
        tokens: Vec::new(),
        name: String::new(),
        name_error: None,
        new_token: None,
    }
}

/// `GET /tokens`: a first visit with sign-in off gets its browser identity here, as on `/`.
pub async fn list(
    State(state): State<AppState>,
    person: Option<Extension<Person>>,
    jar: SignedCookieJar,
) -> Result<(SignedCookieJar, Response), AppError> {
    let (jar, owner) = match person {
        Some(Extension(person)) => (jar, person.owner),
        None => identity::owner_or_new(jar, state.secure_cookie),
    };
    Ok((
        jar,
        page(&state, &owner, StatusCode::OK, empty_form()).await?,
    ))
}

/// `POST /tokens`: a new token, shown in this answer and never again.
pub async fn make(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let name = match TokenName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => {
            let form = TokensPage {
                name: form.name.chars().take(200).collect(),
                name_error: Some(error),
                ..empty_form()
            };
            return page(&state, &owner, StatusCode::UNPROCESSABLE_ENTITY, form).await;
        }
    };
    let token = state
        .tokens
        .make(&owner, &name, form.expiry.lifetime())
        .await?;
    tracing::info!(%owner, "made a personal access token");
    let form = TokensPage {
        new_token: Some(token.as_str().to_owned()),
        ..empty_form()
    };
    page(&state, &owner, StatusCode::CREATED, form).await
}

/// `POST /tokens/{hash}/revoke`: the token opens nothing from now on, on every task.
pub async fn revoke(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(hash): Path<String>,
) -> Result<Redirect, AppError> {
    let hash = TokenHash::parse(&hash).ok_or(AppError::NotFound)?;
    if !state.tokens.revoke(&owner, &hash).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(%owner, "revoked a personal access token");
    Ok(Redirect::to("/tokens"))
}
