//! Easel and the Bedrock double as child processes: build them, start them, wait until they
//! answer, and stop them again when dropped.

use std::{
    io::{BufRead, BufReader},
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// How long a child may take to print its address or answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The line the double prints once it listens, followed by its URL.
const DOUBLE_READY: &str = "bedrock double listening on ";
/// The line the OpenID Connect provider prints once it listens, followed by its issuer.
const PROVIDER_READY: &str = "oidc provider listening on ";
/// The one client the provider knows (`tests/src/oidc_provider.rs`).
const PROVIDER_CLIENT_ID: &str = "easel";
const PROVIDER_CLIENT_SECRET: &str = "easel-test-secret";

/// The binaries of a local run and of the bench, as cargo selects them.
pub const BINARIES: [&str; 6] = [
    "--bin",
    "easel",
    "--bin",
    "bedrock-double",
    "--bin",
    "oidc-provider",
];

pub enum Profile {
    Debug,
    Release,
}

/// The programs a local run and the bench need.
pub struct Binaries {
    pub easel: PathBuf,
    pub double: PathBuf,
    pub oidc_provider: PathBuf,
}

/// Builds `easel`, `bedrock-double` and `oidc-provider` and finds them where cargo put them. Named by `--bin`,
/// not `-p`, so cargo resolves the whole workspace's features, as `cargo test` and the
/// `cargo xtask` alias do: one build of the dependencies serves them all.
pub fn build(sh: &Shell, profile: Profile) -> Result<Binaries> {
    let release = matches!(profile, Profile::Release).then_some("--release");
    let messages = cmd!(
        sh,
        "cargo build {release...} {BINARIES...} --message-format=json-render-diagnostics"
    )
    .read()
    .context("cargo build --bin easel --bin bedrock-double --bin oidc-provider")?;
    let executable = |name: &str| {
        executable_from_messages(&messages, name)
            .with_context(|| format!("cargo build did not report the `{name}` binary"))
    };
    Ok(Binaries {
        easel: executable("easel")?,
        double: executable("bedrock-double")?,
        oidc_provider: executable("oidc-provider")?,
    })
}

/// The path of the binary `name` in cargo's JSON build messages.
fn executable_from_messages(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// A free port on the loopback interface, for a child to listen on.
pub fn free_loopback_address() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    listener.local_addr().context("finding a free port")
}

/// The settings that point Easel at the double, with throwaway credentials.
pub fn offline_env(double_url: &str, storage: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("EASEL_STORAGE", storage.display().to_string()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double_url.to_owned()),
        ("AWS_ENDPOINT_URL_BEDROCK", double_url.to_owned()),
        ("AWS_ACCESS_KEY_ID", "dev".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "dev".to_owned()),
        ("AWS_REGION", "us-west-2".to_owned()),
    ]
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when this is dropped.
pub struct Running {
    name: &'static str,
    child: Child,
}

impl Running {
    fn spawn(name: &'static str, mut command: Command) -> Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self { name, child })
    }

    /// Why the child stopped, if it has.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("checking on {}", self.name))
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Resident memory now, as the kernel reports it in `/proc/PID/status` (`VmRSS`).
    pub fn rss_bytes(&self) -> Result<u64> {
        self.memory("VmRSS")
    }

    /// The most resident memory the process ever had (`VmHWM`, the high-water mark).
    pub fn peak_rss_bytes(&self) -> Result<u64> {
        self.memory("VmHWM")
    }

    fn memory(&self, field: &str) -> Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status_bytes(&status, field).with_context(|| format!("no {field} line in {path}"))
    }
}

/// A `Field:   N kB` line of `/proc/PID/status`, in bytes.
fn status_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| {
        line.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
    })?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        terminate(&self.child);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "{} did not stop within {STOP_GRACE:?}; killing it",
            self.name
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks the child to stop the way ECS and Ctrl-C do.
#[cfg(unix)]
fn terminate(child: &Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let _ = kill_process(Pid::from_child(child), Signal::TERM);
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}

/// A child serving on a loopback port it chose and announced: the Bedrock double or the OpenID
/// Connect provider.
pub struct Server {
    pub process: Running,
    url: String,
}

impl Server {
    /// Where it serves, `http://127.0.0.1:PORT` (the provider: its issuer, on `localhost`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Starts the double on loopback with `options` (see `bedrock-double --help`) and waits for the
/// line with its address. The rest of its output is passed on.
pub fn start_double(binary: &Path, options: &[&str]) -> Result<Server> {
    let mut command = Command::new(binary);
    command
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(options);
    start_announced("the Bedrock double", command, DOUBLE_READY)
}

/// Starts the sign-in tests' OpenID Connect provider on a free port of `localhost`; any
/// username signs in, with the client id and secret [`oidc_client_env`] gives Easel.
pub fn start_oidc_provider(binary: &Path) -> Result<Server> {
    start_announced(
        "the OpenID Connect provider",
        Command::new(binary),
        PROVIDER_READY,
    )
}

/// The settings that have Easel at `public_url` sign people in through the provider.
pub fn oidc_client_env(provider: &Server, public_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("EASEL_AUTH", "oidc".to_owned()),
        ("EASEL_PUBLIC_URL", public_url.to_owned()),
        ("EASEL_OIDC_ISSUER", provider.url().to_owned()),
        ("EASEL_OIDC_CLIENT_ID", PROVIDER_CLIENT_ID.to_owned()),
        (
            "EASEL_OIDC_CLIENT_SECRET",
            PROVIDER_CLIENT_SECRET.to_owned(),
        ),
    ]
}

/// Spawns `command` and waits for the line that starts with `ready` and ends with its URL. The
/// rest of its output is passed on.
fn start_announced(
    name: &'static str,
    mut command: Command,
    ready: &'static str,
) -> Result<Server> {
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut process = Running::spawn(name, command)?;
    let stdout = process
        .child
        .stdout
        .take()
        .with_context(|| format!("the output of {name}"))?;

    let (ready_tx, ready_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut ready_tx = Some(ready_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(ready) {
                Some(url) if ready_tx.is_some() => {
                    let _ = ready_tx.take().map(|tx| tx.send(url.trim().to_owned()));
                }
                _ => println!("{line}"),
            }
        }
    });
    match ready_rx.recv_timeout(START_TIMEOUT) {
        Ok(url) => Ok(Server { process, url }),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = process.exited()?;
            bail!("{name} stopped before it listened ({status:?}); see its output above")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            bail!("{name} did not say where it listens within {START_TIMEOUT:?}")
        }
    }
}

/// Starts Easel on `address` with `env` and waits until `/healthz` answers.
pub fn start_easel(
    binary: &Path,
    address: SocketAddr,
    env: &[(&'static str, String)],
    stdout: Stdio,
) -> Result<Running> {
    start_easel_with(Command::new(binary), address, env, stdout)
}

/// [`start_easel`] for a binary that another program runs, e.g. an emulator.
pub fn start_easel_with(
    mut command: Command,
    address: SocketAddr,
    env: &[(&'static str, String)],
    stdout: Stdio,
) -> Result<Running> {
    command
        .env("EASEL_LISTEN", address.to_string())
        .envs(env.iter().map(|(key, value)| (key, value)))
        // Throwaway keys only: no session or profile from the caller's shell may mix in.
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(stdout);
    let mut easel = Running::spawn("Easel", command)?;
    wait_for_healthz(address, || match easel.exited()? {
        Some(status) => {
            bail!("Easel stopped before it answered /healthz ({status}); see its output above")
        }
        None => Ok(()),
    })?;
    Ok(easel)
}

/// Polls `http://{address}/healthz` every 2 ms until it answers 200. `still_running` fails when
/// the server is known to have stopped.
pub fn wait_for_healthz(
    address: SocketAddr,
    mut still_running: impl FnMut() -> Result<()>,
) -> Result<()> {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")?;
    let url = format!("http://{address}/healthz");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        still_running()?;
        if client
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("Easel did not answer {url} within {START_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Blocks until Ctrl-C (or SIGTERM), or until one of `children` stops on its own (an error).
pub fn wait_for_ctrl_c(children: &mut [&mut Running]) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a signal listener")?;
    runtime.block_on(async {
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                // A Ctrl-C reaches the children too; it must win over their exit.
                biased;
                signal = &mut stop => return signal,
                _ = ticks.tick() => {
                    for child in children.iter_mut() {
                        if let Some(status) = child.exited()? {
                            bail!("{} stopped on its own ({status})", child.name());
                        }
                    }
                }
            }
        }
    })
}

#[cfg(unix)]
async fn stop_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        ctrl_c = tokio::signal::ctrl_c() => ctrl_c.context("listening for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn stop_signal() -> Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_found_in_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"easel"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"easel"},"executable":"/t/debug/easel"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executable_from_messages(messages, "easel"),
            Some("/t/debug/easel".into())
        );
        assert_eq!(executable_from_messages(messages, "bedrock-double"), None);
    }

    #[test]
    fn resident_memory_is_read_from_proc_status() {
        let status = "Name:\teasel\nVmHWM:\t   20000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(status_bytes(status, "VmRSS"), Some(12345 * 1024));
        assert_eq!(status_bytes(status, "VmHWM"), Some(20000 * 1024));
        assert_eq!(status_bytes("Name:\teasel\n", "VmRSS"), None);
    }
}
