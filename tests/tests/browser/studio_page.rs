//! The studio in a real headless Chromium, driven over WebDriver, in the verbs of a person
//! using it: sign in, type a prompt, press Generate, wait for a job's card, cancel it, paint a
//! mask, sign out.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use easel_tests::{PATIENCE, process::free_port, wait_until};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// The names Chromium goes by, looked for on `PATH` in this order.
const CHROMIUM: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The first Chromium on `PATH`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    CHROMIUM
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no Chromium on PATH (looked for {}): install one, e.g. Debian's chromium and chromium-driver",
                CHROMIUM.join(", ")
            )
        })
}

/// chromedriver on a free port, stopped when dropped.
struct ChromeDriver {
    process: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> Self {
        let port = free_port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is on PATH (Debian: chromium-driver)");
        Self { process, port }
    }

    /// A headless Chromium, once chromedriver is ready to start one.
    async fn browser(&self) -> Client {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000"
                ]
            }
        });
        let capabilities = capabilities.as_object().expect("an object").clone();
        let url = format!("http://127.0.0.1:{}", self.port);
        wait_until("chromedriver to start a browser", PATIENCE, || {
            let (capabilities, url) = (capabilities.clone(), url.clone());
            async move {
                ClientBuilder::rustls()
                    .expect("TLS roots")
                    .capabilities(capabilities)
                    .connect(&url)
                    .await
            }
        })
        .await
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The studio open in a browser of its own.
pub struct StudioPage {
    browser: Client,
    _driver: ChromeDriver,
}

impl StudioPage {
    /// Opens `url` in a fresh browser, and marks the page (see [`StudioPage::mark`]).
    pub async fn open(url: &str) -> Self {
        let driver = ChromeDriver::start();
        let browser = driver.browser().await;
        browser.goto(url).await.expect("the page opens");
        let page = Self {
            browser,
            _driver: driver,
        };
        page.mark().await;
        page
    }

    /// Puts a mark on the window that a page load would wipe.
    pub async fn mark(&self) {
        self.browser
            .execute("window.easelMark = 'same page'; return null;", vec![])
            .await
            .expect("the mark is set");
    }

    /// The mark set by [`StudioPage::mark`] is still there: no page load happened.
    pub async fn assert_same_page(&self) {
        let mark = self
            .browser
            .execute("return window.easelMark;", vec![])
            .await
            .expect("the mark is read");
        assert_eq!(mark, Value::from("same page"), "no page load happened");
    }

    /// The browser itself, for what a person does outside the page's own controls.
    pub fn browser(&self) -> &Client {
        &self.browser
    }

    /// Replaces what the prompt box holds with `prompt`, key by key.
    pub async fn type_prompt(&self, prompt: &str) {
        let field = self.find("#generate-form textarea[name=prompt]").await;
        field.clear().await.expect("the prompt is cleared");
        field.send_keys(prompt).await.expect("the prompt is typed");
    }

    /// Presses Generate.
    pub async fn press_generate(&self) {
        self.click("#generate-form button[type=submit]").await;
    }

    /// Types `prompt` and presses Generate.
    pub async fn generate(&self, prompt: &str) {
        self.type_prompt(prompt).await;
        self.press_generate().await;
    }

    /// Generates `prompt` and waits until its card shows it done, with its picture loaded: a
    /// picture that loads later moves the card's links under the pointer.
    pub async fn generate_and_wait(&self, prompt: &str) -> Element {
        self.generate(prompt).await;
        let card = self.wait_for_job_state(prompt, "done").await;
        let picture = card.find(Locator::Css("img")).await.expect("its picture");
        self.wait_until_shown(&picture).await;
        card
    }

    /// The card of the job for `prompt` in `#result`, once it is in `state` ("running",
    /// "done", "cancelled", …). Cards are swapped whole by each answer and pushed update, so
    /// the card is found afresh until one in that state is there.
    pub async fn wait_for_job_state(&self, prompt: &str, state: &str) -> Element {
        let card = format!(
            "//*[@id='result']//article[contains(@class,'job')][@data-state='{state}'][.//*[@class='prompt'][.='{prompt}']]"
        );
        self.browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&card))
            .await
            .unwrap_or_else(|e| panic!("no {state} card for {prompt:?}: {e}"))
    }

    /// What the card of the job for `prompt` says of its state, read in one step since the
    /// card may be swapped at any moment.
    pub async fn shown_state(&self, prompt: &str) -> String {
        let state = self
            .browser
            .execute(
                "const card = [...document.querySelectorAll('#result article.job')]
                   .find(c => c.querySelector('.prompt')?.textContent === arguments[0]);
                 return card?.querySelector('.state')?.textContent;",
                vec![Value::from(prompt)],
            )
            .await
            .expect("the card is read");
        state.as_str().unwrap_or_default().to_owned()
    }

    /// Presses Cancel on the card of the job for `prompt`.
    pub async fn cancel(&self, prompt: &str) {
        let button = format!(
            "//*[@id='result']//article[contains(@class,'job')][.//*[@class='prompt'][.='{prompt}']]//button[@name='cancel']"
        );
        self.browser
            .find(Locator::XPath(&button))
            .await
            .expect("the card has a Cancel button")
            .click()
            .await
            .expect("Cancel is pressed");
    }

    /// Follows the download link `css` finds, as the page's own fetch would: (status, content
    /// type, content disposition, the first eight bytes).
    pub async fn download(&self, css: &str) -> Value {
        let link = self.find(css).await;
        let href = link.attr("href").await.expect("its href").expect("a link");
        self.browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(async r => {
                   const bytes = new Uint8Array(await r.arrayBuffer());
                   done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), Array.from(bytes.slice(0, 8))]);
                 });",
                vec![Value::from(href)],
            )
            .await
            .expect("the download is fetched")
    }

    /// The status the page's own fetch of `path` gets, with the browser's cookies.
    pub async fn status_of(&self, path: &str) -> u64 {
        self.browser
            .execute_async(
                "const [path, done] = arguments; fetch(path).then(r => done(r.status));",
                vec![Value::from(path)],
            )
            .await
            .expect("the fetch is made")
            .as_u64()
            .expect("a status")
    }

    /// Types `username` into the provider's sign-in form and presses Sign in, then waits until
    /// the studio says who is signed in.
    pub async fn sign_in_as(&self, username: &str) {
        self.wait_for("#username")
            .await
            .send_keys(username)
            .await
            .expect("the username is typed");
        self.follow(self.find("#sign-in").await).await;
        self.wait_for(".signed-in .who").await;
    }

    /// Presses Sign out.
    pub async fn sign_out(&self) {
        self.follow(self.find("#sign-out").await).await;
    }

    /// Drops on the page, as `file_name`, the picture that the download link `css` finds
    /// leads to. WebDriver cannot drag a file from the desktop, so the page is given the drop a
    /// person makes: the downloaded PNG, in a drop event's DataTransfer.
    pub async fn drop_picture(&self, css: &str, file_name: &str) {
        self.browser
            .execute_async(
                "const [css, name, done] = arguments;
                 fetch(document.querySelector(css).href).then(r => r.blob()).then(blob => {
                   const files = new DataTransfer();
                   files.items.add(new File([blob], name, { type: 'image/png' }));
                   document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));
                   done(null);
                 });",
                vec![Value::from(css), Value::from(file_name)],
            )
            .await
            .expect("the picture is dropped");
    }

    /// Waits until `picture` has loaded and has pixels: its preview may still be being made
    /// when the card arrives, and the browser shows it once it comes.
    pub async fn wait_until_shown(&self, picture: &Element) {
        let picture = serde_json::to_value(picture).expect("an element reference");
        wait_until("the picture to show", PATIENCE, || async {
            let width = self
                .browser
                .execute(
                    "return arguments[0].complete ? arguments[0].naturalWidth : 0;",
                    vec![picture.clone()],
                )
                .await
                .expect("the picture is read");
            match width.as_u64().unwrap_or(0) {
                0 => Err("no pixels yet"),
                _ => Ok(()),
            }
        })
        .await;
    }

    /// A stroke with the mouse across the middle of the picture being edited, as a person
    /// drags it.
    pub async fn paint_mask(&self) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        let canvas = self.find("#painter canvas").await;
        let step = |x: f64, y: f64| PointerAction::MoveBy {
            duration: Some(Duration::from_millis(50)),
            x,
            y,
        };
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: canvas,
                duration: None,
                x: -40.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(step(40.0, 5.0))
            .then(step(40.0, -5.0))
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.browser
            .perform_actions(mouse)
            .await
            .expect("the stroke is made");
    }

    /// Waits until the mask input holds `wanted` files: the painter writes its PNG a moment
    /// after the stroke ends.
    pub async fn wait_for_mask_files(&self, wanted: u64) {
        self.wait_for_value(
            format!("the mask input to hold {wanted} files"),
            "return document.getElementById('mask').files.length;",
            Value::from(wanted),
        )
        .await;
    }

    /// Waits until the generate form's prompt says `wanted`.
    pub async fn wait_for_prompt(&self, wanted: &str) {
        self.wait_for_value(
            format!("the prompt to say {wanted:?}"),
            "return document.querySelector('#generate-form textarea[name=prompt]')?.value;",
            Value::from(wanted),
        )
        .await;
    }

    /// Waits until `script` returns `wanted`. The script reads the page in one step, since
    /// htmx may swap what it reads between two.
    async fn wait_for_value(&self, what: String, script: &str, wanted: Value) {
        wait_until(what, PATIENCE, || async {
            let value = self
                .browser
                .execute(script, vec![])
                .await
                .expect("the script runs");
            match value == wanted {
                true => Ok(()),
                false => Err(value),
            }
        })
        .await;
    }

    /// The element `css` finds, once there is one.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
    }

    pub async fn find(&self, css: &str) -> Element {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("looking for {css}: {e}"))
    }

    /// The text of the element `css` finds.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("its text")
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks a link that leads to another page. chromedriver can close its connection while
    /// the page changes, losing its answer to the click: that is not a failure here, since the
    /// caller next waits for the page the link leads to, and that wait fails if the click did
    /// not happen.
    pub async fn follow(&self, link: Element) {
        match link.click().await {
            Ok(()) | Err(fantoccini::error::CmdError::FailedC(_)) => {}
            Err(error) => panic!("clicking the link: {error}"),
        }
    }

    pub async fn close(self) {
        self.browser.close().await.expect("the browser closes");
    }
}
