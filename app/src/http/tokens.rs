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
use crate::identity::{MAX_NAME_CHARS, OwnerId, Person, TokenHash, TokenInfo, TokenName};

/// How long a new token lasts, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Never,
    Days(u64),
}

impl Expiry {
    const NOT_OFFERED: &'static str =
        "Pick when the token expires: never, in 30 days or in 90 days.";

    fn parse(value: &str) -> Result<Self, &'static str> {
        match value {
            "" | "never" => Ok(Expiry::Never),
            "30" => Ok(Expiry::Days(30)),
            "90" => Ok(Expiry::Days(90)),
            _ => Err(Self::NOT_OFFERED),
        }
    }

    fn lifetime(self) -> Option<Duration> {
        match self {
            Expiry::Never => None,
            Expiry::Days(days) => Some(Duration::from_secs(days * 24 * 60 * 60)),
        }
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expiry: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    tokens: Vec<TokenRow>,
    name: String,
    name_error: Option<&'static str>,
    expiry_error: Option<&'static str>,
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
        expiry_error: None,
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
    let (name, expiry) = match (TokenName::parse(&form.name), Expiry::parse(&form.expiry)) {
        (Ok(name), Ok(expiry)) => (name, expiry),
        (name, expiry) => {
            let form = TokensPage {
                name: form.name.chars().take(MAX_NAME_CHARS * 2).collect(),
                name_error: name.err(),
                expiry_error: expiry.err(),
                ..empty_form()
            };
            return page(&state, &owner, StatusCode::UNPROCESSABLE_ENTITY, form).await;
        }
    };
    let token = state.tokens.make(&owner, &name, expiry.lifetime()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiries_offered_are_never_30_and_90_days() {
        assert_eq!(Expiry::parse("never").unwrap().lifetime(), None);
        assert_eq!(Expiry::parse("").unwrap(), Expiry::Never);
        assert_eq!(
            Expiry::parse("30").unwrap().lifetime(),
            Some(Duration::from_secs(30 * 86400))
        );
        assert_eq!(Expiry::parse("90").unwrap(), Expiry::Days(90));
        for bad in ["7", "365", "-1", "forever"] {
            assert_eq!(Expiry::parse(bad), Err(Expiry::NOT_OFFERED));
        }
    }
}
