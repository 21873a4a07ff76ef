//! The two Terraform variables the xtask itself must know before Terraform runs: `name` (the
//! ECR repository and the gallery bucket are named after it) and `cpu_architecture` (the image
//! is built for it). They are read from the files Terraform reads, in its order, so the xtask
//! and Terraform never disagree.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::image::Arch;

/// The stack's default name (`variable "name"` in terraform/variables.tf).
const DEFAULT_NAME: &str = "easel";

pub struct Stack {
    pub name: String,
    pub arch: Arch,
    /// The variables file passed with `--var-file`, as an absolute path (Terraform runs in
    /// `terraform/`, where a relative path would point elsewhere).
    pub var_file: Option<PathBuf>,
}

impl Stack {
    /// Reads `terraform/terraform.tfvars`, then `terraform/*.auto.tfvars` in name order, then
    /// `var_file`: a later file wins, as in Terraform.
    pub fn read(sh: &Shell, var_file: Option<&Path>) -> Result<Self> {
        for variable in ["name", "cpu_architecture"] {
            let env = format!("TF_VAR_{variable}");
            if std::env::var_os(&env).is_some() {
                bail!(
                    "{env} is set: put `{variable} = \"...\"` in the variables file instead (--var-file), where the xtask reads it too"
                );
            }
        }
        let dir = sh.current_dir().join("terraform");
        let mut files = vec![dir.join("terraform.tfvars")];
        let mut auto: Vec<PathBuf> = sh
            .read_dir(&dir)?
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".auto.tfvars"))
            .collect();
        auto.sort();
        files.extend(auto);
        let var_file = match var_file {
            Some(file) => {
                // Relative to where the command was typed, as a shell user expects.
                let file = std::env::current_dir()?.join(file);
                anyhow::ensure!(file.is_file(), "no variables file {}", file.display());
                files.push(file.clone());
                Some(file)
            }
            None => None,
        };

        let (mut name, mut arch) = (DEFAULT_NAME.to_owned(), "X86_64".to_owned());
        for file in files.iter().filter(|f| f.is_file()) {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
            if let Some(value) = assigned(&text, "name") {
                name = value;
            }
            if let Some(value) = assigned(&text, "cpu_architecture") {
                arch = value;
            }
        }
        let arch = match arch.as_str() {
            "X86_64" => Arch::X86_64,
            "ARM64" => Arch::Arm64,
            other => bail!("cpu_architecture is {other:?}: it must be X86_64 or ARM64"),
        };
        Ok(Self {
            name,
            arch,
            var_file,
        })
    }
}

/// The string a top-level `key = "value"` line of a `.tfvars` file assigns (the last one wins).
fn assigned(tfvars: &str, key: &str) -> Option<String> {
    tfvars
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once('=')?;
            if left.trim() != key || line.starts_with(char::is_whitespace) {
                return None;
            }
            let value = right.trim().strip_prefix('"')?;
            Some(value[..value.find('"')?].to_owned())
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_string_assignments_are_read() {
        let tfvars = "# a team\nname = \"studio\" # ours\ntags = {\n  name = \"nested\"\n}\n\
                      cpu_architecture=\"ARM64\"\nnamespace = \"x\"\n";
        assert_eq!(assigned(tfvars, "name").as_deref(), Some("studio"));
        assert_eq!(
            assigned(tfvars, "cpu_architecture").as_deref(),
            Some("ARM64")
        );
        assert_eq!(assigned("# name = \"old\"\n", "name"), None);
    }

    /// The example a team copies sets only variables the stack has.
    #[test]
    fn the_team_example_sets_only_known_variables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let variables = std::fs::read_to_string(root.join("terraform/variables.tf")).unwrap();
        let example = std::fs::read_to_string(root.join("terraform/examples/team.tfvars")).unwrap();
        let set: Vec<&str> = example
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '}', ']']) && l.contains('='))
            .filter_map(|l| l.split('=').next().map(str::trim))
            .collect();
        assert!(set.contains(&"name") && set.contains(&"certificate_arn"));
        for variable in set {
            assert!(
                variables.contains(&format!("variable \"{variable}\" {{")),
                "terraform/examples/team.tfvars sets {variable}, which terraform/variables.tf does not declare"
            );
        }
    }
}
