//! What keeps the real `easel` process standing at its edge: one process per folder store, and
//! connections that cannot hold it.

use std::process::Stdio;

use easel_tests::{
    BedrockDouble,
    process::{Running, captured, easel_against, free_port, wait_until_up},
};

/// `easel` on a free port with `folder` as its store; returns the command and its address.
fn easel_on(folder: &std::path::Path, bedrock: &BedrockDouble) -> (std::process::Command, String) {
    let port = free_port();
    let mut command = easel_against(bedrock);
    command
        .env("EASEL_LISTEN", format!("127.0.0.1:{port}"))
        .env("EASEL_STORAGE", folder)
        .stdin(Stdio::null());
    (command, format!("http://127.0.0.1:{port}"))
}

/// `easel` serving with `folder` as its store; its address.
async fn serving_on(folder: &std::path::Path, bedrock: &BedrockDouble) -> (Running, String) {
    let (mut command, address) = easel_on(folder, bedrock);
    let running = Running::spawn_logged(&mut command);
    wait_until_up(&format!("{address}/healthz")).await;
    (running, address)
}

#[tokio::test]
async fn a_second_process_on_the_same_folder_refuses_to_start_and_names_it() {
    let bedrock = BedrockDouble::start().await;
    let folder = tempfile::tempdir().unwrap();
    let (_first, address) = serving_on(folder.path(), &bedrock).await;

    let (mut second, _) = easel_on(folder.path(), &bedrock);
    let refused = captured(&mut second).output().expect("easel runs");

    assert!(!refused.status.success(), "the second process stops");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("in use by another Easel process"), "{said}");
    assert!(
        said.contains(&folder.path().display().to_string()),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert!(
        reqwest::get(format!("{address}/healthz")).await.is_ok(),
        "the first process still serves"
    );
}

#[tokio::test]
async fn the_folder_is_free_again_once_its_process_has_stopped() {
    let bedrock = BedrockDouble::start().await;
    let folder = tempfile::tempdir().unwrap();
    let (first, _) = serving_on(folder.path(), &bedrock).await;
    assert!(first.stop().status.success());

    serving_on(folder.path(), &bedrock).await;
}
