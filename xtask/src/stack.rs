//! The Terraform variables the xtask itself must know before Terraform runs: `name` (the ECR
//! repository and the gallery bucket are named after it), `cpu_architecture` (the image is built
//! for it), `region` (where its own AWS calls go), `bedrock_region` (where the models'
//! agreements are checked), `allowed_account_ids` (checked before anything changes) and `auth`
//! (deploy asks before it makes a studio without sign-in). They are
//! read from the files Terraform reads, in its order, so the xtask and Terraform never disagree.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::{agreements::DEFAULT_BEDROCK_REGION, image::Arch};

/// The stack's default name (`variable "name"` in terraform/variables.tf).
const DEFAULT_NAME: &str = "easel";

/// The variables read here, which a `TF_VAR_` would hide from the xtask.
const READ: [&str; 6] = [
    "name",
    "cpu_architecture",
    "region",
    "bedrock_region",
    "allowed_account_ids",
    "auth",
];

/// How people sign in to the deployed studio (`variable "auth"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Cognito,
    Oidc,
    /// No sign-in: open to everyone who can reach it.
    None,
}

pub struct Stack {
    pub name: String,
    pub arch: Arch,
    /// Where the stack is deployed; `None` leaves it to the AWS SDK (AWS_REGION, the profile).
    pub region: Option<String>,
    /// Where the deployed Easel calls Bedrock.
    pub bedrock_region: String,
    /// The accounts the stack may be deployed to; `None` allows any.
    pub allowed_account_ids: Option<Vec<String>>,
    pub auth: Auth,
    /// The variables file passed with `--var-file`, as an absolute path (Terraform runs in
    /// `terraform/`, where a relative path would point elsewhere).
    pub var_file: Option<PathBuf>,
}

impl Stack {
    /// Reads `terraform/terraform.tfvars`, then `terraform/*.auto.tfvars` in name order, then
    /// `var_file`: a later file wins, as in Terraform.
    pub fn read(sh: &Shell, var_file: Option<&Path>) -> Result<Self> {
        for variable in READ {
            let env = format!("TF_VAR_{variable}");
            if std::env::var_os(&env).is_some() {
                bail!(
                    "{env} is set: put `{variable} = ...` in the variables file instead (--var-file), where the xtask reads it too"
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

        let texts = files
            .iter()
            .filter(|f| f.is_file())
            .map(|f| std::fs::read_to_string(f).with_context(|| format!("{}", f.display())))
            .collect::<Result<Vec<_>>>()?;
        // The last file that sets a variable decides it; `null` there means the default.
        let last = |key| texts.iter().rev().find_map(|text| assigned(text, key));
        let string = |key| last(key).and_then(string);
        let arch = match string("cpu_architecture").as_deref().unwrap_or("X86_64") {
            "X86_64" => Arch::X86_64,
            "ARM64" => Arch::Arm64,
            other => bail!("cpu_architecture is {other:?}: it must be X86_64 or ARM64"),
        };
        let auth = match string("auth").as_deref().unwrap_or("cognito") {
            "cognito" => Auth::Cognito,
            "oidc" => Auth::Oidc,
            "none" => Auth::None,
            other => bail!("auth is {other:?}: it must be \"cognito\", \"oidc\" or \"none\""),
        };
        Ok(Self {
            name: string("name").unwrap_or_else(|| DEFAULT_NAME.to_owned()),
            arch,
            region: string("region"),
            bedrock_region: string("bedrock_region")
                .unwrap_or_else(|| DEFAULT_BEDROCK_REGION.to_owned()),
            allowed_account_ids: last("allowed_account_ids").and_then(strings),
            auth,
            var_file,
        })
    }
}

/// The text after the `=` of the last top-level `key = value` of a `.tfvars` file, to its end
/// (a list may span lines).
fn assigned<'a>(tfvars: &'a str, key: &str) -> Option<&'a str> {
    let mut found = None;
    let mut start = 0;
    for line in tfvars.split_inclusive('\n') {
        if let Some((left, _)) = line.split_once('=')
            && left.trim() == key
            && !line.starts_with(char::is_whitespace)
        {
            found = Some(tfvars[start + left.len() + 1..].trim_start());
        }
        start += line.len();
    }
    found
}

/// A quoted string value.
fn string(value: &str) -> Option<String> {
    let value = value.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// A list of quoted strings, `["a", "b"]`.
fn strings(value: &str) -> Option<Vec<String>> {
    let list = value.strip_prefix('[')?;
    let list = &list[..list.find(']')?];
    Some(
        list.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_assignments_are_read() {
        let tfvars = "# a team\nname = \"studio\" # ours\ntags = {\n  name = \"nested\"\n}\n\
                      cpu_architecture=\"ARM64\"\nnamespace = \"x\"\n\
                      allowed_account_ids = [\n  \"111122223333\", # prod\n  \"444455556666\",\n]\n";
        let string_of = |key| assigned(tfvars, key).and_then(string);
        assert_eq!(string_of("name").as_deref(), Some("studio"));
        assert_eq!(string_of("cpu_architecture").as_deref(), Some("ARM64"));
        assert_eq!(
            assigned(tfvars, "allowed_account_ids").and_then(strings),
            Some(vec!["111122223333".to_owned(), "444455556666".to_owned()])
        );
        assert_eq!(assigned("# name = \"old\"\n", "name"), None);
        assert_eq!(assigned("region = null\n", "region").and_then(string), None);
    }

    /// The defaults assumed here are terraform/variables.tf's.
    #[test]
    fn the_defaults_are_terraforms() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let variables = std::fs::read_to_string(root.join("terraform/variables.tf")).unwrap();
        for (variable, default) in [
            ("name", DEFAULT_NAME),
            ("cpu_architecture", "X86_64"),
            ("bedrock_region", DEFAULT_BEDROCK_REGION),
            ("auth", "cognito"),
        ] {
            let block = variables
                .split(&format!("variable \"{variable}\" {{"))
                .nth(1)
                .and_then(|rest| rest.split("\n}").next())
                .unwrap_or_else(|| panic!("terraform/variables.tf declares {variable}"));
            let declared = block
                .lines()
                .find_map(|line| line.trim().strip_prefix("default"))
                .map(|value| value.trim_start_matches([' ', '=']));
            assert_eq!(
                declared,
                Some(format!("\"{default}\"").as_str()),
                "{variable}"
            );
        }
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
