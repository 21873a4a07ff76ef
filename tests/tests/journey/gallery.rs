//! The gallery: this browser's own pictures, newest first, kept across restarts, private,
//! shown as small previews, and as cheap to page through at ten thousand pictures as at one.

use std::{collections::BTreeMap, time::Duration};

use easel_tests::{BedrockDouble, PATIENCE, Page, TestApp, old_gallery, spawn_app, spawn_app_with};

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
    assert_eq!(
        pushed.gallery_added_ids(),
        second,
        "the new card goes on top"
    );
    assert_eq!(pushed.gallery_dropped_ids(), Vec::<String>::new());
    assert_eq!(pushed.gallery_total(), "2");
    assert_eq!(
        app.gallery().await.gallery_ids(),
        [second[0].clone(), first[0].clone()]
    );
}

#[tokio::test]
async fn a_new_picture_pushes_the_oldest_of_the_first_page_to_the_next() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.gallery_page_size = 2;
        // Each answer below comes with its job done, however slow a loaded machine is.
        c.jobs.quick_answer = PATIENCE;
    })
    .await;
    app.generate("first").await;
    let studio = &app;
    let generate = |prompt| async move {
        let answer = studio.submit(&[("prompt", prompt)]).await;
        assert_eq!(answer.job_states(), ["done"], "{}", answer.html);
        answer
    };
    let second = generate("second").await;
    assert_eq!(second.gallery_added_ids(), second.image_ids());
    assert_eq!(second.gallery_dropped_ids(), Vec::<String>::new());

    let third = generate("third").await;
    assert_eq!(
        third.gallery_ids(),
        [third.image_ids()[0].clone(), second.image_ids()[0].clone()],
        "a second page has begun: the whole first page comes, with its link to the next"
    );
    assert!(third.contains("Older"));

    let fourth = generate("fourth").await;
    assert_eq!(fourth.gallery_added_ids(), fourth.image_ids());
    assert_eq!(fourth.gallery_dropped_ids(), second.image_ids());
    assert_eq!(fourth.gallery_total(), "4");
    let shown = app.gallery().await.gallery_ids();
    assert_eq!(
        shown,
        [fourth.image_ids()[0].clone(), third.image_ids()[0].clone()]
    );
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
async fn deleting_a_card_counts_one_picture_fewer() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app
        .generate_with(&[("prompt", "two foxes"), ("count", "2")])
        .await;
    let ids = made.image_ids();
    assert_eq!(app.gallery().await.gallery_total(), "2");

    let answer = app.delete_card(&ids[0]).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.gallery_total(),
        "1",
        "the count swapped in: {}",
        answer.html
    );
    assert!(
        answer.gallery_ids().is_empty(),
        "the card is replaced by nothing"
    );
    assert_eq!(app.gallery().await.gallery_ids(), [ids[1].clone()]);
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

/// An app whose store requests can be counted, with no periodic job scan to add any.
pub(crate) async fn counted_app(bedrock: &BedrockDouble) -> TestApp {
    spawn_app_with(bedrock, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        c.jobs.scan_interval = Duration::from_secs(3600);
    })
    .await
}

/// The store requests `act` made, by operation. Reading the metrics costs requests of its own
/// (the spending gauges read the ledger), so what one reading costs is taken off.
async fn requests_made<F: Future>(app: &TestApp, act: F) -> BTreeMap<String, u64> {
    let first = app.store_requests().await;
    let before = app.store_requests().await;
    act.await;
    let after = app.store_requests().await;
    after
        .into_iter()
        .map(|(operation, n)| {
            let count = |snapshot: &BTreeMap<String, u64>| snapshot.get(&operation).copied();
            let reading = count(&before).unwrap_or(0) - count(&first).unwrap_or(0);
            (operation.clone(), n - count(&before).unwrap_or(0) - reading)
        })
        .filter(|(_, made)| *made > 0)
        .collect()
}

#[tokio::test]
async fn ten_thousand_pictures_cost_a_page_and_a_generation_what_one_picture_does() {
    let bedrock = BedrockDouble::start().await;
    let big = counted_app(&bedrock).await;
    let owner = big.owner_id().await;
    let stored = old_gallery::write(big.storage.path(), &owner, 10_000);
    // The first look indexes the gallery, which was stored before there were indexes.
    let first_look = big.gallery().await;
    assert_eq!(first_look.gallery_ids(), stored[..12]);
    assert_eq!(first_look.gallery_total(), "10000");

    let page = requests_made(&big, big.get("/gallery?page=1")).await;
    let small = counted_app(&bedrock).await;
    for app in [&big, &small] {
        app.generate("warming up").await;
    }
    let big_generation = requests_made(&big, big.generate("one more")).await;
    let small_generation = requests_made(&small, small.generate("one more")).await;

    assert_eq!(
        page,
        BTreeMap::from([("get".to_owned(), 1)]),
        "a gallery page reads the index and nothing else"
    );
    // The job around the picture varies by a request or two with timing (how often its events
    // are polled); the gallery's part is the index alone, so the sizes do not matter.
    let total = |made: &BTreeMap<String, u64>| made.values().sum::<u64>();
    assert!(!big_generation.contains_key("list"), "{big_generation:?}");
    assert!(
        total(&big_generation) <= total(&small_generation) + 2,
        "a generation costs the same in a full gallery as in an empty one: \
         {big_generation:?} against {small_generation:?}"
    );
    let gallery = big.gallery().await;
    assert_eq!(gallery.gallery_total(), "10002");
    let last_page = big.get("/gallery?page=834").await;
    assert_eq!(last_page.gallery_ids(), stored[stored.len() - 6..]);
}

#[tokio::test]
async fn a_gallery_from_before_the_upgrade_is_read_whole() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let owner = app.owner_id().await;
    let stored = old_gallery::write(app.storage.path(), &owner, 30);

    let mut shown = Vec::new();
    for page in 1..=3 {
        let page = app.get(&format!("/gallery?page={page}")).await;
        assert_eq!(page.gallery_total(), "30");
        shown.extend(page.gallery_ids());
    }

    assert_eq!(shown, stored, "every picture, newest first, once");
    let oldest = &stored[29];
    let (status, headers, preview) = app
        .get_bytes(&format!("/images/{oldest}/preview.jpg"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(preview.starts_with(&[0xff, 0xd8]), "a JPEG");
    assert!(
        app.get(&format!("/images/{oldest}"))
            .await
            .contains("old picture 0")
    );
    assert_eq!(app.delete(oldest).await.status, 200);
    let made = app.generate("new after the upgrade").await.image_ids();
    let first = app.gallery().await;
    assert_eq!(first.gallery_total(), "30");
    assert_eq!(first.gallery_ids()[0], made[0]);
    assert_eq!(first.gallery_ids()[1..], stored[..11]);
}

#[tokio::test]
async fn cards_show_small_previews_and_the_download_is_the_full_png() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let made = app.generate("a lighthouse").await;
    let id = made.image_ids()[0].clone();

    let preview_src = format!("/images/{id}/preview.jpg");
    assert_eq!(made.images_in_result(), std::slice::from_ref(&preview_src));
    let gallery = app.gallery().await;
    assert_eq!(
        gallery.attrs("#gallery li.card img", "src"),
        std::slice::from_ref(&preview_src)
    );
    let (status, headers, preview) = app.get_bytes(&preview_src).await;
    let (_, _, full) = app.get_bytes(&format!("/images/{id}/image.png")).await;
    let (_, download_headers, download) = app.get_bytes(&format!("/images/{id}/download")).await;

    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(
        preview.len() < 40_000 && preview.len() * 4 < full.len(),
        "preview {} bytes, picture {} bytes",
        preview.len(),
        full.len()
    );
    assert_eq!(download_headers["content-type"], "image/png");
    assert_eq!(download, full, "the download is the full picture");
    let permalink = app.get(&format!("/images/{id}")).await;
    assert_eq!(
        permalink.attrs("article.permalink a[href$='image.png']", "href"),
        [format!("/images/{id}/image.png")],
        "the permalink links the full size"
    );
}
