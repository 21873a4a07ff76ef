//! Stability's Image Services and SD3.5 Large's image-to-image: one flat snake_case body per
//! edit, pictures as base64, one picture back in Stability's text-to-image answer.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Map, Value, json};

use crate::domain::{EditRequest, Operation, Setting};

pub(super) fn body(request: &EditRequest) -> Value {
    let operation = request.operation();
    let mut body = Map::new();
    let mut put = |name: &str, value: Value| body.insert(name.to_owned(), value);
    let picture = |png: &[u8]| Value::String(BASE64.encode(png));
    match operation {
        // Style Transfer names its two pictures; it has no `image`.
        Operation::StyleTransfer { style, .. } => {
            put("init_image", picture(request.source().png()));
            put("style_image", picture(style.png()));
        }
        _ => {
            put("image", picture(request.source().png()));
        }
    }
    if let Some(mask) = operation.mask() {
        put("mask", picture(&mask.png()));
    }
    // SD3.5 Large makes pictures from text unless told otherwise.
    if let Operation::ImageToImage { .. } = operation {
        put("mode", json!("image-to-image"));
    }
    if let Some((prompt, negative_prompt)) = operation.prompts() {
        if let Some(prompt) = prompt {
            put("prompt", json!(prompt.as_str()));
        }
        if let Some(negative_prompt) = negative_prompt {
            put("negative_prompt", json!(negative_prompt.as_str()));
        }
    }
    for (param, setting) in operation.settings() {
        let value = match setting {
            Setting::Whole(n) => json!(n),
            Setting::Number(n) => json!(n),
            Setting::Text(text) => json!(text),
        };
        put(param.name(), value);
    }
    if let Some(seed) = operation.seed() {
        put("seed", json!(seed.value()));
    }
    // PNG keeps what Remove Background cuts away, and is what the gallery stores.
    put("output_format", json!("png"));
    Value::Object(body)
}
