//! `POST /recipe`: a picture dropped on the page (or picked) fills the form with the recipe it
//! carries. Easel's own PNGs fill every field (an edit opens its source's edit form), and
//! AUTOMATIC1111's `parameters` chunk fills the prompts and the seed.

use axum::{
    extract::{Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
    response::Response,
};

use super::{
    AppError, AppState,
    answer::{go_to, swap_form},
    error::render,
    extract::{HxRequest, Owner},
    multipart,
    pages::{form_from, index_page},
    uploads::MAX_UPLOAD_BODY_BYTES,
    views::{FormFragment, FormView, RecipeFragment, ResultView},
};
use crate::{
    domain::{FieldErrors, GenerateForm},
    studio::{Origin, recipe_in, sentences},
    upload::{TooMuchText, a1111, recipe_text},
};

const PICTURE: &str = "recipe_file";

/// What a dropped picture asks for.
enum Found {
    Generate(Box<GenerateForm>),
    /// An edit: its source's edit form, filled in.
    Edit(String),
}

pub async fn restore(
    State(state): State<AppState>,
    Owner(owner): Owner,
    HxRequest(htmx): HxRequest,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let found = match multipart::read(form, &[PICTURE], MAX_UPLOAD_BODY_BYTES, 0).await {
        Ok(sent) => match sent.file(PICTURE).map(|png| found(png)).transpose() {
            Ok(found) => found.flatten(),
            Err(too_much) => {
                return Ok(refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    too_much.to_string(),
                ));
            }
        },
        Err(unreadable) => return Ok(refused(unreadable.status, unreadable.message)),
    };
    match found {
        Some(Found::Generate(values)) if htmx => {
            let form = FormView::new(&state.studio, *values, FieldErrors::default());
            Ok(swap_form(
                render(StatusCode::OK, &FormFragment { form }),
                "#generate-form",
            ))
        }
        Some(Found::Generate(values)) => {
            let result = ResultView::default();
            let errors = FieldErrors::default();
            index_page(&state, &owner, *values, errors, result, StatusCode::OK, 1).await
        }
        Some(Found::Edit(url)) => Ok(go_to(&url, htmx, StatusCode::OK)),
        None => Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            sentences::NO_RECIPE.to_owned(),
        )),
    }
}

/// The recipe field again with `message`: the picture's text is not shown.
fn refused(status: StatusCode, message: String) -> Response {
    let fragment = RecipeFragment {
        error: Some(message),
    };
    swap_form(render(status, &fragment), "#recipe-form")
}

fn found(png: &[u8]) -> Result<Option<Found>, TooMuchText> {
    let text = recipe_text(png)?;
    if let Some(recipe) = recipe_in(&text) {
        return Ok(match &recipe.origin {
            Origin::Generated => Some(Found::Generate(Box::new(form_from(&recipe)))),
            Origin::Uploaded => None,
            Origin::Edited(edit) => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&edit.form)
                    .finish();
                Some(Found::Edit(format!("/images/{}/edit?{query}", edit.source)))
            }
        });
    }
    let Some(recipe) = a1111::recipe(&text) else {
        return Ok(None);
    };
    Ok(Some(Found::Generate(Box::new(GenerateForm {
        prompt: recipe.prompt,
        negative_prompt: recipe.negative_prompt,
        seed_mode: if recipe.seed.is_some() {
            "fixed"
        } else {
            "random"
        }
        .to_owned(),
        seed: recipe.seed.map(|seed| seed.to_string()).unwrap_or_default(),
        ..GenerateForm::default()
    }))))
}
