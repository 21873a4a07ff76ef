//! The command line of `cargo xtask`.

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Easel's lifecycle tool")]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run Easel offline against the Bedrock double (no AWS account needed).
    Dev(Dev),
    /// Run Easel against real AWS (release build; arguments go to `easel`).
    Run(Run),
    /// Measure page weight, server overhead and memory against the design's targets.
    Bench(Bench),
    /// Run every check CI runs, in order, stopping at the first failure.
    Ci(Ci),
    /// Write terraform/catalogue.tf.json from app/models.toml and app/operations.toml.
    Codegen(Codegen),
    /// Build the app image and the Bedrock double's image, tagged with the git commit.
    Image(Image),
    /// Make sure the ECR repository exists and push the image to it.
    Push(Push),
    /// Show what `deploy` would change in the Terraform stack.
    Plan(Plan),
    /// Build, push, apply Terraform, wait for the service and smoke-test it.
    Deploy(Deploy),
    /// Check a running Easel: health, the page, the generate form (no Bedrock call unless --generate).
    Smoke(Smoke),
    /// Remove what deploy created (the gallery bucket is kept unless --delete-images).
    Destroy(Destroy),
    /// Add, list or remove the people who may sign in (the stack's Cognito user pool).
    Users(Users),
}

#[derive(Args)]
pub struct Dev {
    /// Make every model live in the double, the retired Titan family too.
    #[arg(long)]
    pub all_live: bool,
    /// Port for Easel on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

#[derive(Args)]
pub struct Run {
    /// Passed to `easel` as they are, e.g. `-- --listen 127.0.0.1:9000`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args)]
pub struct Bench {
    /// Exit with an error when a target is missed.
    #[arg(long)]
    pub check: bool,
    /// Timed generations (and as many direct calls to the double).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(100..=10_000))]
    pub generations: u32,
    /// Also time this app image's container start (needs a Docker engine), e.g. the `easel:TAG`
    /// that `cargo xtask image` prints.
    #[arg(long)]
    pub image: Option<String>,
    /// Measure only this (the whole bench takes many minutes).
    #[arg(long, value_enum)]
    pub only: Option<BenchPart>,
}

/// A part of the bench that runs on its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum BenchPart {
    /// A signed-in page view against an anonymous one.
    SignIn,
}

#[derive(Args)]
pub struct Ci {}

#[derive(Args)]
pub struct Codegen {}

#[derive(Args)]
pub struct Image {
    /// Tag for both images (default: the git commit, `-dirty-<tree>` when uncommitted, and
    /// `-arm64` for arm64).
    #[arg(long)]
    pub tag: Option<String>,
    /// CPU architecture of the images (the stack's cpu_architecture).
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: crate::image::Arch,
}

/// What the lifecycle commands aim at: AWS (the default chain) or a local AWS, and with which
/// Terraform variables.
#[derive(Args, Clone)]
pub struct Target {
    /// Use a local AWS instead of an account: moto server, a local registry and the local
    /// Docker engine running the service against the Bedrock double.
    #[arg(long, global = true)]
    pub local: bool,
    /// Terraform variables file (e.g. terraform/team.tfvars, relative to where you type the
    /// command), passed to every Terraform command after terraform/terraform.tfvars and
    /// terraform/*.auto.tfvars. The xtask reads `name`, `cpu_architecture`, `region`,
    /// `bedrock_region`, `allowed_account_ids` and `auth` from these files too, the last one winning,
    /// and refuses them as TF_VAR_ variables.
    #[arg(long, value_name = "FILE", global = true)]
    pub var_file: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct Push {
    #[command(flatten)]
    pub target: Target,
    /// Image tag to push (default: the git commit); built first when missing.
    #[arg(long)]
    pub tag: Option<String>,
}

#[derive(Args)]
pub struct Plan {
    #[command(flatten)]
    pub target: Target,
    /// Image tag to plan with (default: the git commit).
    #[arg(long)]
    pub tag: Option<String>,
}

#[derive(Args)]
pub struct Deploy {
    #[command(flatten)]
    pub target: Target,
    /// Deploy the image with this tag: used as it is when it exists locally (default: build the
    /// git commit).
    #[arg(long)]
    pub tag: Option<String>,
    /// Never ask: a model's missing AWS Marketplace agreement then stops the deploy, unless
    /// --accept-model-agreements accepts it.
    #[arg(long)]
    pub yes: bool,
    /// Accept the AWS Marketplace offer of every configured model this AWS account is not
    /// subscribed to (without it, deploy asks at a terminal, else stops).
    #[arg(long)]
    pub accept_model_agreements: bool,
    /// Deploy a stack with `auth = "none"` without asking: the studio is then open to everyone
    /// who can reach it.
    #[arg(long)]
    pub open_to_everyone: bool,
}

#[derive(Args)]
pub struct Smoke {
    /// Base URL of the Easel to check, e.g. http://easel-123.us-east-1.elb.amazonaws.com
    #[arg(long)]
    pub url: String,
    /// Also generate one image with the default model (costs money on a real Bedrock).
    #[arg(long)]
    pub generate: bool,
}

#[derive(Args)]
pub struct Users {
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a person by e-mail address: Cognito mails them a first password.
    Add(OnePerson),
    /// List the people with their status (e.g. FORCE_CHANGE_PASSWORD until the first sign-in).
    List(AllPeople),
    /// Remove a person: they can no longer sign in.
    Remove(OnePerson),
}

#[derive(Args)]
pub struct OnePerson {
    /// The person's e-mail address, their user name.
    pub email: crate::users::Email,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct AllPeople {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Destroy {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Delete the gallery bucket with every image in it (kept by default).
    #[arg(long)]
    pub delete_images: bool,
    /// With --local: also stop moto server and the local registry (their contents are lost).
    #[arg(long, requires = "local")]
    pub stop_local_aws: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Xtask::command().debug_assert();
    }

    /// The docs that show `cargo xtask` commands: the README, CONTRIBUTING.md and every page
    /// of docs/.
    fn operator_docs() -> String {
        let root = crate::project_root();
        let mut docs = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
        docs.extend(
            std::fs::read_dir(root.join("docs"))
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|e| e == "md")),
        );
        docs.iter()
            .map(|doc| std::fs::read_to_string(doc).unwrap())
            .collect()
    }

    /// Each flag of each command is documented.
    #[test]
    fn every_flag_is_documented() {
        use clap::CommandFactory;
        let docs = operator_docs();
        for command in Xtask::command().get_subcommands() {
            for long in command.get_arguments().filter_map(|a| a.get_long()) {
                assert!(
                    docs.contains(&format!("--{long}")),
                    "`cargo xtask {} --{long}` is documented nowhere",
                    command.get_name()
                );
            }
        }
    }

    /// Each `cargo xtask COMMAND --flag` the docs show is a flag of that command.
    #[test]
    fn every_documented_flag_exists() {
        use clap::CommandFactory;
        let xtask = Xtask::command();
        let docs = operator_docs();
        for shown in docs.split("cargo xtask ").skip(1) {
            // The command line ends where its code span or shell comment does.
            let line = shown.split(['`', '#', '\n']).next().unwrap();
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default();
            let Some(mut command) = xtask.find_subcommand(name) else {
                panic!("the docs show `cargo xtask {name}`, which is no command");
            };
            if name == "run" {
                continue; // its flags are easel's
            }
            // `cargo xtask users add ...`: the flags are the subcommand's.
            let mut words = words.peekable();
            if let Some(sub) = words.peek().and_then(|w| command.find_subcommand(w)) {
                command = sub;
                words.next();
            }
            for word in words.filter(|w| w.starts_with("[--") || w.starts_with("--")) {
                let long = word
                    .trim_matches(['[', ']', ',', '.', ')'])
                    .trim_start_matches('-');
                assert!(
                    command.get_arguments().any(|a| a.get_long() == Some(long)),
                    "the docs show `cargo xtask {name} --{long}`, which {name} does not take"
                );
            }
        }
    }

    #[test]
    fn run_passes_flags_through() {
        let flags = Xtask::parse_from(["xtask", "run", "--listen", "127.0.0.1:9000"]);
        let Command::Run(run) = flags.command else {
            panic!("not run")
        };
        assert_eq!(run.args, ["--listen", "127.0.0.1:9000"]);
    }

    #[test]
    fn destroy_stops_the_local_aws_only_with_local() {
        assert!(Xtask::try_parse_from(["xtask", "destroy", "--stop-local-aws"]).is_err());
        assert!(Xtask::try_parse_from(["xtask", "destroy", "--local", "--stop-local-aws"]).is_ok());
    }
}
