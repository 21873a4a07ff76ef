//! The sign-in settings, parsed from their raw text at start (the config module names the
//! variable when one is refused).

use std::{fmt, net::IpAddr, time::Duration};

use url::Url;

/// The origin the browser sees (`EASEL_PUBLIC_URL`), e.g. `https://d111.cloudfront.net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// Scheme, host and port (when not the default), without a trailing slash.
    origin: String,
    https: bool,
}

impl PublicUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw)
            .map_err(|_| format!("{raw:?} is not a URL like https://d111.cloudfront.net"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("{raw:?} is {other}:, not http: or https:")),
        };
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{raw:?} names no plain host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{raw:?} is more than an origin: give only scheme and host, like https://d111.cloudfront.net"
            ));
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
            https,
        })
    }

    /// The configured public URL's origin, else the request's own host (a local run): where
    /// links that leave the page point.
    pub fn origin_or_host(url: Option<&Self>, headers: &axum::http::HeaderMap) -> String {
        match url {
            Some(url) => url.origin().to_owned(),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }

    /// `https://host[:port]`, as browsers write it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_https(&self) -> bool {
        self.https
    }
}

/// The provider's issuer (`EASEL_OIDC_ISSUER`), exactly as written: ID tokens must name it
/// character for character. Plain http is accepted only on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw)
            .map_err(|_| format!("{raw:?} is not a URL like https://login.example.com"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "{raw:?} is plain http: an issuer must be https (http only on loopback)"
                ));
            }
            other => return Err(format!("{raw:?} is {other}:, not https:")),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{raw:?} has a query or fragment; an issuer has neither"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The client's secret; never printed.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "" => Err("the client secret is empty".to_owned()),
            secret => Ok(Self(secret.to_owned())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// Everything the code flow and the sessions need.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: Issuer,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// A logout endpoint in Cognito's style (`?client_id=…&logout_uri=…`), for a provider
    /// whose discovery document has no `end_session_endpoint`.
    pub logout_url: Option<Url>,
    pub session_lifetime: Duration,
}

impl OidcSettings {
    /// The origins a sign-out may send the browser to: the provider's own (its end-session
    /// endpoint) and the configured logout endpoint's.
    pub fn sign_out_origins(&self) -> Vec<String> {
        let issuer = Url::parse(self.issuer.as_str()).ok();
        issuer
            .iter()
            .chain(self.logout_url.iter())
            .map(|url| url.origin().ascii_serialization())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_issuer_is_accepted_only_on_loopback() {
        for ok in [
            "https://login.example.com",
            "http://localhost:8123",
            "http://127.0.0.1:9000/realm",
            "http://[::1]:9000",
        ] {
            assert!(Issuer::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.example.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "ftp://localhost",
            "login.example.com",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_url_is_an_origin() {
        let url = PublicUrl::parse("https://d111.cloudfront.net/").unwrap();
        assert_eq!(url.origin(), "https://d111.cloudfront.net");
        assert!(url.is_https());
        let local = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:8080");
        assert!(!local.is_https());
        for bad in [
            "d111.cloudfront.net",
            "https://x.example/studio",
            "https://x.example/?a",
            "ftp://x.example",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
