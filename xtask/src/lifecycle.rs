//! What push, plan, deploy and destroy all do first: read the stack's variables, start the
//! local AWS when aimed at it, open one AWS session, initialise Terraform and check that the
//! credentials are for the stack's account and region, each as a numbered step. Nothing is
//! changed before these pass.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::{
    aws::Aws, flags, image, local_aws::LocalAws, stack::Stack, steps::Steps, terraform::Terraform,
};

pub struct Lifecycle {
    pub stack: Stack,
    pub steps: Steps,
    pub local: Option<LocalAws>,
    pub aws: Aws,
    pub tf: Terraform,
    /// The image tag: the one given, else the git commit's for the stack's architecture.
    pub tag: String,
}

impl Lifecycle {
    pub fn open(
        sh: &Shell,
        command: &'static str,
        target: &flags::Target,
        tag: Option<&str>,
    ) -> Result<Self> {
        let stack = Stack::read(sh, target.var_file.as_deref())?;
        Self::open_stack(sh, command, stack, target, tag)
    }

    /// As `open`, for a stack whose variables the command has already read.
    pub fn open_stack(
        sh: &Shell,
        command: &'static str,
        stack: Stack,
        target: &flags::Target,
        tag: Option<&str>,
    ) -> Result<Self> {
        let mut steps = Steps::new(command);
        let local = match target.local {
            false => None,
            true => Some(steps.run(
                "start the local AWS (moto server, registry)",
                "install moto (pip install \"moto[server]\") and docker-registry, or see the logs in target/local-aws",
                || LocalAws::start_or_reuse(sh),
            )?),
        };
        // One call before anything slow, so a wrong endpoint or credentials fail at once; in
        // the stack's region, when its variables name one.
        let aws = steps.run(
            "check AWS access",
            "check the credentials, AWS_REGION and AWS_ENDPOINT_URL (or the network), then run the command again",
            || {
                let aws = Aws::connect(local.as_ref(), stack.region.as_deref())?;
                aws.check()?;
                println!("ECR answers at {}", aws.endpoint);
                Ok(aws)
            },
        )?;
        let tag = image::tag_or_commit(sh, tag, stack.arch)?;
        let tf = Terraform::new(local.as_ref(), &stack, &tag);
        tf.init_step(&mut steps, sh)?;
        steps.run(
            "check the account and region",
            "use the profile (AWS_PROFILE) and AWS_REGION of the account the stack was deployed in, or another state (terraform/README.md, State)",
            || check_account(sh, &aws, &tf, &stack),
        )?;
        Ok(Self {
            stack,
            steps,
            local,
            aws,
            tf,
            tag,
        })
    }
}

/// The credentials are for an account the stack's `allowed_account_ids` names, and for the
/// account and region its state was made in, so a wrong profile or region changes nothing. A
/// state without the stack passes the second check.
fn check_account(sh: &Shell, aws: &Aws, tf: &Terraform, stack: &Stack) -> Result<()> {
    let (account, region) = (aws.account_id()?, aws.region());
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
    let outputs = tf.outputs(sh)?;
    for (what, stack, here) in [
        ("account", outputs.account_id, &account),
        ("region", outputs.region, &region),
    ] {
        if let Some(stack) = stack.filter(|stack| stack != here) {
            bail!(
                "the stack in this Terraform state is in {what} {stack}, but these credentials are for {what} {here}: nothing was changed"
            );
        }
    }
    println!("Account {account}, region {region}");
    Ok(())
}
