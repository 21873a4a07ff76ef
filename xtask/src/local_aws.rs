//! `--local`: a local AWS for the lifecycle commands. moto server answers the AWS APIs, Debian's
//! `docker-registry` receives the push, and the local Docker engine runs the pushed image as the
//! "service" against the Bedrock double. Only the endpoints differ from a real deploy.
//!
//! Everything lives in one folder (`target/local-aws`, or `EASEL_LOCAL_AWS_DIR`): the emulators'
//! ports and process ids, their logs, the registry's storage and the Terraform state. moto and
//! the registry outlive the command that started them, so the next command finds the same
//! "account"; `destroy --local --stop-local-aws` stops them.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

use crate::processes;

/// The region, account and throwaway credentials of the local account.
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "easel-local";
/// Containers and network of the local service.
const APP_CONTAINER: &str = "easel-local-app";
const DOUBLE_CONTAINER: &str = "easel-local-bedrock";
const NETWORK: &str = "easel-local";
const STATE_FILE: &str = "local-aws.json";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The running local AWS, as recorded in its folder.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LocalAws {
    #[serde(skip)]
    pub dir: PathBuf,
    pub moto_port: u16,
    pub moto_pid: u32,
    pub registry_port: u16,
    pub registry_pid: u32,
    /// Where the service container is published on 127.0.0.1.
    pub app_port: u16,
}

/// The folder of the local AWS.
pub fn dir(sh: &Shell) -> PathBuf {
    match std::env::var_os("EASEL_LOCAL_AWS_DIR") {
        Some(dir) => sh.current_dir().join(dir),
        None => sh.current_dir().join("target/local-aws"),
    }
}

impl LocalAws {
    /// moto's endpoint, by IP address so that S3 uses path-style requests.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    /// The registry's host and port, as image names start.
    pub fn registry(&self) -> String {
        format!("127.0.0.1:{}", self.registry_port)
    }

    pub fn app_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.app_port)
    }

    /// The environment that points Terraform at moto with throwaway credentials.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// Finds the local AWS running, or starts moto and the registry (on the ports they had
    /// before when those are free, so the image URL in the Terraform state stays the same).
    pub fn start_or_reuse(sh: &Shell) -> Result<Self> {
        let dir = dir(sh);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let recorded = Self::recorded(&dir);
        if let Some(local) = &recorded
            && answers(local.moto_port)
            && answers(local.registry_port)
        {
            println!(
                "Reusing the local AWS: moto at {}, registry at {}",
                local.endpoint(),
                local.registry()
            );
            return Ok(local.clone());
        }
        let port = |old: Option<u16>| match old.filter(|p| is_free(*p)) {
            Some(port) => Ok(port),
            None => processes::free_loopback_address().map(|a| a.port()),
        };
        let moto_port = port(recorded.as_ref().map(|l| l.moto_port))?;
        let registry_port = port(recorded.as_ref().map(|l| l.registry_port))?;
        let app_port = port(recorded.as_ref().map(|l| l.app_port))?;

        let moto_pid = spawn_detached(
            Command::new("moto_server").args(["-H", "127.0.0.1", "-p", &moto_port.to_string()]),
            &dir.join("moto.log"),
        )
        .context("starting moto_server (pip install \"moto[server]\")")?;
        let config = dir.join("registry.yml");
        std::fs::write(&config, registry_config(&dir, registry_port))
            .context("writing the registry's configuration")?;
        let registry_pid = spawn_detached(
            Command::new("docker-registry").arg("serve").arg(&config),
            &dir.join("registry.log"),
        )
        .context("starting docker-registry (Debian: apt-get install docker-registry)")?;

        let local = Self {
            dir: dir.clone(),
            moto_port,
            moto_pid,
            registry_port,
            registry_pid,
            app_port,
        };
        std::fs::write(dir.join(STATE_FILE), serde_json::to_string_pretty(&local)?)
            .context("recording the local AWS")?;
        wait_for(moto_port, "moto_server", &dir.join("moto.log"))?;
        wait_for(registry_port, "docker-registry", &dir.join("registry.log"))?;
        println!(
            "Started the local AWS: moto at {}, registry at {} (state in {})",
            local.endpoint(),
            local.registry(),
            dir.display()
        );
        Ok(local)
    }

    fn recorded(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(STATE_FILE)).ok()?;
        let mut local: Self = serde_json::from_str(&text).ok()?;
        local.dir = dir.to_owned();
        Some(local)
    }

    /// Stops moto and the registry, if they are the processes this folder recorded.
    pub fn stop(sh: &Shell) -> Result<()> {
        let dir = dir(sh);
        let Some(local) = Self::recorded(&dir) else {
            return Ok(());
        };
        for (pid, program) in [
            (local.moto_pid, "moto_server"),
            (local.registry_pid, "docker-registry"),
        ] {
            stop_process(pid, program);
        }
        std::fs::remove_file(dir.join(STATE_FILE)).context("forgetting the local AWS")?;
        println!("Stopped moto server and the local registry");
        Ok(())
    }

    /// Runs the pushed image as the service, beside the Bedrock double, unless it already runs
    /// that image; then waits until it answers `/healthz`.
    /// `task` is what the container takes of the task definition's environment (see
    /// `takes_from_task`), secrets included.
    pub fn run_service(
        &self,
        sh: &Shell,
        image: &str,
        double: &str,
        task: &[(String, String)],
    ) -> Result<()> {
        if running_image(sh, APP_CONTAINER).as_deref() == Some(image) && self.healthy() {
            println!("The service already runs {image}: unchanged");
            return Ok(());
        }
        if cmd!(sh, "docker network inspect {NETWORK}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_err()
        {
            cmd!(sh, "docker network create {NETWORK}")
                .quiet()
                .ignore_stdout()
                .run()
                .context("docker network create")?;
        }
        if running_image(sh, DOUBLE_CONTAINER).as_deref() != Some(double) {
            remove_container(sh, DOUBLE_CONTAINER);
            cmd!(sh, "docker run --detach --name {DOUBLE_CONTAINER} --network {NETWORK} --network-alias bedrock {double}")
                .quiet()
                .ignore_stdout()
                .run()
                .context("starting the Bedrock double's container")?;
        }
        remove_container(sh, APP_CONTAINER);
        // Pulled from the registry, as ECS would: proves the push, not just the local build.
        cmd!(sh, "docker pull --quiet {image}")
            .quiet()
            .ignore_stdout()
            .run()
            .with_context(|| format!("docker pull {image}"))?;
        let publish = format!("127.0.0.1:{}:8080", self.app_port);
        // The local stand-ins for S3's gallery and Bedrock; the rest comes from the task
        // definition.
        let local = [
            "EASEL_STORAGE=/data",
            "EASEL_BEDROCK_REGION=us-west-2",
            "AWS_REGION=us-east-1",
            "AWS_ACCESS_KEY_ID=easel-local",
            "AWS_SECRET_ACCESS_KEY=easel-local",
            "AWS_EC2_METADATA_DISABLED=true",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://bedrock:9000",
            "AWS_ENDPOINT_URL_BEDROCK=http://bedrock:9000",
        ];
        // The task's values reach the container through docker's environment, never its
        // command line: the cookie key and the client secret are among them.
        let names = task.iter().map(|(name, _)| name.as_str());
        let env = local
            .into_iter()
            .chain(names)
            .flat_map(|variable| ["--env", variable]);
        cmd!(sh, "docker run --detach --name {APP_CONTAINER} --network {NETWORK} --publish {publish} {env...} {image}")
            .envs(task.iter().map(|(name, value)| (name, value)))
            .quiet()
            .ignore_stdout()
            .run()
            .context("starting the service container")?;
        self.wait_until_healthy(sh)
    }

    fn healthy(&self) -> bool {
        reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .ok()
            .and_then(|c| c.get(format!("{}/healthz", self.app_url())).send().ok())
            .is_some_and(|r| r.status().is_success())
    }

    fn wait_until_healthy(&self, sh: &Shell) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let state_format = "{{.State.Running}} {{.State.ExitCode}}";
        loop {
            let state = cmd!(sh, "docker inspect --format {state_format} {APP_CONTAINER}")
                .quiet()
                .read()
                .context("docker inspect")?;
            if let Some(code) = state.strip_prefix("false ") {
                let logs = cmd!(sh, "docker logs --tail 20 {APP_CONTAINER}")
                    .quiet()
                    .ignore_status()
                    .read_stderr()
                    .unwrap_or_default();
                bail!(
                    "the service container exited at once (exit code {code}). Its last log lines:\n{logs}"
                );
            }
            if self.healthy() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the service did not answer {}/healthz within {START_TIMEOUT:?}",
                    self.app_url()
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether the registry holds `tag` of the repository.
    pub fn registry_has(&self, repository: &str, tag: &str) -> Result<bool> {
        let url = format!("http://{}/v2/{repository}/manifests/{tag}", self.registry());
        let response = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?
            .head(&url)
            .header(
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .send()
            .with_context(|| format!("asking the registry: HEAD {url}"))?;
        Ok(response.status().is_success())
    }
}

/// The variables of the task definition the local service takes: the cookie key and the
/// sign-in settings, so it asks for sign-in as the deployed tasks do. Not the gallery, whose
/// bucket policy allows TLS only, which moto cannot serve (the local service keeps its gallery
/// in the image's folder); nor the viewer networks, since no CloudFront stands in front to name
/// the viewer.
pub fn takes_from_task(variable: &str) -> bool {
    variable.starts_with("EASEL_COOKIE_KEY")
        || variable.starts_with("EASEL_OIDC_")
        || matches!(variable, "EASEL_AUTH" | "EASEL_PUBLIC_URL" | "EASEL_ADMINS")
}

/// Removes the service and double containers and their network, if present.
pub fn remove_service(sh: &Shell) -> Result<()> {
    remove_container(sh, APP_CONTAINER);
    remove_container(sh, DOUBLE_CONTAINER);
    let _ = cmd!(sh, "docker network rm {NETWORK}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
    println!("Removed the local service containers");
    Ok(())
}

/// The image a running container was started from, if it runs.
fn running_image(sh: &Shell, container: &str) -> Option<String> {
    let format = "{{.State.Running}} {{.Config.Image}}";
    let state = cmd!(sh, "docker inspect --format {format} {container}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    state.strip_prefix("true ").map(str::to_owned)
}

fn remove_container(sh: &Shell, name: &str) {
    let _ = cmd!(sh, "docker rm --force {name}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
}

fn registry_config(dir: &Path, port: u16) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("registry").display()
    )
}

/// Starts a program that keeps running after this process exits (its own process group, so a
/// Ctrl-C in the terminal does not reach it), with its output in `log`.
fn spawn_detached(command: &mut Command, log: &Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn wait_for(port: u16, program: &str, log: &Path) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while !answers(port) {
        if Instant::now() > deadline {
            bail!(
                "{program} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:?}; see {}",
                log.display()
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Sends SIGTERM to `pid` if it still runs `program` (a recorded pid may have been reused).
fn stop_process(pid: u32, program: &str) {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !String::from_utf8_lossy(&cmdline).contains(program) {
        return;
    }
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}
