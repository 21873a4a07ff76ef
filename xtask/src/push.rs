//! `cargo xtask push`: the ECR repository exists (a targeted Terraform apply), Docker has ECR's
//! token, the image is pushed unless its tag is already there. With `--local` the repository and
//! the token come from moto and the image goes to the local registry.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{
    ecr::Ecr,
    flags, image,
    local_aws::LocalAws,
    stack::Stack,
    steps::Steps,
    terraform::{self, Terraform},
};

impl flags::Push {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let stack = Stack::read(sh, self.target.var_file.as_deref())?;
        let mut steps = Steps::new("push");
        let local = start_local(&mut steps, sh, self.target.local)?;
        let ecr = check_aws(&mut steps, local.as_ref(), &stack)?;
        let tag = image::tag_or_commit(sh, self.tag.as_deref(), stack.arch)?;
        let tf = Terraform::new(local.as_ref(), &stack, &tag);
        account_steps(&mut steps, sh, &tf, &ecr, &stack)?;
        image_step(&mut steps, sh, &tag, self.tag.is_some(), &stack)?;
        repository_step(&mut steps, sh, &tf)?;
        let pushed = push_step(&mut steps, sh, &ecr, local.as_ref(), &stack, &tag)?;
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
/// In the stack's region, when its variables name one.
pub fn check_aws(steps: &mut Steps, local: Option<&LocalAws>, stack: &Stack) -> Result<Ecr> {
    steps.run(
        "check AWS access",
        "check the credentials, AWS_REGION and AWS_ENDPOINT_URL (or the network), then run the command again",
        || {
            let ecr = Ecr::connect(local, stack.region.as_deref())?;
            ecr.check()?;
            println!("ECR answers at {}", ecr.endpoint);
            Ok(ecr)
        },
    )
}

/// Steps: the image `tag` for the stack's architecture, built unless it was `given` and exists
/// locally (then used as it is); then a start of it, before it goes anywhere.
pub fn image_step(
    steps: &mut Steps,
    sh: &Shell,
    tag: &str,
    given: bool,
    stack: &Stack,
) -> Result<()> {
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
pub fn repository_step(steps: &mut Steps, sh: &Shell, tf: &Terraform) -> Result<()> {
    steps.run(
        "create the ECR repository",
        "read Terraform's error above; fix the permissions or the variables and run the command again",
        || tf.apply(sh, terraform::REPOSITORY, &[]),
    )
}

/// Steps: Terraform init, then the check that the credentials are for an account the stack's
/// `allowed_account_ids` names, and for the account and region its state was made in, so a
/// wrong profile or region changes nothing: every lifecycle command runs it before it changes
/// anything. A state without the stack passes the second check.
pub fn account_steps(
    steps: &mut Steps,
    sh: &Shell,
    tf: &Terraform,
    ecr: &Ecr,
    stack: &Stack,
) -> Result<()> {
    tf.init_step(steps, sh)?;
    steps.run(
        "check the account and region",
        "use the profile (AWS_PROFILE) and AWS_REGION of the account the stack was deployed in, or another state (terraform/README.md, State)",
        || {
            let (account, region) = (ecr.account_id()?, ecr.region());
            if let Some(allowed) = stack
                .allowed_account_ids
                .as_ref()
                .filter(|allowed| !allowed.contains(&account))
            {
                bail!(
                    "these credentials are for account {account}, which allowed_account_ids ({}) does not name: nothing was changed",
                    allowed.join(", ")
                );
            }
            let stack_account = tf.output(sh, "account_id")?;
            let stack_region = tf.output(sh, "region")?;
            for (what, stack, here) in [
                ("account", stack_account, &account),
                ("region", stack_region, &region),
            ] {
                if let Some(stack) = stack.filter(|stack| stack != here) {
                    bail!(
                        "the stack in this Terraform state is in {what} {stack}, but these credentials are for {what} {here}: nothing was changed"
                    );
                }
            }
            println!("Account {account}, region {region}");
            Ok(())
        },
    )
}

/// Step: log in with ECR's token and push, unless the tag is already in the registry.
/// Returns the pushed image's full name.
pub fn push_step(
    steps: &mut Steps,
    sh: &Shell,
    ecr: &Ecr,
    local: Option<&LocalAws>,
    stack: &Stack,
    tag: &str,
) -> Result<String> {
    steps.run(
        "push the image",
        "check that Docker runs and may reach the registry, then run the command again",
        || {
            let name = &stack.name;
            let uri = ecr.repository_uri(name)?;
            // The token is fetched locally too, so the local lifecycle takes the same path.
            let login = ecr.login()?;
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
                    let already = ecr.has_tag(name, tag)?;
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
