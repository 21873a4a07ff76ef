//! Bedrock: the model families (how a request is encoded and an answer decoded) and the SDK call.

mod client;
mod control_plane;
mod error;
mod image_services;
mod stability;
mod titan;

use bytes::Bytes;

pub use client::Bedrock;
pub use control_plane::ControlPlane;
pub use error::BedrockError;

use crate::{
    catalogue::Family,
    domain::{EditRequest, GenerationRequest},
};

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

/// One model call of a request, and which of its pictures it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The index (from 0) of its first picture within the request.
    pub first: u8,
    pub pictures: u8,
}

/// How a request is split into calls. Stability makes one picture per call: N pictures are N
/// calls, each with its own seed; Titan makes them all in one.
pub fn calls(request: &GenerationRequest) -> Vec<Call> {
    let count = request.count.get();
    match request.model.family {
        Family::Titan => vec![Call {
            first: 0,
            pictures: count,
        }],
        Family::Stability => (0..count)
            .map(|first| Call { first, pictures: 1 })
            .collect(),
    }
}

impl Bedrock {
    /// Makes the pictures of one call. `call_id` is the model id, or the inference profile
    /// that serves it.
    pub async fn make(&self, request: &GenerationRequest, call_id: &str, call: Call) -> Generation {
        let model = &request.model;
        let result = match model.family {
            Family::Titan => {
                async {
                    let answer = self
                        .invoke(model.region.as_deref(), call_id, titan::body(request))
                        .await?;
                    titan::decode(&answer, request.seed.value())
                }
                .await
            }
            Family::Stability => {
                async {
                    let seed =
                        request
                            .seed
                            .nth(u64::from(call.first), model.seed_min, model.seed_max);
                    let answer = self
                        .invoke(
                            model.region.as_deref(),
                            call_id,
                            stability::body(request, seed),
                        )
                        .await?;
                    stability::decode(&answer, seed.value()).map(|image| Generation {
                        images: vec![image],
                        failures: Vec::new(),
                    })
                }
                .await
            }
        };
        result.unwrap_or_else(|failure| Generation {
            images: Vec::new(),
            failures: vec![failure],
        })
    }

    /// Makes the one picture of an edit, in the Bedrock region, through the operation's `us.`
    /// inference profile (or SD3.5 Large itself, on demand).
    pub async fn edit(&self, request: &EditRequest) -> Result<GeneratedImage, BedrockError> {
        let answer = self
            .invoke(
                None,
                request.spec().call_id(),
                image_services::body(request),
            )
            .await?;
        // Fast Upscale and Remove Background take no seed; the answer still reports one.
        let sent_seed = request.operation().seed().map_or(0, |seed| seed.value());
        stability::decode(&answer, sent_seed)
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
