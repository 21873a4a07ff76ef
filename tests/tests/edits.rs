//! Every edit operation through the real SDK against the Bedrock double: the body it receives,
//! field by field, and the picture that comes back.

use std::{cell::Cell, io::Cursor, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use easel::{
    bedrock::{Bedrock, BedrockError},
    catalogue::{Catalogue, Operations},
    domain::{EditPictures, EditRequest},
    upload::{Mask, PictureLimits, UploadedPicture},
};
use easel_tests::{
    BedrockDouble,
    bedrock_double::{Invocation, image_services::ImageServiceFaults},
    test_app::aws_for,
};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use serde_json::{Value, json};

const SEED: u64 = 7;

/// The edit core as the studio will hold it, in front of a double that answers the services.
struct Edits {
    double: BedrockDouble,
    bedrock: Bedrock,
    operations: Operations,
    /// How many calls the double had received when they were last looked at.
    calls: Cell<usize>,
}

async fn edits() -> Edits {
    let double = BedrockDouble::start_all_live().await;
    let bedrock = Bedrock::new(
        &aws_for(&double).await,
        "us-west-2",
        &Catalogue::built_in(),
        Duration::from_secs(30),
    );
    Edits {
        double,
        bedrock,
        operations: Operations::built_in(),
        calls: Cell::new(0),
    }
}

impl Edits {
    /// Parses the form (its seed fixed) and runs the edit.
    async fn run(
        &self,
        fields: &[(&str, &str)],
        pictures: EditPictures,
    ) -> Result<DynamicImage, BedrockError> {
        let seed = SEED.to_string();
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        form.push(("seed_mode".into(), "fixed".into()));
        form.push(("seed".into(), seed));
        let request = EditRequest::parse(&form, pictures, &self.operations)
            .unwrap_or_else(|errors| panic!("{fields:?}: {errors:?}"));
        let image = self.bedrock.edit(&request).await?;
        Ok(image::load_from_memory_with_format(&image.png, ImageFormat::Png).unwrap())
    }

    async fn picture(&self, fields: &[(&str, &str)], pictures: EditPictures) -> DynamicImage {
        self.run(fields, pictures)
            .await
            .unwrap_or_else(|error| panic!("{fields:?}: {error}"))
    }

    /// The call the last edit made: exactly one.
    fn call(&self) -> Invocation {
        let mut received = self.double.received();
        let before = self.calls.replace(received.len());
        assert_eq!(received.len(), before + 1, "one call per edit");
        let call = received.pop().unwrap();
        assert_eq!(call.content_type.as_deref(), Some("application/json"));
        assert_eq!(call.accept.as_deref(), Some("application/json"));
        call
    }
}

/// Asserts the body holds exactly the expected fields, naming the first that differs.
fn assert_body(call: &Invocation, expected: Value) {
    let (body, expected) = (
        call.body.as_object().unwrap(),
        expected.as_object().unwrap(),
    );
    let mut sent: Vec<&String> = body.keys().collect();
    let mut wanted: Vec<&String> = expected.keys().collect();
    sent.sort();
    wanted.sort();
    assert_eq!(sent, wanted, "{}: the fields sent", call.model_id);
    for (name, value) in expected {
        assert_eq!(&body[name], value, "{}: {name}", call.model_id);
    }
}

/// A gradient under a flat light band along the top (the background Remove Background cuts).
fn source(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| match y {
        0..8 => Rgb([240, 240, 240]),
        _ => Rgb([
            (3 * x % 251) as u8,
            (5 * y % 251) as u8,
            ((x ^ y) % 128) as u8 + 64,
        ]),
    })
}

fn png(picture: impl Into<DynamicImage>) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture
        .into()
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

/// As the studio takes a picture in: the smallest limits any operation has, so each operation
/// checks its own.
fn upload(picture: &RgbImage) -> UploadedPicture {
    UploadedPicture::parse(&png(picture.clone()), &PictureLimits::FAST_UPSCALE).unwrap()
}

/// The area (x, y, width, height) an inpaint or erase test paints.
const AREA: (u32, u32, u32, u32) = (16, 20, 12, 10);

fn inside_area(x: u32, y: u32) -> bool {
    let (ax, ay, aw, ah) = AREA;
    (ax..ax + aw).contains(&x) && (ay..ay + ah).contains(&y)
}

fn area_mask(width: u32, height: u32) -> Mask {
    let pixels = GrayImage::from_fn(width, height, |x, y| {
        Luma([if inside_area(x, y) { 255 } else { 0 }])
    });
    Mask::parse(&png(pixels), width, height).unwrap()
}

fn only(source: &RgbImage) -> EditPictures {
    EditPictures {
        source: upload(source),
        mask: None,
        style: None,
    }
}

fn masked(source: &RgbImage) -> EditPictures {
    EditPictures {
        mask: Some(area_mask(source.width(), source.height())),
        ..only(source)
    }
}

/// How many pixels of `answer` differ from `original`'s.
fn changed(answer: &RgbImage, original: &RgbImage) -> usize {
    assert_eq!(answer.dimensions(), original.dimensions());
    answer
        .pixels()
        .zip(original.pixels())
        .filter(|(a, b)| a != b)
        .count()
}

fn b64(bytes: &[u8]) -> Value {
    json!(BASE64.encode(bytes))
}

/// What the double received as `image`: the clean PNG of the source.
fn sent_image(source: &RgbImage) -> Value {
    b64(upload(source).png())
}

fn profile(model: &str) -> String {
    format!("us.stability.{model}-v1:0")
}

#[tokio::test]
async fn an_inpaint_sends_its_mask_and_changes_only_inside_it() {
    let edits = edits().await;
    let original = source(64, 64);
    let fields = [
        ("operation", "inpaint"),
        ("prompt", "a red boat"),
        ("negative_prompt", "fog"),
        ("grow_mask", "0"),
    ];
    let answer = edits.picture(&fields, masked(&original)).await.to_rgb8();

    let call = edits.call();
    assert_eq!(call.model_id, profile("stable-image-inpaint"));
    assert_body(
        &call,
        json!({
            "image": sent_image(&original),
            "mask": b64(&area_mask(64, 64).png()),
            "prompt": "a red boat",
            "negative_prompt": "fog",
            "grow_mask": 0,
            "seed": SEED,
            "output_format": "png",
        }),
    );
    let mut changed = 0;
    for (x, y, pixel) in answer.enumerate_pixels() {
        if !inside_area(x, y) {
            assert_eq!(
                pixel,
                original.get_pixel(x, y),
                "outside the mask at {x},{y}"
            );
        } else if pixel != original.get_pixel(x, y) {
            changed += 1;
        }
    }
    assert!(changed > 100, "{changed} of 120 masked pixels changed");
}

#[tokio::test]
async fn an_erase_sends_no_prompt_and_grows_the_mask_by_five_unless_told() {
    let edits = edits().await;
    let original = source(64, 64);
    let fields = [("operation", "erase"), ("prompt", "left from Inpaint")];
    let answer = edits.picture(&fields, masked(&original)).await.to_rgb8();

    let call = edits.call();
    assert_eq!(call.model_id, profile("stable-image-erase-object"));
    assert_body(
        &call,
        json!({
            "image": sent_image(&original),
            "mask": b64(&area_mask(64, 64).png()),
            "grow_mask": 5,
            "seed": SEED,
            "output_format": "png",
        }),
    );
    assert_eq!(answer.get_pixel(0, 63), original.get_pixel(0, 63));
    assert_ne!(
        answer.get_pixel(13, 17),
        original.get_pixel(13, 17),
        "grown by 5"
    );
}

#[tokio::test]
async fn an_outpaint_is_extended_by_exactly_the_sides_asked_for() {
    let edits = edits().await;
    let original = source(64, 72);
    let fields = [
        ("operation", "outpaint"),
        ("left", "12"),
        ("up", "4"),
        ("down", "20"),
        ("creativity", "0.25"),
    ];
    let answer = edits.picture(&fields, only(&original)).await.to_rgb8();

    let call = edits.call();
    assert_eq!(call.model_id, "us.stability.stable-outpaint-v1:0");
    assert_body(
        &call,
        json!({
            "image": sent_image(&original),
            "left": 12,
            "right": 0,
            "up": 4,
            "down": 20,
            "creativity": 0.25,
            "seed": SEED,
            "output_format": "png",
        }),
    );
    assert_eq!(answer.dimensions(), (64 + 12, 4 + 72 + 20));
    let in_place = image::imageops::crop_imm(&answer, 12, 4, 64, 72).to_image();
    assert_eq!(in_place, original, "the source stays where it was");
}

#[tokio::test]
async fn remove_background_answers_a_transparent_png() {
    let edits = edits().await;
    let original = source(64, 64);
    let answer = edits
        .picture(&[("operation", "remove-background")], only(&original))
        .await;

    let call = edits.call();
    assert_eq!(call.model_id, profile("stable-image-remove-background"));
    assert_body(
        &call,
        json!({"image": sent_image(&original), "output_format": "png"}),
    );
    assert!(answer.color().has_alpha());
    let answer = answer.to_rgba8();
    assert_eq!(answer.get_pixel(0, 0)[3], 0, "the background is cut away");
    assert_eq!(answer.get_pixel(32, 32)[3], 255, "the subject stays");
}

#[tokio::test]
async fn search_and_replace_and_recolour_send_what_to_find_under_their_own_names() {
    let edits = edits().await;
    let original = source(96, 64);
    for (operation, model, field) in [
        (
            "search-replace",
            "stable-image-search-replace",
            "search_prompt",
        ),
        (
            "search-recolor",
            "stable-image-search-recolor",
            "select_prompt",
        ),
    ] {
        let fields = [
            ("operation", operation),
            ("prompt", "a red boat"),
            (field, "the boat"),
        ];
        let answer = edits.picture(&fields, only(&original)).await.to_rgb8();

        let call = edits.call();
        assert_eq!(call.model_id, profile(model));
        assert_body(
            &call,
            json!({
                "image": sent_image(&original),
                "prompt": "a red boat",
                field: "the boat",
                "seed": SEED,
                "output_format": "png",
            }),
        );
        assert_eq!(answer.dimensions(), (96, 64), "{operation}");
        assert_ne!(answer, original, "{operation}");
    }
}

#[tokio::test]
async fn a_fast_upscale_sends_only_the_picture_and_is_four_times_larger() {
    let edits = edits().await;
    let original = source(80, 48);
    let answer = edits
        .picture(&[("operation", "upscale-fast")], only(&original))
        .await;

    let call = edits.call();
    assert_eq!(call.model_id, "us.stability.stable-fast-upscale-v1:0");
    assert_body(
        &call,
        json!({"image": sent_image(&original), "output_format": "png"}),
    );
    assert_eq!((answer.width(), answer.height()), (320, 192));
}

#[tokio::test]
async fn conservative_and_creative_upscales_send_their_creativity_and_come_back_larger() {
    let edits = edits().await;
    let original = source(96, 64);
    for (operation, model, extra) in [
        (
            "upscale-conservative",
            "stable-conservative-upscale",
            json!({"creativity": 0.35}),
        ),
        (
            "upscale-creative",
            "stable-creative-upscale",
            json!({"creativity": 0.3, "style_preset": "anime"}),
        ),
    ] {
        let fields = [
            ("operation", operation),
            ("prompt", "sharper"),
            ("style_preset", "anime"),
        ];
        let answer = edits.picture(&fields, only(&original)).await;

        let call = edits.call();
        assert_eq!(call.model_id, format!("us.stability.{model}-v1:0"));
        let mut expected = json!({
            "image": sent_image(&original),
            "prompt": "sharper",
            "seed": SEED,
            "output_format": "png",
        });
        expected
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        assert_body(&call, expected);
        let (width, height) = (answer.width(), answer.height());
        assert!(
            width > 96 * 4 && height > 64 * 4,
            "{operation}: {width}x{height}"
        );
        assert_eq!(
            width * 2,
            height * 3,
            "{operation}: the aspect ratio is kept"
        );
    }
}

#[tokio::test]
async fn control_and_style_guide_send_their_strength_and_keep_the_size() {
    let edits = edits().await;
    let original = source(96, 64);
    for (operation, model, field, value) in [
        (
            "control-sketch",
            "stable-image-control-sketch",
            "control_strength",
            "0.9",
        ),
        (
            "control-structure",
            "stable-image-control-structure",
            "control_strength",
            "",
        ),
        ("style-guide", "stable-image-style-guide", "fidelity", "0.2"),
    ] {
        let fields = [
            ("operation", operation),
            ("prompt", "a lighthouse"),
            (field, value),
        ];
        let answer = edits.picture(&fields, only(&original)).await.to_rgb8();

        let call = edits.call();
        assert_eq!(call.model_id, profile(model));
        let sent: f64 = match value {
            "" => 0.7,
            value => value.parse().unwrap(),
        };
        assert_body(
            &call,
            json!({
                "image": sent_image(&original),
                "prompt": "a lighthouse",
                field: sent,
                "seed": SEED,
                "output_format": "png",
            }),
        );
        assert_eq!(answer.dimensions(), (96, 64), "{operation}");
        assert_ne!(answer, original, "{operation}");
    }
}

#[tokio::test]
async fn a_style_transfer_sends_both_pictures_and_keeps_the_size_of_the_first() {
    let edits = edits().await;
    let original = source(96, 64);
    let style = source(64, 128);
    let pictures = EditPictures {
        style: Some(upload(&style)),
        ..only(&original)
    };
    let fields = [("operation", "style-transfer"), ("style_strength", "0.8")];
    let answer = edits.picture(&fields, pictures).await;

    let call = edits.call();
    assert_eq!(call.model_id, "us.stability.stable-style-transfer-v1:0");
    assert_body(
        &call,
        json!({
            "init_image": sent_image(&original),
            "style_image": sent_image(&style),
            "composition_fidelity": 0.9,
            "style_strength": 0.8,
            "change_strength": 0.9,
            "seed": SEED,
            "output_format": "png",
        }),
    );
    assert_eq!((answer.width(), answer.height()), (96, 64));
}

#[tokio::test]
async fn image_to_image_keeps_the_picture_at_no_change_and_replaces_it_at_full_change() {
    let edits = edits().await;
    let original = source(96, 64);
    let mut answers = Vec::new();
    for change in ["0", "1"] {
        let fields = [
            ("operation", "image-to-image"),
            ("prompt", "a lighthouse"),
            ("strength", change),
        ];
        answers.push(edits.picture(&fields, only(&original)).await.to_rgb8());

        let call = edits.call();
        assert_eq!(call.model_id, "stability.sd3-5-large-v1:0");
        assert_body(
            &call,
            json!({
                "mode": "image-to-image",
                "image": sent_image(&original),
                "prompt": "a lighthouse",
                "strength": change.parse::<f64>().unwrap(),
                "seed": SEED,
                "output_format": "png",
            }),
        );
    }
    assert_eq!(
        changed(&answers[0], &original),
        0,
        "no change keeps the picture"
    );
    let replaced = changed(&answers[1], &original);
    assert!(
        replaced > 96 * 64 * 99 / 100,
        "{replaced} pixels replaced at full change"
    );
}

#[tokio::test]
async fn every_operation_is_called_through_its_own_id_and_answers_a_picture() {
    let edits = edits().await;
    let original = source(64, 64);
    for spec in edits.operations.all() {
        let fields = [
            ("operation", spec.id()),
            ("prompt", "a lighthouse"),
            ("search_prompt", "the sea"),
            ("select_prompt", "the sky"),
            ("left", "8"),
        ];
        let pictures = EditPictures {
            style: Some(upload(&original)),
            ..masked(&original)
        };
        edits.picture(&fields, pictures).await;
        assert_eq!(edits.call().model_id, spec.call_id(), "{}", spec.id());
    }
}

#[tokio::test]
async fn a_filtered_or_failed_edit_says_why() {
    let original = source(64, 64);
    let fields = [("operation", "style-guide"), ("prompt", "a lighthouse")];

    let edits = edits().await;
    edits.double.will_block_prompt();
    let blocked = edits.run(&fields, only(&original)).await;
    assert_eq!(blocked.unwrap_err(), BedrockError::InputFiltered);
    edits.double.will_block_output();
    let blocked = edits.run(&fields, only(&original)).await;
    assert_eq!(blocked.unwrap_err(), BedrockError::OutputFiltered);

    let edits = self::edits().await;
    edits.double.will_filter_input_image().await;
    let blocked = edits.run(&fields, only(&original)).await;
    assert_eq!(blocked.unwrap_err(), BedrockError::InputImageFiltered);

    let edits = self::edits().await;
    edits.double.will_fail_inference().await;
    let failed = edits.run(&fields, only(&original)).await;
    assert_eq!(
        failed.unwrap_err(),
        BedrockError::ModelFailed("Inference error".into())
    );
}
