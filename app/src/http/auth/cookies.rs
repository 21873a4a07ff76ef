//! The two sign-in cookies: the session's id, and the sign-in in flight. Over HTTPS both take
//! the `__Host-` prefix (Secure, this host alone, the whole path), so no sibling domain can
//! plant one.

use axum_extra::extract::{
    CookieJar, SignedCookieJar,
    cookie::{Cookie, SameSite},
};

use crate::identity::{PendingSignIn, SessionId, oidc::SIGN_IN_LIFETIME};

fn name(secure: bool, name: &'static str) -> String {
    match secure {
        true => format!("__Host-{name}"),
        false => name.to_owned(),
    }
}

fn build(
    name: String,
    value: String,
    secure: bool,
    max_age: std::time::Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        // Lax: the provider's redirect back to the callback is a top-level navigation.
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .build()
}

fn removal(name: String, secure: bool) -> Cookie<'static> {
    build(name, String::new(), secure, std::time::Duration::ZERO)
}

const SESSION: &str = "easel_session";
const SIGN_IN: &str = "easel_sign_in";

/// The session id the browser presents, if it is one's shape.
pub fn session_id(jar: &CookieJar, secure: bool) -> Option<SessionId> {
    jar.get(&name(secure, SESSION))
        .and_then(|cookie| SessionId::parse(cookie.value()))
}

pub fn with_session(
    jar: CookieJar,
    id: &SessionId,
    secure: bool,
    lifetime: std::time::Duration,
) -> CookieJar {
    jar.add(build(
        name(secure, SESSION),
        id.as_str().to_owned(),
        secure,
        lifetime,
    ))
}

pub fn without_session(jar: CookieJar, secure: bool) -> CookieJar {
    jar.remove(removal(name(secure, SESSION), secure))
}

pub fn with_pending(
    jar: SignedCookieJar,
    pending: &PendingSignIn,
    secure: bool,
) -> SignedCookieJar {
    let value = serde_json::to_string(pending).expect("a pending sign-in serialises");
    jar.add(build(
        name(secure, SIGN_IN),
        value,
        secure,
        SIGN_IN_LIFETIME,
    ))
}

/// The sign-in in flight, and the jar without it: a callback uses it once.
pub fn take_pending(
    jar: SignedCookieJar,
    secure: bool,
) -> (SignedCookieJar, Option<PendingSignIn>) {
    let pending = jar
        .get(&name(secure, SIGN_IN))
        .and_then(|cookie| serde_json::from_str(cookie.value()).ok());
    (jar.remove(removal(name(secure, SIGN_IN), secure)), pending)
}
