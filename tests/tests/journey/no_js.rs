//! Without JavaScript the same form works by a plain post, and the answers are whole pages.

use std::time::Duration;

use easel_tests::{BedrockDouble, spawn_app};

#[tokio::test]
async fn a_plain_form_post_answers_with_the_whole_page_and_the_result() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let app = spawn_app(&bedrock).await;

    // The post is answered with a redirect to the job's own page, which the browser follows.
    let page = app
        .generate_without_js(&[
            ("prompt", "an origami crane"),
            ("count", "2"),
            ("seed_mode", "random"),
        ])
        .await;

    assert_eq!(page.status, 200);
    assert!(page.contains("<!doctype html>"), "a whole page");
    let [id] = page.job_ids().try_into().expect("the job's card");
    assert!(
        matches!(page.job_states().concat().as_str(), "queued" | "running"),
        "{:?}",
        page.job_states()
    );
    assert!(page.text().contains("an origami crane"));
    assert!(
        page.contains(r#"<noscript><meta http-equiv="refresh""#),
        "without JavaScript the page refreshes itself while the job runs"
    );
    assert!(page.contains(r#"name="cancel""#), "it can be cancelled");

    // What the next refreshes show, once the job has ended.
    let ended = app.wait_for_job(&id).await;

    assert_eq!(ended.status, 200);
    assert!(ended.contains("<!doctype html>"), "a whole page");
    assert_eq!(ended.job_states(), ["done"]);
    assert_eq!(ended.images_in_result().len(), 2);
    assert_eq!(ended.seeds().len(), 2);
    assert!(
        !ended.contains(r#"http-equiv="refresh""#),
        "an ended job's page stops refreshing"
    );
    assert!(!ended.contains(r#"name="cancel""#));
    let mut in_gallery = app.home().await.gallery_ids();
    let mut made = ended.image_ids();
    in_gallery.sort();
    made.sort();
    assert_eq!(in_gallery, made, "the gallery has both pictures");
}

#[tokio::test]
async fn the_home_page_follows_the_page_contract() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let home = app.home().await;

    assert_eq!(home.status, 200);
    for part in [
        r#"<form id="generate-form" action="/generate" method="post""#,
        r#"<textarea id="prompt" name="prompt""#,
        r#"type="submit">Generate</button>"#,
        r#"<div id="result">"#,
        r#"<div id="gallery">"#,
        r#"<script src="/assets/htmx.min.js""#,
    ] {
        assert!(home.contains(part), "{part} missing");
    }
    let htmx = app.get("/assets/htmx.min.js").await;
    assert_eq!(htmx.status, 200);
    assert!(
        htmx.html.contains("htmx"),
        "htmx is served from our own origin"
    );
}

#[tokio::test]
async fn without_javascript_a_model_change_is_applied_by_a_get() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;

    let page = app.get("/?model=amazon.titan-image-generator-v1").await;

    let groups = page.size_groups();
    assert!(
        groups
            .iter()
            .any(|(label, sizes)| label == "3:2" && sizes.contains(&"1152x768".to_owned()))
    );
    assert!(page.contains(r#"name="cfg_scale""#));
}

#[tokio::test]
async fn with_htmx_a_model_change_swaps_in_that_models_fields() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;

    let core = app
        .get("/form-fields?model=stability.stable-image-core-v1:1&prompt=kept")
        .await;
    let titan = app
        .get("/form-fields?model=amazon.titan-image-generator-v1&prompt=kept")
        .await;

    assert_eq!(core.size_groups()[0].1[0], "1:1");
    assert!(core.size_groups()[0].1.contains(&"21:9".to_owned()));
    assert!(!core.contains("cfg_scale"), "Stability takes no CFG scale");
    assert_eq!(
        titan.size_groups().len(),
        13,
        "Titan's 25 sizes in 13 aspect ratios"
    );
    assert_eq!(titan.field_value("prompt").as_deref(), Some("kept"));
}

#[tokio::test]
async fn pages_and_their_fragments_tell_caches_apart() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app.generate("a lighthouse at dusk").await.image_ids();

    for path in [
        "/",
        "/gallery",
        &format!("/images/{}", made[0]),
        "/no-such-page",
    ] {
        let page = app.get(path).await;
        let vary: Vec<String> = page
            .headers
            .get_all("vary")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_ascii_lowercase)
            .collect();
        assert!(
            vary.iter().any(|value| value.contains("hx-request")),
            "{path} varies by {vary:?}"
        );
    }
}
