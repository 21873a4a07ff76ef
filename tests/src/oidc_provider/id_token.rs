//! ID tokens as the provider signs them, right or, when a test asks, wrong in one way.

use chrono::{Duration, Utc};
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, Audience, AuthorizationCode, EmptyAdditionalClaims, EndUserEmail, EndUserName,
    IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};

use super::keys::SigningKey;
use super::{CLIENT_ID, Grant};

/// How long an ID token is valid.
const LIFETIME: Duration = Duration::hours(1);

/// One thing wrong with an ID token, each a check a client must make.
pub enum Forgery {
    Expired,
    WrongAudience,
    WrongNonce,
    WrongIssuer,
    /// Signed by this key, which the JWKS does not list.
    UnlistedKey(Box<SigningKey>),
    /// The person's address, which the provider has not verified: anyone may have typed it.
    UnverifiedEmail,
}

/// The ID token for `grant`, signed by `key` unless `forgery` says otherwise, binding the
/// access token and code given with it (`at_hash`, `c_hash`).
pub fn sign(
    issuer: &str,
    grant: &Grant,
    key: &SigningKey,
    forgery: Option<&Forgery>,
    access_token: &AccessToken,
    code: &AuthorizationCode,
) -> CoreIdToken {
    let now = Utc::now();
    let (mut issued, mut expires) = (now, now + LIFETIME);
    let mut issuer = issuer.to_owned();
    let mut audience = CLIENT_ID.to_owned();
    let mut nonce = grant.nonce.clone();
    let mut key = key;
    let mut email_verified = true;
    match forgery {
        None => {}
        Some(Forgery::Expired) => (issued, expires) = (now - LIFETIME * 2, now - LIFETIME),
        Some(Forgery::WrongAudience) => audience = "another-client".to_owned(),
        Some(Forgery::WrongNonce) => nonce = "a-nonce-nobody-sent".to_owned(),
        Some(Forgery::WrongIssuer) => issuer = "https://impostor.example.test".to_owned(),
        Some(Forgery::UnlistedKey(unlisted)) => key = unlisted,
        Some(Forgery::UnverifiedEmail) => email_verified = false,
    }
    let person = &grant.person;
    let standard = StandardClaims::new(SubjectIdentifier::new(person.subject.clone()))
        .set_email(Some(EndUserEmail::new(person.email.clone())))
        .set_email_verified(Some(email_verified))
        .set_name(Some(EndUserName::new(person.name.clone()).into()));
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).expect("an issuer URL"),
        vec![Audience::new(audience)],
        expires,
        issued,
        standard,
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    CoreIdToken::new(
        claims,
        key.private(),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(access_token),
        Some(code),
    )
    .expect("the ID token is signed")
}
