//! The provider's endpoints, as discovery lists them.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::{AccessToken, AuthorizationCode};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::{CLIENT_ID, CLIENT_SECRET, Grant, Person, REDIRECT_URI, Shared, SignOut, id_token};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(sign_in_form).post(signed_in))
        .route("/token", axum::routing::post(token))
        .route("/jwks", get(jwks))
        .route("/userinfo", get(userinfo))
        .route("/logout", get(logout))
        .with_state(shared)
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let issuer = &shared.issuer;
    let end_session = (!shared.state().like_cognito).then(|| format!("{issuer}/logout"));
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": end_session,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
    }))
}

/// An authorization request as it comes, in the query or, from the form, in hidden fields.
#[derive(Deserialize)]
struct AuthorizationQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// An authorization request the provider accepts: the code flow, for the registered client
/// and redirect URI, with `state`, `nonce` and an S256 PKCE challenge.
struct AuthorizationRequest {
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: String,
}

impl TryFrom<AuthorizationQuery> for AuthorizationRequest {
    /// What is wrong, in a sentence.
    type Error = String;

    fn try_from(query: AuthorizationQuery) -> Result<Self, String> {
        let given = |value: Option<String>, name: &str| {
            value
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("The request has no {name}."))
        };
        if query.client_id.as_deref() != Some(CLIENT_ID) {
            return Err("The client is unknown.".to_owned());
        }
        let redirect_uri = given(query.redirect_uri, "redirect_uri")?;
        if !is_registered(&redirect_uri) {
            return Err(format!("{redirect_uri} is not a registered redirect URI."));
        }
        if query.response_type.as_deref() != Some("code") {
            return Err("Only the code flow is served: response_type must be code.".to_owned());
        }
        let scope = given(query.scope, "scope")?;
        if !scope.split(' ').any(|scope| scope == "openid") {
            return Err("The scope must include openid.".to_owned());
        }
        if query.code_challenge_method.as_deref() != Some("S256") {
            return Err("PKCE is required: code_challenge_method must be S256.".to_owned());
        }
        Ok(Self {
            redirect_uri,
            scope,
            state: given(query.state, "state")?,
            nonce: given(query.nonce, "nonce")?,
            code_challenge: given(query.code_challenge, "code_challenge")?,
        })
    }
}

/// Whether `uri` is the registered redirect URI, on any port when it is a loopback address.
fn is_registered(uri: &str) -> bool {
    let registered = Url::parse(REDIRECT_URI).expect("the registered redirect URI");
    Url::parse(uri).is_ok_and(|mut uri| {
        let on_loopback = uri.host_str() == registered.host_str();
        if on_loopback {
            let _ = uri.set_port(None);
        }
        uri == registered
    })
}

fn bad_request(problem: String) -> Response {
    let page = format!(
        "<!doctype html><title>Sign-in refused</title><p id=\"problem\">{}</p>",
        escape(&problem)
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

/// The sign-in form, the request kept in hidden fields.
async fn sign_in_form(Query(query): Query<AuthorizationQuery>) -> Response {
    match AuthorizationRequest::try_from(query) {
        Ok(request) => Html(form_page(&request)).into_response(),
        Err(problem) => bad_request(problem),
    }
}

fn form_page(request: &AuthorizationRequest) -> String {
    let hidden = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", &request.redirect_uri),
        ("scope", &request.scope),
        ("state", &request.state),
        ("nonce", &request.nonce),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", "S256"),
    ]
    .map(|(name, value)| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    })
    .join("\n");
    format!(
        "<!doctype html>
<title>Sign in</title>
<h1>Sign in to the test provider</h1>
<form id=\"sign-in-form\" method=\"post\" action=\"/authorize\">
{hidden}
<label>Username <input id=\"username\" name=\"username\" autofocus></label>
<button id=\"sign-in\" type=\"submit\" name=\"decision\" value=\"allow\">Sign in</button>
<button id=\"cancel\" type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>
</form>"
    )
}

/// The sign-in form as sent: the request again, who signs in, and whether they went on.
#[derive(Deserialize)]
struct SignInAnswer {
    #[serde(flatten)]
    request: AuthorizationQuery,
    username: Option<String>,
    decision: Option<Decision>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Allow,
    Deny,
}

/// Back to the client with a code, or with `error=access_denied` when the person cancelled.
async fn signed_in(
    State(shared): State<Arc<Shared>>,
    Form(answer): Form<SignInAnswer>,
) -> Response {
    let request = match AuthorizationRequest::try_from(answer.request) {
        Ok(request) => request,
        Err(problem) => return bad_request(problem),
    };
    if answer.decision == Some(Decision::Deny) {
        return back_to_client(&request, [("error", "access_denied")]);
    }
    let username = answer.username.unwrap_or_default();
    let username = username.trim();
    if username.is_empty()
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return bad_request(
            "A username is letters, digits, dots, dashes or underscores.".to_owned(),
        );
    }
    let code = random_token();
    let grant = Grant {
        person: Person::named(username),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
    };
    shared.state().grants.insert(code.clone(), grant);
    back_to_client(&request, [("code", code.as_str())])
}

/// A 303 to the client's redirect URI with `parameters` and the request's `state`.
fn back_to_client<'a>(
    request: &AuthorizationRequest,
    parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Response {
    let mut to = Url::parse(&request.redirect_uri).expect("a registered redirect URI");
    to.query_pairs_mut()
        .extend_pairs(parameters)
        .append_pair("state", &request.state);
    Redirect::to(to.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An error of the token or userinfo endpoint, in OAuth's JSON shape.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (status, Json(body)).into_response()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    let credentials = basic_credentials(&headers)
        .or_else(|| Some((request.client_id.clone()?, request.client_secret.clone()?)));
    if credentials != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client's id or secret is wrong.",
        );
    }
    if request.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only authorization_code is served.",
        );
    }
    let code = request.code.unwrap_or_default();
    let mut state = shared.state();
    // A code is spent by its first use, right or wrong.
    let Some(grant) = state.grants.remove(&code) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The code is unknown or was used already.",
        );
    };
    if request.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The redirect_uri differs from the authorization request's.",
        );
    }
    let verifier = request.code_verifier.unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The code_verifier does not match the code_challenge.",
        );
    }
    let access_token = AccessToken::new(random_token());
    let forgery = state.forgery.take();
    let id_token = id_token::sign(
        &shared.issuer,
        &grant,
        state.keys.current(),
        forgery.as_ref(),
        &access_token,
        &AuthorizationCode::new(code),
    );
    state
        .access_tokens
        .insert(access_token.secret().clone(), grant.person);
    Json(json!({
        "access_token": access_token.secret(),
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

/// The client id and secret of an `Authorization: Basic` header, form-decoded as RFC 6749
/// has clients encode them.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decoded = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(String::from)
    };
    Some((form_decoded(id)?, form_decoded(secret)?))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.state().keys.published()).into_response()
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let person = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| shared.state().access_tokens.get(token).cloned());
    match person {
        Some(person) => Json(json!({
            "sub": person.subject,
            "email": person.email,
            "email_verified": true,
            "name": person.name,
        }))
        .into_response(),
        None => {
            let mut refused = oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token is unknown.",
            );
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            refused
        }
    }
}

/// Records the sign-out and goes back to where the client asked, standard or Cognito style.
async fn logout(State(shared): State<Arc<Shared>>, Query(sign_out): Query<SignOut>) -> Response {
    let back = sign_out
        .post_logout_redirect_uri
        .clone()
        .or_else(|| sign_out.logout_uri.clone());
    shared.state().sign_outs.push(sign_out);
    match back {
        Some(back) => Redirect::to(&back).into_response(),
        None => {
            Html("<!doctype html><title>Signed out</title><p>You are signed out.").into_response()
        }
    }
}

/// A fresh code or access token.
fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// `text` made safe inside HTML text and quoted attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
