//! `POST /v1/images/generations`: OpenAI's images call. The body is read into the page's own
//! generate form and handed to the same studio use case as the page's Generate, so every rule,
//! budget and limit is the page's. The call is a job: it is stored before the answer waits for
//! it, so a client that goes away still gets its picture into the gallery, made once.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::HeaderMap,
};
use base64::Engine;
use futures::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{ApiCaller, ApiError, ApiState};
use crate::{
    catalogue::{ModelSpec, Shape, Shapes, Size},
    domain::{Field, GenerateForm, GenerationRequest, nearest_shape},
    identity::{OwnerId, PublicUrl},
    studio::{Expiry, Job, Studio, sentences::api as sentences, sentences::problem},
};

/// The largest body read: a prompt and a few settings fit many times over.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long the answer waits for its job to start, on top of the longest the job can run once
/// started: past both, the job is stuck behind a long queue, and the answer gives up (the job
/// still lands in the gallery).
const QUEUE_WAIT: Duration = Duration::from_secs(5 * 60);

/// Short names a script may use for a model, listed in docs/api.md.
const ALIASES: [(&str, &str); 6] = [
    ("stable-image-core", "stability.stable-image-core-v1:1"),
    ("stable-image-ultra", "stability.stable-image-ultra-v1:1"),
    ("sd3.5-large", "stability.sd3-5-large-v1:0"),
    ("titan-image-v1", "amazon.titan-image-generator-v1"),
    ("titan-image-v2", "amazon.titan-image-generator-v2:0"),
    ("nova-canvas", "amazon.nova-canvas-v1:0"),
];

#[derive(Debug, Serialize)]
pub struct Generated {
    created: i64,
    data: Vec<Image>,
    /// The size or aspect ratio the model made, nearest to the `size` asked for.
    size: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Image {
    B64 {
        b64_json: String,
        revised_prompt: String,
    },
    Url {
        url: String,
        revised_prompt: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    B64Json,
    Url,
}

pub async fn generate(
    State(state): State<ApiState>,
    ApiCaller(owner): ApiCaller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Generated>, ApiError> {
    let studio = &state.studio;
    let body = body.map_err(|too_big| bad("body", too_big.body_text()))?;
    let body: Map<String, Value> =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadField {
            param: "body",
            message: format!("The body is not a JSON object: {e}."),
        })?;
    let (form, format) = read(studio, &body)?;
    let request = GenerationRequest::parse(&form, studio.catalogue()).map_err(|errors| {
        let (field, message) = errors.iter().next().expect("a refused form names a field");
        ApiError::BadField {
            param: param(field, &body),
            message: message.to_owned(),
        }
    })?;
    let size = request.shape.to_string();
    let answers = studio
        .submit(&owner, vec![(request, None)])
        .await
        .map_err(|unusable| ApiError::BadField {
            param: "model",
            message: unusable.message,
        })?;
    let job = answers
        .into_iter()
        .next()
        .expect("one answer per request")?;
    let job = ended(studio, &owner, job).await?;
    let origin = PublicUrl::origin_or_host(state.public_url.as_ref(), &headers);
    let data = images(studio, &owner, &job, format, &origin).await?;
    Ok(Json(Generated {
        created: OffsetDateTime::now_utc().unix_timestamp(),
        data,
        size,
    }))
}

/// The body as the page's form, with how the pictures are wanted.
fn read(studio: &Studio, body: &Map<String, Value>) -> Result<(GenerateForm, Format), ApiError> {
    let asked: Option<String> = field(body, "model", "a string")?;
    let model = match asked.as_deref().map(str::trim) {
        None | Some("") => studio.preferred_model().to_owned(),
        Some(name) => resolve(name).to_owned(),
    };
    let spec = studio
        .catalogue()
        .get(&model)
        .ok_or_else(|| ApiError::ModelNotFound(asked.unwrap_or_default()))?;
    let format = match field::<String>(body, "response_format", "a string")?.as_deref() {
        None | Some("b64_json") => Format::B64Json,
        Some("url") => Format::Url,
        Some(_) => return Err(bad("response_format", sentences::RESPONSE_FORMAT)),
    };
    // Accepted as OpenAI documents it; no model here has an equivalent.
    let _style: Option<String> = field(body, "style", "a string")?;
    let number = |name| -> Result<String, ApiError> {
        let value: Option<f64> = field(body, name, "a number")?;
        Ok(value.map(|v| v.to_string()).unwrap_or_default())
    };
    let text = |name| -> Result<String, ApiError> {
        Ok(field::<String>(body, name, "a string")?.unwrap_or_default())
    };
    let seed: Option<u64> = field(body, "seed", "a whole number")?;
    let form = GenerateForm {
        model: spec.id.clone(),
        prompt: field::<String>(body, "prompt", "a string")?
            .ok_or_else(|| bad("prompt", "prompt is required."))?,
        negative_prompt: text("negative_prompt")?,
        size: shape(body, spec)?,
        count: field::<u64>(body, "n", "a whole number")?
            .map(|n| n.to_string())
            .unwrap_or_default(),
        cfg_scale: number("cfg_scale")?,
        quality: quality(body, spec)?,
        seed_mode: if seed.is_some() { "fixed" } else { "random" }.to_owned(),
        seed: seed.map(|s| s.to_string()).unwrap_or_default(),
        ..GenerateForm::default()
    };
    Ok((form, format))
}

/// An alias's model id, or the name as given.
fn resolve(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, id)| id)
}

/// The shape to ask the model for: Easel's `aspect_ratio` as given, else OpenAI's `size` as
/// the model's nearest, else the model's default.
fn shape(body: &Map<String, Value>, model: &ModelSpec) -> Result<String, ApiError> {
    if let Some(ratio) = field::<String>(body, "aspect_ratio", "a string")? {
        return Ok(ratio);
    }
    let Some(size) = field::<String>(body, "size", "a string")? else {
        return Ok(String::new());
    };
    if size == "auto" {
        return Ok(String::new());
    }
    let size: Size = size.parse().map_err(|_| bad("size", sentences::SIZE))?;
    let exact = matches!(&model.shapes, Shapes::Sizes(sizes) if sizes.contains(&size));
    let shape = match exact {
        true => Shape::Size(size),
        false => nearest_shape(Shape::Size(size), &model.shapes),
    };
    Ok(shape.to_string())
}

/// OpenAI's quality as the model's own, for a model that has qualities; ignored otherwise.
fn quality(body: &Map<String, Value>, model: &ModelSpec) -> Result<String, ApiError> {
    let Some(asked) = field::<String>(body, "quality", "a string")? else {
        return Ok(String::new());
    };
    let ours = match asked.as_str() {
        "hd" | "high" | "premium" => "premium",
        "standard" | "medium" | "low" | "auto" => "standard",
        _ => return Err(bad("quality", sentences::QUALITY)),
    };
    Ok(match model.qualities.is_empty() {
        true => String::new(),
        false => ours.to_owned(),
    })
}

/// The body's field `name` as a `T`; absent or null is `None`.
fn field<T: DeserializeOwned>(
    body: &Map<String, Value>,
    name: &'static str,
    wanted: &str,
) -> Result<Option<T>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|_| bad(name, sentences::wrong_type(name, wanted))),
    }
}

fn bad(param: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadField {
        param,
        message: message.into(),
    }
}

/// The body's name for a field of the page's form.
fn param(field: Field, body: &Map<String, Value>) -> &'static str {
    match field {
        Field::Count => "n",
        Field::Size if body.contains_key("aspect_ratio") => "aspect_ratio",
        other => other.name(),
    }
}

/// The job once it has ended, or [`ApiError::StillRunning`] when it outlives its own
/// [`Studio::longest_run`] and [`QUEUE_WAIT`].
async fn ended(studio: &Studio, owner: &OwnerId, job: Job) -> Result<Job, ApiError> {
    let updates = studio.updates(owner, &job.id).await?;
    let Some(updates) = updates else {
        return Err(ApiError::Failed(sentences::NO_PICTURE.to_owned()));
    };
    let wait = studio.longest_run(job.count) + QUEUE_WAIT;
    let last = tokio::time::timeout(wait, async {
        let mut updates = std::pin::pin!(updates);
        let mut last = None;
        while let Some(status) = updates.next().await {
            last = Some(status.job);
        }
        last
    })
    .await
    .map_err(|_| ApiError::StillRunning)?;
    match last {
        Some(job) if job.state.is_final() => {
            // Its answer shows it: the page need not say it ended while away.
            let _ = studio.seen(&job).await;
            Ok(job)
        }
        // The process is stopping; the job is taken over and lands all the same.
        _ => Err(ApiError::StillRunning),
    }
}

/// The job's pictures as asked; a job that made none says why.
async fn images(
    studio: &Studio,
    owner: &OwnerId,
    job: &Job,
    format: Format,
    origin: &str,
) -> Result<Vec<Image>, ApiError> {
    if job.pictures.is_empty() {
        let region = studio
            .catalogue()
            .get(&job.model_id)
            .map(|model| model.region(studio.bedrock_region()).to_owned())
            .unwrap_or_default();
        let why = job.problems.first().map_or_else(
            || sentences::NO_PICTURE.to_owned(),
            |p| problem(p, &job.model_name, &region, None),
        );
        return Err(ApiError::Failed(why));
    }
    let revised_prompt = job.prompt().to_owned();
    let mut images = Vec::new();
    for picture in &job.pictures {
        let image = match format {
            Format::B64Json => {
                let png = studio.picture(owner, &picture.image).await?;
                let png = png.ok_or_else(|| ApiError::Failed(sentences::NO_PICTURE.to_owned()))?;
                Image::B64 {
                    b64_json: base64::engine::general_purpose::STANDARD.encode(png),
                    revised_prompt: revised_prompt.clone(),
                }
            }
            Format::Url => {
                let now = OffsetDateTime::now_utc();
                let made = studio
                    .share(owner, &picture.image, Expiry::Hour, false, now)
                    .await?
                    .ok_or_else(|| ApiError::Failed(sentences::NO_PICTURE.to_owned()))?;
                Image::Url {
                    url: format!("{origin}/s/{}/image.png", made.link.as_str()),
                    revised_prompt: revised_prompt.clone(),
                }
            }
        };
        images.push(image);
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_names_a_model_of_the_built_in_catalogue() {
        let catalogue = crate::catalogue::Catalogue::built_in();
        for (alias, id) in ALIASES {
            assert!(catalogue.get(id).is_some(), "{alias} names {id}");
        }
        assert_eq!(resolve("nova-canvas"), "amazon.nova-canvas-v1:0");
        assert_eq!(
            resolve("amazon.nova-canvas-v1:0"),
            "amazon.nova-canvas-v1:0"
        );
    }
}
