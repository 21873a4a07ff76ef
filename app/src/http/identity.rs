//! The anonymous per-browser identity: a random owner id in a signed cookie. Nothing else
//! identifies a browser, so the cookie is the only key to its gallery.
//!
//! An identity is only ever made on a page load (a safe request), never by a post: a post
//! from another site must not mint one and overwrite the visitor's cookie.

use axum_extra::extract::{
    SignedCookieJar,
    cookie::{Cookie, SameSite},
};
use time::Duration;

use super::AppError;
use crate::gallery::OwnerId;

/// Over HTTPS the cookie takes the `__Host-` prefix: the browser then keeps it only if it is
/// Secure, for this host alone and the whole path, so no sibling domain can plant one.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-easel_id"
    } else {
        "easel_id"
    }
}

/// The browser's owner id, if it has a valid signed cookie.
pub fn owner(jar: &SignedCookieJar, secure: bool) -> Option<OwnerId> {
    jar.get(cookie_name(secure))
        .and_then(|c| OwnerId::parse(c.value()))
}

/// The owner behind a state-changing request; one without a cookie is refused.
pub fn required_owner(jar: &SignedCookieJar, secure: bool) -> Result<OwnerId, AppError> {
    owner(jar, secure).ok_or(AppError::NoIdentity)
}

/// The browser's owner id, making one (and the cookie that carries it) on its first visit.
/// Only for page loads.
pub fn owner_or_new(jar: SignedCookieJar, secure: bool) -> (SignedCookieJar, OwnerId) {
    if let Some(owner) = owner(&jar, secure) {
        return (jar, owner);
    }
    let owner = OwnerId::new_random();
    let cookie = Cookie::build((cookie_name(secure), owner.to_string()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(400))
        .build();
    (jar.add(cookie), owner)
}
