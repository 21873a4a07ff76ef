//! Who calls the API: the owner of the personal access token in `Authorization: Bearer`.
//! Nothing else is looked at, so a browser's cookie or session opens no API route, and no
//! browser sends the header by itself (hence no same-site check).

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use super::{ApiError, ApiState};
use crate::{
    identity::{OwnerId, Token},
    studio::sentences::api as sentences,
};

pub struct ApiCaller(pub OwnerId);

impl FromRequestParts<ApiState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(sentences::NO_TOKEN))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer)
            .and_then(Token::parse)
            .ok_or(ApiError::Unauthorized(sentences::MALFORMED_TOKEN))?;
        match state.tokens.owner_of(&token).await? {
            Some(owner) => Ok(ApiCaller(owner)),
            None => Err(ApiError::Unauthorized(sentences::UNKNOWN_TOKEN)),
        }
    }
}

/// The credentials of a `Bearer` header (the scheme's case does not matter).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        assert_eq!(bearer("Bearer esl_pat_x"), Some("esl_pat_x"));
        assert_eq!(bearer("bearer  esl_pat_x "), Some("esl_pat_x"));
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer("esl_pat_x"), None);
    }
}
