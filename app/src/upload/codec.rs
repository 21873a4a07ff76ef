//! The one way an uploaded file is read (header first, pixels only once its
//! size is known to be acceptable) and the one way a clean PNG is written.

use std::io::Cursor;

use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat,
    ImageReader, Limits, codecs::png::PngEncoder, metadata::Orientation,
};

use super::UploadError;

/// Bytes a decoder may hold per pixel: 8 for the largest output (16-bit RGBA
/// PNG) and as much again for its working buffers.
const BYTES_PER_PIXEL_BUDGET: u64 = 16;

/// A file whose header has been read and whose pixels have not.
pub(super) struct Header<'a> {
    decoder: Box<dyn ImageDecoder + 'a>,
    orientation: Orientation,
}

impl<'a> Header<'a> {
    /// Reads the type from the first bytes and the size and orientation from the
    /// header. `max_pixels` bounds what the decoder may allocate even if the
    /// header lies, so call [`Header::size`] and refuse before [`Header::decode`].
    pub(super) fn read(bytes: &'a [u8], max_pixels: u64) -> Result<Self, UploadError> {
        let format = match image::guess_format(bytes) {
            Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => format,
            _ => {
                return Err(UploadError::NotAPicture {
                    is_markup: is_markup(bytes),
                });
            }
        };
        if format == ImageFormat::Jpeg && !jpeg_is_whole(bytes) {
            return Err(UploadError::Damaged);
        }
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        // The PNG decoder takes its allocation limit when it is made, not later.
        let mut limits = Limits::default();
        limits.max_alloc = Some(max_pixels.saturating_mul(BYTES_PER_PIXEL_BUDGET));
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(damaged)?;
        let orientation = decoder.orientation().map_err(damaged)?;
        Ok(Self {
            decoder: Box::new(decoder),
            orientation,
        })
    }

    /// Width and height as the picture is meant to be seen, after its EXIF
    /// orientation.
    pub(super) fn size(&self) -> (u32, u32) {
        let (width, height) = self.decoder.dimensions();
        match self.orientation {
            Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH => (height, width),
            _ => (width, height),
        }
    }

    /// Decodes the pixels, at exactly the size the header gave, and turns them
    /// upright. A truncated or corrupt file is refused here.
    pub(super) fn decode(mut self) -> Result<DynamicImage, UploadError> {
        let (width, height) = self.decoder.dimensions();
        let mut limits = Limits::default();
        limits.max_image_width = Some(width);
        limits.max_image_height = Some(height);
        limits.max_alloc = Some(u64::from(width) * u64::from(height) * BYTES_PER_PIXEL_BUDGET);
        self.decoder.set_limits(limits).map_err(damaged)?;
        let mut picture = DynamicImage::from_decoder(self.decoder).map_err(damaged)?;
        picture.apply_orientation(self.orientation);
        Ok(picture)
    }
}

/// Whether a JPEG's end-of-image marker follows its first scan.
///
/// The JPEG decoder `image` uses paints whatever is missing from a cut file
/// grey instead of failing, so the cut is found here. The header segments are
/// skipped by their lengths, since metadata (an EXIF thumbnail) may hold
/// markers of its own; inside a scan every 0xFF byte is escaped, so an
/// end-of-image marker there is the real one.
fn jpeg_is_whole(jpeg: &[u8]) -> bool {
    // After the start-of-image marker, which the type check has seen.
    let mut rest = &jpeg[2..];
    loop {
        // A marker is one or more 0xFF bytes, then its code; a header
        // segment's length counts its own two bytes.
        let fill = rest.iter().take_while(|&&byte| byte == 0xFF).count();
        let Some(&[code, high, low]) = rest.get(fill..fill + 3).filter(|_| fill > 0) else {
            return false;
        };
        let length = usize::from(u16::from_be_bytes([high, low]));
        let Some(after_segment) = rest.get(fill + 1 + length..) else {
            return false;
        };
        if code == START_OF_SCAN {
            return after_segment
                .windows(2)
                .rev()
                .any(|pair| pair == END_OF_IMAGE);
        }
        rest = after_segment;
    }
}

const START_OF_SCAN: u8 = 0xDA;
const END_OF_IMAGE: [u8; 2] = [0xFF, 0xD9];

/// HTML, SVG and XML start with `<` (after an optional byte-order mark and
/// blank space): worth naming, since a web page saved as `.png` is a common
/// mistake and an attack.
fn is_markup(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    text.trim_ascii_start().starts_with(b"<")
}

fn damaged(error: ImageError) -> UploadError {
    tracing::debug!(%error, "upload refused as damaged");
    UploadError::Damaged
}

/// Writes `pixels` as a PNG holding nothing but them: no EXIF, no text, no
/// colour profile. That is what strips an upload's metadata.
pub(super) fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> Vec<u8> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(pixels, width, height, color)
        .expect("encoding whole, checked pixels into memory cannot fail");
    png
}

/// `picture` written as a file of `format`, as a user's program would.
#[cfg(test)]
pub(super) fn file(picture: impl Into<DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    picture
        .into()
        .write_to(&mut bytes, format)
        .expect("encode a test picture");
    bytes.into_inner()
}
