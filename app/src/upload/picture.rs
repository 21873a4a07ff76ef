//! A picture a user uploads, checked against the limits of the operation it is
//! for and re-encoded as a clean PNG.

use image::{DynamicImage, ExtendedColorType};

use super::codec::{Header, encode_png};

/// What one operation accepts. The caller picks the constant for its service;
/// every limit is checked before a single pixel is decoded.
///
/// Stability's services state a smallest side and a largest pixel count (research
/// notes §3), and no largest side of their own: a picture within both limits has
/// no side longer than `max_pixels / min_side`. Their per-file byte limits are
/// unknown, so `max_bytes` bounds our own work instead, sized so that an honest
/// file within the pixel limit fits: 8 MiB is twice an uncompressed 1 MP RGBA
/// PNG, and 32 MiB holds a 9.4 MP photo as JPEG (a few MB) or PNG (10–20 MB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureLimits {
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
    /// The shortest side accepted, in pixels.
    pub min_side: u32,
    /// The most pixels accepted, width × height.
    pub max_pixels: u64,
}

const MIB: usize = 1024 * 1024;

impl PictureLimits {
    /// Fast Upscale (4×): from 1,024 pixels (32 × 32) to 1 MP.
    pub const FAST_UPSCALE: Self = Self {
        max_bytes: 8 * MIB,
        min_side: 32,
        max_pixels: 1_048_576,
    };

    /// Creative Upscale: "between 64x64 and 1 megapixel".
    pub const CREATIVE_UPSCALE: Self = Self {
        max_bytes: 8 * MIB,
        min_side: 64,
        max_pixels: 1_048_576,
    };

    /// Conservative Upscale: from 64 × 64 to 9,437,184 pixels.
    pub const CONSERVATIVE_UPSCALE: Self = Self {
        max_bytes: 32 * MIB,
        min_side: 64,
        max_pixels: 9_437_184,
    };

    /// Every other Stability service (inpaint, outpaint, erase, remove
    /// background, search and replace or recolour, control, style) and SD3.5
    /// image-to-image. Bedrock does not publish their limits; these are
    /// Conservative Upscale's, the largest input any of them is known to take.
    /// A picture past what a service really takes is refused by Bedrock with
    /// its own message, so this errs on the side of letting the user try.
    pub const EDIT: Self = Self::CONSERVATIVE_UPSCALE;

    /// Whether a picture of this size is within the limits: a picture accepted for one
    /// operation is checked again when it is sent to another.
    pub fn check_size(&self, width: u32, height: u32) -> Result<(), UploadError> {
        if width.min(height) < self.min_side {
            return Err(UploadError::TooSmall {
                width,
                height,
                min_side: self.min_side,
            });
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(UploadError::TooManyPixels {
                width,
                height,
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }
}

/// A picture that passed every check: its pixels, upright, as a PNG with no
/// metadata (no EXIF, no text, no colour profile). Alpha is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadedPicture {
    png: Vec<u8>,
    width: u32,
    height: u32,
}

impl UploadedPicture {
    /// Checks `bytes` against `limits` and re-encodes them.
    ///
    /// The checks run cheapest first: length, type by content, size from the
    /// header, and only then the pixels, so a decompression bomb is refused
    /// from its header without being decoded.
    pub fn parse(bytes: &[u8], limits: &PictureLimits) -> Result<Self, UploadError> {
        if bytes.len() > limits.max_bytes {
            return Err(UploadError::TooManyBytes {
                bytes: bytes.len(),
                max_bytes: limits.max_bytes,
            });
        }
        let header = Header::read(bytes, limits.max_pixels)?;
        let (width, height) = header.size();
        limits.check_size(width, height)?;
        let png = clean_png(header.decode()?);
        Ok(Self { png, width, height })
    }

    /// The clean PNG, to store or send.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// Gives up the PNG without copying it.
    pub fn into_png(self) -> Vec<u8> {
        self.png
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

/// The size, not megabytes of PNG, in logs and test failures.
impl std::fmt::Debug for UploadedPicture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedPicture")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

/// 8-bit RGB, or RGBA when the picture has an alpha channel: what every
/// service takes. Each conversion drops the buffer it came from, so at most two
/// copies of the pixels are alive at once.
fn clean_png(picture: DynamicImage) -> Vec<u8> {
    let (width, height) = (picture.width(), picture.height());
    if picture.color().has_alpha() {
        encode_png(
            &picture.into_rgba8(),
            width,
            height,
            ExtendedColorType::Rgba8,
        )
    } else {
        encode_png(&picture.into_rgb8(), width, height, ExtendedColorType::Rgb8)
    }
}

/// Why an uploaded file was refused, as a sentence shown next to its field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    #[error(
        "This file is {}, more than the {} this operation takes: choose a smaller one.",
        megabytes(*bytes),
        megabytes(*max_bytes)
    )]
    TooManyBytes { bytes: usize, max_bytes: usize },
    #[error("{}", if *is_markup {
        "This file is a web page or other markup, not a picture: choose a PNG, JPEG or WebP file."
    } else {
        "This file is not a PNG, JPEG or WebP picture: choose one of those."
    })]
    NotAPicture { is_markup: bool },
    #[error("This file is damaged or cut short: save it again and upload the new file.")]
    Damaged,
    #[error(
        "The picture is {width}×{height} pixels; this operation needs at least {min_side} pixels on each side."
    )]
    TooSmall {
        width: u32,
        height: u32,
        min_side: u32,
    },
    #[error(
        "The picture is {width}×{height} pixels, more than the {} pixels in all this operation takes: make it smaller first.",
        thousands(*max_pixels)
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
}

/// Rounded up to a tenth, so a file just over a limit never reads as equal to it.
fn megabytes(bytes: usize) -> String {
    let tenths = (bytes * 10).div_ceil(MIB);
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

/// 9437184 → "9,437,184".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use image::{
        ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Rgb, RgbImage, Rgba, RgbaImage,
        codecs::jpeg::JpegEncoder,
    };

    use super::*;
    use crate::upload::codec::file;

    /// A picture with some texture, so its encodings are not trivially small.
    fn noise(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8])
        })
    }

    /// A big-endian EXIF block whose one entry is orientation 6 ("rotate 90°
    /// clockwise to view").
    const ORIENTATION_6: &[u8] =
        b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";

    fn jpeg_with_exif(picture: &RgbImage, exif: &[u8]) -> Vec<u8> {
        let mut jpeg = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 95);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(
                picture,
                picture.width(),
                picture.height(),
                ExtendedColorType::Rgb8,
            )
            .unwrap();
        jpeg
    }

    fn pixels_of(picture: &UploadedPicture) -> DynamicImage {
        image::load_from_memory_with_format(picture.png(), ImageFormat::Png).unwrap()
    }

    /// The sentence the user sees when `bytes` are refused.
    fn refusal(bytes: &[u8], limits: &PictureLimits) -> String {
        UploadedPicture::parse(bytes, limits)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_png_is_accepted_as_a_clean_png_of_the_same_size() {
        let picture = noise(96, 64);
        let uploaded = UploadedPicture::parse(
            &file(picture.clone(), ImageFormat::Png),
            &PictureLimits::EDIT,
        )
        .unwrap();
        assert_eq!((uploaded.width(), uploaded.height()), (96, 64));
        assert_eq!(pixels_of(&uploaded).into_rgb8(), picture);
    }

    #[test]
    fn a_png_that_claims_100000_by_100000_pixels_is_refused_from_its_header() {
        // Ten billion pixels: decoding would need 40 GB. A real bomb's image
        // data would inflate to that; a few bytes of it are enough here.
        let mut header = 100_000u32.to_be_bytes().repeat(2);
        header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (b"IHDR", &header[..]),
            (b"IDAT", b"\x78\x9c\x03\0"),
            (b"IEND", b""),
        ] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            bomb.extend_from_slice(&(data.len() as u32).to_be_bytes());
            bomb.extend_from_slice(&chunk);
            bomb.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
        }

        assert_eq!(
            refusal(&bomb, &PictureLimits::EDIT),
            "The picture is 100000×100000 pixels, more than the 9,437,184 pixels in all \
             this operation takes: make it smaller first."
        );
    }

    #[test]
    fn truncated_pngs_and_jpegs_are_refused_as_damaged() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let whole = file(noise(256, 256), format);
            let cut = &whole[..whole.len() / 2];
            assert_eq!(
                UploadedPicture::parse(cut, &PictureLimits::EDIT),
                Err(UploadError::Damaged),
                "{format:?} cut in half"
            );
        }
        let mut with_trailer = file(noise(64, 64), ImageFormat::Jpeg);
        with_trailer.extend_from_slice(b"a phone's motion clip, after the end of the picture");
        assert!(UploadedPicture::parse(&with_trailer, &PictureLimits::EDIT).is_ok());
        assert_eq!(
            UploadError::Damaged.to_string(),
            "This file is damaged or cut short: save it again and upload the new file."
        );
    }

    #[test]
    fn a_cut_jpeg_is_found_even_behind_an_exif_thumbnail() {
        // A thumbnail in the EXIF block has a scan and an end marker of its own.
        let exif = [ORIENTATION_6, b"\xff\xd8\xff\xda\0\x02\xff\xd9"].concat();
        let whole = jpeg_with_exif(&noise(256, 256), &exif);
        assert!(UploadedPicture::parse(&whole, &PictureLimits::EDIT).is_ok());
        assert_eq!(
            UploadedPicture::parse(&whole[..whole.len() / 2], &PictureLimits::EDIT),
            Err(UploadError::Damaged)
        );
    }

    #[test]
    fn a_web_page_named_png_and_a_gif_are_refused_by_their_content() {
        let page = b"\xef\xbb\xbf\n  <!DOCTYPE html><html><script>alert(1)</script></html>";
        assert_eq!(
            refusal(page, &PictureLimits::EDIT),
            "This file is a web page or other markup, not a picture: choose a PNG, JPEG or WebP file."
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(
            refusal(gif, &PictureLimits::EDIT),
            "This file is not a PNG, JPEG or WebP picture: choose one of those."
        );
    }

    #[test]
    fn an_oversized_file_is_refused_before_it_is_read() {
        let limits = PictureLimits::FAST_UPSCALE;
        let body = vec![0; limits.max_bytes + 1];
        assert_eq!(
            refusal(&body, &limits),
            "This file is 8.1 MB, more than the 8.0 MB this operation takes: choose a smaller one."
        );
    }

    #[test]
    fn a_picture_under_the_smallest_side_is_refused() {
        let small = file(noise(100, 40), ImageFormat::Png);
        assert_eq!(
            refusal(&small, &PictureLimits::CREATIVE_UPSCALE),
            "The picture is 100×40 pixels; this operation needs at least 64 pixels on each side."
        );
        assert!(UploadedPicture::parse(&small, &PictureLimits::FAST_UPSCALE).is_ok());
    }

    #[test]
    fn one_pixel_over_a_megapixel_is_refused_by_the_one_megapixel_upscalers() {
        let over = file(noise(1025, 1024), ImageFormat::Png);
        for limits in [PictureLimits::FAST_UPSCALE, PictureLimits::CREATIVE_UPSCALE] {
            assert_eq!(
                refusal(&over, &limits),
                "The picture is 1025×1024 pixels, more than the 1,048,576 pixels in all \
                 this operation takes: make it smaller first."
            );
        }
        assert!(UploadedPicture::parse(&over, &PictureLimits::CONSERVATIVE_UPSCALE).is_ok());
    }

    #[test]
    fn a_jpeg_turned_by_exif_comes_out_upright_and_without_exif() {
        // Taken sideways: red on the left, blue on the right.
        let sideways = RgbImage::from_fn(64, 32, |x, _| {
            if x < 32 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let jpeg = jpeg_with_exif(&sideways, ORIENTATION_6);

        let uploaded = UploadedPicture::parse(&jpeg, &PictureLimits::FAST_UPSCALE).unwrap();

        assert_eq!((uploaded.width(), uploaded.height()), (32, 64));
        let upright = pixels_of(&uploaded).into_rgb8();
        assert!(upright.get_pixel(16, 8)[0] > 200, "red is on top");
        assert!(upright.get_pixel(16, 56)[2] > 200, "blue is at the bottom");
        let mut decoder =
            ImageReader::with_format(std::io::Cursor::new(uploaded.png()), ImageFormat::Png)
                .into_decoder()
                .unwrap();
        assert_eq!(decoder.exif_metadata().unwrap(), None);
        assert!(crate::gallery::read_text_chunks(uploaded.png()).is_empty());
    }

    #[test]
    fn a_webp_is_accepted_and_keeps_its_transparency() {
        let mut picture = RgbaImage::from_pixel(64, 64, Rgba([10, 200, 30, 255]));
        picture.put_pixel(5, 5, Rgba([0, 0, 0, 0]));

        let uploaded =
            UploadedPicture::parse(&file(picture, ImageFormat::WebP), &PictureLimits::EDIT)
                .unwrap();

        let pixels = pixels_of(&uploaded).into_rgba8();
        assert_eq!((pixels.width(), pixels.height()), (64, 64));
        assert_eq!(pixels.get_pixel(5, 5)[3], 0);
        assert_eq!(*pixels.get_pixel(6, 6), Rgba([10, 200, 30, 255]));
    }
}
