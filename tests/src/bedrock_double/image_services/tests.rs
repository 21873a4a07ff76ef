//! The image services through the real `aws-sdk-bedrockruntime` client, as the app calls them.

use std::io::Cursor;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::config::Region;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image::{DynamicImage, ImageFormat, Luma, Rgb, RgbImage};
use serde_json::{Value, json};

use super::{ImageServiceFaults, SD35_IMAGE_TO_IMAGE, SERVICES, Service};
use crate::bedrock_double::BedrockDouble;

const INPAINT: &str = "us.stability.stable-image-inpaint-v1:0";
const OUTPAINT: &str = "us.stability.stable-outpaint-v1:0";
const ERASE: &str = "us.stability.stable-image-erase-object-v1:0";
const REMOVE_BACKGROUND: &str = "us.stability.stable-image-remove-background-v1:0";
const FAST_UPSCALE: &str = "us.stability.stable-fast-upscale-v1:0";
const CREATIVE_UPSCALE: &str = "us.stability.stable-creative-upscale-v1:0";
const CONSERVATIVE_UPSCALE: &str = "us.stability.stable-conservative-upscale-v1:0";
const STYLE_TRANSFER: &str = "us.stability.stable-style-transfer-v1:0";
const SD35: &str = "stability.sd3-5-large-v1:0";

/// A double that answers the image services.
async fn bedrock() -> BedrockDouble {
    BedrockDouble::start_all_live().await
}

/// What InvokeModel gave back: the JSON body, or the error's code and message.
async fn invoke(bedrock: &BedrockDouble, model_id: &str, body: &Value) -> Result<Value, String> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::from_keys("AKIDEXAMPLE", "secret", None))
        .endpoint_url(bedrock.uri())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let answer = aws_sdk_bedrockruntime::Client::new(&config)
        .invoke_model()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(serde_json::to_vec(body).unwrap()))
        .send()
        .await;
    match answer {
        Ok(output) => Ok(serde_json::from_slice(output.body().as_ref()).expect("JSON")),
        Err(error) => {
            let error = error.into_service_error();
            Err(format!(
                "{}: {}",
                error.code().unwrap_or("?"),
                error.message().unwrap_or("")
            ))
        }
    }
}

/// The one picture of a successful answer, decoded.
async fn picture(bedrock: &BedrockDouble, model_id: &str, body: &Value) -> DynamicImage {
    let answer = invoke(bedrock, model_id, body)
        .await
        .unwrap_or_else(|error| panic!("{model_id}: {error}"));
    assert_eq!(answer["finish_reasons"], json!([null]), "{model_id}");
    assert!(answer["seeds"][0].as_u64().unwrap() > 0, "{model_id}");
    let images = answer["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{model_id}");
    let bytes = BASE64.decode(images[0].as_str().unwrap()).unwrap();
    image::load_from_memory(&bytes).unwrap()
}

/// The 400 ValidationException text of a refused body.
async fn refusal(bedrock: &BedrockDouble, model_id: &str, body: &Value) -> String {
    match invoke(bedrock, model_id, body).await {
        Ok(answer) => panic!("{model_id} answered {:.200}", answer.to_string()),
        Err(error) => error
            .strip_prefix("ValidationException: ")
            .unwrap_or_else(|| panic!("not a validation error: {error}"))
            .to_owned(),
    }
}

/// A picture where every pixel differs from its neighbours: a gradient on a flat background
/// band along the top (for remove background).
fn source(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        if y < 8 {
            Rgb([250, 250, 250])
        } else {
            Rgb([(x % 200) as u8, (y % 200) as u8, ((x + y) % 97) as u8 + 100])
        }
    })
}

fn base64_png(picture: impl Into<DynamicImage>) -> String {
    let mut bytes = Vec::new();
    picture
        .into()
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    BASE64.encode(bytes)
}

/// A mask of `width` x `height`, white (change) inside `area` = (x, y, width, height).
fn mask(width: u32, height: u32, area: (u32, u32, u32, u32)) -> String {
    let (ax, ay, aw, ah) = area;
    let inside = move |x, y| (ax..ax + aw).contains(&x) && (ay..ay + ah).contains(&y);
    base64_png(image::GrayImage::from_fn(width, height, |x, y| {
        Luma([if inside(x, y) { 255 } else { 0 }])
    }))
}

/// The smallest body each operation accepts (64x64 pictures).
fn minimal_body(service: &Service) -> Value {
    let picture = base64_png(source(64, 64));
    let prompt = "a lighthouse at dusk";
    match service.name {
        "Fast Upscale" | "Remove Background" => json!({"image": picture}),
        "Inpaint" => {
            json!({"image": picture, "prompt": prompt, "mask": mask(64, 64, (0, 0, 8, 8))})
        }
        "Erase Object" => json!({"image": picture, "mask": mask(64, 64, (0, 0, 8, 8))}),
        "Outpaint" => json!({"image": picture, "left": 16}),
        "Search and Replace" => {
            json!({"image": picture, "prompt": prompt, "search_prompt": "boat"})
        }
        "Search and Recolor" => {
            json!({"image": picture, "prompt": prompt, "select_prompt": "boat"})
        }
        "Style Transfer" => json!({"init_image": picture, "style_image": picture}),
        "SD3.5 Large image-to-image" => {
            json!({"mode": "image-to-image", "prompt": prompt, "image": picture, "strength": 0.5})
        }
        _ => json!({"image": picture, "prompt": prompt}),
    }
}

fn model_id(service: &Service) -> String {
    if service.id == SD35 {
        SD35.to_owned()
    } else {
        service.profile_id()
    }
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

fn service(name: &str) -> &'static Service {
    SERVICES
        .iter()
        .chain([&SD35_IMAGE_TO_IMAGE])
        .find(|service| service.name == name)
        .unwrap()
}

fn malformed(violation: &str) -> String {
    format!("Malformed input request: {violation}, please reformat your input and try again.")
}

// ---------------------------------------------------------------- answers

#[tokio::test]
async fn every_operation_answers_its_profile_with_one_png_and_is_recorded() {
    let bedrock = bedrock().await;
    for service in SERVICES.iter().chain([&SD35_IMAGE_TO_IMAGE]) {
        let body = minimal_body(service);
        let answer = picture(&bedrock, &model_id(service), &body).await;
        assert!(answer.width() >= 64, "{}", service.name);

        let received = bedrock.received().pop().unwrap();
        assert_eq!(received.model_id, model_id(service));
        assert_eq!(received.body, body, "{}", service.name);
    }
}

#[tokio::test]
async fn the_seed_sent_comes_back_and_paints_the_same_picture() {
    let bedrock = bedrock().await;
    let body = with(minimal_body(service("Style Guide")), "seed", json!(42));
    let profile = service("Style Guide").profile_id();
    let answer = invoke(&bedrock, &profile, &body).await.unwrap();
    assert_eq!(answer["seeds"], json!([42]));
    assert_eq!(answer, invoke(&bedrock, &profile, &body).await.unwrap());
}

#[tokio::test]
async fn fast_upscale_makes_each_side_four_times_longer() {
    let bedrock = bedrock().await;
    let body = json!({"image": base64_png(source(80, 48))});
    let answer = picture(&bedrock, FAST_UPSCALE, &body).await;
    assert_eq!((answer.width(), answer.height()), (320, 192));
}

#[tokio::test]
async fn conservative_and_creative_upscales_reach_about_four_megapixels_in_the_same_shape() {
    let bedrock = bedrock().await;
    let body = json!({"image": base64_png(source(96, 64)), "prompt": "sharper"});
    for model in [CONSERVATIVE_UPSCALE, CREATIVE_UPSCALE] {
        let answer = picture(&bedrock, model, &body).await;
        let (width, height) = (answer.width(), answer.height());
        assert_eq!((width, height), (2508, 1672), "{model}");
        assert_eq!(width * 2, height * 3, "{model}: the aspect ratio is kept");
    }
}

#[tokio::test]
async fn an_outpaint_grows_by_exactly_the_sides_asked_and_keeps_the_source_in_place() {
    let bedrock = bedrock().await;
    let original = source(64, 72);
    let body = json!({"image": base64_png(original.clone()), "left": 10, "right": 30, "up": 5});
    let answer = picture(&bedrock, OUTPAINT, &body).await.to_rgb8();
    assert_eq!(answer.dimensions(), (104, 77));
    let kept = image::imageops::crop_imm(&answer, 10, 5, 64, 72).to_image();
    assert_eq!(kept, original);
}

#[tokio::test]
async fn inpaint_and_erase_change_the_picture_only_inside_the_mask() {
    let bedrock = bedrock().await;
    let original = source(64, 64);
    let area = (16, 20, 12, 10);
    let inside = |x, y| (16..28).contains(&x) && (20..30).contains(&y);
    for (model, extra) in [
        (INPAINT, json!({"prompt": "a red boat"})),
        (ERASE, json!({})),
    ] {
        let mut body = json!({"image": base64_png(original.clone()), "mask": mask(64, 64, area), "grow_mask": 0});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let answer = picture(&bedrock, model, &body).await.to_rgb8();

        for (x, y, pixel) in answer.enumerate_pixels() {
            if !inside(x, y) {
                assert_eq!(pixel, original.get_pixel(x, y), "{model} at {x},{y}");
            }
        }
        let changed = answer
            .enumerate_pixels()
            .filter(|(x, y, pixel)| inside(*x, *y) && *pixel != original.get_pixel(*x, *y))
            .count();
        assert!(
            changed > 100,
            "{model}: {changed} of 120 masked pixels changed"
        );
    }
}

#[tokio::test]
async fn the_mask_grows_by_five_pixels_unless_told_otherwise() {
    let bedrock = bedrock().await;
    let original = source(64, 64);
    let body = json!({"image": base64_png(original.clone()), "prompt": "a boat", "mask": mask(64, 64, (30, 30, 1, 1))});
    let answer = picture(&bedrock, INPAINT, &body).await.to_rgb8();
    let changed: Vec<(u32, u32)> = answer
        .enumerate_pixels()
        .filter(|(x, y, pixel)| *pixel != original.get_pixel(*x, *y))
        .map(|(x, y, _)| (x, y))
        .collect();
    let (xs, ys): (Vec<u32>, Vec<u32>) = changed.iter().copied().unzip();
    assert_eq!(xs.iter().min().zip(xs.iter().max()), Some((&25, &35)));
    assert_eq!(ys.iter().min().zip(ys.iter().max()), Some((&25, &35)));
}

#[tokio::test]
async fn remove_background_answers_a_png_transparent_where_the_background_was() {
    let bedrock = bedrock().await;
    let body = json!({"image": base64_png(source(64, 64))});
    let answer = picture(&bedrock, REMOVE_BACKGROUND, &body).await;
    assert!(answer.color().has_alpha());
    let answer = answer.to_rgba8();
    assert_eq!(answer.get_pixel(0, 0).0[3], 0, "the corner is cut away");
    assert_eq!(
        answer.get_pixel(40, 0).0[3],
        0,
        "so is the band of its colour"
    );
    assert_eq!(answer.get_pixel(32, 32).0[3], 255, "the subject stays");
}

#[tokio::test]
async fn the_guided_operations_answer_a_new_picture_of_the_sources_size() {
    let bedrock = bedrock().await;
    let original = source(96, 64);
    for name in [
        "Search and Replace",
        "Search and Recolor",
        "Control Sketch",
        "Control Structure",
        "Style Guide",
    ] {
        let body = with(
            minimal_body(service(name)),
            "image",
            json!(base64_png(original.clone())),
        );
        let answer = picture(&bedrock, &service(name).profile_id(), &body)
            .await
            .to_rgb8();
        assert_eq!(answer.dimensions(), (96, 64), "{name}");
        assert_ne!(answer, original, "{name}");
    }
}

#[tokio::test]
async fn style_transfer_keeps_the_size_of_the_init_image() {
    let bedrock = bedrock().await;
    let body = json!({
        "init_image": base64_png(source(96, 64)),
        "style_image": base64_png(source(64, 128)),
        "style_strength": 0.8,
    });
    let answer = picture(&bedrock, STYLE_TRANSFER, &body).await;
    assert_eq!((answer.width(), answer.height()), (96, 64));
}

#[tokio::test]
async fn image_to_image_keeps_the_picture_at_strength_zero_and_replaces_it_at_one() {
    let bedrock = bedrock().await;
    let original = source(96, 64);
    let body = |strength: f64| json!({"mode": "image-to-image", "prompt": "a lighthouse", "image": base64_png(original.clone()), "strength": strength});

    let kept = picture(&bedrock, SD35, &body(0.0)).await.to_rgb8();
    assert_eq!(kept, original);

    let replaced = picture(&bedrock, SD35, &body(1.0)).await.to_rgb8();
    assert_eq!(replaced.dimensions(), (96, 64));
    let same = replaced
        .pixels()
        .zip(original.pixels())
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        same < 96 * 64 / 100,
        "{same} pixels unchanged at strength 1"
    );
}

#[tokio::test]
async fn sd35_text_to_image_is_still_answered_by_the_model_itself() {
    let bedrock = bedrock().await;
    let answer = invoke(
        &bedrock,
        SD35,
        &json!({"prompt": "a fox", "aspect_ratio": "16:9"}),
    )
    .await
    .unwrap();
    let bytes = BASE64
        .decode(answer["images"][0].as_str().unwrap())
        .unwrap();
    let picture = image::load_from_memory(&bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (1344, 768));
}

#[tokio::test]
async fn output_format_picks_the_encoding() {
    let bedrock = bedrock().await;
    for (format, expected) in [
        ("png", ImageFormat::Png),
        ("jpeg", ImageFormat::Jpeg),
        ("webp", ImageFormat::WebP),
    ] {
        let body = json!({"image": base64_png(source(64, 64)), "output_format": format});
        let answer = invoke(&bedrock, FAST_UPSCALE, &body).await.unwrap();
        let bytes = BASE64
            .decode(answer["images"][0].as_str().unwrap())
            .unwrap();
        assert_eq!(image::guess_format(&bytes).unwrap(), expected, "{format}");
    }
    let body = json!({"image": base64_png(source(64, 64)), "output_format": "webp"});
    let cut_out = picture(&bedrock, REMOVE_BACKGROUND, &body).await;
    assert!(
        cut_out.color().has_alpha(),
        "a WebP cut-out keeps its alpha"
    );
}

// ---------------------------------------------------------------- refusals

#[tokio::test]
async fn the_base_model_id_needs_the_us_profile() {
    let bedrock = bedrock().await;
    let body = minimal_body(service("Inpaint"));
    let message = refusal(&bedrock, "stability.stable-image-inpaint-v1:0", &body).await;
    assert_eq!(
        message,
        "Invocation of model ID stability.stable-image-inpaint-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    );
}

#[tokio::test]
async fn each_field_is_checked_with_bedrocks_words() {
    let bedrock = bedrock().await;
    // Each case changes one field of the operation's minimal body; null removes it.
    #[rustfmt::skip]
    let cases = [
        ("Inpaint", json!({"mask": null}), "#: required key [mask] not found"),
        ("Inpaint", json!({"prompt": null}), "#: required key [prompt] not found"),
        ("Inpaint", json!({"grow_mask": 21}), "#/grow_mask: 21 is not less or equal to 20"),
        ("Inpaint", json!({"steps": 30}), "#: extraneous key [steps] is not permitted"),
        ("Inpaint", json!({"prompt": "x".repeat(10_001)}), "#/prompt: expected maxLength: 10000, actual: 10001"),
        ("Inpaint", json!({"prompt": 7}), "#/prompt: expected type: String, found: Integer"),
        ("Inpaint", json!({"seed": 4_294_967_295u64}), "#/seed: 4294967295 is not less or equal to 4294967294"),
        ("Inpaint", json!({"output_format": "gif"}), "#/output_format: gif is not a valid enum value"),
        ("Erase Object", json!({"prompt": "a"}), "#: extraneous key [prompt] is not permitted"),
        ("Erase Object", json!({"grow_mask": -1}), "#/grow_mask: -1 is not greater or equal to 0"),
        ("Outpaint", json!({"left": 2001}), "#/left: 2001 is not less or equal to 2000"),
        ("Outpaint", json!({"down": -5}), "#/down: -5 is not greater or equal to 0"),
        ("Outpaint", json!({"left": 0}), "#: at least one of [left, right, up, down] must be greater than 0"),
        ("Outpaint", json!({"left": null}), "#: at least one of [left, right, up, down] must be greater than 0"),
        ("Outpaint", json!({"creativity": 1.5}), "#/creativity: 1.5 is not less or equal to 1"),
        ("Creative Upscale", json!({"creativity": 0.6}), "#/creativity: 0.6 is not less or equal to 0.5"),
        ("Creative Upscale", json!({"style_preset": "vaporwave"}), "#/style_preset: vaporwave is not a valid enum value"),
        ("Conservative Upscale", json!({"creativity": 0.1}), "#/creativity: 0.1 is not greater or equal to 0.2"),
        ("Conservative Upscale", json!({"prompt": null}), "#: required key [prompt] not found"),
        ("Fast Upscale", json!({"prompt": "a"}), "#: extraneous key [prompt] is not permitted"),
        ("Fast Upscale", json!({"image": null}), "#: required key [image] not found"),
        ("Remove Background", json!({"output_format": "jpeg"}), "#/output_format: jpeg is not a valid enum value"),
        ("Search and Replace", json!({"search_prompt": null}), "#: required key [search_prompt] not found"),
        ("Search and Recolor", json!({"search_prompt": "boat"}), "#: extraneous key [search_prompt] is not permitted"),
        ("Control Sketch", json!({"control_strength": 1.2}), "#/control_strength: 1.2 is not less or equal to 1"),
        ("Control Structure", json!({"control_strength": "high"}), "#/control_strength: expected type: Number, found: String"),
        ("Style Guide", json!({"fidelity": -0.1}), "#/fidelity: -0.1 is not greater or equal to 0"),
        ("Style Transfer", json!({"style_image": null}), "#: required key [style_image] not found"),
        ("Style Transfer", json!({"image": ""}), "#: extraneous key [image] is not permitted"),
        ("Style Transfer", json!({"change_strength": 0.05}), "#/change_strength: 0.05 is not greater or equal to 0.1"),
        ("Style Transfer", json!({"composition_fidelity": 2}), "#/composition_fidelity: 2 is not less or equal to 1"),
        ("Style Transfer", json!({"style_strength": -1}), "#/style_strength: -1 is not greater or equal to 0"),
        ("SD3.5 Large image-to-image", json!({"strength": null}), "#: required key [strength] not found"),
        ("SD3.5 Large image-to-image", json!({"image": null}), "#: required key [image] not found"),
        ("SD3.5 Large image-to-image", json!({"strength": 1.01}), "#/strength: 1.01 is not less or equal to 1"),
        ("SD3.5 Large image-to-image", json!({"aspect_ratio": "1:1"}), "#: extraneous key [aspect_ratio] is not permitted"),
    ];
    for (name, change, violation) in cases {
        let mut body = minimal_body(service(name));
        for (key, value) in change.as_object().unwrap() {
            body = match value {
                Value::Null => without(body, key),
                value => with(body, key, value.clone()),
            };
        }
        let message = refusal(&bedrock, &model_id(service(name)), &body).await;
        assert_eq!(message, malformed(violation), "{name}");
    }
}

#[tokio::test]
async fn pictures_must_be_png_jpeg_or_webp_within_the_services_limits() {
    let bedrock = bedrock().await;
    let png = BASE64.decode(base64_png(source(64, 64))).unwrap();
    let truncated = BASE64.encode(&png[..png.len() / 2]);
    let bmp = BASE64.encode(b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0");
    let inpaint = minimal_body(service("Inpaint"));
    #[rustfmt::skip]
    let cases = [
        (INPAINT, with(inpaint.clone(), "image", json!("not base64!")), "#/image: expected a base64-encoded image"),
        (INPAINT, with(inpaint.clone(), "image", json!(BASE64.encode("<html></html>"))), "#/image: expected a PNG, JPEG or WebP image, found unknown data"),
        (INPAINT, with(inpaint.clone(), "image", json!(bmp)), "#/image: expected a PNG, JPEG or WebP image, found BMP"),
        (INPAINT, with(inpaint.clone(), "mask", json!(mask(32, 32, (0, 0, 4, 4)))), "#/mask: 32x32 does not match the image's 64x64"),
        (FAST_UPSCALE, json!({"image": base64_png(source(31, 64))}), "#/image: 31x64 is 1984 pixels; Fast Upscale takes 1024 to 1048576 pixels, at least 32 on each side"),
        (CREATIVE_UPSCALE, json!({"image": base64_png(source(1025, 1024)), "prompt": "a"}), "#/image: 1025x1024 is 1049600 pixels; Creative Upscale takes 4096 to 1048576 pixels, at least 64 on each side"),
        (CONSERVATIVE_UPSCALE, json!({"image": base64_png(source(63, 200)), "prompt": "a"}), "#/image: 63x200 is 12600 pixels; Conservative Upscale takes 4096 to 9437184 pixels, at least 64 on each side"),
    ];
    for (model, body, violation) in cases {
        assert_eq!(
            refusal(&bedrock, model, &body).await,
            malformed(violation),
            "{violation}"
        );
    }
    let message = refusal(&bedrock, INPAINT, &with(inpaint, "image", json!(truncated))).await;
    assert!(
        message.starts_with("Malformed input request: #/image: the image is unreadable: "),
        "{message}"
    );
}

#[tokio::test]
async fn a_picture_claiming_a_huge_size_is_refused_from_its_header() {
    let bedrock = bedrock().await;
    // A PNG header claiming 100,000 x 100,000 pixels, with no pixel data behind it.
    let mut png = BASE64.decode(base64_png(source(64, 64))).unwrap();
    png[16..24].copy_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]);
    let ihdr_crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&ihdr_crc.to_be_bytes());
    let body = json!({"image": BASE64.encode(&png), "prompt": "a"});
    assert_eq!(
        refusal(&bedrock, CONSERVATIVE_UPSCALE, &body).await,
        malformed(
            "#/image: 100000x100000 is 10000000000 pixels; Conservative Upscale takes 4096 to 9437184 pixels, at least 64 on each side"
        )
    );
}

// ---------------------------------------------------------------- finish reasons

/// The finish reason of a valid outpaint, which comes with its seed and without a picture.
async fn outpaint_finish_reason(bedrock: &BedrockDouble) -> Value {
    let body = with(minimal_body(service("Outpaint")), "seed", json!(9));
    let answer = invoke(bedrock, OUTPAINT, &body).await.unwrap();
    assert_eq!(
        (&answer["seeds"], &answer["images"]),
        (&json!([9]), &json!([]))
    );
    answer["finish_reasons"].clone()
}

#[tokio::test]
async fn a_filtered_input_image_answers_without_a_picture() {
    let bedrock = bedrock().await;
    bedrock.will_filter_input_image().await;
    let reason = outpaint_finish_reason(&bedrock).await;
    assert_eq!(reason, json!(["Filter reason: input image"]));
}

#[tokio::test]
async fn an_inference_error_answers_without_a_picture() {
    let bedrock = bedrock().await;
    bedrock.will_fail_inference().await;
    let reason = outpaint_finish_reason(&bedrock).await;
    assert_eq!(reason, json!(["Inference error"]));
}

#[tokio::test]
async fn a_body_that_breaks_the_schema_is_refused_whatever_the_fault() {
    let bedrock = bedrock().await;
    bedrock.will_fail_inference().await;
    let body = with(minimal_body(service("Outpaint")), "left", json!(5000));
    assert_eq!(
        refusal(&bedrock, OUTPAINT, &body).await,
        malformed("#/left: 5000 is not less or equal to 2000")
    );
}

#[tokio::test]
async fn the_doubles_prompt_and_output_filters_apply_to_the_services() {
    let bedrock = bedrock().await;
    let body = with(
        minimal_body(service("Search and Replace")),
        "seed",
        json!(3),
    );
    let profile = service("Search and Replace").profile_id();
    for (reason, block) in [
        (
            "Filter reason: prompt",
            BedrockDouble::will_block_prompt as fn(&BedrockDouble),
        ),
        (
            "Filter reason: output image",
            BedrockDouble::will_block_output,
        ),
    ] {
        block(&bedrock);
        let answer = invoke(&bedrock, &profile, &body).await.unwrap();
        assert_eq!(answer["finish_reasons"], json!([reason]));
        assert_eq!(answer["images"], json!([]));
    }
    bedrock.reset();
    picture(&bedrock, &profile, &body).await;
}
