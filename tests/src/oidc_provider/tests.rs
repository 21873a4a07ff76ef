//! The provider as a relying party meets it, through `openidconnect`'s client: discovery, the
//! code flow with PKCE, and ID tokens checked against the JWKS.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use reqwest::StatusCode;
use url::Url;

use super::{OidcProvider, Person, SignInForm, SignOut};

/// Where the app under test would be called back.
const CALLBACK: &str = "http://127.0.0.1:4000/auth/callback";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// `openidconnect`'s HTTP client, on reqwest; redirects are the client's own business.
async fn http(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let (status, headers) = (answer.status(), answer.headers().clone());
    let mut response = HttpResponse::new(answer.bytes().await?.to_vec());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// A browser that stops at each redirect, to see where the provider sends it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// A relying party of `provider`, as the app is, with the JWKS as it is now.
async fn relying_party(provider: &OidcProvider) -> Client {
    relying_party_with_secret(provider, provider.client_secret()).await
}

async fn relying_party_with_secret(provider: &OidcProvider, secret: &str) -> Client {
    let issuer = IssuerUrl::new(provider.issuer().to_owned()).expect("an issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id().to_owned()),
        Some(ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).expect("a redirect URL"))
}

/// A sign-in through the form, up to the code the provider sends back.
struct Authorized {
    code: AuthorizationCode,
    verifier: PkceCodeVerifier,
    nonce: Nonce,
}

/// Where the provider sent the browser, with the query's parameters.
fn redirected_to(answer: &reqwest::Response) -> (Url, Vec<(String, String)>) {
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "a redirect");
    let location = answer.headers()["location"].to_str().expect("a location");
    let url = Url::parse(location).expect("an absolute URL");
    let query = url.query_pairs().into_owned().collect();
    (url, query)
}

/// The authorization URL `client` sends a person to, with a fresh PKCE pair and nonce.
fn authorization(client: &Client) -> (Url, CsrfToken, PkceCodeVerifier, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    (url, state, verifier, nonce)
}

/// The sign-in form at `url`.
async fn form_at(url: Url) -> SignInForm {
    let answer = browser()
        .get(url.clone())
        .send()
        .await
        .expect("GET /authorize");
    assert_eq!(answer.status(), StatusCode::OK, "the form is shown");
    SignInForm::read(url, &answer.text().await.expect("the page"))
}

/// `username` signs in through the provider's form for `client`.
async fn sign_in(client: &Client, username: &str) -> Authorized {
    let (url, state, verifier, nonce) = authorization(client);
    let answer = form_at(url).await.sign_in(&browser(), username).await;
    let (back, query) = redirected_to(&answer);
    assert_eq!(back.as_str().split('?').next(), Some(CALLBACK));
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("no {name} in {back}"))
    };
    assert_eq!(&value("state"), state.secret(), "the state comes back");
    Authorized {
        code: AuthorizationCode::new(value("code")),
        verifier,
        nonce,
    }
}

type TokenError = openidconnect::RequestTokenError<
    reqwest::Error,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
>;

async fn exchange(
    client: &Client,
    code: &AuthorizationCode,
    verifier: &PkceCodeVerifier,
) -> Result<CoreTokenResponse, TokenError> {
    client
        .exchange_code(code.clone())
        .expect("discovery names the token endpoint")
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http)
        .await
}

/// The OAuth error code of a refused exchange.
fn refusal(result: Result<CoreTokenResponse, TokenError>) -> String {
    match result {
        Err(openidconnect::RequestTokenError::ServerResponse(error)) => {
            error.error().as_ref().to_owned()
        }
        other => panic!("expected the provider to refuse, got {other:?}"),
    }
}

/// `username` signs in and the code is exchanged: the ID token's claims as the client checks
/// them, or what the check found wrong.
async fn signed_in_person(
    client: &Client,
    username: &str,
) -> Result<Person, ClaimsVerificationError> {
    let authorized = sign_in(client, username).await;
    let tokens = exchange(client, &authorized.code, &authorized.verifier)
        .await
        .expect("the code is exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&client.id_token_verifier(), &authorized.nonce)?;
    Ok(Person {
        subject: claims.subject().to_string(),
        email: claims.email().expect("an email").to_string(),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .expect("a name")
            .to_string(),
    })
}

#[tokio::test]
async fn discovery_names_every_endpoint_a_client_needs() {
    let provider = OidcProvider::start().await;
    let issuer = provider.issuer();
    assert!(issuer.starts_with("http://localhost:"), "{issuer}");
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_owned()).unwrap(), &http)
            .await
            .expect("openidconnect reads the discovery document");
    assert_eq!(metadata.issuer().as_str(), issuer);
    assert_eq!(
        metadata.token_endpoint().map(|url| url.as_str().to_owned()),
        Some(format!("{issuer}/token"))
    );
    assert_eq!(metadata.jwks().keys().len(), 1, "one key is published");

    let document: serde_json::Value =
        reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(document["end_session_endpoint"], format!("{issuer}/logout"));
    assert_eq!(document["userinfo_endpoint"], format!("{issuer}/userinfo"));
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
}

#[tokio::test]
async fn a_person_signs_in_with_pkce_and_the_id_token_verifies_against_the_jwks() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;
    let authorized = sign_in(&client, "ada").await;
    let tokens = exchange(&client, &authorized.code, &authorized.verifier)
        .await
        .expect("the code is exchanged");
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &authorized.nonce)
        .expect("the ID token verifies");
    assert_eq!(claims.issuer().as_str(), provider.issuer());
    assert_eq!(claims.email().unwrap().as_str(), "ada@example.test");

    // The access token opens userinfo, which tells the same person.
    let userinfo: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/userinfo", provider.issuer()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], claims.subject().as_str());
    assert_eq!(userinfo["email"], "ada@example.test");
    let stranger = reqwest::Client::new()
        .get(format!("{}/userinfo", provider.issuer()))
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);

    // A username is always the same person; another username is someone else.
    let again = signed_in_person(&client, "ada").await.unwrap();
    assert_eq!(again.subject, claims.subject().as_str());
    let grace = signed_in_person(&client, "grace").await.unwrap();
    assert_ne!(grace.subject, again.subject);
    assert_eq!(grace, Person::named("grace"));
}

#[tokio::test]
async fn a_code_is_good_for_one_exchange_only() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;
    let authorized = sign_in(&client, "ada").await;
    exchange(&client, &authorized.code, &authorized.verifier)
        .await
        .expect("the first exchange");
    let replayed = exchange(&client, &authorized.code, &authorized.verifier).await;
    assert_eq!(refusal(replayed), "invalid_grant");
}

#[tokio::test]
async fn a_code_with_the_wrong_pkce_verifier_is_refused() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;
    let authorized = sign_in(&client, "ada").await;
    let (_, someone_elses) = PkceCodeChallenge::new_random_sha256();
    let stolen = exchange(&client, &authorized.code, &someone_elses).await;
    assert_eq!(refusal(stolen), "invalid_grant");
}

#[tokio::test]
async fn the_client_authenticates_in_a_header_or_the_body_and_a_wrong_secret_is_refused() {
    let provider = OidcProvider::start().await;
    let in_the_body = relying_party(&provider)
        .await
        .set_auth_type(AuthType::RequestBody);
    let authorized = sign_in(&in_the_body, "ada").await;
    exchange(&in_the_body, &authorized.code, &authorized.verifier)
        .await
        .expect("client_secret_post is accepted");

    let impostor = relying_party_with_secret(&provider, "guessed").await;
    let authorized = sign_in(&impostor, "ada").await;
    let refused = exchange(&impostor, &authorized.code, &authorized.verifier).await;
    assert_eq!(refusal(refused), "invalid_client");
}

#[tokio::test]
async fn each_forged_id_token_fails_the_clients_check_and_only_the_next_token_is_forged() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;

    type Forge = fn(&OidcProvider);
    type Check = fn(&ClaimsVerificationError) -> bool;
    let forgeries: [(Forge, Check); 5] = [
        (OidcProvider::will_issue_an_expired_id_token, |refused| {
            matches!(refused, ClaimsVerificationError::Expired(_))
        }),
        (
            OidcProvider::will_issue_an_id_token_for_another_audience,
            |refused| matches!(refused, ClaimsVerificationError::InvalidAudience(_)),
        ),
        (
            OidcProvider::will_issue_an_id_token_with_a_wrong_nonce,
            |refused| matches!(refused, ClaimsVerificationError::InvalidNonce(_)),
        ),
        (
            OidcProvider::will_issue_an_id_token_from_another_issuer,
            |refused| matches!(refused, ClaimsVerificationError::InvalidIssuer(_)),
        ),
        (
            OidcProvider::will_sign_the_next_id_token_with_an_unknown_key,
            |refused| {
                matches!(
                    refused,
                    ClaimsVerificationError::SignatureVerification(
                        SignatureVerificationError::NoMatchingKey
                    )
                )
            },
        ),
    ];
    for (forge, is_the_check_that_fails) in forgeries {
        forge(&provider);
        let refused = signed_in_person(&client, "ada")
            .await
            .expect_err("a forged ID token is refused");
        assert!(is_the_check_that_fails(&refused), "{refused:?}");
    }

    assert_eq!(
        signed_in_person(&client, "ada").await.unwrap(),
        Person::named("ada"),
        "the token after a forged one is sound"
    );
}

#[tokio::test]
async fn after_a_rotation_only_the_new_key_is_published_and_signs() {
    let provider = OidcProvider::start().await;
    let before = relying_party(&provider).await;
    provider.rotate_keys();

    let stale = signed_in_person(&before, "ada").await;
    assert!(
        matches!(
            stale,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        ),
        "a client that kept the old JWKS does not know the new key: {stale:?}"
    );
    let after = relying_party(&provider).await;
    assert_eq!(
        signed_in_person(&after, "ada").await.unwrap(),
        Person::named("ada")
    );
    let published: serde_json::Value = reqwest::get(format!("{}/jwks", provider.issuer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<_> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].clone())
        .collect();
    assert_eq!(kids, ["key-2"], "only the new key is listed");
}

#[tokio::test]
async fn cancelling_the_form_sends_access_denied_back_with_the_state() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;
    let (url, state, _, _) = authorization(&client);
    let answer = form_at(url).await.cancel(&browser()).await;
    let (_, query) = redirected_to(&answer);
    assert!(
        query.contains(&("error".to_owned(), "access_denied".to_owned())),
        "{query:?}"
    );
    assert!(
        query.contains(&("state".to_owned(), state.secret().clone())),
        "{query:?}"
    );
    assert!(!query.iter().any(|(key, _)| key == "code"), "no code");
}

#[tokio::test]
async fn a_request_for_another_redirect_uri_or_without_pkce_is_refused_with_a_reason() {
    let provider = OidcProvider::start().await;
    let client = relying_party(&provider).await;
    let (url, ..) = authorization(&client);
    let with = |name: &str, value: Option<&str>| {
        let mut changed = url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(key, _)| key != name)
            .collect();
        changed
            .query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .extend_pairs(value.map(|value| (name, value)));
        changed
    };
    let refused = [
        (
            with("redirect_uri", Some("https://evil.example/auth/callback")),
            "not a registered redirect URI",
        ),
        (with("client_id", Some("someone")), "client is unknown"),
        (with("code_challenge", None), "no code_challenge"),
        (with("code_challenge_method", Some("plain")), "must be S256"),
        (with("nonce", None), "no nonce"),
        (with("state", None), "no state"),
    ];
    for (url, reason) in refused {
        let answer = browser().get(url.clone()).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{url}");
        let page = answer.text().await.unwrap();
        assert!(page.contains(reason), "{url}: {page}");
    }
}

#[tokio::test]
async fn a_sign_out_is_recorded_and_goes_back_where_the_client_asked() {
    let provider = OidcProvider::start().await;
    let logout = Url::parse_with_params(
        &format!("{}/logout", provider.issuer()),
        [
            ("client_id", "easel"),
            ("id_token_hint", "a.b.c"),
            ("post_logout_redirect_uri", "http://127.0.0.1:4000/"),
        ],
    )
    .unwrap();
    let answer = browser().get(logout).send().await.unwrap();
    let (back, _) = redirected_to(&answer);
    assert_eq!(back.as_str(), "http://127.0.0.1:4000/");
    assert_eq!(
        provider.sign_outs(),
        [SignOut {
            client_id: Some("easel".to_owned()),
            id_token_hint: Some("a.b.c".to_owned()),
            post_logout_redirect_uri: Some("http://127.0.0.1:4000/".to_owned()),
            logout_uri: None,
        }]
    );
}
