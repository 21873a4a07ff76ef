//! The operator's page: an admin sees what each person spent; anyone else, and everyone when
//! nobody signs in, finds no such page.

use easel::identity::Admins;
use easel_tests::{
    BedrockDouble, Browser, Page, TestApp, oidc_provider::OidcProvider, spawn_app_with,
    test_app::sign_in_through,
};
use reqwest::StatusCode;
use scraper::{Html, Selector};

/// Easel with sign-in through `provider`, and `admins` allowed to /admin.
async fn studio_with_sign_in(
    bedrock: &BedrockDouble,
    provider: &OidcProvider,
    admins: &str,
) -> TestApp {
    spawn_app_with(bedrock, |c| {
        sign_in_through(c, provider);
        c.admins = Admins::parse(admins).expect("addresses");
    })
    .await
}

/// A new browser in which `username` has signed in.
async fn signed_in(app: &TestApp, provider: &OidcProvider, username: &str) -> Browser {
    let browser = app.another_browser();
    let landed = browser.sign_in(provider, username).await;
    assert_eq!(landed.status, StatusCode::OK, "{username} signs in");
    browser
}

/// The texts of the elements `css` selects.
fn texts(page: &Page, css: &str) -> Vec<String> {
    let html = Html::parse_document(&page.html);
    let selector = Selector::parse(css).expect("a selector");
    html.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// The page's spend per person: (who, today, this month) for each row.
fn people(page: &Page) -> Vec<(String, String, String)> {
    let html = Html::parse_document(&page.html);
    let rows = Selector::parse("#people tr.person").expect("a selector");
    let cells = Selector::parse("td").expect("a selector");
    html.select(&rows)
        .map(|row| {
            let text: Vec<String> = row
                .select(&cells)
                .map(|cell| cell.text().collect::<String>().trim().to_owned())
                .collect();
            (text[0].clone(), text[1].clone(), text[2].clone())
        })
        .collect()
}

#[tokio::test]
async fn an_admin_sees_what_each_person_spent_today_and_this_month() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = studio_with_sign_in(&bedrock, &provider, "ANA@example.test").await;
    let ana = signed_in(&app, &provider, "ana").await;
    let bo = signed_in(&app, &provider, "bo").await;

    ana.generate("a fox").await;
    bo.generate_with(&[("prompt", "two owls"), ("count", "2")])
        .await;
    let page = ana.get("/admin").await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        people(&page),
        [
            (
                "bo <bo@example.test>".into(),
                "$0.08".into(),
                "$0.08".into()
            ),
            (
                "ana <ana@example.test>".into(),
                "$0.04".into(),
                "$0.04".into()
            ),
        ]
    );
    let month = texts(&page, "#month dd");
    assert_eq!(month[..3], ["$0.12", "$0.00", "$50.00"], "spent, held, cap");
    let days = texts(&page, "#spend-chart svg rect title");
    assert!(
        days.len() >= 28,
        "a bar for each day of the month: {days:?}"
    );
    let spent_days = texts(&page, "#spend-chart table td");
    assert_eq!(spent_days.last().map(String::as_str), Some("$0.12"));
}

#[tokio::test]
async fn a_person_who_is_not_an_admin_finds_no_such_page() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = studio_with_sign_in(&bedrock, &provider, "ana@example.test").await;
    let bo = signed_in(&app, &provider, "bo").await;

    assert_eq!(bo.get("/admin").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admins_address_the_provider_has_not_verified_opens_nothing() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = studio_with_sign_in(&bedrock, &provider, "ana@example.test").await;
    provider.will_vouch_for_no_email();
    let impostor = signed_in(&app, &provider, "ana").await;

    assert_eq!(impostor.get("/admin").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_sign_in_nobody_finds_the_page() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.admins = Admins::parse("ana@example.test").expect("addresses");
    })
    .await;
    app.generate("a fox").await;

    assert_eq!(app.get("/admin").await.status, StatusCode::NOT_FOUND);
}
