//! A browser's cookie is the only key to its gallery: rotating the signing key keeps every
//! gallery, a cookie no key signed opens none, and over HTTPS browsers are told to stay on it.

use easel::config::CookieKey;
use easel_tests::{BedrockDouble, spawn_app, spawn_app_with};

/// A signing key of 64 bytes, all `byte`.
fn key(byte: u8) -> CookieKey {
    CookieKey(vec![byte; 64])
}

#[tokio::test]
async fn rotating_the_cookie_key_keeps_the_browsers_gallery_and_signs_its_cookie_again() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.cookie_key = Some(key(1))).await;
    let made = app
        .generate("a lighthouse at dusk")
        .await
        .images_in_result();
    assert_eq!(made.len(), 1);
    let gallery = app.gallery().await.gallery_ids();
    let old_cookie = app.cookie_header();

    // The operator rotates: a new key signs, the old one is still accepted.
    let app = app
        .restart_with(&bedrock, |c| {
            c.cookie_key = Some(key(2));
            c.cookie_key_previous = Some(key(1));
        })
        .await;
    let page = app.gallery().await;

    assert_eq!(
        page.gallery_ids(),
        gallery,
        "the same gallery after rotation"
    );
    assert!(
        page.headers.contains_key("set-cookie"),
        "the cookie is signed again"
    );
    assert_ne!(app.cookie_header(), old_cookie);

    // Once the old key is dropped, the re-signed cookie still opens the gallery.
    let app = app
        .restart_with(&bedrock, |c| c.cookie_key = Some(key(2)))
        .await;
    let page = app.gallery().await;
    assert_eq!(page.gallery_ids(), gallery);
    assert!(
        !page.headers.contains_key("set-cookie"),
        "a cookie of the current key is left as it is"
    );
}

#[tokio::test]
async fn a_cookie_without_a_valid_signature_opens_no_gallery_and_is_replaced() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.cookie_key = Some(key(2));
        c.cookie_key_previous = Some(key(1));
    })
    .await;
    app.generate("a fox in the snow").await;
    // The owner id follows the 44-character signature in the cookie's value.
    let victim = app.cookie_header();
    let owner = victim
        .strip_prefix("easel_id=")
        .expect("the identity cookie")
        .get(44..)
        .expect("a signed value");

    let forger = app.another_browser();
    forger.plant_cookie(&format!("easel_id={}{owner}", "A".repeat(44)));

    let refused = forger.submit(&[("prompt", "a fox")]).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("Reload the page first"),
        "{}",
        refused.html
    );
    let page = forger.gallery().await;
    assert!(
        page.gallery_ids().is_empty(),
        "none of the victim's pictures"
    );
    assert!(
        !forger.cookie_header().contains(owner),
        "the forged cookie was replaced: {}",
        forger.cookie_header()
    );
    assert_eq!(
        app.gallery().await.gallery_ids().len(),
        1,
        "the victim keeps theirs"
    );
}

#[tokio::test]
async fn strict_transport_security_is_sent_only_when_served_over_https() {
    let bedrock = BedrockDouble::start().await;

    let plain = spawn_app(&bedrock).await.home().await;
    assert!(!plain.headers.contains_key("strict-transport-security"));

    let https = spawn_app_with(&bedrock, |c| c.secure_cookie = true).await;
    let page = https.home().await;
    assert_eq!(
        page.headers["strict-transport-security"],
        "max-age=31536000"
    );
    assert!(
        page.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("__Host-easel_id="),
        "the secure cookie"
    );
}
