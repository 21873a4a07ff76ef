//! Refuses state-changing requests that another site's page made with the visitor's cookie.
//!
//! Browsers say where a request came from: `Sec-Fetch-Site` (every current browser) and
//! `Origin` (on every POST). A request that carries neither did not come from a browser page,
//! so no visitor's cookie can be abused by it; it is let through.

use axum::http::{HeaderMap, Method, header};

/// A request from another site's page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cross-site request refused: {0}")]
pub struct CrossSite(pub String);

pub fn check_same_site(method: &Method, headers: &HeaderMap) -> Result<(), CrossSite> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        // "none" is the user's own action: a bookmark, the address bar.
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(CrossSite(format!("Sec-Fetch-Site: {other}"))),
        };
    }
    let Some(origin) = header(header::ORIGIN.as_str()) else {
        return Ok(());
    };
    let host = header(header::HOST.as_str()).unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(CrossSite(format!("Origin: {origin}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn another_sites_post_is_refused_and_our_own_is_not() {
        let post = Method::POST;
        let ours = headers(&[
            ("host", "easel.example"),
            ("origin", "https://easel.example"),
        ]);
        assert!(check_same_site(&post, &ours).is_ok());
        let theirs = headers(&[
            ("host", "easel.example"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_same_site(&post, &theirs).is_err());
        let sibling = headers(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://easel.example"),
        ]);
        assert!(check_same_site(&post, &sibling).is_err());
        let null = headers(&[("host", "easel.example"), ("origin", "null")]);
        assert!(check_same_site(&post, &null).is_err());
        assert!(check_same_site(&Method::GET, &theirs).is_ok());
        assert!(check_same_site(&post, &headers(&[("sec-fetch-site", "same-origin")])).is_ok());
    }
}
