//! What another site may not do, what operators can see, and one prompt on several models.

use easel_tests::{BedrockDouble, Browser, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_post_from_another_site_is_refused_and_changes_nothing() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    app.home().await;
    let client = reqwest::Client::new();
    let cookie = app.cookie_header();

    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let answer = client
            .post(app.url("/generate"))
            .header("Cookie", &cookie)
            .header(name, value)
            .form(&[("prompt", "spend their money")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{name}");
        assert!(
            answer.headers().get("set-cookie").is_none(),
            "{name}: the cookie is untouched"
        );
        let page = answer.text().await.unwrap();
        assert!(page.contains("came from another site"), "{page}");
    }
    // A cookie-less post from another site mints no identity either.
    let anonymous = client
        .post(app.url("/generate"))
        .header("Origin", "https://evil.example")
        .form(&[("prompt", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 403);
    assert!(anonymous.headers().get("set-cookie").is_none());

    assert!(bedrock.received().is_empty(), "nothing was generated");
    assert_eq!(app.cookie_header(), cookie);
    assert!(app.home().await.job_ids().is_empty());
}

#[tokio::test]
async fn a_post_without_an_identity_makes_none() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let stranger = Browser::new(&app.address);
    let answer = stranger.post("/generate", &[("prompt", "x")], false).await;
    assert_eq!(answer.status, 403);
    assert!(answer.headers.get("set-cookie").is_none());
    assert!(answer.text().contains("Open the studio page and try again"));
    assert!(bedrock.received().is_empty());
}

#[tokio::test]
async fn over_https_the_cookie_is_host_only() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| c.secure_cookie = true).await;
    let home = app.home().await;
    let cookie = home
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-easel_id="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn operators_read_metrics_on_their_own_address_only() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app_with(&bedrock, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.generate_with(&[("prompt", "counted"), ("count", "2")])
        .await;
    let metrics_url = format!(
        "http://{}/metrics",
        app.metrics_address.expect("metrics address")
    );
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let core = "stability.stable-image-core-v1:1";
    for line in [
        format!("easel_bedrock_calls_total{{model=\"{core}\",outcome=\"ok\"}} 2"),
        format!("easel_bedrock_call_seconds_count{{model=\"{core}\"}} 2"),
        format!("easel_pictures_total{{model=\"{core}\"}} 2"),
        "easel_jobs_ended_total{state=\"done\"} 1".to_owned(),
        "easel_spend_usd{cap=\"monthly\"} 0.08".to_owned(),
        "easel_budget_cap_usd{cap=\"monthly\"} 50".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert_eq!(
        app.get("/metrics").await.status,
        404,
        "never on the public port"
    );
}

#[tokio::test]
async fn compare_runs_one_prompt_on_three_models_side_by_side() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;
    let compared = app
        .generate_with(&[
            ("model", "stability.stable-image-core-v1:1"),
            ("prompt", "a lighthouse"),
            ("size", "16:9"),
            ("compare_a", "stability.sd3-5-large-v1:0"),
            ("compare_b", "amazon.titan-image-generator-v2:0"),
        ])
        .await;
    assert_eq!(compared.job_states(), ["done", "done", "done"]);
    let text = compared.text();
    for model in [
        "Stable Image Core",
        "Stable Diffusion 3.5 Large",
        "Titan Image Generator G1 v2",
    ] {
        assert!(text.contains(model), "{model} in {text}");
    }
    assert_eq!(compared.image_ids().len(), 3);
    assert_eq!(compared.seeds().len(), 3);
    assert_eq!(compared.job_costs().len(), 3);
    let notes = compared.job_notes().join(" ");
    assert!(
        notes.contains("the nearest size it offers to 16:9"),
        "{notes}"
    );
    let titan_call = bedrock
        .received()
        .into_iter()
        .find(|c| c.model_id.starts_with("amazon.titan"))
        .expect("Titan was called");
    let config = &titan_call.body["imageGenerationConfig"];
    let ratio = config["width"].as_f64().unwrap() / config["height"].as_f64().unwrap();
    assert!((ratio - 16.0 / 9.0).abs() < 0.1, "{config}");
}
