//! Terraform in `terraform/`, for AWS or the local AWS.
//!
//! Against AWS, Terraform keeps its usual places beside the `.tf` files (`.terraform/`, and the
//! state in `terraform.tfstate` or the backend an override file configures, as deploy.yml does):
//! a real stack's state must survive `cargo clean`. Against the local AWS, the data folder
//! (`TF_DATA_DIR`) and the state (`-state`) live in the local AWS's folder under `target/`, so a
//! local run never touches the real state and disappears with the emulator it describes.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use xshell::{Cmd, Shell, cmd};

use crate::{local_aws::LocalAws, stack::Stack, steps::Steps};

/// The gallery bucket and the resources that configure it: removed from the state (so destroy
/// keeps them) unless the images are to be deleted.
pub const GALLERY: &[&str] = &[
    "aws_s3_bucket.gallery",
    "aws_s3_bucket_ownership_controls.gallery",
    "aws_s3_bucket_public_access_block.gallery",
    "aws_s3_bucket_server_side_encryption_configuration.gallery",
    "aws_s3_bucket_versioning.gallery",
    "aws_s3_bucket_lifecycle_configuration.gallery",
    "aws_s3_bucket_policy.gallery",
];

/// What the first apply creates, so the image can be pushed before the service needs it.
pub const REPOSITORY: &[&str] = &["aws_ecr_repository.app", "aws_ecr_lifecycle_policy.app"];

pub struct Terraform {
    env: Vec<(&'static str, String)>,
    state: Option<PathBuf>,
    var_file: Option<PathBuf>,
    vars: Vec<String>,
}

impl Terraform {
    pub fn new(local: Option<&LocalAws>, stack: &Stack, tag: &str) -> Self {
        let mut vars = vec![format!("image_tag={tag}")];
        let (mut env, state) = match local {
            None => (vec![], None),
            Some(local) => {
                // moto runs no tasks (the service never becomes stable), lacks the tagging
                // API of Application Auto Scaling and drops a service's capacity provider
                // strategy; the image comes from the local registry.
                vars.extend([
                    "wait_for_steady_state=false".to_owned(),
                    "enable_autoscaling=false".to_owned(),
                    "use_capacity_providers=false".to_owned(),
                    format!("image_repository_url={}/{}", local.registry(), stack.name),
                ]);
                let mut env = local.aws_env();
                env.push((
                    "TF_DATA_DIR",
                    local.dir.join("terraform-data").display().to_string(),
                ));
                (env, Some(local.dir.join("terraform.tfstate")))
            }
        };
        env.push(("TF_IN_AUTOMATION", "1".to_owned()));
        Self {
            env,
            state,
            var_file: stack.var_file.clone(),
            vars,
        }
    }

    /// The one way Terraform is run: `words` (the verb and its flags), then what the verb
    /// takes of the local state and the variables, then `rest` (addresses, a plan file).
    fn cmd<'a>(&self, sh: &'a Shell, words: &[&str], takes: Takes, rest: &[String]) -> Cmd<'a> {
        let mut args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if !matches!(takes, Takes::Nothing) {
            args.extend(
                self.state
                    .iter()
                    .map(|path| format!("-state={}", path.display())),
            );
        }
        if let Takes::StateAndVars(extra) = takes {
            // The variables file first: the xtask's own `-var`s after it win.
            args.extend(
                self.var_file
                    .iter()
                    .map(|file| format!("-var-file={}", file.display())),
            );
            for var in self
                .vars
                .iter()
                .map(String::as_str)
                .chain(extra.iter().copied())
            {
                args.extend(["-var".to_owned(), var.to_owned()]);
            }
        }
        args.extend(rest.iter().cloned());
        let mut command = cmd!(sh, "terraform -chdir=terraform {args...}");
        for (key, value) in &self.env {
            command = command.env(key, value);
        }
        command
    }

    /// `terraform init`, from `TF_PLUGIN_DIR` when set (machines without registry access).
    /// `init` as a numbered step of `steps`, with what to do when it fails.
    pub fn init_step(&self, steps: &mut Steps, sh: &Shell) -> Result<()> {
        steps.run(
            "terraform init",
            "set TF_PLUGIN_DIR when the provider registry is out of reach",
            || self.init(sh),
        )
    }

    pub fn init(&self, sh: &Shell) -> Result<()> {
        let plugin_dir: Vec<String> = std::env::var("TF_PLUGIN_DIR")
            .ok()
            .filter(|dir| !dir.is_empty())
            .map(|dir| format!("-plugin-dir={dir}"))
            .into_iter()
            .collect();
        self.cmd(sh, &["init", "-input=false"], Takes::Nothing, &plugin_dir)
            .ignore_stdout()
            .run()
            .context("terraform init (without registry access, set TF_PLUGIN_DIR)")
    }

    /// `terraform plan`; `true` when something would change.
    pub fn plan(&self, sh: &Shell) -> Result<bool> {
        let words = ["plan", "-input=false", "-detailed-exitcode"];
        let output = self
            .cmd(sh, &words, Takes::StateAndVars(&[]), &[])
            .ignore_status()
            .output()?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        match output.status.code() {
            Some(0) => Ok(false),
            Some(2) => Ok(true),
            _ => anyhow::bail!("terraform plan failed (see above)"),
        }
    }

    /// The plan as `terraform show -json` gives it, without changing anything: what the
    /// catalogue check reads the task role's policy from.
    #[cfg(test)]
    pub fn planned(&self, sh: &Shell) -> Result<serde_json::Value> {
        let dir = tempfile::tempdir()?;
        let plan = dir.path().join("plan").display().to_string();
        let words = ["plan", "-input=false", "-refresh=false"];
        self.cmd(
            sh,
            &words,
            Takes::StateAndVars(&[]),
            &[format!("-out={plan}")],
        )
        .quiet()
        .ignore_stdout()
        .run()
        .context("terraform plan")?;
        let json = self
            .cmd(sh, &["show", "-json"], Takes::Nothing, &[plan])
            .quiet()
            .read()
            .context("terraform show")?;
        serde_json::from_str(&json).context("reading terraform show -json")
    }

    /// The plan of the whole stack against the local AWS (started when it is not running): what
    /// the checks of the task role and the edge read, since moto enforces neither IAM nor
    /// listener rules.
    #[cfg(test)]
    pub fn planned_locally(sh: &Shell) -> Result<(Stack, serde_json::Value)> {
        let local = LocalAws::start_or_reuse(sh)?;
        let stack = Stack::read(sh, None)?;
        let tf = Self::new(Some(&local), &stack, "plan-check");
        tf.init(sh)?;
        let plan = tf.planned(sh)?;
        Ok((stack, plan))
    }

    /// `terraform apply` of everything, or of `targets` only, with extra `-var`s.
    pub fn apply(&self, sh: &Shell, targets: &[&str], vars: &[&str]) -> Result<()> {
        self.change(sh, "apply", targets, vars)
    }

    pub fn destroy(&self, sh: &Shell) -> Result<()> {
        self.change(sh, "destroy", &[], &[])
    }

    fn change(&self, sh: &Shell, verb: &str, targets: &[&str], vars: &[&str]) -> Result<()> {
        let words = [verb, "-input=false", "-auto-approve", "-compact-warnings"];
        let targets: Vec<String> = targets.iter().map(|t| format!("-target={t}")).collect();
        self.cmd(sh, &words, Takes::StateAndVars(vars), &targets)
            .run()
            .with_context(|| format!("terraform {verb}"))
    }

    /// Adopts the gallery bucket a destroy kept, when it exists: without it in the state, the
    /// apply would fail to create a bucket of the same name. Its settings are applied again.
    pub fn adopt_gallery(&self, sh: &Shell, bucket: &str) -> Result<bool> {
        if self.state_list(sh)?.iter().any(|a| a == GALLERY[0]) {
            return Ok(false);
        }
        let address = [GALLERY[0].to_owned(), bucket.to_owned()];
        let words = ["import", "-input=false"];
        // A bucket that does not exist cannot be imported: then the apply creates it.
        let output = self
            .cmd(sh, &words, Takes::StateAndVars(&[]), &address)
            .quiet()
            .ignore_status()
            .output()?;
        let adopted = output.status.success();
        if adopted {
            println!("Adopted the gallery bucket {bucket} that an earlier destroy kept");
        } else {
            let error = String::from_utf8_lossy(&output.stderr);
            let reason = error
                .lines()
                .find(|l| l.contains("Error"))
                .unwrap_or("no such bucket");
            println!(
                "No kept gallery bucket to adopt ({}): the apply creates it",
                reason
                    .trim_matches(|c: char| !c.is_ascii_graphic() && c != ' ')
                    .trim()
            );
        }
        Ok(adopted)
    }

    /// The resource addresses in the state.
    pub fn state_list(&self, sh: &Shell) -> Result<Vec<String>> {
        let output = self
            .cmd(sh, &["state", "list"], Takes::State, &[])
            .ignore_status()
            .output()?;
        // A state that was never written has nothing in it.
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    pub fn state_rm(&self, sh: &Shell, addresses: &[&str]) -> Result<()> {
        let addresses: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
        self.cmd(sh, &["state", "rm"], Takes::State, &addresses)
            .run()
            .context("terraform state rm")
    }

    /// The stack's outputs, as the state holds them now.
    pub fn outputs(&self, sh: &Shell) -> Result<Outputs> {
        let json = self
            .cmd(sh, &["output", "-json"], Takes::State, &[])
            .read()
            .context("terraform output")?;
        let outputs: BTreeMap<String, Output> =
            serde_json::from_str(&json).context("reading terraform output -json")?;
        let value = |name: &str| {
            outputs
                .get(name)
                .and_then(|output| output.value.as_str())
                .map(str::to_owned)
        };
        Ok(Outputs {
            account_id: value("account_id"),
            region: value("region"),
            url: value("url"),
            gallery_bucket: value("gallery_bucket"),
            task_definition_arn: value("task_definition_arn"),
            auth: value("auth"),
            user_pool_id: value("user_pool_id"),
        })
    }
}

/// What a Terraform command takes besides its own words.
enum Takes<'a> {
    Nothing,
    /// The local state (`-state`), when the stack is local.
    State,
    /// The state, the variables file, the xtask's `-var`s and these extra ones.
    StateAndVars(&'a [&'a str]),
}

#[derive(Deserialize)]
struct Output {
    value: serde_json::Value,
}

/// The outputs the xtask reads; each is missing until an apply has made it.
pub struct Outputs {
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub url: Option<String>,
    pub gallery_bucket: Option<String>,
    /// The task definition the service runs, which the local service runs too.
    pub task_definition_arn: Option<String>,
    /// `cognito`, `oidc` or `none`.
    pub auth: Option<String>,
    /// The Cognito user pool, with `auth = "cognito"`.
    pub user_pool_id: Option<String>,
}

#[cfg(test)]
mod tests {
    /// terraform/README.md names every variable and output the stack declares.
    #[test]
    fn the_readme_names_every_variable_and_output() {
        let dir = crate::project_root().join("terraform");
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
        let readme = read("README.md");
        for (file, kind) in [("variables.tf", "variable"), ("outputs.tf", "output")] {
            let declared = format!("\n{}", read(file));
            for name in declared
                .split(&format!("\n{kind} \""))
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
            {
                assert!(
                    readme.contains(&format!("`{name}`")),
                    "terraform/README.md does not name the {kind} {name}"
                );
            }
        }
    }
}
