//! One AWS session for the lifecycle commands, through the SDK: is AWS reachable, does the
//! repository exist, may Docker log in, is a tag already pushed (ECR); which account and region
//! the credentials are for (STS); what the account holds of a stack, by its tags (Resource
//! Groups Tagging API). Against moto too, so the local lifecycle takes the same path. Other
//! modules' clients (the Bedrock control plane) are made from its configuration.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_ecr::{config::Credentials, error::DisplayErrorContext, types::ImageIdentifier};
use base64::Engine;

use crate::local_aws::{self, LocalAws};

pub struct Aws {
    client: aws_sdk_ecr::Client,
    config: aws_config::SdkConfig,
    /// The endpoint the client talks to, for error messages.
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
}

/// What `docker login` needs.
pub struct Login {
    pub user: String,
    pub password: String,
    pub server: String,
}

impl Aws {
    /// A client for the default chain (credentials, region, `AWS_ENDPOINT_URL*`), or for moto,
    /// in `region` when the stack names one (Terraform deploys there, whatever AWS_REGION says).
    /// Short timeouts and one retry: an unreachable endpoint must fail in seconds, not minutes.
    pub fn connect(local: Option<&LocalAws>, region: Option<&str>) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting an async runtime")?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(2));
        if let Some(local) = local {
            loader = loader
                .endpoint_url(local.endpoint())
                .region(Region::new(local_aws::REGION))
                .credentials_provider(Credentials::new(
                    local_aws::ACCESS_KEY,
                    local_aws::ACCESS_KEY,
                    None,
                    None,
                    "easel-local",
                ));
        }
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let config = runtime.block_on(loader.load());
        let Some(region) = config.region() else {
            bail!("no AWS region: set AWS_REGION (or a profile's region)");
        };
        let endpoint = config
            .endpoint_url()
            .map(str::to_owned)
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_ECR").ok())
            .unwrap_or_else(|| format!("https://api.ecr.{region}.amazonaws.com"));
        Ok(Self {
            client: aws_sdk_ecr::Client::new(&config),
            config,
            endpoint,
            runtime,
        })
    }

    /// The configuration (credentials, region, endpoints, timeouts) to make other clients from.
    pub fn config(&self) -> &aws_config::SdkConfig {
        &self.config
    }

    /// Runs an SDK call to its end.
    pub fn block_on<F: std::future::Future>(&self, call: F) -> F::Output {
        self.runtime.block_on(call)
    }

    /// The region the clients use.
    pub fn region(&self) -> String {
        self.config
            .region()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The account the credentials belong to.
    pub fn account_id(&self) -> Result<String> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let identity = self
            .runtime
            .block_on(sts.get_caller_identity().send())
            .map_err(|e| anyhow!("STS GetCallerIdentity: {}", DisplayErrorContext(e)))?;
        identity
            .account()
            .map(str::to_owned)
            .context("STS named no account")
    }

    /// The environment ECS gives a task of `task_definition`, of the variables `wanted` picks:
    /// its plain variables, and its secrets read as the execution role reads them, from
    /// Secrets Manager or from SSM Parameter Store.
    pub fn task_environment(
        &self,
        task_definition: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>> {
        let ecs = aws_sdk_ecs::Client::new(&self.config);
        let described = self
            .runtime
            .block_on(
                ecs.describe_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .map_err(|e| {
                anyhow!(
                    "ECS task definition {task_definition}: {}",
                    DisplayErrorContext(e)
                )
            })?;
        let container = described
            .task_definition()
            .and_then(|t| t.container_definitions().first())
            .with_context(|| format!("the task definition {task_definition} has no container"))?;
        let mut environment = vec![];
        for variable in container.environment() {
            if let (Some(name), Some(value)) = (variable.name(), variable.value())
                && wanted(name)
            {
                environment.push((name.to_owned(), value.to_owned()));
            }
        }
        for secret in container.secrets().iter().filter(|s| wanted(s.name())) {
            environment.push((secret.name().to_owned(), self.secret(secret.value_from())?));
        }
        Ok(environment)
    }

    /// The value of an ECS secret's `valueFrom`: an SSM parameter's ARN, or a Secrets Manager
    /// secret's (with `::STAGE:` for another stage than the current one).
    fn secret(&self, value_from: &str) -> Result<String> {
        let value = if value_from.contains(":ssm:") {
            let ssm = aws_sdk_ssm::Client::new(&self.config);
            let answer = self
                .runtime
                .block_on(
                    ssm.get_parameter()
                        .name(value_from)
                        .with_decryption(true)
                        .send(),
                )
                .map_err(|e| anyhow!("the parameter {value_from}: {}", DisplayErrorContext(e)))?;
            answer
                .parameter()
                .and_then(|p| p.value())
                .map(str::to_owned)
        } else {
            let (arn, stage) = match value_from.split_once("::") {
                Some((arn, rest)) => (arn, rest.split(':').next().filter(|s| !s.is_empty())),
                None => (value_from, None),
            };
            let secrets = aws_sdk_secretsmanager::Client::new(&self.config);
            let answer = self
                .runtime
                .block_on(
                    secrets
                        .get_secret_value()
                        .secret_id(arn)
                        .set_version_stage(stage.map(str::to_owned))
                        .send(),
                )
                .map_err(|e| anyhow!("the secret {arn}: {}", DisplayErrorContext(e)))?;
            answer.secret_string().map(str::to_owned)
        };
        value.with_context(|| format!("{value_from} holds no string"))
    }

    /// The ARNs of the resources in this region that carry the stack's tags (terraform/locals.tf
    /// puts `Application = easel` and `Stack = <name>` on everything) and still exist. ECS keeps
    /// deleted clusters and services listed, and the revisions of a task definition, which
    /// Terraform only deregisters: the first two are left out once INACTIVE, the third always.
    pub fn stack_resources(&self, name: &str) -> Result<Vec<String>> {
        let mut live = vec![];
        for arn in self.tagged(name)? {
            if !arn.contains(":task-definition/") && self.ecs_active(&arn)? {
                live.push(arn);
            }
        }
        Ok(live)
    }

    /// Whether an ECS cluster or service is ACTIVE; true for any other resource.
    fn ecs_active(&self, arn: &str) -> Result<bool> {
        let ecs = aws_sdk_ecs::Client::new(&self.config);
        let status = if arn.contains(":cluster/") {
            let found = self
                .runtime
                .block_on(ecs.describe_clusters().clusters(arn).send())
                .map_err(|e| anyhow!("ECS DescribeClusters: {}", DisplayErrorContext(e)))?;
            found
                .clusters()
                .first()
                .and_then(|c| c.status().map(str::to_owned))
        } else if let Some((_, path)) = arn.split_once(":service/") {
            // service/<cluster>/<service>
            let cluster = path.split('/').next().unwrap_or_default();
            let found = self
                .runtime
                .block_on(
                    ecs.describe_services()
                        .cluster(cluster)
                        .services(arn)
                        .send(),
                )
                .map_err(|e| anyhow!("ECS DescribeServices: {}", DisplayErrorContext(e)))?;
            found
                .services()
                .first()
                .and_then(|s| s.status().map(str::to_owned))
        } else {
            return Ok(true);
        };
        Ok(status.as_deref() == Some("ACTIVE"))
    }

    fn tagged(&self, name: &str) -> Result<Vec<String>> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let tagging = aws_sdk_resourcegroupstagging::Client::new(&self.config);
        let mut pages = tagging
            .get_resources()
            .tag_filters(
                TagFilter::builder()
                    .key("Application")
                    .values("easel")
                    .build(),
            )
            .tag_filters(TagFilter::builder().key("Stack").values(name).build())
            .into_paginator()
            .send();
        let mut arns = vec![];
        while let Some(page) = self.runtime.block_on(pages.next()) {
            let page = page.map_err(|e| {
                anyhow!(
                    "Resource Groups Tagging API GetResources: {}",
                    DisplayErrorContext(e)
                )
            })?;
            arns.extend(
                page.resource_tag_mapping_list()
                    .iter()
                    .filter_map(|r| r.resource_arn().map(str::to_owned)),
            );
        }
        Ok(arns)
    }

    /// One cheap call that proves the endpoint answers and the credentials are accepted.
    pub fn check(&self) -> Result<()> {
        self.runtime
            .block_on(self.client.describe_repositories().max_results(1).send())
            .map_err(|e| {
                anyhow!(
                    "cannot use ECR at {}: {}",
                    self.endpoint,
                    DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }

    /// The URI of the repository `name` (which must exist).
    pub fn repository_uri(&self, name: &str) -> Result<String> {
        let found = self
            .runtime
            .block_on(
                self.client
                    .describe_repositories()
                    .repository_names(name)
                    .send(),
            )
            .map_err(|e| {
                anyhow!(
                    "ECR repository {name} at {}: {}",
                    self.endpoint,
                    DisplayErrorContext(e)
                )
            })?;
        found
            .repositories()
            .first()
            .and_then(|r| r.repository_uri())
            .map(str::to_owned)
            .with_context(|| format!("ECR at {} has no repository {name}", self.endpoint))
    }

    /// The gallery bucket's name as `terraform/storage.tf` builds it
    /// (`<name>-gallery-<account>-<region>`).
    pub fn gallery_bucket(&self, name: &str) -> Result<String> {
        Ok(format!(
            "{name}-gallery-{}-{}",
            self.account_id()?,
            self.region()
        ))
    }

    /// Docker's credentials from ECR's authorization token (`base64("AWS:password")`).
    pub fn login(&self) -> Result<Login> {
        let answer = self
            .runtime
            .block_on(self.client.get_authorization_token().send())
            .map_err(|e| {
                anyhow!(
                    "ECR authorization token from {}: {}",
                    self.endpoint,
                    DisplayErrorContext(e)
                )
            })?;
        let data = answer
            .authorization_data()
            .first()
            .context("ECR returned no authorization data")?;
        let token = data
            .authorization_token()
            .context("ECR returned no token")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .context("decoding the ECR token")?;
        let decoded = String::from_utf8(decoded).context("decoding the ECR token")?;
        let (user, password) = decoded
            .split_once(':')
            .context("the ECR token is not user:password")?;
        Ok(Login {
            user: user.to_owned(),
            password: password.to_owned(),
            server: data.proxy_endpoint().unwrap_or_default().to_owned(),
        })
    }

    /// Whether the repository already holds `tag` (tags are immutable: never push it twice).
    pub fn has_tag(&self, repository: &str, tag: &str) -> Result<bool> {
        let answer = self.runtime.block_on(
            self.client
                .describe_images()
                .repository_name(repository)
                .image_ids(ImageIdentifier::builder().image_tag(tag).build())
                .send(),
        );
        match answer {
            Ok(found) => Ok(!found.image_details().is_empty()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_image_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(anyhow!(
                "ECR images of {repository} at {}: {}",
                self.endpoint,
                DisplayErrorContext(e)
            )),
        }
    }
}
