//! Hostile input at the edge: text past its cap is refused beside its field with a short
//! answer, never shown again; a client that trickles its headers is cut off while others are
//! served; only a few pictures are read at once, and a browser over its rate is refused before
//! its picture is read; uploads stop at the browser's quota; a client cannot choose Easel's
//! request ids; readiness probes cost the store nothing; and a job's own pictures go when it
//! ends.

use std::time::Duration;

use easel_tests::{BedrockDouble, PATIENCE, Page, TestApp, spawn_app, spawn_app_with, wait_until};
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{
    edit::{HEIGHT, WIDTH, mask, picture, png, uploaded},
    gallery::counted_app,
    recipe::automatic1111_png,
};

const MB: usize = 1024 * 1024;

/// No refusal needs more than this, whatever was sent.
const SHORT_ANSWER: usize = 100 * 1024;

/// Edits a fresh upload by a plain form post, with `field` holding `bytes` of `<`, the
/// character that grows most when escaped.
async fn edit_with_a_field_of(app: &TestApp, field: &str, bytes: usize) -> Page {
    let picture = uploaded(app).await;
    let long = "<".repeat(bytes);
    let fields = [("operation", "inpaint"), (field, long.as_str())];
    app.edit_without_js(&picture, &fields, &[]).await
}

#[tokio::test]
async fn an_edit_whose_prompt_is_30_mb_is_refused_beside_the_prompt_with_a_short_answer() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = edit_with_a_field_of(&app, "prompt", 30 * MB).await;

    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    let said = page
        .error_for("prompt")
        .expect("a sentence beside the prompt");
    assert!(said.contains("at most 10000 characters"), "{said}");
    assert!(page.html.len() < SHORT_ANSWER, "{} bytes", page.html.len());
    assert!(bedrock.received().is_empty(), "nothing is called");
}

#[tokio::test]
async fn an_edit_with_a_long_setting_is_refused_on_the_form_without_showing_it() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = edit_with_a_field_of(&app, "seed", MB).await;

    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    let said = page.error_for("operation").expect("a sentence on the form");
    assert!(said.contains("longer than Easel takes"), "{said}");
    assert!(page.html.len() < SHORT_ANSWER, "{} bytes", page.html.len());
}

#[tokio::test]
async fn a_dropped_picture_with_a_30_mb_recipe_gets_a_short_refusal() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .drop_picture(automatic1111_png(&"<".repeat(30 * MB)))
        .await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text().contains("more text than any recipe"),
        "{}",
        page.text()
    );
    assert!(page.html.len() < SHORT_ANSWER, "{} bytes", page.html.len());
}

#[tokio::test]
async fn a_request_id_a_client_sends_is_not_taken_as_easels() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let answer = reqwest::Client::new()
        .get(app.url("/healthz"))
        .header("X-Request-Id", "chosen-by-the-client")
        .send()
        .await
        .expect("GET /healthz");

    let id = answer.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "chosen-by-the-client");
    assert_eq!(id.len(), 36, "a UUID of Easel's own: {id}");
}

/// A client that sends a header line every 200 ms and never finishes: true once Easel has
/// closed its connection (within `deadline`).
async fn trickle_headers_until_closed(app: &TestApp, deadline: Duration) -> bool {
    let address = app.address.trim_start_matches("http://");
    let mut connection = TcpStream::connect(address).await.expect("a connection");
    connection
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: easel\r\n")
        .await
        .expect("the request line");
    let trickle = async {
        for line in 0.. {
            let header = format!("X-Slow-{line}: x\r\n");
            if connection.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let mut answer = [0; 1024];
            // Closed: the read ends (or fails) instead of timing out.
            let read = connection.read(&mut answer);
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(200), read).await
            {
                return;
            }
        }
    };
    tokio::time::timeout(deadline, trickle).await.is_ok()
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off_and_others_are_served() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |config| {
        config.header_timeout = Duration::from_secs(1);
    })
    .await;

    let (cut_off, home) = tokio::join!(
        trickle_headers_until_closed(&app, Duration::from_secs(20)),
        app.home(),
    );

    assert!(cut_off, "the trickling connection is closed");
    assert_eq!(home.status, StatusCode::OK, "others are served meanwhile");
}

#[tokio::test]
async fn readiness_probes_write_nothing_to_the_store() {
    let bedrock = BedrockDouble::start().await;
    let app = counted_app(&bedrock).await;
    let writes = |requests: &std::collections::BTreeMap<String, u64>| {
        ["put", "delete", "copy"]
            .map(|operation| requests.get(operation).copied().unwrap_or(0))
            .iter()
            .sum::<u64>()
    };
    let before = writes(&app.store_requests().await);

    for _ in 0..20 {
        assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    }

    assert_eq!(writes(&app.store_requests().await), before);
}

/// An upload whose picture never finishes arriving, as a slow or hostile client sends it. The
/// connection stays open until dropped.
async fn start_an_upload_that_never_ends(app: &TestApp) -> TcpStream {
    app.home().await;
    let address = app.address.trim_start_matches("http://");
    let mut connection = TcpStream::connect(address).await.expect("a connection");
    let head = format!(
        "POST /uploads HTTP/1.1\r\nHost: {address}\r\nOrigin: {}\r\n\
         Sec-Fetch-Site: same-origin\r\nCookie: {}\r\n\
         Content-Type: multipart/form-data; boundary=edge\r\nContent-Length: {}\r\n\r\n\
         --edge\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"slow.png\"\r\n\r\n",
        app.address,
        app.cookie_header(),
        8 * MB
    );
    connection
        .write_all(head.as_bytes())
        .await
        .expect("the start of the upload");
    connection
}

/// Uploads a small picture again and again until the answer's status is `wanted`.
async fn upload_until(app: &TestApp, wanted: StatusCode) -> Page {
    wait_until(format!("an upload answered {wanted}"), PATIENCE, || async {
        let page = app.upload("small.png", png(picture(64, 64))).await;
        match page.status == wanted {
            true => Ok(page),
            false => Err(format!("{}: {}", page.status, page.text())),
        }
    })
    .await
}

#[tokio::test]
async fn while_pictures_are_being_read_one_more_gets_a_short_busy_answer() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |config| config.pictures_at_once = 1).await;
    let slow = start_an_upload_that_never_ends(&app).await;

    let busy = upload_until(&app, StatusCode::SERVICE_UNAVAILABLE).await;

    assert!(
        busy.text().contains("reading other pictures"),
        "{}",
        busy.text()
    );
    assert!(busy.headers.contains_key("retry-after"));
    // The sentence on a page of its own: nothing sent is echoed back.
    assert!(busy.html.len() < 4096, "{} bytes", busy.html.len());
    drop(slow);
    upload_until(&app, StatusCode::OK).await;
}

#[tokio::test]
async fn a_browser_over_its_rate_is_refused_before_its_picture_is_read() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |config| config.rate_limit = 1).await;
    upload_until(&app, StatusCode::OK).await;

    let mut slow = start_an_upload_that_never_ends(&app).await;
    let mut answer = vec![0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut answer))
        .await
        .expect("an answer before the picture has arrived")
        .expect("the answer");

    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after"), "{answer}");
}

/// A picture that does not compress: 512 x 512 of noise, about 770 KB as a PNG.
fn noise() -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    png(image::RgbImage::from_fn(512, 512, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [r, g, b, _] = seed.to_le_bytes();
        image::Rgb([r, g, b])
    }))
}

#[tokio::test]
async fn uploads_stop_at_the_browsers_quota_until_it_deletes_some() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |config| config.upload_quota = Some(MB as u64)).await;
    let first = app.upload("noise.png", noise()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());

    let refused = app.upload("more-noise.png", noise()).await;

    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused.text().contains("quota of 1 MB"),
        "{}",
        refused.text()
    );
    let kept = first
        .picture_being_edited()
        .expect("the first upload's page");
    app.delete(&kept).await;
    let again = app.upload("more-noise.png", noise()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
}

/// Objects the app has deleted from its store so far, from its metrics.
async fn deletes(app: &TestApp) -> u64 {
    app.store_requests()
        .await
        .get("delete")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn the_mask_an_edit_came_with_is_deleted_when_its_job_ends() {
    let bedrock = BedrockDouble::start().await;
    let app = counted_app(&bedrock).await;
    let source = uploaded(&app).await;
    let before = deletes(&app).await;

    let job = app
        .edit_and_wait(
            &source,
            &[("operation", "inpaint"), ("prompt", "a red door")],
            &[("mask", mask(WIDTH, HEIGHT, true))],
        )
        .await;
    assert_eq!(job.job_states(), ["done"]);

    // The job's queue mark and its mask; the end is shown a moment before they go.
    wait_until(
        "the job's queue mark and mask deleted",
        PATIENCE,
        || async {
            match deletes(&app).await - before {
                2.. => Ok(()),
                n => Err(format!("only {n} deleted")),
            }
        },
    )
    .await;
}
