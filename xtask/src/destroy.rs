//! `cargo xtask destroy`: removes what deploy created. The gallery bucket holds the users'
//! images, so it is taken out of the Terraform state and kept (and named) unless
//! `--delete-images`. Safe to run twice, and on an account where nothing was deployed.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::{
    flags, image,
    local_aws::{self, LocalAws},
    push,
    steps::Steps,
    terraform::{self, Terraform},
};

impl flags::Destroy {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let what = if self.target.local {
            "the local Easel stack"
        } else {
            "the Easel stack in your AWS account"
        };
        if !self.yes {
            confirm(what, self.delete_images)?;
        }
        let mut steps = Steps::new("destroy");
        let local = push::start_local(&mut steps, sh, self.target.local)?;
        push::check_aws(&mut steps, local.as_ref())?;
        // The tag only has to be valid: destroy removes whatever the state holds.
        let tag = image::git_tag(sh)?;
        let tf = Terraform::new(local.as_ref(), &tag);
        tf.init_step(&mut steps, sh)?;
        let in_state = tf.state_list(sh)?;
        let kept = steps.run(
            if self.delete_images {
                "allow deleting the gallery bucket"
            } else {
                "keep the gallery bucket"
            },
            "read Terraform's error above and run destroy again",
            || gallery(sh, &tf, &in_state, self.delete_images),
        )?;
        steps.run(
            "terraform destroy",
            "read Terraform's error above and run destroy again (it resumes where it stopped)",
            || tf.destroy(sh),
        )?;
        if local.is_some() {
            steps.run(
                "remove the local service",
                "remove the easel-local-* containers with docker rm -f",
                || local_aws::remove_service(sh),
            )?;
            if self.stop_local_aws {
                steps.run(
                    "stop the local AWS",
                    "stop moto_server and docker-registry by hand",
                    || LocalAws::stop(sh),
                )?;
            }
        }
        steps.finish();
        match kept {
            Some(bucket) => println!(
                "Destroyed {what}. The gallery bucket {bucket} was kept with its images; delete it with `cargo xtask destroy --delete-images` after a deploy, or in the S3 console."
            ),
            None => println!("Destroyed {what}."),
        }
        Ok(())
    }
}

/// Takes the gallery out of the state (returns the kept bucket's name), or lets Terraform delete
/// it with its images: `force_destroy` only counts once it is in the state, hence the apply.
fn gallery(
    sh: &Shell,
    tf: &Terraform,
    in_state: &[String],
    delete: bool,
) -> Result<Option<String>> {
    if !in_state.iter().any(|a| a == terraform::GALLERY[0]) {
        println!("No gallery bucket in the state");
        return Ok(None);
    }
    if delete {
        tf.apply(
            sh,
            &[terraform::GALLERY[0]],
            &["delete_images_on_destroy=true"],
        )?;
        return Ok(None);
    }
    let bucket = tf.output(sh, "gallery_bucket")?;
    let present: Vec<&str> = terraform::GALLERY
        .iter()
        .copied()
        .filter(|address| in_state.iter().any(|a| a == address))
        .collect();
    tf.state_rm(sh, &present)?;
    Ok(bucket)
}

/// Asks on the terminal; without one (CI) there is nobody to ask, so --yes is required.
fn confirm(what: &str, delete_images: bool) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "destroy asks for confirmation, but there is no terminal to ask on: pass --yes to destroy {what} without asking"
        );
    }
    let images = if delete_images {
        ", with every image in the gallery bucket"
    } else {
        " (the gallery bucket is kept)"
    };
    print!("Destroy {what}{images}? Type yes to go on: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if answer.trim() != "yes" {
        bail!("destroy cancelled: nothing was changed");
    }
    Ok(())
}
