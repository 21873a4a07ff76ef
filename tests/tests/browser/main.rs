//! The main journeys in a real headless Chromium, driven over WebDriver: type a prompt, press
//! Generate, a job card appears and its picture arrives without a page load; its download is the
//! PNG. A running job's Cancel button stops it, and the form stays usable meanwhile. With
//! sign-in on, each person signs in through the provider's form and sees only their own pictures.

mod sign_in;
mod studio_page;

use std::time::Duration;

use easel_tests::{BedrockDouble, spawn_app};
use serde_json::{Value, json};
use studio_page::StudioPage;

#[tokio::test]
async fn a_person_types_a_prompt_and_the_picture_appears_without_a_page_load() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let studio = StudioPage::open(&app.url("/")).await;
    let prompt = "a lighthouse on a cliff at dusk";
    studio.type_prompt(prompt).await;
    assert_eq!(
        studio.text("#prompt-count .count").await,
        "31",
        "the character count follows the typing"
    );
    studio.press_generate().await;

    let card = studio.wait_for_job_state(prompt, "done").await;
    let picture = card
        .find(fantoccini::Locator::Css("img"))
        .await
        .expect("the picture is pushed into the card");
    studio.assert_same_page().await;
    studio.wait_until_shown(&picture).await;
    let seed = studio.text("#result .seed").await;
    assert!(seed.starts_with("Seed "), "{seed}");
    let gallery = studio.find_all("#gallery li.card img").await;
    assert_eq!(gallery.len(), 1, "the gallery updated too");
    let first_picture = gallery[0].attr("src").await.unwrap();
    assert_eq!(
        studio.text("#spend").await,
        "Spent today: $0.04 of $2.00",
        "and what was spent"
    );

    let answer = studio.download("#result a.download").await;
    assert_eq!(answer[0], 200);
    assert_eq!(answer[1], "image/png");
    let disposition = answer[2].as_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"a-lighthouse-on-a-cliff-at-dusk-"),
        "{disposition}"
    );
    assert_eq!(
        answer[3],
        json!([137, 80, 78, 71, 13, 10, 26, 10]),
        "the download is a PNG"
    );

    // A second picture goes on top of the gallery, the first staying below it.
    studio.press_generate().await;
    studio.wait_for("#gallery li.card:nth-child(2)").await;
    let gallery = studio.find_all("#gallery li.card img").await;
    assert_eq!(gallery.len(), 2, "the second picture joined the gallery");
    let newest = studio
        .find("#result article.job[data-state=done] img")
        .await
        .attr("src")
        .await
        .unwrap();
    assert_eq!(
        gallery[0].attr("src").await.unwrap(),
        newest,
        "newest first"
    );
    assert_eq!(gallery[1].attr("src").await.unwrap(), first_picture);
    assert_eq!(studio.text("#gallery-total").await, "2");
    studio.assert_same_page().await;

    studio.close().await;
}

#[tokio::test]
async fn a_running_job_is_cancelled_from_its_card_while_the_form_stays_usable() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_secs(30));
    let app = spawn_app(&bedrock).await;
    let studio = StudioPage::open(&app.url("/")).await;

    studio.generate("a slow sunrise").await;
    studio.wait_for_job_state("a slow sunrise", "running").await;
    // The form is free for another job while the first one runs.
    studio.generate("a second idea").await;
    studio.wait_for_job_state("a second idea", "running").await;
    assert_eq!(studio.find_all("#result article.job").await.len(), 2);

    studio.cancel("a slow sunrise").await;
    studio
        .wait_for_job_state("a slow sunrise", "cancelled")
        .await;
    assert_eq!(
        studio.shown_state("a slow sunrise").await,
        "Cancelled",
        "the card says it was cancelled"
    );
    studio.assert_same_page().await;
    assert!(studio.find_all("#gallery li.card").await.is_empty());

    studio.close().await;
}

#[tokio::test]
async fn a_person_paints_a_mask_inpaints_and_follows_the_lineage_back() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let studio = StudioPage::open(&app.url("/")).await;
    let card = studio.generate_and_wait("a house by a lake").await;
    let edit = card
        .find(fantoccini::Locator::Css("a.edit"))
        .await
        .expect("the picture's card has an Edit link");
    let source = edit.attr("href").await.unwrap().expect("a link");
    let source = source
        .strip_prefix("/images/")
        .and_then(|s| s.strip_suffix("/edit"))
        .expect("an edit page")
        .to_owned();
    studio.follow(edit).await;
    studio.wait_for("#painter canvas.mask-layer").await;
    studio.mark().await;
    studio
        .find("#edit-form textarea[name=prompt]")
        .await
        .send_keys("a red door")
        .await
        .unwrap();

    studio.paint_mask().await;
    studio.wait_for_mask_files(1).await;
    studio.click("[data-mask-action=undo]").await;
    studio.wait_for_mask_files(0).await;
    studio.paint_mask().await;
    studio.wait_for_mask_files(1).await;
    studio.click("#edit-button").await;

    let result = studio
        .wait_for("#result article.job[data-state=done] img")
        .await;
    studio.assert_same_page().await;
    studio.wait_until_shown(&result).await;
    let call = bedrock.received().pop().expect("an inpaint call");
    assert_eq!(call.model_id, "us.stability.stable-image-inpaint-v1:0");
    let picture = decode(&call.body["image"]);
    let mask = decode(&call.body["mask"]).to_luma8();
    assert_eq!(
        mask.dimensions(),
        (picture.width(), picture.height()),
        "the picture's own size"
    );
    let (cx, cy) = (mask.width() / 2, mask.height() / 2);
    assert_eq!(mask.get_pixel(cx, cy).0, [255], "white where painted");
    assert_eq!(mask.get_pixel(2, 2).0, [0], "black where not");

    // From the result to its permalink, and back along the lineage to the source.
    let picture_page = studio
        .find("#result article.job[data-state=done] figure a")
        .await;
    studio.follow(picture_page).await;
    let made_from = studio.wait_for(".made-from a").await;
    assert_eq!(made_from.text().await.unwrap(), "this picture");
    studio.follow(made_from).await;
    studio.wait_for(".lineage.edits img").await;
    let url = studio.browser().current_url().await.unwrap();
    assert!(url.path().ends_with(&source), "{url}");

    studio.close().await;
}

fn decode(base64: &Value) -> image::DynamicImage {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.as_str().expect("a base64 picture"))
        .unwrap();
    image::load_from_memory(&bytes).unwrap()
}

#[tokio::test]
async fn a_downloaded_picture_dropped_on_the_page_fills_the_form() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let studio = StudioPage::open(&app.url("/")).await;
    let card = studio.generate_and_wait("a windmill in the snow").await;
    card.find(fantoccini::Locator::Css("a.download"))
        .await
        .expect("a picture to download");
    studio.browser().goto(&app.url("/")).await.unwrap();

    studio
        .drop_picture("#gallery a[download]", "windmill.png")
        .await;
    studio.wait_for_prompt("a windmill in the snow").await;
    studio.close().await;
}
