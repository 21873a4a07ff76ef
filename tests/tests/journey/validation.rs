//! Bad input gets a clear message next to its field and a 4xx, and never reaches Bedrock.

use easel_tests::{BedrockDouble, spawn_app};

use crate::TITAN_V1;

/// Form fields as posted.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn each_bad_field_gets_its_message_next_to_it() {
    let bedrock = BedrockDouble::start_all_live().await;
    let app = spawn_app(&bedrock).await;
    let cases: &[(Form, &str, &str)] = &[
        (&[("prompt", "   ")], "prompt", "Write a prompt first."),
        (
            &[("model", TITAN_V1), ("prompt", &"a".repeat(513))],
            "prompt",
            "The prompt is 513 characters long; this model takes at most 512.",
        ),
        (
            &[
                ("model", TITAN_V1),
                ("prompt", "fox"),
                ("size", "1000x1000"),
            ],
            "size",
            "Titan Image Generator G1 cannot make 1000x1000; choose one of the listed sizes.",
        ),
        (
            &[("prompt", "fox"), ("size", "4:3")],
            "size",
            "Stable Image Core cannot make 4:3; choose one of the listed aspect ratios.",
        ),
        (
            &[("prompt", "fox"), ("count", "6")],
            "count",
            "Choose from 1 to 5 images.",
        ),
        (
            &[("model", TITAN_V1), ("prompt", "fox"), ("cfg_scale", "NaN")],
            "cfg_scale",
            "The CFG scale must be a number from 1.1 to 10.",
        ),
        (
            &[("model", TITAN_V1), ("prompt", "fox"), ("quality", "ultra")],
            "quality",
            "Choose standard or premium quality.",
        ),
        (
            &[("prompt", "fox"), ("seed_mode", "fixed"), ("seed", "-1")],
            "seed",
            "The seed must be a whole number from 1 to 4294967294.",
        ),
        (
            &[("model", "dall-e"), ("prompt", "fox")],
            "model",
            "Choose one of the listed models.",
        ),
    ];
    for (fields, field, message) in cases {
        for page in [
            app.generate_with(fields).await,
            app.generate_without_js(fields).await,
        ] {
            assert_eq!(page.status, 422, "{fields:?}");
            assert_eq!(
                page.error_for(field).as_deref(),
                Some(*message),
                "{fields:?}"
            );
            assert!(
                page.contains(r#"id="generate-form""#),
                "the form comes back to be fixed"
            );
        }
    }
    assert!(
        bedrock.received().is_empty(),
        "nothing invalid reaches Bedrock"
    );
}

#[tokio::test]
async fn htmx_swaps_the_form_itself_so_messages_sit_by_their_fields() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app.generate_with(&[("prompt", "")]).await;

    assert_eq!(page.headers["hx-retarget"], "#generate-form");
    assert_eq!(page.headers["hx-reswap"], "outerHTML");
}

#[tokio::test]
async fn what_was_typed_survives_a_refused_form() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;

    let page = app
        .generate_without_js(&[("prompt", "<b>my long careful prompt</b>"), ("count", "9")])
        .await;

    assert_eq!(
        page.field_value("prompt").as_deref(),
        Some("<b>my long careful prompt</b>")
    );
    assert!(
        page.contains("&#60;b&#62;my long") || page.contains("&lt;b&gt;my long"),
        "escaped"
    );
}

#[tokio::test]
async fn an_oversized_or_garbled_request_is_a_4xx_never_a_500() {
    let bedrock = BedrockDouble::start().await;
    let app = spawn_app(&bedrock).await;
    let client = reqwest::Client::new();

    let huge = client
        .post(app.url("/generate"))
        .form(&[("prompt", "x".repeat(200_000))])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);

    let garbled = client
        .post(app.url("/generate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', b'%', 0x00])
        .send()
        .await
        .unwrap();
    assert!(garbled.status().is_client_error(), "{}", garbled.status());

    for path in [
        "/images/../../etc/passwd/image.png",
        "/images/%00/download",
        "/gallery?page=-1",
    ] {
        let status = client.get(app.url(path)).send().await.unwrap().status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
}
