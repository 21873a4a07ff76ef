//! `cargo xtask bench`: measures release Easel against the design's targets, with the Bedrock
//! double (every model live) standing in for Bedrock. Everything stays on loopback.
//!
//! In order: the first page load, sequential generations as jobs (overhead and memory,
//! `bench/generations.rs`), click -> picture shown in headless Chromium (`bench/browser.rs`),
//! a signed-in page view against an anonymous one (`bench/sign_in.rs`; alone with
//! `--only sign-in`), restarts (start to a healthy `/healthz`), the flood (`bench/flood.rs`) against a slow
//! double, four 4K upscales at once (`bench/upscales.rs`), click -> picture again against a
//! double that takes 2 s, and hostile edit forms (`bench/hostile.rs`). The report, with one
//! line per target, is `bench/report.rs`.
//!
//! These are measurements, not tests: the command succeeds whatever the figures are, unless
//! `--check` asks it to fail on a missed target.

use std::{
    fs::File,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{
    blocking::{Client, Response},
    header::{self, HeaderMap, HeaderValue},
};
use xshell::{Shell, cmd};

use crate::{
    flags,
    processes::{self, Binaries, Running},
};

mod browser;
mod flood;
mod gallery;
mod generations;
mod hostile;
mod report;
mod sign_in;
mod upscales;

use report::Report;

const MODEL: &str = "amazon.titan-image-generator-v2:0";
const PROMPT: &str = "a lighthouse on a cliff at dawn, watercolour";
/// Every timed generation asks for this seed. The double keeps the pictures it has encoded, by
/// seed: a new seed costs it about 7 ms of CPU for a 1024x1024 PNG, on the same two cores as
/// Easel (and Chromium), and that time would be counted as Easel's.
const SEED: u32 = 42;
/// Restarts timed from spawn to the first healthy `/healthz`.
const STARTS: u32 = 20;
const SLOW_MODEL_LIST_MS: &str = "1000";
const CONTAINER_STARTS: u32 = 10;
/// One browser starts hundreds of generations here: the budget caps and the rate limit would
/// refuse them, so the bench's Easel has none.
const UNCAPPED: [(&str, &str); 3] = [
    ("EASEL_BUDGET_DAILY_USD", "0"),
    ("EASEL_BUDGET_MONTHLY_USD", "0"),
    ("EASEL_RATE_LIMIT", "1000000"),
];

const KB: f64 = 1_000.0;
const MB: f64 = 1_000_000.0;

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let binaries = processes::build(sh, processes::Profile::Release)?;
        let machine = report::Machine::describe(sh)?;
        let work = tempfile::Builder::new()
            .prefix("easel-bench-")
            .tempdir()
            .context("creating a folder for the bench")?;
        let double = processes::start_double(&binaries.double, &["--all-live"])?;
        if let Some(flags::BenchPart::SignIn) = self.only {
            let sign_in = time_sign_in(&binaries, double.url(), work.path())?;
            return verdict(self.check, report::print_sign_in_only(&machine, &sign_in));
        }
        let address = processes::free_loopback_address()?;
        let mut env = processes::offline_env(double.url(), &work.path().join("gallery"));
        env.extend(UNCAPPED.map(|(key, value)| (key, value.to_owned())));
        let log = File::create(work.path().join("easel.log")).context("creating the log file")?;
        let easel = processes::start_easel(&binaries.easel, address, &env, Stdio::from(log))?;
        let client = browser()?;

        let page = first_page_load(&client, address)?;
        let empty_gallery = gallery::page_times(&client, address)?;
        thread::sleep(Duration::from_millis(500));
        let rss_idle = easel.rss_bytes()?;

        let generations = generations::Generations {
            client: &client,
            easel: &easel,
            app: format!("http://{address}"),
            double_url: format!("{}/model/{MODEL}/invoke", double.url()),
        };
        let timed = generations.measure(self.generations)?;
        println!("Clicking Generate in headless Chromium…");
        let clicks = browser::measure(address);
        let gallery_page = gallery::first_page_with_gallery(&client, address)?;
        println!(
            "Filling one browser's gallery to {} pictures (a few minutes)…",
            gallery::PICTURES
        );
        gallery::fill(
            &client,
            address,
            (generations::WARM_UP + self.generations) as usize,
        )?;
        let full_gallery = gallery::page_times(&client, address)?;
        let timed_full = generations.measure(self.generations)?;
        drop(easel);
        println!("The same generations with the store on a RAM disk…");
        let timed_in_ram = generations_in_ram(&binaries, double.url(), self.generations)?;
        let sign_in = time_sign_in(&binaries, double.url(), work.path())?;

        let container_starts = match &self.image {
            Some(image) => Some(container_start_to_healthy(sh, image, double.url())?),
            None => None,
        };
        drop(double);
        let starts = start_to_healthy(&binaries, work.path())?;
        println!(
            "Flooding Easel with {} generations against a slow double (a few minutes)…",
            flood::REQUESTS
        );
        let flood = flood::run(&binaries, work.path())?;
        println!("Running {} 4K upscales at once…", upscales::AT_ONCE);
        let upscales = upscales::run(&binaries, work.path())?;
        println!(
            "Clicking Generate again, the double answering after {} s…",
            browser::SLOW_MODEL.as_secs()
        );
        let slow_clicks = slow_clicks(&binaries, work.path())?;
        println!(
            "Sending {} hostile edit forms of {} MB at once…",
            hostile::FORMS,
            hostile::FORM_BYTES / 1_000_000
        );
        let hostile = hostile::run(&binaries, work.path())?;

        let report = Report {
            machine,
            page,
            gallery_page,
            empty_gallery,
            full_gallery,
            rss_idle,
            timed,
            timed_full,
            timed_in_ram,
            sign_in,
            clicks,
            starts,
            container_starts,
            flood,
            upscales,
            slow_clicks,
            hostile,
        };
        report.print(self.generations);
        verdict(self.check, report.missed())
    }
}

/// With `--check`, missed targets fail the command.
fn verdict(check: bool, missed: usize) -> Result<()> {
    if check && missed > 0 {
        bail!("{missed} target(s) missed");
    }
    Ok(())
}

fn time_sign_in(binaries: &Binaries, double_url: &str, work: &Path) -> Result<sign_in::SignIn> {
    println!(
        "Timing {} page views signed in and {0} anonymous, alternated…",
        sign_in::VIEWS
    );
    sign_in::measure(binaries, double_url, work)
}

/// One client with keep-alive and a cookie jar, asking for gzip like a browser, and handing back
/// bodies exactly as they came over the wire.
fn browser() -> Result<Client> {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    Client::builder()
        .default_headers(headers)
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .no_proxy()
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// One response as it crossed the wire.
struct Transfer {
    path: String,
    body_bytes: u64,
    header_bytes: u64,
    encoding: Option<String>,
}

impl Transfer {
    fn bytes(&self) -> u64 {
        self.body_bytes + self.header_bytes
    }
}

/// The bytes of the response head: status line, header lines and the blank line.
fn header_bytes(response: &Response) -> u64 {
    let status = response.status();
    let status_line = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    let lines: usize = response
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    (status_line.len() + lines + 2) as u64
}

/// `GET /` as a first-time visitor, then everything the page makes a browser fetch.
fn first_page_load(client: &Client, address: SocketAddr) -> Result<Vec<Transfer>> {
    let mut transfers = vec![fetch(client, address, "/")?];
    // The same page once more, uncompressed, only to read which assets it references.
    let html = page_text(client, &format!("http://{address}/"))?;
    let assets = page_assets(&html);
    ensure!(
        !assets.is_empty(),
        "the page references no assets; is `/` the studio page?"
    );
    for asset in assets {
        transfers.push(fetch(client, address, &asset)?);
    }
    Ok(transfers)
}

/// The timed generations against a fresh Easel whose store is on a RAM disk (tmpfs): what Easel
/// itself adds, apart from what this machine's disk adds to each write. None without one.
fn generations_in_ram(
    binaries: &Binaries,
    double_url: &str,
    n: u32,
) -> Result<Option<generations::Timed>> {
    let ram_disk = Path::new("/dev/shm");
    if !ram_disk.is_dir() {
        return Ok(None);
    }
    let work = tempfile::Builder::new()
        .prefix("easel-bench-")
        .tempdir_in(ram_disk)
        .context("creating a folder on the RAM disk")?;
    let fresh = Fresh::start(binaries, double_url, &work.path().join("gallery"), &[])?;
    let generations = generations::Generations {
        client: &fresh.client,
        easel: &fresh.easel,
        app: fresh.app.clone(),
        double_url: format!("{double_url}/model/{MODEL}/invoke"),
    };
    generations.measure(n).map(Some)
}

/// Click -> picture shown on a fresh Easel whose double takes [`browser::SLOW_MODEL`] to answer
/// each call, as real models take seconds.
fn slow_clicks(binaries: &Binaries, work: &Path) -> Result<browser::Browser<browser::SlowClicks>> {
    let delay = browser::SLOW_MODEL.as_millis().to_string();
    let double = processes::start_double(
        &binaries.double,
        &["--all-live", "--answer-after-ms", &delay],
    )?;
    let fresh = Fresh::start(binaries, double.url(), &work.join("slow-gallery"), &[])?;
    Ok(browser::measure_slow(fresh.address))
}

/// A fresh Easel for one measurement, so that what it measures is its own: pointed at a
/// double, without budget caps or a rate limit, and a browser that has loaded its page once
/// (the first visit gives the browser its identity).
struct Fresh {
    easel: Running,
    address: SocketAddr,
    /// `http://ADDR`.
    app: String,
    client: Client,
}

impl Fresh {
    /// Its store in `storage`, with `settings` beside the bench's own.
    fn start(
        binaries: &Binaries,
        double_url: &str,
        storage: &Path,
        settings: &[(&'static str, String)],
    ) -> Result<Self> {
        let address = processes::free_loopback_address()?;
        Self::start_at(binaries, address, double_url, storage, settings)
    }

    /// As [`Fresh::start`], on `address` (for settings that name it).
    fn start_at(
        binaries: &Binaries,
        address: SocketAddr,
        double_url: &str,
        storage: &Path,
        settings: &[(&'static str, String)],
    ) -> Result<Self> {
        let mut env = processes::offline_env(double_url, storage);
        env.extend(UNCAPPED.map(|(key, value)| (key, value.to_owned())));
        env.extend_from_slice(settings);
        let easel = processes::start_easel(&binaries.easel, address, &env, Stdio::null())?;
        let app = format!("http://{address}");
        let client = browser()?;
        page_text(&client, &format!("{app}/"))?;
        Ok(Self {
            easel,
            address,
            app,
            client,
        })
    }
}

/// A page as text: asked for uncompressed, since the client keeps bodies as they came.
fn page_text(client: &Client, url: &str) -> Result<String> {
    client
        .get(url)
        .header(header::ACCEPT_ENCODING, "identity")
        .send()
        .and_then(Response::error_for_status)
        .and_then(Response::text)
        .with_context(|| format!("GET {url} (uncompressed)"))
}

/// Polls a job's page until the job has ended; its own card once it is done.
fn done_job_card(client: &Client, app: &str, job: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let start = format!("id=\"job-{job}\"");
    loop {
        let page = page_text(client, &format!("{app}/jobs/{job}"))?;
        let card = page
            .find(&start)
            .and_then(|at| page[at..].find("</article>").map(|end| &page[at..at + end]))
            .with_context(|| format!("no card on the page of job {job}"))?;
        if card.contains("data-state=\"done\"") {
            return Ok(card.to_owned());
        }
        ensure!(
            !card.contains("data-state=\"failed\"") && !card.contains("data-state=\"cancelled\""),
            "job {job} did not finish: {card:.600}"
        );
        ensure!(
            Instant::now() < deadline,
            "job {job} was not done within 5 minutes"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A GET whose bytes are counted as they came over the wire (still compressed).
fn fetch(client: &Client, address: SocketAddr, path: &str) -> Result<Transfer> {
    let response = client
        .get(format!("http://{address}{path}"))
        .send()
        .and_then(Response::error_for_status)
        .with_context(|| format!("GET {path}"))?;
    let header_bytes = header_bytes(&response);
    let encoding = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .with_context(|| format!("reading GET {path}"))?;
    Ok(Transfer {
        path: path.to_owned(),
        body_bytes: body.len() as u64,
        header_bytes,
        encoding,
    })
}

/// What a browser fetches to show the page: every `src` (scripts, images) and every stylesheet
/// or other `href` under `/assets/`. Links to other pages are not fetched.
fn page_assets(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (attribute, wanted) in [("src=\"", "/"), ("href=\"", "/assets/")] {
        for (start, _) in html.match_indices(attribute) {
            let value = &html[start + attribute.len()..];
            let Some(end) = value.find('"') else { continue };
            let path = &value[..end];
            if path.starts_with(wanted)
                && !path.starts_with("//")
                && !found.iter().any(|p| p == path)
            {
                found.push(path.to_owned());
            }
        }
    }
    found
}

/// Spawn to the first healthy `/healthz`, restart after restart on the same gallery (as when
/// ECS replaces a task), polled every 2 ms. The double's model list answers after a second, as a
/// far region might: health must not wait for it.
fn start_to_healthy(binaries: &Binaries, work: &Path) -> Result<Latencies> {
    let double = processes::start_double(
        &binaries.double,
        &["--all-live", "--control-plane-after-ms", SLOW_MODEL_LIST_MS],
    )?;
    let storage = work.join("restarts-gallery");
    let env = processes::offline_env(double.url(), &storage);
    let mut samples = Vec::new();
    for _ in 0..STARTS {
        let address = processes::free_loopback_address()?;
        let started = Instant::now();
        let easel = processes::start_easel(&binaries.easel, address, &env, Stdio::null())?;
        samples.push(started.elapsed());
        drop(easel);
    }
    Ok(Latencies::new(samples))
}

/// Container starts of the app image, on the host network beside the double: how long `docker
/// start` took (the engine's share: until the process runs), and how long until the first
/// healthy `/healthz` after that (Easel's share).
struct ContainerStarts {
    engine: Latencies,
    easel: Latencies,
    total: Latencies,
}

/// Creating and removing each container is not timed.
fn container_start_to_healthy(
    sh: &Shell,
    image: &str,
    double_url: &str,
) -> Result<ContainerStarts> {
    let (mut engine, mut easel, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..CONTAINER_STARTS {
        let address = processes::free_loopback_address()?;
        let name = format!("easel-bench-{}", address.port());
        let env: Vec<String> = processes::offline_env(double_url, Path::new("/data"))
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .chain([format!("EASEL_LISTEN={address}")])
            .collect();
        let env = env.iter().flat_map(|pair| ["--env", pair]);
        cmd!(
            sh,
            "docker create --name {name} --network host {env...} {image}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("docker create of {image}"))?;
        let started = Instant::now();
        let running = cmd!(sh, "docker start {name}")
            .quiet()
            .ignore_stdout()
            .run()
            .map(|()| started.elapsed());
        let healthy = running.map_err(anyhow::Error::from).and_then(|running| {
            processes::wait_for_healthz(address, || Ok(()))?;
            Ok((running, started.elapsed()))
        });
        let _ = cmd!(sh, "docker rm --force {name}")
            .quiet()
            .ignore_stdout()
            .run();
        let (running, healthy) =
            healthy.with_context(|| format!("starting a container of {image}"))?;
        engine.push(running);
        easel.push(healthy - running);
        total.push(healthy);
    }
    Ok(ContainerStarts {
        engine: Latencies::new(engine),
        easel: Latencies::new(easel),
        total: Latencies::new(total),
    })
}

/// Request latencies, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The nearest-rank percentile `p` (0 < p <= 100).
    fn percentile(&self, p: f64) -> Duration {
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples = Latencies::new((1..=200).rev().map(Duration::from_millis).collect());
        assert_eq!(samples.median(), Duration::from_millis(100));
        assert_eq!(samples.percentile(99.0), Duration::from_millis(198));
        assert_eq!(samples.percentile(100.0), Duration::from_millis(200));
        let one = Latencies::new(vec![Duration::from_millis(7)]);
        assert_eq!(one.percentile(99.0), Duration::from_millis(7));
    }

    #[test]
    fn the_assets_are_what_a_browser_fetches() {
        let html = r#"<link rel="stylesheet" href="/assets/app.css">
            <script src="/assets/htmx.min.js" defer></script><script src="/assets/app.js"></script>
            <a href="/">Easel</a><a href="/gallery?page=2">more</a><img src="/images/x/image.png">
            <script src="/assets/app.js"></script><img src="https://elsewhere.example/x.png">"#;
        assert_eq!(
            page_assets(html),
            [
                "/assets/htmx.min.js",
                "/assets/app.js",
                "/images/x/image.png",
                "/assets/app.css"
            ]
        );
    }
}
