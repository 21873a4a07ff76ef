//! The journeys of a person in the page, against the real app and a Bedrock double that speaks
//! the real wire format. One binary, one module per concern.

mod admin;
mod adoption;
mod behind_cloudfront;
mod cookies;
mod edge;
mod edit;
mod errors;
mod gallery;
mod generate;
mod jobs_api;
mod models;
mod no_js;
mod openai_generations;
mod operations;
mod recipe;
mod share;
mod sign_in;
mod tokens;
mod validation;

pub const CORE: &str = "stability.stable-image-core-v1:1";
pub const ULTRA: &str = "stability.stable-image-ultra-v1:1";
pub const TITAN_V1: &str = "amazon.titan-image-generator-v1";
pub const NOVA: &str = "amazon.nova-canvas-v1:0";
