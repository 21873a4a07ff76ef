//! The Titan family's text-to-image wire format (Titan v1, Titan v2, Nova Canvas).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{BedrockError, GeneratedImage, Generation, decode_png};
use crate::{catalogue::Shape, domain::GenerationRequest};

pub(super) fn body(request: &GenerationRequest) -> Value {
    let mut params = json!({ "text": request.prompt.as_str() });
    if let Some(negative) = &request.negative_prompt {
        params["negativeText"] = json!(negative.as_str());
    }
    let mut config = json!({
        "numberOfImages": request.count.get(),
        "seed": request.seed.value(),
    });
    if let Shape::Size(size) = request.shape {
        config["width"] = json!(size.width);
        config["height"] = json!(size.height);
    }
    if let Some(cfg) = request.cfg_scale {
        config["cfgScale"] = json!(cfg);
    }
    if let Some(quality) = request.quality {
        config["quality"] = json!(quality.as_str());
    }
    json!({
        "taskType": "TEXT_IMAGE",
        "textToImageParams": params,
        "imageGenerationConfig": config,
    })
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

pub(super) fn decode(answer: &[u8], seed: u64) -> Result<Generation, BedrockError> {
    let answer: Answer = serde_json::from_slice(answer).map_err(|e| {
        BedrockError::Malformed(format!("the answer was not the expected JSON: {e}"))
    })?;
    let images = answer
        .images
        .iter()
        .map(|b64| decode_png(b64).map(|png| GeneratedImage { png, seed }))
        .collect::<Result<Vec<_>, _>>()?;
    // Nova reports filtered output in `error` with HTTP 200; an empty string means no error.
    let failures = match answer.error.filter(|e| !e.trim().is_empty()) {
        Some(e) if e.contains("content filters") => vec![BedrockError::OutputFiltered],
        Some(e) => vec![BedrockError::ModelFailed(e)],
        None if images.is_empty() => {
            vec![BedrockError::Malformed("the answer held no images".into())]
        }
        None => Vec::new(),
    };
    Ok(Generation { images, failures })
}
