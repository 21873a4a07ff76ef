//! What only the real `easel` binary does: settings from the environment, structured logs with a
//! request id (and no prompts at info level), a health probe, and a clean stop on SIGTERM.

use std::process::Stdio;

use easel_tests::{
    BedrockDouble, Browser,
    process::{Running, captured, easel_command, free_port, run, wait_until_up},
};
use serde_json::Value;

#[tokio::test]
async fn a_wrong_setting_stops_the_start_and_names_the_variable() {
    let output = run(easel_command().env("EASEL_LISTEN", "everywhere"));

    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("EASEL_LISTEN"), "{said}");
    assert!(said.contains("not an address like 0.0.0.0:8080"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}

#[tokio::test]
async fn logs_are_json_lines_with_a_request_id_and_no_prompt() {
    let bedrock = BedrockDouble::start().await;
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let easel = Running::spawn(
        captured(&mut easel_command())
            .env("EASEL_LISTEN", format!("127.0.0.1:{port}"))
            .env("EASEL_STORAGE", folder.path())
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.uri())
            .env("AWS_ENDPOINT_URL_BEDROCK", bedrock.uri())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "eu-central-1")
            .stdin(Stdio::null()),
    );
    wait_until_up(&format!("{address}/healthz")).await;

    let page = Browser::new(&address)
        .generate("a secret birthday surprise")
        .await;
    assert_eq!(page.images_in_result().len(), 1);
    let output = easel.stop();

    assert!(
        output.status.success(),
        "SIGTERM is a clean stop: {:?}",
        output.status
    );
    let logs = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let generating = lines
        .iter()
        .find(|l| l["message"] == "job accepted")
        .expect("a log line for the accepted job");
    let request_id = generating["span"]["request_id"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        request_id.len(),
        36,
        "a request id (UUID) on the line: {generating}"
    );
    assert_eq!(
        page.headers["x-request-id"], request_id,
        "the same id is sent back"
    );
    assert!(!logs.contains("birthday"), "prompts stay out of info logs");
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.contains("shutting down"))
    }));
}

#[tokio::test]
async fn the_health_probe_reports_whether_the_server_answers() {
    let bedrock = BedrockDouble::start().await;
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let probe = || {
        run(easel_command()
            .arg("healthcheck")
            .env("EASEL_LISTEN", &listen))
        .status
        .success()
    };
    assert!(!probe(), "nothing is listening yet");

    let _easel = Running::spawn(
        easel_command()
            .env("EASEL_LISTEN", &listen)
            .env("EASEL_STORAGE", folder.path())
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.uri())
            .env("AWS_ENDPOINT_URL_BEDROCK", bedrock.uri())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdout(Stdio::null()),
    );
    wait_until_up(&format!("http://{listen}/healthz")).await;

    assert!(probe(), "the server answers /healthz");
}
