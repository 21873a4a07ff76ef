//! The edit page of one picture, and the edits it starts: each one a job, as a generation is.

use axum::{
    extract::{Multipart, Path, Query, State, multipart::MultipartRejection},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use axum_extra::extract::SignedCookieJar;

use super::{
    AppError, AppState,
    answer::{answer_accepted, swap_form, with_retry_after},
    edit_views::{EditFormFragment, EditFormView, EditPage},
    error::{refusal, render},
    identity,
    multipart::{self, SentForm},
    pages::{owned, owned_record},
    uploads::UNREADABLE,
    views::{ImageView, RefusalFragment, ResultView},
};
use crate::{
    domain::{EditPictures, EditRequest, Field, FieldErrors},
    gallery::{ImageId, ImageRecord, OwnerId, png_size},
    off_thread,
    upload::PictureLimits,
};

/// The most an edit form may carry: a mask and a second picture at their largest, and the
/// fields around them.
pub const MAX_EDIT_BODY_BYTES: usize = 2 * PictureLimits::EDIT.max_bytes + 256 * 1024;

/// The fields an edit form keeps when its operation changes: the others are that operation's.
const KEPT_ACROSS_OPERATIONS: [&str; 5] = [
    "operation",
    "prompt",
    "negative_prompt",
    "seed_mode",
    "seed",
];

/// `GET /images/{id}/edit[?operation=…][&reuse={edit}]`: the picture large and the form for
/// one operation; `reuse` fills it with an earlier edit's settings.
pub async fn page(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (owner, id) = owned(&state, &jar, &id)?;
    let record = owned_record(&state, &owner, &id).await?;
    let reused = query
        .iter()
        .find(|(name, _)| name == "reuse")
        .and_then(|(_, id)| ImageId::parse(id));
    let values = match reused {
        Some(reused) => state
            .gallery
            .record(&owner, &reused)
            .await?
            .and_then(|r| r.recipe.origin.edit().map(|edit| edit.form.clone()))
            .ok_or(AppError::NotFound)?,
        None => query,
    };
    edit_page(
        &state,
        &owner,
        &record,
        values,
        FieldErrors::default(),
        ResultView::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /images/{id}/edit/fields?operation=…`: the form again for another operation, keeping
/// the prompts and the seed.
pub async fn fields(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Path(id): Path<String>,
    Query(mut values): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (_, id) = owned(&state, &jar, &id)?;
    values.retain(|(name, _)| KEPT_ACROSS_OPERATIONS.contains(&name.as_str()));
    let form = EditFormView::new(
        &state.operations,
        id.to_string(),
        values,
        FieldErrors::default(),
    );
    Ok(render(StatusCode::OK, &EditFormFragment { form }))
}

/// `POST /images/{id}/edit` (multipart): checks the pictures and the settings and accepts the
/// edit as a job. Nothing is called or charged for a form with a problem.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let owner = identity::required_owner(&jar, state.secure_cookie)?;
    let id = ImageId::parse(&id).ok_or(AppError::NotFound)?;
    let record = owned_record(&state, &owner, &id).await?;
    let htmx = headers.contains_key("hx-request");
    let prompt_chars = longest_prompt(&state);
    let sent = match multipart::read(form, &[MASK, STYLE], MAX_EDIT_BODY_BYTES, prompt_chars).await
    {
        Ok(sent) => sent,
        Err(unreadable) => {
            let field = field_named(&unreadable.field);
            let errors = FieldErrors::single(field, unreadable.message);
            let status = unreadable.status;
            return invalid(&state, &owner, &record, Vec::new(), errors, htmx, status).await;
        }
    };
    let request = match parse(&state, &owner, &id, &sent).await? {
        Ok(request) => request,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return invalid(&state, &owner, &record, sent.fields, errors, htmx, status).await;
        }
    };
    match state.studio.submit_edit(&owner, &id, &request).await {
        Ok(job) => answer_accepted(&state, &owner, vec![job], Vec::new(), htmx).await,
        Err(refused) => {
            let (status, message, retry_after) = refusal(&refused);
            let response = if htmx {
                render(
                    status,
                    &RefusalFragment {
                        messages: vec![message],
                    },
                )
            } else {
                let result = ResultView {
                    messages: vec![message],
                    ..ResultView::default()
                };
                let errors = FieldErrors::default();
                edit_page(&state, &owner, &record, sent.fields, errors, result, status).await?
            };
            Ok(with_retry_after(response, retry_after))
        }
    }
}

const MASK: &str = "mask";
const STYLE: &str = "style_image";

/// The longest prompt any operation takes, in characters: the cap on the form's prompts.
fn longest_prompt(state: &AppState) -> usize {
    let operations = state.operations.all().iter();
    operations.map(|op| op.max_prompt_chars).max().unwrap_or(0)
}

/// Where a sentence about the field named `name` goes: beside it when the form has it, else
/// at the top of the form.
fn field_named(name: &str) -> Field {
    [
        Field::Mask,
        Field::StyleImage,
        Field::Prompt,
        Field::NegativePrompt,
    ]
    .into_iter()
    .find(|field| field.name() == name)
    .unwrap_or(Field::Operation)
}

/// The edit as sent, every picture checked against the chosen operation's limits, or what is
/// wrong with it, field by field.
async fn parse(
    state: &AppState,
    owner: &OwnerId,
    source: &ImageId,
    sent: &SentForm,
) -> Result<Result<EditRequest, FieldErrors>, AppError> {
    let operation = sent
        .fields
        .iter()
        .find(|(name, _)| name == Field::Operation.name())
        .and_then(|(_, id)| state.operations.get(id.trim()));
    let Some(spec) = operation.cloned() else {
        let message = "Choose one of the listed operations.";
        return Ok(Err(FieldErrors::single(Field::Operation, message)));
    };
    let png = state
        .gallery
        .png(owner, source)
        .await?
        .ok_or(AppError::NotFound)?;
    let mask = sent.file(MASK).cloned();
    let style = sent.file(STYLE).cloned();
    let pictures = off_thread::run(move || {
        EditPictures::decode(&spec, &png, mask.as_deref(), style.as_deref())
    })
    .await
    .unwrap_or_else(|| Err(FieldErrors::single(Field::Image, UNREADABLE)));
    Ok(pictures.and_then(|pictures| EditRequest::parse(&sent.fields, pictures, &state.operations)))
}

async fn invalid(
    state: &AppState,
    owner: &OwnerId,
    record: &ImageRecord,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    htmx: bool,
    status: StatusCode,
) -> Result<Response, AppError> {
    if htmx {
        let form = EditFormView::new(&state.operations, record.id.to_string(), values, errors);
        return Ok(swap_form(
            render(status, &EditFormFragment { form }),
            "#edit-form",
        ));
    }
    let result = ResultView::default();
    edit_page(state, owner, record, values, errors, result, status).await
}

async fn edit_page(
    state: &AppState,
    owner: &OwnerId,
    record: &ImageRecord,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    result: ResultView,
    status: StatusCode,
) -> Result<Response, AppError> {
    let png = state
        .gallery
        .png(owner, &record.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (width, height) = png_size(&png).unwrap_or_default();
    let page = EditPage {
        image: ImageView::from(record),
        width,
        height,
        form: EditFormView::new(&state.operations, record.id.to_string(), values, errors),
        result,
    };
    Ok(render(status, &page))
}
