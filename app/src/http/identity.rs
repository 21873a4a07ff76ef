//! The anonymous per-browser identity: a random owner id in a signed cookie. Nothing else
//! identifies a browser, so the cookie is the only key to its gallery.

use axum_extra::extract::{
    SignedCookieJar,
    cookie::{Cookie, SameSite},
};
use time::Duration;

use crate::gallery::OwnerId;

const COOKIE: &str = "easel_id";

/// The browser's owner id, if it has a valid signed cookie.
pub fn owner(jar: &SignedCookieJar) -> Option<OwnerId> {
    jar.get(COOKIE).and_then(|c| OwnerId::parse(c.value()))
}

/// The browser's owner id, making one (and the cookie that carries it) on its first visit.
pub fn owner_or_new(jar: SignedCookieJar, secure: bool) -> (SignedCookieJar, OwnerId) {
    if let Some(owner) = owner(&jar) {
        return (jar, owner);
    }
    let owner = OwnerId::new_random();
    let cookie = Cookie::build((COOKIE, owner.to_string()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(400))
        .build();
    (jar.add(cookie), owner)
}
