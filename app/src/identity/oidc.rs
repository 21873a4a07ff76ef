//! The OpenID Connect code flow with PKCE, `state` and `nonce`, through the `openidconnect`
//! crate on Easel's own HTTP client.
//!
//! The provider's discovery document is read when first needed and read again after a failure,
//! so Easel starts (and `/healthz` answers) while the provider is unreachable. An ID token
//! signed by a key the cached JWKS lacks makes Easel fetch the JWKS once more: providers rotate
//! their keys.

use std::{future::Future, pin::Pin, str::FromStr, sync::Arc, time::Duration};

use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClaimsVerificationError, ClientId, CsrfToken, HttpRequest,
    HttpResponse, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet},
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Mutex;
use url::Url;

use super::{IdentityError, OidcSettings, OwnerId, Person};

/// How long a sign-in may take between leaving for the provider and coming back.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Bounds on what the provider answers: its documents are a few KB.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_PROVIDER_ANSWER_BYTES: usize = 256 * 1024;

/// A sign-in in flight: what the callback must match, kept by the browser in a signed cookie
/// so that any task can finish it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    state: String,
    nonce: String,
    verifier: String,
    /// The callback URL sent to the provider, sent again with the code.
    redirect: String,
    /// Where to go back after signing in (a path on this origin).
    pub next: String,
    /// Unix seconds; a signed cookie kept past its Max-Age is refused all the same.
    expires_at: i64,
}

/// A person the provider vouched for, with the ID token for the sign-out's hint.
pub struct SignedIn {
    pub person: Person,
    pub id_token: String,
}

#[derive(Clone)]
pub struct Oidc {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OidcSettings,
    http: Http,
    /// The discovery document (with its JWKS) once read.
    provider: Mutex<Option<ProviderMetadataWithLogout>>,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                http: Http::new(),
                provider: Mutex::new(None),
            }),
        }
    }

    /// Where to send the browser to sign in, and what its callback must match.
    /// `callback` is this app's `/auth/callback` as the browser reaches it.
    pub async fn start(
        &self,
        callback: &str,
        next: String,
    ) -> Result<(Url, PendingSignIn), IdentityError> {
        let client = self.client(self.provider().await?, callback)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingSignIn {
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            verifier: verifier.into_secret(),
            redirect: callback.to_owned(),
            next,
            expires_at: (OffsetDateTime::now_utc() + SIGN_IN_LIFETIME).unix_timestamp(),
        };
        Ok((url, pending))
    }

    /// Finishes the sign-in `pending` started, with the `state` and `code` the provider sent
    /// back: the code is exchanged (with the PKCE verifier) and the ID token checked (signature
    /// against the JWKS, issuer, audience, expiry, nonce).
    pub async fn finish(
        &self,
        pending: PendingSignIn,
        state: &str,
        code: &str,
    ) -> Result<SignedIn, IdentityError> {
        if OffsetDateTime::now_utc().unix_timestamp() > pending.expires_at {
            return Err(IdentityError::NoSignInInFlight("the sign-in took too long"));
        }
        if !same_secret(state, &pending.state) {
            return Err(IdentityError::NoSignInInFlight("the state does not match"));
        }
        let client = self.client(self.provider().await?, &pending.redirect)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| IdentityError::ProviderUnreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.inner.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(refused) => {
                    IdentityError::NotVerified(format!("the provider refused the code: {refused}"))
                }
                other => IdentityError::ProviderUnreachable(format!("token request: {other}")),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| IdentityError::NotVerified("no ID token came with the code".into()))?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match self.verify(&client, id_token, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let client = self.client(self.refresh_keys().await?, &pending.redirect)?;
                self.verify(&client, id_token, &nonce)
            }
            checked => checked,
        }
        .map_err(|e| IdentityError::NotVerified(e.to_string()))?;
        let person = Person {
            owner: OwnerId::of_person(claims.issuer().as_str(), claims.subject().as_str()),
            // An address the provider has not verified may be anyone's (an admin's, say).
            email: claims
                .email()
                .filter(|_| claims.email_verified() == Some(true))
                .map(|e| e.as_str().to_owned()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        };
        Ok(SignedIn {
            person,
            id_token: id_token.to_string(),
        })
    }

    /// Where to send the browser after its session ended, so the provider ends its own too:
    /// the standard end-session endpoint when discovery names one, else a logout endpoint in
    /// Cognito's style when one is configured, else nowhere (`None`: straight back to Easel).
    pub async fn logout_url(&self, id_token: &str, back_to: &str) -> Option<Url> {
        let settings = &self.inner.settings;
        let end_session = match self.provider().await {
            Ok(provider) => provider.additional_metadata().end_session_endpoint.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "signing out without the provider's discovery document");
                None
            }
        };
        if let Some(endpoint) = end_session {
            let mut request = LogoutRequest::from(endpoint)
                .set_client_id(ClientId::new(settings.client_id.clone()));
            if let Ok(back_to) = PostLogoutRedirectUrl::new(back_to.to_owned()) {
                request = request.set_post_logout_redirect_uri(back_to);
            }
            if let Ok(token) = CoreIdToken::from_str(id_token) {
                request = request.set_id_token_hint(&token);
            }
            return Some(request.http_get_url());
        }
        let mut cognito = settings.logout_url.clone()?;
        cognito
            .query_pairs_mut()
            .append_pair("client_id", &settings.client_id)
            .append_pair("logout_uri", back_to);
        Some(cognito)
    }

    fn verify(
        &self,
        client: &Client,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
        id_token.claims(&client.id_token_verifier(), nonce).cloned()
    }

    /// The discovery document, read now if it has not been yet.
    async fn provider(&self) -> Result<ProviderMetadataWithLogout, IdentityError> {
        let mut cached = self.inner.provider.lock().await;
        if let Some(provider) = cached.as_ref() {
            return Ok(provider.clone());
        }
        let issuer = IssuerUrl::new(self.inner.settings.issuer.as_str().to_owned())
            .map_err(|e| IdentityError::ProviderUnreachable(e.to_string()))?;
        let provider = ProviderMetadataWithLogout::discover_async(issuer, &self.inner.http)
            .await
            .map_err(|e| IdentityError::ProviderUnreachable(format!("discovery: {e}")))?;
        *cached = Some(provider.clone());
        Ok(provider)
    }

    /// The discovery document with its JWKS fetched again.
    async fn refresh_keys(&self) -> Result<ProviderMetadataWithLogout, IdentityError> {
        let provider = self.provider().await?;
        let keys = CoreJsonWebKeySet::fetch_async(provider.jwks_uri(), &self.inner.http)
            .await
            .map_err(|e| IdentityError::ProviderUnreachable(format!("JWKS: {e}")))?;
        tracing::info!("fetched the provider's signing keys again");
        let provider = provider.set_jwks(keys);
        *self.inner.provider.lock().await = Some(provider.clone());
        Ok(provider)
    }

    fn client(
        &self,
        provider: ProviderMetadataWithLogout,
        callback: &str,
    ) -> Result<Client, IdentityError> {
        let settings = &self.inner.settings;
        let redirect = RedirectUrl::new(callback.to_owned())
            .map_err(|e| IdentityError::ProviderUnreachable(format!("callback URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            provider,
            ClientId::new(settings.client_id.clone()),
            Some(openidconnect::ClientSecret::new(
                settings.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}

/// The workspace's reqwest, as the HTTP client `openidconnect` calls: no redirects followed
/// (a provider's answers never need one), bounded in time and size.
struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_PROVIDER_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Http(#[from] openidconnect::http::Error),
}

impl Http {
    fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .expect("a plain HTTP client builds");
        Self(client)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut answer = self.0.execute(request.try_into()?).await?;
        let mut response = HttpResponse::new(Vec::new());
        *response.status_mut() = answer.status();
        *response.headers_mut() = std::mem::take(answer.headers_mut());
        while let Some(chunk) = answer.chunk().await? {
            if response.body().len() + chunk.len() > MAX_PROVIDER_ANSWER_BYTES {
                return Err(HttpError::TooLarge);
            }
            response.body_mut().extend_from_slice(&chunk);
        }
        Ok(response)
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
