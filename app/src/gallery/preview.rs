//! Display-sized previews: what gallery and result cards load instead of the full PNG.
//!
//! A JPEG at most [`LONG_SIDE`] pixels on its long side: a card is at most about 300 CSS
//! pixels wide, and twelve of them must fit the first page's byte budget (docs/gallery.md).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, RgbImage, codecs::jpeg::JpegEncoder};

use super::GalleryError;

pub(super) const LONG_SIDE: u32 = 320;
const QUALITY: u8 = 75;

/// The preview of a stored PNG. CPU work: call it off the async threads.
pub(super) fn make(png: &[u8]) -> Result<Vec<u8>, GalleryError> {
    let picture = ImageReader::with_format(Cursor::new(png), ImageFormat::Png)
        .decode()
        .map_err(|_| GalleryError::NotPng)?;
    let small = if picture.width().max(picture.height()) > LONG_SIDE {
        picture.thumbnail(LONG_SIDE, LONG_SIDE)
    } else {
        picture
    };
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&on_white(&small))
        .map_err(|e| GalleryError::Preview(e.to_string()))?;
    Ok(jpeg)
}

/// JPEG has no transparency: what is transparent (a removed background) shows as white.
fn on_white(picture: &DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::test_png;

    #[test]
    fn a_preview_is_a_small_jpeg_of_the_same_shape() {
        let png = test_png(1024, 512);
        let preview = make(&png).unwrap();
        let decoded = image::load_from_memory(&preview).unwrap();
        assert_eq!(image::guess_format(&preview).unwrap(), ImageFormat::Jpeg);
        assert_eq!(
            (decoded.width(), decoded.height()),
            (LONG_SIDE, LONG_SIDE / 2)
        );
        assert!(preview.len() < 40_000, "{} bytes", preview.len());
    }

    #[test]
    fn a_small_picture_keeps_its_size_and_transparency_turns_white() {
        let transparent = DynamicImage::new_rgba8(40, 30);
        let mut png = Vec::new();
        transparent
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let preview = image::load_from_memory(&make(&png).unwrap()).unwrap();
        assert_eq!((preview.width(), preview.height()), (40, 30));
        assert!(
            preview
                .to_rgb8()
                .pixels()
                .all(|p| p.0.iter().all(|c| *c > 250))
        );
    }

    #[test]
    fn what_is_not_a_png_has_no_preview() {
        assert!(matches!(make(b"<html>"), Err(GalleryError::NotPng)));
    }
}
