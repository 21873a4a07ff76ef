//! Share links: a picture's owner makes a link, anyone holding it sees the picture (and its
//! recipe when allowed) and nothing else, until it is revoked, expires or the picture goes.
//! And "Copy as API": the calls that make a picture again.

use std::sync::Arc;

use easel::{
    identity::PublicUrl,
    studio::{Expiry, ImageId},
};
use easel_tests::{
    BedrockDouble, Browser, TestApp, oidc_provider::OidcProvider, spawn_app, spawn_app_on,
    spawn_app_with_sign_in,
};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

/// Presses "Make a link" on the picture's page: the page with the link shown, and the link's
/// path.
async fn share(browser: &Browser, image: &str, fields: &[(&str, &str)]) -> String {
    let page = browser
        .post(&format!("/images/{image}/share"), fields, false)
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.text());
    let link = page.texts("#share-link").pop().expect("the new link");
    let path = link
        .strip_prefix(&browser.url(""))
        .expect("a link to Easel");
    assert!(path.starts_with("/s/esl_shr_"), "{link}");
    path.to_owned()
}

async fn generated(app: &TestApp, prompt: &str) -> String {
    app.generate(prompt).await.image_ids()[0].clone()
}

/// The digest of the newest link listed on the picture's page, as its revoke form sends it.
async fn newest_share(browser: &Browser, image: &str) -> Option<String> {
    let page = browser.get(&format!("/images/{image}")).await;
    assert_eq!(page.attrs("#revoke-share", "type").len(), 1, "one newest");
    page.attrs("li.share", "data-share").into_iter().next()
}

async fn revoke(browser: &Browser, image: &str, share: &str) -> StatusCode {
    browser
        .post(
            &format!("/images/{image}/shares/revoke"),
            &[("share", share)],
            false,
        )
        .await
        .status
}

/// What a stranger gets at the link, its picture and its preview.
async fn statuses(stranger: &Browser, link: &str) -> [StatusCode; 3] {
    [
        stranger.get(link).await.status,
        stranger.get_bytes(&format!("{link}/image.png")).await.0,
        stranger.get_bytes(&format!("{link}/preview.jpg")).await.0,
    ]
}

#[tokio::test]
async fn a_stranger_sees_the_shared_picture_and_its_recipe_and_nothing_else_of_the_owners() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let other = generated(&app, "another picture of mine").await;
    let image = generated(&app, "a lighthouse at dusk").await;

    let link = share(&app, &image, &[("expiry", "week"), ("recipe", "on")]).await;
    let stranger = app.another_browser();
    let page = stranger.get(&link).await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.texts("h1")[0].contains("a lighthouse at dusk"));
    assert!(page.text().contains("Seed"), "the recipe shows");
    let html = &page.html;
    for private in [
        &image,
        &other,
        "another picture of mine",
        "/images/",
        "/gallery",
    ] {
        assert!(!html.contains(private), "the page shows {private}");
    }
    assert!(page.texts("form").is_empty(), "nothing to change");
    let og_image = &page.attrs("meta[property='og:image']", "content")[0];
    assert_eq!(*og_image, stranger.url(&format!("{link}/preview.jpg")));
    assert_eq!(
        page.attrs("meta[name='twitter:card']", "content"),
        ["summary_large_image"]
    );
    let (status, headers, jpeg) = stranger.get_bytes(&format!("{link}/preview.jpg")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(jpeg.starts_with(&[0xff, 0xd8]));
    let (status, headers, png) = stranger.get_bytes(&format!("{link}/image.png")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(
        stranger.get(&format!("/images/{image}")).await.status,
        StatusCode::NOT_FOUND,
        "the link opens nothing but itself"
    );
}

#[tokio::test]
async fn a_link_without_the_recipe_shows_the_picture_alone() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a secret prompt").await;

    let link = share(&app, &image, &[("expiry", "day")]).await;
    let page = app.another_browser().get(&link).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.html.contains("a secret prompt"));
    assert!(!page.text().contains("Seed"));
    assert_eq!(page.attrs("img", "src").len(), 1);
}

#[tokio::test]
async fn the_owner_sees_each_live_link_and_a_revoked_one_is_gone_for_everyone_at_once() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;
    let kept = share(&app, &image, &[("expiry", "never")]).await;
    let revoked = share(&app, &image, &[("expiry", "day"), ("recipe", "on")]).await;
    let page = app.get(&format!("/images/{image}")).await;
    assert_eq!(page.attrs("li.share", "data-share").len(), 2);
    assert!(
        page.texts("li.share")[0].contains("with the recipe"),
        "newest first"
    );
    let stranger = app.another_browser();
    assert_eq!(statuses(&stranger, &revoked).await, [StatusCode::OK; 3]);

    let newest = newest_share(&app, &image).await.expect("a link listed");
    assert_eq!(revoke(&app, &image, &newest).await, StatusCode::OK);

    assert_eq!(
        statuses(&stranger, &revoked).await,
        [StatusCode::NOT_FOUND; 3]
    );
    assert_eq!(stranger.get(&kept).await.status, StatusCode::OK);
    let page = app.get(&format!("/images/{image}")).await;
    assert_eq!(page.attrs("li.share", "data-share").len(), 1);
}

#[tokio::test]
async fn an_expired_link_answers_gone_and_leaves_the_owners_list() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;
    let owner = app.owner_id().await;
    let id = ImageId::parse(&image).unwrap();
    let now = OffsetDateTime::now_utc();
    let make = |made_at| app.studio().share(&owner, &id, Expiry::Day, true, made_at);
    let expired = make(now - Duration::days(2)).await.unwrap().unwrap();
    let young = make(now - Duration::hours(1)).await.unwrap().unwrap();

    let stranger = app.another_browser();
    let expired = format!("/s/{}", expired.link.as_str());
    let page = stranger.get(&expired).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.text().contains("expired"), "{}", page.text());
    assert_eq!(statuses(&stranger, &expired).await, [StatusCode::GONE; 3]);
    let young = format!("/s/{}", young.link.as_str());
    assert_eq!(stranger.get(&young).await.status, StatusCode::OK);
    let page = app.get(&format!("/images/{image}")).await;
    assert_eq!(
        page.attrs("li.share", "data-share").len(),
        1,
        "only the live link"
    );
}

#[tokio::test]
async fn another_browser_cannot_revoke_a_link_nor_share_the_picture() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;
    let link = share(&app, &image, &[("expiry", "week")]).await;
    let share_id = newest_share(&app, &image).await.unwrap();
    let other = app.another_browser();
    other.home().await;

    assert_eq!(
        revoke(&other, &image, &share_id).await,
        StatusCode::NOT_FOUND
    );
    let shared = other
        .post(
            &format!("/images/{image}/share"),
            &[("expiry", "week")],
            false,
        )
        .await;
    assert_eq!(shared.status, StatusCode::NOT_FOUND);
    assert_eq!(other.get(&link).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_link_with_an_unknown_expiry_is_refused_with_a_sentence_and_a_made_up_link_is_not_found()
{
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;

    let refused = app
        .post(
            &format!("/images/{image}/share"),
            &[("expiry", "year")],
            false,
        )
        .await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("a day, a week or for ever"));
    let made_up = format!("/s/esl_shr_{}", "a".repeat(43));
    assert_eq!(app.get(&made_up).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/s/../images").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_the_picture_ends_its_links() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;
    let link = share(&app, &image, &[("expiry", "never")]).await;

    app.delete(&image).await;

    assert_eq!(
        statuses(&app.another_browser(), &link).await,
        [StatusCode::NOT_FOUND; 3]
    );
}

#[tokio::test]
async fn with_sign_in_on_a_visitor_not_signed_in_opens_the_link_and_another_person_cannot_revoke_it()
 {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app_with_sign_in(&bedrock, &provider).await;
    app.sign_in(&provider, "ada").await;
    let image = generated(&app, "ada's fox").await;
    let link = share(&app, &image, &[("expiry", "day"), ("recipe", "on")]).await;

    let visitor = app.another_browser();
    let page = visitor.get_without_following(&link).await;
    assert_eq!(page.status, StatusCode::OK, "no detour to sign in");
    assert!(page.text().contains("ada's fox"));
    assert_eq!(statuses(&visitor, &link).await, [StatusCode::OK; 3]);

    let bob = app.another_browser();
    bob.sign_in(&provider, "bob").await;
    let share_id = newest_share(&app, &image).await.unwrap();
    assert_eq!(revoke(&bob, &image, &share_id).await, StatusCode::NOT_FOUND);
    assert_eq!(visitor.get(&link).await.status, StatusCode::OK);
    assert_eq!(revoke(&app, &image, &share_id).await, StatusCode::OK);
    assert_eq!(visitor.get(&link).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_link_revoked_on_one_task_is_refused_on_the_other_at_once() {
    let bedrock = BedrockDouble::start().await;
    let store = Arc::new(object_store::memory::InMemory::new());
    let one = spawn_app_on(&bedrock, store.clone()).await;
    let other = spawn_app_on(&bedrock, store).await;
    let image = generated(&one, "a fox").await;
    let link = share(&one, &image, &[("expiry", "never")]).await;
    let stranger = other.another_browser();
    assert_eq!(statuses(&stranger, &link).await, [StatusCode::OK; 3]);

    let share_id = newest_share(&one, &image).await.unwrap();
    assert_eq!(revoke(&one, &image, &share_id).await, StatusCode::OK);

    assert_eq!(statuses(&stranger, &link).await, [StatusCode::NOT_FOUND; 3]);
}

#[tokio::test]
async fn a_pictures_page_offers_the_curl_and_python_calls_that_make_it_again() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "it's a $5 `fox`").await;

    let page = app.get(&format!("/images/{image}")).await;

    let commands = page.texts("#copy-as-api pre");
    assert_eq!(commands.len(), 2);
    let (curl, python) = (&commands[0], &commands[1]);
    assert!(curl.starts_with(&format!("curl '{}", app.url("/v1/images/generations"))));
    assert!(curl.contains("Bearer $EASEL_TOKEN"));
    assert!(curl.contains(r#""prompt": "it'\''s a $5 `fox`""#), "{curl}");
    assert!(python.contains("client.images.generate("));
    assert!(python.contains(&format!("base_url=\"{}\"", app.url("/v1"))));
    assert_eq!(
        page.attrs("#copy-as-api button[data-copy]", "data-copy")
            .len(),
        2
    );
}

#[tokio::test]
async fn behind_a_public_address_the_unfurl_preview_is_an_absolute_url_there() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let image = generated(&app, "a fox").await;
    let link = share(&app, &image, &[("expiry", "never")]).await;

    let app = app
        .restart_with(&bedrock, |config| {
            config.public_url = Some(PublicUrl::parse("https://easel.example").unwrap());
        })
        .await;
    let page = app.another_browser().get(&link).await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.attrs("meta[property='og:image']", "content"),
        [format!("https://easel.example{link}/preview.jpg")]
    );
    assert_eq!(
        page.attrs("meta[property='og:url']", "content"),
        [format!("https://easel.example{link}")]
    );
}
