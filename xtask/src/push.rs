//! `cargo xtask push`: the ECR repository exists (a targeted Terraform apply), Docker has ECR's
//! token, the image is pushed unless its tag is already there. With `--local` the repository and
//! the token come from moto and the image goes to the local registry.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{flags, image, lifecycle::Lifecycle, terraform};

impl flags::Push {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let mut lifecycle = Lifecycle::open(sh, "push", &self.target, self.tag.as_deref())?;
        image_step(&mut lifecycle, sh, self.tag.is_some())?;
        repository_step(&mut lifecycle, sh)?;
        let pushed = push_step(&mut lifecycle, sh)?;
        lifecycle.steps.finish();
        println!("Pushed {pushed}");
        Ok(())
    }
}

/// Steps: the image for the stack's architecture, built unless its tag was `given` and it
/// exists locally (then used as it is); then a start of it, before it goes anywhere.
pub fn image_step(lifecycle: &mut Lifecycle, sh: &Shell, given: bool) -> Result<()> {
    let Lifecycle {
        steps, stack, tag, ..
    } = lifecycle;
    let image = format!("{}:{tag}", image::APP);
    steps.run(
        "build the image",
        "fix the build error above and run the command again",
        || {
            if given && image::exists(sh, &image) {
                println!("Using the existing image {image}");
                return Ok(());
            }
            image::build(sh, tag, stack.arch)
        },
    )?;
    steps.run(
        "check that the image starts and answers /healthz",
        "the image does not start: read its log lines in the error below, fix it and run the command again",
        || image::check_starts(sh, &image, stack.arch),
    )
}

/// Step: the repository alone (the service needs the image first).
pub fn repository_step(lifecycle: &mut Lifecycle, sh: &Shell) -> Result<()> {
    let Lifecycle { steps, tf, .. } = lifecycle;
    steps.run(
        "create the ECR repository",
        "read Terraform's error above; fix the permissions or the variables and run the command again",
        || tf.apply(sh, terraform::REPOSITORY, &[]),
    )
}

/// Step: log in with ECR's token and push, unless the tag is already in the registry.
/// Returns the pushed image's full name.
pub fn push_step(lifecycle: &mut Lifecycle, sh: &Shell) -> Result<String> {
    let Lifecycle {
        steps,
        stack,
        local,
        aws,
        tag,
        ..
    } = lifecycle;
    steps.run(
        "push the image",
        "check that Docker runs and may reach the registry, then run the command again",
        || {
            let name = &stack.name;
            let uri = aws.repository_uri(name)?;
            let tag = tag.as_str();
            // The token is fetched locally too, so the local lifecycle takes the same path.
            let login = aws.login()?;
            let (repository, already) = match local {
                Some(local) => {
                    println!("ECR token from moto ({uri}); the local registry needs no login");
                    let repository = format!("{}/{name}", local.registry());
                    (repository, local.registry_has(name, tag)?)
                }
                None => {
                    let (user, password, server) = (&login.user, login.password, &login.server);
                    cmd!(
                        sh,
                        "docker login --username {user} --password-stdin {server}"
                    )
                    .stdin(password)
                    .run()
                    .context("docker login to ECR")?;
                    let already = aws.has_tag(name, tag)?;
                    (uri, already)
                }
            };
            let remote = format!("{repository}:{tag}");
            if already {
                println!("{remote} is already in the registry: not pushed again");
                return Ok(remote);
            }
            let source = format!("{}:{tag}", image::APP);
            cmd!(sh, "docker tag {source} {remote}")
                .run()
                .context("docker tag")?;
            cmd!(sh, "docker push --quiet {remote}")
                .run()
                .context("docker push")?;
            Ok(remote)
        },
    )
}
