//! The main journeys in a real headless Chromium, driven over WebDriver: type a prompt, press
//! Generate, a job card appears and its picture arrives without a page load; its download is the
//! PNG. A running job's Cancel button stops it, and the form stays usable meanwhile.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use easel_tests::{BedrockDouble, spawn_app};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// chromedriver on a free port, stopped when dropped.
struct ChromeDriver {
    process: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian: chromium-driver)");
        Self { process, port }
    }

    async fn browser(&self) -> Client {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000"
                ]
            }
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{}", self.port);
        for _ in 0..50 {
            let connected = ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            if let Ok(client) = connected {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }
}

impl ChromeDriver {
    /// A browser on the studio page, with a mark on its window that a page load would wipe.
    async fn open_studio(&self, url: &str) -> Client {
        let browser = self.browser().await;
        browser.goto(url).await.unwrap();
        browser
            .execute("window.easelMark = 'same page'; return null;", vec![])
            .await
            .unwrap();
        browser
    }
}

/// The mark set by `open_studio` is still there: no page load happened.
/// Whether `image` has loaded and has pixels within `patience`: its preview may still be being
/// made when the card arrives, and the browser shows it once it comes.
async fn displayed_within(browser: &Client, image: &Element, patience: Duration) -> bool {
    let until = std::time::Instant::now() + patience;
    loop {
        let width = browser
            .execute(
                "return arguments[0].complete ? arguments[0].naturalWidth : 0;",
                vec![serde_json::to_value(image).unwrap()],
            )
            .await
            .unwrap();
        if width.as_u64().unwrap_or(0) > 0 {
            return true;
        }
        if std::time::Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_same_page(browser: &Client) {
    let mark = browser
        .execute("return window.easelMark;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, Value::from("same page"), "no page load happened");
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn a_person_types_a_prompt_and_the_picture_appears_without_a_page_load() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let driver = ChromeDriver::start();
    let browser = driver.open_studio(&app.url("/")).await;
    browser
        .find(Locator::Css("textarea[name=prompt]"))
        .await
        .unwrap()
        .send_keys("a lighthouse on a cliff at dusk")
        .await
        .unwrap();
    let count = browser
        .find(Locator::Css("#prompt-count .count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, "31", "the character count follows the typing");
    browser
        .find(Locator::Css("#generate-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#result article.job[data-state]"))
        .await
        .expect("a job card appears in #result");
    let image = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#result article.job[data-state=done] img"))
        .await
        .expect("the picture is pushed into the card");
    assert_same_page(&browser).await;
    assert!(
        displayed_within(&browser, &image, Duration::from_secs(10)).await,
        "the picture is displayed"
    );
    let seed = browser
        .find(Locator::Css("#result .seed"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(seed.starts_with("Seed "), "{seed}");
    let gallery = browser
        .find_all(Locator::Css("#gallery li.card img"))
        .await
        .unwrap();
    assert_eq!(gallery.len(), 1, "the gallery updated too");
    let first_picture = gallery[0].attr("src").await.unwrap();
    let spent = browser
        .find(Locator::Css("#spend"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(spent, "Spent today: $0.04 of $2.00", "and what was spent");

    let download = browser
        .find(Locator::Css("#result a.download"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .expect("a download link");
    let answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(async r => {
               const bytes = new Uint8Array(await r.arrayBuffer());
               done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), Array.from(bytes.slice(0, 8))]);
             });",
            vec![Value::from(download)],
        )
        .await
        .unwrap();
    assert_eq!(answer[0], 200);
    assert_eq!(answer[1], "image/png");
    let disposition = answer[2].as_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"a-lighthouse-on-a-cliff-at-dusk-"),
        "{disposition}"
    );
    assert_eq!(
        answer[3],
        json!([137, 80, 78, 71, 13, 10, 26, 10]),
        "the download is a PNG"
    );

    // A second picture goes on top of the gallery, the first staying below it.
    click(&browser, "#generate-form button[type=submit]").await;
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#gallery li.card:nth-child(2)"))
        .await
        .expect("the second picture joins the gallery");
    let gallery = browser
        .find_all(Locator::Css("#gallery li.card img"))
        .await
        .unwrap();
    assert_eq!(gallery.len(), 2, "the second picture joined the gallery");
    let newest = browser
        .find(Locator::Css("#result article.job[data-state=done] img"))
        .await
        .unwrap()
        .attr("src")
        .await
        .unwrap();
    assert_eq!(
        gallery[0].attr("src").await.unwrap(),
        newest,
        "newest first"
    );
    assert_eq!(gallery[1].attr("src").await.unwrap(), first_picture);
    let total = browser
        .find(Locator::Css("#gallery-total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(total, "2");
    assert_same_page(&browser).await;

    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_running_job_is_cancelled_from_its_card_while_the_form_stays_usable() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_secs(30));
    let app = spawn_app(&bedrock).await;
    let driver = ChromeDriver::start();
    let browser = driver.open_studio(&app.url("/")).await;

    let prompt = browser
        .find(Locator::Css("textarea[name=prompt]"))
        .await
        .unwrap();
    let generate = Locator::Css("#generate-form button[type=submit]");
    prompt.send_keys("a slow sunrise").await.unwrap();
    browser.find(generate).await.unwrap().click().await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#result article.job[data-state=running]"))
        .await
        .expect("the job runs");
    // The form is free for another job while the first one runs.
    prompt.clear().await.unwrap();
    prompt.send_keys("a second idea").await.unwrap();
    browser.find(generate).await.unwrap().click().await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//article[contains(@class,'job')][contains(., 'a second idea')]",
        ))
        .await
        .expect("a second card");
    assert_eq!(
        browser
            .find_all(Locator::Css("#result article.job"))
            .await
            .unwrap()
            .len(),
        2
    );

    let first = "//article[contains(@class,'job')][contains(., 'a slow sunrise')]";
    browser
        .find(Locator::XPath(&format!("{first}//button[@name='cancel']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The card is swapped by the cancel's answer and again by the pushed update: wait for
    // one that says so, rather than read an element that may be replaced meanwhile.
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!(
            "{first}[@data-state='cancelled'][.//*[@class='state'][.='Cancelled']]"
        )))
        .await
        .expect("the card says it was cancelled");
    assert_same_page(&browser).await;
    assert!(
        browser
            .find_all(Locator::Css("#gallery li.card"))
            .await
            .unwrap()
            .is_empty()
    );

    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_person_paints_a_mask_inpaints_and_follows_the_lineage_back() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let driver = ChromeDriver::start();
    let browser = driver.open_studio(&app.url("/")).await;
    let card = generate_in_page(&browser, "a house by a lake").await;
    let edit = card
        .find(Locator::Css("a.edit"))
        .await
        .expect("the picture's card has an Edit link");
    let source = edit.attr("href").await.unwrap().expect("a link");
    let source = source
        .strip_prefix("/images/")
        .and_then(|s| s.strip_suffix("/edit"))
        .expect("an edit page")
        .to_owned();
    follow(edit).await;
    browser
        .wait()
        .for_element(Locator::Css("#painter canvas.mask-layer"))
        .await
        .expect("the edit page paints over the picture");
    browser
        .execute("window.easelMark = 'same page'; return null;", vec![])
        .await
        .unwrap();
    let prompt = browser
        .find(Locator::Css("#edit-form textarea[name=prompt]"))
        .await
        .unwrap();
    prompt.send_keys("a red door").await.unwrap();

    paint(&browser).await;
    assert!(
        mask_files_become(&browser, 1).await,
        "the painting is the mask"
    );
    click(&browser, "[data-mask-action=undo]").await;
    assert!(
        mask_files_become(&browser, 0).await,
        "undone, nothing is painted"
    );
    paint(&browser).await;
    assert!(mask_files_become(&browser, 1).await);
    click(&browser, "#edit-button").await;

    let result = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#result article.job[data-state=done] img"))
        .await
        .expect("the edited picture arrives in its card");
    assert_same_page(&browser).await;
    assert!(displayed_within(&browser, &result, Duration::from_secs(10)).await);
    let call = bedrock.received().pop().expect("an inpaint call");
    assert_eq!(call.model_id, "us.stability.stable-image-inpaint-v1:0");
    let picture = decode(&call.body["image"]);
    let mask = decode(&call.body["mask"]).to_luma8();
    assert_eq!(
        mask.dimensions(),
        (picture.width(), picture.height()),
        "the picture's own size"
    );
    let (cx, cy) = (mask.width() / 2, mask.height() / 2);
    assert_eq!(mask.get_pixel(cx, cy).0, [255], "white where painted");
    assert_eq!(mask.get_pixel(2, 2).0, [0], "black where not");

    // From the result to its permalink, and back along the lineage to the source.
    let picture_page = browser
        .find(Locator::Css(
            "#result article.job[data-state=done] figure a",
        ))
        .await
        .unwrap();
    follow(picture_page).await;
    let made_from = browser
        .wait()
        .for_element(Locator::Css(".made-from a"))
        .await
        .expect("the edit names its source");
    assert_eq!(made_from.text().await.unwrap(), "this picture");
    follow(made_from).await;
    browser
        .wait()
        .for_element(Locator::Css(".lineage.edits img"))
        .await
        .expect("the source lists its edit");
    let url = browser.current_url().await.unwrap();
    assert!(url.path().ends_with(&source), "{url}");

    browser.close().await.unwrap();
}

/// Types `prompt`, presses Generate and waits until the job's card shows it done, with its
/// picture loaded: a picture that loads later moves the card's links under the pointer.
async fn generate_in_page(browser: &Client, prompt: &str) -> Element {
    browser
        .find(Locator::Css("textarea[name=prompt]"))
        .await
        .unwrap()
        .send_keys(prompt)
        .await
        .unwrap();
    click(browser, "#generate-form button[type=submit]").await;
    let card = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#result article.job[data-state=done]"))
        .await
        .expect("the job is done");
    let image = card.find(Locator::Css("img")).await.expect("its picture");
    assert!(
        displayed_within(browser, &image, Duration::from_secs(20)).await,
        "the picture is displayed"
    );
    card
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A stroke with the mouse across the middle of the picture, as a person drags it.
async fn paint(browser: &Client) {
    use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let canvas = browser.find(Locator::Css("#painter canvas")).await.unwrap();
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
    browser.perform_actions(mouse).await.unwrap();
}

/// Whether the mask input comes to hold `wanted` files: the painter writes its PNG a moment
/// after the stroke ends.
async fn mask_files_become(browser: &Client, wanted: u64) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let files = browser
            .execute(
                "return document.getElementById('mask').files.length;",
                vec![],
            )
            .await
            .unwrap();
        if files.as_u64() == Some(wanted) {
            return true;
        }
        if std::time::Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn decode(base64: &Value) -> image::DynamicImage {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.as_str().expect("a base64 picture"))
        .unwrap();
    image::load_from_memory(&bytes).unwrap()
}

#[tokio::test]
async fn a_downloaded_picture_dropped_on_the_page_fills_the_form() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let driver = ChromeDriver::start();
    let browser = driver.open_studio(&app.url("/")).await;
    let card = generate_in_page(&browser, "a windmill in the snow").await;
    card.find(Locator::Css("a.download"))
        .await
        .expect("a picture to download");
    browser.goto(&app.url("/")).await.unwrap();

    // WebDriver cannot drag a file from the desktop, so the page is given the drop a person
    // makes: the downloaded PNG, in a drop event's DataTransfer.
    browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('#gallery a[download]');
             fetch(link.href).then(r => r.blob()).then(blob => {
               const files = new DataTransfer();
               files.items.add(new File([blob], 'windmill.png', { type: 'image/png' }));
               document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));
               done(null);
             });",
            vec![],
        )
        .await
        .unwrap();

    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Read in one step: htmx swaps the form whole when it fills it.
        let prompt = browser
            .execute(
                "return document.querySelector('#generate-form textarea[name=prompt]')?.value;",
                vec![],
            )
            .await
            .unwrap();
        if prompt.as_str() == Some("a windmill in the snow") {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the form was not filled: {prompt:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.close().await.unwrap();
}

/// Clicks a link that leads to another page. chromedriver can close its connection while the
/// page changes, losing its answer to the click: that is not a failure here, since the caller
/// next waits for the page the link leads to, and that wait fails if the click did not happen.
async fn follow(link: Element) {
    match link.click().await {
        Ok(()) | Err(fantoccini::error::CmdError::FailedC(_)) => {}
        Err(error) => panic!("clicking the link: {error}"),
    }
}
