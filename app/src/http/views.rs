//! What the templates show, built from the core's values. Templates stay free of logic beyond
//! loops and conditions.

use askama::Template;

use super::AppState;
use crate::{
    catalogue::{ModelSpec, Shapes},
    domain::{FieldErrors, GenerateForm},
    gallery::{GalleryPage, ImageRecord},
};

pub struct ModelOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
    pub disabled: bool,
    pub note: Option<String>,
}

pub struct ShapeOption {
    pub value: String,
    pub selected: bool,
}

/// Sizes of one aspect ratio, shown together in the size list.
pub struct ShapeGroup {
    pub label: String,
    pub options: Vec<ShapeOption>,
}

/// The generate form, with what the user typed and what was wrong with it.
pub struct FormView {
    pub models: Vec<ModelOption>,
    pub model: ModelSpec,
    pub values: GenerateForm,
    pub errors: FieldErrors,
    pub shape_label: &'static str,
    pub shape_groups: Vec<ShapeGroup>,
    pub counts: Vec<(u8, bool)>,
    pub qualities: Vec<(&'static str, bool)>,
    pub seed_fixed: bool,
    pub price_each: String,
    pub price_total: String,
    pub check_notice: Option<String>,
}

impl FormView {
    /// The form for `values` (empty fields take the chosen model's defaults).
    pub fn new(state: &AppState, values: GenerateForm, errors: FieldErrors) -> Self {
        let chosen = state
            .catalogue
            .get(values.model.trim())
            .filter(|m| state.models.availability(&m.id).is_usable() || !errors.is_empty())
            .unwrap_or_else(|| {
                state
                    .catalogue
                    .get(state.models.preferred())
                    .expect("the preferred model is in the catalogue")
            })
            .clone();
        let models = state
            .catalogue
            .models()
            .iter()
            .map(|m| {
                let availability = state.models.availability(&m.id);
                ModelOption {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    selected: m.id == chosen.id,
                    disabled: !availability.is_usable(),
                    note: availability.note(m.region(&state.bedrock_region)),
                }
            })
            .collect();
        let size = if values.size.trim().is_empty() {
            chosen.default_shape()
        } else {
            values.size.trim().to_owned()
        };
        let (shape_label, shape_groups) = shape_groups(&chosen, &size);
        let count: u8 = values.count.trim().parse().unwrap_or(1);
        let quality = values.quality.trim();
        let price = |n: f64| format!("${:.3}", chosen.price_per_image * n);
        Self {
            counts: (1..=chosen.max_images).map(|n| (n, n == count)).collect(),
            qualities: chosen
                .qualities
                .iter()
                .enumerate()
                .map(|(i, q)| (q.as_str(), q.as_str() == quality || (quality.is_empty() && i == 0)))
                .collect(),
            seed_fixed: values.seed_mode == "fixed",
            price_each: price(1.0),
            price_total: price(f64::from(count.clamp(1, chosen.max_images))),
            check_notice: state.models.check_failure().map(|_| {
                "Easel could not check which models Bedrock serves right now, so every configured model is offered.".to_owned()
            }),
            models,
            shape_label,
            shape_groups,
            model: chosen,
            values,
            errors,
        }
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    pub fn cfg_value(&self) -> String {
        match (self.values.cfg_scale.trim(), self.model.cfg_scale) {
            ("", Some(range)) => range.default.to_string(),
            (typed, _) => typed.to_owned(),
        }
    }
}

fn shape_groups(model: &ModelSpec, chosen: &str) -> (&'static str, Vec<ShapeGroup>) {
    match &model.shapes {
        Shapes::Sizes(sizes) => {
            let mut groups: Vec<ShapeGroup> = Vec::new();
            for size in sizes {
                let (w, h) = size.ratio();
                let label = format!("{w}:{h}");
                let option = ShapeOption {
                    value: size.to_string(),
                    selected: size.to_string() == chosen,
                };
                match groups.iter_mut().find(|g| g.label == label) {
                    Some(group) => group.options.push(option),
                    None => groups.push(ShapeGroup {
                        label,
                        options: vec![option],
                    }),
                }
            }
            ("Size", groups)
        }
        Shapes::AspectRatios(ratios) => (
            "Aspect ratio",
            vec![ShapeGroup {
                label: "Aspect ratio".into(),
                options: ratios
                    .iter()
                    .map(|r| ShapeOption {
                        value: r.to_string(),
                        selected: r.to_string() == chosen,
                    })
                    .collect(),
            }],
        ),
    }
}

/// One stored picture, as the result and the gallery show it.
pub struct ImageView {
    pub id: String,
    pub prompt: String,
    pub model_name: String,
    pub size: String,
    pub seed: u64,
    pub created: String,
}

impl From<&ImageRecord> for ImageView {
    fn from(record: &ImageRecord) -> Self {
        Self {
            id: record.id.to_string(),
            prompt: record.recipe.prompt.clone(),
            model_name: record.recipe.model_name.clone(),
            size: record.recipe.size.clone(),
            seed: record.recipe.seed,
            created: record
                .recipe
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

/// What one press of Generate gave: pictures, and plain sentences for what went wrong.
#[derive(Default)]
pub struct ResultView {
    pub images: Vec<ImageView>,
    pub messages: Vec<String>,
    pub price: Option<String>,
}

pub struct GalleryView {
    pub items: Vec<ImageView>,
    pub page: usize,
    pub has_more: bool,
    pub total: usize,
}

impl From<&GalleryPage> for GalleryView {
    fn from(page: &GalleryPage) -> Self {
        Self {
            items: page.records.iter().map(ImageView::from).collect(),
            page: page.page,
            has_more: page.has_more,
            total: page.total,
        }
    }
}

impl GalleryView {
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            page: 1,
            has_more: false,
            total: 0,
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub form: FormView,
    pub result: ResultView,
    pub gallery: GalleryView,
}

/// The generate form alone: swapped in when the model changes or a field is wrong.
#[derive(Template)]
#[template(path = "form.html")]
pub struct FormFragment {
    pub form: FormView,
}

/// The result of a generation, with the refreshed gallery swapped in out of band.
#[derive(Template)]
#[template(path = "result.html")]
pub struct ResultFragment {
    pub result: ResultView,
    pub gallery: GalleryView,
}

#[derive(Template)]
#[template(path = "gallery.html")]
pub struct GalleryFragment {
    pub gallery: GalleryView,
}

#[derive(Template)]
#[template(path = "image.html")]
pub struct PermalinkPage {
    pub image: ImageView,
    pub record: ImageRecord,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}
