//! Behind CloudFront: a quiet job stream stays open, no shared cache keeps a person's pictures
//! or pages, and only the listed networks reach the studio.

use std::time::Duration;

use easel_tests::{BedrockDouble, PATIENCE, TestApp, spawn_app, spawn_app_with};
use reqwest::{StatusCode, header::CACHE_CONTROL};

#[tokio::test]
async fn a_job_stream_with_nothing_to_say_still_sends_a_comment() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.stream_keep_alive = Duration::from_millis(200);
    })
    .await;
    bedrock.will_answer_after(PATIENCE * 2);
    let job = app.submit(&[("prompt", "a slow fox")]).await.job_ids()[0].clone();

    let comment = first_comment_on_the_stream(&app, &job).await;

    assert_eq!(comment, ":");
}

/// The first comment line of the job's event stream, as a proxy in between would see it.
async fn first_comment_on_the_stream(app: &TestApp, job: &str) -> String {
    let mut stream = reqwest::Client::new()
        .get(app.url(&format!("/jobs/{job}/events")))
        .header("Cookie", app.cookie_header())
        .send()
        .await
        .expect("the job's stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no comment within {PATIENCE:?}: {text:?}"))
            .expect("the stream reads")
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(comment) = text.lines().find(|line| line.starts_with(':')) {
            return comment.to_owned();
        }
    }
}

#[tokio::test]
async fn pictures_are_kept_by_the_browser_alone_and_pages_by_nobody() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = app.generate("a fox").await.image_ids()[0].clone();

    for picture in ["image.png", "preview.jpg", "download"] {
        let (status, headers, _) = app.get_bytes(&format!("/images/{image}/{picture}")).await;
        assert_eq!(status, StatusCode::OK, "{picture}");
        let cache = &headers[CACHE_CONTROL];
        assert!(
            cache.to_str().unwrap().starts_with("private"),
            "{picture}: {cache:?}"
        );
    }
    for page in ["/", &format!("/images/{image}"), "/form-fields?model="] {
        let (_, headers, _) = app.get_bytes(page).await;
        assert_eq!(headers[CACHE_CONTROL], "no-store", "{page}");
    }
    let (_, headers, _) = app.get_bytes("/assets/app.css").await;
    assert!(
        headers[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("public"),
        "{headers:?}"
    );
}

/// A visit through CloudFront from `viewer` (`IP:port`, as CloudFront writes it), or without
/// the header, as a request that went round CloudFront comes.
async fn visit(app: &TestApp, path: &str, viewer: Option<&str>) -> StatusCode {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(viewer) = viewer {
        request = request.header("CloudFront-Viewer-Address", viewer);
    }
    request.send().await.expect("an answer").status()
}

async fn open_to_two_networks(bedrock: &BedrockDouble) -> TestApp {
    spawn_app_with(bedrock, |c| {
        c.allowed_viewers = Some(
            easel::http::AllowedViewers::parse("203.0.113.0/24, 2001:db8::/32").expect("CIDRs"),
        );
    })
    .await
}

#[tokio::test]
async fn viewers_from_the_listed_networks_reach_the_studio() {
    let bedrock = BedrockDouble::start().await;
    let app = open_to_two_networks(&bedrock).await;

    for viewer in ["203.0.113.7:51234", "2001:db8::1:443"] {
        assert_eq!(
            visit(&app, "/", Some(viewer)).await,
            StatusCode::OK,
            "{viewer}"
        );
        let css = visit(&app, "/assets/app.css", Some(viewer)).await;
        assert_eq!(css, StatusCode::OK, "{viewer}");
    }
}

#[tokio::test]
async fn viewers_from_elsewhere_are_refused_but_health_checks_stay_open() {
    let bedrock = BedrockDouble::start().await;
    let app = open_to_two_networks(&bedrock).await;

    for viewer in [
        Some("198.51.100.9:443"),
        Some("2001:db9::1:443"),
        Some("nonsense"),
        None,
    ] {
        assert_eq!(
            visit(&app, "/", viewer).await,
            StatusCode::FORBIDDEN,
            "{viewer:?}"
        );
    }
    let refused = reqwest::get(app.url("/gallery")).await.expect("an answer");
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Not open to your network"),
        "a short page says why"
    );
    assert_eq!(visit(&app, "/healthz", None).await, StatusCode::OK);
    assert_eq!(visit(&app, "/readyz", None).await, StatusCode::OK);
}
