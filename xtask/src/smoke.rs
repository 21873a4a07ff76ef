//! `cargo xtask smoke --url URL`: a running Easel answers its health check, serves the page its
//! tests rely on, and its generate form is wired. It costs nothing: the wiring is shown by an
//! empty prompt, which Easel refuses before it calls Bedrock. `--generate` makes one real image.
//!
//! With sign-in (a deployed stack's default), an anonymous visitor gets no page: `/` leads to
//! `/auth/sign-in`, which leads to the provider, and a generation without a session makes
//! nothing.
//!
//! The local lifecycle reaches the studio where the load balancer would, behind a CloudFront
//! name that does not resolve: its posts come from that name's origin, as a browser's would,
//! and the visitor is followed only to `/auth/sign-in` (see `Provider`).

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use reqwest::{StatusCode, blocking::Client};
use scraper::{Html, Selector};

use crate::flags;

impl flags::Smoke {
    pub fn run(self, _sh: &xshell::Shell) -> Result<()> {
        check(&self.url, self.generate, Duration::ZERO)
    }
}

/// How far an anonymous visitor is followed when the studio asks for sign-in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Provider {
    /// On to the provider's sign-in, which must be https on another origin.
    Followed,
    /// Only to Easel's `/auth/sign-in`: the local AWS's Cognito has no discovery document
    /// (nor a hosted sign-in page), so Easel cannot learn where its provider signs people in.
    NotFollowed,
}

/// Checks the Easel at `url`; with `generate`, also makes one image with the default model.
/// `patience`: how long to retry a connection that fails (a new ALB's name takes a while to
/// resolve); zero for one attempt.
pub fn check(url: &str, generate: bool, patience: Duration) -> Result<()> {
    let url = url.trim_end_matches('/');
    check_site(url, url, Provider::Followed, generate, patience)
}

/// Checks the local service at `url`, which browsers would reach at `public_url` (CloudFront's
/// name in EASEL_PUBLIC_URL, which does not resolve here).
pub fn check_local(url: &str, public_url: &str, patience: Duration) -> Result<()> {
    let url = url.trim_end_matches('/');
    let origin = public_url.trim_end_matches('/');
    check_site(url, origin, Provider::NotFollowed, false, patience)
}

fn check_site(
    url: &str,
    origin: &str,
    provider: Provider,
    generate: bool,
    patience: Duration,
) -> Result<()> {
    let client = Client::builder()
        .no_proxy()
        // Where each answer leads is what is checked.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(150))
        .cookie_store(true)
        .build()
        .context("building an HTTP client")?;

    let health = reach(&client, &format!("{url}/healthz"), patience)?;
    ensure!(
        health.status().is_success(),
        "{url}/healthz answered {}",
        health.status()
    );
    println!("ok   {url}/healthz answers {}", health.status());

    let front = client.get(format!("{url}/")).send()?;
    if front.status().is_redirection() {
        ensure!(
            !generate,
            "{url} asks for sign-in: --generate needs a session, which the smoke test has not"
        );
        anonymous_visitors_are_sent_to_sign_in(&client, url, origin, provider, &front)?;
        println!("smoke test passed for {url}");
        return Ok(());
    }
    let page = front.error_for_status()?.text()?;
    let missing = missing_parts(&page);
    ensure!(
        missing.is_empty(),
        "{url}/ lacks the page contract's {}",
        missing.join(", ")
    );
    println!("ok   {url}/ has the generate form, #result and #gallery");

    let (status, fragment) = post_generate(&client, url, origin, "")?;
    let message: String = fragment
        .select(&selector("#prompt-error"))
        .flat_map(|e| e.text())
        .collect();
    ensure!(
        status == 422 && !message.trim().is_empty(),
        "POST {url}/generate with an empty prompt answered {status} without a message next to the prompt: the form is not wired"
    );
    println!(
        "ok   POST /generate is wired: an empty prompt gets {status} and \"{}\"",
        message.trim()
    );

    if generate {
        generate_one(&client, url)?;
    }
    println!("smoke test passed for {url}");
    Ok(())
}

/// `/` answered `front`, a redirect: it must lead to `/auth/sign-in` and on to the provider, on
/// another origin; a generation without a session must be refused.
fn anonymous_visitors_are_sent_to_sign_in(
    client: &Client,
    url: &str,
    origin: &str,
    provider: Provider,
    front: &reqwest::blocking::Response,
) -> Result<()> {
    let sign_in = location(front).with_context(|| format!("{url}/ redirects nowhere"))?;
    let sign_in = sign_in.strip_prefix(origin).unwrap_or(&sign_in).to_owned();
    ensure!(
        sign_in.starts_with("/auth/sign-in"),
        "{url}/ leads to {sign_in}, not to /auth/sign-in"
    );
    println!("ok   {url}/ leads an anonymous visitor to {sign_in}");
    if provider == Provider::Followed {
        the_sign_in_leads_to_the_provider(client, url, &sign_in)?;
    } else {
        println!(
            "not followed: {sign_in} to the provider (the local AWS's user pool has no discovery document)"
        );
    }

    let (status, fragment) = post_generate(client, url, origin, "a lighthouse on a cliff at dawn")?;
    ensure!(
        !status.is_success() && fragment.select(&selector("article.job")).next().is_none(),
        "POST {url}/generate without a session answered {status}: it must make nothing"
    );
    println!("ok   POST /generate without a session answers {status} and makes nothing");
    Ok(())
}

/// `/auth/sign-in` leads to the provider's sign-in, over https on another origin.
fn the_sign_in_leads_to_the_provider(client: &Client, url: &str, sign_in: &str) -> Result<()> {
    let answer = client.get(format!("{url}{sign_in}")).send()?;
    let provider = location(&answer).with_context(|| {
        format!(
            "{url}{sign_in} answered {} without a redirect",
            answer.status()
        )
    })?;
    ensure!(
        !provider.starts_with(url) && provider.starts_with("https://"),
        "{url}{sign_in} leads to {provider}, not to an https sign-in provider"
    );
    let host = provider.split('/').nth(2).unwrap_or_default();
    println!("ok   {sign_in} leads to the provider's sign-in at {host}");
    Ok(())
}

/// Where a redirect leads.
fn location(answer: &reqwest::blocking::Response) -> Option<String> {
    answer
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

fn reach(client: &Client, url: &str, patience: Duration) -> Result<reqwest::blocking::Response> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match client.get(url).send() {
            Ok(response) => return Ok(response),
            Err(e) if std::time::Instant::now() < deadline => {
                println!("waiting for {url}: {e}");
                std::thread::sleep(Duration::from_secs(5));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot reach {url}")),
        }
    }
}

/// One real generation with the default model, run as a job: the job must end with a picture
/// that downloads as a PNG.
fn generate_one(client: &Client, url: &str) -> Result<()> {
    let (status, card) = post_generate(
        client,
        url,
        url,
        "a lighthouse on a cliff at dawn, watercolour",
    )?;
    let Some(job) = card.select(&selector("article.job")).find_map(|job| {
        job.value()
            .attr("id")?
            .strip_prefix("job-")
            .map(str::to_owned)
    }) else {
        bail!("POST {url}/generate answered {status} without a job card");
    };
    println!("ok   POST /generate accepted job {job}");
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let page = loop {
        let page = Html::parse_document(
            &client
                .get(format!("{url}/jobs/{job}"))
                .send()?
                .error_for_status()?
                .text()?,
        );
        let state = page
            .select(&selector("article.job"))
            .find_map(|j| j.value().attr("data-state").map(str::to_owned))
            .unwrap_or_default();
        match state.as_str() {
            "done" => break page,
            "failed" | "cancelled" => {
                let why: String = page
                    .select(&selector(".message"))
                    .flat_map(|e| e.text())
                    .collect();
                bail!("job {job} ended {state}: {}", why.trim());
            }
            _ if std::time::Instant::now() > deadline => {
                bail!("job {job} is still {state} after 3 minutes")
            }
            _ => std::thread::sleep(Duration::from_secs(1)),
        }
    };
    let Some(source) = page
        .select(&selector("article.job img"))
        .find_map(|img| img.value().attr("src").map(str::to_owned))
    else {
        bail!("job {job} is done but shows no picture");
    };
    let source = format!("{url}{source}");
    let bytes = client.get(&source).send()?.error_for_status()?.bytes()?;
    ensure!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{source} is not a PNG"
    );
    println!("ok   generated one image ({} bytes): {source}", bytes.len());
    Ok(())
}

/// POST /generate as the page's htmx form at `origin` sends it: the status and the fragment
/// that came back.
fn post_generate(
    client: &Client,
    url: &str,
    origin: &str,
    prompt: &str,
) -> Result<(StatusCode, Html)> {
    let answer = client
        .post(format!("{url}/generate"))
        .header("HX-Request", "true")
        // As the page itself sends it: Easel refuses posts from other sites.
        .header("Origin", origin)
        .form(&[("prompt", prompt)])
        .send()?;
    let status = answer.status();
    Ok((status, Html::parse_document(&answer.text()?)))
}

/// What the page contract needs and `html` lacks.
fn missing_parts(html: &str) -> Vec<&'static str> {
    let document = Html::parse_document(html);
    [
        "form#generate-form",
        "form#generate-form textarea[name=prompt]",
        "#result",
        "#gallery",
    ]
    .into_iter()
    .filter(|css| document.select(&selector(css)).next().is_none())
    .collect()
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid selector")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_contract_is_checked() {
        let page = r#"<form id="generate-form"><textarea name="prompt"></textarea></form>
                      <div id="result"></div><ul id="gallery"></ul>"#;
        assert!(missing_parts(page).is_empty());
        assert_eq!(missing_parts("<div id=\"result\"></div>").len(), 3);
    }
}
