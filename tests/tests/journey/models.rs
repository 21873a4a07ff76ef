//! The model list knows what Bedrock serves today, and says so in the page.

use easel::catalogue::Catalogue;
use easel_tests::{
    BedrockDouble, PATIENCE, bedrock_double::Lifecycle, spawn_app, spawn_app_with, wait_until,
};

use crate::{CORE, NOVA, TITAN_V1, ULTRA};

#[tokio::test]
async fn retired_models_are_disabled_legacy_is_warned_and_a_live_model_is_preselected() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        CORE,
        Lifecycle::Legacy {
            end_of_life: "2027-03-01",
        },
    );
    let app = spawn_app(&bedrock).await;

    let options = app.home().await.model_options();

    let option = |id: &str| options.iter().find(|o| o.0 == id).expect("listed").clone();
    for retired in [TITAN_V1, "amazon.titan-image-generator-v2:0", NOVA] {
        let (_, label, disabled, _) = option(retired);
        assert!(disabled, "{retired} cannot be chosen");
        assert!(
            label.contains("unavailable: past its end of life"),
            "{label}"
        );
    }
    let (_, label, disabled, selected) = option(CORE);
    assert!(
        !disabled && !selected,
        "a Legacy model stays usable but is not preselected"
    );
    assert!(
        label.contains("Legacy: end of life on 2027-03-01"),
        "{label}"
    );
    let (_, label, disabled, selected) = option(ULTRA);
    assert!(
        !disabled && selected,
        "the first available model is preselected: {label}"
    );
}

#[tokio::test]
async fn with_the_control_plane_down_easel_starts_and_says_it_could_not_check() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_fail_control_plane();
    let app = spawn_app(&bedrock).await;

    let home = app.home().await;

    assert_eq!(home.status, 200);
    assert!(
        home.text()
            .contains("could not check which models Bedrock serves")
    );
    assert!(
        home.model_options().iter().all(|o| !o.2),
        "every configured model is offered"
    );
}

#[tokio::test]
async fn without_permission_to_ask_easel_still_starts_and_says_so() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_refuse_control_plane();
    let app = spawn_app(&bedrock).await;

    assert!(
        app.home()
            .await
            .text()
            .contains("could not check which models Bedrock serves")
    );
}

#[tokio::test]
async fn an_end_of_life_answer_marks_the_model_unavailable_on_the_next_page_load() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    bedrock.set_lifecycle(CORE, Lifecycle::EndOfLife);

    let page = app
        .generate_with(&[("model", CORE), ("prompt", "a fox")])
        .await;
    assert!(
        page.messages()[0].contains("Pick Stable Image Ultra instead"),
        "{:?}",
        page.messages()
    );

    let options = app.home().await.model_options();
    let core = options.iter().find(|o| o.0 == CORE).unwrap();
    assert!(core.2, "now disabled: {}", core.1);
    let refused = app
        .generate_with(&[("model", CORE), ("prompt", "a fox")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .error_for("model")
            .unwrap()
            .contains("Pick Stable Image Ultra instead")
    );
}

#[tokio::test]
async fn a_model_that_needs_an_inference_profile_is_called_through_it() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        ULTRA,
        Lifecycle::NeedsInferenceProfile {
            profile_id: format!("us.{ULTRA}"),
        },
    );
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[("model", ULTRA), ("prompt", "a fox")])
        .await;

    assert_eq!(page.status, 200, "{:?}", page.messages());
    assert_eq!(bedrock.received()[0].model_id, format!("us.{ULTRA}"));
}

#[tokio::test]
async fn a_legacy_model_this_account_may_not_use_is_withdrawn_from_the_list() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        ULTRA,
        Lifecycle::Legacy {
            end_of_life: "2027-01-31",
        },
    );
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_with(&[("model", ULTRA), ("prompt", "a fox")])
        .await;

    assert_eq!(page.job_states(), ["failed"], "{}", page.html);
    assert!(page.images_in_result().is_empty());
    assert_eq!(
        page.messages(),
        [
            "Stable Image Ultra is a Legacy model that this AWS account may no longer use. Pick Stable Image Core instead."
        ]
    );
    let options = app.home().await.model_options();
    let ultra = options.iter().find(|o| o.0 == ULTRA).unwrap();
    assert!(
        ultra.2 && ultra.1.contains("may no longer use it"),
        "{}",
        ultra.1
    );
    let refused = app
        .generate_with(&[("model", ULTRA), ("prompt", "a fox")])
        .await;
    assert_eq!(refused.status, 422, "refused before any job is made");
    assert!(
        refused
            .error_for("model")
            .unwrap_or_default()
            .contains("Pick Stable Image Core instead"),
        "{:?}",
        refused.error_for("model")
    );
    assert_eq!(bedrock.received().len(), 1, "no second call");
}

#[tokio::test]
async fn a_withdrawn_legacy_model_stays_withdrawn_across_background_checks() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        ULTRA,
        Lifecycle::Legacy {
            end_of_life: "2027-01-31",
        },
    );
    let app = easel_tests::spawn_app_with(&bedrock, |c| {
        c.model_check_interval = std::time::Duration::from_millis(100);
    })
    .await;
    app.generate_with(&[("model", ULTRA), ("prompt", "a fox")])
        .await;

    // Background checks go on, each of which lists Ultra as Legacy (usable for some accounts):
    // two of them show a change the double makes after the withdrawal.
    for end_of_life in ["2027-03-01", "2027-04-01"] {
        bedrock.set_lifecycle(CORE, Lifecycle::Legacy { end_of_life });
        let what = format!("a background check to list Core's end of life on {end_of_life}");
        wait_until(what, PATIENCE, || async {
            let options = app.home().await.model_options();
            let core = options
                .iter()
                .find(|o| o.0 == CORE)
                .expect("Core is listed");
            match core.1.contains(end_of_life) {
                true => Ok(()),
                false => Err(core.1.clone()),
            }
        })
        .await;
    }

    let options = app.home().await.model_options();
    let ultra = options.iter().find(|o| o.0 == ULTRA).unwrap();
    assert!(ultra.2, "still disabled: {}", ultra.1);
}

#[tokio::test]
async fn a_model_called_in_another_region_is_checked_in_that_region() {
    let bedrock = BedrockDouble::start().await;
    // Ultra is offered in us-east-1 but not in the default region; SD3.5 not in eu-west-1.
    bedrock.set_lifecycle_in("us-west-2", ULTRA, Lifecycle::NotInRegion);
    bedrock.set_lifecycle_in("eu-west-1", SD35, Lifecycle::NotInRegion);
    let app = spawn_app_with(&bedrock, |config| {
        config.catalogue = Catalogue::parse(&format!(
            "{}{}{}",
            stability_model(CORE, "Stable Image Core", None),
            stability_model(ULTRA, "Stable Image Ultra", Some("us-east-1")),
            stability_model(SD35, "Stable Diffusion 3.5 Large", Some("eu-west-1")),
        ))
        .expect("a valid catalogue");
    })
    .await;

    let options = app.home().await.model_options();
    let option = |id: &str| options.iter().find(|o| o.0 == id).expect("listed").clone();
    let (_, label, disabled, _) = option(ULTRA);
    assert!(!disabled, "Ultra is live where Easel calls it: {label}");
    let (_, label, disabled, _) = option(SD35);
    assert!(disabled, "SD3.5 cannot be chosen");
    assert!(
        label.contains("unavailable: not offered in eu-west-1"),
        "{label}"
    );

    let page = app
        .generate_with(&[("model", ULTRA), ("prompt", "a fox")])
        .await;
    assert_eq!(page.status, 200, "{:?}", page.messages());
    assert_eq!(page.images_in_result().len(), 1);
}

#[tokio::test]
async fn a_region_that_cannot_be_asked_leaves_the_others_checked() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(SD35, Lifecycle::EndOfLife);
    bedrock.will_refuse_control_plane_in("us-east-1");
    let app = spawn_app_with(&bedrock, |config| {
        config.catalogue = Catalogue::parse(&format!(
            "{}{}{}",
            stability_model(CORE, "Stable Image Core", None),
            stability_model(SD35, "Stable Diffusion 3.5 Large", None),
            stability_model(ULTRA, "Stable Image Ultra", Some("us-east-1")),
        ))
        .expect("a valid catalogue");
    })
    .await;

    let home = app.home().await;
    let options = home.model_options();
    let option = |id: &str| options.iter().find(|o| o.0 == id).expect("listed").clone();
    let (_, label, disabled, _) = option(SD35);
    assert!(
        disabled && label.contains("past its end of life"),
        "the default region was still checked: {label}"
    );
    let (_, label, disabled, _) = option(ULTRA);
    assert!(!disabled, "an unchecked model is offered: {label}");
    assert!(
        home.text()
            .contains("could not check which models Bedrock serves")
    );
}

#[tokio::test]
async fn the_model_list_says_where_each_subscription_stands_and_preselects_a_subscribed_model() {
    let bedrock = BedrockDouble::start().await;
    bedrock.model_is_not_subscribed(CORE);
    bedrock.subscription_is_pending(ULTRA);
    let app = spawn_app(&bedrock).await;

    let options = app.home().await.model_options();

    let option = |id: &str| options.iter().find(|o| o.0 == id).expect("listed").clone();
    let (_, label, disabled, selected) = option(CORE);
    assert_eq!(
        label,
        "Stable Image Core (not subscribed: the first picture subscribes this AWS account if Easel may; otherwise ask the operator)"
    );
    assert!(
        !disabled && !selected,
        "offered, since the first call may subscribe"
    );
    let (_, label, disabled, selected) = option(ULTRA);
    assert_eq!(
        label,
        "Stable Image Ultra (subscription being set up: pictures may fail for up to 15 minutes)"
    );
    assert!(!disabled && !selected);
    let (_, label, disabled, selected) = option(SD35);
    assert_eq!(label, "Stable Diffusion 3.5 Large (subscribed)");
    assert!(
        !disabled && selected,
        "the first subscribed model is preselected"
    );
}

#[tokio::test]
async fn a_missing_subscription_says_how_to_subscribe_and_the_list_learns_it() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let core = |options: Vec<(String, String, bool, bool)>| {
        options.into_iter().find(|o| o.0 == CORE).expect("listed").1
    };
    assert_eq!(
        core(app.home().await.model_options()),
        "Stable Image Core (subscribed)"
    );
    // The subscription lapses after the list was checked (say, it was cancelled).
    bedrock.model_is_not_subscribed(CORE);

    let page = app
        .generate_with(&[("model", CORE), ("prompt", "a fox")])
        .await;

    assert_eq!(page.job_states(), ["failed"], "{}", page.html);
    assert!(page.images_in_result().is_empty());
    assert_eq!(
        page.messages(),
        [
            "This AWS account's AWS Marketplace subscription to Stable Image Core is missing or still being set up. If it was started in the last 15 minutes, try again in a few minutes; otherwise the operator must subscribe the account (cargo xtask deploy --accept-model-agreements), or allow Easel's AWS identity the aws-marketplace:Subscribe, Unsubscribe and ViewSubscriptions actions."
        ]
    );
    assert!(
        core(app.home().await.model_options()).contains("(not subscribed: "),
        "the next page load knows"
    );
}

#[tokio::test]
async fn a_failed_subscription_is_shown_with_who_can_fix_it() {
    let bedrock = BedrockDouble::start().await;
    bedrock.subscription_failed(ULTRA);
    let app = spawn_app(&bedrock).await;

    let options = app.home().await.model_options();

    let ultra = options.iter().find(|o| o.0 == ULTRA).expect("listed");
    assert_eq!(
        ultra.1,
        "Stable Image Ultra (subscription failed: ask the operator to subscribe this AWS account again)"
    );
}

#[tokio::test]
async fn a_legacy_model_says_both_its_end_of_life_and_its_subscription() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        CORE,
        Lifecycle::Legacy {
            end_of_life: "2027-03-01",
        },
    );
    let app = spawn_app(&bedrock).await;

    let options = app.home().await.model_options();

    let core = options.iter().find(|o| o.0 == CORE).expect("listed");
    assert_eq!(
        core.1,
        "Stable Image Core (Legacy: end of life on 2027-03-01; subscribed)"
    );
}

const SD35: &str = "stability.sd3-5-large-v1:0";

/// One Stability entry of a catalogue file, called in `region` (else the default region).
fn stability_model(id: &str, name: &str, region: Option<&str>) -> String {
    let region = region.map_or(String::new(), |r| format!("region = \"{r}\"\n"));
    format!(
        "[[model]]\nid = \"{id}\"\nname = \"{name}\"\nfamily = \"stability\"\n\
         price_per_image = 0.04\nmax_prompt_chars = 10000\nnegative_prompt = true\n\
         aspect_ratios = [\"1:1\", \"16:9\"]\nseed_max = 4294967294\n{region}\n"
    )
}
