//! The control plane (service `bedrock`): ListFoundationModels, GetFoundationModel and
//! ListInferenceProfiles, in the JSON the `aws-sdk-bedrock` deserialisers read.

use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use super::aws_error::{self, END_OF_LIFE, json_answer};
use super::models::{self, ACCOUNT_ID, Date, MODELS, Model, REGION};
use super::{ControlPlaneMode, InRegion, Lifecycle};

/// The regions a `us.` system inference profile routes to.
const US_PROFILE_REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];

/// The control plane's fault, if one is switched on.
pub(crate) fn fault(mode: ControlPlaneMode, operation: &str) -> Option<ResponseTemplate> {
    match mode {
        ControlPlaneMode::Normal | ControlPlaneMode::AnswerAfter(_) => None,
        ControlPlaneMode::Refuse => Some(aws_error::control_plane(
            403,
            "AccessDeniedException",
            &aws_error::not_authorized(&format!("bedrock:{operation}"), None),
        )),
        ControlPlaneMode::Fail => Some(aws_error::control_plane(
            500,
            "InternalServerException",
            aws_error::INTERNAL_SERVER_ERROR,
        )),
    }
}

pub(crate) fn list_foundation_models(state: &InRegion, request: &Request) -> ResponseTemplate {
    let query = Query::of(request);
    let output_modality = match query.one_of("byOutputModality", &["TEXT", "IMAGE", "EMBEDDING"]) {
        Ok(value) => value,
        Err(message) => return validation(&message),
    };
    let inference_type = match query.one_of("byInferenceType", &["ON_DEMAND", "PROVISIONED"]) {
        Ok(value) => value,
        Err(message) => return validation(&message),
    };
    let customization = match query.one_of(
        "byCustomizationType",
        &["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"],
    ) {
        Ok(value) => value,
        Err(message) => return validation(&message),
    };
    let provider = query.get("byProvider");

    let summaries: Vec<Value> = MODELS
        .iter()
        .filter(|model| is_listed(state.lifecycle(model)))
        .filter(|_| output_modality.is_none_or(|modality| modality == "IMAGE"))
        .filter(|_| customization.is_none())
        .filter(|model| {
            inference_type.is_none_or(|wanted| {
                wanted == "ON_DEMAND"
                    && !matches!(
                        state.lifecycle(model),
                        Lifecycle::NeedsInferenceProfile { .. }
                    )
            })
        })
        .filter(|model| provider.is_none_or(|wanted| is_provider(model, wanted)))
        .map(|model| model_json(model, state.lifecycle(model)))
        .collect();
    ok(json!({ "modelSummaries": summaries }))
}

pub(crate) fn get_foundation_model(state: &InRegion, raw_identifier: &str) -> ResponseTemplate {
    let identifier = percent_encoding::percent_decode_str(raw_identifier)
        .decode_utf8_lossy()
        .into_owned();
    let id = models::strip_foundation_model_arn(&identifier);
    match models::find(id) {
        Some(model) if is_listed(state.lifecycle(model)) => {
            ok(json!({ "modelDetails": model_json(model, state.lifecycle(model)) }))
        }
        // The runtime's end-of-life text; what the control plane says for a retired model is
        // not documented, and this is how a client can tell "retired" from "never here".
        Some(model) if matches!(state.lifecycle(model), Lifecycle::EndOfLife) => {
            aws_error::control_plane(404, "ResourceNotFoundException", END_OF_LIFE)
        }
        _ => aws_error::control_plane(
            404,
            "ResourceNotFoundException",
            &format!("The model {identifier} does not exist."),
        ),
    }
}

pub(crate) fn list_inference_profiles(state: &InRegion, request: &Request) -> ResponseTemplate {
    let query = Query::of(request);
    let profile_type = match query.one_of("type", &["SYSTEM_DEFINED", "APPLICATION"]) {
        Ok(value) => value,
        Err(message) => return validation(&message),
    };
    let max_results = match query.get("maxResults") {
        None => 1000,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return validation(&format!(
                    "1 validation error detected: Value '{text}' at 'maxResults' failed to \
                     satisfy constraint: Member must have value between 1 and 1000"
                ));
            }
        },
    };
    let start = match query.get("nextToken") {
        None => 0,
        Some(token) => match token.parse::<usize>() {
            Ok(start) => start,
            Err(_) => return validation("The provided pagination token is invalid."),
        },
    };

    let all: Vec<Value> = if profile_type.is_none_or(|wanted| wanted == "SYSTEM_DEFINED") {
        MODELS
            .iter()
            .filter_map(|model| match state.lifecycle(model) {
                Lifecycle::NeedsInferenceProfile { profile_id } => {
                    Some(profile_json(model, profile_id))
                }
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let page: Vec<Value> = all.iter().skip(start).take(max_results).cloned().collect();
    let mut body = json!({ "inferenceProfileSummaries": page });
    if start + max_results < all.len() {
        body["nextToken"] = json!((start + max_results).to_string());
    }
    ok(body)
}

/// Whether ListFoundationModels shows the model (end-of-life models drop out).
pub(crate) fn is_listed(lifecycle: &Lifecycle) -> bool {
    !matches!(lifecycle, Lifecycle::EndOfLife | Lifecycle::NotInRegion)
}

fn is_provider(model: &Model, wanted: &str) -> bool {
    let prefix = model.id.split('.').next().unwrap_or_default();
    wanted.eq_ignore_ascii_case(model.provider) || wanted.eq_ignore_ascii_case(prefix)
}

/// A FoundationModelSummary; FoundationModelDetails has the same members.
fn model_json(model: &Model, lifecycle: &Lifecycle) -> Value {
    let inference_types = match lifecycle {
        Lifecycle::NeedsInferenceProfile { .. } => ["INFERENCE_PROFILE"],
        _ => ["ON_DEMAND"],
    };
    json!({
        "modelArn": model.arn(),
        "modelId": model.id,
        "modelName": model.name,
        "providerName": model.provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["IMAGE"],
        "responseStreamingSupported": false,
        "customizationsSupported": [],
        "inferenceTypesSupported": inference_types,
        "modelLifecycle": lifecycle_json(model, lifecycle),
    })
}

fn lifecycle_json(model: &Model, lifecycle: &Lifecycle) -> Value {
    match lifecycle {
        Lifecycle::Legacy { end_of_life } => {
            let end = Date::parse(end_of_life).expect("checked by set_lifecycle");
            let legacy = end.add_months(-6);
            let launched = Date::parse(model.launched).expect("the catalogue's dates are valid");
            json!({
                "status": "LEGACY",
                "startOfLifeTime": launched.timestamp(),
                "legacyTime": legacy.timestamp(),
                "publicExtendedAccessTime": legacy.add_months(3).timestamp(),
                "endOfLifeTime": end.timestamp(),
            })
        }
        _ => json!({ "status": "ACTIVE" }),
    }
}

fn profile_json(model: &Model, profile_id: &str) -> Value {
    let since = Date::parse(model.launched)
        .expect("the catalogue's dates are valid")
        .timestamp();
    let models: Vec<Value> = US_PROFILE_REGIONS
        .iter()
        .map(|region| json!({ "modelArn": models::foundation_model_arn(region, model.id) }))
        .collect();
    json!({
        "inferenceProfileName": format!("US {}", model.name),
        "description": format!("Routes requests to {} in {}.", model.name, US_PROFILE_REGIONS.join(", ")),
        "createdAt": since,
        "updatedAt": since,
        "inferenceProfileArn": format!("arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:inference-profile/{profile_id}"),
        "models": models,
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    })
}

fn ok(body: Value) -> ResponseTemplate {
    json_answer(
        200,
        serde_json::to_vec(&body).expect("a JSON value always serialises"),
    )
}

fn validation(message: &str) -> ResponseTemplate {
    aws_error::control_plane(400, "ValidationException", message)
}

/// The decoded query string.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(request: &Request) -> Self {
        Query(request.url.query_pairs().into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }

    /// An optional enum parameter; out of its set, the real API's validation message.
    fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(value) if allowed.contains(&value) => Ok(Some(value)),
            Some(value) => Err(format!(
                "1 validation error detected: Value '{value}' at '{key}' failed to satisfy \
                 constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            )),
        }
    }
}
