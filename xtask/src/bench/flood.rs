//! The flood: 1,000 generations at once, each from a new browser, against a double that answers
//! each call after 10 s. Every request must be accepted as a job (202) or refused with a clear
//! reason; every accepted job must end, done, with its picture; the gallery must hold exactly
//! the pictures made, each whole and made once; and Easel must stay up and small.

use std::{
    collections::{BTreeMap, HashSet},
    fs::File,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use tokio::{sync::Semaphore, task::JoinSet};

use super::{MODEL, PROMPT, generations::job_id};
use crate::processes::{self, Binaries};

pub const REQUESTS: usize = 1_000;
/// Jobs of the model running at once, and waiting for a slot, in the one Easel process: about
/// half the flood is accepted and runs in about a minute; the rest is refused as queue full.
pub const CONCURRENCY: usize = 100;
pub const QUEUE_LENGTH: usize = 400;
/// The budget caps at Easel's defaults: the flood's highest cost (1,000 × $0.008) stays under
/// both, so the ledger is at work but refuses nothing.
const BUDGET_DAILY_USD: &str = "2";
const BUDGET_MONTHLY_USD: &str = "50";
pub const DOUBLE_DELAY: Duration = Duration::from_secs(10);
/// Longer than Easel's own bound on a request, so Easel always answers first.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long after the last answer every accepted job must have ended: twice what running them
/// all takes at full concurrency, and a minute more.
pub const END_WITHIN: Duration =
    Duration::from_secs(2 * (REQUESTS.div_ceil(CONCURRENCY) as u64) * DOUBLE_DELAY.as_secs() + 60);
/// Requests in flight while identities are made and jobs are looked up (not during the flood).
const POLITE: usize = 16;
const POLL_EVERY: Duration = Duration::from_secs(2);

pub struct Flood {
    pub accepted: usize,
    pub queue_full: usize,
    pub over_budget: usize,
    pub too_many: usize,
    /// Answers that were none of those: the first few, as status and text.
    pub unexpected: Vec<String>,
    pub unexpected_count: usize,
    /// Spawn of the 1,000 requests to the last answer, and the slowest answer.
    pub answered_in: Duration,
    pub slowest_answer: Duration,
    /// Final states of the accepted jobs; jobs still going at the deadline are `None`.
    pub ended: BTreeMap<String, usize>,
    pub not_ended: usize,
    /// Accepted jobs done with at least one picture.
    pub done_with_picture: usize,
    /// Flood start to the last accepted job seen ended.
    pub all_ended_in: Duration,
    /// Pictures shown by the jobs' pages (`/images/{id}/preview.jpg`), counting repeats.
    pub pictures_shown: usize,
    pub distinct_pictures: usize,
    /// Pictures shown whose record is not whole in the gallery folder.
    pub shown_not_stored: usize,
    /// Whole records that no job shows.
    pub stored_not_shown: usize,
    /// Bedrock calls Easel made, as its metrics count them.
    pub bedrock_calls: Option<u64>,
    pub peak_rss: u64,
    pub alive_after: bool,
    pub store: StoreCheck,
}

impl Flood {
    /// Answers that are neither an accepted job nor a clear refusal.
    pub fn unclear(&self) -> usize {
        self.unexpected_count
    }

    /// Accepted jobs that did not end done with a picture (including those that did not end).
    pub fn without_picture(&self) -> usize {
        self.accepted - self.done_with_picture
    }

    /// Pictures lost or broken: shown but not whole in the store, broken records, orphans.
    pub fn lost_or_broken(&self) -> usize {
        self.shown_not_stored + self.store.half_written + self.store.orphans
    }

    /// Pictures made more than once: repeats among the shown ones, records no job shows, and
    /// Bedrock calls beyond one per accepted job (each asks for one picture).
    pub fn made_twice(&self) -> usize {
        let calls = self
            .bedrock_calls
            .map_or(0, |calls| calls.saturating_sub(self.accepted as u64));
        (self.pictures_shown - self.distinct_pictures) + self.stored_not_shown + calls as usize
    }
}

pub fn run(binaries: &Binaries, work: &Path) -> Result<Flood> {
    let delay = DOUBLE_DELAY.as_millis().to_string();
    let double = processes::start_double(
        &binaries.double,
        &["--all-live", "--answer-after-ms", &delay],
    )?;
    let address = processes::free_loopback_address()?;
    let metrics = processes::free_loopback_address()?;
    let storage = work.join("flood-gallery");
    let mut env = processes::offline_env(double.url(), &storage);
    env.extend(settings());
    env.push(("EASEL_METRICS_LISTEN", metrics.to_string()));
    let log = File::create(work.join("flood.log")).context("creating the flood's log file")?;
    let mut easel = processes::start_easel(&binaries.easel, address, &env, Stdio::from(log))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the flood's runtime")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let base = format!("http://{address}");

    let cookies = runtime.block_on(identities(&client, &base))?;
    let started = Instant::now();
    let answers = runtime.block_on(send_all(&client, &base, &cookies));
    let answered_in = started.elapsed();

    let mut flood = Flood {
        accepted: 0,
        queue_full: 0,
        over_budget: 0,
        too_many: 0,
        unexpected: Vec::new(),
        unexpected_count: 0,
        answered_in,
        slowest_answer: answers.iter().map(|a| a.took).max().unwrap_or_default(),
        ended: BTreeMap::new(),
        not_ended: 0,
        done_with_picture: 0,
        all_ended_in: Duration::ZERO,
        pictures_shown: 0,
        distinct_pictures: 0,
        shown_not_stored: 0,
        stored_not_shown: 0,
        bedrock_calls: None,
        peak_rss: 0,
        alive_after: false,
        store: StoreCheck::default(),
    };
    let mut jobs = Vec::new();
    for answer in answers {
        match answer.kind() {
            Kind::Accepted(id) => {
                flood.accepted += 1;
                jobs.push((id, answer.cookie));
            }
            Kind::QueueFull => flood.queue_full += 1,
            Kind::OverBudget => flood.over_budget += 1,
            Kind::TooMany => flood.too_many += 1,
            Kind::Unexpected(what) => {
                flood.unexpected_count += 1;
                if flood.unexpected.len() < 3 {
                    flood.unexpected.push(what);
                }
            }
        }
    }

    let ends = runtime.block_on(follow(&client, &base, jobs, started));
    flood.all_ended_in = ends.last_end;
    let mut shown = HashSet::new();
    for end in &ends.jobs {
        match &end.state {
            Some(state) => *flood.ended.entry(state.clone()).or_default() += 1,
            None => flood.not_ended += 1,
        }
        if end.state.as_deref() == Some("done") && !end.pictures.is_empty() {
            flood.done_with_picture += 1;
        }
        flood.pictures_shown += end.pictures.len();
        shown.extend(end.pictures.iter().cloned());
    }
    flood.distinct_pictures = shown.len();
    flood.bedrock_calls = runtime.block_on(bedrock_calls(&client, metrics)).ok();
    flood.peak_rss = easel.peak_rss_bytes()?;
    flood.alive_after = easel.exited()?.is_none() && runtime.block_on(healthy(&client, &base));
    drop(runtime);
    drop(easel);
    drop(double);

    flood.store = StoreCheck::of(&storage.join("galleries"))?;
    flood.shown_not_stored = shown.difference(&flood.store.ids).count();
    flood.stored_not_shown = flood.store.ids.difference(&shown).count();
    Ok(flood)
}

/// Easel's settings for the flood, beside the ones that point it at the double.
pub fn settings() -> [(&'static str, String); 4] {
    [
        ("EASEL_MODEL_CONCURRENCY", CONCURRENCY.to_string()),
        ("EASEL_QUEUE_LENGTH", QUEUE_LENGTH.to_string()),
        ("EASEL_BUDGET_DAILY_USD", BUDGET_DAILY_USD.to_owned()),
        ("EASEL_BUDGET_MONTHLY_USD", BUDGET_MONTHLY_USD.to_owned()),
    ]
}

/// One answer to the flood as its browser got it; `status` is None when no answer came.
struct Answer {
    cookie: String,
    status: Option<StatusCode>,
    retry_after: bool,
    body: String,
    took: Duration,
}

enum Kind {
    Accepted(String),
    QueueFull,
    OverBudget,
    TooMany,
    Unexpected(String),
}

impl Answer {
    fn kind(&self) -> Kind {
        let says = |words: &[&str]| words.iter().all(|w| self.body.contains(w));
        match self.status {
            Some(StatusCode::ACCEPTED) => match job_id(&self.body) {
                Some(id) => Kind::Accepted(id.to_owned()),
                None => self.unexpected(),
            },
            Some(StatusCode::SERVICE_UNAVAILABLE)
                if self.retry_after && says(&["The queue for", "is full"]) =>
            {
                Kind::QueueFull
            }
            Some(StatusCode::PAYMENT_REQUIRED) if says(&["budget"]) => Kind::OverBudget,
            Some(StatusCode::TOO_MANY_REQUESTS) if self.retry_after => Kind::TooMany,
            _ => self.unexpected(),
        }
    }

    fn unexpected(&self) -> Kind {
        Kind::Unexpected(format!(
            "{}: {}",
            self.status
                .map_or("no answer".to_owned(), |s| s.to_string()),
            self.body.chars().take(200).collect::<String>()
        ))
    }
}

/// A new browser each: `GET /` and the identity cookie it sets, as `name=value`.
async fn identities(client: &reqwest::Client, base: &str) -> Result<Vec<String>> {
    let gate = Arc::new(Semaphore::new(POLITE));
    let mut visits = JoinSet::new();
    for _ in 0..REQUESTS {
        let (client, url, gate) = (client.clone(), format!("{base}/"), gate.clone());
        visits.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            let response = client.get(&url).send().await?.error_for_status()?;
            let cookie = response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("easel_id="))
                .and_then(|v| v.split(';').next())
                .map(str::to_owned)
                .context("GET / set no easel_id cookie")?;
            anyhow::Ok(cookie)
        });
    }
    let mut cookies = Vec::with_capacity(REQUESTS);
    for visit in visits.join_all().await {
        cookies.push(visit.context("a first visit to /")?);
    }
    Ok(cookies)
}

/// Sends every generation at once, each with its own browser's cookie, the way the page's
/// htmx form does.
async fn send_all(client: &reqwest::Client, base: &str, cookies: &[String]) -> Vec<Answer> {
    let mut requests = JoinSet::new();
    for (n, cookie) in cookies.iter().enumerate() {
        let request = client
            .post(format!("{base}/generate"))
            .header("HX-Request", "true")
            .header(header::COOKIE, cookie)
            .form(&[
                ("model", MODEL),
                ("prompt", PROMPT),
                ("size", "1024x1024"),
                ("count", "1"),
                ("seed_mode", "fixed"),
                ("seed", &(n + 1).to_string()),
            ]);
        let cookie = cookie.clone();
        requests.spawn(async move {
            let sent = Instant::now();
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response.headers().contains_key(header::RETRY_AFTER);
                    let body = response.text().await.unwrap_or_default();
                    Answer {
                        cookie,
                        status: Some(status),
                        retry_after,
                        body,
                        took: sent.elapsed(),
                    }
                }
                Err(error) => Answer {
                    cookie,
                    status: None,
                    retry_after: false,
                    body: error.to_string(),
                    took: sent.elapsed(),
                },
            }
        });
    }
    requests.join_all().await
}

/// How one accepted job ended, as its own page shows it to its browser.
struct Ended {
    /// The final state, or None if it had not ended by the deadline.
    state: Option<String>,
    /// Its pictures' ids.
    pictures: Vec<String>,
}

struct Ends {
    jobs: Vec<Ended>,
    /// Since the flood began, when the last job was seen ended.
    last_end: Duration,
}

/// Looks every accepted job up on its page (`GET /jobs/{id}`, with its browser's cookie),
/// round after round, until all have ended or the deadline passes.
async fn follow(
    client: &reqwest::Client,
    base: &str,
    jobs: Vec<(String, String)>,
    started: Instant,
) -> Ends {
    let deadline = Instant::now() + END_WITHIN;
    let gate = Arc::new(Semaphore::new(POLITE));
    let mut pending = jobs;
    let mut ended = Vec::new();
    let mut last_end = Duration::ZERO;
    while !pending.is_empty() && Instant::now() < deadline {
        let mut looks = JoinSet::new();
        for (id, cookie) in pending.drain(..) {
            let (client, gate) = (client.clone(), gate.clone());
            let url = format!("{base}/jobs/{id}");
            looks.spawn(async move {
                let seen = match gate.acquire_owned().await {
                    Ok(_turn) => look(&client, &url, &cookie).await,
                    Err(_) => None,
                };
                (id, cookie, seen)
            });
        }
        for (id, cookie, seen) in looks.join_all().await {
            match seen {
                Some((state, pictures)) if is_final(&state) => {
                    last_end = started.elapsed();
                    ended.push(Ended {
                        state: Some(state),
                        pictures,
                    });
                }
                _ => pending.push((id, cookie)),
            }
        }
        if !pending.is_empty() {
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
    ended.extend(pending.into_iter().map(|_| Ended {
        state: None,
        pictures: Vec::new(),
    }));
    Ends {
        jobs: ended,
        last_end,
    }
}

/// The job's state and its pictures' ids, from its page; None if the page did not come.
async fn look(client: &reqwest::Client, url: &str, cookie: &str) -> Option<(String, Vec<String>)> {
    let response = client
        .get(url)
        .header(header::COOKIE, cookie)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let html = response.text().await.ok()?;
    job_on_page(&html)
}

fn job_on_page(html: &str) -> Option<(String, Vec<String>)> {
    let page = Html::parse_document(html);
    let job = Selector::parse("article.job").expect("a valid selector");
    let img = Selector::parse("img").expect("a valid selector");
    let article = page.select(&job).next()?;
    let state = article.value().attr("data-state")?.to_owned();
    let pictures = article
        .select(&img)
        .filter_map(|img| img.value().attr("src"))
        .filter_map(|src| src.strip_prefix("/images/")?.strip_suffix("/preview.jpg"))
        .map(str::to_owned)
        .collect();
    Some((state, pictures))
}

fn is_final(state: &str) -> bool {
    matches!(state, "done" | "failed" | "cancelled")
}

/// Every Bedrock call Easel made, whatever its outcome, from its `/metrics`.
async fn bedrock_calls(client: &reqwest::Client, metrics: SocketAddr) -> Result<u64> {
    let text = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(calls_in(&text))
}

fn calls_in(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("easel_bedrock_calls_total{"))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(_, n)| n.trim().parse::<u64>().ok())
        .sum()
}

async fn healthy(client: &reqwest::Client, base: &str) -> bool {
    client
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// What the gallery folder holds once the flood is over.
#[derive(Default)]
pub struct StoreCheck {
    /// Records whose picture is there, whole.
    pub whole: usize,
    /// Their picture ids.
    pub ids: HashSet<String>,
    /// Records whose picture is missing or not the size the record says: a broken card.
    pub half_written: usize,
    /// Pictures without a record: invisible in the gallery, left by a write that did not finish.
    pub orphans: usize,
}

impl StoreCheck {
    /// Checks `galleries/{owner}/{id}.json` against `{id}.png` beside it.
    fn of(galleries: &Path) -> Result<Self> {
        let mut check = Self::default();
        if !galleries.exists() {
            return Ok(check);
        }
        for owner in std::fs::read_dir(galleries).context("listing the galleries")? {
            let folder = owner?.path();
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                match path.extension().and_then(|e| e.to_str()) {
                    Some("json") => {
                        if record_is_whole(&path)? {
                            check.whole += 1;
                            if let Some(id) = path.file_stem().and_then(|s| s.to_str()) {
                                check.ids.insert(id.to_owned());
                            }
                        } else {
                            check.half_written += 1;
                        }
                    }
                    Some("png") if !path.with_extension("json").exists() => check.orphans += 1,
                    _ => {}
                }
            }
        }
        Ok(check)
    }
}

/// Whether the record's picture exists, is as long as the record says and ends with a PNG's
/// last chunk.
fn record_is_whole(record: &Path) -> Result<bool> {
    let text =
        std::fs::read_to_string(record).with_context(|| format!("reading {}", record.display()))?;
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(false);
    };
    let Ok(png) = std::fs::read(record.with_extension("png")) else {
        return Ok(false);
    };
    const IEND: &[u8] = b"IEND\xae\x42\x60\x82";
    Ok(json["png_bytes"].as_u64() == Some(png.len() as u64) && png.ends_with(IEND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_page_tells_its_state_and_pictures() {
        let page = r#"<html><body><div id="result"><article class="job" id="job-01J" data-state="done">
            <div class="images"><figure class="image"><a href="/images/01J-0">
            <img src="/images/01J-0/preview.jpg" alt="x"></a></figure></div></article></div></body></html>"#;
        assert_eq!(
            job_on_page(page),
            Some(("done".to_owned(), vec!["01J-0".to_owned()]))
        );
        assert_eq!(job_on_page("<p>no job</p>"), None);
    }

    #[test]
    fn bedrock_calls_are_summed_over_outcomes() {
        let metrics = "# TYPE easel_bedrock_calls_total counter
easel_bedrock_calls_total{model=\"m\",outcome=\"ok\"} 498
easel_bedrock_calls_total{model=\"m\",outcome=\"throttled\"} 2
easel_bedrock_call_seconds_count{model=\"m\"} 500
";
        assert_eq!(calls_in(metrics), 500);
    }

    #[test]
    fn refusals_are_told_apart() {
        let answer = |status, retry_after, body: &str| Answer {
            cookie: String::new(),
            status: Some(status),
            retry_after,
            body: body.to_owned(),
            took: Duration::ZERO,
        };
        let full = "The queue for Titan is full: 400 jobs are waiting.";
        assert!(matches!(
            answer(StatusCode::SERVICE_UNAVAILABLE, true, full).kind(),
            Kind::QueueFull
        ));
        assert!(matches!(
            answer(StatusCode::SERVICE_UNAVAILABLE, false, full).kind(),
            Kind::Unexpected(_)
        ));
        assert!(matches!(
            answer(StatusCode::ACCEPTED, false, r#"<article class="job" id="job-01J">"#).kind(),
            Kind::Accepted(id) if id == "01J"
        ));
        assert!(matches!(
            answer(StatusCode::INTERNAL_SERVER_ERROR, false, "").kind(),
            Kind::Unexpected(_)
        ));
    }
}
