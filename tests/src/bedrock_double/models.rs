//! The image models the double knows, and what AWS says about them today.

use super::Lifecycle;

/// The region the double pretends to be (ARNs, profile descriptions).
pub(crate) const REGION: &str = "us-west-2";

/// The account id in the ARNs of inference profiles.
pub(crate) const ACCOUNT_ID: &str = "123456789012";

/// How a model reads its request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `taskType` + `textToImageParams` + `imageGenerationConfig` (camelCase).
    Titan(TitanVariant),
    /// One flat snake_case object: `prompt`, `aspect_ratio`, `seed`, ...
    Stability(StabilityVariant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TitanVariant {
    V1,
    V2,
    NovaCanvas,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StabilityVariant {
    Core,
    Ultra,
    Sd35Large,
}

/// What the double knows about one foundation model.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) family: Family,
    /// When the model launched (`startOfLifeTime` of a Legacy model), `YYYY-MM-DD`.
    pub(crate) launched: &'static str,
    /// Whether the model is past its end of life in us-west-2 today.
    pub(crate) retired_today: bool,
}

impl Model {
    pub(crate) fn arn(&self) -> String {
        foundation_model_arn(REGION, self.id)
    }

    /// The lifecycle `BedrockDouble::start()` gives this model: what AWS answers today.
    pub(crate) fn lifecycle_today(&self) -> Lifecycle {
        if self.retired_today {
            Lifecycle::EndOfLife
        } else {
            Lifecycle::Active
        }
    }
}

pub(crate) fn foundation_model_arn(region: &str, id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{id}")
}

pub(crate) const MODELS: &[Model] = &[
    Model {
        id: "amazon.titan-image-generator-v1",
        name: "Titan Image Generator G1",
        provider: "Amazon",
        family: Family::Titan(TitanVariant::V1),
        launched: "2023-11-29",
        retired_today: true,
    },
    Model {
        id: "amazon.titan-image-generator-v2:0",
        name: "Titan Image Generator G1 v2",
        provider: "Amazon",
        family: Family::Titan(TitanVariant::V2),
        launched: "2024-08-06",
        retired_today: true,
    },
    Model {
        id: "amazon.nova-canvas-v1:0",
        name: "Nova Canvas",
        provider: "Amazon",
        family: Family::Titan(TitanVariant::NovaCanvas),
        launched: "2024-12-03",
        retired_today: true,
    },
    Model {
        id: "stability.stable-image-core-v1:1",
        name: "Stable Image Core 1.1",
        provider: "Stability AI",
        family: Family::Stability(StabilityVariant::Core),
        launched: "2025-03-13",
        retired_today: false,
    },
    Model {
        id: "stability.stable-image-ultra-v1:1",
        name: "Stable Image Ultra 1.1",
        provider: "Stability AI",
        family: Family::Stability(StabilityVariant::Ultra),
        launched: "2025-03-13",
        retired_today: false,
    },
    Model {
        id: "stability.sd3-5-large-v1:0",
        name: "Stable Diffusion 3.5 Large",
        provider: "Stability AI",
        family: Family::Stability(StabilityVariant::Sd35Large),
        launched: "2024-12-19",
        retired_today: false,
    },
    Model {
        id: "stability.stable-image-core-v1:0",
        name: "Stable Image Core 1.0",
        provider: "Stability AI",
        family: Family::Stability(StabilityVariant::Core),
        launched: "2024-09-04",
        retired_today: false,
    },
    Model {
        id: "stability.stable-image-ultra-v1:0",
        name: "Stable Image Ultra 1.0",
        provider: "Stability AI",
        family: Family::Stability(StabilityVariant::Ultra),
        launched: "2024-09-04",
        retired_today: false,
    },
];

pub(crate) fn find(id: &str) -> Option<&'static Model> {
    MODELS.iter().find(|model| model.id == id)
}

/// The model id inside a foundation-model ARN, or the id itself.
pub(crate) fn strip_foundation_model_arn(identifier: &str) -> &str {
    match identifier.split_once(":foundation-model/") {
        Some((prefix, id)) if prefix.starts_with("arn:") => id,
        _ => identifier,
    }
}

/// A calendar date `YYYY-MM-DD`, enough for lifecycle timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        let date = Date {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
            day: day.parse().ok()?,
        };
        ((1..=12).contains(&date.month) && (1..=31).contains(&date.day)).then_some(date)
    }

    /// The same day `months` months later (or earlier), kept inside short months.
    pub(crate) fn add_months(self, months: i32) -> Self {
        let index = self.year * 12 + (self.month as i32 - 1) + months;
        Date {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
            day: self.day.min(28),
        }
    }

    /// ISO-8601 date-time at midnight UTC, the form the control plane sends.
    pub(crate) fn timestamp(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T00:00:00Z",
            self.year, self.month, self.day
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_move_by_months_across_years() {
        let eol = Date::parse("2027-03-01").unwrap();
        assert_eq!(eol.add_months(-6).timestamp(), "2026-09-01T00:00:00Z");
        assert_eq!(eol.add_months(10).timestamp(), "2028-01-01T00:00:00Z");
        assert_eq!(
            Date::parse("2026-08-31").unwrap().add_months(1).timestamp(),
            "2026-09-28T00:00:00Z"
        );
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "2027-3-01",
            "2027-13-01",
            "27-03-01",
            "2027-03-01T00:00:00Z",
            "",
        ] {
            assert_eq!(Date::parse(text), None, "{text}");
        }
    }

    #[test]
    fn arns_are_reduced_to_model_ids() {
        assert_eq!(
            strip_foundation_model_arn(
                "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0"
            ),
            "stability.sd3-5-large-v1:0"
        );
        assert_eq!(
            strip_foundation_model_arn("amazon.nova-canvas-v1:0"),
            "amazon.nova-canvas-v1:0"
        );
    }
}
