//! The double against the real AWS SDK clients: what an app built on `aws-sdk-bedrockruntime`
//! and `aws-sdk-bedrock` sees.

use std::io::Cursor;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_bedrock::operation::get_foundation_model::GetFoundationModelError;
use aws_sdk_bedrock::operation::list_foundation_models::ListFoundationModelsError;
use aws_sdk_bedrock::primitives::DateTimeFormat;
use aws_sdk_bedrock::types::{
    AgreementStatus, AuthorizationStatus, EntitlementAvailability, FoundationModelLifecycleStatus,
    InferenceProfileType, InferenceType, ModelModality, OfferType, RegionAvailability,
};
use aws_sdk_bedrockruntime::config::Region;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::{InvokeModelError, InvokeModelOutput};
use aws_sdk_bedrockruntime::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::placeholder_png::SOFTWARE;
use super::{BedrockDouble, Lifecycle, Subscription};

const TITAN_V1: &str = "amazon.titan-image-generator-v1";
const TITAN_V2: &str = "amazon.titan-image-generator-v2:0";
const NOVA_CANVAS: &str = "amazon.nova-canvas-v1:0";
const CORE: &str = "stability.stable-image-core-v1:1";
const ULTRA: &str = "stability.stable-image-ultra-v1:1";
const SD35: &str = "stability.sd3-5-large-v1:0";

fn retry_quickly() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn runtime_client(double: &BedrockDouble) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::from_keys("AKIDEXAMPLE", "secret", None))
        .endpoint_url(double.uri())
        .retry_config(retry_quickly())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

fn control_client(double: &BedrockDouble) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_bedrock::config::Region::new("us-west-2"))
        .credentials_provider(Credentials::from_keys("AKIDEXAMPLE", "secret", None))
        .endpoint_url(double.uri())
        .retry_config(retry_quickly())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

type InvokeResult = Result<
    InvokeModelOutput,
    SdkError<InvokeModelError, aws_sdk_bedrockruntime::config::http::HttpResponse>,
>;

async fn invoke(double: &BedrockDouble, model_id: &str, body: &Value) -> InvokeResult {
    runtime_client(double)
        .invoke_model()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(serde_json::to_vec(body).unwrap()))
        .send()
        .await
}

async fn invoke_err(double: &BedrockDouble, model_id: &str, body: &Value) -> InvokeModelError {
    match invoke(double, model_id, body).await {
        Ok(output) => panic!(
            "expected an error, got {}",
            String::from_utf8_lossy(output.body().as_ref())
        ),
        Err(error) => error.into_service_error(),
    }
}

fn titan_body(text: &str, config: Value) -> Value {
    json!({
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": text},
        "imageGenerationConfig": config,
    })
}

fn small_titan_body() -> Value {
    titan_body(
        "a lighthouse at dusk",
        json!({"numberOfImages": 1, "width": 512, "height": 512, "seed": 3}),
    )
}

fn stability_body() -> Value {
    json!({"prompt": "a lighthouse at dusk", "aspect_ratio": "1:1", "seed": 77, "output_format": "png"})
}

fn json_of(output: &InvokeModelOutput) -> Value {
    serde_json::from_slice(output.body().as_ref()).expect("the body is JSON")
}

/// (width, height, Software text) of a base64 PNG.
fn png_facts(base64: &Value) -> (u32, u32, String) {
    let bytes = BASE64.decode(base64.as_str().unwrap()).unwrap();
    let reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
    let info = reader.info();
    let software = info
        .uncompressed_latin1_text
        .iter()
        .find(|chunk| chunk.keyword == "Software")
        .map(|chunk| chunk.text.clone())
        .unwrap_or_default();
    (info.width, info.height, software)
}

/// One raw HTTP/1.1 exchange, for what the SDK would never send. Returns (status, body).
async fn raw_http(double: &BedrockDouble, head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(double.address())
        .await
        .unwrap();
    let request = format!(
        "{head}\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        double.address(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

// ---------------------------------------------------------------- InvokeModel: success

#[tokio::test]
async fn titan_answers_the_requested_number_of_pngs_of_the_requested_size() {
    let bedrock = BedrockDouble::start_all_live().await;
    let body = titan_body(
        "a lighthouse at dusk",
        json!({"numberOfImages": 3, "quality": "standard", "cfgScale": 8.0, "width": 384, "height": 576, "seed": 11}),
    );

    let output = invoke(&bedrock, TITAN_V2, &body).await.unwrap();

    assert_eq!(output.content_type(), "application/json");
    let answer = json_of(&output);
    assert_eq!(answer["error"], Value::Null);
    let images = answer["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    for image in images {
        assert_eq!(png_facts(image), (384, 576, SOFTWARE.to_owned()));
    }
    assert_ne!(images[0], images[1], "each image of a call differs");

    let received = bedrock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].model_id, TITAN_V2);
    assert_eq!(received[0].body, body);
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(received[0].accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_picture() {
    let bedrock = BedrockDouble::start_all_live().await;
    let first = json_of(
        &invoke(&bedrock, TITAN_V1, &small_titan_body())
            .await
            .unwrap(),
    );
    let again = json_of(
        &invoke(&bedrock, TITAN_V1, &small_titan_body())
            .await
            .unwrap(),
    );
    assert_eq!(first, again);
}

#[tokio::test]
async fn nova_canvas_takes_free_sizes_within_its_rules() {
    let bedrock = BedrockDouble::start_all_live().await;
    let body = titan_body(
        "a red kite",
        json!({"width": 640, "height": 320, "seed": 5}),
    );
    let answer = json_of(&invoke(&bedrock, NOVA_CANVAS, &body).await.unwrap());
    assert_eq!(png_facts(&answer["images"][0]).0, 640);
    assert_eq!(png_facts(&answer["images"][0]).1, 320);
}

#[tokio::test]
async fn stability_returns_the_seed_sent_and_one_png_in_the_aspect_ratio() {
    let bedrock = BedrockDouble::start().await;
    let body = json!({"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 1234, "output_format": "png"});

    let answer = json_of(&invoke(&bedrock, CORE, &body).await.unwrap());

    assert_eq!(answer["seeds"], json!([1234]));
    assert_eq!(answer["finish_reasons"], json!([null]));
    let images = answer["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(png_facts(&images[0]), (1344, 768, SOFTWARE.to_owned()));
}

#[tokio::test]
async fn every_live_stability_model_answers_and_a_random_seed_is_reported() {
    let bedrock = BedrockDouble::start().await;
    for model in [
        CORE,
        ULTRA,
        SD35,
        "stability.stable-image-core-v1:0",
        "stability.stable-image-ultra-v1:0",
    ] {
        let answer = json_of(
            &invoke(&bedrock, model, &json!({"prompt": "a fox"}))
                .await
                .unwrap(),
        );
        let seed = answer["seeds"][0].as_u64().unwrap();
        assert!((1..=4_294_967_294).contains(&seed), "{model}: {seed}");
        assert_eq!(answer["images"].as_array().unwrap().len(), 1, "{model}");
    }
}

#[tokio::test]
async fn model_ids_arrive_percent_encoded_or_not() {
    let bedrock = BedrockDouble::start().await;
    // The SDK sends `stability.stable-image-core-v1%3A1`.
    invoke(&bedrock, CORE, &stability_body()).await.unwrap();
    // Other clients may not encode the colon.
    let (status, body) = raw_http(
        &bedrock,
        &format!("POST /model/{CORE}/invoke HTTP/1.1\r\nContent-Type: application/json"),
        &stability_body().to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let ids: Vec<String> = bedrock.received().into_iter().map(|i| i.model_id).collect();
    assert_eq!(ids, [CORE, CORE]);
}

#[tokio::test]
async fn a_model_arn_works_as_a_model_id() {
    let bedrock = BedrockDouble::start().await;
    let arn = format!("arn:aws:bedrock:us-west-2::foundation-model/{ULTRA}");
    invoke(&bedrock, &arn, &stability_body()).await.unwrap();
    assert_eq!(bedrock.received()[0].model_id, arn);
}

// ---------------------------------------------------------------- InvokeModel: refusals

#[tokio::test]
async fn a_prompt_over_512_characters_is_refused_with_bedrocks_message() {
    let bedrock = BedrockDouble::start_all_live().await;
    let body = titan_body(&"x".repeat(536), json!({"width": 512, "height": 512}));

    let error = invoke_err(&bedrock, TITAN_V1, &body).await;

    assert!(error.is_validation_exception(), "{error:?}");
    assert_eq!(
        error.message(),
        Some(
            "Malformed input request: #/textToImageParams/text: expected maxLength: 512, actual: 536, please reformat your input and try again."
        )
    );
}

#[tokio::test]
async fn an_unknown_stability_field_is_refused() {
    let bedrock = BedrockDouble::start().await;
    let error = invoke_err(&bedrock, SD35, &json!({"prompt": "a", "cfg_scale": 7})).await;
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some(
            "Malformed input request: #: extraneous key [cfg_scale] is not permitted, please reformat your input and try again."
        )
    );
}

#[tokio::test]
async fn an_unknown_model_id_is_invalid() {
    let bedrock = BedrockDouble::start().await;
    let error = invoke_err(
        &bedrock,
        "stability.stable-diffusion-xl-v1",
        &stability_body(),
    )
    .await;
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some("The provided model identifier is invalid.")
    );
}

#[tokio::test]
async fn a_body_sent_without_a_json_content_type_is_refused_but_recorded() {
    let bedrock = BedrockDouble::start().await;
    let result = runtime_client(&bedrock)
        .invoke_model()
        .model_id(CORE)
        .body(Blob::new(stability_body().to_string()))
        .send()
        .await;
    let error = result.unwrap_err().into_service_error();
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some("The provided Content Type is invalid or not supported for this model")
    );
    let received = bedrock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(received[0].body, stability_body());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_malformed() {
    let bedrock = BedrockDouble::start().await;
    let result = runtime_client(&bedrock)
        .invoke_model()
        .model_id(CORE)
        .content_type("application/json")
        .body(Blob::new("prompt=a fox"))
        .send()
        .await;
    let error = result.unwrap_err().into_service_error();
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some("Malformed input request, please reformat your input and try again.")
    );
    assert_eq!(bedrock.received()[0].body, json!("prompt=a fox"));
}

// ---------------------------------------------------------------- InvokeModel: lifecycle

#[tokio::test]
async fn titan_and_nova_canvas_are_past_their_end_of_life_by_default() {
    let bedrock = BedrockDouble::start().await;
    for model in [TITAN_V1, TITAN_V2, NOVA_CANVAS] {
        let error = invoke_err(&bedrock, model, &small_titan_body()).await;
        assert!(
            error.is_resource_not_found_exception(),
            "{model}: {error:?}"
        );
        assert_eq!(
            error.message(),
            Some(
                "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
            )
        );
    }
}

#[tokio::test]
async fn a_legacy_model_refuses_accounts_that_have_not_used_it() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        ULTRA,
        Lifecycle::Legacy {
            end_of_life: "2027-03-01",
        },
    );
    let error = invoke_err(&bedrock, ULTRA, &stability_body()).await;
    assert!(error.is_resource_not_found_exception());
    assert_eq!(
        error.message(),
        Some(
            "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days. Please upgrade to an active model on Amazon Bedrock"
        )
    );
}

#[tokio::test]
async fn a_model_missing_from_the_region_is_an_invalid_identifier() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(SD35, Lifecycle::NotInRegion);
    let error = invoke_err(&bedrock, SD35, &stability_body()).await;
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some("The provided model identifier is invalid.")
    );
}

#[tokio::test]
async fn a_model_behind_an_inference_profile_answers_only_through_the_profile() {
    let bedrock = BedrockDouble::start().await;
    let profile = format!("us.{CORE}");
    bedrock.set_lifecycle(
        CORE,
        Lifecycle::NeedsInferenceProfile {
            profile_id: profile.clone(),
        },
    );

    let error = invoke_err(&bedrock, CORE, &stability_body()).await;
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some(
            "Invocation of model ID stability.stable-image-core-v1:1 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        )
    );

    let answer = json_of(&invoke(&bedrock, &profile, &stability_body()).await.unwrap());
    assert_eq!(answer["seeds"], json!([77]));
}

// ---------------------------------------------------------------- InvokeModel: faults

#[tokio::test]
async fn throttling_surfaces_after_the_sdks_retries() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_throttle();
    let error = invoke_err(&bedrock, CORE, &stability_body()).await;
    assert!(error.is_throttling_exception(), "{error:?}");
    assert_eq!(
        error.message(),
        Some("Too many requests, please wait before trying again.")
    );
    assert_eq!(bedrock.received().len(), 3, "the SDK tried three times");
}

#[tokio::test]
async fn one_throttled_call_is_retried_into_a_success() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_throttle_times(1);
    let answer = json_of(&invoke(&bedrock, CORE, &stability_body()).await.unwrap());
    assert_eq!(answer["seeds"], json!([77]));
    assert_eq!(bedrock.received().len(), 2);
    invoke(&bedrock, CORE, &stability_body()).await.unwrap();
    assert_eq!(bedrock.received().len(), 3, "back to normal");
}

#[tokio::test]
async fn a_server_error_is_retried_and_then_surfaces() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_fail_with_server_error();
    let error = invoke_err(&bedrock, CORE, &stability_body()).await;
    assert!(error.is_service_unavailable_exception(), "{error:?}");
    assert_eq!(bedrock.received().len(), 3);
}

#[tokio::test]
async fn model_faults_map_to_their_sdk_errors_without_retries() {
    let bedrock = BedrockDouble::start().await;

    bedrock.will_time_out_model();
    assert!(
        invoke_err(&bedrock, CORE, &stability_body())
            .await
            .is_model_timeout_exception()
    );

    bedrock.will_deny_access();
    let error = invoke_err(&bedrock, CORE, &stability_body()).await;
    assert!(error.is_access_denied_exception());
    assert_eq!(error.code(), Some("AccessDeniedException"));

    bedrock.will_return_model_error();
    match invoke_err(&bedrock, CORE, &stability_body()).await {
        InvokeModelError::ModelErrorException(error) => {
            assert_eq!(error.original_status_code(), Some(500));
            assert_eq!(
                error.resource_name(),
                Some(
                    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1"
                )
            );
        }
        other => panic!("expected ModelErrorException, got {other:?}"),
    }

    assert_eq!(bedrock.received().len(), 3, "none of them was retried");
    bedrock.reset();
    invoke(&bedrock, CORE, &stability_body()).await.unwrap();
}

#[tokio::test]
async fn blocked_prompts_are_a_validation_error_for_titan_and_a_finish_reason_for_stability() {
    let bedrock = BedrockDouble::start_all_live().await;
    bedrock.will_block_prompt();

    let error = invoke_err(&bedrock, NOVA_CANVAS, &small_titan_body()).await;
    assert!(error.is_validation_exception());
    assert_eq!(
        error.message(),
        Some(
            "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."
        )
    );
    let error = invoke_err(&bedrock, TITAN_V1, &small_titan_body()).await;
    assert!(
        error
            .message()
            .unwrap()
            .starts_with("This request has been blocked by our content filters.")
    );

    let answer = json_of(&invoke(&bedrock, CORE, &stability_body()).await.unwrap());
    assert_eq!(
        answer,
        json!({"seeds": [77], "finish_reasons": ["Filter reason: prompt"], "images": []})
    );
}

#[tokio::test]
async fn blocked_output_comes_back_as_a_success_without_images() {
    let bedrock = BedrockDouble::start_all_live().await;
    bedrock.will_block_output();

    let answer = json_of(
        &invoke(&bedrock, TITAN_V2, &small_titan_body())
            .await
            .unwrap(),
    );
    assert_eq!(
        answer,
        json!({"images": [], "error": "All of the generated images have been blocked by our content filters."})
    );
    let answer = json_of(&invoke(&bedrock, SD35, &stability_body()).await.unwrap());
    assert_eq!(
        answer["finish_reasons"],
        json!(["Filter reason: output image"])
    );
    assert_eq!(answer["images"], json!([]));
}

#[tokio::test]
async fn broken_answers_reach_the_caller_as_successes() {
    let bedrock = BedrockDouble::start().await;

    bedrock.will_return_malformed_json();
    let output = invoke(&bedrock, CORE, &stability_body()).await.unwrap();
    assert_eq!(output.content_type(), "application/json");
    assert!(serde_json::from_slice::<Value>(output.body().as_ref()).is_err());

    bedrock.will_return_bad_base64();
    let answer = json_of(&invoke(&bedrock, CORE, &stability_body()).await.unwrap());
    assert_eq!(answer["seeds"], json!([77]));
    assert!(
        BASE64
            .decode(answer["images"][0].as_str().unwrap())
            .is_err()
    );
}

#[tokio::test]
async fn only_the_chosen_call_fails() {
    let bedrock = BedrockDouble::start().await;
    invoke(&bedrock, CORE, &stability_body()).await.unwrap();
    bedrock.will_fail_call_number(2);

    let first = invoke(&bedrock, CORE, &stability_body()).await;
    let second = invoke(&bedrock, CORE, &stability_body()).await;
    let third = invoke(&bedrock, CORE, &stability_body()).await;

    assert!(first.is_ok());
    assert!(
        second
            .unwrap_err()
            .into_service_error()
            .is_model_error_exception()
    );
    assert!(third.is_ok());
}

#[tokio::test]
async fn a_slow_model_answers_normally_after_the_delay() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(150));
    let output = invoke(&bedrock, CORE, &stability_body()).await.unwrap();
    let images = json_of(&output)["images"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        images.len(),
        1,
        "the delayed answer still carries its picture"
    );
}

// ---------------------------------------------------------------- control plane

#[tokio::test]
async fn the_image_models_listed_today_are_the_active_stability_ones() {
    let bedrock = BedrockDouble::start().await;
    let output = control_client(&bedrock)
        .list_foundation_models()
        .by_output_modality(ModelModality::Image)
        .send()
        .await
        .unwrap();

    let mut ids: Vec<&str> = output
        .model_summaries()
        .iter()
        .map(|m| m.model_id())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            SD35,
            "stability.stable-image-core-v1:0",
            CORE,
            "stability.stable-image-ultra-v1:0",
            ULTRA
        ]
    );
    let core = output
        .model_summaries()
        .iter()
        .find(|m| m.model_id() == CORE)
        .unwrap();
    assert_eq!(
        core.model_arn(),
        format!("arn:aws:bedrock:us-west-2::foundation-model/{CORE}")
    );
    assert_eq!(core.provider_name(), Some("Stability AI"));
    assert_eq!(core.output_modalities(), [ModelModality::Image]);
    assert_eq!(core.inference_types_supported(), [InferenceType::OnDemand]);
    assert_eq!(core.response_streaming_supported(), Some(false));
    assert_eq!(
        core.model_lifecycle().unwrap().status(),
        &FoundationModelLifecycleStatus::Active
    );
}

#[tokio::test]
async fn a_legacy_model_is_listed_with_its_end_of_life() {
    let bedrock = BedrockDouble::start_all_live().await;
    bedrock.set_lifecycle(
        TITAN_V2,
        Lifecycle::Legacy {
            end_of_life: "2027-03-01",
        },
    );
    bedrock.set_lifecycle(TITAN_V1, Lifecycle::EndOfLife);
    let client = control_client(&bedrock);

    let list = client
        .list_foundation_models()
        .by_provider("Amazon")
        .send()
        .await
        .unwrap();
    let statuses: Vec<(&str, &FoundationModelLifecycleStatus)> = list
        .model_summaries()
        .iter()
        .map(|m| (m.model_id(), m.model_lifecycle().unwrap().status()))
        .collect();
    assert_eq!(
        statuses,
        [
            (TITAN_V2, &FoundationModelLifecycleStatus::Legacy),
            (NOVA_CANVAS, &FoundationModelLifecycleStatus::Active)
        ]
    );

    let details = client
        .get_foundation_model()
        .model_identifier(TITAN_V2)
        .send()
        .await
        .unwrap();
    let lifecycle = details.model_details().unwrap().model_lifecycle().unwrap();
    assert_eq!(lifecycle.status(), &FoundationModelLifecycleStatus::Legacy);
    let end = lifecycle
        .end_of_life_time()
        .unwrap()
        .fmt(DateTimeFormat::DateTime)
        .unwrap();
    assert_eq!(end, "2027-03-01T00:00:00Z");
    let legacy = lifecycle
        .legacy_time()
        .unwrap()
        .fmt(DateTimeFormat::DateTime)
        .unwrap();
    assert_eq!(legacy, "2026-09-01T00:00:00Z");
}

#[tokio::test]
async fn an_end_of_life_model_is_not_found() {
    let bedrock = BedrockDouble::start().await;
    let error = control_client(&bedrock)
        .get_foundation_model()
        .model_identifier(format!(
            "arn:aws:bedrock:us-west-2::foundation-model/{TITAN_V1}"
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(error, GetFoundationModelError::ResourceNotFoundException(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_model_needing_a_profile_is_listed_with_its_profile() {
    let bedrock = BedrockDouble::start().await;
    bedrock.set_lifecycle(
        CORE,
        Lifecycle::NeedsInferenceProfile {
            profile_id: format!("us.{CORE}"),
        },
    );
    bedrock.set_lifecycle(
        ULTRA,
        Lifecycle::NeedsInferenceProfile {
            profile_id: format!("us.{ULTRA}"),
        },
    );
    let client = control_client(&bedrock);

    let details = client
        .get_foundation_model()
        .model_identifier(CORE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        details.model_details().unwrap().inference_types_supported(),
        [InferenceType::from("INFERENCE_PROFILE")]
    );
    let on_demand = client
        .list_foundation_models()
        .by_inference_type(InferenceType::OnDemand)
        .send()
        .await
        .unwrap();
    assert!(
        on_demand
            .model_summaries()
            .iter()
            .all(|m| m.model_id() != CORE)
    );

    // One profile per page, to walk the pages as an app would.
    let mut profiles = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_inference_profiles()
            .type_equals(InferenceProfileType::SystemDefined)
            .max_results(1)
            .set_next_token(next_token)
            .send()
            .await
            .unwrap();
        profiles.extend(page.inference_profile_summaries().iter().cloned());
        next_token = page.next_token().map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }
    let ids: Vec<&str> = profiles.iter().map(|p| p.inference_profile_id()).collect();
    assert_eq!(ids, [format!("us.{CORE}"), format!("us.{ULTRA}")]);
    let core = &profiles[0];
    assert!(core.models().iter().any(|m| m.model_arn()
        == Some(&*format!(
            "arn:aws:bedrock:us-west-2::foundation-model/{CORE}"
        ))));
    assert_eq!(core.r#type(), &InferenceProfileType::SystemDefined);
    assert!(core.created_at().is_some());
}

#[tokio::test]
async fn control_plane_faults_map_to_their_sdk_errors() {
    let bedrock = BedrockDouble::start().await;
    let client = control_client(&bedrock);

    bedrock.will_refuse_control_plane();
    let error = client
        .list_foundation_models()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(error, ListFoundationModelsError::AccessDeniedException(_)),
        "{error:?}"
    );

    bedrock.will_fail_control_plane();
    let error = client
        .list_inference_profiles()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_internal_server_exception(), "{error:?}");

    bedrock.reset();
    client.list_foundation_models().send().await.unwrap();
}

// ---------------------------------------------------------------- access and subscriptions

#[tokio::test]
async fn an_iam_denial_names_the_action_and_the_model() {
    let bedrock = BedrockDouble::start().await;
    bedrock.will_deny_access();

    let error = invoke_err(&bedrock, CORE, &stability_body()).await;

    assert!(error.is_access_denied_exception());
    assert_eq!(
        error.message(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/easel-task/easel is not authorized to \
             perform: bedrock:InvokeModel on resource: \
             arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1 \
             because no identity-based policy allows the bedrock:InvokeModel action"
        )
    );
}

async fn agreement_status(bedrock: &BedrockDouble, model_id: &str) -> AgreementStatus {
    control_client(bedrock)
        .get_foundation_model_availability()
        .model_id(model_id)
        .send()
        .await
        .unwrap()
        .agreement_availability()
        .unwrap()
        .status()
        .clone()
}

#[tokio::test]
async fn every_model_starts_subscribed_and_available_where_it_is_listed() {
    let bedrock = BedrockDouble::start().await;
    let client = control_client(&bedrock);

    let core = client
        .get_foundation_model_availability()
        .model_id(CORE)
        .send()
        .await
        .unwrap();
    assert_eq!(core.model_id(), CORE);
    assert_eq!(
        core.agreement_availability().unwrap().status(),
        &AgreementStatus::Available
    );
    assert_eq!(
        core.authorization_status(),
        &AuthorizationStatus::Authorized
    );
    assert_eq!(
        core.entitlement_availability(),
        &EntitlementAvailability::Available
    );
    assert_eq!(core.region_availability(), &RegionAvailability::Available);

    let retired = client
        .get_foundation_model_availability()
        .model_id(TITAN_V1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        retired.region_availability(),
        &RegionAvailability::NotAvailable
    );

    let unknown = client
        .get_foundation_model_availability()
        .model_id("stability.no-such-model-v1:0")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(unknown.is_resource_not_found_exception(), "{unknown:?}");
}

#[tokio::test]
async fn an_unsubscribed_model_is_refused_until_its_offer_is_accepted() {
    let bedrock = BedrockDouble::start().await;
    bedrock.model_is_not_subscribed(CORE);
    let client = control_client(&bedrock);
    assert_eq!(
        agreement_status(&bedrock, CORE).await,
        AgreementStatus::NotAvailable
    );

    let refused = invoke_err(&bedrock, CORE, &stability_body()).await;
    assert!(refused.is_access_denied_exception());
    let message = refused.message().unwrap();
    assert!(
        message.starts_with("Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe)"),
        "{message}"
    );
    assert!(message.ends_with("try again after 2 minutes."), "{message}");
    invoke(&bedrock, ULTRA, &stability_body())
        .await
        .expect("other models answer");

    let offers = client
        .list_foundation_model_agreement_offers()
        .model_id(CORE)
        .offer_type(OfferType::Public)
        .send()
        .await
        .unwrap();
    assert_eq!(offers.model_id(), CORE);
    let [offer] = offers.offers() else {
        panic!("one public offer: {:?}", offers.offers())
    };
    let terms = offer.term_details().unwrap();
    assert!(
        !terms
            .usage_based_pricing_term()
            .unwrap()
            .rate_card()
            .is_empty()
    );
    assert!(terms.legal_term().unwrap().url().is_some());

    let made = client
        .create_foundation_model_agreement()
        .model_id(CORE)
        .offer_token(offer.offer_token())
        .send()
        .await
        .unwrap();
    assert_eq!(made.model_id(), CORE);
    assert_eq!(bedrock.agreements_created(), [CORE]);
    assert_eq!(
        agreement_status(&bedrock, CORE).await,
        AgreementStatus::Pending
    );
    invoke(&bedrock, CORE, &stability_body())
        .await
        .expect("a subscription being set up answers");

    bedrock.subscription_completes(CORE);
    assert_eq!(
        agreement_status(&bedrock, CORE).await,
        AgreementStatus::Available
    );
}

#[tokio::test]
async fn an_offer_is_accepted_only_with_its_own_token() {
    let bedrock = BedrockDouble::start_all_live().await;
    bedrock.model_is_not_subscribed(CORE);
    let client = control_client(&bedrock);

    let error = client
        .create_foundation_model_agreement()
        .model_id(CORE)
        .offer_token("made-up")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    assert_eq!(bedrock.subscription(CORE), Subscription::NotSubscribed);

    let amazon = client
        .list_foundation_model_agreement_offers()
        .model_id(NOVA_CANVAS)
        .send()
        .await
        .unwrap();
    assert!(
        amazon.offers().is_empty(),
        "Amazon's own models need no agreement"
    );
}

#[tokio::test]
async fn a_caller_allowed_to_subscribe_starts_the_subscription_with_its_first_call() {
    let bedrock = BedrockDouble::start().await;
    bedrock.model_is_not_subscribed(CORE);
    bedrock.caller_may_subscribe();

    invoke(&bedrock, CORE, &stability_body())
        .await
        .expect("the first call answers");

    assert_eq!(bedrock.subscription(CORE), Subscription::Pending);
    assert!(bedrock.agreements_created().is_empty());
}

#[tokio::test]
async fn a_failed_subscription_reports_why_and_refuses_calls() {
    let bedrock = BedrockDouble::start().await;
    bedrock.subscription_failed(ULTRA);

    let availability = control_client(&bedrock)
        .get_foundation_model_availability()
        .model_id(ULTRA)
        .send()
        .await
        .unwrap();
    let agreement = availability.agreement_availability().unwrap();
    assert_eq!(agreement.status(), &AgreementStatus::Error);
    assert!(
        agreement
            .error_message()
            .unwrap()
            .contains("aws-marketplace:Subscribe")
    );
    assert!(
        invoke_err(&bedrock, ULTRA, &stability_body())
            .await
            .is_access_denied_exception()
    );
}

#[tokio::test]
async fn subscription_questions_obey_control_plane_faults() {
    let bedrock = BedrockDouble::start().await;
    bedrock.model_is_not_subscribed(CORE);
    bedrock.will_refuse_control_plane();
    let client = control_client(&bedrock);

    let error = client
        .get_foundation_model_availability()
        .model_id(CORE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_access_denied_exception(), "{error:?}");
    assert!(
        error
            .message()
            .unwrap()
            .contains("bedrock:GetFoundationModelAvailability")
    );
    let error = client
        .create_foundation_model_agreement()
        .model_id(CORE)
        .offer_token("any")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_access_denied_exception(), "{error:?}");
    assert!(bedrock.agreements_created().is_empty());
}

#[tokio::test]
async fn unknown_routes_are_unknown_operations() {
    let bedrock = BedrockDouble::start().await;
    let (status, body) = raw_http(&bedrock, "GET /guardrails HTTP/1.1", "").await;
    assert_eq!(status, 404);
    assert!(body.contains("does not serve GET /guardrails"), "{body}");
}
