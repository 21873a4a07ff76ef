//! What the operator relies on: health, readiness, a graceful stop, "busy" instead of a pile-up.

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
async fn readiness_fails_when_the_store_cannot_be_written() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    // A file where the image folder should be defeats even root's permissions.
    std::fs::remove_dir_all(app.storage.path()).unwrap();
    std::fs::write(app.storage.path(), b"not a folder").unwrap();

    let ready = app.get("/readyz").await;

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
    let browser = app.another_browser();
    let in_flight = tokio::spawn(async move { browser.generate("a slow fox").await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    app.begin_shutdown();
    let page = in_flight.await.unwrap();
    app.stopped().await;

    assert_eq!(page.status, 200);
    assert_eq!(page.images_in_result().len(), 1);
}

#[tokio::test]
async fn a_burst_beyond_the_queue_is_told_to_try_again() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.concurrency = 1;
        c.jobs.queue_length = 0;
    })
    .await;
    bedrock.will_answer_after(Duration::from_millis(500));
    let browser = app.another_browser();
    let first = tokio::spawn(async move { browser.generate("first").await });
    tokio::time::sleep(Duration::from_millis(150)).await;

    let second = app.generate("second").await;

    assert_eq!(second.status, 503);
    assert_eq!(second.headers["retry-after"], "5");
    assert_eq!(
        second.messages(),
        ["Easel is busy: every slot for this model is taken. Try again in a few seconds."]
    );
    assert_eq!(first.await.unwrap().status, 200);
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
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.jobs.concurrency = 2;
        c.jobs.queue_length = 4;
        c.rate_limit = 10_000;
    })
    .await;
    bedrock.will_answer_after(Duration::from_millis(300));
    let browser = std::sync::Arc::new(app.another_browser());

    let requests = (0..150).map(|n| {
        let browser = browser.clone();
        tokio::spawn(async move { browser.generate(&format!("picture {n}")).await })
    });
    let pages = futures::future::join_all(requests).await;

    let mut made = 0;
    for page in pages.into_iter().map(Result::unwrap) {
        match page.status.as_u16() {
            200 => made += page.images_in_result().len(),
            503 => assert!(
                page.messages()[0].starts_with("Easel is busy"),
                "{:?}",
                page.messages()
            ),
            other => panic!("{other}: {:?}", page.messages()),
        }
    }
    assert!(made >= 2, "the running slots made pictures");
    assert!(made < 150, "the rest were told to try again");
    let stored = std::fs::read_dir(app.storage.path().join("galleries"))
        .unwrap()
        .flat_map(|owner| std::fs::read_dir(owner.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect::<Vec<_>>();
    let records = stored
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .count();
    let pictures = stored
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .count();
    assert_eq!(
        (records, pictures),
        (made, made),
        "every stored entry is whole"
    );
}
