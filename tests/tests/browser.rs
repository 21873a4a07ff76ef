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
