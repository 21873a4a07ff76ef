//! The flood: 1,000 generations at once, from 1,000 new browsers, against a double that answers
//! each call after 10 s. Easel must stay up and small, answer every request with its picture or
//! "busy, try again", and store only whole entries.

use std::{
    fs::File,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use reqwest::StatusCode;
use scraper::{Html, Selector};

use super::{MODEL, PROMPT};
use crate::processes::{self, Binaries};

pub const REQUESTS: usize = 1_000;
/// Easel's defaults, set here so that the expected count of pictures is known: every slot and
/// every place in the waiting line should end with a picture, and only the rest be "busy".
const SLOTS: usize = 4;
const WAITING: usize = 32;
pub const EXPECTED_PICTURES: usize = SLOTS + WAITING;
const DOUBLE_DELAY_MS: &str = "10000";
/// Longer than Easel's own bound on a request, so Easel always answers first.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);
/// The start of the sentence Easel shows when every slot for a model is taken.
const BUSY: &str = "Easel is busy";

pub struct Flood {
    pub with_images: usize,
    pub images_shown: usize,
    pub busy: usize,
    /// Answers that were neither: the first few, as status and text.
    pub unexpected: Vec<String>,
    pub unexpected_count: usize,
    pub took: Duration,
    pub peak_rss: u64,
    pub alive_after: bool,
    pub store: StoreCheck,
}

pub fn run(binaries: &Binaries, work: &Path) -> Result<Flood> {
    let double = processes::start_double(
        &binaries.double,
        &["--all-live", "--answer-after-ms", DOUBLE_DELAY_MS],
    )?;
    let address = processes::free_loopback_address()?;
    let storage = work.join("flood-gallery");
    let mut env = processes::offline_env(double.url(), &storage);
    env.push(("EASEL_MODEL_CONCURRENCY", SLOTS.to_string()));
    env.push(("EASEL_QUEUE_LENGTH", WAITING.to_string()));
    let log = File::create(work.join("flood.log")).context("creating the flood's log file")?;
    let mut easel = processes::start_easel(&binaries.easel, address, &env, Stdio::from(log))?;

    let started = Instant::now();
    let answers = send_all(&format!("http://{address}/generate"))?;
    let took = started.elapsed();

    let mut flood = Flood {
        with_images: 0,
        images_shown: 0,
        busy: 0,
        unexpected: Vec::new(),
        unexpected_count: 0,
        took,
        peak_rss: easel.peak_rss_bytes()?,
        alive_after: easel.exited()?.is_none() && healthy(address),
        store: StoreCheck::default(),
    };
    for answer in answers {
        match answer.kind() {
            Kind::Images(n) => {
                flood.with_images += 1;
                flood.images_shown += n;
            }
            Kind::Busy => flood.busy += 1,
            Kind::Unexpected(what) => {
                flood.unexpected_count += 1;
                if flood.unexpected.len() < 3 {
                    flood.unexpected.push(what);
                }
            }
        }
    }
    drop(easel);
    drop(double);
    flood.store = StoreCheck::of(&storage.join("galleries"))?;
    Ok(flood)
}

impl Flood {
    pub fn print(&self) {
        println!();
        println!(
            "Flood: {REQUESTS} generations at once, each from a new browser, the double answering after {} s:",
            DOUBLE_DELAY_MS.parse::<u64>().unwrap_or_default() / 1_000
        );
        println!(
            "  {} got their picture, {} got \"busy, try again\", {} got something else; all answered in {:.1} s",
            self.with_images,
            self.busy,
            self.unexpected_count,
            self.took.as_secs_f64()
        );
        for answer in &self.unexpected {
            println!("    for example {answer}");
        }
        println!(
            "  RSS peak {:.1} MB; Easel {} afterwards",
            self.peak_rss as f64 / 1_000_000.0,
            if self.alive_after {
                "still healthy"
            } else {
                "DOWN"
            }
        );
        println!(
            "  gallery: {} whole entries for {} pictures shown, {} half-written, {} invisible orphan pictures",
            self.store.whole, self.images_shown, self.store.half_written, self.store.orphans
        );
    }
}

/// One answer as a browser got it; `status` is None when no answer came at all.
struct Answer {
    status: Option<StatusCode>,
    body: String,
}

enum Kind {
    Images(usize),
    Busy,
    Unexpected(String),
}

impl Answer {
    fn kind(&self) -> Kind {
        let shown = Html::parse_fragment(&self.body)
            .select(&Selector::parse(".images figure.image img").expect("a valid selector"))
            .count();
        match self.status {
            Some(StatusCode::OK) if shown > 0 => Kind::Images(shown),
            Some(StatusCode::SERVICE_UNAVAILABLE) if self.body.contains(BUSY) => Kind::Busy,
            status => Kind::Unexpected(format!(
                "{}: {}",
                status.map_or("no answer".to_owned(), |s| s.to_string()),
                self.body.chars().take(200).collect::<String>()
            )),
        }
    }
}

/// Sends every generation at once, each from a browser of its own (no shared cookie), the way
/// the page's htmx form does.
fn send_all(url: &str) -> Result<Vec<Answer>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the flood's runtime")?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..REQUESTS {
            let request = client.post(url).header("HX-Request", "true").form(&[
                ("model", MODEL),
                ("prompt", PROMPT),
                ("size", "1024x1024"),
                ("count", "1"),
                ("seed_mode", "fixed"),
                ("seed", &(n + 1).to_string()),
            ]);
            requests.spawn(async move {
                match request.send().await {
                    Ok(response) => Answer {
                        status: Some(response.status()),
                        body: response.text().await.unwrap_or_default(),
                    },
                    Err(error) => Answer {
                        status: None,
                        body: error.to_string(),
                    },
                }
            });
        }
        Ok(requests.join_all().await)
    })
}

fn healthy(address: std::net::SocketAddr) -> bool {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .and_then(|client| client.get(format!("http://{address}/healthz")).send())
        .is_ok_and(|response| response.status().is_success())
}

/// What the gallery folder holds once the flood is over.
#[derive(Default)]
pub struct StoreCheck {
    /// Records whose picture is there, whole.
    pub whole: usize,
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
