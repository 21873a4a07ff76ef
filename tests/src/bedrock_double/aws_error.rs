//! restJson1 answers as Bedrock sends them: status, `x-amzn-ErrorType`, `x-amzn-RequestId`,
//! `Content-Type: application/json` and a JSON body with `message`.

use serde_json::{Map, Value, json};
use wiremock::ResponseTemplate;

use super::models::ACCOUNT_ID;

/// The suffix the runtime (bedrock-runtime) puts after the error code in `x-amzn-ErrorType`.
const RUNTIME_ERROR_TYPE_SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

pub(crate) const INVALID_MODEL_IDENTIFIER: &str = "The provided model identifier is invalid.";
pub(crate) const THROTTLED: &str = "Too many requests, please wait before trying again.";
pub(crate) const SERVICE_UNAVAILABLE: &str = "Bedrock is unable to process your request.";
/// The answer to a principal whose account has no AWS Marketplace subscription to the model
/// yet (or one still being set up), and which may not make one. As seen live in 2026; the
/// minutes at the end vary (2, 5, 15).
pub(crate) const MARKETPLACE_DENIED: &str = "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 2 minutes.";
pub(crate) const MODEL_TIMEOUT: &str =
    "Model has timed out in processing the request. Try your request again.";
pub(crate) const MODEL_ERROR: &str =
    "The model encountered an unexpected error during inference. Try your request again.";
pub(crate) const END_OF_LIFE: &str = "This model version has reached the end of its life. Please refer to the AWS documentation for more details.";
pub(crate) const LEGACY: &str = "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days. Please upgrade to an active model on Amazon Bedrock";
pub(crate) const UNSUPPORTED_CONTENT_TYPE: &str =
    "The provided Content Type is invalid or not supported for this model";
pub(crate) const MALFORMED_INPUT: &str =
    "Malformed input request, please reformat your input and try again.";
pub(crate) const INTERNAL_SERVER_ERROR: &str = "Internal server error. Retry your request.";

/// Bedrock's wording for a request that breaks the model's JSON schema.
pub(crate) fn malformed_input(violation: &str) -> String {
    format!("Malformed input request: {violation}, please reformat your input and try again.")
}

/// IAM's answer to a principal whose policies do not allow `action` (on `resource`, for
/// actions that name one).
pub(crate) fn not_authorized(action: &str, resource: Option<&str>) -> String {
    let on = resource.map_or(String::new(), |r| format!(" on resource: {r}"));
    format!(
        "User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/easel-task/easel is not authorized to \
         perform: {action}{on} because no identity-based policy allows the {action} action"
    )
}

/// The answer to an on-demand call of a model that must be called through an inference profile.
pub(crate) fn needs_inference_profile(model_id: &str) -> String {
    format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. \
         Retry your request with the ID or ARN of an inference profile that contains this model."
    )
}

/// An error of the runtime API (InvokeModel).
pub(crate) fn runtime(status: u16, code: &str, message: &str) -> ResponseTemplate {
    runtime_with(status, code, message, Map::new())
}

/// A runtime error with extra body members (ModelErrorException's `originalStatusCode`, ...).
pub(crate) fn runtime_with(
    status: u16,
    code: &str,
    message: &str,
    extra: Map<String, Value>,
) -> ResponseTemplate {
    error(
        status,
        &format!("{code}{RUNTIME_ERROR_TYPE_SUFFIX}"),
        message,
        extra,
    )
}

/// An error of the control plane API (ListFoundationModels, ...).
pub(crate) fn control_plane(status: u16, code: &str, message: &str) -> ResponseTemplate {
    error(status, code, message, Map::new())
}

fn error(
    status: u16,
    error_type: &str,
    message: &str,
    extra: Map<String, Value>,
) -> ResponseTemplate {
    let mut body = Map::new();
    body.insert("message".into(), json!(message));
    body.extend(extra);
    let body = serde_json::to_vec(&body).expect("a JSON map always serialises");
    json_answer(status, body).insert_header("x-amzn-ErrorType", error_type)
}

/// Any answer with a JSON (or JSON-labelled) body and a fresh request id.
pub(crate) fn json_answer(status: u16, body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-RequestId", request_id().as_str())
        .set_body_raw(body, "application/json")
}

/// A random request id in the UUID form AWS uses.
fn request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_ne!(id, request_id());
    }

    #[test]
    fn the_inference_profile_message_has_the_curly_apostrophe() {
        assert!(needs_inference_profile("x.y").contains("isn\u{2019}t supported"));
    }
}
