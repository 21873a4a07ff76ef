//! Personal access tokens: made on `/tokens`, shown once, listed, used by a script on the API
//! and revoked; cookies never open the API and tokens never open a page.

use std::sync::Arc;

use easel_tests::{
    ApiAnswer, BedrockDouble, Browser, api_get, oidc_provider::OidcProvider, spawn_app,
    spawn_app_on, spawn_app_with_sign_in,
};
use object_store::{ObjectStore, memory::InMemory};
use reqwest::StatusCode;

use crate::CORE;

/// OpenAI's clients raise their authentication error on this answer.
fn assert_openai_unauthorized(answer: &ApiAnswer) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.json);
    let error = &answer.json["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.json
    );
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "invalid_api_key");
    assert!(error.get("param").is_some(), "{}", answer.json);
    assert_eq!(answer.headers["cache-control"], "no-store");
}

fn model_ids(answer: &ApiAnswer) -> Vec<String> {
    answer.json["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|model| model["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_token_is_shown_once_listed_lists_the_models_and_stops_at_once_when_revoked() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let made = app.make_token("notebook", "30").await;

    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let token = made.texts("#new-token").pop().expect("the token shown");
    assert!(token.starts_with("esl_pat_"), "{token}");
    assert_eq!(made.attrs("button[data-copy]", "data-copy"), ["new-token"]);
    let reloaded = app.get("/tokens").await;
    assert!(reloaded.texts("#new-token").is_empty());
    assert!(
        !reloaded.html.contains(&token),
        "the token is shown only once"
    );
    assert_eq!(reloaded.attrs(".token", "data-name"), ["notebook"]);
    let listed = reloaded.texts(".token[data-name=\"notebook\"]").join(" ");
    assert!(listed.contains("last used never"), "{listed}");
    assert!(!listed.contains("expires never"), "{listed}");

    let models = api_get(&app.address, "/v1/models", Some(&token)).await;

    assert_eq!(models.status, StatusCode::OK, "{}", models.json);
    assert_eq!(models.headers["cache-control"], "no-store");
    assert_eq!(models.json["object"], "list");
    let ids = model_ids(&models);
    assert!(ids.contains(&CORE.to_owned()), "{ids:?}");
    for operation in [
        "remove-background",
        "upscale-fast",
        "search-replace",
        "inpaint",
    ] {
        assert!(
            ids.contains(&operation.to_owned()),
            "{operation} in {ids:?}"
        );
    }
    assert!(
        models.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["object"] == "model" && m["created"].is_u64() && m["owned_by"].is_string()),
        "{}",
        models.json
    );
    let listed = app.get("/tokens").await;
    let listed = listed.texts(".token[data-name=\"notebook\"]").join(" ");
    assert!(!listed.contains("last used never"), "{listed}");

    let revoked = app.revoke_token("notebook").await;

    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert!(revoked.attrs(".token", "data-name").is_empty());
    assert_openai_unauthorized(&api_get(&app.address, "/v1/models", Some(&token)).await);
}

#[tokio::test]
async fn a_revoke_on_one_task_holds_on_another_at_once() {
    let bedrock = BedrockDouble::start().await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let first = spawn_app_on(&bedrock, store.clone()).await;
    let second = spawn_app_on(&bedrock, store).await;
    let token = first.new_token("ci").await;
    assert_eq!(
        api_get(&second.address, "/v1/models", Some(&token))
            .await
            .status,
        StatusCode::OK
    );

    first.revoke_token("ci").await;

    assert_openai_unauthorized(&api_get(&second.address, "/v1/models", Some(&token)).await);
}

#[tokio::test]
async fn a_missing_malformed_or_unknown_token_gets_openais_error_with_401() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("ci").await;
    let mut wrong_checksum = token.clone();
    let last = if token.ends_with('0') { "1" } else { "0" };
    wrong_checksum.replace_range(token.len() - 1.., last);
    let unknown = spawn_app(&bedrock).await.new_token("elsewhere").await;

    for token in [
        None,
        Some(""),
        Some("sk-not-an-easel-token"),
        Some(wrong_checksum.as_str()),
        Some(unknown.as_str()),
    ] {
        let answer = api_get(&app.address, "/v1/models", token).await;
        assert_openai_unauthorized(&answer);
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn the_browsers_cookie_opens_no_api_route() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    app.new_token("ci").await;

    assert_openai_unauthorized(&app.api_get("/v1/models").await);
}

#[tokio::test]
async fn an_unknown_api_route_answers_in_openais_shape() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("ci").await;

    let answer = api_get(&app.address, "/v1/engines", Some(&token)).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        answer.json["error"]["message"].is_string(),
        "{}",
        answer.json
    );
}

#[tokio::test]
async fn a_token_name_too_long_or_empty_or_an_expiry_not_offered_is_refused_next_to_its_field() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    for name in ["   ", &"x".repeat(61)] {
        let refused = app.make_token(name, "never").await;

        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.texts("#name-error").len(), 1, "{}", refused.text());
        assert!(refused.texts("#new-token").is_empty());
    }
    let refused = app.make_token("notebook", "forever").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.texts("#expiry-error").len(),
        1,
        "{}",
        refused.text()
    );
    assert!(tokens_listed(&app).await.is_empty());
}

#[tokio::test]
async fn a_token_made_from_another_site_is_refused() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    app.get("/tokens").await;

    let forged = reqwest::Client::new()
        .post(app.url("/tokens"))
        .header("Cookie", app.cookie_header())
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("name", "stolen")])
        .send()
        .await
        .unwrap();

    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(tokens_listed(&app).await.is_empty());
}

#[tokio::test]
async fn a_signed_in_persons_token_opens_the_api_but_no_page_and_not_anothers_tokens() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app_with_sign_in(&bedrock, &provider).await;
    app.sign_in(&provider, "ada").await;
    let token = app.new_token("ada's notebook").await;
    let bob = app.another_browser();
    bob.sign_in(&provider, "bob").await;

    assert!(tokens_listed(&bob).await.is_empty());
    let ada_listed = app.get("/tokens").await;
    let revoke = ada_listed
        .attrs(".token form", "action")
        .pop()
        .expect("ada's revoke form");
    let refused = bob.post(&revoke, &[], false).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api_get(&app.address, "/v1/models", Some(&token))
            .await
            .status,
        StatusCode::OK,
        "bob could not revoke ada's token"
    );

    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "a token opens no page"
    );
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/sign-in")
    );
}

#[tokio::test]
async fn a_token_opens_no_page_with_sign_in_off_either() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let token = app.new_token("notebook").await;

    let page = reqwest::Client::new()
        .get(app.url("/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    let html = page.text().await.unwrap();
    assert!(
        !html.contains("data-name=\"notebook\""),
        "a token shows none of its owner's page"
    );
}

/// The names of the tokens `browser`'s /tokens page lists.
async fn tokens_listed(browser: &Browser) -> Vec<String> {
    browser.get("/tokens").await.attrs(".token", "data-name")
}
