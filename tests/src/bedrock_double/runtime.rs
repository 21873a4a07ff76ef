//! `POST /model/{modelId}/invoke`: InvokeModel as bedrock-runtime answers it.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};
use wiremock::{Request, ResponseTemplate};

use super::aws_error::{self, json_answer};
use super::models::{self, Family, Model, StabilityVariant, TitanVariant};
use super::{
    InRegion, Invocation, Lifecycle, Mode, State, Subscription, lock, placeholder_png, stability,
    titan,
};

/// What happens to one invocation, decided from the mode when it arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    BlockPrompt,
    BlockOutput,
    Throttle,
    ServerError,
    Delay(Duration),
    ModelTimeout,
    ModelError,
    MalformedJson,
    BadBase64,
    DenyAccess,
}

/// A 200 answer labelled JSON whose body is cut off in the middle.
const MALFORMED_JSON: &[u8] = br#"{"images":["iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"#;

pub(crate) fn invoke(
    state: &Mutex<State>,
    request: &Request,
    raw_model_id: &str,
) -> ResponseTemplate {
    let model_id = percent_encoding::percent_decode_str(raw_model_id)
        .decode_utf8_lossy()
        .into_owned();
    let content_type = header(request, "content-type");
    let accept = header(request, "accept");
    let recorded_body = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) if request.body.is_empty() => Value::Null,
        Err(_) => Value::String(String::from_utf8_lossy(&request.body).into_owned()),
    };

    let (fault, target) = {
        let mut state = lock(state);
        state.received.push(Invocation {
            model_id: model_id.clone(),
            body: recorded_body,
            content_type: content_type.clone(),
            accept,
        });
        let call_number = state.received.len();
        let fault = next_fault(&mut state.mode, call_number);
        let target = resolve(&state.seen_from(request), &model_id);
        (
            fault,
            target.and_then(|model| subscribed(&mut state, model)),
        )
    };

    let answer = answer(
        fault,
        &model_id,
        target,
        content_type.as_deref(),
        &request.body,
    );
    match fault {
        Fault::Delay(delay) => answer.set_delay(delay),
        _ => answer,
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The fault for this call; counting modes move on.
fn next_fault(mode: &mut Mode, call_number: usize) -> Fault {
    match *mode {
        Mode::Normal => Fault::None,
        Mode::BlockPrompt => Fault::BlockPrompt,
        Mode::BlockOutput => Fault::BlockOutput,
        Mode::Throttle => Fault::Throttle,
        Mode::ThrottleTimes(left) => {
            *mode = if left > 1 {
                Mode::ThrottleTimes(left - 1)
            } else {
                Mode::Normal
            };
            if left > 0 {
                Fault::Throttle
            } else {
                Fault::None
            }
        }
        Mode::ServerError => Fault::ServerError,
        Mode::AnswerAfter(delay) => Fault::Delay(delay),
        Mode::ModelTimeout => Fault::ModelTimeout,
        Mode::ModelError => Fault::ModelError,
        Mode::MalformedJson => Fault::MalformedJson,
        Mode::BadBase64 => Fault::BadBase64,
        Mode::DenyAccess => Fault::DenyAccess,
        Mode::FailCall(failing) if failing == call_number => {
            *mode = Mode::Normal;
            Fault::ModelError
        }
        Mode::FailCall(_) => Fault::None,
        Mode::SlowFromCall(first_slow, delay) if call_number >= first_slow => Fault::Delay(delay),
        Mode::SlowFromCall(..) => Fault::None,
    }
}

/// The model, if the account is subscribed to it; the first call of a caller that may
/// subscribe starts the subscription and is answered.
fn subscribed(state: &mut State, model: &'static Model) -> Result<&'static Model, Unreachable> {
    let subscription = state.subscriptions.entry(model.id).or_default();
    match subscription {
        Subscription::Subscribed | Subscription::Pending => Ok(model),
        Subscription::NotSubscribed if state.caller_may_subscribe => {
            *subscription = Subscription::Pending;
            Ok(model)
        }
        Subscription::NotSubscribed | Subscription::Failed => Err(Unreachable::NotSubscribed),
    }
}

/// Why InvokeModel cannot reach a model.
#[derive(Debug, Clone, PartialEq)]
enum Unreachable {
    InvalidIdentifier,
    /// No AWS Marketplace subscription, and the caller may not make one.
    NotSubscribed,
    Legacy,
    EndOfLife,
    /// The id called, which needs an inference profile.
    NeedsInferenceProfile(String),
}

impl Unreachable {
    fn answer(&self) -> ResponseTemplate {
        match self {
            Unreachable::InvalidIdentifier => validation(aws_error::INVALID_MODEL_IDENTIFIER),
            Unreachable::NotSubscribed => {
                aws_error::runtime(403, "AccessDeniedException", aws_error::MARKETPLACE_DENIED)
            }
            Unreachable::Legacy => {
                aws_error::runtime(404, "ResourceNotFoundException", aws_error::LEGACY)
            }
            Unreachable::EndOfLife => {
                aws_error::runtime(404, "ResourceNotFoundException", aws_error::END_OF_LIFE)
            }
            Unreachable::NeedsInferenceProfile(id) => {
                validation(&aws_error::needs_inference_profile(id))
            }
        }
    }
}

/// The model behind an id (or ARN, or inference profile id), if it may be called.
fn resolve(state: &InRegion, model_id: &str) -> Result<&'static Model, Unreachable> {
    let id = strip_inference_profile_arn(models::strip_foundation_model_arn(model_id));
    if let Some(model) = models::find(id) {
        return match state.lifecycle(model) {
            Lifecycle::Active => Ok(model),
            Lifecycle::Legacy { .. } => Err(Unreachable::Legacy),
            Lifecycle::EndOfLife => Err(Unreachable::EndOfLife),
            Lifecycle::NotInRegion => Err(Unreachable::InvalidIdentifier),
            Lifecycle::NeedsInferenceProfile { .. } => {
                Err(Unreachable::NeedsInferenceProfile(id.to_owned()))
            }
        };
    }
    state
        .model_behind_profile(id)
        .ok_or(Unreachable::InvalidIdentifier)
}

fn strip_inference_profile_arn(identifier: &str) -> &str {
    match identifier.split_once(":inference-profile/") {
        Some((prefix, id)) if prefix.starts_with("arn:") => id,
        _ => identifier,
    }
}

fn answer(
    fault: Fault,
    model_id: &str,
    target: Result<&'static Model, Unreachable>,
    content_type: Option<&str>,
    body: &[u8],
) -> ResponseTemplate {
    match fault {
        Fault::Throttle => {
            return aws_error::runtime(429, "ThrottlingException", aws_error::THROTTLED);
        }
        Fault::ServerError => {
            return aws_error::runtime(
                503,
                "ServiceUnavailableException",
                aws_error::SERVICE_UNAVAILABLE,
            );
        }
        Fault::DenyAccess => {
            let resource = models::foundation_model_arn(models::REGION, model_id);
            return aws_error::runtime(
                403,
                "AccessDeniedException",
                &aws_error::not_authorized("bedrock:InvokeModel", Some(&resource)),
            );
        }
        _ => {}
    }
    if !is_json(content_type) {
        return validation(aws_error::UNSUPPORTED_CONTENT_TYPE);
    }
    let model = match target {
        Ok(model) => model,
        Err(unreachable) => return unreachable.answer(),
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return validation(aws_error::MALFORMED_INPUT);
    };
    match model.family {
        Family::Titan(variant) => titan_answer(model, variant, fault, &body),
        Family::Stability(variant) => stability_answer(model, variant, fault, &body),
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/json")
    })
}

fn titan_answer(
    model: &Model,
    variant: TitanVariant,
    fault: Fault,
    body: &Value,
) -> ResponseTemplate {
    let request = match titan::parse(variant, body) {
        Ok(request) => request,
        Err(refusal) => return validation(&refusal.message()),
    };
    match fault {
        Fault::BlockPrompt => validation(titan::prompt_blocked_message(variant)),
        Fault::ModelTimeout => model_timeout(),
        Fault::ModelError => model_error(model),
        Fault::BlockOutput => ok(titan::output_blocked_body()),
        Fault::MalformedJson => ok(MALFORMED_JSON.to_vec()),
        Fault::BadBase64 => ok(titan::bad_base64_body()),
        _ => {
            let images: Vec<_> = (0..u64::from(request.number_of_images))
                .map(|index| {
                    placeholder_png::base64_png(
                        request.width,
                        request.height,
                        request.seed.wrapping_add(index),
                    )
                })
                .collect();
            ok(titan::success_body(&images))
        }
    }
}

fn stability_answer(
    model: &Model,
    variant: StabilityVariant,
    fault: Fault,
    body: &Value,
) -> ResponseTemplate {
    let request = match stability::parse(variant, body) {
        Ok(request) => request,
        Err(refusal) => return validation(&refusal.message()),
    };
    match fault {
        Fault::BlockPrompt => ok(stability::filtered_body(
            request.seed,
            stability::PROMPT_FILTERED,
        )),
        Fault::BlockOutput => ok(stability::filtered_body(
            request.seed,
            stability::OUTPUT_FILTERED,
        )),
        Fault::ModelTimeout => model_timeout(),
        Fault::ModelError => model_error(model),
        Fault::MalformedJson => ok(MALFORMED_JSON.to_vec()),
        Fault::BadBase64 => ok(stability::bad_base64_body(request.seed)),
        _ => {
            let image = placeholder_png::base64_png(request.width, request.height, request.seed);
            ok(stability::success_body(request.seed, &image))
        }
    }
}

fn ok(body: Vec<u8>) -> ResponseTemplate {
    json_answer(200, body)
}

fn validation(message: &str) -> ResponseTemplate {
    aws_error::runtime(400, "ValidationException", message)
}

fn model_timeout() -> ResponseTemplate {
    aws_error::runtime(408, "ModelTimeoutException", aws_error::MODEL_TIMEOUT)
}

fn model_error(model: &Model) -> ResponseTemplate {
    let mut extra = Map::new();
    extra.insert("originalStatusCode".into(), json!(500));
    extra.insert("resourceName".into(), json!(model.arn()));
    aws_error::runtime_with(424, "ModelErrorException", aws_error::MODEL_ERROR, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_a_number_of_times_counts_down_to_normal() {
        let mut mode = Mode::ThrottleTimes(2);
        assert_eq!(next_fault(&mut mode, 1), Fault::Throttle);
        assert_eq!(next_fault(&mut mode, 2), Fault::Throttle);
        assert_eq!(next_fault(&mut mode, 3), Fault::None);
        assert_eq!(mode, Mode::Normal);
    }

    #[test]
    fn only_the_chosen_call_fails() {
        let mut mode = Mode::FailCall(3);
        let faults: Vec<_> = (1..=4).map(|call| next_fault(&mut mode, call)).collect();
        assert_eq!(
            faults,
            [Fault::None, Fault::None, Fault::ModelError, Fault::None]
        );
    }

    #[test]
    fn json_content_types_may_carry_parameters() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("application/octet-stream")));
        assert!(!is_json(None));
    }

    #[test]
    fn profile_arns_are_reduced_to_profile_ids() {
        assert_eq!(
            strip_inference_profile_arn(
                "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.stability.sd3-5-large-v1:0"
            ),
            "us.stability.sd3-5-large-v1:0"
        );
    }
}
