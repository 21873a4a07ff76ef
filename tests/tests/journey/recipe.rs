//! A picture dropped on the page fills the form with its recipe: Easel's own, an edit's (its
//! source's edit form), or AUTOMATIC1111's prompts and seed. Anything else says it has none.

use std::io::Cursor;

use easel_tests::{BedrockDouble, spawn_app};
use image::{ImageFormat, Rgb, RgbImage};

fn plain_png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 64, Rgb([20, 40, 60]))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A PNG as AUTOMATIC1111 saves it: its recipe in a `parameters` text chunk.
pub(crate) fn automatic1111_png(parameters: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 2, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .add_text_chunk("parameters".to_owned(), parameters.to_owned())
        .unwrap();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[0; 12]).unwrap();
    drop(writer);
    out
}

#[tokio::test]
async fn a_downloaded_picture_fills_the_form_as_it_was_made() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app
        .generate_with(&[
            ("prompt", "a lighthouse at dusk"),
            ("negative_prompt", "fog"),
            ("seed_mode", "fixed"),
            ("seed", "4242"),
        ])
        .await;
    let id = made.image_ids()[0].clone();
    let (_, _, png) = app.get_bytes(&format!("/images/{id}/download")).await;

    let form = app.drop_picture(png).await;

    assert_eq!(form.status, 200, "{}", form.text());
    assert_eq!(form.headers["hx-retarget"], "#generate-form");
    assert_eq!(
        form.field_value("prompt").as_deref(),
        Some("a lighthouse at dusk")
    );
    assert_eq!(form.field_value("negative_prompt").as_deref(), Some("fog"));
    assert_eq!(form.field_value("seed").as_deref(), Some("4242"));
}

#[tokio::test]
async fn an_automatic1111_picture_fills_the_prompts_and_the_seed() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let png = automatic1111_png(
        "a cat in a hat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512",
    );

    let form = app.drop_picture(png).await;

    assert_eq!(
        form.field_value("prompt").as_deref(),
        Some("a cat in a hat")
    );
    assert_eq!(
        form.field_value("negative_prompt").as_deref(),
        Some("blurry")
    );
    assert_eq!(form.field_value("seed").as_deref(), Some("123"));
}

#[tokio::test]
async fn a_picture_without_a_recipe_says_so_and_offers_the_upload() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let answer = app.drop_picture(plain_png()).await;

    assert_eq!(answer.status, 422);
    assert_eq!(answer.headers["hx-retarget"], "#recipe-form");
    assert_eq!(
        answer.error_for("recipe_file").as_deref(),
        Some(
            "This picture holds no recipe Easel can read. To edit it instead, upload it with \
             \"Edit a picture of your own\"."
        )
    );
}

#[tokio::test]
async fn an_edited_picture_opens_its_source_edit_form_filled_in() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let page = app.upload("mine.png", plain_png()).await;
    let source = page.picture_being_edited().unwrap();
    let job = app
        .edit_and_wait(
            &source,
            &[
                ("operation", "outpaint"),
                ("prompt", "more sea"),
                ("up", "32"),
            ],
            &[],
        )
        .await;
    let (_, _, png) = app
        .get_bytes(&format!("/images/{}/download", job.image_ids()[0]))
        .await;

    let answer = app.drop_picture(png).await;

    let to = answer.headers["hx-redirect"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("/images/{source}/edit?")), "{to}");
    let form = app.get(&to).await;
    assert_eq!(form.chosen_operation().as_deref(), Some("outpaint"));
    assert_eq!(form.field_value("prompt").as_deref(), Some("more sea"));
    assert_eq!(form.field_value("up").as_deref(), Some("32"));
}
