use std::time::Duration;

use easel::gallery::read_text_chunks;
use easel_tests::{BedrockDouble, spawn_app};
use serde_json::json;

use crate::{CORE, NOVA, TITAN_V1};

#[tokio::test]
async fn a_prompt_becomes_a_picture_in_the_result_on_the_default_model() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app.generate("a red fox in the snow").await;

    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.images_in_result().len(), 1);
    let calls = bedrock.received();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].model_id, CORE,
        "the default model is a live Stability model"
    );
    let full_size = format!("/images/{}/image.png", page.image_ids()[0]);
    let (status, headers, png) = app.get_bytes(&full_size).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[tokio::test]
async fn every_titan_field_reaches_bedrock_as_the_spec_says() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[
            ("model", TITAN_V1),
            ("prompt", "  a lighthouse at dusk  "),
            ("negative_prompt", "people"),
            ("size", "1152x768"),
            ("count", "3"),
            ("cfg_scale", "7.5"),
            ("quality", "premium"),
            ("seed_mode", "fixed"),
            ("seed", "2147483646"),
        ])
        .await;

    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.images_in_result().len(), 3);
    let call = &bedrock.received()[0];
    assert_eq!(call.model_id, TITAN_V1);
    assert_eq!(call.content_type.as_deref(), Some("application/json"));
    assert_eq!(call.accept.as_deref(), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "taskType": "TEXT_IMAGE",
            "textToImageParams": { "text": "a lighthouse at dusk", "negativeText": "people" },
            "imageGenerationConfig": {
                "numberOfImages": 3, "width": 1152, "height": 768,
                "cfgScale": 7.5, "quality": "premium", "seed": 2147483646
            }
        })
    );
    assert_eq!(
        page.seeds(),
        [2147483646; 3],
        "Titan uses the seed sent for the whole batch"
    );
}

#[tokio::test]
async fn nova_canvas_gets_its_own_sizes_and_defaults() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[
            ("model", NOVA),
            ("prompt", "a teapot"),
            ("size", "1280x720"),
        ])
        .await;

    assert_eq!(page.status, 200, "{}", page.html);
    let body = &bedrock.received()[0].body;
    assert_eq!(body["imageGenerationConfig"]["width"], 1280);
    assert_eq!(body["imageGenerationConfig"]["cfgScale"], 6.5);
    assert_eq!(body["imageGenerationConfig"]["quality"], "standard");
}

#[tokio::test]
async fn stability_makes_n_calls_with_n_distinct_seeds() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[
            ("model", CORE),
            ("prompt", "a paper boat"),
            ("negative_prompt", "water"),
            ("size", "16:9"),
            ("count", "3"),
            ("seed_mode", "fixed"),
            ("seed", "4294967293"),
        ])
        .await;

    assert_eq!(page.status, 200, "{}", page.html);
    let mut bodies: Vec<_> = bedrock.received().into_iter().map(|c| c.body).collect();
    bodies.sort_by_key(|b| b["seed"].as_u64());
    let expected: Vec<_> = [4294967293u64, 4294967294, 1]
        .map(|seed| {
            json!({
                "prompt": "a paper boat",
                "negative_prompt": "water",
                "aspect_ratio": "16:9",
                "seed": seed,
                "output_format": "png"
            })
        })
        .into_iter()
        .collect();
    let mut expected = expected;
    expected.sort_by_key(|b| b["seed"].as_u64());
    assert_eq!(bodies, expected, "seeds wrap within the model's range");
    let mut seeds = page.seeds();
    seeds.sort_unstable();
    assert_eq!(
        seeds,
        [1, 4294967293, 4294967294],
        "each picture shows its own seed"
    );
}

#[tokio::test]
async fn a_random_seed_is_drawn_sent_and_shown_never_zero() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[("prompt", "a kite"), ("seed_mode", "random")])
        .await;

    let sent = bedrock.received()[0].body["seed"]
        .as_u64()
        .expect("a concrete seed");
    assert_ne!(
        sent, 0,
        "0 would mean 'random' to Stability, and could not be made again"
    );
    assert_eq!(page.seeds(), [sent]);
}

#[tokio::test]
async fn the_stored_png_carries_its_recipe_and_downloads_under_a_readable_name() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let page = app
        .generate_with(&[
            ("prompt", "A café at dawn 🌅"),
            ("seed_mode", "fixed"),
            ("seed", "77"),
        ])
        .await;
    let id = &page.image_ids()[0];

    let (status, headers, png) = app.get_bytes(&format!("/images/{id}/download")).await;

    assert_eq!(status, 200);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"a-caf-at-dawn-77.png\""
    );
    let recipe: std::collections::HashMap<_, _> = read_text_chunks(&png).into_iter().collect();
    assert_eq!(recipe["Prompt"], "A café at dawn 🌅");
    assert!(recipe["Model"].contains(CORE), "{}", recipe["Model"]);
    assert_eq!(recipe["Seed"], "77");
    assert_eq!(recipe["Size"], "1:1");
    assert!(recipe.contains_key("Created"));
    assert!(recipe.contains_key("Price USD"));
}

#[tokio::test]
async fn reuse_settings_refills_the_form_with_the_same_seed() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;
    let page = app
        .generate_with(&[
            ("model", TITAN_V1),
            ("prompt", "a glass whale"),
            ("size", "768x1152"),
            ("cfg_scale", "9"),
        ])
        .await;
    let seed = page.seeds()[0];

    let form = app.get(&format!("/?reuse={}", page.image_ids()[0])).await;

    assert_eq!(form.field_value("prompt").as_deref(), Some("a glass whale"));
    assert_eq!(form.field_value("seed"), Some(seed.to_string()));
    assert_eq!(form.field_value("cfg_scale").as_deref(), Some("9"));
    assert!(
        form.contains(r#"value="fixed" checked"#),
        "the seed is fixed"
    );
    assert!(form.contains(r#"<option value="768x1152" selected>"#));
    let selected: Vec<_> = form.model_options().into_iter().filter(|o| o.3).collect();
    assert_eq!(selected[0].0, TITAN_V1);
}

#[tokio::test]
async fn the_price_of_the_request_is_shown_next_to_generate() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(600));
    let app = spawn_app(&bedrock).await;

    let home = app.home().await;

    assert!(home.text().contains("$0.040"), "Core costs $0.04 per image");
    let card = app.submit(&[("prompt", "two owls"), ("count", "2")]).await;
    assert_eq!(card.status, 202, "{}", card.html);
    assert_eq!(
        card.job_costs(),
        ["Up to $0.08"],
        "while it runs, the most it may cost"
    );
    let ended = app.wait_for_job(&card.job_ids()[0]).await;
    assert_eq!(ended.job_states(), ["done"]);
    assert_eq!(
        ended.job_costs(),
        ["Cost $0.08"],
        "once ended, what it cost"
    );
}
