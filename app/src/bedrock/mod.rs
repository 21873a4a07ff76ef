//! Bedrock: the model families (how a request is encoded and an answer decoded) and the SDK call.

mod client;
mod error;
mod stability;
mod titan;

use bytes::Bytes;
use futures::future::join_all;

pub use client::Bedrock;
pub use error::BedrockError;

use crate::{catalogue::Family, domain::GenerationRequest, guard::ModelQueues};

/// One picture as the model made it.
#[derive(Debug, Clone)]
pub struct GeneratedImage {
    pub png: Bytes,
    /// The seed the model reports it used (Stability says so; Titan uses the one sent).
    pub seed: u64,
}

/// What came back from one request: the pictures made, and why any others were not.
#[derive(Debug, Default)]
pub struct Generation {
    pub images: Vec<GeneratedImage>,
    pub failures: Vec<BedrockError>,
}

impl Bedrock {
    /// Runs a request through its model's family, waiting for a free slot of that model first.
    /// `call_id` is the model id, or the inference profile that serves it.
    pub async fn generate(
        &self,
        request: &GenerationRequest,
        call_id: &str,
        queues: &ModelQueues,
    ) -> Generation {
        match request.model.family {
            Family::Titan => {
                let result = async {
                    let _slot = queues.slot(&request.model.id).await?;
                    let answer = self
                        .invoke(&request.model, call_id, titan::body(request))
                        .await?;
                    titan::decode(&answer, request.seed.value())
                }
                .await;
                match result {
                    Ok(generation) => generation,
                    Err(failure) => Generation {
                        images: Vec::new(),
                        failures: vec![failure],
                    },
                }
            }
            // Stability makes one picture per call: N pictures are N calls with N seeds, and
            // whatever came back is kept even when some of the calls failed.
            Family::Stability => {
                let model = &request.model;
                let calls = (0..u64::from(request.count.get())).map(|n| async move {
                    let seed = request.seed.nth(n, model.seed_min, model.seed_max);
                    let _slot = queues.slot(&model.id).await?;
                    let answer = self
                        .invoke(model, call_id, stability::body(request, seed))
                        .await?;
                    stability::decode(&answer, seed.value())
                });
                let mut generation = Generation::default();
                for result in join_all(calls).await {
                    match result {
                        Ok(image) => generation.images.push(image),
                        Err(failure) => generation.failures.push(failure),
                    }
                }
                generation
            }
        }
    }
}

/// Base64 text from a model answer to PNG bytes; anything else is a malformed answer.
fn decode_png(b64: &str) -> Result<Bytes, BedrockError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| BedrockError::Malformed("an image was not valid base64".into()))?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(BedrockError::Malformed("an image was not a PNG".into()));
    }
    Ok(bytes.into())
}
