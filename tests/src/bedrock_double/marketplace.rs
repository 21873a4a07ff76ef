//! A model's AWS Marketplace subscription (its "agreement"), as the control plane reports and
//! makes it: GetFoundationModelAvailability, ListFoundationModelAgreementOffers and
//! CreateFoundationModelAgreement, in the JSON the `aws-sdk-bedrock` deserialisers read.
//!
//! Third-party models (every Stability model) need one per account. The first InvokeModel of
//! a principal allowed `aws-marketplace:Subscribe` starts it in the background; until it is
//! made, or when the principal may not subscribe, InvokeModel answers 403 with
//! [`aws_error::MARKETPLACE_DENIED`].

use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use super::aws_error::{self, json_answer};
use super::models::{self, Model};
use super::{InRegion, State, Subscription, control_plane};

/// What the failed set-up of a subscription reports in `agreementAvailability.errorMessage`.
pub(crate) const SUBSCRIPTION_FAILED: &str = "The AWS Marketplace subscription could not be completed: the caller is not authorized to perform aws-marketplace:Subscribe.";

/// First-party (Amazon) models are served without any agreement.
fn needs_agreement(model: &Model) -> bool {
    model.provider != "Amazon"
}

/// The opaque token of a model's one public offer.
fn offer_token(model: &Model) -> String {
    format!("bedrock-double-offer-{}", model.id.replace([':', '.'], "-"))
}

pub(crate) fn get_availability(state: &InRegion, raw_model_id: &str) -> ResponseTemplate {
    let Some(model) = known(raw_model_id) else {
        return not_found(raw_model_id);
    };
    let mut agreement = match state.subscription(model) {
        Subscription::Subscribed => json!({ "status": "AVAILABLE" }),
        Subscription::Pending => json!({ "status": "PENDING" }),
        Subscription::NotSubscribed => json!({ "status": "NOT_AVAILABLE" }),
        Subscription::Failed => json!({ "status": "ERROR" }),
    };
    if state.subscription(model) == Subscription::Failed {
        agreement["errorMessage"] = json!(SUBSCRIPTION_FAILED);
    }
    let region = if control_plane::is_listed(state.lifecycle(model)) {
        "AVAILABLE"
    } else {
        "NOT_AVAILABLE"
    };
    ok(
        200,
        json!({
            "modelId": model.id,
            "agreementAvailability": agreement,
            "authorizationStatus": "AUTHORIZED",
            "entitlementAvailability": "AVAILABLE",
            "regionAvailability": region,
        }),
    )
}

pub(crate) fn list_offers(raw_model_id: &str, request: &Request) -> ResponseTemplate {
    let Some(model) = known(raw_model_id) else {
        return not_found(raw_model_id);
    };
    let offer_type = request
        .url
        .query_pairs()
        .find(|(key, _)| key == "offerType")
        .map(|(_, value)| value.into_owned());
    if let Some(offer_type) = offer_type.filter(|t| t != "ALL" && t != "PUBLIC") {
        return aws_error::control_plane(
            400,
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{offer_type}' at 'offerType' failed to \
                 satisfy constraint: Member must satisfy enum value set: [ALL, PUBLIC]"
            ),
        );
    }
    let offers: Vec<Value> = if needs_agreement(model) {
        vec![json!({
            "offerId": format!("offer-{}", model.id.replace([':', '.'], "-")),
            "offerToken": offer_token(model),
            "termDetails": {
                "usageBasedPricingTerm": {
                    "rateCard": [{
                        "dimension": "images",
                        "price": "0.04",
                        "description": format!("{} per generated image", model.name),
                        "unit": "Images",
                    }],
                },
                "legalTerm": { "url": "https://aws.amazon.com/marketplace/" },
                "supportTerm": { "refundPolicyDescription": "No refunds." },
                "validityTerm": { "agreementDuration": "P1Y" },
            },
        })]
    } else {
        Vec::new()
    };
    ok(200, json!({ "modelId": model.id, "offers": offers }))
}

/// Accepts a model's offer: the subscription is then being set up (PENDING) until the test
/// says it completed. Accepting again while it is pending or made changes nothing.
pub(crate) fn create_agreement(state: &mut State, request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let (Some(model_id), Some(token)) = (body["modelId"].as_str(), body["offerToken"].as_str())
    else {
        return aws_error::control_plane(
            400,
            "ValidationException",
            "1 validation error detected: modelId and offerToken are required",
        );
    };
    let Some(model) = models::find(model_id) else {
        return not_found(model_id);
    };
    if !needs_agreement(model) || token != offer_token(model) {
        return aws_error::control_plane(
            400,
            "ValidationException",
            &format!("The offer token is not valid for the model {model_id}."),
        );
    }
    state.agreements_created.push(model.id.to_owned());
    let subscription = state.subscriptions.entry(model.id).or_default();
    if matches!(
        subscription,
        Subscription::NotSubscribed | Subscription::Failed
    ) {
        *subscription = Subscription::Pending;
    }
    ok(202, json!({ "modelId": model.id }))
}

fn known(raw_model_id: &str) -> Option<&'static Model> {
    let id = percent_encoding::percent_decode_str(raw_model_id).decode_utf8_lossy();
    models::find(&id)
}

fn not_found(raw_model_id: &str) -> ResponseTemplate {
    let id = percent_encoding::percent_decode_str(raw_model_id).decode_utf8_lossy();
    aws_error::control_plane(
        404,
        "ResourceNotFoundException",
        &format!("The model {id} does not exist."),
    )
}

fn ok(status: u16, body: Value) -> ResponseTemplate {
    json_answer(
        status,
        serde_json::to_vec(&body).expect("a JSON value always serialises"),
    )
}
