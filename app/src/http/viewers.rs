//! Who may reach the studio at all, by the viewer's address that CloudFront passes on. The load
//! balancer only takes traffic from CloudFront, so its `CloudFront-Viewer-Address` header can
//! be trusted; a request without it did not come through CloudFront.

use std::net::IpAddr;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ipnet::IpNet;

use super::AppError;

const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

/// The networks viewers may come from, parsed once at start.
#[derive(Debug, Clone)]
pub struct AllowedViewers(Vec<IpNet>);

impl AllowedViewers {
    /// Comma-separated CIDRs, like `203.0.113.0/24, 2001:db8::/32`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .map(|cidr| {
                cidr.parse()
                    .map_err(|_| format!("{cidr:?} is not a CIDR like 203.0.113.0/24"))
            })
            .collect::<Result<Vec<IpNet>, String>>()
            .map(Self)
    }

    fn admit(&self, viewer: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&viewer))
    }
}

/// The viewer's address in CloudFront's `IP:port` (`2001:db8::1:443` for IPv6: the port
/// follows the last colon).
fn viewer_ip(header: &str) -> Option<IpAddr> {
    let (ip, port) = header.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Middleware: a viewer outside the allowed networks is refused. The load balancer's health
/// checks come without the header, so health and readiness stay open.
pub async fn only_allowed(
    State(allowed): State<AllowedViewers>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let viewer = request
        .headers()
        .get(VIEWER_ADDRESS)
        .and_then(|value| value.to_str().ok())
        .and_then(viewer_ip);
    match viewer {
        Some(ip) if allowed.admit(ip) => next.run(request).await,
        _ => AppError::ViewerNotAllowed.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_address_is_read_with_its_port_after_the_last_colon() {
        assert_eq!(viewer_ip("203.0.113.7:443"), "203.0.113.7".parse().ok());
        assert_eq!(viewer_ip("2001:db8::1:443"), "2001:db8::1".parse().ok());
        assert_eq!(viewer_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        for bad in ["", "203.0.113.7", "203.0.113.7:http", "nobody:443"] {
            assert_eq!(viewer_ip(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_viewer_is_admitted_inside_any_listed_network() {
        let allowed = AllowedViewers::parse("203.0.113.0/24, 2001:db8::/32").unwrap();
        for inside in ["203.0.113.200", "2001:db8::1"] {
            assert!(allowed.admit(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["203.0.114.1", "2001:db9::1", "::ffff:198.51.100.1"] {
            assert!(!allowed.admit(outside.parse().unwrap()), "{outside}");
        }
        assert!(AllowedViewers::parse("203.0.113.0/24,").is_err());
    }
}
