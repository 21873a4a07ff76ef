//! `POST /v1/images/generations`: a script with a token makes pictures the way OpenAI's clients
//! ask for them, into its owner's gallery, under the page's budget and limits.

use std::time::Duration;

use base64::Engine;
use easel::studio::Usd;
use easel_tests::{
    ApiAnswer, BedrockDouble, PATIENCE, TestApp, api_post, spawn_app, spawn_app_with, wait_until,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ROUTE: &str = "/v1/images/generations";

async fn generate(app: &TestApp, token: &str, body: Value) -> ApiAnswer {
    api_post(&app.address, ROUTE, token, &body).await
}

/// OpenAI's error object, with the status its clients map to their exceptions.
fn assert_openai_error(
    answer: &ApiAnswer,
    status: StatusCode,
    param: Option<&str>,
    code: Option<&str>,
) {
    assert_eq!(answer.status, status, "{}", answer.json);
    let error = &answer.json["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.json
    );
    assert_eq!(error["param"].as_str(), param, "{}", answer.json);
    assert_eq!(error["code"].as_str(), code, "{}", answer.json);
}

#[tokio::test]
async fn b64_json_gives_a_png_in_the_nearest_aspect_of_the_size_asked_into_the_owners_gallery() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("script").await;

    let answer = generate(
        &app,
        &token,
        json!({"model": "stable-image-core", "prompt": "a fox in snow", "size": "1792x1024", "seed": 42}),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert!(answer.json["created"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(answer.json["size"], "16:9", "the aspect ratio used is said");
    let data = answer.json["data"].as_array().expect("a list");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["revised_prompt"], "a fox in snow");
    let png = base64::engine::general_purpose::STANDARD
        .decode(data[0]["b64_json"].as_str().expect("b64_json"))
        .expect("base64");
    let picture = image::load_from_memory(&png).expect("a picture");
    let ratio = f64::from(picture.width()) / f64::from(picture.height());
    assert!(
        (ratio - 16.0 / 9.0).abs() < 0.05,
        "{}x{}",
        picture.width(),
        picture.height()
    );
    assert_eq!(
        app.gallery().await.gallery_ids().len(),
        1,
        "in the owner's gallery"
    );
}

#[tokio::test]
async fn a_url_opens_the_picture_without_credentials() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("script").await;

    let answer = generate(
        &app,
        &token,
        json!({"model": "stable-image-core", "prompt": "a fox", "n": 1, "response_format": "url"}),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let url = answer.json["data"][0]["url"].as_str().expect("a url");
    assert!(url.starts_with(&app.address), "{url}");
    let opened = reqwest::get(url).await.expect("GET");
    assert_eq!(opened.status(), StatusCode::OK);
    let png = opened.bytes().await.expect("a body");
    image::load_from_memory(&png).expect("a picture");
}

#[tokio::test]
async fn a_bad_field_is_named_and_an_unknown_model_is_not_found() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("script").await;

    let cases = [
        (json!({"prompt": "a fox", "n": "two"}), "n"),
        (json!({"prompt": "a fox", "n": 99}), "n"),
        (json!({"model": "stable-image-core"}), "prompt"),
        (json!({"prompt": "a fox", "size": "huge"}), "size"),
        (
            json!({"prompt": "a fox", "response_format": "gif"}),
            "response_format",
        ),
        (json!({"prompt": "a fox", "quality": "best"}), "quality"),
        (json!({"prompt": "a fox", "seed": -1}), "seed"),
    ];
    for (body, param) in cases {
        let answer = generate(&app, &token, body).await;
        assert_openai_error(&answer, StatusCode::BAD_REQUEST, Some(param), None);
    }
    let not_json = api_post(&app.address, ROUTE, &token, &json!("a fox")).await;
    assert_openai_error(&not_json, StatusCode::BAD_REQUEST, Some("body"), None);

    let unknown = generate(
        &app,
        &token,
        json!({"model": "dall-e-9", "prompt": "a fox"}),
    )
    .await;
    assert_openai_error(
        &unknown,
        StatusCode::NOT_FOUND,
        Some("model"),
        Some("model_not_found"),
    );
    assert!(
        app.gallery().await.gallery_ids().is_empty(),
        "nothing was made"
    );
    assert!(bedrock.received().is_empty(), "Bedrock was not called");
}

#[tokio::test]
async fn over_the_budget_is_a_429_with_insufficient_quota_that_names_the_cap() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.budget.daily_per_browser = Some(Usd::from_dollars(0.01));
    })
    .await;
    let token = app.new_token("script").await;

    let answer = generate(
        &app,
        &token,
        json!({"model": "stable-image-core", "prompt": "a fox"}),
    )
    .await;

    assert_openai_error(
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        None,
        Some("insufficient_quota"),
    );
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("daily budget"), "{message}");
    assert!(bedrock.received().is_empty());
}

#[tokio::test]
async fn a_cookie_does_not_open_the_route() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    app.new_token("script").await;

    let answer = app.api_post(ROUTE, &json!({"prompt": "a fox"})).await;

    assert_openai_error(
        &answer,
        StatusCode::UNAUTHORIZED,
        None,
        Some("invalid_api_key"),
    );
    assert!(bedrock.received().is_empty());
}

#[tokio::test]
async fn a_client_that_goes_away_still_gets_its_picture_into_the_gallery_made_once() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("script").await;
    bedrock.will_answer_after(Duration::from_secs(1));

    let request = generate(
        &app,
        &token,
        json!({"model": "stable-image-core", "prompt": "a fox"}),
    );
    let gave_up = tokio::time::timeout(Duration::from_millis(300), request).await;
    assert!(gave_up.is_err(), "the client left before the answer");

    wait_until("the picture is in the gallery", PATIENCE, || async {
        match app.gallery().await.gallery_ids().len() {
            1 => Ok(()),
            n => Err(format!("{n} pictures")),
        }
    })
    .await;
    assert_eq!(bedrock.received().len(), 1, "made once");
}
