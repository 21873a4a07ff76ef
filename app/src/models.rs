//! Which of the configured models Bedrock serves right now. Asked of the Bedrock control plane (in
//! each region a model is called in) at start and every few minutes after; a 404 "end of its life" or "Legacy" from a generation marks a
//! model at once. When Bedrock cannot be asked, every model is offered and the page says so.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::{sync::watch, time::Instant};

use aws_sdk_bedrock::{
    Client,
    types::{FoundationModelLifecycleStatus, InferenceType, ModelModality},
};

use crate::{
    bedrock::BedrockError,
    catalogue::{Catalogue, ModelSpec},
};

#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// Not checked (yet, or the check failed): offered, since it may well work.
    Unchecked,
    Active,
    /// Still answers, but is on its way out; new accounts may not be able to use it.
    Legacy {
        end_of_life: Option<String>,
    },
    Retired,
    /// Legacy, and Bedrock refused this account: it has not used the model lately.
    LegacyWithdrawn,
    NotInRegion,
    /// Only callable through an inference profile, and none was found for it.
    NeedsProfile,
}

impl Availability {
    pub fn is_usable(&self) -> bool {
        matches!(
            self,
            Availability::Unchecked | Availability::Active | Availability::Legacy { .. }
        )
    }

    /// What the model list says beside the model, if anything.
    pub fn note(&self, region: &str) -> Option<String> {
        match self {
            Availability::Unchecked | Availability::Active => None,
            Availability::Legacy {
                end_of_life: Some(date),
            } => Some(format!("Legacy: end of life on {date}")),
            Availability::Legacy { end_of_life: None } => Some("Legacy: retiring soon".into()),
            Availability::Retired => Some("unavailable: past its end of life".into()),
            Availability::LegacyWithdrawn => {
                Some("unavailable: Legacy, and this AWS account may no longer use it".into())
            }
            Availability::NotInRegion => Some(format!("unavailable: not offered in {region}")),
            Availability::NeedsProfile => {
                Some("unavailable: needs an inference profile, and none was found".into())
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    models: HashMap<String, Availability>,
    /// The inference profile to call instead of the model id, where one is needed.
    profiles: HashMap<String, String>,
    check_failed: Option<String>,
}

impl State {
    /// What this state knows of `models` alone.
    fn only(&self, models: &[&ModelSpec]) -> State {
        let known = |id: &String| models.iter().any(|m| m.id == *id);
        let mut kept = self.clone();
        kept.models.retain(|id, _| known(id));
        kept.profiles.retain(|id, _| known(id));
        kept.check_failed = None;
        kept
    }
}

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
}

/// How long one region's check may take: the SDK's control-plane calls have no overall
/// timeout, and a check that never ends would hold up every later one.
const REGION_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// How long after start a page may wait for the first check of the live model list.
const FIRST_CHECK_WAIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct ModelStatus {
    catalogue: Catalogue,
    state: Arc<RwLock<State>>,
    /// True once the first check has answered, either way.
    checked: Arc<watch::Sender<bool>>,
    /// Pages stop waiting for the first check at this instant and serve the configured list.
    first_check_deadline: Instant,
}

impl ModelStatus {
    pub fn new(catalogue: Catalogue) -> Self {
        Self {
            catalogue,
            state: Arc::default(),
            checked: Arc::new(watch::Sender::new(false)),
            first_check_deadline: Instant::now() + FIRST_CHECK_WAIT,
        }
    }

    /// Resolves once the first check has answered, or when the bounded wait after start is over.
    pub async fn first_check(&self) {
        let mut checked = self.checked.subscribe();
        if *checked.borrow() || Instant::now() >= self.first_check_deadline {
            return;
        }
        let answered = checked.wait_for(|done| *done);
        if tokio::time::timeout_at(self.first_check_deadline, answered)
            .await
            .is_err()
        {
            tracing::warn!("the model list is not checked yet; serving the configured list");
        }
    }

    pub fn availability(&self, model_id: &str) -> Availability {
        self.read()
            .models
            .get(model_id)
            .cloned()
            .unwrap_or(Availability::Unchecked)
    }

    /// The id to send to InvokeModel: the model's own, or the inference profile that serves it.
    pub fn call_id(&self, model_id: &str) -> String {
        self.read()
            .profiles
            .get(model_id)
            .cloned()
            .unwrap_or_else(|| model_id.to_owned())
    }

    /// The model the page preselects: the first available one, else the first that still
    /// answers (Legacy), else the first configured.
    pub fn preferred(&self) -> &str {
        let models = self.catalogue.models();
        let available = |m: &&ModelSpec| {
            matches!(
                self.availability(&m.id),
                Availability::Active | Availability::Unchecked
            )
        };
        let usable = |m: &&ModelSpec| self.availability(&m.id).is_usable();
        models
            .iter()
            .find(available)
            .or_else(|| models.iter().find(usable))
            .unwrap_or(&models[0])
            .id
            .as_str()
    }

    /// Why the live list could not be checked, if it could not.
    pub fn check_failure(&self) -> Option<String> {
        self.read().check_failed.clone()
    }

    /// A generation learnt that a model is gone: the list says so from the next page on.
    pub fn learn_from(&self, model_id: &str, error: &BedrockError) {
        let availability = match error {
            BedrockError::Retired => Availability::Retired,
            BedrockError::Legacy => Availability::LegacyWithdrawn,
            BedrockError::NotOffered => Availability::NotInRegion,
            BedrockError::NeedsProfile => Availability::NeedsProfile,
            _ => return,
        };
        tracing::warn!(
            model = model_id,
            ?availability,
            "marking a model unavailable"
        );
        self.write()
            .models
            .insert(model_id.to_owned(), availability);
    }

    /// Asks the Bedrock control plane of each region which models are live. Where a region
    /// cannot be asked, what was known of its models stays, and the failure is recorded.
    pub async fn refresh(&self, control_plane: &ControlPlane) {
        let mut fresh = self.check(control_plane).await;
        if let Some(reason) = &fresh.check_failed {
            tracing::warn!(%reason, "could not check which models Bedrock serves");
        }
        let mut state = self.write();
        // The control plane lists a Legacy model for everyone; only a call tells that
        // this account may no longer use it, so that lesson outlives the refresh.
        for (id, old) in &state.models {
            if *old == Availability::LegacyWithdrawn
                && matches!(fresh.models.get(id), Some(Availability::Legacy { .. }))
            {
                fresh
                    .models
                    .insert(id.clone(), Availability::LegacyWithdrawn);
            }
        }
        *state = fresh;
        drop(state);
        self.checked.send_replace(true);
    }

    async fn check(&self, control_plane: &ControlPlane) -> State {
        let mut state = State::default();
        let mut failures = Vec::new();
        for (region, client) in &control_plane.clients {
            let models: Vec<&ModelSpec> = self
                .catalogue
                .models()
                .iter()
                .filter(|m| m.region(&control_plane.default_region) == region)
                .collect();
            if models.is_empty() {
                continue;
            }
            let mut regional = State::default();
            let checked = tokio::time::timeout(
                REGION_CHECK_TIMEOUT,
                self.check_region(client, &models, &mut regional),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REGION_CHECK_TIMEOUT:?}")));
            if let Err(reason) = checked {
                failures.push(format!("in {region}: {reason}"));
                regional = self.read().only(&models);
            }
            state.models.extend(regional.models);
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
        state: &mut State,
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}
