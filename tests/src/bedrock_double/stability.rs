//! The Stability family body: Stable Image Core, Stable Image Ultra, SD3.5 Large.
//!
//! Text-to-image only. The answer holds one PNG of about one megapixel in the requested
//! aspect ratio, in the sizes Stability's models produce (see [`ASPECT_RATIOS`]). The
//! picture is always a PNG, whatever `output_format` asks for.

use std::sync::Arc;

use serde_json::Value;

use super::models::StabilityVariant;
use super::schema::{self, Refusal};

/// Each aspect ratio Bedrock accepts and the size of the picture the double returns for it.
pub(crate) const ASPECT_RATIOS: [(&str, (u32, u32)); 9] = [
    ("16:9", (1344, 768)),
    ("1:1", (1024, 1024)),
    ("21:9", (1536, 640)),
    ("2:3", (832, 1216)),
    ("3:2", (1216, 832)),
    ("4:5", (896, 1088)),
    ("5:4", (1088, 896)),
    ("9:16", (768, 1344)),
    ("9:21", (640, 1536)),
];

const MAX_SEED: i64 = 4_294_967_294;
const MAX_PROMPT: usize = 10_000;

/// The input filter's answer: HTTP 200, `finish_reasons` says why, no image.
pub(crate) const PROMPT_FILTERED: &str = "Filter reason: prompt";
/// The output filter's answer.
pub(crate) const OUTPUT_FILTERED: &str = "Filter reason: output image";

/// A text-to-image request that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextToImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The seed sent, or a random one if it was 0 or absent.
    pub(crate) seed: u64,
}

pub(crate) fn parse(variant: StabilityVariant, body: &Value) -> Result<TextToImage, Refusal> {
    let root = schema::object(body, "#")?;
    let allowed: &[&str] = match variant {
        StabilityVariant::Sd35Large => &[
            "prompt",
            "negative_prompt",
            "aspect_ratio",
            "seed",
            "output_format",
            "mode",
            "image",
            "strength",
        ],
        StabilityVariant::Core | StabilityVariant::Ultra => &[
            "prompt",
            "negative_prompt",
            "aspect_ratio",
            "seed",
            "output_format",
            "mode",
        ],
    };
    schema::only_keys(root, "#", allowed)?;
    if let Some(mode) = root.get("mode") {
        let modes: &[&str] = match variant {
            StabilityVariant::Sd35Large => &["text-to-image", "image-to-image"],
            StabilityVariant::Core | StabilityVariant::Ultra => &["text-to-image"],
        };
        let mode = schema::one_of(mode, "#/mode", modes)?;
        if mode != "text-to-image" {
            return Err(Refusal::not_imitated("#/mode", mode));
        }
    }
    let prompt = schema::required(root, "#", "prompt")?;
    schema::text(prompt, "#/prompt", 1, MAX_PROMPT)?;
    if let Some(negative) = root.get("negative_prompt") {
        schema::text(negative, "#/negative_prompt", 0, MAX_PROMPT)?;
    }
    let (width, height) = match root.get("aspect_ratio") {
        None => (1024, 1024),
        Some(ratio) => {
            let names: Vec<&str> = ASPECT_RATIOS.iter().map(|(name, _)| *name).collect();
            let ratio = schema::one_of(ratio, "#/aspect_ratio", &names)?;
            size_of(ratio)
        }
    };
    if let Some(format) = root.get("output_format") {
        schema::one_of(format, "#/output_format", &["jpeg", "png", "webp"])?;
    }
    let seed = match root.get("seed") {
        None => 0,
        Some(seed) => schema::integer(seed, "#/seed", 0, MAX_SEED)? as u64,
    };
    let seed = if seed == 0 {
        rand::random_range(1..=MAX_SEED as u64)
    } else {
        seed
    };
    Ok(TextToImage {
        width,
        height,
        seed,
    })
}

fn size_of(ratio: &str) -> (u32, u32) {
    ASPECT_RATIOS
        .iter()
        .find(|(name, _)| *name == ratio)
        .map(|(_, size)| *size)
        .expect("the ratio was checked against the list")
}

/// `{"seeds":[s],"finish_reasons":[null],"images":["<b64>"]}`.
pub(crate) fn success_body(seed: u64, image: &Arc<str>) -> Vec<u8> {
    let mut body = Vec::with_capacity(image.len() + 64);
    body.extend_from_slice(
        format!(r#"{{"seeds":[{seed}],"finish_reasons":[null],"images":[""#).as_bytes(),
    );
    body.extend_from_slice(image.as_bytes());
    body.extend_from_slice(br#""]}"#);
    body
}

/// A filtered answer: HTTP 200 with the reason and no image.
pub(crate) fn filtered_body(seed: u64, reason: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "seeds": [seed],
        "finish_reasons": [reason],
        "images": [],
    }))
    .expect("a JSON value always serialises")
}

/// A 200 answer whose `images` entry is not base64.
pub(crate) fn bad_base64_body(seed: u64) -> Vec<u8> {
    format!(
        r#"{{"seeds":[{seed}],"finish_reasons":[null],"images":["this is *not* base64 at all!"]}}"#
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_error(variant: StabilityVariant, body: Value) -> String {
        match parse(variant, &body) {
            Err(Refusal::Schema(violation)) => violation,
            other => panic!("expected a schema violation, got {other:?}"),
        }
    }

    #[test]
    fn the_seed_sent_comes_back_and_zero_means_random() {
        let request = parse(
            StabilityVariant::Core,
            &json!({"prompt": "a fox", "seed": 7}),
        )
        .unwrap();
        assert_eq!(request.seed, 7);
        let random = parse(
            StabilityVariant::Core,
            &json!({"prompt": "a fox", "seed": 0}),
        )
        .unwrap();
        assert!((1..=4_294_967_294).contains(&random.seed));
        let absent = parse(StabilityVariant::Core, &json!({"prompt": "a fox"})).unwrap();
        assert_ne!(absent.seed, 0);
    }

    #[test]
    fn every_aspect_ratio_gives_about_a_megapixel_in_that_ratio() {
        for (name, (width, height)) in ASPECT_RATIOS {
            let request = parse(
                StabilityVariant::Ultra,
                &json!({"prompt": "a", "aspect_ratio": name}),
            )
            .unwrap();
            assert_eq!((request.width, request.height), (width, height));
            let (a, b) = name.split_once(':').unwrap();
            let wanted = a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap();
            let got = f64::from(width) / f64::from(height);
            assert!(
                (got / wanted - 1.0).abs() < 0.05,
                "{name}: {width}x{height}"
            );
            let pixels = width * height;
            assert!((900_000..=1_100_000).contains(&pixels), "{name}: {pixels}");
        }
    }

    #[test]
    fn violations_name_their_field() {
        let cases = [
            (
                json!({"prompt": "a", "steps": 30}),
                "#: extraneous key [steps] is not permitted",
            ),
            (
                json!({"negative_prompt": "b"}),
                "#: required key [prompt] not found",
            ),
            (
                json!({"prompt": "x".repeat(10_001)}),
                "#/prompt: expected maxLength: 10000, actual: 10001",
            ),
            (
                json!({"prompt": "a", "aspect_ratio": "4:3"}),
                "#/aspect_ratio: 4:3 is not a valid enum value",
            ),
            (
                json!({"prompt": "a", "seed": 4_294_967_295u64}),
                "#/seed: 4294967295 is not less or equal to 4294967294",
            ),
            (
                json!({"prompt": "a", "output_format": "gif"}),
                "#/output_format: gif is not a valid enum value",
            ),
            (
                json!({"prompt": "a", "mode": "image-to-image"}),
                "#/mode: image-to-image is not a valid enum value",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(schema_error(StabilityVariant::Core, body), message);
        }
        assert_eq!(
            parse(
                StabilityVariant::Sd35Large,
                &json!({"prompt": "a", "mode": "image-to-image"})
            ),
            Err(Refusal::not_imitated("#/mode", "image-to-image"))
        );
    }

    #[test]
    fn bodies_are_json() {
        let ok: Value = serde_json::from_slice(&success_body(5, &"aGk=".into())).unwrap();
        assert_eq!(
            ok,
            json!({"seeds": [5], "finish_reasons": [null], "images": ["aGk="]})
        );
        let filtered: Value = serde_json::from_slice(&filtered_body(5, PROMPT_FILTERED)).unwrap();
        assert_eq!(
            filtered,
            json!({"seeds": [5], "finish_reasons": ["Filter reason: prompt"], "images": []})
        );
        let bad: Value = serde_json::from_slice(&bad_base64_body(5)).unwrap();
        assert_eq!(bad["images"][0], "this is *not* base64 at all!");
    }
}
