//! A stand-in for Amazon Bedrock that the real AWS SDK clients cannot tell apart from the
//! service: `aws-sdk-bedrockruntime` (InvokeModel) and `aws-sdk-bedrock` (the control
//! plane), pointed at [`BedrockDouble::uri`] as their endpoint URL.
//!
//! It speaks the wire format of Bedrock's image models: the Titan family (Titan Image
//! Generator v1 and v2, Nova Canvas) and the Stability family (Stable Image Core and Ultra,
//! SD3.5 Large), with each model's request rules, the real restJson1 errors (texts taken from
//! the live service where known), each model's lifecycle and the account's AWS Marketplace
//! subscription to it (its agreement). Generated images are placeholder
//! PNGs of the requested size; Stability answers about one megapixel in the requested aspect
//! ratio, always as PNG.
//!
//! ```no_run
//! # async fn journey() {
//! use easel_tests::bedrock_double::BedrockDouble;
//!
//! let bedrock = BedrockDouble::start().await;
//! bedrock.will_throttle_times(1);
//! // ... point the app at bedrock.uri(), generate, then look at what it sent:
//! let calls = bedrock.received();
//! # }
//! ```

mod aws_error;
mod control_plane;
pub mod image_services;
mod marketplace;
mod models;
mod placeholder_png;
mod runtime;
mod schema;
mod stability;
mod titan;

#[cfg(test)]
mod sdk_tests;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use models::{Date, MODELS, Model};

/// Where a model stands, as the control plane reports it and InvokeModel enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// Listed as ACTIVE, answers InvokeModel.
    Active,
    /// Listed as LEGACY with its dates; InvokeModel answers 404 ResourceNotFoundException
    /// (an account that has not used the model lately).
    Legacy {
        /// `YYYY-MM-DD`, e.g. `"2027-03-01"`.
        end_of_life: &'static str,
    },
    /// Gone from the list, GetFoundationModel answers 404; InvokeModel answers 404
    /// ResourceNotFoundException "This model version has reached the end of its life. ...".
    EndOfLife,
    /// Unknown to the region: not listed, and InvokeModel answers 400 ValidationException
    /// "The provided model identifier is invalid.".
    NotInRegion,
    /// Listed with `inferenceTypesSupported: ["INFERENCE_PROFILE"]`, with a system-defined
    /// inference profile `profile_id`; calling the model id answers 400 ValidationException,
    /// calling the profile id works.
    NeedsInferenceProfile { profile_id: String },
}

/// Where the account's AWS Marketplace subscription to a model stands (its "agreement", as
/// GetFoundationModelAvailability reports it). Every model starts subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subscription {
    /// AVAILABLE: InvokeModel answers.
    #[default]
    Subscribed,
    /// PENDING: being set up (up to 15 minutes on AWS). InvokeModel answers meanwhile.
    Pending,
    /// NOT_AVAILABLE: InvokeModel answers 403 AccessDeniedException with the Marketplace text,
    /// unless the caller may subscribe ([`BedrockDouble::caller_may_subscribe`]).
    NotSubscribed,
    /// ERROR: the set-up failed; InvokeModel answers 403 with the Marketplace text.
    Failed,
}

/// One InvokeModel call as the double received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Percent-decoded, e.g. `"amazon.titan-image-generator-v1"`.
    pub model_id: String,
    /// The body as JSON; a body that is not JSON is kept as a JSON string, an empty one as null.
    pub body: serde_json::Value,
    pub content_type: Option<String>,
    pub accept: Option<String>,
}

/// How InvokeModel answers until the next change or `reset()`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    BlockPrompt,
    BlockOutput,
    Throttle,
    ThrottleTimes(usize),
    ServerError,
    AnswerAfter(Duration),
    ModelTimeout,
    ModelError,
    MalformedJson,
    BadBase64,
    DenyAccess,
    /// Only the invocation with this number (counted since the double started) fails.
    FailCall(usize),
    /// Invocations from this number on (counted since the double started) answer after the
    /// delay; earlier ones at once.
    SlowFromCall(usize, Duration),
}

/// How the control plane answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ControlPlaneMode {
    Normal,
    Refuse,
    Fail,
    AnswerAfter(Duration),
}

struct State {
    lifecycles: HashMap<&'static str, Lifecycle>,
    /// Per region, lifecycles that differ from `lifecycles` there.
    regional: HashMap<String, HashMap<&'static str, Lifecycle>>,
    /// Regions whose control plane refuses every call.
    refusing_regions: Vec<String>,
    mode: Mode,
    control_plane: ControlPlaneMode,
    received: Vec<Invocation>,
    /// Models whose subscription is not [`Subscription::Subscribed`].
    subscriptions: HashMap<&'static str, Subscription>,
    /// Whether an InvokeModel of an unsubscribed model starts its subscription, as it does for
    /// a principal allowed the aws-marketplace actions.
    caller_may_subscribe: bool,
    /// The models of every CreateFoundationModelAgreement accepted, in order.
    agreements_created: Vec<String>,
    /// About how many pixels the "4K" upscalers answer with.
    upscale_to: u64,
}

impl State {
    fn new(all_live: bool) -> Self {
        State {
            lifecycles: MODELS
                .iter()
                .map(|model| {
                    let lifecycle = if all_live {
                        Lifecycle::Active
                    } else {
                        model.lifecycle_today()
                    };
                    (model.id, lifecycle)
                })
                .collect(),
            regional: HashMap::new(),
            refusing_regions: Vec::new(),
            mode: Mode::Normal,
            control_plane: ControlPlaneMode::Normal,
            received: Vec::new(),
            subscriptions: HashMap::new(),
            caller_may_subscribe: false,
            agreements_created: Vec::new(),
            upscale_to: image_services::UPSCALE_TARGET,
        }
    }

    /// The state as a call signed for `request`'s region sees it.
    fn seen_from<'a>(&'a self, request: &Request) -> InRegion<'a> {
        InRegion {
            state: self,
            region: signed_region(request),
        }
    }
}

/// The models' lifecycles as one region reports them.
struct InRegion<'a> {
    state: &'a State,
    region: String,
}

impl InRegion<'_> {
    fn lifecycle(&self, model: &Model) -> &Lifecycle {
        self.state
            .regional
            .get(&self.region)
            .and_then(|lifecycles| lifecycles.get(model.id))
            .unwrap_or(&self.state.lifecycles[model.id])
    }

    fn subscription(&self, model: &Model) -> Subscription {
        self.state
            .subscriptions
            .get(model.id)
            .copied()
            .unwrap_or_default()
    }

    /// The model whose system-defined inference profile has this id.
    fn model_behind_profile(&self, profile: &str) -> Option<&'static Model> {
        MODELS.iter().find(|model| {
            matches!(self.lifecycle(model),
                Lifecycle::NeedsInferenceProfile { profile_id } if profile_id == profile)
        })
    }
}

/// The region a SigV4-signed call was signed for (`Credential=KEY/DATE/REGION/SERVICE/...`);
/// the double's own region when the call is not signed.
fn signed_region(request: &Request) -> String {
    request
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once("Credential=")?.1.split('/').nth(2))
        .unwrap_or(models::REGION)
        .to_owned()
}

/// # Panics
/// If the double does not know the model, or a Legacy end of life is not `YYYY-MM-DD`.
fn known_model(model_id: &str, lifecycle: &Lifecycle) -> &'static Model {
    let Some(model) = models::find(model_id) else {
        let known: Vec<&str> = MODELS.iter().map(|model| model.id).collect();
        panic!("the Bedrock double does not know {model_id}; it knows {known:?}");
    };
    if let Lifecycle::Legacy { end_of_life } = lifecycle {
        assert!(
            Date::parse(end_of_life).is_some(),
            "end_of_life must be YYYY-MM-DD, got {end_of_life:?}"
        );
    }
    model
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running Bedrock double. Dropping it stops the server.
pub struct BedrockDouble {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for BedrockDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockDouble")
            .field("uri", &self.uri())
            .finish_non_exhaustive()
    }
}

impl BedrockDouble {
    /// A double on a free local port whose models stand where they stand on AWS today in
    /// us-west-2: Titan v1, Titan v2 and Nova Canvas past their end of life, the Stability
    /// text-to-image models active.
    pub async fn start() -> Self {
        Self::launch(None, false).await
    }

    /// A double on a free local port where every model it knows is active.
    pub async fn start_all_live() -> Self {
        Self::launch(None, true).await
    }

    /// A double serving on `listener` (any address, e.g. `0.0.0.0:8080` for a container),
    /// with today's lifecycles.
    pub async fn start_on(listener: TcpListener) -> Self {
        Self::launch(Some(listener), false).await
    }

    async fn launch(listener: Option<TcpListener>, all_live: bool) -> Self {
        // The double keeps its own record of invocations; wiremock's copy of every request
        // would only cost memory in long runs.
        let mut builder = MockServer::builder().disable_request_recording();
        if let Some(listener) = listener {
            builder = builder.listener(listener);
        }
        let server = builder.start().await;
        let state = Arc::new(Mutex::new(State::new(all_live)));
        Mock::given(any())
            .respond_with(Bedrock {
                state: state.clone(),
            })
            .named("Amazon Bedrock")
            .mount(&server)
            .await;
        let double = BedrockDouble { server, state };
        image_services::mount(&double).await;
        double
    }

    /// Whether the double knows a model by this id.
    pub fn knows(model_id: &str) -> bool {
        models::find(model_id).is_some()
    }

    /// The endpoint URL for both clients, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The socket address the double listens on.
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    fn switch(&self, mode: Mode) {
        lock(&self.state).mode = mode;
    }

    /// The input content filter blocks every prompt: Titan family 400 ValidationException
    /// "This request has been blocked by our content filters. ..."; Stability 200 with
    /// `finish_reasons: ["Filter reason: prompt"]`.
    pub fn will_block_prompt(&self) {
        self.switch(Mode::BlockPrompt);
    }

    /// The output content filter blocks every image: Titan family 200
    /// `{"images":[],"error":"All of the generated images have been blocked by our content
    /// filters."}`; Stability 200 with `finish_reasons: ["Filter reason: output image"]`.
    pub fn will_block_output(&self) {
        self.switch(Mode::BlockOutput);
    }

    /// Every call: 429 ThrottlingException "Too many requests, please wait before trying again.".
    pub fn will_throttle(&self) {
        self.switch(Mode::Throttle);
    }

    /// The next `n` calls are throttled (429), then answers are normal again. The SDK retries
    /// throttling, so with its default three attempts `n = 1` or `2` ends in a success.
    pub fn will_throttle_times(&self, n: usize) {
        self.switch(if n == 0 {
            Mode::Normal
        } else {
            Mode::ThrottleTimes(n)
        });
    }

    /// Every call: 503 ServiceUnavailableException (the SDK retries it).
    pub fn will_fail_with_server_error(&self) {
        self.switch(Mode::ServerError);
    }

    /// Normal answers, each sent after `delay`.
    pub fn will_answer_after(&self, delay: Duration) {
        self.switch(Mode::AnswerAfter(delay));
    }

    /// Conservative and Creative Upscale answer with about `pixels` pixels (the bench's true 4K).
    pub fn will_upscale_to(&self, pixels: u64) {
        lock(&self.state).upscale_to = pixels;
    }

    /// Every valid call: 408 ModelTimeoutException (not retried by the SDK).
    pub fn will_time_out_model(&self) {
        self.switch(Mode::ModelTimeout);
    }

    /// Every valid call: 424 ModelErrorException with `originalStatusCode` 500 and the model
    /// ARN as `resourceName`.
    pub fn will_return_model_error(&self) {
        self.switch(Mode::ModelError);
    }

    /// Every valid call: 200, `Content-Type: application/json`, a body cut off mid-JSON.
    pub fn will_return_malformed_json(&self) {
        self.switch(Mode::MalformedJson);
    }

    /// Every valid call: 200 with valid JSON whose `images` entry is not base64.
    pub fn will_return_bad_base64(&self) {
        self.switch(Mode::BadBase64);
    }

    /// Every call: 403 AccessDeniedException from IAM, "User: ... is not authorized to perform:
    /// bedrock:InvokeModel on resource: ..." (the principal's policies do not allow the call).
    pub fn will_deny_access(&self) {
        self.switch(Mode::DenyAccess);
    }

    /// Only the `n`-th invocation from now (1-based) fails, with 424 ModelErrorException;
    /// the others succeed. Invocations are counted as they arrive, SDK retries included.
    pub fn will_fail_call_number(&self, n: usize) {
        assert!(n > 0, "calls are counted from 1");
        let mut state = lock(&self.state);
        state.mode = Mode::FailCall(state.received.len() + n);
    }

    /// The next `n` invocations answer at once, every later one only after `delay`: a job
    /// whose first pictures are made while the rest are still being painted.
    pub fn will_answer_slowly_after(&self, n: usize, delay: Duration) {
        let mut state = lock(&self.state);
        state.mode = Mode::SlowFromCall(state.received.len() + n + 1, delay);
    }

    /// Every control-plane call: 403 AccessDeniedException (the caller may not list models).
    pub fn will_refuse_control_plane(&self) {
        lock(&self.state).control_plane = ControlPlaneMode::Refuse;
    }

    /// Every control-plane call: 500 InternalServerException (the SDK retries it).
    pub fn will_fail_control_plane(&self) {
        lock(&self.state).control_plane = ControlPlaneMode::Fail;
    }

    /// Every control-plane call signed for `region`: 403 AccessDeniedException.
    pub fn will_refuse_control_plane_in(&self, region: &str) {
        lock(&self.state).refusing_regions.push(region.to_owned());
    }

    /// Normal control-plane answers, each sent after `delay` (a far or busy region).
    pub fn will_answer_control_plane_after(&self, delay: Duration) {
        lock(&self.state).control_plane = ControlPlaneMode::AnswerAfter(delay);
    }

    /// Normal answers again, for InvokeModel and the control plane. Lifecycles stay.
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.mode = Mode::Normal;
        state.control_plane = ControlPlaneMode::Normal;
    }

    /// Moves a model to another stage of its life, for the control plane and InvokeModel.
    ///
    /// # Panics
    /// If the double does not know the model, or a Legacy end of life is not `YYYY-MM-DD`.
    pub fn set_lifecycle(&self, model_id: &str, lifecycle: Lifecycle) {
        let model = known_model(model_id, &lifecycle);
        lock(&self.state).lifecycles.insert(model.id, lifecycle);
    }

    /// Like [`set_lifecycle`](Self::set_lifecycle), for calls signed for `region` only (say,
    /// a model offered in us-east-1 but not in the double's own us-west-2).
    pub fn set_lifecycle_in(&self, region: &str, model_id: &str, lifecycle: Lifecycle) {
        let model = known_model(model_id, &lifecycle);
        lock(&self.state)
            .regional
            .entry(region.to_owned())
            .or_default()
            .insert(model.id, lifecycle);
    }

    /// Makes every known model active in every region (what `start_all_live()` starts with).
    pub fn set_all_live(&self) {
        let mut state = lock(&self.state);
        state.regional.clear();
        for lifecycle in state.lifecycles.values_mut() {
            *lifecycle = Lifecycle::Active;
        }
    }

    /// The account has no AWS Marketplace subscription to the model: availability
    /// NOT_AVAILABLE, and InvokeModel answers 403 with the Marketplace text.
    pub fn model_is_not_subscribed(&self, model_id: &str) {
        self.set_subscription(model_id, Subscription::NotSubscribed);
    }

    /// The model's subscription is being set up: availability PENDING; InvokeModel answers.
    pub fn subscription_is_pending(&self, model_id: &str) {
        self.set_subscription(model_id, Subscription::Pending);
    }

    /// The model's subscription failed to set up: availability ERROR with its reason, and
    /// InvokeModel answers 403 with the Marketplace text.
    pub fn subscription_failed(&self, model_id: &str) {
        self.set_subscription(model_id, Subscription::Failed);
    }

    /// The model's subscription is made (AVAILABLE), as AWS does minutes after it was asked for.
    pub fn subscription_completes(&self, model_id: &str) {
        self.set_subscription(model_id, Subscription::Subscribed);
    }

    /// The caller holds the aws-marketplace actions: its first InvokeModel of an unsubscribed
    /// model answers and starts the subscription (PENDING).
    pub fn caller_may_subscribe(&self) {
        lock(&self.state).caller_may_subscribe = true;
    }

    /// Where the account's subscription to the model stands.
    pub fn subscription(&self, model_id: &str) -> Subscription {
        let model = known_model(model_id, &Lifecycle::Active);
        lock(&self.state)
            .subscriptions
            .get(model.id)
            .copied()
            .unwrap_or_default()
    }

    /// The models of every CreateFoundationModelAgreement accepted so far, in order.
    pub fn agreements_created(&self) -> Vec<String> {
        lock(&self.state).agreements_created.clone()
    }

    fn set_subscription(&self, model_id: &str, subscription: Subscription) {
        let model = known_model(model_id, &Lifecycle::Active);
        lock(&self.state)
            .subscriptions
            .insert(model.id, subscription);
    }

    /// Every InvokeModel call so far, in order (refused and failed ones included).
    pub fn received(&self) -> Vec<Invocation> {
        lock(&self.state).received.clone()
    }
}

/// The one responder behind every route.
struct Bedrock {
    state: Arc<Mutex<State>>,
}

impl Respond for Bedrock {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let segments: Vec<&str> = request
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["model", model_id, "invoke"]) => {
                runtime::invoke(&self.state, request, model_id)
            }
            ("GET", ["foundation-models"]) => {
                self.control_plane("ListFoundationModels", request, |state| {
                    control_plane::list_foundation_models(state, request)
                })
            }
            ("GET", ["foundation-models", model_id]) => {
                self.control_plane("GetFoundationModel", request, |state| {
                    control_plane::get_foundation_model(state, model_id)
                })
            }
            ("GET", ["inference-profiles"]) => {
                self.control_plane("ListInferenceProfiles", request, |state| {
                    control_plane::list_inference_profiles(state, request)
                })
            }
            ("GET", ["foundation-model-availability", model_id]) => {
                self.control_plane("GetFoundationModelAvailability", request, |state| {
                    marketplace::get_availability(state, model_id)
                })
            }
            ("GET", ["list-foundation-model-agreement-offers", model_id]) => {
                self.control_plane("ListFoundationModelAgreementOffers", request, |_| {
                    marketplace::list_offers(model_id, request)
                })
            }
            ("POST", ["create-foundation-model-agreement"]) => {
                let mut state = lock(&self.state);
                match control_plane::fault(
                    self.mode_for(&state, request),
                    "CreateFoundationModelAgreement",
                ) {
                    Some(fault) => fault,
                    None => marketplace::create_agreement(&mut state, request),
                }
            }
            _ => aws_error::control_plane(
                404,
                "UnknownOperationException",
                &format!(
                    "The Bedrock double does not serve {} {}",
                    request.method,
                    request.url.path()
                ),
            ),
        }
    }
}

impl Bedrock {
    fn control_plane(
        &self,
        operation: &str,
        request: &Request,
        answer: impl FnOnce(&InRegion) -> ResponseTemplate,
    ) -> ResponseTemplate {
        let state = lock(&self.state);
        let seen = state.seen_from(request);
        match self.mode_for(&state, request) {
            ControlPlaneMode::AnswerAfter(delay) => answer(&seen).set_delay(delay),
            mode => control_plane::fault(mode, operation).unwrap_or_else(|| answer(&seen)),
        }
    }

    /// How the control plane answers a call signed for `request`'s region.
    fn mode_for(&self, state: &State, request: &Request) -> ControlPlaneMode {
        if state.refusing_regions.contains(&signed_region(request)) {
            ControlPlaneMode::Refuse
        } else {
            state.control_plane
        }
    }
}
