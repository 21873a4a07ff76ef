//! Refuses state-changing requests that another site's page made with the visitor's cookie.
//!
//! Browsers say where a request came from: `Sec-Fetch-Site` (every current browser) and
//! `Origin` (on every POST). A request that carries neither did not come from a browser page,
//! so no visitor's cookie can be abused by it; it is let through.
//!
//! `Origin` is compared with the public origin when one is configured: behind CloudFront the
//! `Host` Easel sees is the load balancer's, not the browser's.

use axum::http::{HeaderMap, Method, header};

/// A request from another site's page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cross-site request refused: {0}")]
pub struct CrossSite(pub String);

pub fn check_same_site(
    method: &Method,
    headers: &HeaderMap,
    public_origin: Option<&str>,
) -> Result<(), CrossSite> {
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
    let same = match public_origin {
        Some(ours) => origin.eq_ignore_ascii_case(ours),
        None => {
            let host = header(header::HOST.as_str()).unwrap_or_default();
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or_default();
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
    };
    if same {
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
        assert!(check_same_site(&post, &ours, None).is_ok());
        let theirs = headers(&[
            ("host", "easel.example"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_same_site(&post, &theirs, None).is_err());
        let sibling = headers(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://easel.example"),
        ]);
        assert!(check_same_site(&post, &sibling, None).is_err());
        let null = headers(&[("host", "easel.example"), ("origin", "null")]);
        assert!(check_same_site(&post, &null, None).is_err());
        assert!(check_same_site(&Method::GET, &theirs, None).is_ok());
        assert!(
            check_same_site(&post, &headers(&[("sec-fetch-site", "same-origin")]), None).is_ok()
        );
    }

    #[test]
    fn behind_a_proxy_the_public_origin_is_ours() {
        let post = Method::POST;
        let public = Some("https://d111.cloudfront.net");
        let ours = headers(&[
            ("host", "easel-alb-1.us-east-1.elb.amazonaws.com"),
            ("origin", "https://d111.cloudfront.net"),
        ]);
        assert!(check_same_site(&post, &ours, public).is_ok());
        let balancer = headers(&[
            ("host", "easel-alb-1.us-east-1.elb.amazonaws.com"),
            ("origin", "http://easel-alb-1.us-east-1.elb.amazonaws.com"),
        ]);
        assert!(check_same_site(&post, &balancer, public).is_err());
    }
}
