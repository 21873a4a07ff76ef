//! What the provider sends back to `/auth/callback`, read with a limit on every field: a
//! forged callback gets a clear 4xx, never work or a 5xx.

/// The callback's query, as far as Easel reads it; other parameters (`scope`, `iss`,
/// `session_state`…) are ignored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Far above what any provider sends (codes and states are a few hundred characters).
const MAX_QUERY: usize = 8 * 1024;
const MAX_FIELD: usize = 2048;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed callback: {0}")]
pub struct BadCallback(pub &'static str);

impl Callback {
    pub fn parse(query: Option<&str>) -> Result<Self, BadCallback> {
        let query = query.unwrap_or_default();
        if query.len() > MAX_QUERY {
            return Err(BadCallback("the query is too long"));
        }
        let mut callback = Callback::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let field = match key.as_ref() {
                "code" => &mut callback.code,
                "state" => &mut callback.state,
                "error" => &mut callback.error,
                _ => continue,
            };
            if value.len() > MAX_FIELD {
                return Err(BadCallback("a parameter is too long"));
            }
            if field.replace(value.into_owned()).is_some() {
                return Err(BadCallback("a parameter is repeated"));
            }
        }
        Ok(callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_is_read_within_limits() {
        let ok = Callback::parse(Some("code=abc&state=xyz&iss=http%3A%2F%2Fidp")).unwrap();
        assert_eq!(ok.code.as_deref(), Some("abc"));
        assert_eq!(ok.state.as_deref(), Some("xyz"));
        let denied = Callback::parse(Some("error=access_denied&state=xyz")).unwrap();
        assert_eq!(denied.error.as_deref(), Some("access_denied"));
        let long = format!("code={}", "a".repeat(MAX_FIELD + 1));
        assert!(Callback::parse(Some(&long)).is_err());
        assert!(Callback::parse(Some("code=a&code=b")).is_err());
        let huge = format!("x={}", "a".repeat(MAX_QUERY));
        assert!(Callback::parse(Some(&huge)).is_err());
    }
}
