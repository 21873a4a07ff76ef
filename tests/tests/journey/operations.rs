//! What the operator relies on: health, readiness, a graceful stop, a clear "try again" instead
//! of a pile-up.

use std::time::Duration;

use easel_tests::{BedrockDouble, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_answer() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    assert_eq!(app.get("/healthz").await.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!((ready.status.as_u16(), ready.html.as_str()), (200, "ready"));
}

#[tokio::test]
async fn readiness_fails_once_the_store_does_not_answer() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.store_check_interval = Duration::from_millis(100);
    })
    .await;
    // A file where the image folder should be defeats even root's permissions.
    std::fs::remove_dir_all(app.storage.path()).unwrap();
    std::fs::write(app.storage.path(), b"not a folder").unwrap();

    // The answer comes from the last check of the store, made in the background.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let ready = app.get("/readyz").await;
        if ready.status != 200 || tokio::time::Instant::now() > deadline {
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(ready.status, 503);
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "the process itself is still up"
    );
}

#[tokio::test]
async fn a_generation_in_flight_finishes_during_a_graceful_shutdown() {
    let bedrock = BedrockDouble::start().await;
    let mut app = spawn_app(&bedrock).await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let card = app.submit(&[("prompt", "a slow fox")]).await;
    assert_eq!(card.status, 202, "{}", card.html);
    let id = card.job_ids()[0].clone();
    app.wait_for_job_state(&id, |state| state == "running")
        .await;

    app.begin_shutdown();
    // The old process stops only once its running job has ended; the next one opens the
    // same store, as a redeploy would.
    let app = app.restart(&bedrock).await;

    let page = app.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.job_states(), ["done"], "{}", page.text());
    assert_eq!(page.image_ids().len(), 1);
    assert_eq!(app.gallery().await.gallery_ids(), page.image_ids());
    assert_eq!(
        bedrock.received().len(),
        1,
        "made by the process that was stopping, not again by the next"
    );
}

#[tokio::test]
async fn a_burst_beyond_the_queue_is_told_to_try_again() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.concurrency = 1;
        c.jobs.queue_length = 0;
    })
    .await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let browser = app.another_browser();
    let first = browser.submit(&[("prompt", "first")]).await;
    assert_eq!(first.status, 202, "the model is free: {}", first.html);

    let second = app.submit(&[("prompt", "second")]).await;

    assert_eq!(second.status, 503, "{}", second.html);
    let retry_after: u64 = second.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    assert!(second.job_ids().is_empty(), "no job was made");
    let messages = second.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("The queue for Stable Image Core is full")
            && messages[0].contains("Nothing was charged"),
        "{messages:?}"
    );
    assert!(
        app.home()
            .await
            .spent_today()
            .starts_with("Spent today: $0.00"),
        "{}",
        app.home().await.spent_today()
    );
    let first = browser.wait_for_job(&first.job_ids()[0]).await;
    assert_eq!(first.job_states(), ["done"]);
    assert_eq!(first.image_ids().len(), 1);
    assert_eq!(bedrock.received().len(), 1, "the refused job never ran");
}

#[tokio::test]
async fn a_client_over_its_rate_limit_is_slowed_down() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.rate_limit = 1).await;

    assert_eq!(app.generate("one").await.status, 200);
    let second = app.generate("two").await;

    assert_eq!(second.status, 429);
    assert!(second.messages()[0].contains("Wait a moment"));
    assert_eq!(app.another_browser().generate("three").await.status, 200);
}

#[tokio::test]
async fn a_flood_of_generations_gets_pictures_or_busy_and_stores_only_whole_entries() {
    let (concurrency, queue_length) = (2, 4);
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.concurrency = concurrency;
        c.jobs.queue_length = queue_length;
        c.rate_limit = 10_000;
    })
    .await;
    bedrock.will_answer_after(Duration::from_millis(300));
    let browser = std::sync::Arc::new(app.another_browser());
    // One open page, one identity, before the flood of clicks.
    browser.home().await;

    let requests = (0..150).map(|n| {
        let browser = browser.clone();
        tokio::spawn(async move { browser.submit(&[("prompt", &format!("picture {n}"))]).await })
    });
    let answers = futures::future::join_all(requests).await;

    let mut accepted = Vec::new();
    let mut refused = 0;
    for page in answers.into_iter().map(Result::unwrap) {
        if page.status == 202 {
            let [id] = page.job_ids().try_into().expect("one job card");
            accepted.push(id);
            continue;
        }
        refused += 1;
        assert!(page.job_ids().is_empty(), "a refusal makes no job");
        let message = page.messages().concat();
        let clear = match page.status.as_u16() {
            503 => {
                message.starts_with("The queue for Stable Image Core is full")
                    && page.headers.contains_key("retry-after")
            }
            429 => {
                message.contains("jobs queued or running")
                    && page.headers.contains_key("retry-after")
            }
            402 => message.contains("daily budget"),
            _ => false,
        };
        assert!(clear, "{}: {message:?}", page.status);
    }
    assert!(refused > 0, "the flood was told to try again");

    // Once the flood is answered, no more jobs are waiting or running than the model's slots
    // and queue hold. (A job only moves on, so one seen unfinished now was unfinished then.)
    let mut unfinished = 0;
    for id in &accepted {
        let state = browser
            .get(&format!("/jobs/{id}"))
            .await
            .job_states()
            .concat();
        if state == "queued" || state == "running" {
            unfinished += 1;
        }
    }
    assert!(
        unfinished <= concurrency + queue_length,
        "{unfinished} jobs were queued or running at once; at most {} may be",
        concurrency + queue_length
    );

    // Every accepted job ends, with its one picture.
    let mut made = Vec::new();
    for id in &accepted {
        let ended = browser.wait_for_job(id).await;
        assert_eq!(ended.job_states(), ["done"], "{}", ended.text());
        assert_eq!(ended.image_ids().len(), 1, "{}", ended.text());
        made.extend(ended.image_ids());
    }
    assert!(made.len() >= concurrency, "the running slots made pictures");
    let mut unique = made.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), made.len(), "no picture twice");
    assert_eq!(
        bedrock.received().len(),
        made.len(),
        "one call per accepted job, none for a refused one"
    );
    let stored = std::fs::read_dir(app.storage.path().join("galleries"))
        .unwrap()
        .flat_map(|owner| std::fs::read_dir(owner.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect::<Vec<_>>();
    let stems = |extension: &str| {
        let mut stems: Vec<String> = stored
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
            .collect();
        stems.sort();
        stems
    };
    assert_eq!(stems("json"), unique, "every stored entry has its record");
    assert_eq!(stems("png"), unique, "every stored entry has its picture");
}
