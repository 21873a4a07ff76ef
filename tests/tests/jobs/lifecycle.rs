//! A job's life in one process: accepted at once, made while nobody watches, cancelled.

use std::time::Duration;

use easel_tests::{BedrockDouble, PATIENCE, spawn_app, spawn_app_with, wait_until};

/// Stable Image Ultra, a second model whose calls the app has no history of.
const ULTRA: &str = "stability.stable-image-ultra-v1:1";

#[tokio::test]
async fn generate_answers_at_once_with_a_job_card_that_ends_with_the_picture() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(600));
    let app = spawn_app(&bedrock).await;

    let card = app.submit(&[("prompt", "a heron at dawn")]).await;
    assert_eq!(card.status, 202, "{}", card.html);
    let [id] = card.job_ids().try_into().expect("one job card");
    let state = card.job_states().concat();
    assert!(
        state == "queued" || state == "running",
        "{state}: the model is free, so it starts at once"
    );
    assert!(card.text().contains("a heron at dawn"));
    assert!(card.text().contains("Stable Image Core"));
    assert_eq!(card.job_costs(), ["Up to $0.04"]);
    assert_eq!(
        card.spent_today(),
        "Spent today: $0.04 of $2.00",
        "what the job holds shows at once"
    );
    assert!(
        card.html.contains(r#"name="cancel""#),
        "a running job can be cancelled"
    );
    assert!(
        card.html
            .contains(&format!(r#"sse-connect="/jobs/{id}/events""#)),
        "the card is pushed its changes"
    );

    let ended = app.wait_for_job(&id).await;
    assert_eq!(ended.job_states(), ["done"]);
    assert_eq!(ended.job_costs(), ["Cost $0.04"]);
    assert_eq!(ended.image_ids().len(), 1);
    assert!(!ended.html.contains(r#"name="cancel""#));
    assert_eq!(app.home().await.gallery_ids(), ended.image_ids());
}

#[tokio::test]
async fn an_instant_model_answers_with_its_job_done_and_a_new_one_with_its_card() {
    let bedrock = BedrockDouble::start().await;
    // The answer waits as long as a test would, so that however slow a loaded machine makes
    // the double's instant answer, the job ends within it.
    let app = spawn_app_with(&bedrock, |c| c.jobs.quick_answer = PATIENCE).await;
    // The first job is answered at once: nothing is known yet of how long the model takes.
    let first = app.generate("a kingfisher").await;
    assert_eq!(first.job_states(), ["done"]);

    let card = app.submit(&[("prompt", "a wren")]).await;
    assert_eq!(card.status, 202, "{}", card.html);
    assert_eq!(card.job_states(), ["done"], "{}", card.html);
    assert!(!card.html.contains("sse-connect"), "nothing left to push");
    assert_eq!(card.attrs("article.job img", "src").len(), 1, "its picture");
    let preview = &card.attrs("article.job img", "src")[0];
    assert!(
        card.headers["link"]
            .to_str()
            .unwrap()
            .contains(&format!("<{preview}>; rel=preload")),
        "its preview is named for the browser to fetch before it shows the card: {:?}",
        card.headers
    );
    assert_eq!(
        card.gallery_added_ids(),
        card.image_ids(),
        "its picture joins the gallery"
    );
    assert_eq!(card.gallery_total(), "2");
    assert_eq!(card.spent_today(), "Spent today: $0.08 of $2.00");
    let again = app.home().await;
    assert!(
        !again
            .job_notes()
            .contains(&"Finished while you were away.".to_owned()),
        "its end was shown: {:?}",
        again.job_notes()
    );

    // Nothing is known yet of how long Ultra takes, so its job is not waited for.
    bedrock.will_answer_after(Duration::from_millis(1500));
    let slow = app
        .submit(&[("model", ULTRA), ("prompt", "a slow heron")])
        .await;
    let state = slow.job_states().concat();
    assert!(
        state == "queued" || state == "running",
        "{state}: not waited for"
    );
    assert!(slow.html.contains("sse-connect"));
    assert!(
        !slow.headers.contains_key("link"),
        "no picture yet to fetch"
    );
    assert_eq!(
        app.wait_for_job(&slow.job_ids()[0]).await.job_states(),
        ["done"]
    );
}

#[tokio::test]
async fn a_job_waiting_for_a_quick_models_slot_is_answered_done_too() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.quick_answer = PATIENCE;
        c.jobs.concurrency = 1;
    })
    .await;
    app.generate("a kingfisher").await;

    // One slot: one of the two waits for the other, and both end within the wait.
    let (a, b) = tokio::join!(
        app.submit(&[("prompt", "a wren")]),
        app.submit(&[("prompt", "a robin")])
    );
    for answer in [a, b] {
        assert_eq!(answer.job_states(), ["done"], "{}", answer.html);
        assert!(!answer.html.contains("sse-connect"), "nothing left to push");
    }
}

#[tokio::test]
async fn the_pushed_updates_end_with_the_pictures_and_the_gallery() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(300));
    let app = spawn_app(&bedrock).await;
    let card = app.submit(&[("prompt", "two foxes"), ("count", "2")]).await;
    let id = &card.job_ids()[0];

    let events = app.events(id).await;
    let last_card = events
        .iter()
        .rev()
        .find(|(event, _)| event == "job")
        .map(|(_, data)| data.clone())
        .expect("a job event");
    assert_eq!(events.last().map(|(e, _)| e.as_str()), Some("end"));
    assert!(last_card.contains(r#"data-state="done""#), "{last_card}");
    assert_eq!(
        last_card.matches("<img").count() - 2,
        2,
        "both pictures, and the gallery's two"
    );
    assert!(last_card.contains(r#"id="gallery" hx-swap-oob="true""#));
}

#[tokio::test]
async fn a_closed_tab_does_not_stop_the_job_and_the_next_visit_says_it_finished_once() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let app = spawn_app_with(&bedrock, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    // The tab asks for updates, then closes two heartbeats into the job.
    let card = app.submit(&[("prompt", "an owl in the rain")]).await;
    let id = card.job_ids()[0].clone();
    app.events_for(&id, Duration::from_millis(200)).await;

    // Away: the owner looks at nothing until the job has ended, which the operators' metrics
    // tell without showing the job to anyone.
    wait_until("the job to end", PATIENCE, || async {
        match app.jobs_ended("done").await {
            1 => Ok(()),
            ended => Err(format!("{ended} jobs done")),
        }
    })
    .await;
    let next_visit = app.home().await;
    assert_eq!(next_visit.job_states(), ["done"]);
    assert!(
        next_visit
            .job_notes()
            .contains(&"Finished while you were away.".to_owned()),
        "{:?}",
        next_visit.job_notes()
    );
    assert_eq!(next_visit.gallery_ids().len(), 1);
    assert_eq!(
        next_visit.image_ids(),
        next_visit.gallery_ids(),
        "the card shows the picture"
    );
    // Seen now: the card keeps its place but leaves the picture to the gallery below.
    let again = app.home().await;
    assert_eq!(
        again.job_notes(),
        ["Its 1 picture is in the gallery."],
        "finished while away is said once"
    );
    assert!(again.image_ids().is_empty(), "{}", again.html);
    assert_eq!(again.gallery_ids(), next_visit.gallery_ids());
}

#[tokio::test]
async fn a_queued_job_cancelled_costs_nothing_and_is_never_made() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let app = spawn_app_with(&bedrock, |c| c.jobs.concurrency = 1).await;
    let first = app.submit(&[("prompt", "the first")]).await.job_ids()[0].clone();
    let second = app.submit(&[("prompt", "the second")]).await;
    assert_eq!(second.job_statuses(), ["Queued: next in line"]);
    let second = second.job_ids()[0].clone();

    let cancelled = app.cancel(&second).await;
    assert_eq!(cancelled.job_states(), ["cancelled"]);
    assert_eq!(cancelled.job_costs(), ["Cost $0.00"]);
    app.wait_for_job(&first).await;
    assert_eq!(app.wait_for_job(&second).await.job_states(), ["cancelled"]);

    let prompts: Vec<_> = bedrock
        .received()
        .iter()
        .map(|call| call.body["prompt"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(prompts, ["the first"]);
    let home = app.home().await;
    assert_eq!(home.spent_today(), "Spent today: $0.04 of $2.00");
}

#[tokio::test]
async fn a_running_job_cancelled_keeps_the_pictures_already_made() {
    let bedrock = BedrockDouble::start().await;
    // Of four pictures, the first comes at once and the others take a long time.
    bedrock.will_answer_slowly_after(1, Duration::from_secs(30));
    let app = spawn_app(&bedrock).await;
    let card = app
        .submit(&[("prompt", "four kites"), ("count", "4")])
        .await;
    let id = card.job_ids()[0].clone();
    let one_made = wait_until("the first picture", PATIENCE, || async {
        let page = app.get(&format!("/jobs/{id}")).await;
        match page.image_ids().len() {
            1 => Ok(page),
            _ => Err(page.text()),
        }
    })
    .await;
    assert!(
        one_made.text().contains("1 of 4 pictures done"),
        "{}",
        one_made.text()
    );

    let cancelled = app.cancel(&id).await;
    assert_eq!(cancelled.job_states(), ["cancelled"]);
    assert_eq!(cancelled.image_ids().len(), 1, "the picture made is kept");
    assert_eq!(app.home().await.gallery_ids(), cancelled.image_ids());
    // The three calls still out may be billed by AWS, so they count.
    assert_eq!(cancelled.job_costs(), ["Cost $0.16"]);
}

#[tokio::test]
async fn throttling_past_the_sdks_retries_is_waited_out_and_then_succeeds() {
    let bedrock = BedrockDouble::start().await;
    // The SDK tries three times; the fourth and fifth throttles are Easel's to absorb.
    bedrock.will_throttle_times(5);
    let app = spawn_app(&bedrock).await;
    let id = app.submit(&[("prompt", "a busy day")]).await.job_ids()[0].clone();
    let retrying = wait_until("the card to say Bedrock is busy", PATIENCE, || async {
        let page = app.get(&format!("/jobs/{id}")).await;
        match page.job_statuses() == ["Bedrock is busy, retrying"] {
            true => Ok(page),
            false => Err(page.text()),
        }
    })
    .await;
    assert_eq!(retrying.job_states(), ["running"]);
    let ended = app.wait_for_job(&id).await;
    assert_eq!(ended.job_states(), ["done"]);
    assert_eq!(ended.image_ids().len(), 1);
    assert!(ended.messages().is_empty(), "{:?}", ended.messages());
}
