//! Where a person goes back to after signing in: only ever a path on this origin, so a crafted
//! sign-in link cannot send anyone to another site.

/// A path (with its query) on this origin, such as `/images/abc?page=2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPath(String);

/// Longer than any of Easel's own URLs.
const MAX_LEN: usize = 2048;

impl NextPath {
    /// A path that starts with one `/` and has no scheme, host, backslash or control
    /// character; anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let safe = raw.len() <= MAX_LEN
            && raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.contains('\\')
            && !raw.chars().any(char::is_control);
        safe.then(|| Self(raw.to_owned()))
    }

    /// The path and query of a full URL, such as htmx's `HX-Current-URL`.
    pub fn of_url(url: &str) -> Option<Self> {
        let url = url::Url::parse(url).ok()?;
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        Self::parse(&path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `/auth/sign-in?next=…`, which leads here again once signed in.
    pub fn sign_in_link(&self) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &self.0)
            .finish();
        format!("/auth/sign-in?{query}")
    }
}

impl Default for NextPath {
    fn default() -> Self {
        Self("/".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_on_this_origin_is_a_next_path() {
        for ok in ["/", "/images/abc", "/gallery?page=2", "/jobs/x?a=b&c=d"] {
            assert_eq!(NextPath::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "images",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/\nLocation: x",
            &format!("/{}", "a".repeat(MAX_LEN)),
        ] {
            assert_eq!(NextPath::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_sign_in_link_carries_the_path() {
        let next = NextPath::of_url("http://127.0.0.1:8080/gallery?page=2").unwrap();
        assert_eq!(
            next.sign_in_link(),
            "/auth/sign-in?next=%2Fgallery%3Fpage%3D2"
        );
    }
}
