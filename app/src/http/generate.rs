use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{
    AppError, AppState,
    answer::{answer_accepted, swap_form},
    error::render,
    extract::{HxRequest, Owner},
    pages::index_page,
    views::{FormFragment, FormView, ResultView},
};
use crate::{
    domain::{Field, FieldErrors, GenerateForm, GenerationRequest},
    identity::OwnerId,
    studio::{Refusal, Studio, sentences},
};

/// `POST /generate`: accepts the request as a job (or, with models to compare, one job per
/// model) and answers at once. htmx gets the job cards to put on top of `#result`; a plain
/// form post is sent to the job's own page.
pub async fn generate(
    State(state): State<AppState>,
    owner: Option<Owner>,
    HxRequest(htmx): HxRequest,
    Form(mut form): Form<GenerateForm>,
) -> Result<Response, AppError> {
    // Checked once the form is read: an oversized one is refused as such, cookie or not.
    let Owner(owner) = owner.ok_or(AppError::NoIdentity)?;
    let studio = &state.studio;
    if form.model.trim().is_empty() {
        form.model = studio.preferred_model().to_owned();
    }
    let requests = match parse(studio, &form) {
        Ok(requests) => requests,
        Err(errors) => return Ok(invalid_form(&state, &owner, form, errors, htmx).await),
    };
    let answers = match studio.submit(&owner, requests).await {
        Ok(answers) => answers,
        Err(unusable) => {
            let field = match unusable.index {
                0 => Field::Model,
                _ => Field::Compare,
            };
            let errors = FieldErrors::single(field, unusable.message);
            return Ok(invalid_form(&state, &owner, form, errors, htmx).await);
        }
    };
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for answer in answers {
        match answer {
            Ok(job) => accepted.push(job),
            Err(refusal) => refused.push(refusal),
        }
    }
    if accepted.is_empty() {
        let first = refused.into_iter().next();
        return Err(first.unwrap_or(Refusal::ShuttingDown).into());
    }
    let messages = refused.iter().map(sentences::refusal).collect();
    answer_accepted(&state, &owner, accepted, messages, htmx).await
}

/// The request, and the same request on each model to compare with, each with its note.
fn parse(
    studio: &Studio,
    form: &GenerateForm,
) -> Result<Vec<(GenerationRequest, Option<String>)>, FieldErrors> {
    let catalogue = studio.catalogue();
    let request = GenerationRequest::parse(form, catalogue)?;
    let mut others: Vec<&str> = Vec::new();
    for other in [form.compare_a.trim(), form.compare_b.trim()] {
        if !other.is_empty() && other != request.model.id && !others.contains(&other) {
            others.push(other);
        }
    }
    let mut requests = Vec::new();
    for other in others {
        requests.push(request.for_model(other, catalogue)?);
    }
    requests.insert(0, (request, None));
    Ok(requests)
}

async fn invalid_form(
    state: &AppState,
    owner: &OwnerId,
    form: GenerateForm,
    errors: FieldErrors,
    htmx: bool,
) -> Response {
    if htmx {
        let form = FormView::new(&state.studio, form, errors);
        let response = render(StatusCode::UNPROCESSABLE_ENTITY, &FormFragment { form });
        return swap_form(response, "#generate-form");
    }
    index_page(
        state,
        owner,
        form,
        errors,
        ResultView::default(),
        StatusCode::UNPROCESSABLE_ENTITY,
        1,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response)
}
