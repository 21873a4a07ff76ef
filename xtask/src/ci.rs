//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::flags;

/// One named check: a program and its arguments, run from the workspace root.
struct Step {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
}

/// The checks, in the order they run.
///
/// Extension point: infrastructure checks join this list as they are built (terraform fmt and
/// validate, checkov, actionlint, the container image build, the local deploy/destroy lifecycle).
fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "format",
            program: "cargo",
            args: &["fmt", "--all", "--", "--check"],
        },
        Step {
            name: "lint",
            program: "cargo",
            args: &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        },
        // Some tests start the real binaries (`easel`, `bedrock-double`), which `cargo test`
        // alone does not build.
        Step {
            name: "build",
            program: "cargo",
            args: &["build", "--workspace", "--bins"],
        },
        Step {
            name: "test",
            program: "cargo",
            args: &["test", "--workspace"],
        },
    ]
}

impl flags::Ci {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let started = Instant::now();
        for step in steps() {
            println!(
                "==> {}: {} {}",
                step.name,
                step.program,
                step.args.join(" ")
            );
            let timer = Instant::now();
            let (program, args) = (step.program, step.args);
            cmd!(sh, "{program} {args...}")
                .quiet()
                .run()
                .with_context(|| {
                    format!("CI step `{}` failed (see its output above)", step.name)
                })?;
            println!(
                "==> {}: passed in {:.1} s",
                step.name,
                timer.elapsed().as_secs_f64()
            );
        }
        println!(
            "==> all CI steps passed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
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
