//! The Bedrock control plane: which models each region serves, their lifecycle, the
//! inference profiles that serve them and this account's subscriptions.

use std::{collections::HashMap, time::Duration};

use aws_sdk_bedrock::{
    Client,
    types::{AgreementStatus, FoundationModelLifecycleStatus, InferenceType, ModelModality},
};

use crate::{
    availability::{Availability, Report, Subscription},
    catalogue::{Catalogue, ModelSpec},
};

/// The Bedrock control plane in every region the catalogue calls a model in.
#[derive(Clone)]
pub struct ControlPlane {
    clients: HashMap<String, Client>,
    default_region: String,
}

impl ControlPlane {
    /// Credentials, retries and endpoint overrides come from `sdk`, as for the runtime.
    pub fn new(sdk: &aws_config::SdkConfig, default_region: &str, catalogue: &Catalogue) -> Self {
        let clients = catalogue.per_region(default_region, |region| {
            let config = aws_sdk_bedrock::config::Builder::from(sdk)
                .region(aws_sdk_bedrock::config::Region::new(region.to_owned()))
                .build();
            Client::from_conf(config)
        });
        Self {
            clients,
            default_region: default_region.to_owned(),
        }
    }

    /// Asks the control plane of each region which of the catalogue's models are live. Where a
    /// region cannot be asked, what `known` says of its models stays, and the failure is noted.
    pub async fn check(&self, catalogue: &Catalogue, known: &Report) -> Report {
        let mut state = Report::default();
        let mut failures = Vec::new();
        for (region, client) in &self.clients {
            let models: Vec<&ModelSpec> = catalogue
                .models()
                .iter()
                .filter(|m| m.region(&self.default_region) == region)
                .collect();
            if models.is_empty() {
                continue;
            }
            let mut regional = Report::default();
            let checked = tokio::time::timeout(
                REGION_CHECK_TIMEOUT,
                self.check_region(client, &models, &mut regional),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REGION_CHECK_TIMEOUT:?}")));
            if let Err(reason) = checked {
                failures.push(format!("in {region}: {reason}"));
                regional = known.only(&models);
            }
            state.models.extend(regional.models);
            state.subscriptions.extend(regional.subscriptions);
            state.profiles.extend(regional.profiles);
        }
        state.check_failed = (!failures.is_empty()).then(|| failures.join("; "));
        state
    }

    /// Adds what one region's control plane says of `models` (those called there) to `state`.
    async fn check_region(
        &self,
        client: &Client,
        models: &[&ModelSpec],
        state: &mut Report,
    ) -> Result<(), String> {
        use aws_sdk_bedrock::error::DisplayErrorContext;
        let listed = client
            .list_foundation_models()
            .by_output_modality(ModelModality::Image)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let summaries = listed.model_summaries();
        let mut needs_profile = Vec::new();
        for model in models {
            let availability = match summaries.iter().find(|s| s.model_id() == model.id) {
                Some(summary) => {
                    if !summary.inference_types_supported().is_empty()
                        && !summary
                            .inference_types_supported()
                            .contains(&InferenceType::OnDemand)
                    {
                        needs_profile.push(summary.model_arn().to_owned());
                    }
                    match summary.model_lifecycle() {
                        Some(l) if *l.status() == FoundationModelLifecycleStatus::Legacy => {
                            self.legacy(client, &model.id).await
                        }
                        _ => Availability::Active,
                    }
                }
                None => self.unlisted(client, &model.id).await,
            };
            if availability.is_usable() {
                let subscription = self.subscription(client, &model.id).await;
                state.subscriptions.insert(model.id.clone(), subscription);
            }
            state.models.insert(model.id.clone(), availability);
        }
        if !needs_profile.is_empty() {
            let profiles = client
                .list_inference_profiles()
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            for model in models {
                let arn_suffix = format!("foundation-model/{}", model.id);
                if !needs_profile.iter().any(|arn| arn.ends_with(&arn_suffix)) {
                    continue;
                }
                let profile = profiles.inference_profile_summaries().iter().find(|p| {
                    p.models()
                        .iter()
                        .any(|m| m.model_arn().is_some_and(|arn| arn.ends_with(&arn_suffix)))
                });
                match profile {
                    Some(p) => {
                        state
                            .profiles
                            .insert(model.id.clone(), p.inference_profile_id().to_owned());
                    }
                    None => {
                        state
                            .models
                            .insert(model.id.clone(), Availability::NeedsProfile);
                    }
                }
            }
        }
        Ok(())
    }

    async fn legacy(&self, client: &Client, model_id: &str) -> Availability {
        let details = client
            .get_foundation_model()
            .model_identifier(model_id)
            .send()
            .await;
        let end_of_life = details.ok().and_then(|d| {
            d.model_details()?
                .model_lifecycle()?
                .end_of_life_time()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .map(|t| t.chars().take(10).collect())
        });
        Availability::Legacy { end_of_life }
    }

    /// The account's subscription to the model. A principal not allowed to ask (an IAM policy
    /// from before the question existed) learns nothing, and the model list claims nothing.
    async fn subscription(&self, client: &Client, model_id: &str) -> Subscription {
        use aws_sdk_bedrock::error::DisplayErrorContext;
        let asked = client
            .get_foundation_model_availability()
            .model_id(model_id)
            .send()
            .await;
        let agreement = match asked {
            Ok(answer) => answer.agreement_availability().cloned(),
            Err(e) => {
                tracing::warn!(model = model_id, error = %DisplayErrorContext(e), "could not ask for a model's subscription");
                return Subscription::Unknown;
            }
        };
        let Some(agreement) = agreement else {
            return Subscription::Unknown;
        };
        match agreement.status() {
            AgreementStatus::Available => Subscription::Subscribed,
            AgreementStatus::Pending => Subscription::Pending,
            AgreementStatus::NotAvailable => Subscription::NotSubscribed,
            AgreementStatus::Error => {
                let reason = agreement.error_message().unwrap_or_default().to_owned();
                tracing::warn!(model = model_id, %reason, "the model's AWS Marketplace subscription failed");
                Subscription::Failed
            }
            _ => Subscription::Unknown,
        }
    }

    /// A configured model the region does not list: retired, or never offered here.
    async fn unlisted(&self, client: &Client, model_id: &str) -> Availability {
        use aws_sdk_bedrock::error::ProvideErrorMetadata;
        match client
            .get_foundation_model()
            .model_identifier(model_id)
            .send()
            .await
        {
            Err(e) if e.message().is_some_and(|m| m.contains("end of its life")) => {
                Availability::Retired
            }
            _ => Availability::NotInRegion,
        }
    }
}

/// How long one region's check may take: the SDK's control-plane calls have no overall
/// timeout, and a check that never ends would hold up every later one.
const REGION_CHECK_TIMEOUT: Duration = Duration::from_secs(30);
