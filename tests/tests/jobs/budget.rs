//! The two caps, as a browser runs into them.

use std::time::Duration;

use easel::guard::Usd;
use easel_tests::{BedrockDouble, spawn_app_with};

#[tokio::test]
async fn the_daily_cap_refuses_with_what_was_spent_and_when_it_resets() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.budget.daily_per_browser = Some(Usd::from_dollars(0.10));
    })
    .await;
    let made = app
        .generate_with(&[("prompt", "two cranes"), ("count", "2")])
        .await;
    assert_eq!(made.image_ids().len(), 2);
    assert_eq!(
        app.home().await.spent_today(),
        "Spent today: $0.08 of $0.10"
    );

    let refused = app.submit(&[("prompt", "one more")]).await;
    assert_eq!(refused.status, 402);
    let message = refused.messages().join(" ");
    assert!(message.contains("daily budget of $0.10"), "{message}");
    assert!(message.contains("$0.08 is already spent"), "{message}");
    assert!(message.contains("resets at midnight UTC"), "{message}");
    assert_eq!(
        bedrock.received().len(),
        2,
        "nothing was called for the refused job"
    );

    // Another browser has its own day.
    let other = app.another_browser();
    assert_eq!(other.generate("my own").await.image_ids().len(), 1);
}

#[tokio::test]
async fn the_monthly_cap_is_for_the_whole_deployment() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.budget.monthly = Some(Usd::from_dollars(0.05));
    })
    .await;
    assert_eq!(app.generate("the first").await.image_ids().len(), 1);
    let refused = app
        .another_browser()
        .submit(&[("prompt", "the second")])
        .await;
    assert_eq!(refused.status, 402);
    let message = refused.messages().join(" ");
    assert!(
        message.contains("monthly budget, shared by everyone"),
        "{message}"
    );
    assert!(message.contains("resets on 1 "), "{message}");
    assert!(
        !message.contains('$'),
        "what the deployment spent is not shown: {message}"
    );
}

#[tokio::test]
async fn a_failed_job_gives_back_what_it_held() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_return_model_error();
    let app = spawn_app_with(&bedrock, |c| {
        c.budget.daily_per_browser = Some(Usd::from_dollars(0.12));
    })
    .await;
    let failed = app
        .generate_with(&[("prompt", "three gulls"), ("count", "3")])
        .await;
    assert_eq!(failed.job_states(), ["failed"]);
    assert_eq!(failed.job_costs(), ["Cost $0.00"]);
    assert_eq!(
        app.home().await.spent_today(),
        "Spent today: $0.00 of $0.12"
    );

    bedrock.reset();
    bedrock.will_answer_after(Duration::from_millis(1));
    let again = app
        .generate_with(&[("prompt", "three gulls"), ("count", "3")])
        .await;
    assert_eq!(again.image_ids().len(), 3, "{:?}", again.messages());
}
