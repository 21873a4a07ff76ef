//! The gallery: every image a browser has generated, kept in an object store
//! (a local folder or S3).
//!
//! Layout: `galleries/{owner}/{image_id}.png`, its preview `.jpg` and its record `.json` beside
//! it, and the owner's index under `galleries/{owner}/index/`. Keys are
//! only ever built from a validated [`OwnerId`] and [`ImageId`], so one
//! browser can never reach another's images. Internal objects (probe, secrets)
//! live under `_easel/`.

mod ids;
mod index;
mod png_text;
mod preview;
mod record;
mod store;

use std::path::PathBuf;

pub use ids::{ImageId, OwnerId};
pub use png_text::{png_size, read_text_chunks};
pub use record::{EditRecipe, ImageRecord, Origin, Recipe};
pub use store::{Gallery, GalleryPage};

impl From<crate::storage::StorageError> for GalleryError {
    fn from(error: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError;
        match error {
            StorageError::Store(e) => Self::Storage(e),
            StorageError::Corrupt { path, reason } => Self::Corrupt { path, reason },
            StorageError::CreateFolder { path, source } => Self::CreateFolder { path, source },
            StorageError::Sync(source) => Self::Sync(source),
            // Only a process's start opens a session, and it reports this itself.
            in_use @ StorageError::InUse(_) => {
                Self::Sync(std::io::Error::other(in_use.to_string()))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    #[error("gallery storage failed: {0}")]
    Storage(#[from] object_store::Error),
    #[error("the image is not a PNG")]
    NotPng,
    #[error("cannot make a preview: {0}")]
    Preview(String),
    #[error("gallery object {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("cannot create the gallery folder {}: {source}", path.display())]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the gallery's writes durable: {0}")]
    Sync(#[source] std::io::Error),
}

/// A small but real RGB PNG, as an encoder would produce it.
#[cfg(test)]
fn test_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i * 37) as u8).collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

#[cfg(test)]
fn test_recipe(prompt: &str) -> Recipe {
    Recipe {
        model_id: "amazon.nova-canvas-v1:0".to_owned(),
        model_name: "Nova Canvas".to_owned(),
        prompt: prompt.to_owned(),
        negative_prompt: Some("blurry".to_owned()),
        size: "16:9".to_owned(),
        cfg_scale: Some(6.5),
        quality: Some("premium".to_owned()),
        seed: 42,
        price_usd: 0.08,
        created_at: time::macros::datetime!(2025-06-01 12:30 UTC),
        origin: Origin::Generated,
    }
}
