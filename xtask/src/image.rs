//! `cargo xtask image`: the app image and the Bedrock double's image for the task's CPU
//! architecture, tagged with the commit.
//!
//! A Linux host of the same architecture builds the release binaries itself and wraps them with
//! `docker/Dockerfile.prebuilt` (no base image to pull: what CI does). Any other host (macOS, or
//! Linux of the other architecture) cannot make that binary, so Docker builds it from
//! `docker/Dockerfile`, whose builder runs natively and cross-compiles: no emulation.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{
    flags,
    processes::{self, Profile},
};

/// The design's limit for the app image: 30 MB (1 MB = 1,000,000 bytes, as in the README).
pub const MAX_IMAGE_BYTES: u64 = 30_000_000;
/// The repository names of the two images on this machine.
pub const APP: &str = "easel";
pub const DOUBLE: &str = "easel-bedrock-double";
/// The CA bundle copied into the image: the AWS SDK needs system roots.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The CPU architecture of the ECS task (`cpu_architecture`), and so of the image.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Arch {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

impl Arch {
    /// Docker's name, as in `linux/amd64` and `docker version`'s server architecture.
    pub fn docker(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Rust's name, as in `std::env::consts::ARCH` and target triples.
    fn rust(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }

    /// The static Linux target the image's binaries are built for.
    pub fn musl_target(self) -> String {
        format!("{}-unknown-linux-musl", self.rust())
    }
}

impl flags::Image {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let tag = tag_or_commit(sh, self.tag.as_deref(), self.arch)?;
        build(sh, &tag, self.arch)?;
        println!("Built {APP}:{tag} and {DOUBLE}:{tag}");
        println!("export EASEL_IMAGE={APP}:{tag}");
        Ok(())
    }
}

/// The tag of the working tree: the short commit, and when there are uncommitted changes,
/// `-dirty-` plus a hash of the tree as it is. ECR tags are immutable, so a plain `-dirty` tag
/// would keep the first image pushed under it and silently deploy that one again.
pub fn git_tag(sh: &Shell) -> Result<String> {
    let commit = cmd!(sh, "git rev-parse --short HEAD")
        .read()
        .context("git rev-parse: is this a git checkout?")?;
    let status = cmd!(sh, "git status --porcelain")
        .read()
        .context("git status")?;
    if status.trim().is_empty() {
        return Ok(commit);
    }
    // A scratch index, so the real one (the developer's staging area) is never touched.
    let index = sh.current_dir().join("target/xtask-tag.index");
    let _ = std::fs::remove_file(&index);
    let _env = sh.push_env("GIT_INDEX_FILE", &index);
    cmd!(sh, "git read-tree HEAD")
        .run()
        .context("git read-tree")?;
    cmd!(sh, "git add --all").run().context("git add --all")?;
    let tree = cmd!(sh, "git write-tree")
        .read()
        .context("git write-tree")?;
    Ok(format!(
        "{commit}-dirty-{}",
        &tree[..commit.len().min(tree.len())]
    ))
}

/// The tag of this working tree's image for `arch`: arm64 images get their own tags, since ECR
/// tags are immutable and both architectures come from the same commit.
pub fn tag_for(sh: &Shell, arch: Arch) -> Result<String> {
    let tag = git_tag(sh)?;
    Ok(match arch {
        Arch::X86_64 => tag,
        Arch::Arm64 => format!("{tag}-arm64"),
    })
}

/// The tag a command works with: the one given, else this working tree's for `arch`.
pub fn tag_or_commit(sh: &Shell, tag: Option<&str>, arch: Arch) -> Result<String> {
    match tag {
        Some(tag) => Ok(tag.to_owned()),
        None => tag_for(sh, arch),
    }
}

/// Whether `image` (`name:tag`) exists in the local Docker engine.
pub fn exists(sh: &Shell, image: &str) -> bool {
    cmd!(sh, "docker image inspect {image}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

/// Builds both images with `tag` for `arch`, prints the app image's size and fails when it is
/// too big.
pub fn build(sh: &Shell, tag: &str, arch: Arch) -> Result<()> {
    let app = format!("{APP}:{tag}");
    let double = format!("{DOUBLE}:{tag}");
    if cfg!(target_os = "linux") && std::env::consts::ARCH == arch.rust() {
        build_prebuilt(sh, &app, &double)?;
    } else {
        println!(
            "This host ({} {}) cannot make a Linux {} binary: building in Docker from docker/Dockerfile for linux/{} (a cross-compiling stage, no emulation)",
            std::env::consts::OS,
            std::env::consts::ARCH,
            arch.rust(),
            arch.docker()
        );
        build_from_source(sh, &app, &double, arch)?;
    }

    let format = "{{.Size}}";
    let size: u64 = cmd!(sh, "docker image inspect --format {format} {app}")
        .read()
        .context("docker image inspect")?
        .trim()
        .parse()
        .context("reading the image size")?;
    println!(
        "Image {app}: {:.1} MB (limit {:.0} MB)",
        size as f64 / 1e6,
        MAX_IMAGE_BYTES as f64 / 1e6
    );
    if size > MAX_IMAGE_BYTES {
        bail!(
            "the app image is {size} bytes, over the limit of {MAX_IMAGE_BYTES}: see what grew with `docker history {app}`"
        );
    }
    Ok(())
}

/// This host's release binaries, wrapped by `docker/Dockerfile.prebuilt`.
fn build_prebuilt(sh: &Shell, app: &str, double: &str) -> Result<()> {
    let binaries = processes::build(sh, Profile::Release).context("cargo build --release")?;
    let context = sh.current_dir().join("target/image-context");
    fill_context(sh, &context, &binaries).context("filling the Docker build context")?;

    let _classic = sh.push_env("DOCKER_BUILDKIT", "0");
    let dockerfile = "docker/Dockerfile.prebuilt";
    cmd!(
        sh,
        "docker build --quiet -f {dockerfile} --target bedrock-double -t {double} {context}"
    )
    .run()
    .context("docker build of the Bedrock double's image")?;
    cmd!(
        sh,
        "docker build --quiet -f {dockerfile} -t {app} {context}"
    )
    .run()
    .context("docker build of the app image")?;
    Ok(())
}

/// Both images from source with `docker/Dockerfile`: its builder stage runs on the engine's own
/// platform and cross-compiles for `arch`; only the final stages are of the target platform.
fn build_from_source(sh: &Shell, app: &str, double: &str, arch: Arch) -> Result<()> {
    let build_platform = format!("BUILD_PLATFORM=linux/{}", engine_arch(sh)?);
    let target = format!("TARGET={}", arch.musl_target());
    let platform = format!("linux/{}", arch.docker());
    for (stage, image) in [("bedrock-double", double), ("easel", app)] {
        cmd!(
            sh,
            "docker build --platform {platform} --build-arg {build_platform} --build-arg {target} -f docker/Dockerfile --target {stage} -t {image} ."
        )
        .run()
        .with_context(|| format!("docker build of {image} from docker/Dockerfile"))?;
    }
    Ok(())
}

/// The architecture of the images the Docker engine runs natively (`amd64`, `arm64`).
pub fn engine_arch(sh: &Shell) -> Result<String> {
    let format = "{{.Server.Arch}}";
    let arch = cmd!(sh, "docker version --format {format}")
        .quiet()
        .read()
        .context("docker version: is the Docker engine running?")?;
    Ok(arch.trim().to_owned())
}

/// Starts the app image and waits until it answers `/healthz`, where this Docker engine runs
/// the image's architecture; says so and skips it where it cannot.
pub fn check_starts(sh: &Shell, image: &str, arch: Arch) -> Result<()> {
    let engine = engine_arch(sh)?;
    if engine != arch.docker() {
        println!(
            "SKIPPED: this Docker engine runs linux/{engine} images, not the linux/{} image {image}: its first run is on ECS, whose health check stops a deploy that fails it",
            arch.docker()
        );
        return Ok(());
    }
    let address = processes::free_loopback_address()?;
    let publish = format!("{address}:8080");
    let id = cmd!(
        sh,
        "docker run --detach --publish {publish} --env AWS_EC2_METADATA_DISABLED=true {image}"
    )
    .quiet()
    .read()
    .context("docker run")?;
    let state = "{{.State.Running}}";
    let healthy = processes::wait_for_healthz(address, || {
        let running = cmd!(sh, "docker inspect --format {state} {id}")
            .quiet()
            .read()?;
        anyhow::ensure!(running.trim() == "true", "the container stopped");
        Ok(())
    });
    let logs = cmd!(sh, "docker logs --tail 20 {id}")
        .quiet()
        .ignore_status()
        .read_stderr()
        .unwrap_or_default();
    cmd!(sh, "docker rm --force {id}")
        .quiet()
        .ignore_stdout()
        .run()?;
    healthy
        .with_context(|| format!("{image} did not answer /healthz. Its last log lines:\n{logs}"))?;
    println!("{image} started and answered /healthz");
    Ok(())
}

/// The folder `docker/Dockerfile.prebuilt` builds from (its header lists what goes in).
fn fill_context(sh: &Shell, context: &Path, binaries: &processes::Binaries) -> Result<()> {
    if context.exists() {
        sh.remove_path(context)?;
    }
    let rootfs = context.join("rootfs");
    sh.create_dir(context.join("data"))?;
    sh.copy_file(&binaries.easel, context.join("easel"))?;
    sh.copy_file(&binaries.double, context.join("bedrock-double"))?;
    copy_to_rootfs(&rootfs, Path::new(CA_BUNDLE))
        .with_context(|| format!("the image needs a CA bundle at {CA_BUNDLE}"))?;

    // A glibc build needs its shared libraries and the loader, at the paths it was linked with.
    for binary in [&binaries.easel, &binaries.double] {
        let listing = cmd!(sh, "ldd {binary}")
            .quiet()
            .ignore_status()
            .read()
            .unwrap_or_default();
        for library in shared_libraries(&listing) {
            copy_to_rootfs(&rootfs, &library)?;
        }
    }
    Ok(())
}

/// The library paths in `ldd` output (none for a static binary).
fn shared_libraries(ldd: &str) -> Vec<PathBuf> {
    ldd.lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, target)) => target.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Copies the file behind `path` (following links) to the same path under `rootfs`.
fn copy_to_rootfs(rootfs: &Path, path: &Path) -> Result<()> {
    let target = rootfs.join(path.strip_prefix("/").unwrap_or(path));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(path, &target).with_context(|| format!("copying {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_libraries_are_read_from_ldd() {
        let ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            shared_libraries(ldd),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(shared_libraries("\tnot a dynamic executable\n").is_empty());
    }
}
