use axum::{
    Extension,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use axum_extra::extract::SignedCookieJar;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{
    AppError, AppState,
    api_commands::ApiCommands,
    edit_views::UploadView,
    error::render,
    extract::{HxRequest, OwnedImage, Owner},
    identity,
    origin::origin,
    share_views::{ShareRow, SharingView},
    views::{
        FormFragment, FormView, GalleryFragment, GalleryView, IndexPage, JobView, PermalinkPage,
        ResultView, SpendView,
    },
};
use crate::{
    domain::{FieldErrors, GenerateForm},
    identity::{OwnerId, Person},
    studio::{ImageId, Recipe},
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IndexQuery {
    /// Preselect this model (the no-JavaScript way to switch the form's fields).
    model: String,
    /// Refill the form with this image's recipe ("reuse settings").
    reuse: String,
    page: Option<usize>,
}

/// `GET /`: the form, an empty result and the first page of this browser's (or this signed-in
/// person's) gallery.
pub async fn index(
    State(state): State<AppState>,
    person: Option<Extension<Person>>,
    jar: SignedCookieJar,
    Query(query): Query<IndexQuery>,
) -> Result<(SignedCookieJar, Response), AppError> {
    let (jar, owner) = match person {
        Some(Extension(person)) => (jar, person.owner),
        None => identity::owner_or_new(jar, state.secure_cookie),
    };
    let values = match ImageId::parse(&query.reuse) {
        Some(id) => match state.studio.record(&owner, &id).await? {
            Some(record) => form_from(&record.recipe),
            None => return Err(AppError::NotFound),
        },
        None => GenerateForm {
            model: query.model,
            ..GenerateForm::default()
        },
    };
    let jobs = state.studio.recent(&owner).await?;
    let result = ResultView {
        jobs: jobs
            .iter()
            .map(|j| JobView::new(&state.studio, j))
            .collect(),
        messages: Vec::new(),
    };
    let page = query.page.unwrap_or(1).max(1);
    let response = index_page(
        &state,
        &owner,
        values,
        FieldErrors::default(),
        result,
        StatusCode::OK,
        page,
    )
    .await?;
    Ok((jar, response))
}

/// The whole studio page: the form as given, `result` in `#result`, page `gallery_page` of the
/// gallery and what the browser has spent today.
pub async fn index_page(
    state: &AppState,
    owner: &OwnerId,
    values: GenerateForm,
    errors: FieldErrors,
    result: ResultView,
    status: StatusCode,
    gallery_page: usize,
) -> Result<Response, AppError> {
    let studio = &state.studio;
    let (gallery, spent) = futures::try_join!(
        studio.gallery(owner, gallery_page, state.page_size),
        studio.spent_today(owner),
    )?;
    let page = IndexPage {
        form: FormView::new(studio, values, errors),
        upload: UploadView::new(None),
        result,
        gallery: GalleryView::from(&gallery),
        spend: Some(SpendView::new(spent, studio.caps())),
    };
    Ok(render(status, &page))
}

/// The form filled in as `recipe` was made, with its seed fixed so it can be made again.
pub(super) fn form_from(recipe: &Recipe) -> GenerateForm {
    GenerateForm {
        model: recipe.model_id.clone(),
        prompt: recipe.prompt.clone(),
        negative_prompt: recipe.negative_prompt.clone().unwrap_or_default(),
        size: recipe.size.clone(),
        count: "1".into(),
        cfg_scale: recipe.cfg_scale.map(|c| c.to_string()).unwrap_or_default(),
        quality: recipe.quality.clone().unwrap_or_default(),
        seed_mode: "fixed".into(),
        seed: recipe.seed.to_string(),
        ..GenerateForm::default()
    }
}

/// `GET /form-fields?model=…`: the form again for another model, keeping what was typed.
pub async fn form_fields(
    State(state): State<AppState>,
    Query(values): Query<GenerateForm>,
) -> Response {
    let values = GenerateForm {
        // The old model's size, count and seed range may not fit the new one.
        size: String::new(),
        cfg_scale: String::new(),
        quality: String::new(),
        ..values
    };
    render(
        StatusCode::OK,
        &FormFragment {
            form: FormView::new(&state.studio, values, FieldErrors::default()),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct GalleryQuery {
    page: Option<usize>,
}

/// `GET /gallery?page=N`: one page of the gallery; the whole page without htmx.
pub async fn gallery(
    State(state): State<AppState>,
    HxRequest(htmx): HxRequest,
    owner: Option<Owner>,
    Query(query): Query<GalleryQuery>,
) -> Result<Response, AppError> {
    let page_number = query.page.unwrap_or(1).max(1);
    let gallery = match owner {
        Some(Owner(owner)) => GalleryView::from(
            &state
                .studio
                .gallery(&owner, page_number, state.page_size)
                .await?,
        ),
        None => GalleryView::empty(),
    };
    if htmx {
        return Ok(render(StatusCode::OK, &GalleryFragment { gallery }));
    }
    let page = IndexPage {
        form: FormView::new(
            &state.studio,
            GenerateForm::default(),
            FieldErrors::default(),
        ),
        upload: UploadView::new(None),
        result: ResultView::default(),
        gallery,
        spend: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /images/{id}`: one picture with its full recipe, its share links and its API call.
pub async fn permalink(
    State(state): State<AppState>,
    headers: HeaderMap,
    OwnedImage { owner, id }: OwnedImage,
) -> Result<Response, AppError> {
    permalink_page(&state, &headers, &owner, &id, None).await
}

/// The picture's page, with `new_link` shown when a share link was just made.
pub(super) async fn permalink_page(
    state: &AppState,
    headers: &HeaderMap,
    owner: &OwnerId,
    id: &ImageId,
    new_link: Option<String>,
) -> Result<Response, AppError> {
    let studio = &state.studio;
    let (lineage, shares) = futures::try_join!(
        studio.lineage(owner, id),
        studio.shares(owner, id, OffsetDateTime::now_utc()),
    )?;
    let lineage = lineage.ok_or(AppError::NotFound)?;
    let origin = origin(state, headers);
    let api = ApiCommands::for_recipe(&lineage.record.recipe, &origin);
    let sharing = SharingView {
        new_link,
        links: shares.iter().map(ShareRow::from).collect(),
    };
    let page = PermalinkPage::new(studio.operations(), lineage, sharing, api);
    Ok(render(StatusCode::OK, &page))
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
