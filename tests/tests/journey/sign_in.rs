//! Sign-in through an OpenID Connect provider (`EASEL_AUTH=oidc`): the way in and out, the
//! callbacks Easel refuses, and what a person without a session can and cannot do.

use std::sync::{Arc, Mutex};

use easel_tests::{
    BedrockDouble, Page, TestApp, oidc_provider::OidcProvider, spawn_app_with,
    spawn_app_with_sign_in,
};
use reqwest::{StatusCode, Url};

async fn studio_with_sign_in() -> (BedrockDouble, OidcProvider, TestApp) {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app_with_sign_in(&bedrock, &provider).await;
    (bedrock, provider, app)
}

/// The browser is not signed in: the studio sends it to sign in.
async fn assert_signed_out(browser: &easel_tests::Browser) {
    let home = browser.get_without_following("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location().as_deref(), Some("/auth/sign-in?next=%2F"));
}

fn assert_sign_in_refused(page: &Page, status: StatusCode) {
    assert_eq!(page.status, status, "{}", page.text());
    assert_eq!(page.links("Sign in"), ["/auth/sign-in"]);
}

#[tokio::test]
async fn a_person_signs_in_sees_who_is_signed_in_and_signs_out_at_the_provider_too() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;

    let home = app.sign_in(&provider, "ada").await;

    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("Signed in as ada"), "{}", home.text());
    assert_eq!(
        home.attrs("form[action='/auth/sign-out'] button", "id"),
        ["sign-out"]
    );

    let signed_out = app.sign_out().await;

    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    let logout = Url::parse(&signed_out.location().expect("a redirect")).unwrap();
    assert!(
        logout.as_str().starts_with(provider.issuer()),
        "{logout} is not the provider's logout"
    );
    app.follow(&signed_out).await;
    let seen = provider.sign_outs();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].id_token_hint.is_some());
    assert_eq!(seen[0].client_id.as_deref(), Some(provider.client_id()));
    assert_eq!(
        seen[0].post_logout_redirect_uri,
        Some(app.url("/")),
        "the provider sends the person back to the studio"
    );
    assert_signed_out(&app).await;
}

#[tokio::test]
async fn a_session_ended_at_sign_out_no_longer_opens_a_page_even_from_a_copied_cookie() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;
    app.sign_in(&provider, "ada").await;
    let copy = app.another_browser();
    for cookie in app.cookie_header().split("; ") {
        copy.plant_cookie(cookie);
    }
    assert_eq!(copy.home().await.status, StatusCode::OK, "the copy works");

    app.sign_out().await;

    assert_signed_out(&copy).await;
    let post = copy.post("/generate", &[("prompt", "a fox")], false).await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_page_without_a_session_leads_to_sign_in_and_back_to_where_the_person_was() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;

    let first = app.get_without_following("/gallery?page=1").await;

    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(
        first.location().as_deref(),
        Some("/auth/sign-in?next=%2Fgallery%3Fpage%3D1")
    );
    let (landed, page) = app.sign_in_from(&provider, "/gallery?page=1", "ada").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(landed.as_str(), app.url("/gallery?page=1"));
}

#[tokio::test]
async fn sign_in_never_leads_back_to_another_site() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let browser = app.another_browser();
        let start = format!("/auth/sign-in?{}", form_urlencoded_pair("next", next));
        let (landed, _) = browser.sign_in_from(&provider, &start, "ada").await;
        assert_eq!(landed.as_str(), app.url("/"), "{next}");
    }
}

fn form_urlencoded_pair(key: &str, value: &str) -> String {
    let mut url = Url::parse("http://x/").unwrap();
    url.query_pairs_mut().append_pair(key, value);
    url.query().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_htmx_request_without_a_session_is_told_to_go_to_sign_in() {
    let (bedrock, _provider, app) = studio_with_sign_in().await;

    let fragment = reqwest::Client::new()
        .get(app.url("/gallery"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", app.url("/?page=2"))
        .send()
        .await
        .unwrap();

    assert_eq!(fragment.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        fragment.headers()["hx-redirect"],
        "/auth/sign-in?next=%2F%3Fpage%3D2"
    );
    let generate = app.post("/generate", &[("prompt", "a fox")], true).await;
    assert_eq!(generate.status, StatusCode::UNAUTHORIZED);
    assert!(generate.headers.contains_key("hx-redirect"));
    assert!(bedrock.received().is_empty(), "nothing was made");
}

#[tokio::test]
async fn a_form_post_without_a_session_makes_nothing_and_offers_to_sign_in() {
    let (bedrock, provider, app) = studio_with_sign_in().await;

    let refused = app.post("/generate", &[("prompt", "a fox")], false).await;

    assert_sign_in_refused(&refused, StatusCode::UNAUTHORIZED);
    assert!(bedrock.received().is_empty(), "nothing was made");
    app.sign_in(&provider, "ada").await;
    assert!(app.gallery().await.gallery_ids().is_empty());
}

#[tokio::test]
async fn forged_id_tokens_are_refused() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;
    type Forge = fn(&OidcProvider);
    let forgeries: [(&str, Forge); 5] = [
        ("expired", OidcProvider::will_issue_an_expired_id_token),
        (
            "another audience",
            OidcProvider::will_issue_an_id_token_for_another_audience,
        ),
        (
            "a wrong nonce",
            OidcProvider::will_issue_an_id_token_with_a_wrong_nonce,
        ),
        (
            "another issuer",
            OidcProvider::will_issue_an_id_token_from_another_issuer,
        ),
        (
            "an unknown key",
            OidcProvider::will_sign_the_next_id_token_with_an_unknown_key,
        ),
    ];
    for (forgery, forge) in forgeries {
        let browser = app.another_browser();
        forge(&provider);

        let page = browser.sign_in(&provider, "mallory").await;

        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{forgery}");
        assert!(page.text().contains("Sign-in did not work"), "{forgery}");
        assert_signed_out(&browser).await;
    }
}

#[tokio::test]
async fn a_rotated_signing_key_is_followed() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;
    app.sign_in(&provider, "ada").await;

    provider.rotate_keys();
    let bea = app.another_browser();
    let home = bea.sign_in(&provider, "bea").await;

    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("Signed in as bea"));
}

#[tokio::test]
async fn forged_callbacks_are_refused() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;

    let unasked = app
        .get_without_following("/auth/callback?code=stolen&state=guessed")
        .await;
    assert_sign_in_refused(&unasked, StatusCode::BAD_REQUEST);

    let started = app.get_without_following("/auth/sign-in?next=/").await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let wrong_state = app
        .get_without_following("/auth/callback?code=stolen&state=guessed")
        .await;
    assert_sign_in_refused(&wrong_state, StatusCode::BAD_REQUEST);

    let long = "a".repeat(5000);
    let oversized = app
        .get_without_following(&format!("/auth/callback?code={long}&state=x"))
        .await;
    assert_sign_in_refused(&oversized, StatusCode::BAD_REQUEST);

    let cancelled = app.cancel_sign_in(&provider).await;
    assert_sign_in_refused(&cancelled, StatusCode::FORBIDDEN);
    assert_signed_out(&app).await;
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let (_bedrock, provider, app) = studio_with_sign_in().await;
    let (browser, visited) = recording_browser();
    let home = provider.sign_in(&browser, &app.url(""), "ada").await;
    assert_eq!(home.status(), StatusCode::OK);
    let callback = visited
        .lock()
        .unwrap()
        .iter()
        .find(|url| url.path() == "/auth/callback")
        .cloned()
        .expect("the provider sent the browser to the callback");

    let replayed = browser.get(callback).send().await.unwrap();

    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
}

/// A browser that notes every URL it is redirected to.
fn recording_browser() -> (reqwest::Client, Arc<Mutex<Vec<Url>>>) {
    let visited = Arc::new(Mutex::new(Vec::new()));
    let noted = visited.clone();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            noted.lock().unwrap().push(attempt.url().clone());
            match attempt.previous().len() {
                0..5 => attempt.follow(),
                _ => attempt.stop(),
            }
        }))
        .build()
        .unwrap();
    (browser, visited)
}

#[tokio::test]
async fn two_people_never_reach_each_others_pictures_or_jobs() {
    let (_bedrock, provider, ada) = studio_with_sign_in().await;
    ada.sign_in(&provider, "ada").await;
    let job = ada.submit(&[("prompt", "ada's fox")]).await.job_ids()[0].clone();
    let image = ada.wait_for_job(&job).await.image_ids()[0].clone();
    let bea = ada.another_browser();
    bea.sign_in(&provider, "bea").await;

    assert!(bea.gallery().await.gallery_ids().is_empty());
    for path in [
        format!("/images/{image}"),
        format!("/images/{image}/image.png"),
        format!("/images/{image}/preview.jpg"),
        format!("/images/{image}/download"),
        format!("/images/{image}/edit"),
        format!("/?reuse={image}"),
        format!("/jobs/{job}"),
        format!("/jobs/{job}/events"),
    ] {
        assert_eq!(bea.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(bea.cancel(&job).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bea.edit(&image, &[("prompt", "bea's now")], &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(bea.delete(&image).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ada.gallery().await.gallery_ids(),
        std::slice::from_ref(&image)
    );
    assert_eq!(
        ada.get(&format!("/images/{image}/image.png")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn health_checks_and_assets_need_no_session() {
    let (_bedrock, _provider, app) = studio_with_sign_in().await;
    for path in ["/healthz", "/readyz", "/assets/app.css"] {
        assert_eq!(
            app.get_without_following(path).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_studio_starts_while_the_provider_is_unreachable_and_says_so_at_sign_in() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app_with(&bedrock, |config| {
        easel_tests::test_app::sign_in_through(config, &provider)
    })
    .await;
    drop(provider);

    assert_eq!(
        app.get_without_following("/healthz").await.status,
        StatusCode::OK
    );
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    assert!(page.text().contains("could not reach the sign-in provider"));
}
