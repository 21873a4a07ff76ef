//! The models Easel offers and the rules each one enforces. This is data (`models.toml`, or the
//! file named by `EASEL_MODELS`), checked once at start so the rest of the app can trust it.
//! The edit operations are data beside them ([`operations`]).

mod operations;
mod shape;

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::Arc,
};

use serde::Deserialize;

pub use operations::{
    OperationKind, OperationSpec, Operations, OperationsError, Param, ParamKind, ParamRule,
    ParamSpec, PromptUse,
};
pub use shape::{AspectRatio, Quality, Shape, Size};

const BUILT_IN: &str = include_str!("../../models.toml");

/// How a model is spoken to: the request and response shapes are code, one per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Titan Image Generator v1/v2 and Nova Canvas: `taskType` + `imageGenerationConfig`.
    Titan,
    /// Stability's text-to-image models: a flat body, one image per call.
    Stability,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CfgRange {
    pub min: f32,
    pub max: f32,
    pub default: f32,
}

/// What the model lets a user pick for the picture's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shapes {
    Sizes(Vec<Size>),
    AspectRatios(Vec<AspectRatio>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub name: String,
    pub family: Family,
    pub price_per_image: f64,
    pub max_prompt_chars: usize,
    pub negative_prompt: bool,
    pub seed_min: u64,
    pub seed_max: u64,
    pub shapes: Shapes,
    pub cfg_scale: Option<CfgRange>,
    pub max_images: u8,
    pub qualities: Vec<Quality>,
    /// Where to call this model when it is not served in the default Bedrock region.
    pub region: Option<String>,
}

impl ModelSpec {
    /// The Bedrock region this model is called (and checked) in.
    pub fn region<'a>(&'a self, default_region: &'a str) -> &'a str {
        self.region.as_deref().unwrap_or(default_region)
    }

    pub fn default_shape(&self) -> String {
        match &self.shapes {
            Shapes::Sizes(sizes) => sizes[0].to_string(),
            Shapes::AspectRatios(ratios) => ratios[0].to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    models: Arc<[ModelSpec]>,
}

#[derive(Debug, thiserror::Error)]
#[error("model catalogue: {0}")]
pub struct CatalogueError(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    model: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    family: Family,
    price_per_image: f64,
    max_prompt_chars: usize,
    #[serde(default)]
    negative_prompt: bool,
    seed_max: u64,
    #[serde(default)]
    sizes: Vec<String>,
    #[serde(default)]
    aspect_ratios: Vec<String>,
    cfg_scale: Option<CfgRange>,
    #[serde(default = "five")]
    max_images: u8,
    #[serde(default)]
    qualities: Vec<String>,
    region: Option<String>,
}

fn five() -> u8 {
    5
}

impl Catalogue {
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the built-in model catalogue is valid")
    }

    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: File = toml::from_str(text).map_err(|e| CatalogueError(e.to_string()))?;
        let models = file
            .model
            .into_iter()
            .map(Entry::into_spec)
            .collect::<Result<Vec<_>, _>>()?;
        if models.is_empty() {
            return Err(CatalogueError("no models are listed".into()));
        }
        for (i, m) in models.iter().enumerate() {
            if models[..i].iter().any(|other| other.id == m.id) {
                return Err(CatalogueError(format!("{} is listed twice", m.id)));
            }
        }
        Ok(Self {
            models: models.into(),
        })
    }

    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    /// One client (made by `client`) for every region a model is called in: the default and
    /// each override.
    pub fn per_region<C>(
        &self,
        default_region: &str,
        client: impl Fn(&str) -> C,
    ) -> HashMap<String, C> {
        let regions: BTreeSet<&str> = self
            .models
            .iter()
            .map(|m| m.region(default_region))
            .chain([default_region])
            .collect();
        regions
            .into_iter()
            .map(|region| (region.to_owned(), client(region)))
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == id)
    }
}

impl Entry {
    fn into_spec(self) -> Result<ModelSpec, CatalogueError> {
        let bad = |what: &str| CatalogueError(format!("{}: {what}", self.id));
        let shapes = match self.family {
            Family::Titan => {
                let sizes = self
                    .sizes
                    .iter()
                    .map(|s| s.parse::<Size>().map_err(|e| bad(&e)))
                    .collect::<Result<Vec<_>, _>>()?;
                if sizes.is_empty() {
                    return Err(bad("a Titan-family model needs `sizes`"));
                }
                Shapes::Sizes(sizes)
            }
            Family::Stability => {
                let ratios = self
                    .aspect_ratios
                    .iter()
                    .map(|s| s.parse::<AspectRatio>().map_err(|e| bad(&e)))
                    .collect::<Result<Vec<_>, _>>()?;
                if ratios.is_empty() {
                    return Err(bad("a Stability model needs `aspect_ratios`"));
                }
                Shapes::AspectRatios(ratios)
            }
        };
        let qualities = self
            .qualities
            .iter()
            .map(|q| q.parse::<Quality>().map_err(|e| bad(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        if !(1..=5).contains(&self.max_images) {
            return Err(bad("max_images must be 1 to 5"));
        }
        if self.max_prompt_chars == 0
            || !self.price_per_image.is_finite()
            || self.price_per_image < 0.0
        {
            return Err(bad("max_prompt_chars and price_per_image must be positive"));
        }
        if let Some(cfg) = self.cfg_scale
            && !(cfg.min <= cfg.default && cfg.default <= cfg.max)
        {
            return Err(bad("cfg_scale needs min <= default <= max"));
        }
        Ok(ModelSpec {
            // Stability reads seed 0 as "pick one at random": Easel always sends a real seed.
            seed_min: match self.family {
                Family::Titan => 0,
                Family::Stability => 1,
            },
            id: self.id,
            name: self.name,
            family: self.family,
            price_per_image: self.price_per_image,
            max_prompt_chars: self.max_prompt_chars,
            negative_prompt: self.negative_prompt,
            seed_max: self.seed_max,
            shapes,
            cfg_scale: self.cfg_scale,
            max_images: self.max_images,
            qualities,
            region: self.region,
        })
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Titan => "titan",
            Family::Stability => "stability",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_starts_with_a_live_stability_model() {
        let catalogue = Catalogue::built_in();
        assert_eq!(catalogue.models()[0].id, "stability.stable-image-core-v1:1");
        assert!(catalogue.get("amazon.titan-image-generator-v1").is_some());
    }

    #[test]
    fn a_catalogue_with_a_bad_size_names_the_model() {
        let text = r#"
            [[model]]
            id = "m"
            name = "M"
            family = "titan"
            price_per_image = 0.01
            max_prompt_chars = 10
            seed_max = 10
            sizes = ["big"]
        "#;
        let err = Catalogue::parse(text).unwrap_err().to_string();
        assert!(err.contains("m:"), "{err}");
    }

    #[test]
    fn a_model_listed_twice_is_refused() {
        let entry = r#"
            [[model]]
            id = "m"
            name = "M"
            family = "stability"
            price_per_image = 0.01
            max_prompt_chars = 10
            seed_max = 10
            aspect_ratios = ["1:1"]
        "#;
        let err = Catalogue::parse(&format!("{entry}{entry}")).unwrap_err();
        assert!(err.to_string().contains("twice"));
    }
}
