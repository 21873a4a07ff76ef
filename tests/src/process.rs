//! The real `easel` binary as a child process, for tests of what only the binary does: reading
//! its settings from the environment, logging, stopping on SIGTERM.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use crate::{PATIENCE, wait_until};

/// How long a process may take to exit, after SIGTERM or on its own.
const EXIT_PATIENCE: Duration = Duration::from_secs(60);

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port()
}

/// Waits until `url` answers with a success status.
pub async fn wait_until_up(url: &str) {
    wait_until(format!("{url} to answer"), PATIENCE, || async {
        match reqwest::get(url).await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => Err(answer.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
}

/// The `easel` binary cargo built beside the running test (`cargo build --workspace --all-targets`).
pub fn easel_binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let binary = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("easel");
    assert!(
        binary.exists(),
        "{} is missing: build it first (cargo build --workspace --all-targets)",
        binary.display()
    );
    binary
}

/// `easel` with its environment cleared of settings the test machine may carry.
pub fn easel_command() -> Command {
    let mut command = Command::new(easel_binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("EASEL_") || key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command
}

/// `easel` pointed at `bedrock` (runtime and control plane) with test credentials, checking the
/// model list only at start, its output discarded.
pub fn easel_against(bedrock: &crate::BedrockDouble) -> Command {
    let mut command = easel_command();
    command
        .env("EASEL_MODEL_CHECK_SECS", "0")
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.uri())
        .env("AWS_ENDPOINT_URL_BEDROCK", bedrock.uri())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A child process, killed when dropped.
pub struct Running {
    child: Option<Child>,
    /// Where a logged process's output goes: shown when the test fails.
    log: Option<tempfile::NamedTempFile>,
}

impl Running {
    pub fn spawn(command: &mut Command) -> Self {
        Self {
            child: Some(command.spawn().expect("the program starts")),
            log: None,
        }
    }

    /// As [`Running::spawn`], with both output streams kept in a file that a failing test
    /// prints: a process's log is often the only evidence of what went wrong in it.
    pub fn spawn_logged(command: &mut Command) -> Self {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        // Appending, so that the two streams' lines interleave instead of overwriting.
        let stream = || {
            std::fs::OpenOptions::new()
                .append(true)
                .open(log.path())
                .expect("the log file opens")
        };
        command.stdout(stream()).stderr(stream());
        let mut running = Self::spawn(command);
        running.log = Some(log);
        running
    }

    /// Sends SIGTERM, as ECS does to stop a task, and waits for the process to exit (a
    /// minute at most: longer than Easel's default grace for requests and jobs in flight).
    pub fn stop(mut self) -> Output {
        let child = self.child.take().expect("running");
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::TERM,
        );
        output_within_patience(child, "after SIGTERM")
    }
}

/// Runs `command` to its end (a minute at most), and returns what it said.
pub fn run(command: &mut Command) -> Output {
    let child = captured(command)
        .stdin(Stdio::null())
        .spawn()
        .expect("the program starts");
    output_within_patience(child, "on its own")
}

/// Waits for `child` to exit and returns its output, or kills it and fails the test once
/// [`EXIT_PATIENCE`] has passed.
fn output_within_patience(child: Child, since: &str) -> Output {
    let pid = rustix::process::Pid::from_child(&child);
    // Waiting reads the output streams too, so it runs on a thread of its own that the deadline
    // can give up on.
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait_with_output()));
    match exit.recv_timeout(EXIT_PATIENCE) {
        Ok(output) => output.expect("the process's output"),
        Err(_) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("the process did not exit within {EXIT_PATIENCE:?} {since}");
        }
    }
}

/// A local S3 (moto server) on a free port, serving one request at a time so that its
/// conditional writes are exact, with an empty `bucket`. Returns it and its endpoint URL.
pub async fn start_s3(bucket: &str) -> (Running, String) {
    let port = free_port();
    let serve = format!(
        "from werkzeug.serving import run_simple\n\
         from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n\
         run_simple('127.0.0.1', {port}, DomainDispatcherApplication(create_backend_app), threaded=False)"
    );
    // moto comes from PyPI (moto[server]); .ci/run installs it.
    let moto = Running::spawn(
        Command::new("python3")
            .args(["-c", &serve])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{endpoint}/moto-api/")).await;
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("PUT bucket");
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    (moto, endpoint)
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking()
            && let Some(log) = &self.log
        {
            let said = std::fs::read_to_string(log.path()).unwrap_or_default();
            eprintln!("--- what the process said ---\n{said}--- end ---");
        }
    }
}

/// Pipes for both output streams, to read what the process said.
pub fn captured(command: &mut Command) -> &mut Command {
    command.stdout(Stdio::piped()).stderr(Stdio::piped())
}
