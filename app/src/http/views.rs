//! What the templates show, built from the core's values. Templates stay free of logic beyond
//! loops and conditions.

use askama::Template;

use super::{api_commands::ApiCommands, share_views::SharingView};

use crate::{
    catalogue::{ModelSpec, Operations, Shapes},
    domain::{FieldErrors, GenerateForm},
    studio::{
        Caps, GalleryPage, ImageId, ImageRecord, JobState, JobStatus, Lineage, Origin, Sighting,
        Spending, Studio, Work, sentences,
    },
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
    /// Usable models other than the chosen one, to compare with.
    pub compare_options: Vec<ModelOption>,
}

impl FormView {
    /// The form for `values` (empty fields take the chosen model's defaults).
    pub fn new(studio: &Studio, values: GenerateForm, errors: FieldErrors) -> Self {
        let catalogue = studio.catalogue();
        let chosen = catalogue
            .get(values.model.trim())
            .filter(|m| studio.model_state(&m.id).is_usable() || !errors.is_empty())
            .unwrap_or_else(|| {
                catalogue
                    .get(studio.preferred_model())
                    .expect("the preferred model is in the catalogue")
            })
            .clone();
        let models = catalogue
            .models()
            .iter()
            .map(|m| {
                let availability = studio.model_state(&m.id);
                ModelOption {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    selected: m.id == chosen.id,
                    disabled: !availability.is_usable(),
                    note: availability.note(m.region(studio.bedrock_region())),
                }
            })
            .collect::<Vec<ModelOption>>();
        let compare_options = models
            .iter()
            .filter(|m: &&ModelOption| !m.disabled && m.id != chosen.id)
            .map(|m| ModelOption {
                id: m.id.clone(),
                name: m.name.clone(),
                selected: false,
                disabled: false,
                note: None,
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
            check_notice: studio.model_check_failure().map(|_| {
                "Easel could not check which models Bedrock serves right now, so every configured model is offered.".to_owned()
            }),
            models,
            compare_options,
            shape_label,
            shape_groups,
            model: chosen,
            values,
            errors,
        }
    }

    /// The model picked in one of the compare selects.
    pub fn values_compare(&self, name: &str) -> &str {
        match name {
            "compare_a" => &self.values.compare_a,
            _ => &self.values.compare_b,
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
    /// Its prompt, or what made it when it has none.
    pub prompt: String,
    /// "SD3.5 Large · 1024x1024 · seed 7", "Uploaded · 800x600", …
    pub details: String,
    pub created: String,
    /// Where "Reuse settings" leads: the studio form, or for an edit its source's edit form.
    /// An upload has no settings.
    pub reuse: Option<String>,
}

impl From<&ImageRecord> for ImageView {
    fn from(record: &ImageRecord) -> Self {
        let recipe = &record.recipe;
        let (made_by, reuse) = match &recipe.origin {
            Origin::Generated => (
                recipe.model_name.clone(),
                Some(format!("/?reuse={}", record.id)),
            ),
            Origin::Uploaded => ("Uploaded picture".to_owned(), None),
            Origin::Edited(edit) => (
                edit.operation_name.clone(),
                Some(reuse_edit(&edit.source, &record.id)),
            ),
        };
        let mut details = format!("{} · {}", recipe.model_name, recipe.size);
        // Operations without a seed store none.
        let seeded = match recipe.origin {
            Origin::Generated => true,
            Origin::Uploaded => false,
            Origin::Edited(_) => recipe.seed != 0,
        };
        if seeded {
            details.push_str(&format!(" · seed {}", recipe.seed));
        }
        Self {
            id: record.id.to_string(),
            prompt: if recipe.prompt.is_empty() {
                made_by
            } else {
                recipe.prompt.clone()
            },
            details,
            created: recipe
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            reuse,
        }
    }
}

/// The edit form of `source`, filled with the settings that made `edit`.
pub fn reuse_edit(source: &ImageId, edit: &ImageId) -> String {
    format!("/images/{source}/edit?reuse={edit}")
}

/// One picture of a job, as its card shows it.
pub struct JobPicture {
    pub id: String,
    pub seed: u64,
    /// Where "Reuse settings" leads (see [`ImageView::reuse`]).
    pub reuse: String,
}

/// One job's card: what was asked, where it stands, what it made and cost.
pub struct JobView {
    pub id: String,
    pub prompt: String,
    pub model_name: String,
    pub state: &'static str,
    /// "Queued: 2 ahead of you", "Running", "Done", …
    pub status: String,
    /// "1 of 4 pictures done", while it runs.
    pub progress: Option<String>,
    pub elapsed_secs: i64,
    pub running: bool,
    pub live: bool,
    pub cancellable: bool,
    pub pictures: Vec<JobPicture>,
    pub messages: Vec<String>,
    pub notes: Vec<String>,
    /// "Up to $0.16" while it may still cost that, "Cost $0.08" once it has ended.
    pub cost: String,
}

impl JobView {
    pub fn new(studio: &Studio, status: &JobStatus) -> Self {
        let job = &status.job;
        let now = time::OffsetDateTime::now_utc();
        let status_line = match job.state {
            JobState::Queued => match status.ahead {
                Some(0) => "Queued: next in line".to_owned(),
                Some(ahead) => format!("Queued: {ahead} ahead of you"),
                None => "Queued".to_owned(),
            },
            JobState::Running if job.retrying => "Bedrock is busy, retrying".to_owned(),
            JobState::Running => "Running".to_owned(),
            JobState::Done => "Done".to_owned(),
            JobState::Failed => "Failed".to_owned(),
            JobState::Cancelled => "Cancelled".to_owned(),
        };
        let mut notes: Vec<String> = job.note.iter().cloned().collect();
        if status.sighting == Sighting::EndedWhileAway {
            notes.insert(0, "Finished while you were away.".to_owned());
        }
        let made = job.pictures.len();
        let asked = usize::from(job.count);
        if job.state.is_final() && made > 0 && made < asked {
            notes.push(format!("{made} of {asked} {} were made.", pictures(asked)));
        }
        // Shown once already: the gallery has them, and loading them again on every visit costs
        // the page its byte budget.
        let shown_pictures = match status.sighting {
            Sighting::SeenBefore if made > 0 => {
                notes.push(format!("Its {made} {} in the gallery.", are(made)));
                &[][..]
            }
            _ => &job.pictures[..],
        };
        // An edit is called in the Bedrock region; another operation is no fix for it.
        let catalogue = studio.catalogue();
        let called = match &job.work {
            Work::Generate(_) => catalogue.get(&job.model_id).map(|model| {
                let instead = catalogue
                    .get(studio.preferred_model())
                    .filter(|m| m.id != model.id)
                    .map(|m| m.name.as_str());
                (model.region(studio.bedrock_region()), instead)
            }),
            Work::Edit(_) => Some((studio.bedrock_region(), None)),
        };
        let messages = match called {
            Some((region, instead)) => {
                let mut messages: Vec<String> = Vec::new();
                for problem in &job.problems {
                    let sentence = sentences::problem(problem, &job.model_name, region, instead);
                    if !messages.contains(&sentence) {
                        messages.push(sentence);
                    }
                }
                messages
            }
            None => job
                .problems
                .iter()
                .map(|_| sentences::MODEL_GONE.to_owned())
                .collect(),
        };
        Self {
            id: job.id.to_string(),
            prompt: job.prompt().to_owned(),
            model_name: job.model_name.clone(),
            state: job.state.as_str(),
            status: status_line,
            progress: (job.state == JobState::Running)
                .then(|| format!("{made} of {asked} {} done", pictures(asked))),
            elapsed_secs: job.elapsed_secs(now),
            running: job.state == JobState::Running,
            live: !job.state.is_final(),
            cancellable: !job.state.is_final(),
            pictures: shown_pictures
                .iter()
                .map(|p| JobPicture {
                    id: p.image.to_string(),
                    seed: p.seed,
                    reuse: match &job.work {
                        Work::Generate(_) => format!("/?reuse={}", p.image),
                        Work::Edit(edit) => reuse_edit(&edit.source, &p.image),
                    },
                })
                .collect(),
            messages,
            notes,
            cost: match job.cost {
                Some(cost) => format!("Cost {cost}"),
                None => format!("Up to {}", job.reservation.amount),
            },
        }
    }
}

fn are(n: usize) -> &'static str {
    if n == 1 { "picture is" } else { "pictures are" }
}

fn pictures(n: usize) -> &'static str {
    if n == 1 { "picture" } else { "pictures" }
}

/// The jobs listed in `#result`, newest first, with any sentence for a request just refused.
#[derive(Default)]
pub struct ResultView {
    pub jobs: Vec<JobView>,
    pub messages: Vec<String>,
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

/// What this browser has spent today, against its cap.
pub struct SpendView {
    pub spent: String,
    pub cap: Option<String>,
}

impl SpendView {
    pub fn new(spent: Spending, caps: Caps) -> Self {
        Self {
            spent: spent.committed.to_string(),
            cap: caps.daily_per_browser.map(|cap| cap.to_string()),
        }
    }
}

/// What else on the page a job changes, swapped in out of band: the spending line once the job
/// is accepted, and the gallery holding its pictures once it has ended.
#[derive(Template)]
#[template(path = "refreshed.html")]
pub struct Refreshed {
    pub gallery: Option<GalleryRefresh>,
    pub spend: Option<SpendView>,
}

/// The gallery's count, swapped in after a picture has gone.
#[derive(Template)]
#[template(path = "gallery_total.html")]
pub struct GalleryTotal {
    pub total: usize,
}

/// How the gallery's first page takes in the pictures of jobs that have just ended.
pub enum GalleryRefresh {
    /// The whole page: it had no pictures yet, or has just grown a second page.
    Whole(GalleryView),
    /// Only what changed: the new cards on top, the ones they pushed to the second page
    /// taken off, and the new count; a browser showing another page keeps it as it is.
    Added {
        added: Vec<ImageView>,
        dropped: Vec<String>,
        total: usize,
    },
}

impl GalleryRefresh {
    /// `page` is the first page read `added.len()` entries longer than `per_page`, so that
    /// it also holds the entries the new ones pushed off.
    pub fn new(page: &GalleryPage, per_page: usize, added: &[ImageId]) -> Self {
        let shown = page.records.len().min(per_page);
        let had = page.total.saturating_sub(added.len());
        if had == 0 || (had <= per_page && page.total > per_page) {
            return Self::Whole(GalleryView {
                items: page.records[..shown].iter().map(ImageView::from).collect(),
                page: 1,
                has_more: page.total > per_page,
                total: page.total,
            });
        }
        Self::Added {
            added: page.records[..shown]
                .iter()
                .filter(|r| added.contains(&r.id))
                .map(ImageView::from)
                .collect(),
            dropped: page.records[shown..]
                .iter()
                .map(|r| r.id.to_string())
                .collect(),
            total: page.total,
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub form: FormView,
    pub upload: super::edit_views::UploadView,
    pub result: ResultView,
    pub gallery: GalleryView,
    pub spend: Option<SpendView>,
}

/// One job's card, live while it has not ended.
#[derive(Template)]
#[template(path = "job_live.html")]
pub struct JobFragment {
    pub job: JobView,
}

/// A job's card as pushed to the page, with the gallery once the job has ended.
#[derive(Template)]
#[template(path = "job_update.html")]
pub struct JobUpdate {
    pub job: JobView,
    pub gallery: Option<GalleryRefresh>,
    pub spend: Option<SpendView>,
}

/// Sentences for a request that was not accepted, put on top of `#result`.
#[derive(Template)]
#[template(
    source = "{% for m in messages %}<p class=\"error message\" role=\"alert\">{{ m }}</p>{% endfor %}",
    ext = "html"
)]
pub struct RefusalFragment {
    pub messages: Vec<String>,
}

/// A job's own page: where a browser without JavaScript is sent, refreshing until it ends.
#[derive(Template)]
#[template(path = "job_page.html")]
pub struct JobPage {
    pub job: JobView,
}

/// The generate form alone: swapped in when the model changes or a field is wrong.
#[derive(Template)]
#[template(path = "form.html")]
pub struct FormFragment {
    pub form: FormView,
}

/// The form that reads a picture's recipe, with what was wrong with the last one.
#[derive(Template)]
#[template(path = "recipe.html")]
pub struct RecipeFragment {
    pub error: Option<String>,
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
    pub made_from: Option<MadeFrom>,
    /// An edit's own settings, labelled as its form labels them.
    pub settings: Vec<(String, String)>,
    /// The pictures made from this one, newest first.
    pub edits: Vec<ImageView>,
    pub sharing: SharingView,
    /// The calls that make it again; only a generated picture has them.
    pub api: Option<ApiCommands>,
}

/// The picture an edit was made from, and by what.
pub struct MadeFrom {
    pub id: String,
    pub operation: String,
    /// Whether it is still in the gallery.
    pub kept: bool,
}

impl PermalinkPage {
    pub fn new(
        operations: &Operations,
        Lineage {
            record,
            source_kept,
            edits,
        }: Lineage,
        sharing: SharingView,
        api: Option<ApiCommands>,
    ) -> Self {
        let edit = record.recipe.origin.edit();
        let settings = edit
            .map(|edit| {
                let spec = operations.get(&edit.operation);
                edit.form
                    .iter()
                    .filter_map(|(name, value)| {
                        let label = spec?.params.iter().find(|p| p.param.name() == name)?;
                        Some((label.label.clone(), value.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            image: ImageView::from(&record),
            made_from: edit.map(|edit| MadeFrom {
                id: edit.source.to_string(),
                operation: edit.operation_name.clone(),
                kept: source_kept,
            }),
            settings,
            edits: edits.iter().map(ImageView::from).collect(),
            record,
            sharing,
            api,
        }
    }

    pub fn uploaded(&self) -> bool {
        matches!(self.record.recipe.origin, Origin::Uploaded)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
    /// Offer to sign in (again) instead of going back to the studio.
    pub sign_in: bool,
}
