//! `cargo xtask plan`: what `deploy` would change, for the image of this commit.

use anyhow::Result;
use xshell::Shell;

use crate::{flags, image, push, stack::Stack, steps::Steps, terraform::Terraform};

impl flags::Plan {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let stack = Stack::read(sh, self.target.var_file.as_deref())?;
        let mut steps = Steps::new("plan");
        let local = push::start_local(&mut steps, sh, self.target.local)?;
        let ecr = push::check_aws(&mut steps, local.as_ref(), &stack)?;
        let tag = image::tag_or_commit(sh, self.tag.as_deref(), stack.arch)?;
        let tf = Terraform::new(local.as_ref(), &stack, &tag);
        push::account_steps(&mut steps, sh, &tf, &ecr, &stack)?;
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
