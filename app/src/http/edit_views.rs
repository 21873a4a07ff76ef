//! What the edit page and the upload form show, built from the operations' specs.

use askama::Template;

use super::views::{ImageView, ResultView};
use crate::{
    catalogue::{OperationSpec, Operations, ParamRule, PromptUse},
    domain::{Field, FieldErrors},
    upload::PictureLimits,
};

/// The operation the edit page opens with when none is asked for.
const FIRST_OPERATION: &str = "inpaint";

/// One of the chosen operation's own settings, ready for its input.
pub struct ParamField {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub min: String,
    pub max: String,
    pub step: &'static str,
    pub value: String,
    /// A choice's options, with whether each is picked.
    pub options: Vec<(String, bool)>,
    pub error: Option<String>,
}

/// The edit form for one picture: the operation chosen, only its fields, what was typed and
/// what was wrong with it.
pub struct EditFormView {
    pub image_id: String,
    pub operations: Vec<(&'static str, String, bool)>,
    pub spec: OperationSpec,
    pub prompt_required: bool,
    pub takes_prompt: bool,
    pub params: Vec<ParamField>,
    pub seed: Option<(u64, u64)>,
    pub seed_fixed: bool,
    pub price: String,
    /// "Takes pictures from 64×64 up to 9.4 megapixels."
    pub input_note: String,
    values: Vec<(String, String)>,
    errors: FieldErrors,
}

impl EditFormView {
    /// The form for `values` (the operation named there, or the first, and empty fields at
    /// their defaults).
    pub fn new(
        operations: &Operations,
        image_id: String,
        values: Vec<(String, String)>,
        errors: FieldErrors,
    ) -> Self {
        let chosen = value(&values, Field::Operation.name()).trim();
        let spec = operations
            .get(chosen)
            .or_else(|| operations.get(FIRST_OPERATION))
            .or_else(|| operations.all().first())
            .expect("the catalogue has operations")
            .clone();
        let params = spec
            .params
            .iter()
            .map(|param| {
                let name = param.param.name();
                let typed = value(&values, name).trim().to_owned();
                let (kind, min, max, step, default, options) = match &param.rule {
                    ParamRule::Whole { min, max, default } => (
                        "whole",
                        min.to_string(),
                        max.to_string(),
                        "1",
                        default.to_string(),
                        Vec::new(),
                    ),
                    ParamRule::Number { min, max, default } => (
                        "number",
                        min.to_string(),
                        max.to_string(),
                        "0.01",
                        default.to_string(),
                        Vec::new(),
                    ),
                    ParamRule::Text => (
                        "text",
                        String::new(),
                        String::new(),
                        "",
                        String::new(),
                        Vec::new(),
                    ),
                    ParamRule::Choice(options) => (
                        "choice",
                        String::new(),
                        String::new(),
                        "",
                        String::new(),
                        options
                            .iter()
                            .map(|option| (option.clone(), *option == typed))
                            .collect(),
                    ),
                };
                ParamField {
                    name,
                    label: param.label.clone(),
                    kind,
                    min,
                    max,
                    step,
                    value: if typed.is_empty() { default } else { typed },
                    options,
                    error: errors.get(name).map(str::to_owned),
                }
            })
            .collect();
        Self {
            image_id,
            operations: operations
                .all()
                .iter()
                .map(|op| (op.id(), op.name.clone(), op.id() == spec.id()))
                .collect(),
            prompt_required: spec.prompt == PromptUse::Required,
            takes_prompt: spec.prompt != PromptUse::None,
            params,
            seed: spec.seeds().map(|seeds| (*seeds.start(), *seeds.end())),
            seed_fixed: value(&values, "seed_mode") == "fixed",
            price: format!("${:.3}", spec.price_per_image),
            input_note: input_note(&spec.input),
            spec,
            values,
            errors,
        }
    }

    pub fn value(&self, name: &str) -> &str {
        value(&self.values, name)
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn value<'a>(values: &'a [(String, String)], name: &str) -> &'a str {
    values
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn input_note(limits: &PictureLimits) -> String {
    format!(
        "Takes pictures from {side}×{side} up to {mp:.1} megapixels.",
        side = limits.min_side,
        mp = limits.max_pixels as f64 / 1e6
    )
}

/// A picture's page to edit it: the picture large, the form, and the jobs it starts.
#[derive(Template)]
#[template(path = "edit.html")]
pub struct EditPage {
    pub image: ImageView,
    pub width: u32,
    pub height: u32,
    pub form: EditFormView,
    pub result: ResultView,
}

/// The edit form alone: swapped in when the operation changes or a field is wrong.
#[derive(Template)]
#[template(path = "edit_form.html")]
pub struct EditFormFragment {
    pub form: EditFormView,
}

/// The form to upload a picture of one's own, with what was wrong with the last one.
pub struct UploadView {
    pub error: Option<String>,
    pub max_mb: usize,
}

impl UploadView {
    pub fn new(error: Option<String>) -> Self {
        Self {
            error,
            max_mb: PictureLimits::EDIT.max_bytes / (1024 * 1024),
        }
    }
}

#[derive(Template)]
#[template(path = "upload.html")]
pub struct UploadFragment {
    pub upload: UploadView,
}

/// The upload form on a page of its own, for a browser without JavaScript.
#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}<section class=\"compose\">{% include \"upload.html\" %}</section>{% endblock %}",
    ext = "html"
)]
pub struct UploadPage {
    pub upload: UploadView,
}
