//! Waiting in line: places that count down, and browsers that take turns.

use std::time::Duration;

use easel_tests::{BedrockDouble, PATIENCE, spawn_app_with, wait_until};

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
    wait_until("the last job to be next in line", PATIENCE, || async {
        match status(ids[2].clone()).await {
            next if next == "Queued: next in line" => Ok(()),
            other => Err(other),
        }
    })
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

#[tokio::test]
async fn large_pictures_wait_for_each_other_while_other_edits_go_ahead() {
    let bedrock = BedrockDouble::start_all_live().await;
    bedrock.will_answer_after(Duration::from_millis(800));
    let app = spawn_app_with(&bedrock, |c| c.jobs.large_picture_jobs = 1).await;
    let (width, height) = (128, 96);
    let picture =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mask = image::GrayImage::from_fn(width, height, |x, _| image::Luma([(x > 64) as u8 * 255]));
    let source = app
        .upload("garden.png", png(picture))
        .await
        .picture_being_edited()
        .expect("the upload's edit page");

    let submit = |fields: &'static [(&'static str, &'static str)],
                  files: Vec<(&'static str, Vec<u8>)>| {
        let (app, source) = (&app, &source);
        async move {
            let card = app.edit(source, fields, &files).await;
            assert_eq!(card.status, 202, "{}", card.text());
            card.job_ids()[0].clone()
        }
    };
    let upscale = submit(&[("operation", "upscale-fast")], vec![]).await;
    let outpaint = submit(&[("operation", "outpaint"), ("left", "32")], vec![]).await;
    let inpaint = submit(
        &[("operation", "inpaint"), ("prompt", "tulips")],
        vec![("mask", png(mask))],
    )
    .await;
    let state = |id: String| {
        let app = &app;
        async move { app.get(&format!("/jobs/{id}")).await.job_states().join("") }
    };
    wait_until("the upscale and the inpaint to run", PATIENCE, || async {
        match (state(upscale.clone()).await, state(inpaint.clone()).await) {
            (upscale, inpaint) if upscale == "running" && inpaint == "running" => Ok(()),
            seen => Err(format!("{seen:?}")),
        }
    })
    .await;
    assert_eq!(
        state(outpaint.clone()).await,
        "queued",
        "one large picture at a time: the outpaint waits for the upscale"
    );

    for id in [&upscale, &outpaint, &inpaint] {
        assert_eq!(app.wait_for_job(id).await.job_states(), ["done"]);
    }
    let called: Vec<String> = bedrock.received().into_iter().map(|c| c.model_id).collect();
    assert_eq!(
        called.last().map(String::as_str),
        Some("us.stability.stable-outpaint-v1:0"),
        "{called:?}"
    );
}

fn png(picture: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .into()
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG");
    out.into_inner()
}
