//! Every way Bedrock can fail has its own plain sentence in the page, and nothing half-made is kept.

use std::time::Duration;

use easel_tests::{BedrockDouble, TestApp, spawn_app, spawn_app_with};

use crate::{CORE, NOVA, TITAN_V1};

async fn gallery_is_empty(app: &TestApp) {
    assert!(
        app.gallery().await.gallery_ids().is_empty(),
        "nothing may be stored"
    );
}

#[tokio::test]
async fn a_blocked_prompt_says_so_and_stores_nothing_for_each_family() {
    for model in [CORE, TITAN_V1] {
        let bedrock = BedrockDouble::start_all_live().await;
        let app = spawn_app(&bedrock).await;
        bedrock.will_block_prompt();

        let page = app
            .generate_with(&[("model", model), ("prompt", "something rude")])
            .await;

        assert_eq!(page.status, 422, "{model}");
        assert_eq!(
            page.messages(),
            ["Bedrock's content filter blocked this prompt. Rephrase it and try again."],
            "{model}"
        );
        assert!(page.images_in_result().is_empty());
        gallery_is_empty(&app).await;
    }
}

#[tokio::test]
async fn a_blocked_picture_says_so_and_stores_nothing_for_each_family() {
    for model in [CORE, NOVA] {
        let bedrock = BedrockDouble::start_all_live().await;
        let app = spawn_app(&bedrock).await;
        bedrock.will_block_output();

        let page = app
            .generate_with(&[("model", model), ("prompt", "a beach")])
            .await;

        assert_eq!(page.status, 422, "{model}");
        assert_eq!(
            page.messages(),
            [
                "Bedrock's content filter blocked the picture the model made. Try another prompt or seed."
            ],
            "{model}"
        );
        gallery_is_empty(&app).await;
    }
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_asks_the_user_to_try_again() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_throttle();

    let page = app.generate("a fox").await;

    assert_eq!(page.status, 503);
    assert_eq!(page.headers["retry-after"], "5");
    assert!(
        page.messages()[0].contains("asked Easel to slow down"),
        "{:?}",
        page.messages()
    );
    assert_eq!(
        bedrock.received().len(),
        3,
        "the SDK retried twice before giving up"
    );
}

#[tokio::test]
async fn one_throttle_is_absorbed_by_the_sdks_retry() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_throttle_times(1);

    let page = app.generate("a fox").await;

    assert_eq!(page.status, 200);
    assert_eq!(page.images_in_result().len(), 1);
}

#[tokio::test]
async fn access_denied_tells_how_to_enable_the_model() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_deny_access();

    let page = app.generate("a fox").await;

    assert_eq!(page.status, 502);
    assert_eq!(
        page.messages(),
        [
            "This AWS account may not use Stable Image Core. Enable access to it in the Bedrock console (Model access, region us-west-2), then try again."
        ]
    );
}

#[tokio::test]
async fn a_model_that_does_not_answer_in_time_says_so() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.bedrock_timeout = Duration::from_millis(300)).await;
    bedrock.will_answer_after(Duration::from_secs(3));

    let page = app.generate("a slow fox").await;

    assert_eq!(page.status, 504);
    assert!(page.messages()[0].starts_with("Stable Image Core did not answer in time."));
    gallery_is_empty(&app).await;
}

#[tokio::test]
async fn bedrocks_own_model_timeout_says_so_too() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_time_out_model();

    let page = app.generate("a fox").await;

    assert_eq!(page.status, 504);
    assert!(page.messages()[0].contains("did not answer in time"));
}

#[tokio::test]
async fn a_malformed_answer_is_reported_and_nothing_is_stored() {
    for fault in ["json", "base64"] {
        let bedrock = BedrockDouble::start().await;
        let app = spawn_app(&bedrock).await;
        match fault {
            "json" => bedrock.will_return_malformed_json(),
            _ => bedrock.will_return_bad_base64(),
        }

        let page = app.generate("a fox").await;

        assert_eq!(page.status, 502, "{fault}");
        assert_eq!(
            page.messages(),
            [
                "Stable Image Core sent back an answer Easel could not read, so nothing was saved. Try again."
            ],
            "{fault}"
        );
        gallery_is_empty(&app).await;
    }
}

#[tokio::test]
async fn a_failing_model_and_an_unavailable_service_have_their_own_messages() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    bedrock.will_return_model_error();
    let page = app.generate("a fox").await;
    assert_eq!(page.status, 502);
    assert_eq!(
        page.messages(),
        ["Stable Image Core failed while making the picture. Try again."]
    );

    bedrock.will_fail_with_server_error();
    let page = app.generate("a fox").await;
    assert_eq!(page.status, 503);
    assert_eq!(
        page.messages(),
        ["Bedrock is unavailable right now. Try again in a minute."]
    );
}

#[tokio::test]
async fn one_failed_call_of_three_keeps_the_other_two_pictures() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.jobs.concurrency = 1).await;
    bedrock.will_fail_call_number(2);

    let page = app
        .generate_with(&[("prompt", "three cats"), ("count", "3")])
        .await;

    assert_eq!(page.status, 200);
    assert_eq!(page.images_in_result().len(), 2);
    assert_eq!(
        page.messages(),
        [
            "2 of 3 pictures were made.",
            "Stable Image Core failed while making the picture. Try again."
        ]
    );
    assert_eq!(app.gallery().await.gallery_ids().len(), 2);
}

#[tokio::test]
async fn a_retired_model_names_one_to_pick_instead() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;
    bedrock.set_lifecycle(TITAN_V1, easel_tests::bedrock_double::Lifecycle::EndOfLife);

    let page = app
        .generate_with(&[("model", TITAN_V1), ("prompt", "a fox")])
        .await;

    assert_eq!(page.status, 422);
    assert_eq!(
        page.messages(),
        [
            "Titan Image Generator G1 has reached the end of its life on Bedrock and no longer makes pictures. Pick Stable Image Core instead."
        ]
    );
}
