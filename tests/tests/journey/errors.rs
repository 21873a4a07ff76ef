//! Every way Bedrock can fail has its own plain sentence on the job's card, and nothing
//! half-made is kept.

use std::time::Duration;

use easel_tests::{BedrockDouble, PATIENCE, Page, TestApp, spawn_app, spawn_app_with, wait_until};

use crate::{CORE, NOVA, TITAN_V1};

async fn gallery_is_empty(app: &TestApp) {
    assert!(
        app.gallery().await.gallery_ids().is_empty(),
        "nothing may be stored"
    );
}

/// The request was accepted as one job, and that job ended failed, with no picture and
/// nothing charged.
fn one_failed_job(page: &Page, context: &str) {
    assert_eq!(page.status, 200, "{context}: {}", page.html);
    assert_eq!(page.job_states(), ["failed"], "{context}");
    assert_eq!(page.job_statuses(), ["Failed"], "{context}");
    assert!(page.images_in_result().is_empty(), "{context}");
    assert_eq!(
        page.job_costs(),
        ["Cost $0.00"],
        "{context}: nothing made, nothing spent"
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

        one_failed_job(&page, model);
        assert_eq!(
            page.messages(),
            ["Bedrock's content filter blocked this prompt. Rephrase it and try again."],
            "{model}"
        );
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

        one_failed_job(&page, model);
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
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.throttle_patience = Duration::from_secs(2);
    })
    .await;
    bedrock.will_throttle();

    let card = app.submit(&[("prompt", "a fox")]).await;
    assert_eq!(card.status, 202, "{}", card.html);
    let id = card.job_ids()[0].clone();

    // While it waits out the throttling, the card says so and the job can still be cancelled.
    app.wait_for_job_state(&id, |state| state != "queued").await;
    let retrying = wait_until("the card to say Bedrock is busy", PATIENCE, || async {
        let page = app.get(&format!("/jobs/{id}")).await;
        if page.job_statuses() == ["Bedrock is busy, retrying"] {
            return Ok(page);
        }
        assert!(
            page.job_states() == ["queued"] || page.job_states() == ["running"],
            "the card never said Bedrock was busy: {:?} {:?}",
            page.job_states(),
            page.job_statuses()
        );
        Err(format!("{:?}", page.job_statuses()))
    })
    .await;
    assert_eq!(retrying.job_states(), ["running"]);
    assert!(retrying.contains(r#"name="cancel""#));
    assert!(retrying.messages().is_empty(), "{:?}", retrying.messages());

    let page = app.wait_for_job(&id).await;

    one_failed_job(&page, "throttled");
    assert_eq!(
        page.messages(),
        [
            "Bedrock is getting too many requests for Stable Image Core right now and asked Easel to slow down. Wait a moment and try again."
        ]
    );
    let calls = bedrock.received().len();
    assert!(
        calls > 3,
        "after the SDK's three tries, Easel itself tried again: {calls} calls"
    );
    gallery_is_empty(&app).await;
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
async fn an_iam_denial_says_the_operator_must_allow_the_model() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_deny_access();

    let page = app.generate("a fox").await;

    one_failed_job(&page, "access denied");
    assert_eq!(
        page.messages(),
        [
            "Easel's AWS identity is not allowed to call Stable Image Core in us-west-2: its IAM policy lacks bedrock:InvokeModel on this model. The operator must allow it (docs/bedrock-access.md has the policy), then try again."
        ]
    );
}

#[tokio::test]
async fn a_model_that_does_not_answer_in_time_says_so() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.bedrock_timeout = Duration::from_millis(300)).await;
    bedrock.will_answer_after(Duration::from_secs(3));

    let page = app.generate("a slow fox").await;

    one_failed_job(&page, "timeout");
    assert_eq!(page.messages().len(), 1, "{:?}", page.messages());
    assert!(
        page.messages()[0].starts_with("Stable Image Core did not answer in time."),
        "{:?}",
        page.messages()
    );
    gallery_is_empty(&app).await;
}

#[tokio::test]
async fn bedrocks_own_model_timeout_says_so_too() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.will_time_out_model();

    let page = app.generate("a fox").await;

    one_failed_job(&page, "model timeout");
    assert_eq!(
        page.messages(),
        [
            "Stable Image Core did not answer in time. Try again; fewer or smaller pictures are quicker."
        ]
    );
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

        one_failed_job(&page, fault);
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
    one_failed_job(&page, "model error");
    assert_eq!(
        page.messages(),
        ["Stable Image Core failed while making the picture. Try again."]
    );

    bedrock.will_fail_with_server_error();
    let page = app.generate("a fox").await;
    one_failed_job(&page, "server error");
    assert_eq!(
        page.messages(),
        ["Bedrock is unavailable right now. Try again in a minute."]
    );
    gallery_is_empty(&app).await;
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
    assert_eq!(page.job_states(), ["done"], "a job with pictures is done");
    assert_eq!(page.images_in_result().len(), 2);
    assert_eq!(page.job_notes(), ["2 of 3 pictures were made."]);
    assert_eq!(
        page.messages(),
        ["Stable Image Core failed while making the picture. Try again."]
    );
    assert_eq!(
        page.job_costs(),
        ["Cost $0.08"],
        "only what was made is paid"
    );
    let mut stored = app.gallery().await.gallery_ids();
    let mut made = page.image_ids();
    stored.sort();
    made.sort();
    assert_eq!(stored, made, "both pictures are in the gallery");
}

#[tokio::test]
async fn a_retired_model_names_one_to_pick_instead() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;
    // Retired after Easel last checked: only the call itself finds out.
    bedrock.set_lifecycle(TITAN_V1, easel_tests::bedrock_double::Lifecycle::EndOfLife);

    let page = app
        .generate_with(&[("model", TITAN_V1), ("prompt", "a fox")])
        .await;

    one_failed_job(&page, "retired");
    assert_eq!(
        page.messages(),
        [
            "Titan Image Generator G1 has reached the end of its life on Bedrock and no longer makes pictures. Pick Stable Image Core instead."
        ]
    );
}
