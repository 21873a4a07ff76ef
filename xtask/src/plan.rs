//! `cargo xtask plan`: what `deploy` would change, for the image of this commit.

use anyhow::Result;
use xshell::Shell;

use crate::{catalogue, flags, lifecycle::Lifecycle};

impl flags::Plan {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // The task role's grants come from the generated file: a stale one would make a role
        // that cannot call what the image offers.
        catalogue::check(sh)?;
        let Lifecycle { mut steps, tf, .. } =
            Lifecycle::open(sh, "plan", &self.target, self.tag.as_deref())?;
        let changes = steps.run("terraform plan", "read Terraform's error above", || {
            tf.plan(sh)
        })?;
        steps.finish();
        println!(
            "{}",
            if changes {
                "deploy would change the stack as shown above"
            } else {
                "deploy would change nothing"
            }
        );
        Ok(())
    }
}
