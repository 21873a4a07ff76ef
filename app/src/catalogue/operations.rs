//! The edit operations Easel offers (`operations.toml`): Stability's thirteen Image Services and
//! SD3.5 Large's image-to-image. Ids, prices, labels, ranges and limits are data; what each
//! operation sends is code ([`OperationKind`]), so the file is checked against it at start.

use std::{ops::RangeInclusive, sync::Arc};

use serde::Deserialize;

use crate::upload::PictureLimits;

const BUILT_IN: &str = include_str!("../../operations.toml");

/// Stability reads seed 0 as "pick one at random": Easel always sends a real seed.
const SEED_MIN: u64 = 1;

/// What an operation does, and so what its request carries. The ids are stable: forms and
/// stored recipes name operations by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Inpaint,
    Outpaint,
    Erase,
    RemoveBackground,
    SearchReplace,
    SearchRecolor,
    UpscaleFast,
    UpscaleConservative,
    UpscaleCreative,
    ControlSketch,
    ControlStructure,
    StyleGuide,
    StyleTransfer,
    ImageToImage,
}

/// Whether an operation takes a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptUse {
    Required,
    Optional,
    None,
}

/// A setting of an operation's own, named as in its wire format and in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Param {
    GrowMask,
    Left,
    Right,
    Up,
    Down,
    Creativity,
    SearchPrompt,
    SelectPrompt,
    StylePreset,
    ControlStrength,
    Fidelity,
    CompositionFidelity,
    StyleStrength,
    ChangeStrength,
    Strength,
}

/// What kind of value a setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    Whole,
    Number,
    Text,
    Choice,
}

/// A setting's values, with the service's range and default.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamRule {
    Whole {
        min: u32,
        max: u32,
        default: u32,
    },
    Number {
        min: f64,
        max: f64,
        default: f64,
    },
    /// Text, required, up to the operation's `max_prompt_chars`.
    Text,
    /// One of these, or none.
    Choice(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub param: Param,
    /// What the page shows beside the field.
    pub label: String,
    pub rule: ParamRule,
}

/// One operation, as the page offers it and as Bedrock is called for it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationSpec {
    pub kind: OperationKind,
    pub name: String,
    /// One sentence for the page: what the user gets.
    pub about: String,
    pub model_id: String,
    /// The `us.` inference profile the call goes to; `None` calls the model on demand.
    pub profile_id: Option<String>,
    pub price_per_image: f64,
    pub max_prompt_chars: usize,
    pub prompt: PromptUse,
    pub negative_prompt: bool,
    pub mask: bool,
    /// Whether it takes a second picture, whose style it applies.
    pub style_image: bool,
    seed_max: Option<u64>,
    /// The limits of every picture it is sent (a mask has its picture's size).
    pub input: PictureLimits,
    /// Its own settings, in the order the page shows them.
    pub params: Vec<ParamSpec>,
}

impl OperationSpec {
    /// The operation's stable id (`inpaint`, `upscale-fast`, ...).
    pub fn id(&self) -> &'static str {
        self.kind.id()
    }

    /// The id InvokeModel is called with: the inference profile, or the model itself.
    pub fn call_id(&self) -> &str {
        self.profile_id.as_deref().unwrap_or(&self.model_id)
    }

    /// The seeds Easel may send, if the operation takes one.
    pub fn seeds(&self) -> Option<RangeInclusive<u64>> {
        self.seed_max.map(|max| SEED_MIN..=max)
    }

    /// The rule of one of this operation's own settings. Every setting its kind needs was
    /// checked at start, so asking for one it lacks is a bug.
    pub fn param(&self, param: Param) -> &ParamSpec {
        self.params
            .iter()
            .find(|spec| spec.param == param)
            .unwrap_or_else(|| panic!("{} has no {}", self.id(), param.name()))
    }
}

/// Every operation, checked once at start.
#[derive(Debug, Clone)]
pub struct Operations {
    operations: Arc<[OperationSpec]>,
    max_request_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("edit operations: {0}")]
pub struct OperationsError(String);

impl Operations {
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the built-in edit operations are valid")
    }

    pub fn parse(text: &str) -> Result<Self, OperationsError> {
        let file: File = toml::from_str(text).map_err(|e| OperationsError(e.to_string()))?;
        let operations = file
            .operation
            .into_iter()
            .map(Entry::into_spec)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, spec) in operations.iter().enumerate() {
            if operations[..i].iter().any(|other| other.kind == spec.kind) {
                return Err(OperationsError(format!("{} is listed twice", spec.id())));
            }
        }
        if operations.is_empty() {
            return Err(OperationsError("no operations are listed".into()));
        }
        Ok(Self {
            operations: operations.into(),
            max_request_bytes: file.max_request_bytes,
        })
    }

    /// In the file's order, as the page lists them.
    pub fn all(&self) -> &[OperationSpec] {
        &self.operations
    }

    /// The longest prompt any operation takes, in characters: the cap on an edit form's prompts,
    /// which is read before its operation is known.
    pub fn longest_prompt(&self) -> usize {
        let prompts = self.operations.iter().map(|spec| spec.max_prompt_chars);
        prompts.max().unwrap_or(0)
    }

    pub fn get(&self, id: &str) -> Option<&OperationSpec> {
        self.operations.iter().find(|spec| spec.id() == id)
    }

    /// Whether `model_id` is an operation whose answer is a large picture.
    pub fn makes_large_pictures(&self, model_id: &str) -> bool {
        self.operations
            .iter()
            .any(|spec| spec.model_id == model_id && spec.kind.makes_large_pictures())
    }

    /// The largest InvokeModel body: what the pictures of one edit must fit in, as base64.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }
}

impl OperationKind {
    pub const ALL: [Self; 14] = [
        Self::Inpaint,
        Self::Outpaint,
        Self::Erase,
        Self::RemoveBackground,
        Self::SearchReplace,
        Self::SearchRecolor,
        Self::UpscaleFast,
        Self::UpscaleConservative,
        Self::UpscaleCreative,
        Self::ControlSketch,
        Self::ControlStructure,
        Self::StyleGuide,
        Self::StyleTransfer,
        Self::ImageToImage,
    ];

    /// The upscales answer with up to 16 megapixels, and outpaint with a canvas larger than its
    /// source: tens of megabytes each, so the studio runs only a few of them at once.
    pub fn makes_large_pictures(self) -> bool {
        matches!(
            self,
            Self::UpscaleFast | Self::UpscaleConservative | Self::UpscaleCreative | Self::Outpaint
        )
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::Inpaint => "inpaint",
            Self::Outpaint => "outpaint",
            Self::Erase => "erase",
            Self::RemoveBackground => "remove-background",
            Self::SearchReplace => "search-replace",
            Self::SearchRecolor => "search-recolor",
            Self::UpscaleFast => "upscale-fast",
            Self::UpscaleConservative => "upscale-conservative",
            Self::UpscaleCreative => "upscale-creative",
            Self::ControlSketch => "control-sketch",
            Self::ControlStructure => "control-structure",
            Self::StyleGuide => "style-guide",
            Self::StyleTransfer => "style-transfer",
            Self::ImageToImage => "image-to-image",
        }
    }

    /// What the operation's wire format sends: the file must say the same.
    fn needs(self) -> Needs {
        use Param::*;
        let prompted = |params| Needs {
            prompt: PromptUse::Required,
            negative_prompt: true,
            mask: false,
            style_image: false,
            seed: true,
            params,
        };
        let bare = Needs {
            prompt: PromptUse::None,
            negative_prompt: false,
            seed: false,
            ..prompted(&[])
        };
        let masked = |prompt, negative_prompt| Needs {
            prompt,
            negative_prompt,
            mask: true,
            ..prompted(&[GrowMask])
        };
        match self {
            Self::Inpaint => masked(PromptUse::Required, true),
            Self::Erase => masked(PromptUse::None, false),
            Self::Outpaint => Needs {
                prompt: PromptUse::Optional,
                ..prompted(&[Left, Right, Up, Down, Creativity])
            },
            Self::RemoveBackground | Self::UpscaleFast => bare,
            Self::SearchReplace => prompted(&[SearchPrompt]),
            Self::SearchRecolor => prompted(&[SelectPrompt]),
            Self::UpscaleConservative => prompted(&[Creativity]),
            Self::UpscaleCreative => prompted(&[Creativity, StylePreset]),
            Self::ControlSketch | Self::ControlStructure => prompted(&[ControlStrength]),
            Self::StyleGuide => prompted(&[Fidelity]),
            Self::StyleTransfer => Needs {
                prompt: PromptUse::Optional,
                style_image: true,
                ..prompted(&[CompositionFidelity, StyleStrength, ChangeStrength])
            },
            Self::ImageToImage => prompted(&[Strength]),
        }
    }
}

impl Param {
    pub const ALL: [Self; 15] = [
        Self::GrowMask,
        Self::Left,
        Self::Right,
        Self::Up,
        Self::Down,
        Self::Creativity,
        Self::SearchPrompt,
        Self::SelectPrompt,
        Self::StylePreset,
        Self::ControlStrength,
        Self::Fidelity,
        Self::CompositionFidelity,
        Self::StyleStrength,
        Self::ChangeStrength,
        Self::Strength,
    ];

    /// The field's name, in the wire format and in the form alike.
    pub fn name(self) -> &'static str {
        match self {
            Self::GrowMask => "grow_mask",
            Self::Left => "left",
            Self::Right => "right",
            Self::Up => "up",
            Self::Down => "down",
            Self::Creativity => "creativity",
            Self::SearchPrompt => "search_prompt",
            Self::SelectPrompt => "select_prompt",
            Self::StylePreset => "style_preset",
            Self::ControlStrength => "control_strength",
            Self::Fidelity => "fidelity",
            Self::CompositionFidelity => "composition_fidelity",
            Self::StyleStrength => "style_strength",
            Self::ChangeStrength => "change_strength",
            Self::Strength => "strength",
        }
    }

    pub fn kind(self) -> ParamKind {
        match self {
            Self::GrowMask | Self::Left | Self::Right | Self::Up | Self::Down => ParamKind::Whole,
            Self::SearchPrompt | Self::SelectPrompt => ParamKind::Text,
            Self::StylePreset => ParamKind::Choice,
            Self::Creativity
            | Self::ControlStrength
            | Self::Fidelity
            | Self::CompositionFidelity
            | Self::StyleStrength
            | Self::ChangeStrength
            | Self::Strength => ParamKind::Number,
        }
    }
}

impl TryFrom<String> for Param {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|param| param.name() == name)
            .ok_or_else(|| format!("no operation has a setting named {name:?}"))
    }
}

/// What a kind's wire format sends.
#[derive(Debug, PartialEq)]
struct Needs {
    prompt: PromptUse,
    negative_prompt: bool,
    mask: bool,
    style_image: bool,
    seed: bool,
    params: &'static [Param],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    max_request_bytes: usize,
    operation: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    about: String,
    model: String,
    profile: Option<String>,
    price_per_image: f64,
    max_prompt_chars: usize,
    prompt: PromptUse,
    #[serde(default)]
    negative_prompt: bool,
    #[serde(default)]
    mask: bool,
    #[serde(default)]
    style_image: bool,
    seed_max: Option<u64>,
    input: InputEntry,
    #[serde(default)]
    param: Vec<ParamEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputEntry {
    min_side: u32,
    max_pixels: u64,
    max_bytes: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamEntry {
    name: Param,
    label: String,
    kind: ParamKind,
    min: Option<f64>,
    max: Option<f64>,
    default: Option<f64>,
    #[serde(default)]
    options: Vec<String>,
}

impl Entry {
    fn into_spec(self) -> Result<OperationSpec, OperationsError> {
        let id = self.id.clone();
        let bad = |what: String| OperationsError(format!("{id}: {what}"));
        let kind = OperationKind::ALL
            .into_iter()
            .find(|kind| kind.id() == self.id)
            .ok_or_else(|| bad("not an operation Easel knows".into()))?;
        let needs = kind.needs();
        let stated = Needs {
            prompt: self.prompt,
            negative_prompt: self.negative_prompt,
            mask: self.mask,
            style_image: self.style_image,
            seed: self.seed_max.is_some(),
            params: needs.params,
        };
        if stated != needs {
            return Err(bad(format!(
                "its wire format sends prompt = {:?}, negative_prompt = {}, mask = {}, \
                 style_image = {} and a seed: {}",
                needs.prompt, needs.negative_prompt, needs.mask, needs.style_image, needs.seed
            )));
        }
        let params = self
            .param
            .into_iter()
            .map(|entry| {
                let name = entry.name.name();
                entry
                    .into_spec()
                    .map_err(|what| bad(format!("{name}: {what}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let listed: Vec<Param> = params.iter().map(|spec| spec.param).collect();
        if listed != needs.params {
            let names = |params: &[Param]| {
                params
                    .iter()
                    .map(|param| param.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(bad(format!(
                "its settings must be [{}], in that order; the file lists [{}]",
                names(needs.params),
                names(&listed)
            )));
        }
        if self.max_prompt_chars == 0
            || !self.price_per_image.is_finite()
            || self.price_per_image < 0.0
        {
            return Err(bad(
                "max_prompt_chars and price_per_image must be positive".into()
            ));
        }
        if self.input.min_side == 0
            || u64::from(self.input.min_side).pow(2) > self.input.max_pixels
            || self.input.max_bytes == 0
        {
            return Err(bad(
                "input needs 0 < min_side, min_side² <= max_pixels and 0 < max_bytes".into(),
            ));
        }
        if self
            .seed_max
            .is_some_and(|max| max < SEED_MIN || max > u64::from(u32::MAX))
        {
            return Err(bad(format!("seed_max must be {SEED_MIN} to {}", u32::MAX)));
        }
        Ok(OperationSpec {
            kind,
            name: self.name,
            about: self.about,
            model_id: self.model,
            profile_id: self.profile,
            price_per_image: self.price_per_image,
            max_prompt_chars: self.max_prompt_chars,
            prompt: self.prompt,
            negative_prompt: self.negative_prompt,
            mask: self.mask,
            style_image: self.style_image,
            seed_max: self.seed_max,
            input: PictureLimits {
                max_bytes: self.input.max_bytes,
                min_side: self.input.min_side,
                max_pixels: self.input.max_pixels,
            },
            params,
        })
    }
}

impl ParamEntry {
    fn into_spec(self) -> Result<ParamSpec, String> {
        if self.kind != self.name.kind() {
            return Err(format!("its kind is {:?}", self.name.kind()).to_lowercase());
        }
        let range = (self.min, self.max, self.default);
        let rule = match (self.kind, range) {
            (ParamKind::Whole, (Some(min), Some(max), Some(default))) => {
                let whole = |n: f64| {
                    (n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n))
                        .then_some(n as u32)
                        .ok_or_else(|| format!("{n} is not a whole number"))
                };
                ParamRule::Whole {
                    min: whole(min)?,
                    max: whole(max)?,
                    default: whole(default)?,
                }
            }
            (ParamKind::Number, (Some(min), Some(max), Some(default))) => {
                ParamRule::Number { min, max, default }
            }
            (ParamKind::Whole | ParamKind::Number, _) => {
                return Err("needs min, max and default".into());
            }
            (ParamKind::Text, (None, None, None)) if self.options.is_empty() => ParamRule::Text,
            (ParamKind::Choice, (None, None, None)) if !self.options.is_empty() => {
                ParamRule::Choice(self.options)
            }
            (ParamKind::Text | ParamKind::Choice, _) => {
                return Err(
                    "a text takes no range nor options; a choice takes options only".into(),
                );
            }
        };
        if let (Some(min), Some(max), Some(default)) = range
            && !(min <= default && default <= max)
        {
            return Err("needs min <= default <= max".into());
        }
        Ok(ParamSpec {
            param: self.name,
            label: self.label,
            rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in file with one edit made to its text.
    fn edited(from: &str, to: &str) -> Result<Operations, OperationsError> {
        assert!(BUILT_IN.contains(from), "{from}");
        Operations::parse(&BUILT_IN.replacen(from, to, 1))
    }

    fn refusal(from: &str, to: &str) -> String {
        edited(from, to).unwrap_err().to_string()
    }

    #[test]
    fn every_operation_is_built_in_once_with_its_profile() {
        let operations = Operations::built_in();
        let ids: Vec<&str> = operations.all().iter().map(OperationSpec::id).collect();
        let all: Vec<&str> = OperationKind::ALL.iter().map(|k| k.id()).collect();
        assert_eq!(ids, all);
        for spec in operations.all() {
            match spec.kind {
                OperationKind::ImageToImage => {
                    assert_eq!(spec.call_id(), "stability.sd3-5-large-v1:0")
                }
                _ => assert_eq!(spec.call_id(), format!("us.{}", spec.model_id)),
            }
        }
        assert_eq!(operations.max_request_bytes(), 25_000_000);
    }

    #[test]
    fn the_numbers_are_the_services_own() {
        let operations = Operations::built_in();
        let spec = |id| operations.get(id).unwrap();
        assert_eq!(
            spec("inpaint").param(Param::GrowMask).rule,
            ParamRule::Whole {
                min: 0,
                max: 20,
                default: 5
            }
        );
        assert_eq!(
            spec("upscale-creative").param(Param::Creativity).rule,
            ParamRule::Number {
                min: 0.1,
                max: 0.5,
                default: 0.3
            }
        );
        assert_eq!(spec("upscale-fast").input, PictureLimits::FAST_UPSCALE);
        assert_eq!(
            spec("upscale-creative").input,
            PictureLimits::CREATIVE_UPSCALE
        );
        assert_eq!(
            spec("upscale-conservative").input,
            PictureLimits::CONSERVATIVE_UPSCALE
        );
        // The upload limits take any picture some operation takes.
        for operation in operations.all() {
            assert!(operation.input.max_pixels <= PictureLimits::EDIT.max_pixels);
            assert!(operation.input.max_bytes <= PictureLimits::EDIT.max_bytes);
        }
        assert_eq!(spec("outpaint").price_per_image, 0.06);
        assert_eq!(spec("upscale-creative").price_per_image, 0.60);
        assert_eq!(spec("erase").seeds(), Some(1..=4_294_967_294));
        assert_eq!(spec("remove-background").seeds(), None);
    }

    #[test]
    fn an_unknown_operation_is_refused_by_name() {
        let err = refusal(r#"id = "erase""#, r#"id = "smudge""#);
        assert_eq!(err, "edit operations: smudge: not an operation Easel knows");
    }

    #[test]
    fn an_operation_listed_twice_is_refused() {
        let start = BUILT_IN
            .find("[[operation]]\nid = \"remove-background\"")
            .unwrap();
        let entry = &BUILT_IN[start..][..BUILT_IN[start + 1..].find("[[operation]]").unwrap()];
        let err = Operations::parse(&format!("{BUILT_IN}\n{entry}"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "edit operations: remove-background is listed twice");
    }

    #[test]
    fn the_file_must_say_what_the_wire_format_sends() {
        let err = refusal(
            "prompt = \"none\"\nmask = true",
            "prompt = \"none\"\nmask = false",
        );
        assert!(
            err.starts_with("edit operations: erase: its wire format sends"),
            "{err}"
        );
        assert!(err.contains("mask = true"), "{err}");
    }

    #[test]
    fn a_missing_setting_names_the_operation_and_what_it_needs() {
        let err = refusal("name = \"fidelity\"", "name = \"control_strength\"");
        assert_eq!(
            err,
            "edit operations: style-guide: its settings must be [fidelity], in that order; \
             the file lists [control_strength]"
        );
    }

    #[test]
    fn a_bad_range_names_the_operation_and_the_setting() {
        let err = refusal("max = 20\ndefault = 5", "max = 20\ndefault = 50");
        assert_eq!(
            err,
            "edit operations: inpaint: grow_mask: needs min <= default <= max"
        );
        let err = refusal("max = 20\ndefault = 5", "max = 20.5\ndefault = 5");
        assert_eq!(
            err,
            "edit operations: inpaint: grow_mask: 20.5 is not a whole number"
        );
        let err = refusal("kind = \"whole\"", "kind = \"number\"");
        assert_eq!(
            err,
            "edit operations: inpaint: grow_mask: its kind is whole"
        );
    }

    #[test]
    fn an_unknown_setting_is_refused() {
        let err = refusal("name = \"grow_mask\"", "name = \"steps\"");
        assert!(
            err.contains("no operation has a setting named \"steps\""),
            "{err}"
        );
    }
}
