//! The anonymous per-browser identity: a random owner id in a signed cookie. Nothing else
//! identifies a browser, so the cookie is the only key to its gallery.
//!
//! An identity is only ever made on a page load (a safe request), never by a post: a post
//! from another site must not mint one and overwrite the visitor's cookie.
//!
//! The signing key can be rotated without cutting browsers off: while the previous key is
//! configured, a cookie signed with it is accepted and signed again with the current key.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::{
    SignedCookieJar,
    cookie::{Cookie, Key, SameSite},
};
use time::Duration;

use crate::identity::OwnerId;

/// The keys that sign the identity cookie.
#[derive(Clone)]
pub struct CookieKeys {
    /// Signs every cookie Easel sets.
    pub current: Key,
    /// Signed the cookies before `current`; still accepted during a rotation.
    pub previous: Option<Key>,
    /// Served over HTTPS (the cookie's name and `Secure` depend on it).
    pub secure: bool,
}

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

/// The browser's owner id, making one (and the cookie that carries it) on its first visit.
/// Only for page loads.
pub fn owner_or_new(jar: SignedCookieJar, secure: bool) -> (SignedCookieJar, OwnerId) {
    if let Some(owner) = owner(&jar, secure) {
        return (jar, owner);
    }
    let owner = OwnerId::new_random();
    (jar.add(identity_cookie(secure, owner.to_string())), owner)
}

/// The browser forgets its anonymous identity: once its gallery has gone to the person who
/// signed in, the cookie opens nothing.
pub fn forget(jar: SignedCookieJar, secure: bool) -> SignedCookieJar {
    // A `__Host-` cookie is replaced only by one that is Secure, for the whole path.
    jar.remove(Cookie::build(cookie_name(secure)).path("/").secure(secure))
}

fn identity_cookie(secure: bool, owner: String) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), owner))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(400))
        .build()
}

/// Middleware: a cookie signed with the previous key is signed again with the current one.
/// The request goes on carrying the re-signed cookie, so every handler reads it as valid, and
/// the answer gives it to the browser. A cookie neither key signed is left for the handlers
/// to refuse (a post) or replace (a page load).
pub async fn accept_previous_key(
    State(keys): State<CookieKeys>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(resigned) = resign(&keys, request.headers()) else {
        return next.run(request).await;
    };
    let name = cookie_name(keys.secure);
    let signed = SignedCookieJar::new(keys.current.clone())
        .add(resigned)
        .into_response();
    let Some(set_cookie) = signed.headers().get(header::SET_COOKIE).cloned() else {
        return next.run(request).await;
    };
    let Some(value) = set_cookie
        .to_str()
        .ok()
        .and_then(|text| Cookie::parse(text.to_owned()).ok())
        .map(|cookie| cookie.value().to_owned())
    else {
        return next.run(request).await;
    };
    replace_cookie(request.headers_mut(), name, &value);
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie);
    response
}

/// The identity cookie as the previous key signed it, when the current key did not.
fn resign(keys: &CookieKeys, headers: &HeaderMap) -> Option<Cookie<'static>> {
    let previous = keys.previous.clone()?;
    let name = cookie_name(keys.secure);
    if SignedCookieJar::from_headers(headers, keys.current.clone())
        .get(name)
        .is_some()
    {
        return None;
    }
    let owner = SignedCookieJar::from_headers(headers, previous).get(name)?;
    tracing::debug!("signing a cookie of the previous key again with the current one");
    Some(identity_cookie(keys.secure, owner.value().to_owned()))
}

/// Rewrites the request's cookies as one `Cookie` header, `name` holding `value`.
fn replace_cookie(headers: &mut HeaderMap, name: &str, value: &str) {
    let pairs: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|text| Cookie::split_parse(text.to_owned()))
        .filter_map(Result::ok)
        .map(|cookie| match cookie.name() {
            n if n == name => format!("{name}={value}"),
            _ => cookie.stripped().to_string(),
        })
        .collect();
    if let Ok(joined) = HeaderValue::from_str(&pairs.join("; ")) {
        headers.insert(header::COOKIE, joined);
    }
}
