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
    upload::a1111,
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
    let found = match multipart::read(form, &[PICTURE], MAX_UPLOAD_BODY_BYTES).await {
        Ok(sent) => sent.file(PICTURE).and_then(|png| found(png)),
        Err(unreadable) => {
            let fragment = RecipeFragment {
                error: Some(unreadable.message),
            };
            return Ok(swap_form(
                render(unreadable.status, &fragment),
                "#recipe-form",
            ));
        }
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
        None => {
            let fragment = RecipeFragment {
                error: Some(sentences::NO_RECIPE.to_owned()),
            };
            let response = render(StatusCode::UNPROCESSABLE_ENTITY, &fragment);
            Ok(swap_form(response, "#recipe-form"))
        }
    }
}

fn found(png: &[u8]) -> Option<Found> {
    if let Some(recipe) = recipe_in(png) {
        return match &recipe.origin {
            Origin::Generated => Some(Found::Generate(Box::new(form_from(&recipe)))),
            Origin::Uploaded => None,
            Origin::Edited(edit) => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&edit.form)
                    .finish();
                Some(Found::Edit(format!("/images/{}/edit?{query}", edit.source)))
            }
        };
    }
    let recipe = a1111::recipe(png)?;
    Some(Found::Generate(Box::new(GenerateForm {
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
    })))
}
