//! Edit requests: a picture, the operation chosen for it and exactly that operation's
//! settings, checked against its rules in `operations.toml`.
//!
//! One edit form serves every operation, so a field the chosen operation does not take (a
//! prompt for Erase, a mask for Outpaint, another operation's settings) is ignored rather than
//! refused: it is what the form kept from the user's earlier choice.

use super::{Field, FieldErrors, Prompt, Seed};
use crate::{
    catalogue::{OperationKind, OperationSpec, Operations, Param, ParamRule},
    upload::{Mask, MaskError, UploadedPicture},
};

/// What a form leaves around the pictures it sends: quoting, escapes and the other fields of a
/// request are at most this many bytes (three 10,000-character prompts, escaped, and change).
const REQUEST_OVERHEAD_BYTES: usize = 256 * 1024;

/// "fixed" takes the form's `seed`; anything else draws one, as for generations.
const SEED_MODE: &str = "seed_mode";

/// The pictures of an edit, each already checked on its own (see [`crate::upload`]). A
/// stored picture comes back through [`UploadedPicture::parse`] with its operation's limits.
#[derive(Debug)]
pub struct EditPictures {
    pub source: UploadedPicture,
    pub mask: Option<Mask>,
    /// The picture whose style Style Transfer applies.
    pub style: Option<UploadedPicture>,
}

impl EditPictures {
    /// Decodes the pictures of an edit for `spec`, each against the operation's limits: the
    /// source, and the mask or second picture when the operation takes one (a file it does
    /// not take is ignored). Every problem is reported next to its field. Decoding a picture
    /// of several megapixels is slow: call it off the async threads.
    pub fn decode(
        spec: &OperationSpec,
        source: &[u8],
        mask: Option<&[u8]>,
        style: Option<&[u8]>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let source = UploadedPicture::parse(source, &spec.input)
            .map_err(|e| errors.add(Field::Image, e.to_string()))
            .ok();
        let mask = match (mask.filter(|_| spec.mask), &source) {
            (Some(mask), Some(source)) => Mask::parse(mask, source.width(), source.height())
                .map_err(|e| errors.add(Field::Mask, e.to_string()))
                .ok(),
            _ => None,
        };
        let style = style.filter(|_| spec.style_image).and_then(|style| {
            UploadedPicture::parse(style, &spec.input)
                .map_err(|e| errors.add(Field::StyleImage, e.to_string()))
                .ok()
        });
        match source {
            Some(source) if errors.is_empty() => Ok(Self {
                source,
                mask,
                style,
            }),
            _ => Err(errors),
        }
    }
}

/// A number within its operation's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level(f64);

impl Level {
    pub fn value(self) -> f64 {
        self.0
    }
}

/// A count of pixels within its operation's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixels(u32);

impl Pixels {
    pub fn get(self) -> u32 {
        self.0
    }
}

/// How far an outpaint extends each side: at least one is more than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    left: Pixels,
    right: Pixels,
    up: Pixels,
    down: Pixels,
}

impl Sides {
    pub fn left(self) -> Pixels {
        self.left
    }

    pub fn right(self) -> Pixels {
        self.right
    }

    pub fn up(self) -> Pixels {
        self.up
    }

    pub fn down(self) -> Pixels {
        self.down
    }
}

/// One of the operation's listed style presets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StylePreset(String);

impl StylePreset {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The prompt (`P` is `Prompt`, or `Option<Prompt>` where the operation may go without) and
/// the negative prompt of an operation that takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompts<P> {
    pub prompt: P,
    pub negative_prompt: Option<Prompt>,
}

/// An operation with exactly its own settings. Each value was checked against the
/// operation's rules and can only come from [`EditRequest::parse`].
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Inpaint {
        prompts: Prompts<Prompt>,
        mask: Mask,
        grow_mask: Pixels,
        seed: Seed,
    },
    Outpaint {
        prompts: Prompts<Option<Prompt>>,
        sides: Sides,
        creativity: Level,
        seed: Seed,
    },
    Erase {
        mask: Mask,
        grow_mask: Pixels,
        seed: Seed,
    },
    RemoveBackground,
    SearchReplace {
        prompts: Prompts<Prompt>,
        search_prompt: Prompt,
        seed: Seed,
    },
    SearchRecolor {
        prompts: Prompts<Prompt>,
        select_prompt: Prompt,
        seed: Seed,
    },
    UpscaleFast,
    UpscaleConservative {
        prompts: Prompts<Prompt>,
        creativity: Level,
        seed: Seed,
    },
    UpscaleCreative {
        prompts: Prompts<Prompt>,
        creativity: Level,
        style_preset: Option<StylePreset>,
        seed: Seed,
    },
    ControlSketch {
        prompts: Prompts<Prompt>,
        control_strength: Level,
        seed: Seed,
    },
    ControlStructure {
        prompts: Prompts<Prompt>,
        control_strength: Level,
        seed: Seed,
    },
    StyleGuide {
        prompts: Prompts<Prompt>,
        fidelity: Level,
        seed: Seed,
    },
    StyleTransfer {
        style: UploadedPicture,
        prompts: Prompts<Option<Prompt>>,
        composition_fidelity: Level,
        style_strength: Level,
        change_strength: Level,
        seed: Seed,
    },
    ImageToImage {
        prompts: Prompts<Prompt>,
        /// How much to change: Stability's `strength`, where 0 keeps the picture and 1
        /// replaces it.
        change: Level,
        seed: Seed,
    },
}

/// An edit that obeys every rule of the operation it names.
#[derive(Debug, Clone)]
pub struct EditRequest {
    spec: OperationSpec,
    source: UploadedPicture,
    operation: Operation,
}

impl EditRequest {
    /// `form` holds the edit form's fields as sent (`operation`, `prompt`, `negative_prompt`,
    /// `seed_mode` and `seed`, and each setting by its name); every problem is reported at
    /// once, next to its field.
    pub fn parse(
        form: &[(String, String)],
        pictures: EditPictures,
        operations: &Operations,
    ) -> Result<Self, FieldErrors> {
        let Some(spec) = operations.get(value(form, Field::Operation.name()).trim()) else {
            return Err(FieldErrors::single(
                Field::Operation,
                "Choose one of the listed operations.",
            ));
        };
        let EditPictures {
            source,
            mask,
            style,
        } = pictures;
        let mut reader = Reader {
            form,
            spec,
            errors: FieldErrors::default(),
        };
        reader.errors.check(
            Field::Image,
            spec.input
                .check_size(source.width(), source.height())
                .map_err(|e| e.to_string()),
        );
        let mask = spec.mask.then(|| reader.mask(mask, &source)).flatten();
        let style = spec.style_image.then(|| reader.style(style)).flatten();
        reader.fits_one_request(&source, mask.as_ref(), style.as_ref(), operations);
        let operation = reader.operation(mask, style);
        match operation {
            Some(operation) if reader.errors.is_empty() => Ok(Self {
                spec: spec.clone(),
                source,
                operation,
            }),
            _ => Err(reader.errors),
        }
    }

    pub fn spec(&self) -> &OperationSpec {
        &self.spec
    }

    /// The picture the operation changes (for Style Transfer, the one it repaints).
    pub fn source(&self) -> &UploadedPicture {
        &self.source
    }

    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// The price of this edit in USD, as shown on the form and stored in its recipe.
    pub fn price_usd(&self) -> f64 {
        self.spec.price_per_image
    }

    /// The form that asks for exactly this edit again, its seed fixed: what a job keeps
    /// beside the pictures, so any process can run it the same way.
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut form = vec![pair(Field::Operation, self.spec.id())];
        let op = &self.operation;
        if let Some((prompt, negative)) = op.prompts() {
            form.extend(prompt.map(|p| pair(Field::Prompt, p.as_str())));
            form.extend(negative.map(|n| pair(Field::NegativePrompt, n.as_str())));
        }
        form.extend(
            op.settings()
                .into_iter()
                .map(|(param, value)| pair(Field::Param(param), &value.to_string())),
        );
        if let Some(seed) = op.seed() {
            form.push(pair(Field::Seed, &seed.to_string()));
            form.push((SEED_MODE.to_owned(), "fixed".to_owned()));
        }
        form
    }
}

impl Operation {
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Inpaint { .. } => OperationKind::Inpaint,
            Self::Outpaint { .. } => OperationKind::Outpaint,
            Self::Erase { .. } => OperationKind::Erase,
            Self::RemoveBackground => OperationKind::RemoveBackground,
            Self::SearchReplace { .. } => OperationKind::SearchReplace,
            Self::SearchRecolor { .. } => OperationKind::SearchRecolor,
            Self::UpscaleFast => OperationKind::UpscaleFast,
            Self::UpscaleConservative { .. } => OperationKind::UpscaleConservative,
            Self::UpscaleCreative { .. } => OperationKind::UpscaleCreative,
            Self::ControlSketch { .. } => OperationKind::ControlSketch,
            Self::ControlStructure { .. } => OperationKind::ControlStructure,
            Self::StyleGuide { .. } => OperationKind::StyleGuide,
            Self::StyleTransfer { .. } => OperationKind::StyleTransfer,
            Self::ImageToImage { .. } => OperationKind::ImageToImage,
        }
    }

    /// The mask of an operation that takes one.
    pub fn mask(&self) -> Option<&Mask> {
        match self {
            Self::Inpaint { mask, .. } | Self::Erase { mask, .. } => Some(mask),
            _ => None,
        }
    }

    /// Style Transfer's second picture.
    pub fn style(&self) -> Option<&UploadedPicture> {
        match self {
            Self::StyleTransfer { style, .. } => Some(style),
            _ => None,
        }
    }

    /// The seed sent, if the operation takes one.
    pub fn seed(&self) -> Option<Seed> {
        match self {
            Self::RemoveBackground | Self::UpscaleFast => None,
            Self::Inpaint { seed, .. }
            | Self::Outpaint { seed, .. }
            | Self::Erase { seed, .. }
            | Self::SearchReplace { seed, .. }
            | Self::SearchRecolor { seed, .. }
            | Self::UpscaleConservative { seed, .. }
            | Self::UpscaleCreative { seed, .. }
            | Self::ControlSketch { seed, .. }
            | Self::ControlStructure { seed, .. }
            | Self::StyleGuide { seed, .. }
            | Self::StyleTransfer { seed, .. }
            | Self::ImageToImage { seed, .. } => Some(*seed),
        }
    }

    /// The prompt (if any) and negative prompt (if any) of an operation that takes them.
    pub fn prompts(&self) -> Option<(Option<&Prompt>, Option<&Prompt>)> {
        match self {
            Self::Erase { .. } | Self::RemoveBackground | Self::UpscaleFast => None,
            Self::Outpaint { prompts, .. } | Self::StyleTransfer { prompts, .. } => {
                Some((prompts.prompt.as_ref(), prompts.negative_prompt.as_ref()))
            }
            Self::Inpaint { prompts, .. }
            | Self::SearchReplace { prompts, .. }
            | Self::SearchRecolor { prompts, .. }
            | Self::UpscaleConservative { prompts, .. }
            | Self::UpscaleCreative { prompts, .. }
            | Self::ControlSketch { prompts, .. }
            | Self::ControlStructure { prompts, .. }
            | Self::StyleGuide { prompts, .. }
            | Self::ImageToImage { prompts, .. } => {
                Some((Some(&prompts.prompt), prompts.negative_prompt.as_ref()))
            }
        }
    }

    /// The operation's own settings that have a value, by name, as the form and the wire
    /// format write them.
    pub fn settings(&self) -> Vec<(Param, Setting<'_>)> {
        let level = |param, level: &Level| (param, Setting::Number(level.0));
        let pixels = |param, pixels: &Pixels| (param, Setting::Whole(pixels.0));
        fn text(param: Param, text: &str) -> (Param, Setting<'_>) {
            (param, Setting::Text(text))
        }
        match self {
            Self::RemoveBackground | Self::UpscaleFast => vec![],
            Self::Inpaint { grow_mask, .. } | Self::Erase { grow_mask, .. } => {
                vec![pixels(Param::GrowMask, grow_mask)]
            }
            Self::Outpaint {
                sides, creativity, ..
            } => vec![
                pixels(Param::Left, &sides.left),
                pixels(Param::Right, &sides.right),
                pixels(Param::Up, &sides.up),
                pixels(Param::Down, &sides.down),
                level(Param::Creativity, creativity),
            ],
            Self::SearchReplace { search_prompt, .. } => {
                vec![text(Param::SearchPrompt, search_prompt.as_str())]
            }
            Self::SearchRecolor { select_prompt, .. } => {
                vec![text(Param::SelectPrompt, select_prompt.as_str())]
            }
            Self::UpscaleConservative { creativity, .. } => {
                vec![level(Param::Creativity, creativity)]
            }
            Self::UpscaleCreative {
                creativity,
                style_preset,
                ..
            } => [level(Param::Creativity, creativity)]
                .into_iter()
                .chain(
                    style_preset
                        .iter()
                        .map(|preset| text(Param::StylePreset, preset.as_str())),
                )
                .collect(),
            Self::ControlSketch {
                control_strength, ..
            }
            | Self::ControlStructure {
                control_strength, ..
            } => vec![level(Param::ControlStrength, control_strength)],
            Self::StyleGuide { fidelity, .. } => vec![level(Param::Fidelity, fidelity)],
            Self::StyleTransfer {
                composition_fidelity,
                style_strength,
                change_strength,
                ..
            } => vec![
                level(Param::CompositionFidelity, composition_fidelity),
                level(Param::StyleStrength, style_strength),
                level(Param::ChangeStrength, change_strength),
            ],
            Self::ImageToImage { change, .. } => vec![level(Param::Strength, change)],
        }
    }
}

/// The value of one setting: a number or text, as the wire format sends it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting<'a> {
    Whole(u32),
    Number(f64),
    Text(&'a str),
}

/// As the form writes it.
impl std::fmt::Display for Setting<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Setting::Whole(n) => n.fmt(f),
            Setting::Number(n) => n.fmt(f),
            Setting::Text(text) => f.write_str(text),
        }
    }
}

fn pair(field: Field, value: &str) -> (String, String) {
    (field.name().to_owned(), value.to_owned())
}

/// The first value sent for a field, or "" when it was not sent.
fn value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Reads one operation's fields, keeping every problem it finds.
struct Reader<'a> {
    form: &'a [(String, String)],
    spec: &'a OperationSpec,
    errors: FieldErrors,
}

impl Reader<'_> {
    fn raw(&self, field: Field) -> &str {
        value(self.form, field.name())
    }

    fn mask(&mut self, mask: Option<Mask>, source: &UploadedPicture) -> Option<Mask> {
        let result = match mask {
            None => Err("Paint the area to change, or upload a mask.".to_owned()),
            Some(mask) if (mask.width(), mask.height()) != (source.width(), source.height()) => {
                Err(MaskError::WrongSize {
                    width: mask.width(),
                    height: mask.height(),
                    picture_width: source.width(),
                    picture_height: source.height(),
                }
                .to_string())
            }
            Some(mask) => Ok(mask),
        };
        self.errors.check(Field::Mask, result)
    }

    fn style(&mut self, style: Option<UploadedPicture>) -> Option<UploadedPicture> {
        let result = match style {
            None => Err("Choose the picture whose style to apply.".to_owned()),
            Some(style) => self
                .spec
                .input
                .check_size(style.width(), style.height())
                .map(|()| style)
                .map_err(|e| e.to_string()),
        };
        self.errors.check(Field::StyleImage, result)
    }

    /// Pictures travel as base64 inside one InvokeModel body, which has a size limit.
    fn fits_one_request(
        &mut self,
        source: &UploadedPicture,
        mask: Option<&Mask>,
        style: Option<&UploadedPicture>,
        operations: &Operations,
    ) {
        let base64 = |bytes: usize| bytes.div_ceil(3) * 4;
        let pictures = base64(source.png().len())
            + mask.map_or(0, |mask| base64(mask.png().len()))
            + style.map_or(0, |style| base64(style.png().len()));
        let limit = operations.max_request_bytes();
        if pictures + REQUEST_OVERHEAD_BYTES > limit {
            let mb = |bytes: usize| bytes as f64 / 1e6;
            self.errors.check::<()>(
                Field::Image,
                Err(format!(
                    "The picture is too large to send: as Bedrock receives it (base64, with \
                     any mask or second picture) it is {:.1} MB, and Bedrock takes {:.1} MB a \
                     request. Make it smaller first.",
                    mb(pictures),
                    mb(limit)
                )),
            );
        }
    }

    fn prompts(&mut self) -> Option<Prompts<Prompt>> {
        let prompt = self.errors.check(
            Field::Prompt,
            Prompt::parse(
                self.raw(Field::Prompt),
                self.spec.max_prompt_chars,
                "prompt",
            ),
        );
        let negative_prompt = self.negative_prompt();
        Some(Prompts {
            prompt: prompt?,
            negative_prompt: negative_prompt?,
        })
    }

    fn optional_prompts(&mut self) -> Option<Prompts<Option<Prompt>>> {
        let prompt = self.optional(Field::Prompt, "prompt");
        let negative_prompt = self.negative_prompt();
        Some(Prompts {
            prompt: prompt?,
            negative_prompt: negative_prompt?,
        })
    }

    fn negative_prompt(&mut self) -> Option<Option<Prompt>> {
        self.optional(Field::NegativePrompt, "negative prompt")
    }

    /// Empty text is none; anything else must be a valid prompt.
    fn optional(&mut self, field: Field, what: &str) -> Option<Option<Prompt>> {
        let raw = self.raw(field);
        let result = if raw.trim().is_empty() {
            Ok(None)
        } else {
            Prompt::parse(raw, self.spec.max_prompt_chars, what).map(Some)
        };
        self.errors.check(field, result)
    }

    fn seed(&mut self) -> Option<Seed> {
        let seeds = self
            .spec
            .seeds()
            .expect("checked against the kind at start");
        let result = Seed::from_form(
            value(self.form, SEED_MODE),
            self.raw(Field::Seed),
            *seeds.start(),
            *seeds.end(),
        );
        self.errors.check(Field::Seed, result)
    }

    fn pixels(&mut self, param: Param) -> Option<Pixels> {
        let ParamRule::Whole { min, max, default } = self.spec.param(param).rule else {
            unreachable!("{} is a whole number: checked at start", param.name())
        };
        let raw = self.raw(Field::Param(param)).trim();
        let result = if raw.is_empty() {
            Ok(default)
        } else {
            raw.parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("Choose a whole number from {min} to {max}."))
        };
        self.errors.check(Field::Param(param), result.map(Pixels))
    }

    fn level(&mut self, param: Param) -> Option<Level> {
        let ParamRule::Number { min, max, default } = self.spec.param(param).rule else {
            unreachable!("{} is a number: checked at start", param.name())
        };
        let raw = self.raw(Field::Param(param)).trim();
        let result = if raw.is_empty() {
            Ok(default)
        } else {
            raw.parse::<f64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("Choose a number from {min} to {max}."))
        };
        self.errors.check(Field::Param(param), result.map(Level))
    }

    fn text(&mut self, param: Param, what: &str) -> Option<Prompt> {
        let raw = self.raw(Field::Param(param));
        let result = Prompt::parse(raw, self.spec.max_prompt_chars, what);
        self.errors.check(Field::Param(param), result)
    }

    fn preset(&mut self, param: Param) -> Option<Option<StylePreset>> {
        let ParamRule::Choice(options) = &self.spec.param(param).rule else {
            unreachable!("{} is a choice: checked at start", param.name())
        };
        let raw = self.raw(Field::Param(param)).trim();
        let result = if raw.is_empty() {
            Ok(None)
        } else if options.iter().any(|option| option == raw) {
            Ok(Some(StylePreset(raw.to_owned())))
        } else {
            Err("Choose one of the listed styles.".to_owned())
        };
        self.errors.check(Field::Param(param), result)
    }

    fn sides(&mut self) -> Option<Sides> {
        let left = self.pixels(Param::Left);
        let right = self.pixels(Param::Right);
        let up = self.pixels(Param::Up);
        let down = self.pixels(Param::Down);
        let sides = Sides {
            left: left?,
            right: right?,
            up: up?,
            down: down?,
        };
        let grows = [sides.left, sides.right, sides.up, sides.down]
            .iter()
            .any(|side| side.0 > 0);
        self.errors.check(
            Field::Sides,
            if grows {
                Ok(sides)
            } else {
                Err("Add pixels on at least one side.".to_owned())
            },
        )
    }

    /// The operation with its settings. Every field is read before any is given up on, so
    /// every problem is reported.
    fn operation(
        &mut self,
        mask: Option<Mask>,
        style: Option<UploadedPicture>,
    ) -> Option<Operation> {
        use OperationKind as Kind;
        let kind = self.spec.kind;
        Some(match kind {
            Kind::RemoveBackground => Operation::RemoveBackground,
            Kind::UpscaleFast => Operation::UpscaleFast,
            Kind::Erase => {
                let grow_mask = self.pixels(Param::GrowMask);
                let seed = self.seed();
                Operation::Erase {
                    mask: mask?,
                    grow_mask: grow_mask?,
                    seed: seed?,
                }
            }
            Kind::Inpaint => {
                let prompts = self.prompts();
                let grow_mask = self.pixels(Param::GrowMask);
                let seed = self.seed();
                Operation::Inpaint {
                    prompts: prompts?,
                    mask: mask?,
                    grow_mask: grow_mask?,
                    seed: seed?,
                }
            }
            Kind::Outpaint => {
                let prompts = self.optional_prompts();
                let sides = self.sides();
                let creativity = self.level(Param::Creativity);
                let seed = self.seed();
                Operation::Outpaint {
                    prompts: prompts?,
                    sides: sides?,
                    creativity: creativity?,
                    seed: seed?,
                }
            }
            Kind::SearchReplace => {
                let prompts = self.prompts();
                let search = self.text(Param::SearchPrompt, "description of what to find");
                let seed = self.seed();
                Operation::SearchReplace {
                    prompts: prompts?,
                    search_prompt: search?,
                    seed: seed?,
                }
            }
            Kind::SearchRecolor => {
                let prompts = self.prompts();
                let select = self.text(Param::SelectPrompt, "description of what to recolour");
                let seed = self.seed();
                Operation::SearchRecolor {
                    prompts: prompts?,
                    select_prompt: select?,
                    seed: seed?,
                }
            }
            Kind::UpscaleConservative => {
                let prompts = self.prompts();
                let creativity = self.level(Param::Creativity);
                let seed = self.seed();
                Operation::UpscaleConservative {
                    prompts: prompts?,
                    creativity: creativity?,
                    seed: seed?,
                }
            }
            Kind::UpscaleCreative => {
                let prompts = self.prompts();
                let creativity = self.level(Param::Creativity);
                let style_preset = self.preset(Param::StylePreset);
                let seed = self.seed();
                Operation::UpscaleCreative {
                    prompts: prompts?,
                    creativity: creativity?,
                    style_preset: style_preset?,
                    seed: seed?,
                }
            }
            Kind::ControlSketch | Kind::ControlStructure => {
                let prompts = self.prompts();
                let control_strength = self.level(Param::ControlStrength);
                let seed = self.seed();
                let (prompts, control_strength, seed) = (prompts?, control_strength?, seed?);
                if kind == Kind::ControlSketch {
                    Operation::ControlSketch {
                        prompts,
                        control_strength,
                        seed,
                    }
                } else {
                    Operation::ControlStructure {
                        prompts,
                        control_strength,
                        seed,
                    }
                }
            }
            Kind::StyleGuide => {
                let prompts = self.prompts();
                let fidelity = self.level(Param::Fidelity);
                let seed = self.seed();
                Operation::StyleGuide {
                    prompts: prompts?,
                    fidelity: fidelity?,
                    seed: seed?,
                }
            }
            Kind::StyleTransfer => {
                let prompts = self.optional_prompts();
                let composition = self.level(Param::CompositionFidelity);
                let style_strength = self.level(Param::StyleStrength);
                let change = self.level(Param::ChangeStrength);
                let seed = self.seed();
                Operation::StyleTransfer {
                    style: style?,
                    prompts: prompts?,
                    composition_fidelity: composition?,
                    style_strength: style_strength?,
                    change_strength: change?,
                    seed: seed?,
                }
            }
            Kind::ImageToImage => {
                let prompts = self.prompts();
                let change = self.level(Param::Strength);
                let seed = self.seed();
                Operation::ImageToImage {
                    prompts: prompts?,
                    change: change?,
                    seed: seed?,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};

    use super::*;
    use crate::upload::PictureLimits;

    fn png(picture: impl Into<image::DynamicImage>) -> Vec<u8> {
        let mut bytes = Vec::new();
        picture
            .into()
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    fn picture(width: u32, height: u32) -> UploadedPicture {
        let pixels = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 90]));
        // The smallest any operation takes, so each test meets the operation's own limit.
        UploadedPicture::parse(&png(pixels), &PictureLimits::FAST_UPSCALE).unwrap()
    }

    /// White (change) in the top-left 8x8 corner.
    fn mask(width: u32, height: u32) -> Mask {
        let pixels = GrayImage::from_fn(width, height, |x, y| {
            Luma([if x < 8 && y < 8 { 255 } else { 0 }])
        });
        Mask::parse(&png(pixels), width, height).unwrap()
    }

    fn only(source: UploadedPicture) -> EditPictures {
        EditPictures {
            source,
            mask: None,
            style: None,
        }
    }

    fn with_mask(source: UploadedPicture, mask: Mask) -> EditPictures {
        EditPictures {
            mask: Some(mask),
            ..only(source)
        }
    }

    fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(fields: &[(&str, &str)], pictures: EditPictures) -> Result<EditRequest, FieldErrors> {
        EditRequest::parse(&form(fields), pictures, &Operations::built_in())
    }

    fn refused(fields: &[(&str, &str)], pictures: EditPictures) -> FieldErrors {
        parse(fields, pictures).unwrap_err()
    }

    #[test]
    fn a_bare_inpaint_takes_the_services_defaults() {
        let request = parse(
            &[("operation", "inpaint"), ("prompt", " a red boat ")],
            with_mask(picture(64, 64), mask(64, 64)),
        )
        .unwrap();
        let Operation::Inpaint {
            prompts,
            grow_mask,
            seed,
            ..
        } = request.operation()
        else {
            panic!("{:?}", request.operation());
        };
        assert_eq!(prompts.prompt.as_str(), "a red boat");
        assert_eq!(prompts.negative_prompt, None);
        assert_eq!(grow_mask.get(), 5);
        assert!((1..=4_294_967_294).contains(&seed.value()));
        assert_eq!(request.price_usd(), 0.07);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = refused(
            &[
                ("operation", "inpaint"),
                ("prompt", ""),
                ("grow_mask", "21"),
                ("seed_mode", "fixed"),
                ("seed", "0"),
            ],
            only(picture(64, 64)),
        );
        assert_eq!(errors.get("prompt"), Some("Write a prompt first."));
        assert_eq!(
            errors.get("grow_mask"),
            Some("Choose a whole number from 0 to 20.")
        );
        assert_eq!(
            errors.get("seed"),
            Some("The seed must be a whole number from 1 to 4294967294.")
        );
        assert_eq!(
            errors.get("mask"),
            Some("Paint the area to change, or upload a mask.")
        );
    }

    #[test]
    fn an_unknown_operation_is_refused() {
        let errors = refused(&[("operation", "smudge")], only(picture(64, 64)));
        assert_eq!(
            errors.get("operation"),
            Some("Choose one of the listed operations.")
        );
    }

    #[test]
    fn a_mask_of_another_size_is_refused() {
        let errors = refused(
            &[("operation", "erase")],
            with_mask(picture(64, 64), mask(64, 80)),
        );
        assert_eq!(
            errors.get("mask"),
            Some("The mask is 64×80 but the picture is 64×64.")
        );
    }

    #[test]
    fn an_outpaint_must_grow_a_side_and_each_side_has_its_range() {
        let errors = refused(&[("operation", "outpaint")], only(picture(64, 64)));
        assert_eq!(
            errors.get("sides"),
            Some("Add pixels on at least one side.")
        );
        let errors = refused(
            &[("operation", "outpaint"), ("left", "2001"), ("up", "-3")],
            only(picture(64, 64)),
        );
        assert!(errors.get("left").is_some() && errors.get("up").is_some());
        let request = parse(
            &[("operation", "outpaint"), ("down", "40")],
            only(picture(64, 64)),
        )
        .unwrap();
        let Operation::Outpaint {
            prompts,
            sides,
            creativity,
            ..
        } = request.operation()
        else {
            panic!("{:?}", request.operation());
        };
        assert_eq!(prompts.prompt, None, "Outpaint's prompt is optional");
        assert_eq!((sides.left().get(), sides.down().get()), (0, 40));
        assert_eq!(creativity.value(), 0.5);
    }

    #[test]
    fn fields_the_operation_does_not_take_are_ignored() {
        let request = parse(
            &[
                ("operation", "erase"),
                ("prompt", "a cat"),
                ("left", "9999"),
                ("strength", "7"),
            ],
            with_mask(picture(64, 64), mask(64, 64)),
        )
        .unwrap();
        assert_eq!(request.operation().prompts(), None);
        let request = parse(
            &[("operation", "upscale-fast")],
            with_mask(picture(64, 64), mask(64, 64)),
        )
        .unwrap();
        assert_eq!(request.operation(), &Operation::UpscaleFast);
        assert_eq!(request.operation().seed(), None);
    }

    #[test]
    fn the_picture_must_fit_the_operations_limits() {
        let errors = refused(
            &[("operation", "upscale-creative"), ("prompt", "sharper")],
            only(picture(48, 48)),
        );
        assert_eq!(
            errors.get("image"),
            Some(
                "The picture is 48×48 pixels; this operation needs at least 64 pixels on each side."
            )
        );
        assert!(parse(&[("operation", "upscale-fast")], only(picture(48, 48))).is_ok());
    }

    #[test]
    fn pictures_too_large_for_one_request_are_refused_before_any_call() {
        let text = include_str!("../../operations.toml")
            .replace("max_request_bytes = 25000000", "max_request_bytes = 270000");
        let operations = Operations::parse(&text).unwrap();
        // A noisy 160x160 RGB PNG is about 77 KB, about 102 KB as base64.
        let noise = RgbImage::from_fn(160, 160, |x, y| {
            Rgb([
                ((x * 31) ^ (y * 17)) as u8,
                (x * y) as u8,
                (x + 3 * y) as u8,
            ])
        });
        let source = UploadedPicture::parse(&png(noise), &PictureLimits::EDIT).unwrap();
        let fields = form(&[("operation", "upscale-fast")]);
        let errors = EditRequest::parse(&fields, only(source), &operations).unwrap_err();
        let message = errors.get("image").unwrap();
        assert!(
            message.starts_with("The picture is too large to send:")
                && message.contains("Bedrock takes 0.3 MB a request"),
            "{message}"
        );
    }

    #[test]
    fn style_transfer_needs_a_second_picture_within_the_limits() {
        let fields = [("operation", "style-transfer")];
        let errors = refused(&fields, only(picture(64, 64)));
        assert_eq!(
            errors.get("style_image"),
            Some("Choose the picture whose style to apply.")
        );
        let too_small = EditPictures {
            style: Some(picture(64, 32)),
            ..only(picture(64, 64))
        };
        assert!(refused(&fields, too_small).get("style_image").is_some());
        let request = parse(
            &fields,
            EditPictures {
                style: Some(picture(80, 64)),
                ..only(picture(64, 64))
            },
        )
        .unwrap();
        let Operation::StyleTransfer {
            style,
            style_strength,
            ..
        } = request.operation()
        else {
            panic!("{:?}", request.operation());
        };
        assert_eq!((style.width(), style_strength.value()), (80, 1.0));
    }

    #[test]
    fn search_operations_need_what_to_find() {
        let errors = refused(
            &[("operation", "search-replace"), ("prompt", "a boat")],
            only(picture(64, 64)),
        );
        assert_eq!(
            errors.get("search_prompt"),
            Some("Write a description of what to find first.")
        );
        let errors = refused(
            &[("operation", "search-recolor"), ("prompt", "red")],
            only(picture(64, 64)),
        );
        assert!(errors.get("select_prompt").is_some());
    }

    #[test]
    fn a_creative_upscale_takes_only_a_listed_style() {
        let fields = |preset| {
            [
                ("operation", "upscale-creative"),
                ("prompt", "sharper"),
                ("style_preset", preset),
            ]
        };
        let errors = refused(&fields("vaporwave"), only(picture(64, 64)));
        assert_eq!(
            errors.get("style_preset"),
            Some("Choose one of the listed styles.")
        );
        let request = parse(&fields("anime"), only(picture(64, 64))).unwrap();
        let settings = request.operation().settings();
        assert_eq!(settings[1], (Param::StylePreset, Setting::Text("anime")));
    }

    #[test]
    fn how_much_to_change_runs_from_keep_to_replace() {
        for (raw, kept) in [("0", 0.0), ("1", 1.0), ("", 0.5)] {
            let request = parse(
                &[
                    ("operation", "image-to-image"),
                    ("prompt", "a lighthouse"),
                    ("strength", raw),
                ],
                only(picture(64, 64)),
            )
            .unwrap();
            let Operation::ImageToImage { change, .. } = request.operation() else {
                panic!("{:?}", request.operation());
            };
            assert_eq!(change.value(), kept);
        }
        let errors = refused(
            &[
                ("operation", "image-to-image"),
                ("prompt", "a lighthouse"),
                ("strength", "1.5"),
            ],
            only(picture(64, 64)),
        );
        assert_eq!(errors.get("strength"), Some("Choose a number from 0 to 1."));
    }

    #[test]
    fn every_operation_survives_the_trip_through_its_form() {
        for spec in Operations::built_in().all() {
            let fields = [
                ("operation", spec.id()),
                ("prompt", "a lighthouse"),
                ("negative_prompt", "fog"),
                ("search_prompt", "a boat"),
                ("select_prompt", "the sky"),
                ("left", "16"),
            ];
            let pictures = || EditPictures {
                source: picture(64, 64),
                mask: Some(mask(64, 64)),
                style: Some(picture(64, 64)),
            };
            let request = parse(&fields, pictures()).unwrap();
            let form = request.to_form();
            let again = EditRequest::parse(&form, pictures(), &Operations::built_in()).unwrap();
            assert_eq!(again.operation(), request.operation(), "{}", spec.id());
            assert_eq!(again.operation().kind(), spec.kind);
        }
    }
}
