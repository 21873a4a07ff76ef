//! Click -> picture shown, in headless Chromium driven over WebDriver (chromedriver), timed
//! inside the page with `performance.now()`: from the click on the form's submit button until
//! the picture of the new job, done, has loaded in `#result`. Beside it, the same browser's
//! floor: the same picture (the card's preview) fetched and shown by a plain `<img>` in the same page. Then the same for
//! an edit: the edit page of the last picture made, and a click on its button.
//! Each click asks for the same fixed seed, as the job overhead's generations do, so the double
//! answers from the pictures it keeps and what is timed is Easel and the browser.
//!
//! An instant double is the quick-answer path: a model that answers in under 100 ms
//! (`EASEL_QUICK_ANSWER_MS`) has its job waited for, and the answer to the click brings the
//! picture. Real Bedrock never answers that fast, so the clicks are timed again against a double
//! that takes [`SLOW_MODEL`], where the picture comes through the job's event stream: what
//! counts there is the time beyond the model's own.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::{Latencies, MODEL, PROMPT, SEED};

/// The names Chromium goes by, looked for on `PATH` in this order.
const CHROMIUM: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
const CHROMEDRIVER: [&str; 1] = ["chromedriver"];
pub const WARM_UP: usize = 5;
pub const RUNS: usize = 30;
/// The slow double's time for every call: real models take seconds.
pub const SLOW_MODEL: Duration = Duration::from_secs(2);
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
    "--disable-extensions",
];
/// How long one click may take to show its picture before the run is given up.
const PICTURE_TIMEOUT_MS: u64 = 20_000;
/// The steps in [`Phases`].
const STEPS: usize = 6;
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What a browser run found.
pub enum Browser<T> {
    Measured(Box<T>),
    /// Chromium or chromedriver is not installed.
    NotInstalled(String),
    /// It is installed, but the run failed.
    Failed(String),
}

/// The edit the bench times: no prompt and no mask to fill in, and the double answers at once.
pub const EDIT: &str = "remove-background";

pub struct Clicks {
    /// Click to the new job's picture loaded in `#result`.
    pub shown: Latencies,
    /// Where the time of `shown` went.
    pub phases: Phases,
    /// Click on the edit page's button to the edited picture loaded in `#result`.
    pub edited: Latencies,
    /// The same picture, fetched and shown by a plain `<img>`.
    pub floor: Latencies,
    pub model: String,
    pub size: String,
    /// The picture's size in bytes, a mean over the clicks.
    pub picture_bytes: u64,
    pub chromium: String,
}

/// Clicks Generate, then an edit, against Easel at `address`; never fails, says why when it
/// could not measure.
pub fn measure(address: SocketAddr) -> Browser<Clicks> {
    measured(|session| run(session, address))
}

/// Clicks Generate against Easel at `address`, whose double takes [`SLOW_MODEL`] to answer.
pub fn measure_slow(address: SocketAddr) -> Browser<SlowClicks> {
    measured(|session| {
        let generated = generate(session, address)?;
        Ok(SlowClicks {
            shown: Latencies::new(generated.shown),
        })
    })
}

/// Runs `run` in a headless Chromium, once Chromium and chromedriver are found on `PATH`.
fn measured<T>(run: impl FnOnce(&Session<'_>) -> Result<T>) -> Browser<T> {
    let (Some(chromium), Some(chromedriver)) = (on_path(&CHROMIUM), on_path(&CHROMEDRIVER)) else {
        return Browser::NotInstalled(format!(
            "no {} or {} on PATH (Debian: chromium and chromium-driver)",
            CHROMIUM.join(", "),
            CHROMEDRIVER.join(", ")
        ));
    };
    let measured =
        Driver::start(chromium, &chromedriver).and_then(|driver| run(&driver.session()?));
    match measured {
        Ok(clicks) => Browser::Measured(Box::new(clicks)),
        Err(error) => Browser::Failed(format!("{error:#}")),
    }
}

/// The first of `names` found in a folder on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Click -> picture against a double that takes [`SLOW_MODEL`] for each call.
pub struct SlowClicks {
    pub shown: Latencies,
}

impl SlowClicks {
    /// The median click -> picture shown, less the model's own time.
    pub fn beyond_the_model_ms(&self) -> f64 {
        super::ms(self.shown.median()) - super::ms(SLOW_MODEL)
    }
}

/// The timed clicks on Generate, each with its floor after it.
struct Generated {
    shown: Vec<Duration>,
    answered_done: u32,
    steps: [Vec<Duration>; STEPS],
    floor: Vec<Duration>,
    bytes: u64,
    /// The last click and its floor.
    last: (Click, Fetched),
}

fn generate(session: &Session<'_>, address: SocketAddr) -> Result<Generated> {
    let page = format!("http://{address}/?model={MODEL}");
    let mut shown = Vec::with_capacity(RUNS);
    let mut answered_done = 0;
    let mut steps: [Vec<Duration>; STEPS] = Default::default();
    let mut floor = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    let mut last = None;
    for run in 0..WARM_UP + RUNS {
        let click = session
            .click_to_picture(&page, &Form::GENERATE)
            .with_context(|| format!("click {}", run + 1))?;
        let fetched = session
            .floor(&format!("{}?floor={run}", click.src))
            .with_context(|| format!("the floor after click {}", run + 1))?;
        if run >= WARM_UP {
            shown.push(click.took);
            answered_done += u32::from(click.answered_done);
            for (step, took) in steps.iter_mut().zip(click.steps) {
                step.push(took);
            }
            floor.push(fetched.took);
            bytes += fetched.bytes;
        }
        last = Some((click, fetched));
    }
    Ok(Generated {
        shown,
        answered_done,
        steps,
        floor,
        bytes,
        last: last.context("no run")?,
    })
}

fn run(session: &Session<'_>, address: SocketAddr) -> Result<Clicks> {
    let Generated {
        shown,
        answered_done,
        steps,
        floor,
        bytes,
        last: (click, fetched),
    } = generate(session, address)?;
    let edit_page = format!("http://{address}{}", edit_page_of(&click.src)?);
    let mut edited = Vec::with_capacity(RUNS);
    for run in 0..WARM_UP + RUNS {
        let edit = session
            .click_to_picture(&edit_page, &Form::EDIT)
            .with_context(|| format!("edit click {}", run + 1))?;
        if run >= WARM_UP {
            edited.push(edit.took);
        }
    }
    let [sent, first_byte, answered, card, done, requested] = steps.map(Latencies::new);
    Ok(Clicks {
        shown: Latencies::new(shown),
        phases: Phases {
            sent,
            first_byte,
            answered,
            card,
            done,
            requested,
            answered_done,
        },
        edited: Latencies::new(edited),
        floor: Latencies::new(floor),
        model: click.model,
        size: format!("{}x{}", fetched.width, fetched.height),
        picture_bytes: bytes / RUNS as u64,
        chromium: session.browser_version.clone(),
    })
}

/// `/images/ID/edit?operation=…` for the picture at `src` (`/images/ID/…`).
fn edit_page_of(src: &str) -> Result<String> {
    let id = src
        .strip_prefix("/images/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty())
        .with_context(|| format!("{src} is not a picture of the gallery"))?;
    Ok(format!("/images/{id}/edit?operation={EDIT}"))
}

/// The form a click submits, and the control that names what it makes.
struct Form {
    form: &'static str,
    /// The prompt typed before the click, when the form has one.
    prompt: Option<&'static str>,
    /// The fixed seed chosen before the click, when the form has one.
    seed: Option<u32>,
    /// A select whose value the report names: the model, or the operation.
    choice: &'static str,
}

impl Form {
    const GENERATE: Self = Self {
        form: "#generate-form",
        prompt: Some(PROMPT),
        seed: Some(SEED),
        choice: "#model",
    };
    const EDIT: Self = Self {
        form: "#edit-form",
        prompt: None,
        seed: None,
        choice: "#operation",
    };
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
    http: Client,
    /// The Chromium it starts.
    chromium: PathBuf,
}

impl Driver {
    fn start(chromium: PathBuf, chromedriver: &Path) -> Result<Self> {
        let port = crate::processes::free_loopback_address()?.port();
        let process = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        let http = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the WebDriver client")?;
        Ok(Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            http,
            chromium,
        })
    }

    /// A new headless Chromium, once chromedriver answers.
    fn session(&self) -> Result<Session<'_>> {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": { "script": PICTURE_TIMEOUT_MS + 10_000, "pageLoad": 60_000 },
                "goog:chromeOptions": { "binary": self.chromium.to_string_lossy(), "args": CHROMIUM_ARGS },
            }}
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.ready() {
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on {} within 20 s", self.url);
            }
            thread::sleep(Duration::from_millis(50));
        }
        let created = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.url),
            &capabilities,
        )
        .context("starting Chromium through chromedriver")?;
        let id = created["sessionId"]
            .as_str()
            .context("no sessionId in chromedriver's answer")?
            .to_owned();
        let browser_version = created["capabilities"]["browserVersion"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        Ok(Session {
            driver: self,
            url: format!("{}/session/{id}", self.url),
            browser_version,
        })
    }

    fn ready(&self) -> bool {
        self.http
            .get(format!("{}/status", self.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A WebDriver command; its `value`, or the driver's error.
fn call(http: &Client, method: reqwest::Method, url: &str, body: &Value) -> Result<Value> {
    let mut request = http.request(method.clone(), url);
    if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
        request = request.json(body);
    }
    let response = request.send().with_context(|| format!("{method} {url}"))?;
    let status = response.status();
    let mut answer: Value = response
        .json()
        .with_context(|| format!("reading {method} {url}"))?;
    let value = answer["value"].take();
    if !status.is_success() {
        bail!(
            "WebDriver {method} {url} answered {status}: {} {}",
            value["error"].as_str().unwrap_or_default(),
            value["message"]
                .as_str()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
        );
    }
    Ok(value)
}

/// One browser window, closed when dropped.
struct Session<'a> {
    driver: &'a Driver,
    url: String,
    browser_version: String,
}

/// The steps of a click to its picture, each timed from the click.
pub struct Phases {
    /// The form's request on the wire (its resource timing's `requestStart`).
    pub sent: Latencies,
    /// The first byte of its answer received: from `sent`, the wait for Easel.
    pub first_byte: Latencies,
    /// Its whole answer received by the browser.
    pub answered: Latencies,
    /// The new job card swapped into `#result`.
    pub card: Latencies,
    /// The card shown done: in the answer itself, or from its event stream.
    pub done: Latencies,
    /// The picture's request sent by the browser.
    pub requested: Latencies,
    /// Clicks whose answer brought the job done, so that no stream was opened.
    pub answered_done: u32,
}

/// One click, as the page timed it.
struct Click {
    took: Duration,
    /// `sent`, `first_byte`, `answered`, `card`, `done` and `requested` of [`Phases`], for this
    /// click.
    steps: [Duration; STEPS],
    /// The first card swapped in was done already.
    answered_done: bool,
    /// The picture's URL.
    src: String,
    model: String,
}

/// The picture fetched again by a plain `<img>`.
struct Fetched {
    took: Duration,
    width: u64,
    height: u64,
    bytes: u64,
}

/// Installed before the click: notes the click's time, then watches `#result` for a new job
/// card that is done and whose picture has loaded. Cards already on the page do not count.
const WATCH: &str = r#"
const [formSelector, prompt, seed, choice, timeoutMs] = arguments;
const form = document.querySelector(formSelector);
if (prompt !== null) form.querySelector('textarea[name=prompt]').value = prompt;
if (seed !== null) {
  form.querySelector('input[name=seed]').value = String(seed);
  form.querySelector('input[name=seed_mode][value=fixed]').checked = true;
}
const result = document.querySelector('#result');
const known = new Set(Array.from(result.querySelectorAll('article.job')).map(a => a.id));
window.easelBench = new Promise((resolve, reject) => {
  let clicked = null;
  document.addEventListener('click', () => { clicked = performance.now(); },
    { capture: true, once: true });
  let observer = null;
  const steps = {};
  let answeredDone = null;
  const check = () => {
    for (const card of result.querySelectorAll('article.job')) {
      if (known.has(card.id)) continue;
      steps.card ??= performance.now();
      answeredDone ??= card.dataset.state === 'done';
      if (card.dataset.state === 'done') steps.done ??= performance.now();
    }
    for (const img of result.querySelectorAll('article.job[data-state=done] img')) {
      if (known.has(img.closest('article.job').id)) continue;
      if (img.complete && img.naturalWidth > 0) {
        const now = performance.now();
        observer.disconnect();
        if (clicked === null) { reject('the picture came before the click'); return; }
        const entry = performance.getEntriesByName(img.src).pop();
        const requested = entry ? entry.startTime : now;
        const post = performance.getEntriesByName(form.action).find(e => e.startTime >= clicked);
        resolve({ ms: now - clicked, src: img.getAttribute('src'), answeredDone,
          steps: [post?.requestStart, post?.responseStart, post?.responseEnd, steps.card,
            steps.done, requested]
            .map(t => (t ?? now) - clicked) });
        return;
      }
      img.addEventListener('load', check, { once: true });
    }
  };
  observer = new MutationObserver(check);
  observer.observe(result, { childList: true, subtree: true, attributes: true,
    attributeFilter: ['data-state', 'src'] });
  setTimeout(() => { observer.disconnect(); reject('no picture within ' + timeoutMs + ' ms'); },
    timeoutMs);
});
return document.querySelector(choice).value;
"#;

/// Waits for what `WATCH` found.
const AWAIT: &str = r#"
const done = arguments[arguments.length - 1];
window.easelBench.then(found => done(found), problem => done({ error: String(problem) }));
"#;

/// The floor: a plain `<img>` added to the page, timed from setting its `src` to its load.
const FLOOR: &str = r#"
const [src, done] = [arguments[0], arguments[arguments.length - 1]];
const img = document.createElement('img');
document.body.appendChild(img);
img.addEventListener('load', () => {
  const ms = performance.now() - started;
  const entry = performance.getEntriesByName(img.src).pop();
  done({ ms, ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth,
    height: img.naturalHeight, bytes: entry ? entry.encodedBodySize : 0 });
});
img.addEventListener('error', () => done({ error: 'the picture did not load' }));
const started = performance.now();
img.src = src;
"#;

impl Session<'_> {
    fn command(&self, method: reqwest::Method, path: &str, body: &Value) -> Result<Value> {
        call(
            &self.driver.http,
            method,
            &format!("{}{path}", self.url),
            body,
        )
    }

    fn script(&self, kind: &str, script: &str, args: Value) -> Result<Value> {
        self.command(
            reqwest::Method::POST,
            &format!("/execute/{kind}"),
            &json!({ "script": script, "args": args }),
        )
    }

    /// A fresh load of `page`, then one click on its form's button, timed in the page.
    fn click_to_picture(&self, page: &str, form: &Form) -> Result<Click> {
        self.command(reqwest::Method::POST, "/url", &json!({ "url": page }))?;
        let model = self.script(
            "sync",
            WATCH,
            json!([
                form.form,
                form.prompt,
                form.seed,
                form.choice,
                PICTURE_TIMEOUT_MS
            ]),
        )?;
        let button = self.command(
            reqwest::Method::POST,
            "/element",
            &json!({ "using": "css selector", "value": format!("{} button[type=submit]", form.form) }),
        )?;
        let button = button[ELEMENT]
            .as_str()
            .with_context(|| format!("no submit button in {}", form.form))?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{button}/click"),
            &json!({}),
        )?;
        let found = self.script("async", AWAIT, json!([]))?;
        if let Some(problem) = found["error"].as_str() {
            bail!("{problem}");
        }
        let mut steps = [Duration::ZERO; STEPS];
        for (i, step) in steps.iter_mut().enumerate() {
            *step = duration_ms(&found["steps"][i])?;
        }
        Ok(Click {
            took: duration_ms(&found["ms"])?,
            steps,
            answered_done: found["answeredDone"] == Value::Bool(true),
            src: found["src"]
                .as_str()
                .context("the picture has no src")?
                .to_owned(),
            model: model.as_str().unwrap_or_default().to_owned(),
        })
    }

    /// The same picture once more, by a plain `<img>`, with a query that keeps it out of the
    /// cache.
    fn floor(&self, src: &str) -> Result<Fetched> {
        let fetched = self.script("async", FLOOR, json!([src]))?;
        if let Some(problem) = fetched["error"].as_str() {
            bail!("{problem}");
        }
        if fetched["ok"] != Value::Bool(true) {
            bail!("the picture loaded but shows nothing: {fetched}");
        }
        Ok(Fetched {
            took: duration_ms(&fetched["ms"])?,
            width: fetched["width"].as_u64().unwrap_or_default(),
            height: fetched["height"].as_u64().unwrap_or_default(),
            bytes: fetched["bytes"].as_u64().unwrap_or_default(),
        })
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = call(
            &self.driver.http,
            reqwest::Method::DELETE,
            &self.url,
            &Value::Null,
        );
    }
}

fn duration_ms(value: &Value) -> Result<Duration> {
    let ms = value
        .as_f64()
        .with_context(|| format!("not a time: {value}"))?;
    Ok(Duration::from_secs_f64(ms.max(0.0) / 1_000.0))
}
