//! `cargo xtask destroy`: removes what deploy created. The gallery bucket holds the users'
//! images, so it is taken out of the Terraform state and kept (and named) unless
//! `--delete-images`, which also deletes a bucket an earlier destroy kept. Safe to run twice,
//! and on an account where nothing was deployed. It refuses, changing nothing, when its state
//! is empty but the account holds the stack's resources (another machine's or CI's state), or
//! when the credentials are for another account or region than the state's.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use xshell::Shell;

use crate::{
    aws::Aws,
    flags,
    lifecycle::Lifecycle,
    local_aws::{self, LocalAws},
    terminal,
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
        // The tag only has to be valid: destroy removes whatever the state holds.
        let Lifecycle {
            stack,
            mut steps,
            local,
            aws,
            tf,
            ..
        } = Lifecycle::open(sh, "destroy", &self.target, None)?;
        let mut in_state = tf.state_list(sh)?;
        if in_state.iter().all(|address| address.starts_with("data.")) {
            let bucket = steps.run(
                "look for the stack's resources outside the state",
                "destroy from the state the stack was deployed with: the same backend (terraform/README.md, State), --var-file and --local folder",
                || unmanaged(&aws, &stack.name),
            )?;
            if self.delete_images {
                steps.run(
                    "adopt the kept gallery bucket",
                    "read Terraform's error above and run destroy again",
                    || tf.adopt_gallery(sh, &bucket),
                )?;
                in_state = tf.state_list(sh)?;
            }
        }
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
                "Destroyed {what}. The gallery bucket {bucket} was kept with its images; the next deploy adopts it, and `cargo xtask destroy --delete-images` deletes it."
            ),
            None => println!("Destroyed {what}."),
        }
        Ok(())
    }
}

/// With nothing in the state: fails, naming them, when the account holds resources tagged with
/// the stack's name other than a kept gallery bucket. Returns that bucket's name.
fn unmanaged(aws: &Aws, name: &str) -> Result<String> {
    let bucket = aws.gallery_bucket(name)?;
    let kept = format!("arn:aws:s3:::{bucket}");
    let others: Vec<String> = aws
        .stack_resources(name)?
        .into_iter()
        .filter(|arn| *arn != kept)
        .collect();
    if !others.is_empty() {
        bail!(
            "the Terraform state is empty, but {} resources tagged Stack={name} exist in region {}, for example:\n  {}\nThis is not the state they were deployed with, so destroy would remove nothing: nothing was changed",
            others.len(),
            aws.region(),
            others
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    println!("Nothing of the stack {name} outside the state (a kept gallery bucket aside)");
    Ok(bucket)
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
    let bucket = tf.outputs(sh)?.gallery_bucket;
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
    let answer = terminal::ask(&format!("Destroy {what}{images}? Type yes to go on:"))?;
    if answer != "yes" {
        bail!("destroy cancelled: nothing was changed");
    }
    Ok(())
}
