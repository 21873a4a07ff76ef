//! Signing in through a provider on another site, as a real one is: the studio on
//! `127.0.0.1`, the provider on `localhost`.

use easel_tests::{BedrockDouble, oidc_provider::OidcProvider, spawn_app_with_sign_in};
use fantoccini::Locator;

use crate::studio_page::StudioPage;

#[tokio::test]
async fn a_person_signs_in_generates_and_signs_out_and_the_next_person_sees_none_of_it() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app_with_sign_in(&bedrock, &provider).await;

    // The studio leads to the provider's form, and back once she has signed in.
    let studio = StudioPage::open(&app.url("/")).await;
    studio.sign_in_as("ada").await;
    let here = studio.browser().current_url().await.unwrap();
    assert_eq!(here.as_str(), app.url("/"), "back where she started");
    assert_eq!(studio.text(".signed-in .who").await, "Signed in as ada");

    let card = studio.generate_and_wait("a red kite over the dunes").await;
    let picture = card
        .find(Locator::Css("figure a"))
        .await
        .expect("a link to the picture's page")
        .attr("href")
        .await
        .unwrap()
        .expect("an address");
    assert_eq!(studio.status_of(&picture).await, 200, "her picture opens");
    assert_eq!(studio.find_all("#gallery li.card").await.len(), 1);

    // Signed out here and at the provider, the studio leads to its form again.
    studio.sign_out().await;
    studio.wait_for("#username").await;
    let sign_outs = provider.sign_outs();
    assert_eq!(sign_outs.len(), 1, "the provider was told: {sign_outs:?}");
    assert_eq!(
        sign_outs[0].post_logout_redirect_uri.as_deref(),
        Some(app.url("/").as_str())
    );

    // The next person in the same browser sees none of it.
    studio.sign_in_as("grace").await;
    assert_eq!(studio.text(".signed-in .who").await, "Signed in as grace");
    assert!(
        studio.find_all("#gallery li.card").await.is_empty(),
        "none of ada's pictures in grace's gallery"
    );
    assert_eq!(
        studio.status_of(&picture).await,
        404,
        "ada's picture is not found for grace"
    );

    studio.close().await;
}
