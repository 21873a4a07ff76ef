//! Which of the configured models Bedrock serves right now, and whether this AWS account is
//! subscribed to each: the state alone. The studio feeds it the control plane's reports (see
//! `bedrock::ControlPlane`) at start and every few minutes after, and marks a model at once when
//! a call says it is gone or not subscribed. When Bedrock cannot be asked, every model is
//! offered and the page says so.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::{sync::watch, time::Instant};

use crate::catalogue::{Catalogue, ModelSpec};

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

/// What a check of the control plane found, model by model.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub models: HashMap<String, Availability>,
    pub subscriptions: HashMap<String, Subscription>,
    /// The inference profile to call instead of the model id, where one is needed.
    pub profiles: HashMap<String, String>,
    pub check_failed: Option<String>,
}

impl Report {
    /// What this report knows of `models` alone.
    pub fn only(&self, models: &[&ModelSpec]) -> Report {
        let known = |id: &String| models.iter().any(|m| m.id == *id);
        let mut kept = self.clone();
        kept.models.retain(|id, _| known(id));
        kept.subscriptions.retain(|id, _| known(id));
        kept.profiles.retain(|id, _| known(id));
        kept.check_failed = None;
        kept
    }
}

/// How long after start a page may wait for the first check of the live model list.
const FIRST_CHECK_WAIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct ModelStatus {
    catalogue: Catalogue,
    state: Arc<RwLock<Report>>,
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

    /// A call learnt that the account is not subscribed to the model: the list says so from
    /// the next page on.
    pub fn mark_not_subscribed(&self, model_id: &str) {
        tracing::warn!(model = model_id, "marking a model as not subscribed");
        self.write()
            .subscriptions
            .insert(model_id.to_owned(), Subscription::NotSubscribed);
    }

    /// A call learnt that the model is gone: the list says so from the next page on.
    pub fn mark(&self, model_id: &str, lifecycle: Availability) {
        tracing::warn!(model = model_id, ?lifecycle, "marking a model unavailable");
        self.write().models.insert(model_id.to_owned(), lifecycle);
    }

    /// What is known now, for a check to fall back on where a region cannot be asked.
    pub fn known(&self) -> Report {
        self.read().clone()
    }

    /// Takes a fresh check's report. Where a region could not be asked, it carries what was
    /// known of its models before, and the failure.
    pub fn update(&self, mut fresh: Report) {
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Report> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Report> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}
