//! Galleries as Easel stored them before the index and previews: per picture, a PNG and a JSON
//! record beside it, nothing else. The one place where tests write the store's files, to prove
//! that such galleries are read without loss after an upgrade.

use std::path::Path;

use easel::{
    gallery::{ImageId, ImageRecord, Origin, Recipe},
    identity::OwnerId,
};
use time::{Duration, OffsetDateTime};

/// Writes `count` pictures, a second apart, into `owner`'s gallery in the store folder `root`.
/// Returns their ids newest first, as the gallery shows them.
pub fn write(root: &Path, owner: &OwnerId, count: usize) -> Vec<String> {
    let folder = root.join("galleries").join(owner.as_str());
    std::fs::create_dir_all(&folder).expect("the owner's folder");
    let png = picture();
    let start = OffsetDateTime::now_utc() - Duration::days(30);
    let mut ids: Vec<String> = (0..count)
        .map(|n| {
            let recipe = Recipe {
                model_id: "stability.stable-image-core-v1:1".to_owned(),
                model_name: "Stable Image Core".to_owned(),
                prompt: format!("old picture {n}"),
                negative_prompt: None,
                size: "1:1".to_owned(),
                cfg_scale: None,
                quality: None,
                seed: n as u64,
                price_usd: 0.04,
                created_at: start + Duration::seconds(n as i64),
                origin: Origin::Generated,
            };
            let record = ImageRecord {
                id: ImageId::new(recipe.created_at),
                recipe,
                png_bytes: png.len() as u64,
            };
            let json = serde_json::to_vec_pretty(&record).expect("a record");
            std::fs::write(folder.join(format!("{}.png", record.id)), &png).expect("the PNG");
            std::fs::write(folder.join(format!("{}.json", record.id)), json).expect("the record");
            record.id.to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// A 256x256 picture with enough detail that its preview is clearly smaller.
fn picture() -> Vec<u8> {
    let (width, height) = (256, 256);
    let pixels: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            [(x ^ y) as u8, (x * 3) as u8, (y * 5) as u8]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("a PNG header");
    writer.write_image_data(&pixels).expect("PNG pixels");
    writer.finish().expect("a PNG");
    out
}
