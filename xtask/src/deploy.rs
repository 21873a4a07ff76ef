//! `cargo xtask deploy`: image, ECR repository, push, Terraform apply (which waits until the ECS
//! service is stable), smoke test. With `--local` the "service" is the pushed image run by the
//! local Docker engine against the Bedrock double. Every step is idempotent: a second deploy with
//! nothing changed changes nothing.

use std::{io::IsTerminal, time::Duration};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::{
    agreements, catalogue, flags, image,
    lifecycle::Lifecycle,
    local_aws, push, smoke,
    stack::{Auth, Stack},
    terminal,
};

impl flags::Deploy {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // The task role's grants come from the generated file: a stale one would make a role
        // that cannot call what the image offers.
        catalogue::check(sh)?;
        // Asked before anything else, so a refusal leaves the account (or the local AWS) as it was.
        let stack = Stack::read(sh, self.target.var_file.as_deref())?;
        if stack.auth == Auth::None {
            confirm_open_to_everyone(self.open_to_everyone)?;
        }
        let mut lifecycle =
            Lifecycle::open_stack(sh, "deploy", stack, &self.target, self.tag.as_deref())?;
        // Accepting an offer changes the account: only once it is known to be the stack's, and
        // before the slow build, so a missing agreement stops the deploy at once.
        let consent = agreements::Consent::from_flags(self.accept_model_agreements, self.yes);
        agreements::step(&mut lifecycle, sh, consent)?;
        push::image_step(&mut lifecycle, sh, self.tag.is_some())?;
        push::repository_step(&mut lifecycle, sh)?;
        let pushed = push::push_step(&mut lifecycle, sh)?;
        let Lifecycle {
            stack,
            mut steps,
            local,
            aws,
            tf,
            tag,
        } = lifecycle;
        steps.run(
            "adopt a kept gallery bucket",
            "import the bucket by hand (see terraform/README.md, Lifecycle notes) and deploy again",
            || {
                let bucket = aws.gallery_bucket(&stack.name)?;
                tf.adopt_gallery(sh, &bucket)
            },
        )?;

        let url = match &local {
            None => {
                steps.run(
                    "apply Terraform and wait until the ECS service is stable",
                    "read Terraform's error above; for a service that never becomes stable, read its log group (terraform output log_group); then deploy again",
                    || tf.apply(sh, &[], &[]),
                )?;
                tf.outputs(sh)?
                    .url
                    .context("terraform output url is missing")?
            }
            Some(local) => {
                steps.run(
                    "apply Terraform",
                    "read Terraform's error above, fix it and deploy again",
                    || tf.apply(sh, &[], &[]),
                )?;
                let outputs = tf.outputs(sh)?;
                let url = outputs.url.context("terraform output url is missing")?;
                let double = format!("{}:{tag}", image::DOUBLE);
                steps.run(
                    "start the service and wait until it is healthy",
                    "fix the image (see its log above) and deploy again",
                    || {
                        let task = outputs
                            .task_definition_arn
                            .as_deref()
                            .context("terraform output task_definition_arn is missing")?;
                        let settings = aws.task_environment(task, local_aws::takes_from_task)?;
                        local.run_service(sh, &pushed, &double, &settings)
                    },
                )?;
                url
            }
        };
        // A new ALB's name takes a while to resolve. moto's CloudFront name never does: the
        // local service is checked where the load balancer would reach it.
        let patience = Duration::from_secs(180);
        steps.run(
            "smoke test",
            "the service runs but misbehaves: check its logs, fix and deploy again",
            || match &local {
                None => smoke::check(&url, false, patience),
                Some(local) => smoke::check_local(&local.app_url(), &url, patience),
            },
        )?;
        if let Some(local) = &local {
            println!(
                "Locally the service answers at {}: moto's CloudFront name does not resolve",
                local.app_url()
            );
        }
        steps.finish();
        println!("Easel {tag} is deployed at {url}");
        Ok(())
    }
}

/// A studio without sign-in is deployed only when the operator says so, at the terminal or with
/// `--open-to-everyone`.
fn confirm_open_to_everyone(confirmed: bool) -> Result<()> {
    const WARNING: &str = "auth = \"none\": the studio will have no sign-in. It is open to everyone who can reach it (allowed_ingress_cidrs narrows who can), and they all spend your Bedrock budget";
    if confirmed {
        println!("{WARNING} (--open-to-everyone)");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "{WARNING}. There is no terminal to ask on: pass --open-to-everyone to deploy it so, or set auth = \"cognito\" (the default). Nothing was changed"
        );
    }
    let answer = terminal::ask(&format!("{WARNING}. Deploy it? Type yes to go on:"))?;
    if answer != "yes" {
        bail!("deploy cancelled: nothing was changed");
    }
    Ok(())
}
