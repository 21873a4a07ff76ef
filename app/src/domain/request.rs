use serde::{Deserialize, Serialize};

use super::{Prompt, Seed};
use crate::catalogue::{Catalogue, ModelSpec, Param, Quality, Shape, Shapes};

/// The generate form exactly as the browser sent it: text only, nothing trusted yet.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct GenerateForm {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub size: String,
    pub count: String,
    pub cfg_scale: String,
    pub quality: String,
    /// "random" (Easel draws a seed) or "fixed" (use `seed`).
    pub seed_mode: String,
    pub seed: String,
    /// Up to two more models to run the same prompt on, side by side.
    pub compare_a: String,
    pub compare_b: String,
}

/// A form field, named as in the page, so a message can stand next to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Model,
    Prompt,
    NegativePrompt,
    Size,
    Count,
    CfgScale,
    Quality,
    Seed,
    Compare,
    /// The edit form's fields.
    Operation,
    /// The picture to edit.
    Image,
    Mask,
    /// The second picture, whose style an operation applies.
    StyleImage,
    /// Outpaint's four sides together.
    Sides,
    /// A setting of the chosen operation's own.
    Param(Param),
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Model => "model",
            Field::Prompt => "prompt",
            Field::NegativePrompt => "negative_prompt",
            Field::Size => "size",
            Field::Count => "count",
            Field::CfgScale => "cfg_scale",
            Field::Quality => "quality",
            Field::Seed => "seed",
            Field::Compare => "compare",
            Field::Operation => "operation",
            Field::Image => "image",
            Field::Mask => "mask",
            Field::StyleImage => "style_image",
            Field::Sides => "sides",
            Field::Param(param) => param.name(),
        }
    }
}

/// Every problem found in one form, each tied to its field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(Vec<(Field, String)>);

impl FieldErrors {
    pub fn single(field: Field, message: impl Into<String>) -> Self {
        Self(vec![(field, message.into())])
    }

    /// Notes a problem found outside the domain's own parsers (a picture that did not decode).
    pub fn add(&mut self, field: Field, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f.name() == name)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }

    pub(super) fn check<T>(&mut self, field: Field, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.0.push((field, m))).ok()
    }
}

/// How many pictures one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageCount(u8);

impl ImageCount {
    pub fn parse(raw: &str, max: u8) -> Result<Self, String> {
        let message = || format!("Choose from 1 to {max} images.");
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self(1));
        }
        match raw.parse::<u8>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Self(n)),
            _ => Err(message()),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A request that obeys every rule of the model it names.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub model: ModelSpec,
    pub prompt: Prompt,
    pub negative_prompt: Option<Prompt>,
    pub shape: Shape,
    pub count: ImageCount,
    pub cfg_scale: Option<f32>,
    pub quality: Option<Quality>,
    pub seed: Seed,
}

impl GenerationRequest {
    pub fn parse(form: &GenerateForm, catalogue: &Catalogue) -> Result<Self, FieldErrors> {
        let Some(model) = catalogue.get(form.model.trim()) else {
            return Err(FieldErrors::single(
                Field::Model,
                "Choose one of the listed models.",
            ));
        };
        let mut errors = FieldErrors::default();
        let prompt = errors.check(
            Field::Prompt,
            Prompt::parse(&form.prompt, model.max_prompt_chars, "prompt"),
        );
        let negative_prompt = if form.negative_prompt.trim().is_empty() {
            Some(None)
        } else if model.negative_prompt {
            errors.check(
                Field::NegativePrompt,
                Prompt::parse(
                    &form.negative_prompt,
                    model.max_prompt_chars,
                    "negative prompt",
                )
                .map(Some),
            )
        } else {
            errors.check(
                Field::NegativePrompt,
                Err(format!("{} takes no negative prompt.", model.name)),
            )
        };
        let shape = errors.check(Field::Size, parse_shape(&form.size, model));
        let count = errors.check(
            Field::Count,
            ImageCount::parse(&form.count, model.max_images),
        );
        let cfg_scale = errors.check(Field::CfgScale, parse_cfg(&form.cfg_scale, model));
        let quality = errors.check(Field::Quality, parse_quality(&form.quality, model));
        let seed = errors.check(
            Field::Seed,
            Seed::from_form(&form.seed_mode, &form.seed, model.seed_min, model.seed_max),
        );
        match (
            prompt,
            negative_prompt,
            shape,
            count,
            cfg_scale,
            quality,
            seed,
        ) {
            (
                Some(prompt),
                Some(negative_prompt),
                Some(shape),
                Some(count),
                Some(cfg_scale),
                Some(quality),
                Some(seed),
            ) if errors.is_empty() => Ok(Self {
                model: model.clone(),
                prompt,
                negative_prompt,
                shape,
                count,
                cfg_scale,
                quality,
                seed,
            }),
            _ => Err(errors),
        }
    }

    /// The form that asks for exactly this request again, its seed fixed: what a job keeps,
    /// so any process can run it the same way.
    pub fn to_form(&self) -> GenerateForm {
        GenerateForm {
            model: self.model.id.clone(),
            prompt: self.prompt.to_string(),
            negative_prompt: self
                .negative_prompt
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            size: self.shape.to_string(),
            count: self.count.get().to_string(),
            cfg_scale: self.cfg_scale.map(|c| c.to_string()).unwrap_or_default(),
            quality: self
                .quality
                .map(|q| q.as_str().to_owned())
                .unwrap_or_default(),
            seed_mode: "fixed".to_owned(),
            seed: self.seed.value().to_string(),
            ..GenerateForm::default()
        }
    }

    /// The same request on another model, for a side-by-side comparison: the nearest shape that
    /// model makes, at most as many pictures as it makes, its own defaults for settings it alone
    /// has. The note says what had to change.
    pub fn for_model(
        &self,
        other: &str,
        catalogue: &Catalogue,
    ) -> Result<(GenerationRequest, Option<String>), FieldErrors> {
        let Some(model) = catalogue.get(other) else {
            return Err(FieldErrors::single(
                Field::Compare,
                "Choose one of the listed models to compare with.",
            ));
        };
        let shape = nearest_shape(self.shape, &model.shapes);
        let mut form = self.to_form();
        form.model = model.id.clone();
        form.size = shape.to_string();
        form.count = self.count.get().min(model.max_images).to_string();
        form.cfg_scale.clear();
        form.quality.clear();
        if !model.negative_prompt {
            form.negative_prompt.clear();
        }
        form.seed = self
            .seed
            .value()
            .clamp(model.seed_min, model.seed_max)
            .to_string();
        let request = GenerationRequest::parse(&form, catalogue).map_err(|errors| {
            let why: Vec<&str> = errors.iter().map(|(_, m)| m).collect();
            FieldErrors::single(Field::Compare, why.join(" "))
        })?;
        let note = (shape.to_string() != self.shape.to_string()).then(|| {
            format!(
                "{} made {shape}: the nearest {} it offers to {}.",
                model.name,
                shape_word(shape),
                self.shape
            )
        });
        Ok((request, note))
    }

    /// The price of this request in USD, as shown next to Generate and stored in each recipe.
    pub fn price_usd(&self) -> f64 {
        self.model.price_per_image * f64::from(self.count.get())
    }
}

/// The model's option whose width-to-height ratio is closest to `shape`'s.
pub fn nearest_shape(shape: Shape, shapes: &Shapes) -> Shape {
    let ratio = |(w, h): (u32, u32)| (f64::from(w) / f64::from(h)).ln();
    let wanted = ratio(shape_ratio(shape));
    let distance = |s: &Shape| (ratio(shape_ratio(*s)) - wanted).abs();
    let options: Vec<Shape> = match shapes {
        Shapes::Sizes(sizes) => sizes.iter().copied().map(Shape::Size).collect(),
        Shapes::AspectRatios(ratios) => ratios.iter().copied().map(Shape::Aspect).collect(),
    };
    options
        .into_iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .unwrap_or(shape)
}

fn shape_ratio(shape: Shape) -> (u32, u32) {
    match shape {
        Shape::Size(size) => (size.width, size.height),
        Shape::Aspect(ratio) => (ratio.width, ratio.height),
    }
}

fn shape_word(shape: Shape) -> &'static str {
    match shape {
        Shape::Size(_) => "size",
        Shape::Aspect(_) => "aspect ratio",
    }
}

fn parse_shape(raw: &str, model: &ModelSpec) -> Result<Shape, String> {
    let raw = raw.trim();
    let raw = if raw.is_empty() {
        model.default_shape()
    } else {
        raw.to_owned()
    };
    match &model.shapes {
        Shapes::Sizes(sizes) => one_of(&raw, sizes, model, "sizes").map(Shape::Size),
        Shapes::AspectRatios(ratios) => {
            one_of(&raw, ratios, model, "aspect ratios").map(Shape::Aspect)
        }
    }
}

/// `raw` as one of the model's own `options`, or a message naming the model.
fn one_of<T: std::str::FromStr + PartialEq>(
    raw: &str,
    options: &[T],
    model: &ModelSpec,
    what: &str,
) -> Result<T, String> {
    raw.parse()
        .ok()
        .filter(|option| options.contains(option))
        .ok_or_else(|| {
            format!(
                "{} cannot make {raw}; choose one of the listed {what}.",
                model.name
            )
        })
}

fn parse_cfg(raw: &str, model: &ModelSpec) -> Result<Option<f32>, String> {
    let Some(range) = model.cfg_scale else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Some(range.default));
    }
    let message = || {
        format!(
            "The CFG scale must be a number from {} to {}.",
            range.min, range.max
        )
    };
    let value: f32 = raw.parse().map_err(|_| message())?;
    if value.is_finite() && (range.min..=range.max).contains(&value) {
        Ok(Some(value))
    } else {
        Err(message())
    }
}

fn parse_quality(raw: &str, model: &ModelSpec) -> Result<Option<Quality>, String> {
    let Some(first) = model.qualities.first() else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Some(*first));
    }
    raw.parse()
        .ok()
        .filter(|q| model.qualities.contains(q))
        .map(Some)
        .ok_or_else(|| "Choose standard or premium quality.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(model: &str, prompt: &str) -> GenerateForm {
        GenerateForm {
            model: model.into(),
            prompt: prompt.into(),
            ..GenerateForm::default()
        }
    }

    const TITAN: &str = "amazon.titan-image-generator-v1";
    const CORE: &str = "stability.stable-image-core-v1:1";

    #[test]
    fn a_bare_prompt_takes_the_models_defaults() {
        let request =
            GenerationRequest::parse(&form(TITAN, "a fox"), &Catalogue::built_in()).unwrap();
        assert_eq!(request.shape.to_string(), "1024x1024");
        assert_eq!(request.count.get(), 1);
        assert_eq!(request.cfg_scale, Some(8.0));
        assert_eq!(request.quality, Some(Quality::Standard));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut f = form(TITAN, &"x".repeat(513));
        f.size = "1000x1000".into();
        f.count = "6".into();
        f.cfg_scale = "11".into();
        f.seed_mode = "fixed".into();
        f.seed = "2147483647".into();
        let errors = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap_err();
        for field in ["prompt", "size", "count", "cfg_scale", "seed"] {
            assert!(
                errors.get(field).is_some(),
                "no message for {field}: {errors:?}"
            );
        }
        assert!(errors.get("prompt").unwrap().contains("at most 512"));
    }

    #[test]
    fn stability_takes_aspect_ratios_and_never_seed_zero() {
        let mut f = form(CORE, "a fox");
        f.size = "16:9".into();
        f.seed_mode = "fixed".into();
        f.seed = "0".into();
        let errors = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap_err();
        assert!(errors.get("seed").unwrap().contains("from 1 to 4294967294"));
        f.seed = "4294967294".into();
        let request = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap();
        assert_eq!(request.shape.to_string(), "16:9");
        assert_eq!(request.cfg_scale, None);
        assert_eq!(request.quality, None);
    }

    #[test]
    fn an_unknown_model_is_refused() {
        let errors = GenerationRequest::parse(&form("gpt-image", "a fox"), &Catalogue::built_in())
            .unwrap_err();
        assert!(errors.get("model").is_some());
    }

    #[test]
    fn a_request_survives_the_trip_through_its_form() {
        let mut f = form(TITAN, "a fox");
        f.negative_prompt = "fog".into();
        f.count = "2".into();
        let request = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap();
        let again = GenerationRequest::parse(&request.to_form(), &Catalogue::built_in()).unwrap();
        assert_eq!(again.to_form(), request.to_form());
        assert_eq!(again.seed, request.seed);
    }

    #[test]
    fn a_comparison_takes_the_nearest_shape_the_other_model_makes() {
        let mut f = form(CORE, "a fox");
        f.size = "16:9".into();
        f.count = "5".into();
        let request = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap();
        let (titan, note) = request.for_model(TITAN, &Catalogue::built_in()).unwrap();
        let (w, h) = match titan.shape {
            Shape::Size(size) => (size.width, size.height),
            Shape::Aspect(_) => panic!("Titan takes sizes"),
        };
        assert!(
            (f64::from(w) / f64::from(h) - 16.0 / 9.0).abs() < 0.1,
            "{w}x{h}"
        );
        assert!(note.unwrap().contains("nearest size"));
        assert_eq!(titan.count.get(), 5);
        assert_eq!(titan.seed.value(), request.seed.value().min(2_147_483_646));
        let (same, note) = request.for_model(CORE, &Catalogue::built_in()).unwrap();
        assert_eq!((same.shape, note), (request.shape, None));
    }

    #[test]
    fn the_price_is_per_image() {
        let mut f = form(CORE, "a fox");
        f.count = "3".into();
        let request = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap();
        assert!((request.price_usd() - 0.12).abs() < 1e-9);
    }
}
