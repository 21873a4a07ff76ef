//! "Copy as API": the `curl` command and the Python `openai` call that make a generated picture
//! again through Easel's OpenAI-compatible `/v1/images/generations`, written from its recipe.
//! Both are meant to be pasted into a shell or a script unchanged, whatever the prompt holds.

use serde_json::{Map, Value, json};

use crate::studio::{Origin, Recipe};

pub struct ApiCommands {
    pub curl: String,
    pub python: String,
}

impl ApiCommands {
    /// The commands for a picture a model made; an upload or an edit has none.
    pub fn for_recipe(recipe: &Recipe, origin: &str) -> Option<Self> {
        if !matches!(recipe.origin, Origin::Generated) {
            return None;
        }
        let (standard, extra) = fields(recipe);
        let mut body = standard.clone();
        body.extend(extra.clone());
        let body = serde_json::to_string_pretty(&Value::Object(body)).ok()?;
        let curl = format!(
            "curl {url} \\\n  -H \"Authorization: Bearer $EASEL_TOKEN\" \\\n  -H 'Content-Type: application/json' \\\n  -d {body}",
            url = single_quoted(&format!("{origin}/v1/images/generations")),
            body = single_quoted(&body),
        );
        let mut python = format!(
            "import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url={base}, api_key=os.environ[\"EASEL_TOKEN\"])\nresult = client.images.generate(\n",
            base = Value::from(format!("{origin}/v1")),
        );
        for (name, value) in &standard {
            python.push_str(&format!("    {name}={value},\n"));
        }
        if !extra.is_empty() {
            // Numbers and strings only, so the JSON object is also a Python dict.
            python.push_str(&format!("    extra_body={},\n", Value::Object(extra)));
        }
        python.push(')');
        Some(Self { curl, python })
    }
}

/// The fields OpenAI's client names, and Easel's own settings beside them.
fn fields(recipe: &Recipe) -> (Map<String, Value>, Map<String, Value>) {
    let mut standard = Map::new();
    standard.insert("model".into(), json!(recipe.model_id));
    standard.insert("prompt".into(), json!(recipe.prompt));
    standard.insert("n".into(), json!(1));
    let mut extra = Map::new();
    // A model that takes pixel sizes has `WxH`, as OpenAI's `size`; the others an aspect ratio.
    if recipe.size.contains('x') {
        standard.insert("size".into(), json!(recipe.size));
    } else {
        extra.insert("aspect_ratio".into(), json!(recipe.size));
    }
    extra.insert("seed".into(), json!(recipe.seed));
    if let Some(negative) = &recipe.negative_prompt {
        extra.insert("negative_prompt".into(), json!(negative));
    }
    if let Some(cfg) = recipe.cfg_scale {
        extra.insert("cfg_scale".into(), json!(cfg));
    }
    if let Some(quality) = &recipe.quality {
        standard.insert("quality".into(), json!(quality));
    }
    (standard, extra)
}

/// `text` as one shell word: inside single quotes nothing is special but the quote itself,
/// which closes the quotes, adds an escaped quote and opens them again.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(prompt: &str, size: &str) -> Recipe {
        Recipe {
            model_id: "stability.sd3-5-large-v1:0".into(),
            model_name: "SD3.5 Large".into(),
            prompt: prompt.into(),
            negative_prompt: Some("blurry, \"low\" quality".into()),
            size: size.into(),
            cfg_scale: Some(6.5),
            quality: None,
            seed: 4_294_967_295,
            price_usd: 0.08,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            origin: Origin::Generated,
        }
    }

    /// The arguments bash hands `curl` when the command is pasted, with a stand-in `curl`.
    fn arguments_bash_gives(command: &str) -> Vec<String> {
        let script = format!(
            "curl() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\nEASEL_TOKEN=tok_123\n{command}\n"
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .split_terminator('\0')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_curl_command_survives_bash_and_carries_the_recipe() {
        let prompt = "a fox's \"den\"\n$HOME `rm -rf /` $(date) \\ 'quoted' 日本";
        let commands =
            ApiCommands::for_recipe(&recipe(prompt, "1024x1024"), "https://easel.example").unwrap();
        let args = arguments_bash_gives(&commands.curl);
        assert_eq!(args[0], "https://easel.example/v1/images/generations");
        assert!(args.contains(&"Authorization: Bearer tok_123".to_owned()));
        let body = &args[args.iter().position(|a| a == "-d").unwrap() + 1];
        let body: Value = serde_json::from_str(body).expect("the body is JSON");
        assert_eq!(body["model"], "stability.sd3-5-large-v1:0");
        assert_eq!(body["prompt"], prompt);
        assert_eq!(body["seed"], 4_294_967_295_u64);
        assert_eq!(body["size"], "1024x1024");
        assert_eq!(body["negative_prompt"], "blurry, \"low\" quality");
        assert_eq!(body["cfg_scale"], 6.5);
    }

    #[test]
    fn an_aspect_ratio_and_the_settings_go_in_extra_body_for_python() {
        let commands = ApiCommands::for_recipe(
            &recipe("a \"fox\"\nin snow", "16:9"),
            "http://localhost:3000",
        )
        .unwrap();
        let python = &commands.python;
        assert!(python.contains("base_url=\"http://localhost:3000/v1\""));
        assert!(python.contains("prompt=\"a \\\"fox\\\"\\nin snow\","));
        assert!(python.contains("\"aspect_ratio\":\"16:9\""));
        assert!(python.contains("\"seed\":4294967295"));
        assert!(!python.contains("size="));
    }

    #[test]
    fn an_upload_has_no_command() {
        let mut uploaded = recipe("", "640x480");
        uploaded.origin = Origin::Uploaded;
        assert!(ApiCommands::for_recipe(&uploaded, "http://x").is_none());
    }
}
