use serde::{Deserialize, Serialize};

use super::{Prompt, Quality, Seed, Shape};
use crate::catalogue::{Catalogue, ModelSpec, Shapes};

/// The generate form exactly as the browser sent it: text only, nothing trusted yet.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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

    fn check<T>(&mut self, field: Field, result: Result<T, String>) -> Option<T> {
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
    pub quality: Option<super::Quality>,
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
            match form.seed_mode.as_str() {
                "fixed" => Seed::parse(&form.seed, model.seed_min, model.seed_max),
                _ => Ok(Seed::random(model.seed_min, model.seed_max)),
            },
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

    /// The price of this request in USD, as shown next to Generate and stored in each recipe.
    pub fn price_usd(&self) -> f64 {
        self.model.price_per_image * f64::from(self.count.get())
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
    fn the_price_is_per_image() {
        let mut f = form(CORE, "a fox");
        f.count = "3".into();
        let request = GenerationRequest::parse(&f, &Catalogue::built_in()).unwrap();
        assert!((request.price_usd() - 0.12).abs() < 1e-9);
    }
}
