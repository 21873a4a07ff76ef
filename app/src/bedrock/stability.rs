//! Stability's text-to-image wire format (Stable Image Core and Ultra, SD3.5 Large).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{BedrockError, GeneratedImage, decode_png};
use crate::{
    catalogue::Shape,
    domain::{GenerationRequest, Seed},
};

pub(super) fn body(request: &GenerationRequest, seed: Seed) -> Value {
    let mut body = json!({
        "prompt": request.prompt.as_str(),
        "seed": seed.value(),
        "output_format": "png",
    });
    if let Shape::Aspect(ratio) = request.shape {
        body["aspect_ratio"] = json!(ratio.to_string());
    }
    if let Some(negative) = &request.negative_prompt {
        body["negative_prompt"] = json!(negative.as_str());
    }
    body
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(default)]
    seeds: Vec<u64>,
    #[serde(default)]
    finish_reasons: Vec<Option<String>>,
    /// Borrowed from the answer where it can be: a 4K upscale is tens of megabytes of base64.
    #[serde(default, borrow)]
    images: Vec<Cow<'a, str>>,
}

pub(super) fn decode(answer: &[u8], sent_seed: u64) -> Result<GeneratedImage, BedrockError> {
    let answer: Answer = serde_json::from_slice(answer).map_err(|e| {
        BedrockError::Malformed(format!("the answer was not the expected JSON: {e}"))
    })?;
    // Filtering is not an HTTP error here: it is HTTP 200 with a finish reason.
    match answer.finish_reasons.into_iter().flatten().next() {
        Some(reason) if reason.contains("prompt") => return Err(BedrockError::InputFiltered),
        Some(reason) if reason.contains("input image") => {
            return Err(BedrockError::InputImageFiltered);
        }
        Some(reason) if reason.contains("output image") => {
            return Err(BedrockError::OutputFiltered);
        }
        // "Inference error", or anything new: no picture.
        Some(reason) => return Err(BedrockError::ModelFailed(reason)),
        None => {}
    }
    let b64 = answer
        .images
        .first()
        .ok_or_else(|| BedrockError::Malformed("the answer held no image".into()))?;
    Ok(GeneratedImage {
        png: decode_png(b64)?,
        seed: answer.seeds.first().copied().unwrap_or(sent_seed),
    })
}
