use axum::{
    Form,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use axum_extra::extract::SignedCookieJar;

use super::{
    AppError, AppState,
    answer::{answer_accepted, swap_form, with_retry_after},
    error::{refusal, render},
    identity,
    pages::index_page,
    views::{FormFragment, FormView, RefusalFragment, ResultView},
};
use crate::{
    domain::{Field, FieldErrors, GenerateForm, GenerationRequest},
    identity::OwnerId,
    studio::Refusal,
};

/// `POST /generate`: accepts the request as a job (or, with models to compare, one job per
/// model) and answers at once. htmx gets the job cards to put on top of `#result`; a plain
/// form post is sent to the job's own page.
pub async fn generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Form(mut form): Form<GenerateForm>,
) -> Result<Response, AppError> {
    let owner = identity::required_owner(&jar, state.secure_cookie)?;
    if form.model.trim().is_empty() {
        form.model = state.models.preferred().to_owned();
    }
    let htmx = headers.contains_key("hx-request");
    let requests = match parse(&state, &form) {
        Ok(requests) => requests,
        Err(errors) => return Ok(invalid_form(&state, &owner, form, errors, htmx).await),
    };

    let mut accepted = Vec::new();
    let mut refused: Vec<(StatusCode, String, Option<u64>)> = Vec::new();
    let mut group = None;
    for (request, note) in requests {
        match state
            .studio
            .submit(&owner, &request, group.clone(), note)
            .await
        {
            Ok(job) => {
                group.get_or_insert_with(|| job.id.clone());
                accepted.push(job);
            }
            Err(refusal_) => refused.push(refusal(&refusal_)),
        }
    }

    let messages: Vec<String> = refused.iter().map(|(_, m, _)| m.clone()).collect();
    if accepted.is_empty() {
        let (status, _, retry_after) = refused
            .first()
            .cloned()
            .unwrap_or_else(|| refusal(&Refusal::ShuttingDown));
        let response = if htmx {
            render(status, &RefusalFragment { messages })
        } else {
            let result = ResultView {
                messages,
                ..ResultView::default()
            };
            index_page(
                &state,
                &owner,
                form,
                FieldErrors::default(),
                result,
                status,
                1,
            )
            .await?
        };
        return Ok(with_retry_after(response, retry_after));
    }
    answer_accepted(&state, &owner, accepted, messages, htmx).await
}

/// The request, and the same request on each model to compare with, each with its note.
fn parse(
    state: &AppState,
    form: &GenerateForm,
) -> Result<Vec<(GenerationRequest, Option<String>)>, FieldErrors> {
    let request = GenerationRequest::parse(form, &state.catalogue)
        .and_then(|r| usable(state, r, Field::Model))?;
    let mut others: Vec<&str> = Vec::new();
    for other in [form.compare_a.trim(), form.compare_b.trim()] {
        if !other.is_empty() && other != request.model.id && !others.contains(&other) {
            others.push(other);
        }
    }
    let mut requests = Vec::new();
    for other in others {
        let (compared, note) = request.for_model(other, &state.catalogue)?;
        let compared = usable(state, compared, Field::Compare)?;
        requests.push((compared, note));
    }
    requests.insert(0, (request, None));
    Ok(requests)
}

/// A model the live list knows to be gone is refused before any call is made.
fn usable(
    state: &AppState,
    request: GenerationRequest,
    field: Field,
) -> Result<GenerationRequest, FieldErrors> {
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
    Err(FieldErrors::single(field, message))
}

async fn invalid_form(
    state: &AppState,
    owner: &OwnerId,
    form: GenerateForm,
    errors: FieldErrors,
    htmx: bool,
) -> Response {
    if htmx {
        let form = FormView::new(state, form, errors);
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
