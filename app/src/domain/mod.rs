//! Typed, validated generation and edit requests. Raw form text becomes these values at the
//! edge, checked against the chosen model's or operation's rules, so the Bedrock code never
//! sees a raw string.

mod edit;
mod prompt;
mod request;
mod seed;

pub use edit::{
    EditPictures, EditRequest, Level, Operation, Pixels, Prompts, Setting, Sides, StylePreset,
};
pub use prompt::Prompt;
pub use request::{Field, FieldErrors, GenerateForm, GenerationRequest, ImageCount, nearest_shape};
pub use seed::Seed;
