//! What sign-in adds to a page view: `GET /` from a browser signed in through OpenID Connect
//! (every request reads its session from the store) against the same page from an anonymous
//! browser of an Easel without sign-in, alternated request by request so that both meet the
//! same machine. Both galleries are empty, so the two pages differ only in the header that says
//! who is signed in.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use reqwest::{
    blocking::{Client, Response},
    header,
};
use scraper::{Html, Selector};

use super::{Fresh, Latencies, ms};
use crate::processes::{self, Binaries};

/// Timed page views of each browser.
pub const VIEWS: usize = 2_000;
/// Page views of each, not timed, first.
pub const WARM_UP: usize = 100;
/// Who signs in; the provider lets any username in.
const USERNAME: &str = "ada";

pub struct SignIn {
    pub anonymous: Latencies,
    pub signed_in: Latencies,
}

impl SignIn {
    /// Signed-in minus anonymous, at the median.
    pub fn overhead_median_ms(&self) -> f64 {
        ms(self.signed_in.median()) - ms(self.anonymous.median())
    }

    /// Signed-in minus anonymous, at the 99th percentile.
    pub fn overhead_p99_ms(&self) -> f64 {
        ms(self.signed_in.percentile(99.0)) - ms(self.anonymous.percentile(99.0))
    }
}

/// Starts the provider, an Easel with sign-in through it and one without, each with a store of
/// its own in `work`, signs a browser in and times the two pages.
pub fn measure(binaries: &Binaries, double_url: &str, work: &Path) -> Result<SignIn> {
    let provider = processes::start_oidc_provider(&binaries.oidc_provider)?;
    let anonymous = Fresh::start(binaries, double_url, &work.join("anonymous-gallery"), &[])?;
    let address = processes::free_loopback_address()?;
    let settings = processes::oidc_client_env(&provider, &format!("http://{address}"));
    let signed_in = Fresh::start_at(
        binaries,
        address,
        double_url,
        &work.join("signed-in-gallery"),
        &settings,
    )?;
    sign_in(&signed_in.client, &signed_in.app, provider.url())?;

    let anonymous_page = format!("{}/", anonymous.app);
    let signed_in_page = format!("{}/", signed_in.app);
    let mut times = (Vec::with_capacity(VIEWS), Vec::with_capacity(VIEWS));
    for view in 0..WARM_UP + VIEWS {
        let anonymous = page_view(&anonymous.client, &anonymous_page)?;
        let signed_in = page_view(&signed_in.client, &signed_in_page)?;
        if view >= WARM_UP {
            times.0.push(anonymous);
            times.1.push(signed_in);
        }
    }
    Ok(SignIn {
        anonymous: Latencies::new(times.0),
        signed_in: Latencies::new(times.1),
    })
}

/// Signs `browser` in as a person does: the studio's page leads to the provider's form, which
/// is filled in and sent, and the provider's answer leads back to the studio, signed in.
fn sign_in(browser: &Client, app: &str, issuer: &str) -> Result<()> {
    let home = format!("{app}/");
    let form_page = uncompressed_get(browser, &home)?;
    let form_url = form_page.url().clone();
    ensure!(
        form_url
            .as_str()
            .starts_with(&format!("{issuer}/authorize")),
        "{home} led to {form_url}, not to the provider's sign-in form"
    );
    let form = SignInForm::read(&form_page.text().context("reading the sign-in form")?)?;
    let mut fields = form.hidden;
    fields
        .extend([("username", USERNAME), ("decision", "allow")].map(|(k, v)| (k.into(), v.into())));
    let landed = browser
        .post(form_url.join(&form.action).context("the form's action")?)
        .header(header::ACCEPT_ENCODING, "identity")
        .form(&fields)
        .send()
        .and_then(Response::error_for_status)
        .context("sending the provider's sign-in form")?;
    ensure!(
        landed.url().as_str() == home,
        "signing in led to {}, not back to {home}",
        landed.url()
    );
    let page = landed.text().context("reading the signed-in page")?;
    ensure!(
        page.contains("Sign out"),
        "the page after signing in offers no Sign out"
    );
    Ok(())
}

fn uncompressed_get(browser: &Client, url: &str) -> Result<Response> {
    browser
        .get(url)
        .header(header::ACCEPT_ENCODING, "identity")
        .send()
        .and_then(Response::error_for_status)
        .with_context(|| format!("GET {url}"))
}

/// The provider's sign-in form: where it goes, and the request it carries in hidden fields.
struct SignInForm {
    action: String,
    hidden: Vec<(String, String)>,
}

impl SignInForm {
    fn read(html: &str) -> Result<Self> {
        let html = Html::parse_document(html);
        let selector = |s| Selector::parse(s).expect("a valid selector");
        let form = html
            .select(&selector("#sign-in-form"))
            .next()
            .context("the provider's page has no #sign-in-form")?;
        let hidden = form
            .select(&selector("input[type=hidden]"))
            .map(|input| {
                let value = |name| input.attr(name).unwrap_or_default().to_owned();
                (value("name"), value("value"))
            })
            .collect();
        Ok(Self {
            action: form.attr("action").unwrap_or_default().to_owned(),
            hidden,
        })
    }
}

/// One `GET url`, timed until its whole body has arrived. A signed-in browser whose session
/// was not found would be sent to sign in instead: that fails here, not in the figures.
fn page_view(browser: &Client, url: &str) -> Result<Duration> {
    let started = Instant::now();
    let response = browser
        .get(url)
        .send()
        .and_then(Response::error_for_status)
        .with_context(|| format!("GET {url}"))?;
    let landed = response.url().clone();
    response.bytes().with_context(|| format!("reading {url}"))?;
    let took = started.elapsed();
    ensure!(landed.as_str() == url, "GET {url} led to {landed}");
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_form_carries_its_request_in_hidden_fields() {
        let page = r#"<!doctype html><form id="sign-in-form" method="post" action="/authorize">
            <input type="hidden" name="state" value="s&amp;1">
            <input type="hidden" name="nonce" value="n">
            <input id="username" name="username"><button name="decision" value="allow">Sign in</button>
            </form><form id="other"><input type="hidden" name="x" value="y"></form>"#;
        let form = SignInForm::read(page).unwrap();
        assert_eq!(form.action, "/authorize");
        assert_eq!(
            form.hidden,
            [
                ("state".to_owned(), "s&1".to_owned()),
                ("nonce".to_owned(), "n".to_owned())
            ]
        );
        assert!(SignInForm::read("<p>Sign-in refused</p>").is_err());
    }
}
