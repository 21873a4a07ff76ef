//! The edit page of one picture, and the edits it starts: each one a job, as a generation is.

use axum::{
    extract::{Multipart, Query, State, multipart::MultipartRejection},
    http::StatusCode,
    response::Response,
};

use super::{
    AppError, AppState,
    answer::{answer_accepted, swap_form},
    edit_views::{EditFormFragment, EditFormView, EditPage},
    error::render,
    extract::{HxRequest, OwnedImage, Owner},
    multipart,
    views::{ImageView, ResultView},
};
use crate::{
    domain::{Field, FieldErrors},
    identity::OwnerId,
    studio::{EditSource, ImageId},
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
    OwnedImage { owner, id }: OwnedImage,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let source = edit_source(&state, &owner, &id).await?;
    let reused = query
        .iter()
        .find(|(name, _)| name == "reuse")
        .and_then(|(_, id)| ImageId::parse(id));
    let values = match reused {
        Some(reused) => state
            .studio
            .record(&owner, &reused)
            .await?
            .and_then(|r| r.recipe.origin.edit().map(|edit| edit.form.clone()))
            .ok_or(AppError::NotFound)?,
        None => query,
    };
    let page = edit_page(&state, &source, values, FieldErrors::default());
    Ok(render(StatusCode::OK, &page))
}

/// `GET /images/{id}/edit/fields?operation=…`: the form again for another operation, keeping
/// the prompts and the seed.
pub async fn fields(
    State(state): State<AppState>,
    OwnedImage { owner, id }: OwnedImage,
    Query(mut values): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    // Only the owner of the picture may see its edit form: another person gets a 404.
    edit_source(&state, &owner, &id).await?;
    values.retain(|(name, _)| KEPT_ACROSS_OPERATIONS.contains(&name.as_str()));
    let form = EditFormView::new(
        state.studio.operations(),
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
    // First, so that a browser without an identity is told to reload, as on every post.
    _: Owner,
    OwnedImage { owner, id }: OwnedImage,
    HxRequest(htmx): HxRequest,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let source = edit_source(&state, &owner, &id).await?;
    let prompt_chars = state.studio.operations().longest_prompt();
    let sent = match multipart::read(form, &[MASK, STYLE], MAX_EDIT_BODY_BYTES, prompt_chars).await
    {
        Ok(sent) => sent,
        Err(unreadable) => {
            let field = field_named(&unreadable.field);
            let errors = FieldErrors::single(field, unreadable.message);
            let status = unreadable.status;
            return Ok(invalid(&state, &source, Vec::new(), errors, htmx, status));
        }
    };
    let prepared = state
        .studio
        .prepare_edit(
            &owner,
            &id,
            &sent.fields,
            sent.file(MASK).cloned(),
            sent.file(STYLE).cloned(),
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let request = match prepared {
        Ok(request) => request,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(invalid(&state, &source, sent.fields, errors, htmx, status));
        }
    };
    let job = state.studio.submit_edit(&owner, &id, &request).await?;
    answer_accepted(&state, &owner, vec![job], Vec::new(), htmx).await
}

const MASK: &str = "mask";
const STYLE: &str = "style_image";

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

/// The owner's picture to edit, or "not found".
async fn edit_source(
    state: &AppState,
    owner: &OwnerId,
    id: &ImageId,
) -> Result<EditSource, AppError> {
    state
        .studio
        .edit_source(owner, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn invalid(
    state: &AppState,
    source: &EditSource,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    htmx: bool,
    status: StatusCode,
) -> Response {
    if htmx {
        let operations = state.studio.operations();
        let form = EditFormView::new(operations, source.record.id.to_string(), values, errors);
        return swap_form(render(status, &EditFormFragment { form }), "#edit-form");
    }
    render(status, &edit_page(state, source, values, errors))
}

fn edit_page(
    state: &AppState,
    source: &EditSource,
    values: Vec<(String, String)>,
    errors: FieldErrors,
) -> EditPage {
    let record = &source.record;
    let operations = state.studio.operations();
    EditPage {
        image: ImageView::from(record),
        width: source.width,
        height: source.height,
        form: EditFormView::new(operations, record.id.to_string(), values, errors),
        result: ResultView::default(),
    }
}
