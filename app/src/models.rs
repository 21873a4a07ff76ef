//! Which of the configured models Bedrock serves right now, and whether this AWS account is
//! subscribed to each. Asked of the Bedrock control plane (in each region a model is called in)
//! at start and every few minutes after; a 404 "end of its life" or "Legacy", or a Marketplace
//! denial, from a generation marks a model at once. When Bedrock cannot be asked, every model is
//! offered and the page says so.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::{sync::watch, time::Instant};

use aws_sdk_bedrock::{
    Client,
    types::{AgreementStatus, FoundationModelLifecycleStatus, InferenceType, ModelModality},
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

/// Where the account's AWS Marketplace subscription to a model stands. Third-party models (every
/// Stability model) need one; the first call of a principal allowed the aws-marketplace actions
/// starts it, or an operator makes it ahead (`cargo xtask deploy --accept-model-agreements`).
#[derive(Debug, Clone, PartialEq)]
pub enum Subscription {
    /// Not asked (yet), or Bedrock would not say: no claim either way.
    Unknown,
    Subscribed,
    /// Being set up (up to 15 minutes); calls may fail meanwhile.
    Pending,
    NotSubscribed,
    /// The set-up failed (AWS's reason goes to the log).
    Failed,
}

impl Subscription {
    fn note(&self) -> Option<&'static str> {
        match self {
            Subscription::Unknown => None,
            Subscription::Subscribed => Some("subscribed"),
            Subscription::Pending => {
                Some("subscription being set up: pictures may fail for up to 15 minutes")
            }
            Subscription::NotSubscribed => Some(
                "not subscribed: the first picture subscribes this AWS account if Easel may; otherwise ask the operator",
            ),
            Subscription::Failed => {
                Some("subscription failed: ask the operator to subscribe this AWS account again")
            }
        }
    }
}

/// What the model list knows of one model: its lifecycle and the account's subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelState {
    pub lifecycle: Availability,
    pub subscription: Subscription,
}

impl ModelState {
    /// Whether the model may be chosen. A missing subscription does not stop a choice: the
    /// call itself may make it, and says what to do when it cannot.
    pub fn is_usable(&self) -> bool {
        self.lifecycle.is_usable()
    }

    /// What the model list says beside the model. For a model that cannot be chosen, only why
    /// not (it completes "… is {note}").
    pub fn note(&self, region: &str) -> Option<String> {
        let lifecycle = self.lifecycle.note(region);
        if !self.is_usable() {
            return lifecycle;
        }
        let parts: Vec<String> = lifecycle
            .into_iter()
            .chain(self.subscription.note().map(str::to_owned))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Live, and not known to lack a subscription: the best pick.
    fn is_ready(&self) -> bool {
        matches!(
            self.lifecycle,
            Availability::Unchecked | Availability::Active
        ) && matches!(
            self.subscription,
            Subscription::Unknown | Subscription::Subscribed
        )
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    models: HashMap<String, Availability>,
    subscriptions: HashMap<String, Subscription>,
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
        kept.subscriptions.retain(|id, _| known(id));
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

    pub fn availability(&self, model_id: &str) -> ModelState {
        let state = self.read();
        ModelState {
            lifecycle: state
                .models
                .get(model_id)
                .cloned()
                .unwrap_or(Availability::Unchecked),
            subscription: state
                .subscriptions
                .get(model_id)
                .cloned()
                .unwrap_or(Subscription::Unknown),
        }
    }

    /// The id to send to InvokeModel: the model's own, or the inference profile that serves it.
    pub fn call_id(&self, model_id: &str) -> String {
        self.read()
            .profiles
            .get(model_id)
            .cloned()
            .unwrap_or_else(|| model_id.to_owned())
    }

    /// The model the page preselects: the first available one with a subscription (or none
    /// known to be missing), else the first available, else the first that still answers
    /// (Legacy), else the first configured.
    pub fn preferred(&self) -> &str {
        let models = self.catalogue.models();
        let ready = |m: &&ModelSpec| self.availability(&m.id).is_ready();
        let available = |m: &&ModelSpec| {
            matches!(
                self.availability(&m.id).lifecycle,
                Availability::Active | Availability::Unchecked
            )
        };
        let usable = |m: &&ModelSpec| self.availability(&m.id).is_usable();
        models
            .iter()
            .find(ready)
            .or_else(|| models.iter().find(available))
            .or_else(|| models.iter().find(usable))
            .unwrap_or(&models[0])
            .id
            .as_str()
    }

    /// Why the live list could not be checked, if it could not.
    pub fn check_failure(&self) -> Option<String> {
        self.read().check_failed.clone()
    }

    /// A generation learnt that a model is gone, or that the account is not subscribed to it:
    /// the list says so from the next page on.
    pub fn learn_from(&self, model_id: &str, error: &BedrockError) {
        if *error == BedrockError::NotSubscribed {
            tracing::warn!(model = model_id, "marking a model as not subscribed");
            self.write()
                .subscriptions
                .insert(model_id.to_owned(), Subscription::NotSubscribed);
            return;
        }
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}
