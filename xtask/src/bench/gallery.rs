//! The gallery at scale: the bytes that show the first page with a full page of the gallery
//! (HTML, CSS, JS and the previews), and the time of a gallery page with an empty gallery and
//! with [`PICTURES`] pictures, which the index keeps the same.

use std::{net::SocketAddr, time::Instant};

use anyhow::{Context, Result, ensure};
use reqwest::blocking::{Client, Response};

use super::{Latencies, MODEL, PROMPT, Transfer};

/// The gallery the design's target speaks of.
pub const PICTURES: usize = 10_000;
/// Pictures per job while filling: Titan v2's most per call, at its smallest size.
const PER_JOB: usize = 5;
const PAGE_LOADS: usize = 200;

/// `GET /gallery?page=1` as the page's htmx asks for it, timed `PAGE_LOADS` times.
pub fn page_times(client: &Client, address: SocketAddr) -> Result<Latencies> {
    let url = format!("http://{address}/gallery?page=1");
    let mut samples = Vec::with_capacity(PAGE_LOADS);
    for _ in 0..PAGE_LOADS {
        let started = Instant::now();
        client
            .get(&url)
            .header("HX-Request", "true")
            .send()
            .and_then(Response::error_for_status)
            .and_then(Response::bytes)
            .context("GET /gallery")?;
        samples.push(started.elapsed());
    }
    Ok(Latencies::new(samples))
}

/// The first page as a returning visitor sees it, with every preview its gallery shows.
pub fn first_page_with_gallery(client: &Client, address: SocketAddr) -> Result<Vec<Transfer>> {
    let page = super::first_page_load(client, address)?;
    let previews = page
        .iter()
        .filter(|t| t.path.ends_with("/preview.jpg"))
        .count();
    ensure!(
        previews >= 12,
        "the page shows {previews} previews; a full gallery page has 12"
    );
    Ok(page)
}

/// Generates through the app until the browser's gallery holds [`PICTURES`] pictures.
pub fn fill(client: &Client, address: SocketAddr, already: usize) -> Result<()> {
    let jobs = PICTURES.saturating_sub(already).div_ceil(PER_JOB);
    let count = PER_JOB.to_string();
    for _ in 0..jobs {
        let form = [
            ("model", MODEL),
            ("prompt", PROMPT),
            ("size", "512x512"),
            ("count", count.as_str()),
        ];
        // A plain form post: the answer, after the redirect, is the job's page.
        let job_page = client
            .post(format!("http://{address}/generate"))
            .form(&form)
            .send()
            .and_then(Response::error_for_status)
            .context("POST /generate")?;
        let job = job_page
            .url()
            .path()
            .strip_prefix("/jobs/")
            .context("a generation that did not lead to its job's page")?
            .to_owned();
        super::done_job_card(client, &format!("http://{address}"), &job)?;
    }
    Ok(())
}
