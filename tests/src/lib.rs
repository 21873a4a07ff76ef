//! Easel's test support: the Bedrock double, the OpenID Connect provider and the in-process app
//! with its browsers.

pub mod bedrock_double;
pub mod flaky_store;
pub mod oidc_provider;
pub mod old_gallery;
pub mod process;
pub mod test_app;
pub mod wait;

pub use bedrock_double::BedrockDouble;
pub use test_app::{
    ApiAnswer, Browser, Page, TestApp, api_call, api_get, api_post, spawn_app, spawn_app_on,
    spawn_app_with, spawn_app_with_sign_in,
};
pub use wait::{PATIENCE, wait_until};
