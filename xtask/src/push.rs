//! `cargo xtask push`: the ECR repository exists (a targeted Terraform apply), Docker has ECR's
//! token, the image is pushed unless its tag is already there. With `--local` the repository and
//! the token come from moto and the image goes to the local registry.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{
    ecr::Ecr,
    flags, image,
    local_aws::{self, LocalAws},
    steps::Steps,
    terraform::{self, Terraform},
};

impl flags::Push {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let mut steps = Steps::new("push");
        let local = start_local(&mut steps, sh, self.target.local)?;
        let ecr = check_aws(&mut steps, local.as_ref())?;
        let tag = image_step(&mut steps, sh, self.tag)?;
        let tf = Terraform::new(local.as_ref(), &tag);
        repository_step(&mut steps, sh, &tf)?;
        let pushed = push_step(&mut steps, sh, &ecr, local.as_ref(), &tag)?;
        steps.finish();
        println!("Pushed {pushed}");
        Ok(())
    }
}

/// Step: start (or find) the local AWS.
pub fn start_local(steps: &mut Steps, sh: &Shell, local: bool) -> Result<Option<LocalAws>> {
    if !local {
        return Ok(None);
    }
    steps
        .run(
            "start the local AWS (moto server, registry)",
            "install moto (pip install \"moto[server]\") and docker-registry, or see the logs in target/local-aws",
            || LocalAws::start_or_reuse(sh),
        )
        .map(Some)
}

/// Step: one ECR call, before anything slow, so a wrong endpoint or credentials fail at once.
pub fn check_aws(steps: &mut Steps, local: Option<&LocalAws>) -> Result<Ecr> {
    steps.run(
        "check AWS access",
        "check the credentials, AWS_REGION and AWS_ENDPOINT_URL (or the network), then run the command again",
        || {
            let ecr = Ecr::connect(local)?;
            ecr.check()?;
            println!("ECR answers at {}", ecr.endpoint);
            Ok(ecr)
        },
    )
}

/// Step: the image for `tag` (default: this commit); an existing local image is used as it is.
pub fn image_step(steps: &mut Steps, sh: &Shell, tag: Option<String>) -> Result<String> {
    steps.run(
        "build the image",
        "fix the build error above and run the command again",
        || {
            let tag = match tag {
                Some(tag) if image::exists(sh, &format!("{}:{tag}", image::APP)) => {
                    println!("Using the existing image {}:{tag}", image::APP);
                    return Ok(tag);
                }
                Some(tag) => tag,
                None => image::git_tag(sh)?,
            };
            image::build(sh, &tag)?;
            Ok(tag)
        },
    )
}

/// Steps: Terraform init, then the repository alone (the service needs the image first).
pub fn repository_step(steps: &mut Steps, sh: &Shell, tf: &Terraform) -> Result<()> {
    tf.init_step(steps, sh)?;
    steps.run(
        "create the ECR repository",
        "read Terraform's error above; fix the permissions or the variables and run the command again",
        || tf.apply(sh, terraform::REPOSITORY, &[]),
    )
}

/// Step: log in with ECR's token and push, unless the tag is already in the registry.
/// Returns the pushed image's full name.
pub fn push_step(
    steps: &mut Steps,
    sh: &Shell,
    ecr: &Ecr,
    local: Option<&LocalAws>,
    tag: &str,
) -> Result<String> {
    steps.run(
        "push the image",
        "check that Docker runs and may reach the registry, then run the command again",
        || {
            let uri = ecr.repository_uri(local_aws::REPOSITORY)?;
            // The token is fetched locally too, so the local lifecycle takes the same path.
            let login = ecr.login()?;
            let (repository, already) = match local {
                Some(local) => {
                    println!("ECR token from moto ({uri}); the local registry needs no login");
                    let repository = format!("{}/{}", local.registry(), local_aws::REPOSITORY);
                    (repository, local.registry_has(tag)?)
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
                    let already = ecr.has_tag(local_aws::REPOSITORY, tag)?;
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
