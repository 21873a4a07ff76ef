use aws_sdk_bedrockruntime::{error::SdkError, operation::invoke_model::InvokeModelError};

use crate::availability::Availability;

/// Why a model call made no picture. Built in one place from the SDK's error or the decoded
/// answer; `http::error` alone decides what the user reads for each.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum BedrockError {
    /// The prompt sent ("Filter reason: prompt").
    #[error("the prompt was blocked by the content filter")]
    InputFiltered,
    /// An edit's picture ("Filter reason: input image").
    #[error("the picture sent was blocked by the content filter")]
    InputImageFiltered,
    #[error("the picture was blocked by the content filter")]
    OutputFiltered,
    #[error("Bedrock throttled the request, even after retries")]
    Throttled,
    /// IAM: this principal may not call the model (no `bedrock:InvokeModel` on it).
    #[error("access to the model is denied")]
    AccessDenied,
    /// The account's AWS Marketplace subscription to the model is missing, failed, or still
    /// being set up, and this principal may not make it.
    #[error("the account's AWS Marketplace subscription to the model is missing or not ready")]
    NotSubscribed,
    #[error("the model has reached the end of its life")]
    Retired,
    #[error("the model is Legacy and this account may no longer use it")]
    Legacy,
    #[error("the model is not offered in this region")]
    NotOffered,
    #[error("the model must be called through an inference profile")]
    NeedsProfile,
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model failed: {0}")]
    ModelFailed(String),
    #[error("the model's answer was malformed: {0}")]
    Malformed(String),
    #[error("Bedrock is unavailable")]
    Unavailable,
    #[error("Bedrock could not be reached: {0}")]
    Unreachable(String),
    #[error("Bedrock refused the request: {0}")]
    Rejected(String),
}

impl BedrockError {
    /// The model itself cannot be used any more: the model list should say so from now on.
    pub fn model_is_gone(&self) -> bool {
        matches!(
            self,
            BedrockError::Retired | BedrockError::Legacy | BedrockError::NotOffered
        )
    }

    /// What the call taught about the model's lifecycle, if anything.
    pub fn lifecycle(&self) -> Option<Availability> {
        match self {
            BedrockError::Retired => Some(Availability::Retired),
            BedrockError::Legacy => Some(Availability::LegacyWithdrawn),
            BedrockError::NotOffered => Some(Availability::NotInRegion),
            BedrockError::NeedsProfile => Some(Availability::NeedsProfile),
            _ => None,
        }
    }
}

impl<R> From<SdkError<InvokeModelError, R>> for BedrockError {
    fn from(err: SdkError<InvokeModelError, R>) -> Self {
        match err {
            SdkError::ServiceError(e) => from_service(e.into_err()),
            SdkError::TimeoutError(_) => BedrockError::Timeout,
            SdkError::DispatchFailure(e) => BedrockError::Unreachable(format!("{e:?}")),
            SdkError::ResponseError(_) => {
                BedrockError::Malformed("the answer could not be read".into())
            }
            other => BedrockError::Unreachable(other.to_string()),
        }
    }
}

fn from_service(err: InvokeModelError) -> BedrockError {
    use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
    let message = err.message().unwrap_or_default().to_owned();
    match err {
        InvokeModelError::ThrottlingException(_)
        | InvokeModelError::ServiceQuotaExceededException(_) => BedrockError::Throttled,
        // Both answers are AccessDeniedException; only the text tells a missing Marketplace
        // subscription ("... AWS Marketplace actions ... subscription for this model ...")
        // from IAM's "User: ... is not authorized to perform: bedrock:InvokeModel ...".
        InvokeModelError::AccessDeniedException(_) if message.contains("Marketplace") => {
            BedrockError::NotSubscribed
        }
        InvokeModelError::AccessDeniedException(_) => BedrockError::AccessDenied,
        InvokeModelError::ResourceNotFoundException(_) => {
            if message.contains("end of its life") {
                BedrockError::Retired
            } else if message.contains("Legacy") {
                BedrockError::Legacy
            } else {
                BedrockError::NotOffered
            }
        }
        InvokeModelError::ValidationException(_) => {
            if message.starts_with("This request has been blocked by our content filters") {
                BedrockError::InputFiltered
            } else if message.contains("inference profile") {
                BedrockError::NeedsProfile
            } else if message.contains("end of its life") {
                BedrockError::Retired
            } else if message.contains("model identifier is invalid") {
                BedrockError::NotOffered
            } else {
                BedrockError::Rejected(message)
            }
        }
        InvokeModelError::ModelTimeoutException(_) => BedrockError::Timeout,
        InvokeModelError::ModelErrorException(_) => BedrockError::ModelFailed(message),
        InvokeModelError::ModelNotReadyException(_)
        | InvokeModelError::InternalServerException(_)
        | InvokeModelError::ServiceUnavailableException(_) => BedrockError::Unavailable,
        other => match other.code() {
            Some(code) if code.contains("Unavailable") || code.contains("Internal") => {
                BedrockError::Unavailable
            }
            _ => BedrockError::Rejected(message),
        },
    }
}
