//! Editing: a picture of one's own is uploaded, edited as a job, and each result joins the
//! gallery linked to what it was made from. Hostile uploads and bad masks are refused next to
//! their field before anything is called.

use std::io::Cursor;

use easel_tests::{BedrockDouble, Browser, spawn_app};
use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};

pub(crate) const WIDTH: u32 = 256;
pub(crate) const HEIGHT: u32 = 192;

/// A picture of the given size with something in it: a gradient.
pub(crate) fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
}

pub(crate) fn png(image: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.into().write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A mask as a painter makes it: black, with a white square (the part to change) unless empty.
pub(crate) fn mask(width: u32, height: u32, painted: bool) -> Vec<u8> {
    png(GrayImage::from_fn(width, height, |x, y| {
        let inside = painted && (16..80).contains(&x) && (16..80).contains(&y);
        Luma([if inside { 255 } else { 0 }])
    }))
}

/// Uploads a fresh picture and lands on its edit page; the picture's id.
pub(crate) async fn uploaded(browser: &Browser) -> String {
    let page = browser
        .upload("holiday.png", png(picture(WIDTH, HEIGHT)))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.picture_being_edited().expect("the upload's edit page")
}

fn pixels(png: &[u8]) -> RgbImage {
    image::load_from_memory(png).unwrap().to_rgb8()
}

#[tokio::test]
async fn an_upload_is_inpainted_into_a_new_picture_and_each_page_links_the_other() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;
    assert_eq!(app.gallery().await.gallery_captions(), ["Uploaded picture"]);

    let job = app
        .edit_and_wait(
            &source,
            &[("operation", "inpaint"), ("prompt", "a red door")],
            &[("mask", mask(WIDTH, HEIGHT, true))],
        )
        .await;

    assert_eq!(job.job_states(), ["done"], "{}", job.text());
    let edit = job.image_ids()[0].clone();
    let call = bedrock.received().pop().expect("an inpaint call");
    assert_eq!(call.model_id, "us.stability.stable-image-inpaint-v1:0");
    assert_eq!(call.body["prompt"], "a red door");
    assert!(call.body["mask"].is_string(), "{}", call.body);
    assert_eq!(
        app.gallery().await.gallery_ids(),
        [edit.clone(), source.clone()],
        "a new picture; the upload is kept"
    );
    let (_, _, kept) = app.get_bytes(&format!("/images/{source}/image.png")).await;
    assert_eq!(
        pixels(&kept),
        picture(WIDTH, HEIGHT),
        "the upload is not overwritten"
    );

    let edited = app.get(&format!("/images/{edit}")).await;
    assert_eq!(
        edited.made_from(),
        (
            Some(source.clone()),
            "Made from this picture by Inpaint.".to_owned()
        )
    );
    let original = app.get(&format!("/images/{source}")).await;
    assert_eq!(original.edits_listed(), [edit]);
    assert_eq!(original.made_from().0, None);
}

#[tokio::test]
async fn reuse_settings_fills_the_edit_form_as_the_edit_was_made() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;
    let job = app
        .edit_and_wait(
            &source,
            &[
                ("operation", "search-replace"),
                ("prompt", "a golden retriever"),
                ("search_prompt", "the cat"),
            ],
            &[],
        )
        .await;
    let edit = job.image_ids()[0].clone();
    let seed = job.seeds()[0];

    let reuse = app
        .get(&format!("/images/{edit}"))
        .await
        .links("Reuse settings");
    assert_eq!(reuse, [format!("/images/{source}/edit?reuse={edit}")]);
    let form = app.get(&reuse[0]).await;

    assert_eq!(form.picture_being_edited(), Some(source));
    assert_eq!(form.chosen_operation().as_deref(), Some("search-replace"));
    assert_eq!(
        form.field_value("prompt").as_deref(),
        Some("a golden retriever")
    );
    assert_eq!(
        form.field_value("search_prompt").as_deref(),
        Some("the cat")
    );
    assert_eq!(form.field_value("seed"), Some(seed.to_string()));
}

#[tokio::test]
async fn three_edits_make_a_lineage_that_can_be_walked_both_ways() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let upload = uploaded(&app).await;
    let mut chain = vec![upload.clone()];
    let steps: [&[(&str, &str)]; 3] = [
        &[("operation", "remove-background")],
        &[
            ("operation", "search-recolor"),
            ("prompt", "deep blue"),
            ("select_prompt", "the sky"),
        ],
        &[("operation", "outpaint"), ("left", "64")],
    ];
    for fields in steps {
        let from = chain.last().unwrap().clone();
        let job = app.edit_and_wait(&from, fields, &[]).await;
        assert_eq!(job.job_states(), ["done"], "{}", job.text());
        chain.push(job.image_ids()[0].clone());
    }

    let (_, _, last) = app
        .get_bytes(&format!("/images/{}/image.png", chain[3]))
        .await;
    let last = pixels(&last);
    assert_eq!(
        last.dimensions(),
        (WIDTH + 64, HEIGHT),
        "outpainted on the left"
    );
    // Back from the newest to the upload by the "Made from" links, and forward by the edits.
    let mut at = chain[3].clone();
    for expected in chain.iter().rev().skip(1) {
        let page = app.get(&format!("/images/{at}")).await;
        let from = page.made_from().0.expect("made from a picture");
        assert_eq!(&from, expected);
        let source = app.get(&format!("/images/{from}")).await;
        assert_eq!(source.edits_listed(), [at.clone()]);
        at = from;
    }
    assert_eq!(
        app.get(&format!("/images/{upload}")).await.made_from().0,
        None
    );
}

#[tokio::test]
async fn a_removed_background_shows_on_a_checkerboard_in_its_card() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let red_square_on_green = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let subject = (96..160).contains(&x) && (64..128).contains(&y);
        Rgb(if subject {
            [200, 30, 30]
        } else {
            [40, 160, 60]
        })
    });
    let page = app.upload("subject.png", png(red_square_on_green)).await;
    let source = page.picture_being_edited().expect("the upload's edit page");

    let job = app
        .edit_and_wait(&source, &[("operation", "remove-background")], &[])
        .await;

    let id = job.image_ids()[0].clone();
    let preview_src = format!("/images/{id}/preview.jpg");
    assert_eq!(job.images_in_result(), std::slice::from_ref(&preview_src));
    let (_, _, preview) = app.get_bytes(&preview_src).await;
    let preview = image::load_from_memory(&preview).unwrap().to_rgb8();
    // Where the green was: grey and white squares, side by side, as on the permalink.
    let [grey, white] = [(4, 4), (12, 4)].map(|(x, y)| preview.get_pixel(x, y).0);
    assert!(grey.iter().all(|c| (195..=213).contains(c)), "{grey:?}");
    assert!(white.iter().all(|c| *c > 245), "{white:?}");
    let subject = preview.get_pixel(128, 96).0;
    assert!(
        subject[0] > 180 && subject[1] < 60,
        "the subject stays: {subject:?}"
    );
}

#[tokio::test]
async fn an_edit_of_a_deleted_picture_says_its_source_is_gone() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;
    let job = app
        .edit_and_wait(&source, &[("operation", "remove-background")], &[])
        .await;
    let edit = job.image_ids()[0].clone();

    app.delete(&source).await;

    let page = app.get(&format!("/images/{edit}")).await;
    assert_eq!(
        page.made_from(),
        (
            None,
            "Made by Remove background from a picture that has since been deleted.".to_owned()
        )
    );
}

#[tokio::test]
async fn an_edit_without_javascript_lands_on_its_job_page() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;

    let page = app
        .edit_without_js(&source, &[("operation", "upscale-fast")], &[])
        .await;

    let id = page.job_ids()[0].clone();
    let job = app.wait_for_job(&id).await;
    assert_eq!(job.job_states(), ["done"], "{}", job.text());
    let (_, _, png) = app
        .get_bytes(&format!("/images/{}/image.png", job.image_ids()[0]))
        .await;
    assert_eq!(pixels(&png).dimensions(), (WIDTH * 4, HEIGHT * 4));
}

#[tokio::test]
async fn a_bad_mask_is_refused_next_to_its_field_before_any_call() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;
    let inpaint = [("operation", "inpaint"), ("prompt", "a red door")];
    let cases = [
        (
            vec![("mask", mask(64, 64, true))],
            "The mask is 64×64 but the picture is 256×192.",
        ),
        (
            vec![("mask", mask(WIDTH, HEIGHT, false))],
            "The mask is empty: paint the area to change.",
        ),
        (vec![], "Paint the area to change, or upload a mask."),
    ];

    for (files, message) in cases {
        let answer = app.edit(&source, &inpaint, &files).await;

        assert_eq!(answer.status, 422, "{}", answer.text());
        assert_eq!(answer.error_for("mask").as_deref(), Some(message));
        assert_eq!(answer.headers["hx-retarget"], "#edit-form");
        assert_eq!(
            answer.field_value("prompt").as_deref(),
            Some("a red door"),
            "what was typed is kept"
        );
    }
    assert!(bedrock.received().is_empty(), "nothing was called");
    assert_eq!(app.gallery().await.gallery_ids(), [source]);
}

#[tokio::test]
async fn each_operation_shows_only_its_own_fields() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let source = uploaded(&app).await;
    let fields = |operation: &str| {
        let app = &app;
        let source = source.clone();
        let operation = operation.to_owned();
        async move {
            app.get(&format!(
                "/images/{source}/edit/fields?operation={operation}&prompt=kept"
            ))
            .await
        }
    };

    let erase = fields("erase").await;
    assert_eq!(
        erase.edit_fields(),
        [
            "operation",
            "mask",
            "grow_mask",
            "seed_mode",
            "seed_mode",
            "seed"
        ]
    );
    let transfer = fields("style-transfer").await;
    assert!(transfer.edit_fields().contains(&"style_image".to_owned()));
    assert!(!transfer.edit_fields().contains(&"mask".to_owned()));
    assert_eq!(transfer.field_value("prompt").as_deref(), Some("kept"));
    let upscale = fields("upscale-fast").await;
    assert_eq!(upscale.edit_fields(), ["operation"]);
    assert!(upscale.contains("Takes pictures from 32×32 up to 1.0 megapixels."));
}

#[tokio::test]
async fn hostile_uploads_are_refused_with_a_sentence_and_nothing_is_kept() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let mut cut_short = png(picture(WIDTH, HEIGHT));
    cut_short.truncate(cut_short.len() / 2);
    let cases: [(&str, Vec<u8>, u16, &str); 4] = [
        (
            "page.png",
            b"<!doctype html><html><script>alert(1)</script></html>".to_vec(),
            422,
            "This file is a web page or other markup, not a picture: choose a PNG, JPEG or WebP file.",
        ),
        (
            "bomb.png",
            claims_size(100_000, 100_000),
            422,
            "The picture is 100000×100000 pixels",
        ),
        (
            "cut.png",
            cut_short,
            422,
            "This file is damaged or cut short: save it again and upload the new file.",
        ),
        (
            "huge.png",
            vec![0; 33 * 1024 * 1024],
            413,
            "This is more than Easel takes in one form (32 MB in all). Choose a smaller file.",
        ),
    ];

    for (name, bytes, status, message) in cases {
        let answer = app.upload(name, bytes).await;

        assert_eq!(answer.status, status, "{name}: {}", answer.text());
        let said = answer.error_for("picture").unwrap_or_default();
        assert!(said.starts_with(message), "{name}: {said}");
    }
    assert!(app.gallery().await.gallery_ids().is_empty());
}

/// A PNG whose header claims `width`×`height` pixels: what a decompression bomb looks like
/// before its image data is inflated. A few bytes of that data are enough here.
fn claims_size(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_chunk(png::chunk::IDAT, b"\x78\x9c\x03\0")
        .unwrap();
    drop(writer);
    out
}
