//! The Titan family body: Titan Image Generator v1 and v2, Nova Canvas.
//!
//! Only `TEXT_IMAGE` is answered; the other task types are refused with a message that says
//! so. Requests are checked field by field like the real schema, first violation wins.

use std::sync::Arc;

use serde_json::Value;

use super::models::TitanVariant;
use super::schema::{self, Refusal, Violation, child};

/// The 25 output sizes Titan v1 and v2 accept (width, height).
pub(crate) const TITAN_SIZES: [(u32, u32); 25] = [
    (1024, 1024),
    (768, 768),
    (512, 512),
    (768, 1152),
    (384, 576),
    (1152, 768),
    (576, 384),
    (768, 1280),
    (384, 640),
    (1280, 768),
    (640, 384),
    (896, 1152),
    (448, 576),
    (1152, 896),
    (576, 448),
    (768, 1408),
    (384, 704),
    (1408, 768),
    (704, 384),
    (640, 1408),
    (320, 704),
    (1408, 640),
    (704, 320),
    (1152, 640),
    (1173, 640),
];

const TASK_TYPES: &[&str] = &[
    "TEXT_IMAGE",
    "INPAINTING",
    "OUTPAINTING",
    "IMAGE_VARIATION",
    "COLOR_GUIDED_GENERATION",
    "BACKGROUND_REMOVAL",
    "VIRTUAL_TRY_ON",
];

const NOVA_STYLES: &[&str] = &[
    "3D_ANIMATED_FAMILY_FILM",
    "DESIGN_SKETCH",
    "FLAT_VECTOR_ILLUSTRATION",
    "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM",
    "MIDCENTURY_RETRO",
    "PHOTOREALISM",
    "SOFT_DIGITAL_PAINTING",
];

const CONFIG_KEYS: &[&str] = &[
    "numberOfImages",
    "quality",
    "cfgScale",
    "seed",
    "width",
    "height",
];

/// The highest seed either model takes.
const MAX_SEED: i64 = 2_147_483_646;

/// The input filter's answer (400 ValidationException).
pub(crate) fn prompt_blocked_message(variant: TitanVariant) -> &'static str {
    match variant {
        TitanVariant::V1 | TitanVariant::V2 => {
            "This request has been blocked by our content filters. Our filters automatically flagged this prompt because it may conflict our AUP or AWS Responsible AI Policy. Please adjust your text prompt to submit a new request."
        }
        TitanVariant::NovaCanvas => {
            "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."
        }
    }
}

/// The output filter's answer: HTTP 200 with no images.
pub(crate) fn output_blocked_body() -> Vec<u8> {
    br#"{"images":[],"error":"All of the generated images have been blocked by our content filters."}"#
        .to_vec()
}

/// A text-to-image request that passed the checks, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextToImage {
    pub(crate) number_of_images: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) seed: u64,
}

pub(crate) fn parse(variant: TitanVariant, body: &Value) -> Result<TextToImage, Refusal> {
    let root = schema::object(body, "#")?;
    let task_type = schema::required(root, "#", "taskType")?;
    let task_type = schema::one_of(task_type, "#/taskType", task_types(variant))?;
    if task_type != "TEXT_IMAGE" {
        return Err(Refusal::not_imitated("#/taskType", task_type));
    }
    schema::only_keys(
        root,
        "#",
        &["taskType", "textToImageParams", "imageGenerationConfig"],
    )?;

    let params_pointer = "#/textToImageParams";
    let params = schema::required(root, "#", "textToImageParams")?;
    let params = schema::object(params, params_pointer)?;
    schema::only_keys(params, params_pointer, params_keys(variant))?;
    let max_text = match variant {
        TitanVariant::V1 | TitanVariant::V2 => 512,
        TitanVariant::NovaCanvas => 1024,
    };
    let text = schema::required(params, params_pointer, "text")?;
    schema::text(text, &child(params_pointer, "text"), 1, max_text)?;
    if let Some(negative) = params.get("negativeText") {
        schema::text(
            negative,
            &child(params_pointer, "negativeText"),
            1,
            max_text,
        )?;
    }
    if let Some(image) = params.get("conditionImage") {
        schema::string(image, &child(params_pointer, "conditionImage"))?;
    }
    if let Some(mode) = params.get("controlMode") {
        schema::one_of(
            mode,
            &child(params_pointer, "controlMode"),
            &["CANNY_EDGE", "SEGMENTATION"],
        )?;
    }
    if let Some(strength) = params.get("controlStrength") {
        schema::number(
            strength,
            &child(params_pointer, "controlStrength"),
            0.0,
            1.0,
        )?;
    }
    if let Some(style) = params.get("style") {
        schema::one_of(style, &child(params_pointer, "style"), NOVA_STYLES)?;
    }

    let (default_seed, default_size) = match variant {
        TitanVariant::V1 | TitanVariant::V2 => (42, (1024, 1024)),
        TitanVariant::NovaCanvas => (12, (1024, 1024)),
    };
    let mut request = TextToImage {
        number_of_images: 1,
        width: default_size.0,
        height: default_size.1,
        seed: default_seed,
    };
    let config_pointer = "#/imageGenerationConfig";
    let Some(config) = root.get("imageGenerationConfig") else {
        return Ok(request);
    };
    let config = schema::object(config, config_pointer)?;
    schema::only_keys(config, config_pointer, CONFIG_KEYS)?;
    if let Some(count) = config.get("numberOfImages") {
        request.number_of_images =
            schema::integer(count, &child(config_pointer, "numberOfImages"), 1, 5)? as u32;
    }
    if let Some(quality) = config.get("quality") {
        schema::one_of(
            quality,
            &child(config_pointer, "quality"),
            &["standard", "premium"],
        )?;
    }
    if let Some(cfg_scale) = config.get("cfgScale") {
        schema::number(cfg_scale, &child(config_pointer, "cfgScale"), 1.1, 10.0)?;
    }
    if let Some(seed) = config.get("seed") {
        request.seed = schema::integer(seed, &child(config_pointer, "seed"), 0, MAX_SEED)? as u64;
    }
    let (min_side, max_side) = match variant {
        TitanVariant::V1 | TitanVariant::V2 => (320, 1408),
        TitanVariant::NovaCanvas => (320, 4096),
    };
    if let Some(width) = config.get("width") {
        request.width =
            schema::integer(width, &child(config_pointer, "width"), min_side, max_side)? as u32;
    }
    if let Some(height) = config.get("height") {
        request.height =
            schema::integer(height, &child(config_pointer, "height"), min_side, max_side)? as u32;
    }
    match variant {
        TitanVariant::V1 | TitanVariant::V2 => check_titan_size(&request)?,
        TitanVariant::NovaCanvas => check_nova_size(&request)?,
    }
    Ok(request)
}

fn task_types(variant: TitanVariant) -> &'static [&'static str] {
    match variant {
        TitanVariant::V1 => &TASK_TYPES[..4],
        TitanVariant::V2 => &TASK_TYPES[..6],
        TitanVariant::NovaCanvas => TASK_TYPES,
    }
}

fn params_keys(variant: TitanVariant) -> &'static [&'static str] {
    const KEYS: &[&str] = &[
        "text",
        "negativeText",
        "conditionImage",
        "controlMode",
        "controlStrength",
        "style",
    ];
    match variant {
        TitanVariant::V1 => &KEYS[..2],
        TitanVariant::V2 => &KEYS[..5],
        TitanVariant::NovaCanvas => KEYS,
    }
}

fn check_titan_size(request: &TextToImage) -> Result<(), Violation> {
    let size = (request.width, request.height);
    if TITAN_SIZES.contains(&size) {
        Ok(())
    } else {
        Err(format!(
            "#/imageGenerationConfig: {}x{} is not a supported width x height",
            size.0, size.1
        ))
    }
}

fn check_nova_size(request: &TextToImage) -> Result<(), Violation> {
    let pointer = "#/imageGenerationConfig";
    for (name, side) in [("width", request.width), ("height", request.height)] {
        if side % 16 != 0 {
            return Err(format!("{pointer}/{name}: {side} is not a multiple of 16"));
        }
    }
    let (width, height) = (u64::from(request.width), u64::from(request.height));
    if width > 4 * height || height > 4 * width {
        return Err(format!(
            "{pointer}: the aspect ratio of {width}x{height} is not between 1:4 and 4:1"
        ));
    }
    if width * height >= 4_194_304 {
        return Err(format!(
            "{pointer}: {width}x{height} has {} pixels, the total must be less than 4194304",
            width * height
        ));
    }
    Ok(())
}

/// `{"images":["<b64>",...],"error":null}`, built without copying the pictures into a tree.
pub(crate) fn success_body(images: &[Arc<str>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(images.iter().map(|i| i.len() + 3).sum::<usize>() + 32);
    body.extend_from_slice(br#"{"images":["#);
    for (index, image) in images.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.push(b'"');
        body.extend_from_slice(image.as_bytes());
        body.push(b'"');
    }
    body.extend_from_slice(br#"],"error":null}"#);
    body
}

/// A 200 answer whose `images` entry is not base64.
pub(crate) fn bad_base64_body() -> Vec<u8> {
    br#"{"images":["this is *not* base64 at all!"],"error":null}"#.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_error(variant: TitanVariant, body: Value) -> String {
        match parse(variant, &body) {
            Err(Refusal::Schema(violation)) => violation,
            other => panic!("expected a schema violation, got {other:?}"),
        }
    }

    fn text_image(config: Value) -> Value {
        json!({
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a lighthouse at dusk"},
            "imageGenerationConfig": config,
        })
    }

    #[test]
    fn defaults_fill_in_a_minimal_request() {
        let body = json!({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox"}});
        let request = parse(TitanVariant::V1, &body).unwrap();
        assert_eq!(
            request,
            TextToImage {
                number_of_images: 1,
                width: 1024,
                height: 1024,
                seed: 42
            }
        );
    }

    #[test]
    fn a_full_request_is_read() {
        let body = text_image(json!({
            "numberOfImages": 3, "quality": "premium", "cfgScale": 8.0,
            "seed": 2_147_483_646u64, "width": 1173, "height": 640
        }));
        let request = parse(TitanVariant::V2, &body).unwrap();
        assert_eq!(
            (
                request.number_of_images,
                request.width,
                request.height,
                request.seed
            ),
            (3, 1173, 640, 2_147_483_646)
        );
    }

    #[test]
    fn titan_prompts_stop_at_512_characters_and_nova_at_1024() {
        let body =
            |text: String| json!({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": text}});
        assert_eq!(
            schema_error(TitanVariant::V1, body("x".repeat(536))),
            "#/textToImageParams/text: expected maxLength: 512, actual: 536"
        );
        assert!(parse(TitanVariant::NovaCanvas, &body("x".repeat(1024))).is_ok());
        assert_eq!(
            schema_error(TitanVariant::NovaCanvas, body(String::new())),
            "#/textToImageParams/text: expected minLength: 1, actual: 0"
        );
    }

    #[test]
    fn out_of_range_settings_name_their_field() {
        let cases = [
            (
                json!({"numberOfImages": 0}),
                "#/imageGenerationConfig/numberOfImages: 0 is not greater or equal to 1",
            ),
            (
                json!({"numberOfImages": 6}),
                "#/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5",
            ),
            (
                json!({"quality": "ultra"}),
                "#/imageGenerationConfig/quality: ultra is not a valid enum value",
            ),
            (
                json!({"cfgScale": 10.5}),
                "#/imageGenerationConfig/cfgScale: 10.5 is not less or equal to 10",
            ),
            (
                json!({"seed": 2_147_483_647u64}),
                "#/imageGenerationConfig/seed: 2147483647 is not less or equal to 2147483646",
            ),
            (
                json!({"seed": -1}),
                "#/imageGenerationConfig/seed: -1 is not greater or equal to 0",
            ),
            (
                json!({"width": 1000, "height": 1000}),
                "#/imageGenerationConfig: 1000x1000 is not a supported width x height",
            ),
            (
                json!({"steps": 30}),
                "#/imageGenerationConfig: extraneous key [steps] is not permitted",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(schema_error(TitanVariant::V1, text_image(config)), message);
        }
    }

    #[test]
    fn nova_sizes_follow_its_rules() {
        let size = |w: u32, h: u32| text_image(json!({"width": w, "height": h}));
        assert!(parse(TitanVariant::NovaCanvas, &size(2048, 1024)).is_ok());
        assert!(
            parse(TitanVariant::NovaCanvas, &size(4096, 1024)).is_err(),
            "4,194,304 px"
        );
        assert_eq!(
            schema_error(TitanVariant::NovaCanvas, size(1000, 1024)),
            "#/imageGenerationConfig/width: 1000 is not a multiple of 16"
        );
        assert_eq!(
            schema_error(TitanVariant::NovaCanvas, size(3808, 720)),
            "#/imageGenerationConfig: the aspect ratio of 3808x720 is not between 1:4 and 4:1"
        );
        assert_eq!(
            schema_error(TitanVariant::NovaCanvas, size(304, 1024)),
            "#/imageGenerationConfig/width: 304 is not greater or equal to 320"
        );
    }

    #[test]
    fn required_fields_and_task_types_are_checked() {
        assert_eq!(
            schema_error(
                TitanVariant::V1,
                json!({"textToImageParams": {"text": "a"}})
            ),
            "#: required key [taskType] not found"
        );
        assert_eq!(
            schema_error(TitanVariant::V1, json!({"taskType": "TEXT_IMAGE"})),
            "#: required key [textToImageParams] not found"
        );
        assert_eq!(
            schema_error(TitanVariant::V1, json!({"taskType": "BACKGROUND_REMOVAL"})),
            "#/taskType: BACKGROUND_REMOVAL is not a valid enum value"
        );
        assert_eq!(
            parse(TitanVariant::V2, &json!({"taskType": "INPAINTING"})),
            Err(Refusal::not_imitated("#/taskType", "INPAINTING"))
        );
        assert_eq!(
            schema_error(
                TitanVariant::V1,
                json!({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a", "style": "MAXIMALISM"}})
            ),
            "#/textToImageParams: extraneous key [style] is not permitted"
        );
        assert_eq!(
            schema_error(TitanVariant::V1, json!(["TEXT_IMAGE"])),
            "#: expected type: JSONObject, found: JSONArray"
        );
    }

    #[test]
    fn the_success_body_is_json() {
        let body = success_body(&["aGk=".into(), "aG8=".into()]);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value, json!({"images": ["aGk=", "aG8="], "error": null}));
    }
}
