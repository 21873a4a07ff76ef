//! The pictures the image services answer with: the source, changed the way each operation
//! changes it and nowhere else, so a test can tell which operation ran and with what.
//!
//! "Fresh" pixels, the ones a real model would paint, are diagonal bands in a colour picked by
//! the seed: the same seed paints the same picture, and they are easy to tell from a source.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use crate::bedrock_double::placeholder_png::SOFTWARE;

/// How far (per channel) a pixel may be from the corner's colour and still count as background.
const BACKGROUND_TOLERANCE: u8 = 24;

/// The pixel a model would paint at (x, y) for this seed.
pub(super) fn fresh(seed: u64, x: u32, y: u32) -> Rgb<u8> {
    let [r, g, b, ..] = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes();
    // Keep the colour away from black and white so it never reads as a mask or a background.
    let colour = [r, g, b].map(|c| 48 + c / 2);
    if ((x + y) / 16).is_multiple_of(2) {
        Rgb(colour)
    } else {
        Rgb(colour.map(|c| c - 40))
    }
}

/// The source stretched to `width` x `height` (nearest neighbour: a 4K answer in
/// milliseconds, and every source pixel stays recognisable as a block).
pub(super) fn scale_to(source: &RgbImage, width: u32, height: u32) -> RgbImage {
    imageops::resize(source, width, height, FilterType::Nearest)
}

/// The pixels to add on each side of an outpaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sides {
    pub(super) left: u32,
    pub(super) right: u32,
    pub(super) up: u32,
    pub(super) down: u32,
}

/// The source on a larger canvas, at (left, up); the margins carry its edge pixels outward,
/// banded with fresh pixels so that the new area shows.
pub(super) fn outpaint(source: &RgbImage, sides: Sides, seed: u64) -> RgbImage {
    let (width, height) = source.dimensions();
    let canvas_width = width + sides.left + sides.right;
    let canvas_height = height + sides.up + sides.down;
    RgbImage::from_fn(canvas_width, canvas_height, |x, y| {
        let inside_x = x >= sides.left && x < sides.left + width;
        let inside_y = y >= sides.up && y < sides.up + height;
        let edge = *source.get_pixel(
            x.saturating_sub(sides.left).min(width - 1),
            y.saturating_sub(sides.up).min(height - 1),
        );
        if inside_x && inside_y {
            edge
        } else {
            mix(edge, fresh(seed, x, y), 0.5)
        }
    })
}

/// The source with every pixel inside the mask (white, grown by `grow` pixels) replaced by
/// `paint(x, y)`; every other pixel is the source's own.
pub(super) fn repaint_masked(
    source: &RgbImage,
    mask: &GrayImage,
    grow: u32,
    paint: impl Fn(u32, u32) -> Rgb<u8>,
) -> RgbImage {
    let width = source.width();
    let inside = grown(mask, grow);
    RgbImage::from_fn(width, source.height(), |x, y| {
        if inside[(y * width + x) as usize] {
            paint(x, y)
        } else {
            *source.get_pixel(x, y)
        }
    })
}

/// The mean colour of the picture: what an erased object is replaced by.
pub(super) fn mean_colour(source: &RgbImage) -> Rgb<u8> {
    let count = u64::from(source.width()) * u64::from(source.height());
    let mut sums = [0u64; 3];
    for pixel in source.pixels() {
        for (sum, channel) in sums.iter_mut().zip(pixel.0) {
            *sum += u64::from(channel);
        }
    }
    Rgb(sums.map(|sum| (sum / count.max(1)) as u8))
}

/// The source with its background cut away: every pixel close to the top-left corner's
/// colour becomes fully transparent (the corner itself always does), the rest stays opaque.
pub(super) fn remove_background(source: &RgbImage) -> RgbaImage {
    let corner = *source.get_pixel(0, 0);
    RgbaImage::from_fn(source.width(), source.height(), |x, y| {
        let Rgb([r, g, b]) = *source.get_pixel(x, y);
        let near = [r, g, b]
            .iter()
            .zip(corner.0)
            .all(|(c, k)| c.abs_diff(k) <= BACKGROUND_TOLERANCE);
        Rgba([r, g, b, if near { 0 } else { 255 }])
    })
}

/// `amount` of the way from the source to `other` (0: the source exactly, 1: `other`).
pub(super) fn blend(
    source: &RgbImage,
    amount: f64,
    other: impl Fn(u32, u32) -> Rgb<u8>,
) -> RgbImage {
    RgbImage::from_fn(source.width(), source.height(), |x, y| {
        mix(*source.get_pixel(x, y), other(x, y), amount)
    })
}

fn mix(a: Rgb<u8>, b: Rgb<u8>, amount: f64) -> Rgb<u8> {
    let mut out = a;
    for (channel, (a, b)) in out.0.iter_mut().zip(a.0.into_iter().zip(b.0)) {
        *channel = (f64::from(a) * (1.0 - amount) + f64::from(b) * amount).round() as u8;
    }
    out
}

/// Which pixels the mask covers (white, 128 and up) once grown by `grow` pixels in every
/// direction (a square reach, as a dilation), row by row.
fn grown(mask: &GrayImage, grow: u32) -> Vec<bool> {
    let (width, height) = (mask.width() as usize, mask.height() as usize);
    let marked: Vec<bool> = mask.pixels().map(|pixel| pixel.0[0] >= 128).collect();
    if grow == 0 {
        return marked;
    }
    let reach = grow as usize;
    let rows = spread(&marked, (0..height).map(|y| y * width), 1, width, reach);
    spread(&rows, 0..width, width, height, reach)
}

/// Marks every cell within `reach` cells of a marked one along each line; a line starts at
/// one of `starts` and has `length` cells `step` apart. Two sweeps per line, so the cost does
/// not grow with the reach.
fn spread(
    marked: &[bool],
    starts: impl Iterator<Item = usize>,
    step: usize,
    length: usize,
    reach: usize,
) -> Vec<bool> {
    let mut out = marked.to_vec();
    for start in starts {
        let cells: Vec<usize> = (0..length).map(|i| start + i * step).collect();
        for sweep in [
            &cells[..],
            &cells.iter().rev().copied().collect::<Vec<_>>()[..],
        ] {
            let mut since_marked = usize::MAX;
            for &cell in sweep {
                since_marked = if marked[cell] {
                    0
                } else {
                    since_marked.saturating_add(1)
                };
                out[cell] |= since_marked <= reach;
            }
        }
    }
    out
}

/// The formats `output_format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Png,
    Jpeg,
    Webp,
}

impl Format {
    pub(super) fn named(name: &str) -> Format {
        match name {
            "jpeg" => Format::Jpeg,
            "webp" => Format::Webp,
            _ => Format::Png,
        }
    }
}

/// The picture's bytes in `format`. PNGs carry the double's `Software` text chunk like its
/// other placeholders; JPEG has no alpha, so a cut-out asked for as JPEG loses it (the
/// services that cut out refuse JPEG before it comes to that); WebP is lossless.
pub(super) fn encode(picture: &DynamicImage, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Png => write_png(&mut out, picture),
        Format::Jpeg => picture
            .to_rgb8()
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out, 90,
            ))
            .expect("writing to memory"),
        Format::Webp => {
            let encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            encoder
                .write_image(
                    picture.as_bytes(),
                    picture.width(),
                    picture.height(),
                    picture.color().into(),
                )
                .expect("writing RGB or RGBA to memory");
        }
    }
    out
}

fn write_png(out: &mut Vec<u8>, picture: &DynamicImage) {
    let colour = if picture.color().has_alpha() {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    let mut encoder = png::Encoder::new(out, picture.width(), picture.height());
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder
        .add_text_chunk("Software".to_owned(), SOFTWARE.to_owned())
        .expect("a Latin-1 keyword and text");
    let mut writer = encoder.write_header().expect("writing to memory");
    writer
        .write_image_data(picture.as_bytes())
        .expect("the buffer matches the size");
    writer.finish().expect("writing to memory");
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn mask_with_dot(size: u32, at: (u32, u32)) -> GrayImage {
        GrayImage::from_fn(size, size, |x, y| {
            Luma([if (x, y) == at { 255 } else { 0 }])
        })
    }

    #[test]
    fn a_grown_mask_reaches_exactly_as_far_as_asked_in_every_direction() {
        let inside = grown(&mask_with_dot(11, (5, 5)), 2);
        let covered: Vec<(usize, usize)> = (0..121)
            .filter(|&i| inside[i])
            .map(|i| (i % 11, i / 11))
            .collect();
        let expected: Vec<(usize, usize)> =
            (3..=7).flat_map(|y| (3..=7).map(move |x| (x, y))).collect();
        assert_eq!(covered, expected);
    }

    #[test]
    fn grey_below_half_is_outside_the_mask() {
        let mask = GrayImage::from_fn(2, 1, |x, _| Luma([if x == 0 { 127 } else { 128 }]));
        assert_eq!(grown(&mask, 0), [false, true]);
    }

    #[test]
    fn blending_nothing_keeps_the_source_and_everything_replaces_it() {
        let source = RgbImage::from_fn(8, 8, |x, y| Rgb([x as u8 * 30, y as u8 * 30, 7]));
        assert_eq!(blend(&source, 0.0, |x, y| fresh(3, x, y)), source);
        let replaced = blend(&source, 1.0, |x, y| fresh(3, x, y));
        assert!(
            replaced
                .enumerate_pixels()
                .all(|(x, y, p)| *p == fresh(3, x, y))
        );
    }

    #[test]
    fn every_format_is_what_it_says() {
        let picture = DynamicImage::ImageRgb8(RgbImage::from_pixel(4, 4, Rgb([1, 2, 3])));
        for (format, expected) in [
            (Format::Png, image::ImageFormat::Png),
            (Format::Jpeg, image::ImageFormat::Jpeg),
            (Format::Webp, image::ImageFormat::WebP),
        ] {
            let bytes = encode(&picture, format);
            assert_eq!(image::guess_format(&bytes).unwrap(), expected);
        }
    }
}
