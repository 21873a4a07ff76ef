//! Pictures and masks that arrive from a browser, turned into values the rest of
//! the app can trust.
//!
//! An upload is hostile until proven otherwise: its type is read from its first
//! bytes (never its name), its size is checked from the header before any pixel
//! is decoded, and what comes out is a fresh PNG with no metadata. The rest of
//! the app only ever sees [`UploadedPicture`] and [`Mask`], never raw bytes.
//!
//! Nothing here knows about HTTP: the errors carry sentences for the form field,
//! and the web layer picks the status.

pub mod a1111;
mod codec;
mod mask;
mod picture;
mod recipe_text;

pub use mask::{Mask, MaskError};
pub use picture::{PictureLimits, UploadError, UploadedPicture};
pub use recipe_text::{TooMuchText, recipe_text};
