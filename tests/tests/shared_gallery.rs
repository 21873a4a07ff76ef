//! Two real `easel` processes saving into one browser's gallery on one S3 bucket at once: the
//! index, changed only by compare-and-swap, keeps every picture.

use easel_tests::{
    BedrockDouble, Browser,
    process::{Running, easel_against, free_port, start_s3, wait_until_up},
};

const BUCKET: &str = "easel-gallery";

async fn start_task(s3: &str, bedrock: &BedrockDouble) -> (String, Running) {
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let process = Running::spawn_logged(
        easel_against(bedrock)
            .env("EASEL_STORAGE", format!("s3://{BUCKET}/easel"))
            .env("AWS_ENDPOINT_URL", s3)
            .env("EASEL_LISTEN", format!("127.0.0.1:{port}")),
    );
    wait_until_up(&format!("{address}/readyz")).await;
    (address, process)
}

/// Starts a job of two pictures; its id.
async fn submit(browser: &Browser, n: usize) -> String {
    let prompt = format!("picture {n}");
    let card = browser
        .submit(&[("prompt", prompt.as_str()), ("count", "2")])
        .await;
    card.job_ids()[0].clone()
}

#[tokio::test]
async fn two_tasks_saving_at_once_keep_every_picture_in_the_index() {
    let bedrock = BedrockDouble::start().await;
    let (_s3, endpoint) = start_s3(BUCKET).await;
    let (first, _first) = start_task(&endpoint, &bedrock).await;
    let (second, _second) = start_task(&endpoint, &bedrock).await;
    let on_first = Browser::new(&first);
    on_first.home().await;
    // The same browser behind a load balancer: its requests reach either task.
    let on_second = on_first.clone_for(&second);

    let jobs = futures::future::join_all((0..6).map(|n| {
        let browser = if n % 2 == 0 { &on_first } else { &on_second };
        submit(browser, n)
    }))
    .await;
    let mut made = Vec::new();
    for job in &jobs {
        made.extend(on_first.wait_for_job(job).await.image_ids());
    }

    assert_eq!(made.len(), 12, "every job made its two pictures");
    let mut shown = on_second.get("/gallery?page=1").await.gallery_ids();
    assert_eq!(on_second.gallery().await.gallery_total(), "12");
    made.sort();
    shown.sort();
    assert_eq!(shown, made, "both tasks' pictures are in the gallery");
}
