//! Stability AI's thirteen Image Services (edit, control, upscale) and SD3.5 Large's
//! image-to-image mode, as InvokeModel answers them.
//!
//! The services are called through their `us.` system inference profiles
//! (`POST /model/us.stability.stable-image-inpaint-v1:0/invoke`); the base model id answers 400
//! as AWS does for models without on-demand throughput. SD3.5 Large's image-to-image is its
//! own id (or its `us.` profile) with `"mode": "image-to-image"` in the body.
//!
//! Every body is checked field by field against [`SERVICES`] (one table: fields, ranges,
//! defaults, pixel limits, effect) and refused with 400 ValidationException in Bedrock's
//! schema wording. The pictures sent must be base64 PNG, JPEG or WebP within the service's
//! pixel limits; their size is read from the header before anything is decoded. The answer
//! is `{"seeds":[s],"finish_reasons":[null],"images":["<b64>"]}` with a picture that shows
//! what the operation does (see [`Effect`]), in the `output_format` asked for.
//!
//! The responder is mounted next to the double's own ([`mount`]) and records each call in the
//! double's `received()` list. Faults: the double's `will_block_prompt()` and
//! `will_block_output()` apply; [`ImageServiceFaults`] adds the input-image filter and the
//! inference error. Lifecycles, subscriptions and the other faults of the double do not reach
//! these calls.

mod pictures;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image::{DynamicImage, ImageFormat, ImageReader};
use serde_json::{Map, Value};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use super::aws_error::{self, json_answer};
use super::schema::{self, Violation};
use super::stability::{self, OUTPUT_FILTERED, PROMPT_FILTERED};
use super::{BedrockDouble, Invocation, Mode, State, lock};
use pictures::{Format, Sides};

/// The input filter found the picture sent unacceptable: HTTP 200, no image.
pub const INPUT_IMAGE_FILTERED: &str = "Filter reason: input image";
/// The model failed to make a picture: HTTP 200, no image.
pub const INFERENCE_ERROR: &str = "Inference error";

const MAX_SEED: i64 = 4_294_967_294;
const MAX_PROMPT: usize = 10_000;
/// SD3.5 Large's id; its image-to-image calls are answered here, text-to-image ones by the
/// double's own responder.
const SD35_LARGE: &str = "stability.sd3-5-large-v1:0";
const IMAGE_TO_IMAGE: &str = "image-to-image";

/// Mock priorities (wiremock tries lower numbers first): the double's catch-all has the
/// default 5, so these win over it whichever is mounted first.
const SERVICE_PRIORITY: u8 = 4;
const FAULT_PRIORITY: u8 = 3;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A string of `min` to 10,000 characters.
    Text {
        min: usize,
    },
    /// A number in `min..=max`.
    Number {
        min: f64,
        max: f64,
        default: f64,
    },
    /// An integer in `min..=max`.
    Integer {
        min: i64,
        max: i64,
        default: i64,
    },
    OneOf(&'static [&'static str]),
    /// A base64 PNG, JPEG or WebP within the service's pixel limits.
    Picture,
    /// A base64 picture of exactly the size of `image`; white marks what to change.
    Mask,
}

#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    rule: Rule,
    required: bool,
}

const fn required(name: &'static str, rule: Rule) -> Field {
    Field {
        name,
        rule,
        required: true,
    }
}

const fn optional(name: &'static str, rule: Rule) -> Field {
    Field {
        name,
        rule,
        required: false,
    }
}

const fn fraction(name: &'static str, default: f64) -> Field {
    optional(
        name,
        Rule::Number {
            min: 0.0,
            max: 1.0,
            default,
        },
    )
}

/// Pixels to add on one side of an outpaint.
const fn side(name: &'static str) -> Field {
    optional(
        name,
        Rule::Integer {
            min: 0,
            max: 2000,
            default: 0,
        },
    )
}

const IMAGE: Field = required("image", Rule::Picture);
const PROMPT: Field = required("prompt", Rule::Text { min: 1 });
const OPTIONAL_PROMPT: Field = optional("prompt", Rule::Text { min: 0 });
const NEGATIVE_PROMPT: Field = optional("negative_prompt", Rule::Text { min: 0 });
const SEED: Field = optional(
    "seed",
    Rule::Integer {
        min: 0,
        max: MAX_SEED,
        default: 0,
    },
);
const OUTPUT_FORMAT: Field = optional("output_format", Rule::OneOf(&["jpeg", "png", "webp"]));
const MASK: Field = required("mask", Rule::Mask);
const GROW_MASK: Field = optional(
    "grow_mask",
    Rule::Integer {
        min: 0,
        max: 20,
        default: 5,
    },
);

/// The 17 presets of Stability's API.
const STYLE_PRESETS: &[&str] = &[
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// How many pixels a picture sent may have.
#[derive(Debug, Clone, Copy)]
struct Pixels {
    min_side: u32,
    min_total: u64,
    max_total: u64,
}

/// Fast Upscale: 1,024 pixels (32x32) to one megapixel.
const FAST_UPSCALE_INPUT: Pixels = Pixels {
    min_side: 32,
    min_total: 1_024,
    max_total: 1_048_576,
};
/// Creative Upscale: 64x64 to one megapixel.
const CREATIVE_UPSCALE_INPUT: Pixels = Pixels {
    min_side: 64,
    min_total: 4_096,
    max_total: 1_048_576,
};
/// Conservative Upscale, and every other service: 64x64 to 9,437,184 pixels. For the edit
/// and control services that is Stability's own API limit; Bedrock's is not documented.
const EDIT_INPUT: Pixels = Pixels {
    min_side: 64,
    min_total: 4_096,
    max_total: 9_437_184,
};

/// About four megapixels (2048x2048): what the double answers for the "4K" upscalers unless
/// told otherwise. Real answers reach 16 MP; a quarter of that keeps a test's memory and time
/// small while still being far larger than any source a test sends.
pub(super) const UPSCALE_TARGET: u64 = 4_194_304;

/// What an operation does to the picture it is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    /// Each side times the factor.
    Upscale(u32),
    /// To about the double's upscale target in pixels, in the source's aspect ratio; never
    /// smaller than the source.
    UpscaleToTarget,
    /// Fresh pixels inside the mask (grown by `grow_mask`), the source elsewhere.
    Inpaint,
    /// The picture's mean colour inside the mask (grown by `grow_mask`), the source elsewhere.
    Erase,
    /// An RGBA picture, transparent where it has the corner's colour.
    RemoveBackground,
    /// The source on a canvas larger by `left`, `right`, `up` and `down`.
    Outpaint,
    /// The source's size, half repainted with fresh pixels.
    Restyle,
    /// `init_image`'s size, blended towards `style_image` by half of `style_strength`.
    StyleTransfer,
    /// The source's size, `strength` of the way to fresh pixels: 0 keeps the source exactly.
    ImageToImage,
}

/// One operation: how it is called and what it answers.
#[derive(Debug)]
pub struct Service {
    /// The base model id; calls go to its `us.` profile.
    pub id: &'static str,
    pub name: &'static str,
    /// Every field the body may hold, in the order they are checked.
    fields: &'static [Field],
    /// The limits of every picture sent (a mask has the size of its image).
    input: Pixels,
    effect: Effect,
}

impl Service {
    /// The `us.` system inference profile the service is called through.
    pub fn profile_id(&self) -> String {
        format!("us.{}", self.id)
    }

    fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// The fields of the services that take a picture, a prompt and one setting of their own.
const fn prompted(own: Field) -> [Field; 6] {
    [IMAGE, PROMPT, own, NEGATIVE_PROMPT, SEED, OUTPUT_FORMAT]
}

/// Stability's thirteen Image Services: fields, ranges and defaults from the research notes
/// (§3); where those give a default but no range, Stability's own API's range.
pub static SERVICES: [Service; 13] = [
    Service {
        id: "stability.stable-creative-upscale-v1:0",
        name: "Creative Upscale",
        fields: &[
            IMAGE,
            PROMPT,
            optional(
                "creativity",
                Rule::Number {
                    min: 0.1,
                    max: 0.5,
                    default: 0.3,
                },
            ),
            NEGATIVE_PROMPT,
            SEED,
            optional("style_preset", Rule::OneOf(STYLE_PRESETS)),
            OUTPUT_FORMAT,
        ],
        input: CREATIVE_UPSCALE_INPUT,
        effect: Effect::UpscaleToTarget,
    },
    Service {
        id: "stability.stable-conservative-upscale-v1:0",
        name: "Conservative Upscale",
        fields: &prompted(optional(
            "creativity",
            Rule::Number {
                min: 0.2,
                max: 0.5,
                default: 0.35,
            },
        )),
        input: EDIT_INPUT,
        effect: Effect::UpscaleToTarget,
    },
    Service {
        id: "stability.stable-fast-upscale-v1:0",
        name: "Fast Upscale",
        fields: &[IMAGE, OUTPUT_FORMAT],
        input: FAST_UPSCALE_INPUT,
        effect: Effect::Upscale(4),
    },
    Service {
        id: "stability.stable-image-inpaint-v1:0",
        name: "Inpaint",
        fields: &[
            IMAGE,
            PROMPT,
            MASK,
            GROW_MASK,
            NEGATIVE_PROMPT,
            SEED,
            OUTPUT_FORMAT,
        ],
        input: EDIT_INPUT,
        effect: Effect::Inpaint,
    },
    Service {
        id: "stability.stable-outpaint-v1:0",
        name: "Outpaint",
        fields: &[
            IMAGE,
            side("left"),
            side("right"),
            side("up"),
            side("down"),
            OPTIONAL_PROMPT,
            fraction("creativity", 0.5),
            NEGATIVE_PROMPT,
            SEED,
            OUTPUT_FORMAT,
        ],
        input: EDIT_INPUT,
        effect: Effect::Outpaint,
    },
    Service {
        id: "stability.stable-image-search-replace-v1:0",
        name: "Search and Replace",
        fields: &prompted(required("search_prompt", Rule::Text { min: 1 })),
        input: EDIT_INPUT,
        effect: Effect::Restyle,
    },
    Service {
        id: "stability.stable-image-search-recolor-v1:0",
        name: "Search and Recolor",
        fields: &prompted(required("select_prompt", Rule::Text { min: 1 })),
        input: EDIT_INPUT,
        effect: Effect::Restyle,
    },
    Service {
        id: "stability.stable-image-erase-object-v1:0",
        name: "Erase Object",
        fields: &[IMAGE, MASK, GROW_MASK, SEED, OUTPUT_FORMAT],
        input: EDIT_INPUT,
        effect: Effect::Erase,
    },
    Service {
        id: "stability.stable-image-remove-background-v1:0",
        name: "Remove Background",
        // A transparent picture has no JPEG form: Stability's API offers png and webp only.
        fields: &[
            IMAGE,
            optional("output_format", Rule::OneOf(&["png", "webp"])),
        ],
        input: EDIT_INPUT,
        effect: Effect::RemoveBackground,
    },
    Service {
        id: "stability.stable-image-control-sketch-v1:0",
        name: "Control Sketch",
        fields: &prompted(fraction("control_strength", 0.7)),
        input: EDIT_INPUT,
        effect: Effect::Restyle,
    },
    Service {
        id: "stability.stable-image-control-structure-v1:0",
        name: "Control Structure",
        fields: &prompted(fraction("control_strength", 0.7)),
        input: EDIT_INPUT,
        effect: Effect::Restyle,
    },
    Service {
        id: "stability.stable-image-style-guide-v1:0",
        name: "Style Guide",
        fields: &prompted(fraction("fidelity", 0.5)),
        input: EDIT_INPUT,
        effect: Effect::Restyle,
    },
    Service {
        id: "stability.stable-style-transfer-v1:0",
        name: "Style Transfer",
        fields: &[
            required("init_image", Rule::Picture),
            required("style_image", Rule::Picture),
            OPTIONAL_PROMPT,
            fraction("composition_fidelity", 0.9),
            fraction("style_strength", 1.0),
            optional(
                "change_strength",
                Rule::Number {
                    min: 0.1,
                    max: 1.0,
                    default: 0.9,
                },
            ),
            NEGATIVE_PROMPT,
            SEED,
            OUTPUT_FORMAT,
        ],
        input: EDIT_INPUT,
        effect: Effect::StyleTransfer,
    },
];

/// SD3.5 Large with `"mode": "image-to-image"`: "requires the prompt, image, and strength
/// parameters"; `aspect_ratio` is "valid for text-to-image requests only", so it is refused.
pub static SD35_IMAGE_TO_IMAGE: Service = Service {
    id: SD35_LARGE,
    name: "SD3.5 Large image-to-image",
    fields: &[
        required("mode", Rule::OneOf(&[IMAGE_TO_IMAGE])),
        PROMPT,
        IMAGE,
        required(
            "strength",
            Rule::Number {
                min: 0.0,
                max: 1.0,
                default: 0.0,
            },
        ),
        NEGATIVE_PROMPT,
        SEED,
        OUTPUT_FORMAT,
    ],
    input: EDIT_INPUT,
    effect: Effect::ImageToImage,
};

/// Where a call to `POST /model/{id}/invoke` goes.
#[derive(Debug, Clone, Copy)]
enum Route {
    Service(&'static Service),
    /// A service's base model id, called on demand.
    NeedsProfile(&'static Service),
}

/// The route of a request, if it is an image-service call at all.
fn route(request: &Request) -> Option<(String, Route)> {
    if request.method.as_str() != "POST" {
        return None;
    }
    let segments: Vec<&str> = request.url.path().split('/').collect();
    let ["", "model", raw_id, "invoke"] = segments.as_slice() else {
        return None;
    };
    let model_id = percent_encoding::percent_decode_str(raw_id)
        .decode_utf8_lossy()
        .into_owned();
    let (profile, id) = match model_id.strip_prefix("us.") {
        Some(id) => (true, id),
        None => (false, model_id.as_str()),
    };
    let route = if id == SD35_LARGE {
        // Only image-to-image bodies; text-to-image stays with the double's own responder.
        let body: Value = serde_json::from_slice(&request.body).ok()?;
        (body.get("mode")? == IMAGE_TO_IMAGE).then_some(Route::Service(&SD35_IMAGE_TO_IMAGE))?
    } else {
        let service = SERVICES.iter().find(|service| service.id == id)?;
        if profile {
            Route::Service(service)
        } else {
            Route::NeedsProfile(service)
        }
    };
    Some((model_id, route))
}

/// Matches the calls [`ImageServices`] answers.
struct ImageServiceCall;

impl Match for ImageServiceCall {
    fn matches(&self, request: &Request) -> bool {
        route(request).is_some()
    }
}

/// Answers image-service calls and records them in the double's list of invocations.
struct ImageServices {
    state: Arc<Mutex<State>>,
    /// A finish reason every valid call gets instead of a picture.
    finish: Option<&'static str>,
}

impl Respond for ImageServices {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some((model_id, route)) = route(request) else {
            unreachable!("only image-service calls are matched")
        };
        let body = serde_json::from_slice::<Value>(&request.body);
        let header = |name| {
            request
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let (finish, upscale_to, delay) = {
            let mut state = lock(&self.state);
            state.received.push(Invocation {
                model_id: model_id.clone(),
                body: body.as_ref().cloned().unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(&request.body).into_owned())
                }),
                content_type: content_type.clone(),
                accept: header("accept"),
            });
            let finish = match state.mode {
                Mode::BlockPrompt => Some(PROMPT_FILTERED),
                Mode::BlockOutput => Some(OUTPUT_FILTERED),
                _ => self.finish,
            };
            let delay = match state.mode {
                Mode::AnswerAfter(delay) => Some(delay),
                _ => None,
            };
            (finish, state.upscale_to, delay)
        };
        let is_json = content_type.as_deref().is_some_and(|value| {
            let media_type = value.split(';').next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("application/json")
        });
        let answer = match (route, body) {
            (_, _) if !is_json => validation(aws_error::UNSUPPORTED_CONTENT_TYPE),
            (Route::NeedsProfile(service), _) => {
                validation(&aws_error::needs_inference_profile(service.id))
            }
            (Route::Service(_), Err(_)) => validation(aws_error::MALFORMED_INPUT),
            (Route::Service(service), Ok(body)) => answer(service, &body, finish, upscale_to),
        };
        match delay {
            Some(delay) => answer.set_delay(delay),
            None => answer,
        }
    }
}

/// Makes the double answer the image services, recording their calls in its `received()`:
/// done for every double as it starts.
pub(super) async fn mount(bedrock: &BedrockDouble) {
    let state = bedrock.state.clone();
    mount_answering(&bedrock.server, state, None, SERVICE_PRIORITY).await;
}

async fn mount_answering(
    server: &MockServer,
    state: Arc<Mutex<State>>,
    finish: Option<&'static str>,
    priority: u8,
) {
    Mock::given(ImageServiceCall)
        .respond_with(ImageServices { state, finish })
        .with_priority(priority)
        .named("Stability Image Services")
        .mount(server)
        .await;
}

/// Faults only the image services have. Each holds for the rest of the double's life (a
/// fresh double per test); `reset()` does not undo it, and the first one set wins.
pub trait ImageServiceFaults {
    /// Every valid image-service call: 200 with `finish_reasons: ["Filter reason: input
    /// image"]` and no image.
    fn will_filter_input_image(&self) -> impl Future<Output = ()> + Send;
    /// Every valid image-service call: 200 with `finish_reasons: ["Inference error"]` and no
    /// image.
    fn will_fail_inference(&self) -> impl Future<Output = ()> + Send;
}

impl ImageServiceFaults for BedrockDouble {
    async fn will_filter_input_image(&self) {
        let state = self.state.clone();
        mount_answering(
            &self.server,
            state,
            Some(INPUT_IMAGE_FILTERED),
            FAULT_PRIORITY,
        )
        .await;
    }

    async fn will_fail_inference(&self) {
        let state = self.state.clone();
        mount_answering(&self.server, state, Some(INFERENCE_ERROR), FAULT_PRIORITY).await;
    }
}

/// A body that passed every check.
struct Checked<'a> {
    service: &'static Service,
    body: &'a Map<String, Value>,
    /// Each picture field with its decoded picture, in the table's order.
    pictures: Vec<(&'static str, DynamicImage)>,
    seed: u64,
}

impl Checked<'_> {
    /// The field's value, or its default.
    fn number(&self, name: &str) -> f64 {
        let default = match self.service.field(name).map(|field| field.rule) {
            Some(Rule::Number { default, .. }) => default,
            Some(Rule::Integer { default, .. }) => default as f64,
            other => unreachable!("{name} is not a number: {other:?}"),
        };
        self.body
            .get(name)
            .and_then(Value::as_f64)
            .unwrap_or(default)
    }

    /// The mask, one grey level per pixel.
    fn mask(&self) -> image::GrayImage {
        self.picture("mask").to_luma8()
    }

    /// How far the mask reaches beyond its white pixels.
    fn grow(&self) -> u32 {
        self.number("grow_mask") as u32
    }

    fn picture(&self, name: &str) -> &DynamicImage {
        let found = self.pictures.iter().find(|(field, _)| *field == name);
        &found.expect("the table requires this picture").1
    }

    /// The picture the operation changes: the first one the table lists.
    fn source(&self) -> &DynamicImage {
        &self.pictures[0].1
    }

    fn format(&self) -> Format {
        Format::named(
            self.body
                .get("output_format")
                .and_then(Value::as_str)
                .unwrap_or("png"),
        )
    }
}

fn answer(
    service: &'static Service,
    body: &Value,
    finish: Option<&str>,
    upscale_to: u64,
) -> ResponseTemplate {
    let call = match check(service, body) {
        Ok(call) => call,
        Err(violation) => return validation(&aws_error::malformed_input(&violation)),
    };
    if let Some(reason) = finish {
        return json_answer(200, stability::filtered_body(call.seed, reason));
    }
    let picture = paint(&call, upscale_to);
    let image = BASE64.encode(pictures::encode(&picture, call.format()));
    json_answer(200, stability::success_body(call.seed, &image.into()))
}

fn validation(message: &str) -> ResponseTemplate {
    aws_error::runtime(400, "ValidationException", message)
}

/// Checks the body as the service's schema does, then decodes its pictures.
fn check<'a>(service: &'static Service, body: &'a Value) -> Result<Checked<'a>, Violation> {
    let root = schema::object(body, "#")?;
    let names: Vec<&str> = service.fields.iter().map(|field| field.name).collect();
    schema::only_keys(root, "#", &names)?;
    for field in service.fields.iter().filter(|field| field.required) {
        schema::required(root, "#", field.name)?;
    }
    for field in service.fields {
        if let Some(value) = root.get(field.name) {
            check_value(field, value)?;
        }
    }
    if service.effect == Effect::Outpaint {
        let grows = ["left", "right", "up", "down"]
            .iter()
            .any(|side| root.get(*side).and_then(Value::as_i64).unwrap_or(0) > 0);
        if !grows {
            return Err(
                "#: at least one of [left, right, up, down] must be greater than 0".to_owned(),
            );
        }
    }
    let mut pictures: Vec<(&'static str, DynamicImage)> = Vec::new();
    for field in service.fields {
        let Some(Value::String(text)) = root.get(field.name) else {
            continue;
        };
        let picture = match field.rule {
            Rule::Picture => decode(field.name, text, |size| {
                within(service.name, service.input, size)
            })?,
            Rule::Mask => {
                let image = &pictures
                    .iter()
                    .find(|(name, _)| *name == "image")
                    .expect("the table lists the image before its mask")
                    .1;
                let wanted = (image.width(), image.height());
                decode(field.name, text, |size| same_size(size, wanted))?
            }
            _ => continue,
        };
        pictures.push((field.name, picture));
    }
    let seed = match root.get("seed").and_then(Value::as_u64) {
        None | Some(0) => rand::random_range(1..=MAX_SEED as u64),
        Some(seed) => seed,
    };
    Ok(Checked {
        service,
        body: root,
        pictures,
        seed,
    })
}

fn check_value(field: &Field, value: &Value) -> Result<(), Violation> {
    let pointer = schema::child("#", field.name);
    match field.rule {
        Rule::Text { min } => schema::text(value, &pointer, min, MAX_PROMPT).map(drop),
        Rule::Number { min, max, .. } => schema::number(value, &pointer, min, max).map(drop),
        Rule::Integer { min, max, .. } => schema::integer(value, &pointer, min, max).map(drop),
        Rule::OneOf(allowed) => schema::one_of(value, &pointer, allowed).map(drop),
        Rule::Picture | Rule::Mask => schema::string(value, &pointer).map(drop),
    }
}

/// The picture in a base64 field, if its format and size (read from its header before it is
/// decoded, so a decompression bomb costs nothing) pass `fits`.
///
/// Bedrock's texts for these refusals are not documented; these follow its schema wording.
fn decode(
    name: &str,
    text: &str,
    fits: impl FnOnce((u32, u32)) -> Result<(), String>,
) -> Result<DynamicImage, Violation> {
    let pointer = schema::child("#", name);
    let bytes = BASE64
        .decode(text)
        .map_err(|_| format!("{pointer}: expected a base64-encoded image"))?;
    let format = match image::guess_format(&bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => format,
        Ok(other) => {
            let found = other.extensions_str().first().copied().unwrap_or("unknown");
            return Err(format!(
                "{pointer}: expected a PNG, JPEG or WebP image, found {}",
                found.to_uppercase()
            ));
        }
        Err(_) => {
            return Err(format!(
                "{pointer}: expected a PNG, JPEG or WebP image, found unknown data"
            ));
        }
    };
    let unreadable =
        |error: image::ImageError| format!("{pointer}: the image is unreadable: {error}");
    let size = ImageReader::with_format(Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(unreadable)?;
    fits(size).map_err(|problem| format!("{pointer}: {problem}"))?;
    image::load_from_memory_with_format(&bytes, format).map_err(unreadable)
}

fn within(service: &str, limits: Pixels, (width, height): (u32, u32)) -> Result<(), String> {
    let total = u64::from(width) * u64::from(height);
    if width.min(height) < limits.min_side
        || !(limits.min_total..=limits.max_total).contains(&total)
    {
        return Err(format!(
            "{width}x{height} is {total} pixels; {service} takes {} to {} pixels, at least {} on each side",
            limits.min_total, limits.max_total, limits.min_side
        ));
    }
    Ok(())
}

fn same_size(size: (u32, u32), image: (u32, u32)) -> Result<(), String> {
    if size == image {
        Ok(())
    } else {
        Err(format!(
            "{}x{} does not match the image's {}x{}",
            size.0, size.1, image.0, image.1
        ))
    }
}

/// The answer's picture, from the effect in the table.
fn paint(call: &Checked, upscale_to: u64) -> DynamicImage {
    let source = call.source().to_rgb8();
    let seed = call.seed;
    let fresh = |x, y| pictures::fresh(seed, x, y);
    let picture = match call.service.effect {
        Effect::Upscale(factor) => {
            pictures::scale_to(&source, source.width() * factor, source.height() * factor)
        }
        Effect::UpscaleToTarget => {
            let (width, height) = upscaled_size(source.dimensions(), upscale_to);
            pictures::scale_to(&source, width, height)
        }
        Effect::Inpaint => pictures::repaint_masked(&source, &call.mask(), call.grow(), fresh),
        Effect::Erase => {
            let background = pictures::mean_colour(&source);
            pictures::repaint_masked(&source, &call.mask(), call.grow(), |_, _| background)
        }
        Effect::RemoveBackground => {
            return DynamicImage::ImageRgba8(pictures::remove_background(&source));
        }
        Effect::Outpaint => {
            let side = |name| call.number(name) as u32;
            let sides = Sides {
                left: side("left"),
                right: side("right"),
                up: side("up"),
                down: side("down"),
            };
            pictures::outpaint(&source, sides, seed)
        }
        Effect::Restyle => pictures::blend(&source, 0.5, fresh),
        Effect::StyleTransfer => {
            let style = call.picture("style_image").to_rgb8();
            let style = pictures::scale_to(&style, source.width(), source.height());
            let amount = 0.5 * call.number("style_strength");
            pictures::blend(&source, amount, |x, y| *style.get_pixel(x, y))
        }
        Effect::ImageToImage => pictures::blend(&source, call.number("strength"), fresh),
    };
    DynamicImage::ImageRgb8(picture)
}

/// `size` scaled in its own aspect ratio to about `target` pixels, never smaller.
fn upscaled_size((width, height): (u32, u32), target: u64) -> (u32, u32) {
    let pixels = u64::from(width) * u64::from(height);
    let scale = (target as f64 / pixels as f64).sqrt().max(1.0);
    let scaled = |side: u32| (f64::from(side) * scale).round() as u32;
    (scaled(width), scaled(height))
}
