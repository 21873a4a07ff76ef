//! What is stored about each image, beside the PNG itself.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ImageId;

/// Everything needed to understand, and redo, one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub model_id: String,
    pub model_name: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    /// Either pixel dimensions (`1024x1024`) or an aspect ratio (`16:9`),
    /// depending on what the model takes.
    pub size: String,
    pub cfg_scale: Option<f32>,
    pub quality: Option<String>,
    pub seed: u64,
    pub price_usd: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Made by a model, uploaded, or made from another picture. Records from before there
    /// were edits have none, and were all generated.
    #[serde(default, skip_serializing_if = "Origin::is_generated")]
    pub origin: Origin,
}

/// Where a picture came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Generated,
    /// Uploaded by its owner, to be edited.
    Uploaded,
    Edited(EditRecipe),
}

impl Origin {
    fn is_generated(&self) -> bool {
        matches!(self, Origin::Generated)
    }

    pub fn edit(&self) -> Option<&EditRecipe> {
        match self {
            Origin::Edited(edit) => Some(edit),
            _ => None,
        }
    }
}

/// How an edit was made: enough to show its lineage and to fill the edit form again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRecipe {
    /// The operation's stable id (`inpaint`, ...).
    pub operation: String,
    pub operation_name: String,
    /// The picture it was made from.
    pub source: ImageId,
    /// The edit form's fields as the job ran them, seed fixed.
    pub form: Vec<(String, String)>,
}

/// The JSON object stored beside each PNG. Its presence is what makes an
/// image part of the gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: ImageId,
    pub recipe: Recipe,
    /// Size of the stored PNG, text chunks included.
    pub png_bytes: u64,
}

impl Recipe {
    /// A picture its owner uploaded to edit: no model made it and it cost nothing.
    pub fn uploaded(width: u32, height: u32, created_at: OffsetDateTime) -> Self {
        Self {
            model_id: String::new(),
            model_name: "Uploaded".to_owned(),
            prompt: String::new(),
            negative_prompt: None,
            size: format!("{width}x{height}"),
            cfg_scale: None,
            quality: None,
            seed: 0,
            price_usd: 0.0,
            created_at,
            origin: Origin::Uploaded,
        }
    }

    /// The recipe a PNG made by Easel carries in its text chunks ([`Recipe::png_text`]), or
    /// `None` when they do not hold one.
    pub fn from_png_text(text: &[(String, String)]) -> Option<Self> {
        let get = |key: &str| {
            text.iter()
                .find(|(k, _)| k == key)
                .map(|(_, value)| value.as_str())
        };
        if get("Software") != Some("Easel") {
            return None;
        }
        let (model_name, model_id) = get("Model")?.rsplit_once(" (")?;
        let origin = if let Some(edit) = get("Easel edit") {
            Origin::Edited(serde_json::from_str(edit).ok()?)
        } else if get("Origin") == Some("uploaded") {
            Origin::Uploaded
        } else {
            Origin::Generated
        };
        Some(Self {
            model_id: model_id.strip_suffix(')')?.to_owned(),
            model_name: model_name.to_owned(),
            prompt: get("Prompt")?.to_owned(),
            negative_prompt: get("Negative prompt").map(str::to_owned),
            size: get("Size")?.to_owned(),
            cfg_scale: get("CFG scale").and_then(|cfg| cfg.parse().ok()),
            quality: get("Quality").map(str::to_owned),
            seed: get("Seed")?.parse().ok()?,
            price_usd: get("Price USD")?.parse().ok()?,
            created_at: OffsetDateTime::parse(get("Created")?, &Rfc3339).ok()?,
            origin,
        })
    }

    /// The recipe as PNG text entries, so that a downloaded image still
    /// tells how it was made. Absent optional fields are left out.
    pub(crate) fn png_text(&self) -> Vec<(&'static str, String)> {
        [
            Some(("Model", format!("{} ({})", self.model_name, self.model_id))),
            Some(("Prompt", self.prompt.clone())),
            self.negative_prompt
                .clone()
                .filter(|negative| !negative.is_empty())
                .map(|negative| ("Negative prompt", negative)),
            Some(("Size", self.size.clone())),
            self.cfg_scale.map(|cfg| ("CFG scale", cfg.to_string())),
            Some(("Seed", self.seed.to_string())),
            self.quality.clone().map(|quality| ("Quality", quality)),
            Some(("Price USD", self.price_usd.to_string())),
            // Only a date beyond year 9999 fails to format, and such a
            // recipe is refused when its record is serialized anyway.
            self.created_at
                .format(&Rfc3339)
                .ok()
                .map(|created| ("Created", created)),
            self.origin.edit().map(|edit| {
                (
                    "Operation",
                    format!("{} ({})", edit.operation_name, edit.operation),
                )
            }),
            self.origin
                .edit()
                .map(|edit| ("Source", edit.source.to_string())),
            // The whole edit recipe, so a dropped PNG can fill the edit form again.
            self.origin
                .edit()
                .and_then(|edit| serde_json::to_string(edit).ok())
                .map(|json| ("Easel edit", json)),
            matches!(self.origin, Origin::Uploaded).then(|| ("Origin", "uploaded".to_owned())),
            Some(("Software", "Easel".to_owned())),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::test_recipe;

    #[test]
    fn record_json_uses_rfc3339_and_round_trips() {
        let record = ImageRecord {
            id: ImageId::new(OffsetDateTime::now_utc()),
            recipe: test_recipe("a lighthouse"),
            png_bytes: 1234,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["recipe"]["created_at"], "2025-06-01T12:30:00Z");
        assert_eq!(json["id"], record.id.as_str());
        assert_eq!(serde_json::from_value::<ImageRecord>(json).unwrap(), record);
    }

    #[test]
    fn a_recipe_is_read_back_from_its_png_text() {
        let generated = test_recipe("a lighthouse");
        let mut edited = Recipe::uploaded(640, 480, generated.created_at);
        edited.origin = Origin::Edited(EditRecipe {
            operation: "inpaint".to_owned(),
            operation_name: "Inpaint".to_owned(),
            source: ImageId::new(generated.created_at),
            form: vec![("prompt".to_owned(), "a red door".to_owned())],
        });
        let uploaded = Recipe::uploaded(640, 480, generated.created_at);
        for recipe in [generated, edited, uploaded] {
            let text: Vec<(String, String)> = recipe
                .png_text()
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect();
            assert_eq!(Recipe::from_png_text(&text), Some(recipe));
        }
        let foreign = [("parameters".to_owned(), "a cat".to_owned())];
        assert_eq!(Recipe::from_png_text(&foreign), None);
    }

    #[test]
    fn png_text_lists_present_fields_only() {
        let mut recipe = test_recipe("a lighthouse");
        recipe.negative_prompt = None;
        recipe.cfg_scale = None;
        recipe.quality = None;
        let keys: Vec<_> = recipe.png_text().into_iter().map(|(key, _)| key).collect();
        assert_eq!(
            keys,
            [
                "Model",
                "Prompt",
                "Size",
                "Seed",
                "Price USD",
                "Created",
                "Software"
            ]
        );
    }
}
