//! `GET /v1/models`: the models Bedrock serves right now and the edit operations, in OpenAI's
//! list shape, with the ids the rest of the API takes.

use axum::{Json, extract::State};
use serde::Serialize;

use super::{ApiCaller, ApiState};
use crate::catalogue::{ModelSpec, OperationSpec};

#[derive(Debug, Serialize)]
pub struct ModelList {
    object: &'static str,
    data: Vec<Model>,
}

#[derive(Debug, Serialize)]
pub struct Model {
    id: String,
    object: &'static str,
    /// OpenAI's clients need a time; the catalogue knows none, so every entry says 0.
    created: u64,
    owned_by: String,
}

impl Model {
    fn new(id: &str, bedrock_id: &str) -> Self {
        Self {
            id: id.to_owned(),
            object: "model",
            created: 0,
            owned_by: provider(bedrock_id).to_owned(),
        }
    }
}

impl From<&ModelSpec> for Model {
    fn from(model: &ModelSpec) -> Self {
        Model::new(&model.id, &model.id)
    }
}

impl From<&OperationSpec> for Model {
    fn from(operation: &OperationSpec) -> Self {
        Model::new(operation.id(), &operation.model_id)
    }
}

/// Who makes a Bedrock model: the part of its id before the first dot (`stability`, `amazon`).
fn provider(bedrock_id: &str) -> &str {
    bedrock_id.split('.').next().unwrap_or(bedrock_id)
}

pub async fn list(State(state): State<ApiState>, _caller: ApiCaller) -> Json<ModelList> {
    let studio = &state.studio;
    studio.first_model_check().await;
    let models = studio
        .catalogue()
        .models()
        .iter()
        .filter(|model| studio.model_state(&model.id).is_usable())
        .map(Model::from);
    let operations = studio.operations().all().iter().map(Model::from);
    Json(ModelList {
        object: "list",
        data: models.chain(operations).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_the_bedrock_ids_first_part() {
        assert_eq!(provider("stability.sd3-5-large-v1:0"), "stability");
        assert_eq!(provider("amazon.titan-image-generator-v2:0"), "amazon");
    }
}
