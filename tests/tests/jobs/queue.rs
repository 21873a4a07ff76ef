//! Waiting in line: places that count down, and browsers that take turns.

use std::time::Duration;

use easel_tests::{BedrockDouble, spawn_app_with};

use crate::lifecycle::wait_until;

#[tokio::test]
async fn places_in_line_count_down_as_jobs_ahead_start() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(700));
    let app = spawn_app_with(&bedrock, |c| c.jobs.concurrency = 1).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let card = app.submit(&[("prompt", &format!("job {n}"))]).await;
        ids.push(card.job_ids()[0].clone());
    }
    let status = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/jobs/{id}"))
                .await
                .job_statuses()
                .join("")
        }
    };
    assert_eq!(status(ids[2].clone()).await, "Queued: 1 ahead of you");
    assert_eq!(status(ids[1].clone()).await, "Queued: next in line");
    wait_until(|| async { (status(ids[2].clone()).await == "Queued: next in line").then_some(()) })
        .await;
    for id in &ids {
        assert_eq!(app.wait_for_job(id).await.job_states(), ["done"]);
    }
}

#[tokio::test]
async fn one_browsers_many_jobs_do_not_push_anothers_single_job_to_the_back() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(400));
    let app = spawn_app_with(&bedrock, |c| c.jobs.concurrency = 1).await;
    let busy = app.another_browser();
    let mut busy_jobs = Vec::new();
    for n in 0..5 {
        let card = busy.submit(&[("prompt", &format!("busy {n}"))]).await;
        busy_jobs.push(card.job_ids()[0].clone());
    }
    let single = app.submit(&[("prompt", "my one picture")]).await;
    assert_eq!(
        single.job_statuses(),
        ["Queued: 1 ahead of you"],
        "one of the busy browser's four waiting jobs goes first, not all four"
    );
    let single = single.job_ids()[0].clone();
    app.wait_for_job(&single).await;
    for id in &busy_jobs {
        busy.wait_for_job(id).await;
    }
    let order: Vec<String> = bedrock
        .received()
        .iter()
        .map(|call| call.body["prompt"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        order,
        [
            "busy 0",
            "busy 1",
            "my one picture",
            "busy 2",
            "busy 3",
            "busy 4"
        ]
    );
}
