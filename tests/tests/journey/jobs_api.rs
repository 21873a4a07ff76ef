//! Easel's own API under `/api/v1`, as a script uses it with a token: the gallery a page at a
//! time, a picture's recipe and bytes, deleting it, a job followed and cancelled, and the
//! budget left. Nothing of another owner's shows, and a browser's cookie opens none of it.

use std::time::Duration;

use easel::guard::Usd;
use easel_tests::{ApiAnswer, BedrockDouble, api_call, api_get, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};

use crate::ULTRA;

fn ids(answer: &ApiAnswer) -> Vec<String> {
    ids_in(&answer.json["data"])
}

fn ids_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|image| image["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_script_pages_through_its_gallery_newest_first_with_the_cursor_it_is_given() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.gallery_page_size = 2).await;
    let oldest = app.generate("a harbour at dawn").await.image_ids();
    app.generate_with(&[("prompt", "two gulls"), ("count", "2")])
        .await;
    let token = app.new_token("script").await;

    let first = api_get(&app.address, "/api/v1/images", Some(&token)).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(first.headers["cache-control"], "no-store");
    assert_eq!(ids(&first), app.gallery().await.gallery_ids());
    let newest = &first.json["data"][0];
    assert_eq!(newest["prompt"], "two gulls");
    assert!(newest["created_at"].as_str().is_some(), "{newest}");
    assert!(newest["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(newest["size"].as_str().is_some_and(|s| !s.is_empty()));
    let id = newest["id"].as_str().expect("an id");
    assert_eq!(
        newest["links"]["image"],
        format!("/api/v1/images/{id}/image.png")
    );
    assert_eq!(
        newest["links"]["preview"],
        format!("/api/v1/images/{id}/preview.jpg")
    );

    let cursor = first.json["next_cursor"].as_str().expect("a next page");
    let second = api_get(
        &app.address,
        &format!("/api/v1/images?cursor={cursor}"),
        Some(&token),
    )
    .await;

    assert_eq!(second.status, StatusCode::OK, "{}", second.json);
    assert_eq!(ids(&second), oldest, "the oldest picture comes last");
    assert!(second.json["next_cursor"].is_null(), "{}", second.json);

    let refused = api_get(
        &app.address,
        "/api/v1/images?cursor=yesterday",
        Some(&token),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert_eq!(refused.json["error"]["param"], "cursor");
    assert!(
        refused.json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("next_cursor")),
        "{}",
        refused.json
    );
}

#[tokio::test]
async fn a_script_reads_a_pictures_recipe_fetches_its_bytes_and_deletes_it() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app.generate("a red fox in snow").await;
    let id = made.image_ids()[0].clone();
    let seed = made.seeds()[0];
    let token = app.new_token("script").await;

    let read = api_get(&app.address, &format!("/api/v1/images/{id}"), Some(&token)).await;

    assert_eq!(read.status, StatusCode::OK, "{}", read.json);
    assert_eq!(read.json["id"], id.as_str());
    assert_eq!(read.json["prompt"], "a red fox in snow");
    assert_eq!(read.json["recipe"]["seed"], seed);
    assert_eq!(read.json["recipe"]["origin"], "generated");

    let png = api_call(
        &app.address,
        Method::GET,
        &format!("/api/v1/images/{id}/image.png"),
        Some(&token),
    )
    .await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    let (_, _, page_png) = app.get_bytes(&format!("/images/{id}/image.png")).await;
    assert_eq!(
        png.bytes().await.expect("a body").to_vec(),
        page_png,
        "the same PNG as the page's"
    );
    let preview = api_call(
        &app.address,
        Method::GET,
        &format!("/api/v1/images/{id}/preview.jpg"),
        Some(&token),
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    assert!(
        preview
            .bytes()
            .await
            .expect("a body")
            .starts_with(&[0xFF, 0xD8])
    );

    let deleted = api_call(
        &app.address,
        Method::DELETE,
        &format!("/api/v1/images/{id}"),
        Some(&token),
    )
    .await;

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let wrong = api_call(
        &app.address,
        Method::PUT,
        &format!("/api/v1/images/{id}"),
        Some(&token),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let wrong: serde_json::Value = wrong.json().await.expect("JSON");
    assert!(wrong["error"]["message"].as_str().is_some(), "{wrong}");
    let gone = api_get(&app.address, &format!("/api/v1/images/{id}"), Some(&token)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.json);
    assert!(gone.json["error"]["message"].as_str().is_some());
    assert!(app.gallery().await.gallery_ids().is_empty());
    let listed = api_get(&app.address, "/api/v1/images", Some(&token)).await;
    assert!(ids(&listed).is_empty(), "{}", listed.json);
}

#[tokio::test]
async fn another_owners_token_finds_nothing_and_a_cookie_opens_nothing() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let id = app.generate("mine alone").await.image_ids()[0].clone();
    let stranger = app.another_browser();
    let theirs = stranger.new_token("theirs").await;

    for path in [
        format!("/api/v1/images/{id}"),
        format!("/api/v1/images/{id}/image.png"),
        format!("/api/v1/images/{id}/preview.jpg"),
    ] {
        let answer = api_get(&app.address, &path, Some(&theirs)).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.json
        );
    }
    let delete = api_call(
        &app.address,
        Method::DELETE,
        &format!("/api/v1/images/{id}"),
        Some(&theirs),
    )
    .await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    let listed = api_get(&app.address, "/api/v1/images", Some(&theirs)).await;
    assert!(ids(&listed).is_empty(), "{}", listed.json);
    assert_eq!(
        app.gallery().await.gallery_ids(),
        [id.as_str()],
        "still there"
    );

    for path in [
        "/api/v1/images".to_owned(),
        format!("/api/v1/images/{id}"),
        "/api/v1/budget".to_owned(),
    ] {
        let answer = app.api_get(&path).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            answer.json
        );
        assert_eq!(answer.json["error"]["code"], "invalid_api_key");
    }
}

#[tokio::test]
async fn the_budget_says_what_the_caller_has_left_today_and_never_what_others_spent() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.budget.daily_per_browser = Some(Usd::from_dollars(0.10));
        c.budget.monthly = Some(Usd::from_dollars(0.08));
    })
    .await;
    let token = app.new_token("script").await;
    let fresh = api_get(&app.address, "/api/v1/budget", Some(&token)).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.json);
    assert_eq!(fresh.json["today"]["spent_usd"], 0.0);
    assert_eq!(fresh.json["today"]["left_usd"], 0.10);
    assert_eq!(fresh.json["month"]["open"], true);

    app.generate_with(&[("prompt", "two cranes"), ("count", "2")])
        .await;
    assert_eq!(
        app.home().await.spent_today(),
        "Spent today: $0.08 of $0.10"
    );

    let spent = api_get(&app.address, "/api/v1/budget", Some(&token)).await;

    let today = &spent.json["today"];
    assert_eq!(today["spent_usd"], 0.08);
    assert_eq!(today["cap_usd"], 0.10);
    assert_eq!(today["left_usd"], 0.02);
    assert!(
        today["resets_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{today}"
    );
    assert_eq!(
        spent.json["month"]["open"], false,
        "the deployment's cap is reached"
    );

    let stranger = app.another_browser();
    let theirs = stranger.new_token("theirs").await;
    let others = api_get(&app.address, "/api/v1/budget", Some(&theirs)).await;
    assert_eq!(others.json["today"]["spent_usd"], 0.0);
    assert_eq!(others.json["today"]["left_usd"], 0.10);
    assert_eq!(others.json["month"]["open"], false);
    let text = others.json.to_string();
    assert!(
        !text.contains("0.08"),
        "nothing of what others spent: {text}"
    );
}

#[tokio::test]
async fn a_script_follows_a_job_to_its_pictures_and_cancels_a_slow_one() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("script").await;
    let job = app.submit(&[("prompt", "a kingfisher")]).await.job_ids()[0].clone();
    let made = app.wait_for_job(&job).await.image_ids();

    let done = api_get(&app.address, &format!("/api/v1/jobs/{job}"), Some(&token)).await;

    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["state"], "done");
    assert_eq!(done.json["prompt"], "a kingfisher");
    assert!(
        done.json["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
        "{}",
        done.json
    );
    assert_eq!(ids_in(&done.json["images"]), made);

    bedrock.will_answer_after(Duration::from_secs(60));
    let slow = app
        .submit(&[("model", ULTRA), ("prompt", "a slow heron")])
        .await
        .job_ids()[0]
        .clone();
    let going = api_get(&app.address, &format!("/api/v1/jobs/{slow}"), Some(&token)).await;
    assert!(
        matches!(going.json["state"].as_str(), Some("queued" | "running")),
        "{}",
        going.json
    );
    let stranger = app.another_browser().new_token("theirs").await;
    let theirs = api_call(
        &app.address,
        Method::DELETE,
        &format!("/api/v1/jobs/{slow}"),
        Some(&stranger),
    )
    .await;
    assert_eq!(
        theirs.status(),
        StatusCode::NOT_FOUND,
        "not their job to cancel"
    );

    let cancelled = api_call(
        &app.address,
        Method::DELETE,
        &format!("/api/v1/jobs/{slow}"),
        Some(&token),
    )
    .await;

    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: serde_json::Value = cancelled.json().await.expect("JSON");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(
        app.get(&format!("/jobs/{slow}")).await.job_states(),
        ["cancelled"]
    );
}
