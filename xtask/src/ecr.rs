//! ECR through the AWS SDK: is AWS reachable, does the repository exist, may Docker log in,
//! is a tag already pushed. Against moto too, so the local lifecycle takes the same path.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_ecr::{config::Credentials, error::DisplayErrorContext, types::ImageIdentifier};
use base64::Engine;

use crate::local_aws::{self, LocalAws};

pub struct Ecr {
    client: aws_sdk_ecr::Client,
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

impl Ecr {
    /// A client for the default chain (credentials, region, `AWS_ENDPOINT_URL*`), or for moto.
    /// Short timeouts and one retry: an unreachable endpoint must fail in seconds, not minutes.
    pub fn connect(local: Option<&LocalAws>) -> Result<Self> {
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
            endpoint,
            runtime,
        })
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
    /// (`<name>-gallery-<account>-<region>`), with the account read from the repository's URI.
    pub fn gallery_bucket(&self, name: &str) -> Result<String> {
        let uri = self.repository_uri(name)?;
        let host = uri.split('/').next().unwrap_or_default();
        let mut parts = host.split('.');
        let account = parts.next().unwrap_or_default();
        let region = parts.nth(2).unwrap_or_default();
        Ok(format!("{name}-gallery-{account}-{region}"))
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
