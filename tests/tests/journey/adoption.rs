//! At a person's first sign-in, the pictures the browser made before, anonymously, move to
//! them: whole (picture, preview, recipe, what each edit was made from), once, and a move cut
//! short by a failing store is finished by the next one with every picture there exactly once.

use easel::{identity::OwnerId, studio::Adopted};
use easel_tests::{
    BedrockDouble, Browser, flaky_store::FlakyStore, oidc_provider::OidcProvider, spawn_app,
    spawn_app_on, test_app::sign_in_through,
};
use reqwest::StatusCode;

use crate::edit::{HEIGHT, WIDTH, mask, uploaded};

/// A picture as a browser is sent it: its PNG, its preview and its download, whose file name
/// comes from the picture's record; each as (status, body, file name).
type Sent = Vec<(StatusCode, Vec<u8>, Option<String>)>;

async fn sent(browser: &Browser, id: &str) -> Sent {
    let mut answers = Vec::new();
    for file in ["image.png", "preview.jpg", "download"] {
        let (status, headers, body) = browser.get_bytes(&format!("/images/{id}/{file}")).await;
        let name = headers
            .get("content-disposition")
            .map(|name| name.to_str().expect("an ASCII file name").to_owned());
        answers.push((status, body, name));
    }
    answers
}

async fn sent_all(browser: &Browser, ids: &[String]) -> Vec<Sent> {
    let mut all = Vec::new();
    for id in ids {
        all.push(sent(browser, id).await);
    }
    all
}

/// An upload and an inpainted edit of it; their ids, newest first.
async fn upload_and_edit(browser: &Browser) -> [String; 2] {
    let upload = uploaded(browser).await;
    let job = browser
        .edit_and_wait(
            &upload,
            &[("operation", "inpaint"), ("prompt", "a red door")],
            &[("mask", mask(WIDTH, HEIGHT, true))],
        )
        .await;
    assert_eq!(job.job_states(), ["done"], "{}", job.text());
    [job.image_ids()[0].clone(), upload]
}

/// The edit's page says what it was made from, and the upload's page lists the edit.
async fn lineage_shows(browser: &Browser, [edit, upload]: &[String; 2]) {
    let edited = browser.get(&format!("/images/{edit}")).await;
    assert_eq!(edited.made_from().0.as_ref(), Some(upload));
    let source = browser.get(&format!("/images/{upload}")).await;
    assert_eq!(source.edits_listed(), std::slice::from_ref(edit));
}

/// Every one of `ids` is a 404 for `browser`: its PNG, its preview and its download.
async fn gone_for(browser: &Browser, ids: &[String]) {
    for id in ids {
        let sent = sent(browser, id).await;
        let statuses: Vec<_> = sent.into_iter().map(|(status, ..)| status).collect();
        assert_eq!(statuses, [StatusCode::NOT_FOUND; 3], "{id}");
    }
}

#[tokio::test]
async fn an_anonymous_gallery_moves_whole_to_the_person_signing_in_and_only_once() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let generated = app.generate("a lighthouse in the fog").await.image_ids();
    let lineage = upload_and_edit(&app).await;
    let made = app.gallery().await.gallery_ids();
    assert_eq!(made.len(), 3, "{made:?} from {generated:?} and {lineage:?}");
    let before = sent_all(&app, &made).await;
    let person = app.another_browser();
    let (anonymous, signing_in) = (app.owner_id().await, person.owner_id().await);

    let adopted = app.studio().adopt_anonymous(&anonymous, &signing_in).await;

    assert_eq!(adopted.unwrap(), Adopted { moved: 3 });
    assert_eq!(person.gallery().await.gallery_ids(), made);
    assert_eq!(sent_all(&person, &made).await, before);
    lineage_shows(&person, &lineage).await;
    assert!(app.gallery().await.gallery_ids().is_empty());
    gone_for(&app, &made).await;

    let again = app.studio().adopt_anonymous(&anonymous, &signing_in).await;
    assert_eq!(again.unwrap(), Adopted { moved: 0 });
    let someone_else = OwnerId::new_random();
    let elsewhere = app
        .studio()
        .adopt_anonymous(&anonymous, &someone_else)
        .await;
    assert_eq!(elsewhere.unwrap(), Adopted { moved: 0 });
    assert_eq!(person.gallery().await.gallery_ids(), made);
}

#[tokio::test]
async fn two_sign_ins_of_one_browser_at_once_move_each_picture_once() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    for prompt in ["a red boat", "a blue boat", "a green boat"] {
        app.generate(prompt).await;
    }
    let made = app.gallery().await.gallery_ids();
    let person = app.another_browser();
    let (anonymous, signing_in) = (app.owner_id().await, person.owner_id().await);

    let (first, second) = futures::join!(
        app.studio().adopt_anonymous(&anonymous, &signing_in),
        app.studio().adopt_anonymous(&anonymous, &signing_in),
    );

    assert_eq!(first.unwrap().moved + second.unwrap().moved, made.len());
    assert_eq!(person.gallery().await.gallery_ids(), made);
    assert!(app.gallery().await.gallery_ids().is_empty());
}

#[tokio::test]
async fn a_move_cut_short_at_any_write_is_finished_by_the_next_with_every_picture_once() {
    for (store, faults) in [FlakyStore::new(), FlakyStore::like_s3()] {
        let bedrock = BedrockDouble::start().await;
        let app = spawn_app_on(&bedrock, store).await;
        for cut in 0.. {
            assert!(cut < 100, "a move of two pictures takes fewer writes");
            let (anonymous, person) = (app.another_browser(), app.another_browser());
            let made = upload_and_edit(&anonymous).await;
            let before = sent_all(&anonymous, &made).await;
            let (from, to) = (anonymous.owner_id().await, person.owner_id().await);

            faults.fail_after_writes(cut);
            let cut_short = app.studio().adopt_anonymous(&from, &to).await;
            faults.heal();
            if cut_short.is_ok() {
                assert!(cut > 10, "the move was cut short at each of its writes");
                break;
            }

            let mut shown = anonymous.gallery().await.gallery_ids();
            shown.extend(person.gallery().await.gallery_ids());
            shown.sort();
            shown.dedup();
            let mut all = made.to_vec();
            all.sort();
            assert_eq!(shown, all, "nothing lost when cut after {cut} writes");

            let finished = app.studio().adopt_anonymous(&from, &to).await;
            finished.expect("the next move finishes it");
            assert_eq!(
                person.gallery().await.gallery_ids(),
                made,
                "each picture once, cut after {cut} writes"
            );
            assert_eq!(sent_all(&person, &made).await, before);
            lineage_shows(&person, &made).await;
            assert!(anonymous.gallery().await.gallery_ids().is_empty());
            gone_for(&anonymous, &made).await;
        }
    }
}

#[tokio::test]
async fn pictures_made_before_sign_in_was_turned_on_go_to_the_first_person_to_sign_in_there() {
    let bedrock = BedrockDouble::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_app(&bedrock).await;
    for prompt in ["a red boat", "a blue boat"] {
        app.generate(prompt).await;
    }
    let made = app.gallery().await.gallery_ids();
    let before = sent_all(&app, &made).await;

    let app = app
        .restart_with(&bedrock, |config| sign_in_through(config, &provider))
        .await;
    app.sign_in(&provider, "ada").await;

    assert_eq!(app.gallery().await.gallery_ids(), made);
    assert_eq!(sent_all(&app, &made).await, before);

    app.sign_out().await;
    app.sign_in(&provider, "bea").await;
    assert!(
        app.gallery().await.gallery_ids().is_empty(),
        "moved once, to ada"
    );
    gone_for(&app, &made).await;
}
