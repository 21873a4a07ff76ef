//! The gallery: this browser's own pictures, newest first, kept across restarts, private.

use easel_tests::{BedrockDouble, Page, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_gallery_survives_a_restart() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app.generate("a lighthouse").await.image_ids();

    let app = app.restart(&bedrock).await;

    assert_eq!(app.gallery().await.gallery_ids(), made);
    let (status, _, png) = app
        .get_bytes(&format!("/images/{}/image.png", made[0]))
        .await;
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn the_gallery_updates_with_each_generation_newest_first() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let first = app.generate("first").await.image_ids();
    let id = app.submit(&[("prompt", "second")]).await.job_ids()[0].clone();
    let second = app.wait_for_job(&id).await.image_ids();

    // What the page is pushed once the job has ended: its card, then the gallery.
    let events = app.events(&id).await;
    let last = events
        .iter()
        .rev()
        .find(|(event, _)| event == "job")
        .map(|(_, data)| data.clone())
        .expect("a job event");
    let pushed = Page {
        status: reqwest::StatusCode::OK,
        headers: reqwest::header::HeaderMap::new(),
        html: last,
    };
    assert_eq!(pushed.gallery_ids(), [second[0].clone(), first[0].clone()]);
    assert!(
        pushed.contains(r#"id="gallery" hx-swap-oob="true""#),
        "the gallery is swapped out of band"
    );
    assert_eq!(app.gallery().await.gallery_ids(), pushed.gallery_ids());
}

#[tokio::test]
async fn two_browsers_never_see_each_others_pictures() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let mine = app.generate("my private fox").await.image_ids()[0].clone();
    let stranger = app.another_browser();
    stranger.generate("their own owl").await;

    assert_eq!(stranger.gallery().await.gallery_ids().len(), 1);
    assert!(!stranger.gallery().await.contains("my private fox"));
    for path in [
        format!("/images/{mine}"),
        format!("/images/{mine}/image.png"),
        format!("/images/{mine}/download"),
        format!("/?reuse={mine}"),
    ] {
        assert_eq!(stranger.get(&path).await.status, 404, "{path}");
    }
    assert_eq!(stranger.delete(&mine).await.status, 404);
    assert_eq!(
        app.gallery().await.gallery_ids(),
        [mine],
        "still there for its owner"
    );
}

#[tokio::test]
async fn a_permalink_shows_the_full_recipe_and_the_picture_can_be_deleted() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app
        .generate_with(&[
            ("prompt", "a tin robot"),
            ("negative_prompt", "rust"),
            ("size", "2:3"),
            ("seed_mode", "fixed"),
            ("seed", "4242"),
        ])
        .await;
    let id = made.image_ids()[0].clone();

    let permalink = app.get(&format!("/images/{id}")).await;

    assert_eq!(permalink.status, 200);
    for shown in [
        "a tin robot",
        "rust",
        "2:3",
        "4242",
        "Stable Image Core",
        "$0.040",
    ] {
        assert!(permalink.text().contains(shown), "{shown} missing");
    }

    let after = app.delete(&id).await;
    assert_eq!(after.status, 200);
    assert!(app.gallery().await.gallery_ids().is_empty());
    assert_eq!(
        app.get(&format!("/images/{id}/image.png")).await.status,
        404
    );
}

#[tokio::test]
async fn the_gallery_is_paged() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.gallery_page_size = 2).await;
    let mut made = Vec::new();
    for n in 0..3 {
        made.extend(app.generate(&format!("picture {n}")).await.image_ids());
    }
    made.reverse();

    let first = app.get("/gallery?page=1").await;
    let second = app.get("/gallery?page=2").await;

    assert_eq!(first.gallery_ids(), made[..2]);
    assert_eq!(second.gallery_ids(), made[2..]);
    assert!(first.contains("Older") && !second.contains(">Older<"));
}

#[tokio::test]
async fn a_crash_between_writes_leaves_no_broken_entry() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let id = app.generate("kept").await.image_ids()[0].clone();
    let owner_folder = std::fs::read_dir(app.storage.path().join("galleries"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // A write that stopped after the picture and before its record: only the PNG exists.
    let orphan = "0000000000000ffffffffffffffffffffffffffffffff";
    std::fs::copy(
        owner_folder.join(format!("{id}.png")),
        owner_folder.join(format!("{orphan}.png")),
    )
    .unwrap();

    let gallery = app.gallery().await;

    assert_eq!(gallery.status, 200);
    assert_eq!(gallery.gallery_ids(), [id]);
}
