use axum::{
    Form,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use axum_extra::extract::SignedCookieJar;
use futures::future::join_all;
use time::OffsetDateTime;

use super::{
    AppState,
    error::{RETRY_AFTER_SECS, explain, generation_status, render},
    identity,
    views::{
        FormFragment, FormView, GalleryView, ImageView, IndexPage, ResultFragment, ResultView,
    },
};
use crate::{
    bedrock::GeneratedImage,
    domain::{Field, FieldErrors, GenerateForm, GenerationRequest},
    gallery::{OwnerId, Recipe},
};

/// `POST /generate`: from htmx, answers with the result fragment (and the gallery out of band);
/// from a plain form post, with the whole page.
pub async fn generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Form(mut form): Form<GenerateForm>,
) -> Response {
    let (jar, owner) = identity::owner_or_new(jar, state.secure_cookie);
    if form.model.trim().is_empty() {
        form.model = state.models.preferred().to_owned();
    }
    let htmx = headers.contains_key("hx-request");
    let request = GenerationRequest::parse(&form, &state.catalogue).and_then(|r| usable(&state, r));
    let request = match request {
        Ok(request) => request,
        Err(errors) => {
            return (jar, invalid_form(&state, &owner, form, errors, htmx).await).into_response();
        }
    };

    let (status, result) = match state.rate_limit.check(&owner.to_string()) {
        Err(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            ResultView {
                messages: vec!["You have started a lot of generations in the last minute. Wait a moment and try again.".into()],
                ..ResultView::default()
            },
        ),
        Ok(()) => run(&state, &owner, &request).await,
    };

    let gallery = match state.gallery.page(&owner, 1, state.page_size).await {
        Ok(page) => GalleryView::from(&page),
        Err(e) => {
            tracing::error!(error = ?e, "could not list the gallery");
            GalleryView::empty()
        }
    };
    let mut response = if htmx {
        render(status, &ResultFragment { result, gallery })
    } else {
        let page = IndexPage {
            form: FormView::new(&state, form, FieldErrors::default()),
            result,
            gallery,
        };
        render(status, &page)
    };
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    (jar, response).into_response()
}

/// A model the live list knows to be gone is refused before any call is made.
fn usable(state: &AppState, request: GenerationRequest) -> Result<GenerationRequest, FieldErrors> {
    let availability = state.models.availability(&request.model.id);
    if availability.is_usable() {
        return Ok(request);
    }
    let reason = availability
        .note(request.model.region(&state.bedrock_region))
        .unwrap_or_default();
    let instead = state
        .catalogue
        .get(state.models.preferred())
        .map(|m| m.name.as_str());
    let message = match instead {
        Some(other) if other != request.model.name => {
            format!("{} is {reason}. Pick {other} instead.", request.model.name)
        }
        _ => format!("{} is {reason}.", request.model.name),
    };
    Err(FieldErrors::single(Field::Model, message))
}

async fn invalid_form(
    state: &AppState,
    owner: &OwnerId,
    form: GenerateForm,
    errors: FieldErrors,
    htmx: bool,
) -> Response {
    let form = FormView::new(state, form, errors);
    if htmx {
        // The messages belong next to their fields, so the form itself is swapped, not #result.
        let mut response = render(StatusCode::UNPROCESSABLE_ENTITY, &FormFragment { form });
        let headers = response.headers_mut();
        headers.insert("hx-retarget", HeaderValue::from_static("#generate-form"));
        headers.insert("hx-reswap", HeaderValue::from_static("outerHTML"));
        return response;
    }
    let gallery = state
        .gallery
        .page(owner, 1, state.page_size)
        .await
        .map(|p| GalleryView::from(&p))
        .unwrap_or_else(|_| GalleryView::empty());
    let page = IndexPage {
        form,
        result: ResultView::default(),
        gallery,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Calls the model, keeps every picture that came back, and explains the rest.
async fn run(
    state: &AppState,
    owner: &OwnerId,
    request: &GenerationRequest,
) -> (StatusCode, ResultView) {
    let model = &request.model;
    tracing::info!(model = %model.id, count = request.count.get(), "generating");
    tracing::debug!(prompt = %request.prompt, "prompt");
    let call_id = state.models.call_id(&model.id);
    let generation = state
        .bedrock
        .generate(request, &call_id, &state.queues)
        .await;
    for failure in &generation.failures {
        tracing::warn!(model = %model.id, error = %failure, "a model call failed");
        state.models.learn_from(&model.id, failure);
    }

    let saves = generation
        .images
        .into_iter()
        .map(|image| save(state, owner, request, image));
    let mut images = Vec::new();
    let mut storage_failed = 0;
    for saved in join_all(saves).await {
        match saved {
            Ok(view) => images.push(view),
            Err(e) => {
                tracing::error!(error = ?e, "could not store a picture");
                storage_failed += 1;
            }
        }
    }

    let instead = state
        .catalogue
        .get(state.models.preferred())
        .filter(|m| m.id != model.id)
        .map(|m| m.name.as_str());
    let mut messages: Vec<String> = Vec::new();
    for failure in &generation.failures {
        let sentence = explain(failure, model, model.region(&state.bedrock_region), instead);
        if !messages.contains(&sentence) {
            messages.push(sentence);
        }
    }
    if storage_failed > 0 {
        messages.push(format!(
            "{storage_failed} picture(s) could not be saved to the gallery. Try again in a moment."
        ));
    }
    let asked = usize::from(request.count.get());
    if !images.is_empty() && images.len() < asked {
        messages.insert(
            0,
            format!("{} of {asked} pictures were made.", images.len()),
        );
    }
    let status = match (images.is_empty(), generation.failures.first()) {
        (false, _) => StatusCode::OK,
        (true, Some(failure)) => generation_status(failure),
        (true, None) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let result = ResultView {
        price: Some(format!("${:.3}", request.price_usd())),
        images,
        messages,
    };
    (status, result)
}

async fn save(
    state: &AppState,
    owner: &OwnerId,
    request: &GenerationRequest,
    image: GeneratedImage,
) -> Result<ImageView, crate::gallery::GalleryError> {
    let recipe = Recipe {
        model_id: request.model.id.clone(),
        model_name: request.model.name.clone(),
        prompt: request.prompt.to_string(),
        negative_prompt: request.negative_prompt.as_ref().map(ToString::to_string),
        size: request.shape.to_string(),
        cfg_scale: request.cfg_scale,
        quality: request.quality.map(|q| q.as_str().to_owned()),
        seed: image.seed,
        price_usd: request.model.price_per_image,
        created_at: OffsetDateTime::now_utc(),
    };
    let record = state.gallery.save(owner, recipe, image.png).await?;
    Ok(ImageView::from(&record))
}
