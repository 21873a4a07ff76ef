use std::{collections::HashMap, time::Duration};

use aws_sdk_bedrockruntime::{Client, config::Region, primitives::Blob};
use bytes::Bytes;

use super::BedrockError;
use crate::catalogue::Catalogue;

/// The Bedrock runtime, one SDK client per region the catalogue needs.
#[derive(Clone)]
pub struct Bedrock {
    clients: HashMap<String, Client>,
    default_region: String,
    timeout: Duration,
}

impl Bedrock {
    /// Credentials, retries and endpoint overrides come from `sdk`; the region is Easel's own
    /// setting (`default_region`), overridable per model in the catalogue.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        default_region: &str,
        catalogue: &Catalogue,
        timeout: Duration,
    ) -> Self {
        let clients = catalogue.per_region(default_region, |region| {
            let config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
                .region(Region::new(region.to_owned()))
                .build();
            Client::from_conf(config)
        });
        Self {
            clients,
            default_region: default_region.to_owned(),
            timeout,
        }
    }

    /// How long one call may take before it fails as a timeout.
    pub fn call_timeout(&self) -> Duration {
        self.timeout
    }

    /// Calls `call_id` in `region` (a model's own), or in the Bedrock region when `None`.
    pub(super) async fn invoke(
        &self,
        region: Option<&str>,
        call_id: &str,
        body: serde_json::Value,
    ) -> Result<Bytes, BedrockError> {
        let client = &self.clients[region.unwrap_or(&self.default_region)];
        let call = client
            .invoke_model()
            .model_id(call_id)
            // Without these the SDK sends application/octet-stream, which Bedrock refuses.
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .send();
        let output = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| BedrockError::Timeout)??;
        Ok(output.body.into_inner().into())
    }
}
