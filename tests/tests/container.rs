//! The built app image, run as a container (testcontainers), makes a picture through the
//! Bedrock double and serves it as a PNG.
//!
//! The image comes from `cargo xtask image`, named by `EASEL_IMAGE` (`easel:TAG`); `cargo xtask
//! ci` builds it, sets the variable and runs this test with `--include-ignored`. It is ignored in
//! a plain `cargo test` only because the image must be built first; without the variable it
//! fails, it never skips.

use easel_tests::{
    BedrockDouble, Browser,
    process::{free_port, wait_until_up},
};
use testcontainers::{GenericImage, ImageExt, core::WaitFor, runners::AsyncRunner};

fn image() -> (String, String) {
    let image = std::env::var("EASEL_IMAGE").expect(
        "EASEL_IMAGE names the app image to test: run `cargo xtask image` and set EASEL_IMAGE=easel:TAG as it prints (cargo xtask ci does both)",
    );
    let (name, tag) = image
        .rsplit_once(':')
        .expect("EASEL_IMAGE is NAME:TAG, e.g. easel:1a2b3c4");
    (name.to_owned(), tag.to_owned())
}

#[tokio::test]
#[ignore = "needs the image from `cargo xtask image` (EASEL_IMAGE); `cargo xtask ci` runs it"]
async fn the_app_image_makes_a_picture_through_the_double() {
    let (name, tag) = image();
    let bedrock = BedrockDouble::start().await;
    // Host networking: the container reaches the double on the host's loopback, and the test
    // reaches the container the same way, with no port mapping or bridge address to find.
    let port = free_port();
    let _easel = GenericImage::new(name, tag)
        .with_wait_for(WaitFor::Nothing)
        .with_network("host")
        .with_env_var("EASEL_LISTEN", format!("127.0.0.1:{port}"))
        .with_env_var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.uri())
        .with_env_var("AWS_ENDPOINT_URL_BEDROCK", bedrock.uri())
        .with_env_var("AWS_ACCESS_KEY_ID", "test")
        .with_env_var("AWS_SECRET_ACCESS_KEY", "test")
        .with_env_var("AWS_REGION", "us-west-2")
        .with_env_var("AWS_EC2_METADATA_DISABLED", "true")
        .start()
        .await
        .expect("the app container starts");

    let address = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{address}/healthz")).await;

    let browser = Browser::new(&address);
    let page = browser.generate("a lighthouse at dawn").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let images = page.image_ids();
    assert_eq!(images.len(), 1, "one picture: {}", page.html);

    let full_size = format!("/images/{}/image.png", images[0]);
    let (status, headers, bytes) = browser.get_bytes(&full_size).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert_eq!(bedrock.received().len(), 1, "one call reached the double");
}
