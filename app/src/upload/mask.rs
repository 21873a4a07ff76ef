//! A mask: which pixels of a picture an operation may change, in Stability's
//! convention (white = change, black = keep).

use image::{ExtendedColorType, GrayImage, Rgba};

use super::codec::{Header, encode_png};
use super::{PictureLimits, UploadError};

/// A mask file is never worth more bytes than the largest picture it can cover.
const MAX_MASK_BYTES: usize = PictureLimits::EDIT.max_bytes;

/// Channel values up to this count as black, so the noise a JPEG leaves around
/// black areas does not paint them.
const NEAR_BLACK: u8 = 16;

const CHANGE: u8 = 255;
const KEEP: u8 = 0;

/// A mask of exactly its picture's size, every pixel either white (change) or
/// black (keep), with at least one white pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Mask {
    pixels: GrayImage,
}

impl Mask {
    /// Reads a PNG, JPEG or WebP mask for a picture of the given size.
    ///
    /// Which pixels mean "change":
    /// - a file with any see-through pixel (a brush layer exported from a
    ///   canvas) marks every pixel that is not fully transparent, whatever its
    ///   colour;
    /// - an opaque file (a black-and-white mask made elsewhere) marks every
    ///   pixel that is not black or near black.
    ///
    /// The file is refused before decoding when its header gives another size.
    pub fn parse(bytes: &[u8], picture_width: u32, picture_height: u32) -> Result<Self, MaskError> {
        if bytes.len() > MAX_MASK_BYTES {
            return Err(UploadError::TooManyBytes {
                bytes: bytes.len(),
                max_bytes: MAX_MASK_BYTES,
            }
            .into());
        }
        let pixel_count = u64::from(picture_width) * u64::from(picture_height);
        let header = Header::read(bytes, pixel_count)?;
        let (width, height) = header.size();
        if (width, height) != (picture_width, picture_height) {
            return Err(MaskError::WrongSize {
                width,
                height,
                picture_width,
                picture_height,
            });
        }
        let painted = header.decode()?.into_rgba8();
        let see_through = painted.pixels().any(|pixel| pixel[3] < u8::MAX);
        let is_change = |&Rgba([r, g, b, alpha]): &Rgba<u8>| {
            if see_through {
                alpha > 0
            } else {
                r.max(g).max(b) > NEAR_BLACK
            }
        };
        let pixels = GrayImage::from_fn(width, height, |x, y| {
            image::Luma([if is_change(painted.get_pixel(x, y)) {
                CHANGE
            } else {
                KEEP
            }])
        });
        Self::new(pixels)
    }

    /// The same mask with change and keep swapped: "change everything but
    /// this". A mask that covered the whole picture has an empty inverse.
    pub fn inverted(&self) -> Result<Self, MaskError> {
        let mut pixels = self.pixels.clone();
        pixels.iter_mut().for_each(|value| *value = CHANGE - *value);
        Self::new(pixels)
    }

    fn new(pixels: GrayImage) -> Result<Self, MaskError> {
        if pixels.iter().all(|&value| value == KEEP) {
            return Err(MaskError::Empty);
        }
        Ok(Self { pixels })
    }

    /// The mask as a single-channel PNG, white where the picture may change.
    pub fn png(&self) -> Vec<u8> {
        encode_png(
            &self.pixels,
            self.pixels.width(),
            self.pixels.height(),
            ExtendedColorType::L8,
        )
    }

    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }
}

/// The size and how much is painted, not every pixel, in logs and test failures.
impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let changed = self.pixels.iter().filter(|&&value| value == CHANGE).count();
        write!(
            f,
            "Mask({}×{}, {changed} pixels to change)",
            self.width(),
            self.height()
        )
    }
}

/// Why a mask was refused, as a sentence shown next to the mask field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MaskError {
    /// Too large a file, not a picture, or damaged.
    #[error(transparent)]
    File(#[from] UploadError),
    #[error("The mask is {width}×{height} but the picture is {picture_width}×{picture_height}.")]
    WrongSize {
        width: u32,
        height: u32,
        picture_width: u32,
        picture_height: u32,
    },
    #[error("The mask is empty: paint the area to change.")]
    Empty,
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;
    use crate::upload::codec::file;

    /// What a canvas painter exports: transparent, with a stroke in `colour`
    /// over the square from (10, 10) to (19, 19).
    fn brush_layer(colour: [u8; 3]) -> RgbaImage {
        let [r, g, b] = colour;
        RgbaImage::from_fn(64, 48, |x, y| {
            let inside = (10..20).contains(&x) && (10..20).contains(&y);
            if inside {
                Rgba([r, g, b, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        })
    }

    fn changed_pixels(mask: &Mask) -> Vec<(u32, u32)> {
        let png = image::load_from_memory_with_format(&mask.png(), ImageFormat::Png).unwrap();
        let DynamicImage::ImageLuma8(pixels) = png else {
            panic!("the mask PNG is single-channel 8-bit");
        };
        assert!(pixels.iter().all(|&v| v == CHANGE || v == KEEP));
        pixels
            .enumerate_pixels()
            .filter(|(_, _, Luma([v]))| *v == CHANGE)
            .map(|(x, y, _)| (x, y))
            .collect()
    }

    fn square() -> Vec<(u32, u32)> {
        (10..20)
            .flat_map(|y| (10..20).map(move |x| (x, y)))
            .collect()
    }

    #[test]
    fn a_painted_stroke_becomes_white_whatever_its_colour() {
        for colour in [[255, 255, 255], [255, 0, 0], [0, 0, 0]] {
            let mask = Mask::parse(&file(brush_layer(colour), ImageFormat::Png), 64, 48).unwrap();
            assert_eq!((mask.width(), mask.height()), (64, 48));
            assert_eq!(changed_pixels(&mask), square(), "stroke in {colour:?}");
        }
    }

    #[test]
    fn an_opaque_black_and_white_jpeg_mask_keeps_its_white_area() {
        let drawn = RgbImage::from_fn(64, 48, |x, y| {
            let inside = (16..48).contains(&x) && (16..32).contains(&y);
            if inside {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            }
        });
        let mask = Mask::parse(&file(drawn, ImageFormat::Jpeg), 64, 48).unwrap();
        let changed = changed_pixels(&mask);
        // JPEG blurs the edge by a pixel or two; the black stays black.
        assert!(changed.contains(&(20, 20)) && changed.contains(&(44, 28)));
        assert!(
            changed
                .iter()
                .all(|&(x, y)| (14..50).contains(&x) && (14..34).contains(&y))
        );
    }

    #[test]
    fn a_mask_of_another_size_is_refused_before_decoding() {
        let small = file(RgbImage::new(512, 512), ImageFormat::Png);
        assert_eq!(
            Mask::parse(&small, 1024, 1024).unwrap_err().to_string(),
            "The mask is 512×512 but the picture is 1024×1024."
        );
    }

    #[test]
    fn a_mask_with_nothing_painted_is_refused() {
        for empty in [
            file(RgbaImage::new(64, 48), ImageFormat::Png),
            file(RgbImage::new(64, 48), ImageFormat::WebP),
        ] {
            assert_eq!(
                Mask::parse(&empty, 64, 48).unwrap_err().to_string(),
                "The mask is empty: paint the area to change."
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_picture_is_refused_with_the_upload_sentence() {
        assert_eq!(
            Mask::parse(b"<svg></svg>", 64, 48),
            Err(MaskError::File(UploadError::NotAPicture {
                is_markup: true
            }))
        );
    }

    #[test]
    fn inverting_changes_everything_but_the_stroke() {
        let mask = Mask::parse(&file(brush_layer([255; 3]), ImageFormat::Png), 64, 48).unwrap();
        let inverse = mask.inverted().unwrap();
        let changed = changed_pixels(&inverse);
        assert_eq!(changed.len(), 64 * 48 - 100);
        assert!(!changed.contains(&(15, 15)) && changed.contains(&(0, 0)));
        assert_eq!(inverse.inverted().unwrap(), mask);
    }

    #[test]
    fn the_inverse_of_a_mask_over_the_whole_picture_is_empty() {
        let everything = file(
            RgbImage::from_pixel(64, 48, Rgb([255; 3])),
            ImageFormat::Png,
        );
        let mask = Mask::parse(&everything, 64, 48).unwrap();
        assert_eq!(mask.inverted(), Err(MaskError::Empty));
    }
}
