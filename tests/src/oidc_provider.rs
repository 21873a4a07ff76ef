//! An OpenID Connect provider for the sign-in tests: a small web app on `localhost` (another
//! site than the app on `127.0.0.1`, as a real provider is) that speaks the authorization code
//! flow with PKCE the way providers do. It serves discovery, a sign-in form where any username
//! signs in, the token endpoint, its keys (RS256, made at start, rotated on demand), userinfo
//! and logout.
//!
//! ```no_run
//! # async fn journey(app_url: &str) {
//! use easel_tests::oidc_provider::OidcProvider;
//!
//! let provider = OidcProvider::start().await;
//! // ... start the app with sign-in through it: `spawn_app_with_sign_in(&bedrock, &provider)`
//! let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
//! let home = provider.sign_in(&browser, app_url, "ada").await;
//! provider.will_issue_an_expired_id_token();
//! # }
//! ```

mod endpoints;
mod id_token;
mod keys;
mod sign_in_form;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinHandle;

use id_token::Forgery;
use keys::{Keys, SigningKey};
use sign_in_form::SignInForm;

/// The only client the provider knows, as an operator would register Easel with a provider.
const CLIENT_ID: &str = "easel";
const CLIENT_SECRET: &str = "easel-test-secret";

/// The redirect URI registered for the client. Any port is allowed on a loopback address, as
/// RFC 8252 asks of providers: the app under test listens on a port of the moment.
const REDIRECT_URI: &str = "http://127.0.0.1/auth/callback";

/// A running provider; dropping it stops the server.
pub struct OidcProvider {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

/// What the endpoints share with the test.
struct Shared {
    issuer: String,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State {
    keys: Keys,
    /// Codes given out and not yet exchanged.
    grants: HashMap<String, Grant>,
    /// Access tokens given out, with the person each speaks for.
    access_tokens: HashMap<String, Person>,
    /// What is wrong with the next ID token, if anything.
    forgery: Option<Forgery>,
    sign_outs: Vec<SignOut>,
    /// Discovery names no end-session endpoint, as Cognito's does not: its logout is elsewhere.
    like_cognito: bool,
}

/// What a code stands for: who signed in, for which request.
struct Grant {
    person: Person,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
}

/// Who signed in: anyone, under any username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub subject: String,
    pub email: String,
    pub name: String,
}

impl Person {
    /// The person who signs in as `username`: always the same subject for the same username.
    pub fn named(username: &str) -> Self {
        Self {
            subject: format!("person-{username}"),
            email: format!("{username}@example.test"),
            name: username.to_owned(),
        }
    }
}

/// A call to the logout endpoint, as the provider saw it: the standard RP-initiated logout
/// (`id_token_hint`, `post_logout_redirect_uri`) or Cognito's (`logout_uri`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SignOut {
    pub client_id: Option<String>,
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub logout_uri: Option<String>,
}

impl OidcProvider {
    /// Starts a provider on a free port of `localhost`.
    pub async fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("a free port")).await
    }

    /// Starts a provider on `listener`, known to the world as `localhost` and its port.
    pub async fn start_on(listener: TcpListener) -> Self {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let port = listener.local_addr().expect("an address").port();
        let shared = Arc::new(Shared {
            issuer: format!("http://localhost:{port}"),
            state: Mutex::new(State {
                keys: Keys::new(),
                grants: HashMap::new(),
                access_tokens: HashMap::new(),
                forgery: None,
                sign_outs: Vec::new(),
                like_cognito: false,
            }),
        });
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        let app = endpoints::router(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the provider serves");
        });
        Self { shared, server }
    }

    /// `http://localhost:PORT`: the issuer, and where discovery starts.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    pub fn client_id(&self) -> &'static str {
        CLIENT_ID
    }

    pub fn client_secret(&self) -> &'static str {
        CLIENT_SECRET
    }

    /// From now on the provider behaves like Cognito: discovery names no end-session endpoint,
    /// and its logout endpoint (`{issuer}/logout`) takes `client_id` and `logout_uri`.
    pub fn speak_like_cognito(&self) {
        self.shared.state().like_cognito = true;
    }

    /// The next ID token expired an hour ago.
    pub fn will_issue_an_expired_id_token(&self) {
        self.forge_next(Forgery::Expired);
    }

    /// The next ID token is meant for another client.
    pub fn will_issue_an_id_token_for_another_audience(&self) {
        self.forge_next(Forgery::WrongAudience);
    }

    /// The next ID token carries a nonce the app never sent.
    pub fn will_issue_an_id_token_with_a_wrong_nonce(&self) {
        self.forge_next(Forgery::WrongNonce);
    }

    /// The next ID token names another issuer.
    pub fn will_issue_an_id_token_from_another_issuer(&self) {
        self.forge_next(Forgery::WrongIssuer);
    }

    /// The next ID token is signed by a key the JWKS does not list.
    pub fn will_sign_the_next_id_token_with_an_unknown_key(&self) {
        let stranger = SigningKey::generate("unlisted");
        self.forge_next(Forgery::UnlistedKey(Box::new(stranger)));
    }

    /// The next ID token carries the person's address as not verified by the provider.
    pub fn will_vouch_for_no_email(&self) {
        self.forge_next(Forgery::UnverifiedEmail);
    }

    fn forge_next(&self, forgery: Forgery) {
        self.shared.state().forgery = Some(forgery);
    }

    /// A new key signs from now on, and the JWKS lists only it, as after a real rotation.
    pub fn rotate_keys(&self) {
        self.shared.state().keys.rotate();
    }

    /// The calls to the logout endpoint so far, oldest first.
    pub fn sign_outs(&self) -> Vec<SignOut> {
        self.shared.state().sign_outs.clone()
    }

    /// Signs `username` in through the app at `app_url` in `browser` (a client with a cookie
    /// store that follows redirects): from the app's sign-in to the provider's form, which is
    /// filled in and sent, and back through the app's callback. Returns the page it lands on.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        app_url: &str,
        username: &str,
    ) -> reqwest::Response {
        self.sign_in_from(browser, &sign_in_start(app_url), username)
            .await
    }

    /// As [`OidcProvider::sign_in`], starting from any page of the app that leads to sign-in.
    pub async fn sign_in_from(
        &self,
        browser: &reqwest::Client,
        page_url: &str,
        username: &str,
    ) -> reqwest::Response {
        self.form_from(browser, page_url)
            .await
            .sign_in(browser, username)
            .await
    }

    /// Starts signing in through the app at `app_url`, and presses Cancel on the provider's
    /// form: the app's callback is told `error=access_denied`. Returns the page it lands on.
    pub async fn refuse_sign_in(
        &self,
        browser: &reqwest::Client,
        app_url: &str,
    ) -> reqwest::Response {
        self.form_from(browser, &sign_in_start(app_url))
            .await
            .cancel(browser)
            .await
    }

    /// The provider's sign-in form that `page_url` leads to.
    async fn form_from(&self, browser: &reqwest::Client, page_url: &str) -> SignInForm {
        let answer = browser.get(page_url).send().await.expect("GET the page");
        let landed = answer.url().clone();
        assert!(
            landed
                .as_str()
                .starts_with(&format!("{}/authorize", self.issuer())),
            "{page_url} led to {landed} ({}), not to the provider's sign-in form",
            answer.status()
        );
        SignInForm::read(landed, &answer.text().await.expect("the form"))
    }
}

/// Where the app at `app_url` starts a sign-in that ends on its home page.
fn sign_in_start(app_url: &str) -> String {
    format!("{app_url}/auth/sign-in?next=/")
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}
