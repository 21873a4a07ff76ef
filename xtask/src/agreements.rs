//! `cargo xtask deploy`'s first step: the account's AWS Marketplace agreement for every model the
//! deployed Easel offers.
//!
//! Third-party models (every Stability model) need one per account. The first call of a
//! principal allowed `aws-marketplace:Subscribe` makes it; the deployed task role is not, by
//! design, since a standing Marketplace permission on a network-facing service would be an
//! account-wide action anyone reaching Easel could set off. The operator deploying is the one
//! who may subscribe, so the deploy checks each model through the Bedrock control plane and,
//! with the operator's consent, accepts the missing models' offers there
//! (ListFoundationModelAgreementOffers, then CreateFoundationModelAgreement).

use std::collections::HashMap;
use std::io::IsTerminal;

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use aws_sdk_bedrock::{
    Client,
    config::Region,
    error::DisplayErrorContext,
    types::{AgreementStatus, OfferType},
};
use xshell::Shell;

use crate::{catalogue::Catalogue, lifecycle::Lifecycle, terminal};

/// The default of Terraform's `bedrock_region`, which the stack passes as EASEL_BEDROCK_REGION:
/// where the deployed Easel calls Bedrock unless a model names its own region.
pub const DEFAULT_BEDROCK_REGION: &str = "us-west-2";

/// Whether the operator agreed to accept the models' offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--accept-model-agreements`.
    Given,
    /// Ask y/N on the terminal.
    Ask,
    /// No flag, and nobody to ask (no terminal, or `--yes`).
    NotGiven,
}

impl Consent {
    pub fn from_flags(accept: bool, never_ask: bool) -> Self {
        if accept {
            Consent::Given
        } else if !never_ask && std::io::stdin().is_terminal() {
            Consent::Ask
        } else {
            Consent::NotGiven
        }
    }
}

/// One model the deployed Easel calls, and the region it calls it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub id: String,
    pub region: String,
}

/// Every model of the catalogue, each once: a model called through an inference profile
/// (`us.stability...`) needs the model's own agreement.
pub fn configured(catalogue: &Catalogue, default_region: &str) -> Vec<Model> {
    catalogue
        .model_ids()
        .into_iter()
        .map(|(id, region)| Model {
            id: id.to_owned(),
            region: region.unwrap_or(default_region).to_owned(),
        })
        .collect()
}

/// Where the account's agreement for one model stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    Made,
    /// Being set up by AWS (up to about 15 minutes).
    Pending,
    Missing,
    /// The set-up failed, for AWS's reason.
    Failed(String),
    /// Amazon's own models and the like: nothing to agree to.
    NotNeeded,
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Agreement::Made => f.write_str("subscribed"),
            Agreement::Pending => f.write_str("subscription being set up"),
            Agreement::Missing => f.write_str("not subscribed"),
            Agreement::Failed(reason) => write!(f, "subscription failed: {reason}"),
            Agreement::NotNeeded => f.write_str("no agreement needed"),
        }
    }
}

/// The step: every catalogue model's agreement, the missing ones made with consent. Skipped
/// for a local AWS, which has no Marketplace (the double's agreements are tested on their own).
/// The models are called in the stack's `bedrock_region` unless the catalogue names another.
pub fn step(lifecycle: &mut Lifecycle, sh: &Shell, consent: Consent) -> Result<()> {
    let name = "check the models' AWS Marketplace agreements";
    if lifecycle.local.is_some() {
        println!("==> {name}: skipped with --local (a local AWS has no Marketplace)");
        return Ok(());
    }
    let Lifecycle {
        steps, stack, aws, ..
    } = lifecycle;
    steps.run(
        name,
        "accept the offers (run deploy again with --accept-model-agreements) or subscribe by hand (docs/bedrock-access.md), then deploy again",
        || {
            let models = configured(&Catalogue::read(sh)?, &stack.bedrock_region);
            let control_plane = ControlPlane::new(aws.config(), &models);
            aws.block_on(control_plane.ensure(&models, consent, ask_on_terminal))
        },
    )
}

/// y/N on the terminal; anything but y or yes is a no.
fn ask_on_terminal(question: &str) -> Result<bool> {
    let answer = terminal::ask(&format!("{question} [y/N]"))?;
    Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// The Bedrock control plane in each region a model is called in.
pub struct ControlPlane {
    clients: HashMap<String, Client>,
}

impl ControlPlane {
    /// Credentials, endpoints (`AWS_ENDPOINT_URL_BEDROCK`) and retries come from `aws`.
    pub fn new(aws: &SdkConfig, models: &[Model]) -> Self {
        let clients = models
            .iter()
            .map(|model| {
                let config = aws_sdk_bedrock::config::Builder::from(aws)
                    .region(Region::new(model.region.clone()))
                    .build();
                (model.region.clone(), Client::from_conf(config))
            })
            .collect();
        Self { clients }
    }

    fn client(&self, model: &Model) -> &Client {
        &self.clients[&model.region]
    }

    /// Prints where each model's agreement stands; with consent (given, or `ask`ed for),
    /// accepts the offers of the models that have none. Without it, fails, naming them.
    pub async fn ensure(
        &self,
        models: &[Model],
        consent: Consent,
        ask: impl FnOnce(&str) -> Result<bool>,
    ) -> Result<()> {
        let mut missing = Vec::new();
        for model in models {
            let agreement = self.agreement(model).await?;
            println!("{} in {}: {agreement}", model.id, model.region);
            if matches!(agreement, Agreement::Missing | Agreement::Failed(_)) {
                missing.push(model);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let names = missing
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let consented = match consent {
            Consent::Given => true,
            Consent::Ask => ask(&format!(
                "Accept the AWS Marketplace offers of {names} for this AWS account (pay-per-image pricing, billed by AWS)?"
            ))?,
            Consent::NotGiven => false,
        };
        if !consented {
            bail!(
                "this AWS account has no AWS Marketplace subscription to {names}, and the deployed Easel may not make one (its role has no aws-marketplace permission), so every picture would be refused. Nothing was changed"
            );
        }
        for model in missing {
            self.subscribe(model).await?;
            println!(
                "{}: offer accepted; AWS sets the subscription up within about 15 minutes",
                model.id
            );
        }
        Ok(())
    }

    /// GetFoundationModelAvailability's agreement status for one model.
    pub async fn agreement(&self, model: &Model) -> Result<Agreement> {
        let answer = self
            .client(model)
            .get_foundation_model_availability()
            .model_id(&model.id)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot ask Bedrock in {} about {}: {} (the operator needs bedrock:GetFoundationModelAvailability)",
                    model.region,
                    model.id,
                    DisplayErrorContext(e)
                )
            })?;
        let Some(agreement) = answer.agreement_availability() else {
            return Ok(Agreement::NotNeeded);
        };
        Ok(match agreement.status() {
            AgreementStatus::Available => Agreement::Made,
            AgreementStatus::Pending => Agreement::Pending,
            AgreementStatus::NotAvailable => Agreement::Missing,
            AgreementStatus::Error => Agreement::Failed(
                agreement
                    .error_message()
                    .unwrap_or("no reason given")
                    .to_owned(),
            ),
            other => Agreement::Failed(format!("unknown status {other}")),
        })
    }

    /// Accepts the model's public offer.
    async fn subscribe(&self, model: &Model) -> Result<()> {
        let client = self.client(model);
        let offers = client
            .list_foundation_model_agreement_offers()
            .model_id(&model.id)
            .offer_type(OfferType::Public)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot list the offers for {}: {} (the operator needs bedrock:ListFoundationModelAgreementOffers)",
                    model.id,
                    DisplayErrorContext(e)
                )
            })?;
        let Some(offer) = offers.offers().first() else {
            bail!(
                "{} has no public AWS Marketplace offer in {}",
                model.id,
                model.region
            );
        };
        client
            .create_foundation_model_agreement()
            .model_id(&model.id)
            .offer_token(offer.offer_token())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot accept the offer for {}: {} (the operator needs bedrock:CreateFoundationModelAgreement and the aws-marketplace Subscribe, Unsubscribe and ViewSubscriptions actions)",
                    model.id,
                    DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processes::{self, Profile};
    use aws_config::BehaviorVersion;

    const CORE: &str = "stability.stable-image-core-v1:1";
    const ULTRA: &str = "stability.stable-image-ultra-v1:1";

    #[test]
    fn every_model_of_both_catalogues_is_named_once_with_its_region() {
        let catalogue = Catalogue::parse(
            "[[model]]\nid = \"stability.stable-image-core-v1:1\"\n\
             [[model]]\nid = \"stability.sd3-5-large-v1:0\"\nregion = \"us-east-1\"\n",
            "[[operation]]\nmodel = \"stability.stable-image-inpaint-v1:0\"\n\
             profile = \"us.stability.stable-image-inpaint-v1:0\"\n\
             [[operation]]\nmodel = \"stability.sd3-5-large-v1:0\"\n",
        )
        .unwrap();
        let model = |id: &str, region: &str| Model {
            id: id.into(),
            region: region.into(),
        };
        assert_eq!(
            configured(&catalogue, "us-west-2"),
            [
                model("stability.sd3-5-large-v1:0", "us-east-1"),
                model(CORE, "us-west-2"),
                model("stability.stable-image-inpaint-v1:0", "us-west-2"),
            ]
        );
    }

    /// The real `bedrock-double` binary with `options`, and a control plane pointed at it.
    fn double_with(options: &[&str]) -> (processes::Server, ControlPlane, tokio::runtime::Runtime) {
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::project_root());
        let binaries = processes::build(&sh, Profile::Debug).unwrap();
        let double = processes::start_double(&binaries.double, options).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let aws = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(double.url())
                .region(Region::new(DEFAULT_BEDROCK_REGION))
                .credentials_provider(aws_sdk_bedrock::config::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "xtask-tests",
                ))
                .load(),
        );
        let control_plane = ControlPlane::new(&aws, &models());
        (double, control_plane, runtime)
    }

    fn models() -> Vec<Model> {
        [CORE, ULTRA]
            .map(|id| Model {
                id: id.into(),
                region: DEFAULT_BEDROCK_REGION.into(),
            })
            .to_vec()
    }

    #[test]
    fn missing_agreements_are_made_with_consent_against_the_double() {
        let (_double, control_plane, runtime) = double_with(&["--not-subscribed", CORE]);
        let models = models();

        let refused = runtime
            .block_on(control_plane.ensure(&models, Consent::NotGiven, |_| unreachable!()))
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with(&format!(
                "this AWS account has no AWS Marketplace subscription to {CORE},"
            )),
            "{refused}"
        );
        let declined = runtime.block_on(control_plane.ensure(&models, Consent::Ask, |question| {
            assert!(
                question.contains(CORE) && !question.contains(ULTRA),
                "{question}"
            );
            Ok(false)
        }));
        assert!(declined.is_err());
        let core = &models[0];
        assert_eq!(
            runtime.block_on(control_plane.agreement(core)).unwrap(),
            Agreement::Missing,
            "nothing was changed without consent"
        );

        runtime
            .block_on(control_plane.ensure(&models, Consent::Ask, |_| Ok(true)))
            .unwrap();

        assert_eq!(
            runtime.block_on(control_plane.agreement(core)).unwrap(),
            Agreement::Pending
        );
        assert_eq!(
            runtime
                .block_on(control_plane.agreement(&models[1]))
                .unwrap(),
            Agreement::Made
        );
        runtime
            .block_on(control_plane.ensure(&models, Consent::NotGiven, |_| unreachable!()))
            .expect("a pending subscription needs nothing more");
    }
}
