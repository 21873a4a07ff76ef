//! The real `easel` binary keeping its gallery in S3 (a local S3 emulator, moto server): pictures
//! land in the bucket and are still there after a restart.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use easel_tests::{BedrockDouble, Browser};

const BUCKET: &str = "easel-gallery";

/// A child process, stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_up(url: &str) {
    for _ in 0..100 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

/// The `easel` binary cargo built beside this test.
fn easel_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let binary = deps.parent().unwrap().parent().unwrap().join("easel");
    assert!(binary.exists(), "build the app first: cargo build -p easel");
    binary
}

fn start_easel(port: u16, s3: &str, bedrock: &BedrockDouble) -> Running {
    let child = Command::new(easel_binary())
        .env("EASEL_LISTEN", format!("127.0.0.1:{port}"))
        .env("EASEL_STORAGE", format!("s3://{BUCKET}/gallery"))
        .env("EASEL_MODEL_CHECK_SECS", "0")
        .env("AWS_ENDPOINT_URL", s3)
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.uri())
        .env("AWS_ENDPOINT_URL_BEDROCK", bedrock.uri())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the easel binary starts");
    Running(child)
}

#[tokio::test]
async fn the_gallery_lives_in_s3_and_survives_a_restart() {
    let s3_port = free_port();
    let _moto = Running(
        Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &s3_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (PyPI: moto[server])"),
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
