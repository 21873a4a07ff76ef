//! The real `easel` binary keeping its gallery in S3 (a local S3 emulator, moto server): pictures
//! land in the bucket and are still there after a restart.

use std::process::{Command, Stdio};

use easel_tests::{
    BedrockDouble, Browser,
    process::{Running, easel_against, free_port, wait_until_up},
};

const BUCKET: &str = "easel-gallery";

fn start_easel(port: u16, s3: &str, bedrock: &BedrockDouble) -> Running {
    Running::spawn(
        easel_against(bedrock)
            .env("EASEL_LISTEN", format!("127.0.0.1:{port}"))
            .env("EASEL_STORAGE", format!("s3://{BUCKET}/gallery"))
            .env("AWS_ENDPOINT_URL", s3),
    )
}

#[tokio::test]
async fn the_gallery_lives_in_s3_and_survives_a_restart() {
    let s3_port = free_port();
    // moto_server comes from PyPI (moto[server]); .ci/run installs it.
    let _moto = Running::spawn(
        Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &s3_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let s3 = format!("http://127.0.0.1:{s3_port}");
    wait_until_up(&format!("{s3}/moto-api/")).await;
    let client = reqwest::Client::new();
    let created = client.put(format!("{s3}/{BUCKET}")).send().await.unwrap();
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    let bedrock = BedrockDouble::start().await;
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");

    let easel = start_easel(port, &s3, &bedrock);
    wait_until_up(&format!("{address}/readyz")).await;
    let browser = Browser::new(&address);
    let made = browser
        .generate("a lighthouse in the fog")
        .await
        .image_ids();
    assert_eq!(made.len(), 1);

    let listing = client
        .get(format!("{s3}/{BUCKET}?list-type=2&prefix=gallery/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains(&format!("{}.png", made[0])), "{listing}");
    assert!(listing.contains(&format!("{}.json", made[0])), "{listing}");

    drop(easel);
    let _easel = start_easel(port, &s3, &bedrock);
    wait_until_up(&format!("{address}/readyz")).await;

    assert_eq!(
        browser.gallery().await.gallery_ids(),
        made,
        "same cookie, same gallery"
    );
    let (status, _, png) = browser
        .get_bytes(&format!("/images/{}/image.png", made[0]))
        .await;
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"));
}
