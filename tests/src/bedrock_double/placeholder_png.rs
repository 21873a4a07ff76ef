//! Placeholder pictures: real PNGs of the requested size that nobody can mistake for a
//! generated image. A soft gradient picked by the seed (same seed, same picture), hazard
//! stripes along the edges and the word PLACEHOLDER across the middle. Each PNG carries a
//! tEXt chunk `Software` = `Easel Bedrock double (placeholder)`.
//!
//! Encoding a megapixel takes a few milliseconds, so recent answers are kept, base64-encoded,
//! per (width, height, seed): a benchmark that repeats a seed pays for the picture only once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The value of the PNG's `Software` text chunk.
pub(crate) const SOFTWARE: &str = "Easel Bedrock double (placeholder)";

/// How many encoded pictures are kept (a 1024x1024 one is a few hundred KB).
const CACHED_PICTURES: usize = 24;

const WORD: &[u8] = b"PLACEHOLDER";
const GLYPH_WIDTH: u32 = 5;
const GLYPH_HEIGHT: u32 = 7;
/// Columns taken by the word: five per letter plus one between letters.
const WORD_COLUMNS: u32 = WORD.len() as u32 * (GLYPH_WIDTH + 1) - 1;

const STRIPE_YELLOW: [u8; 3] = [247, 201, 28];
const STRIPE_BLACK: [u8; 3] = [28, 28, 28];
const LETTER: [u8; 3] = [250, 250, 250];

type Key = (u32, u32, u64);
type Cache = VecDeque<(Key, Arc<str>)>;

/// The base64 text of the placeholder PNG for this size and seed (cached).
pub(crate) fn base64_png(width: u32, height: u32, seed: u64) -> Arc<str> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let key = (width, height, seed);
    {
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(position) = cache.iter().position(|(k, _)| *k == key) {
            let entry = cache.remove(position).expect("the position was just found");
            let text = entry.1.clone();
            cache.push_back(entry);
            return text;
        }
    }
    // Encode outside the lock; two callers racing for the same picture both get a correct one.
    let text: Arc<str> = BASE64.encode(png(width, height, seed)).into();
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if !cache.iter().any(|(k, _)| *k == key) {
        cache.push_back((key, text.clone()));
        if cache.len() > CACHED_PICTURES {
            cache.pop_front();
        }
    }
    text
}

/// The placeholder PNG for this size and seed.
pub(crate) fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    assert!(width > 0 && height > 0, "a picture needs pixels");
    let pixels = paint(width, height, seed);
    let mut out = Vec::with_capacity(pixels.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Sub);
    encoder
        .add_text_chunk("Software".to_owned(), SOFTWARE.to_owned())
        .expect("a Latin-1 keyword and text");
    let mut writer = encoder.write_header().expect("writing to memory");
    writer
        .write_image_data(&pixels)
        .expect("the buffer matches the size");
    writer.finish().expect("writing to memory");
    out
}

/// RGB bytes, row by row.
fn paint(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut pixels = vec![0u8; w * h * 3];
    let [top_left, top_right, bottom_left, bottom_right] = palette(seed);

    for (y, row) in pixels.chunks_exact_mut(w * 3).enumerate() {
        let down = (y * 256 / h) as u32;
        let left = mix(top_left, bottom_left, down);
        let right = mix(top_right, bottom_right, down);
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            pixel.copy_from_slice(&mix(left, right, (x * 256 / w) as u32));
        }
    }

    let border = (width.min(height) / 16).clamp(4, 48);
    paint_word(&mut pixels, width, height, border);
    paint_stripes(&mut pixels, width, height, border);
    pixels
}

/// Four soft corner colours from the seed.
fn palette(seed: u64) -> [[u8; 3]; 4] {
    let mut state = seed;
    std::array::from_fn(|_| {
        let bits = splitmix64(&mut state);
        std::array::from_fn(|channel| 110 + ((bits >> (channel * 16)) % 130) as u8)
    })
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `a` blended towards `b` by `amount`/256.
fn mix(a: [u8; 3], b: [u8; 3], amount: u32) -> [u8; 3] {
    std::array::from_fn(|i| {
        ((u32::from(a[i]) * (256 - amount) + u32::from(b[i]) * amount) / 256) as u8
    })
}

fn set(pixels: &mut [u8], width: u32, x: u32, y: u32, colour: [u8; 3]) {
    let at = (y as usize * width as usize + x as usize) * 3;
    pixels[at..at + 3].copy_from_slice(&colour);
}

/// Diagonal yellow and black bands along all four edges.
fn paint_stripes(pixels: &mut [u8], width: u32, height: u32, border: u32) {
    let border = border.min(width / 2).min(height / 2).max(1);
    for y in 0..height {
        let whole_row = y < border || y >= height - border;
        for x in 0..width {
            if whole_row || x < border || x >= width - border {
                let colour = if ((x + y) / border).is_multiple_of(2) {
                    STRIPE_YELLOW
                } else {
                    STRIPE_BLACK
                };
                set(pixels, width, x, y, colour);
            }
        }
    }
}

/// PLACEHOLDER in large white letters on a dark band across the middle.
fn paint_word(pixels: &mut [u8], width: u32, height: u32, border: u32) {
    let inner_width = width.saturating_sub(2 * border);
    let inner_height = height.saturating_sub(2 * border);
    let scale = (inner_width * 4 / 5 / WORD_COLUMNS).min(inner_height / (GLYPH_HEIGHT * 3));
    if scale == 0 {
        return;
    }
    let (word_width, word_height) = (WORD_COLUMNS * scale, GLYPH_HEIGHT * scale);
    let (left, top) = ((width - word_width) / 2, (height - word_height) / 2);

    let band_top = top.saturating_sub(2 * scale);
    let band_bottom = (top + word_height + 2 * scale).min(height);
    for y in band_top..band_bottom {
        for x in border..width - border {
            let at = (y as usize * width as usize + x as usize) * 3;
            for channel in &mut pixels[at..at + 3] {
                *channel /= 3;
            }
        }
    }

    for y in 0..word_height {
        let glyph_row = (y / scale) as usize;
        for x in 0..word_width {
            let column = x / scale;
            let (letter, glyph_column) = (column / (GLYPH_WIDTH + 1), column % (GLYPH_WIDTH + 1));
            if glyph_column < GLYPH_WIDTH
                && glyph(WORD[letter as usize])[glyph_row] & (0b10000 >> glyph_column) != 0
            {
                set(pixels, width, left + x, top + y, LETTER);
            }
        }
    }
}

/// A 5x7 bitmap, one byte per row, the leftmost column in bit 4. Only the letters of the word.
fn glyph(letter: u8) -> [u8; 7] {
    match letter {
        b'P' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000,
        ],
        b'L' => [
            0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111,
        ],
        b'A' => [
            0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        b'C' => [
            0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110,
        ],
        b'E' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111,
        ],
        b'H' => [
            0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        b'O' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110,
        ],
        b'D' => [
            0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110,
        ],
        b'R' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001,
        ],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    struct Decoded {
        width: u32,
        height: u32,
        pixels: Vec<u8>,
        software: Option<String>,
    }

    fn decode(bytes: &[u8]) -> Decoded {
        let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        let software = reader
            .info()
            .uncompressed_latin1_text
            .iter()
            .find(|chunk| chunk.keyword == "Software")
            .map(|chunk| chunk.text.clone());
        Decoded {
            width: frame.width,
            height: frame.height,
            pixels,
            software,
        }
    }

    #[test]
    fn pictures_are_valid_pngs_of_the_requested_size_and_say_what_they_are() {
        for (width, height) in [(512, 512), (1173, 640), (320, 704), (1, 1), (7, 300)] {
            let picture = decode(&png(width, height, 42));
            assert_eq!((picture.width, picture.height), (width, height));
            assert_eq!(picture.software.as_deref(), Some(SOFTWARE));
        }
    }

    #[test]
    fn the_seed_picks_the_picture() {
        let first = decode(&png(256, 256, 1)).pixels;
        assert_eq!(first, decode(&png(256, 256, 1)).pixels);
        assert_ne!(first, decode(&png(256, 256, 2)).pixels);
    }

    #[test]
    fn the_word_is_written_in_white_across_the_middle() {
        let picture = decode(&png(660, 400, 9));
        let white_in_middle_row = picture.pixels[(200 * 660 * 3)..(201 * 660 * 3)]
            .chunks_exact(3)
            .filter(|pixel| *pixel == LETTER)
            .count();
        assert!(
            white_in_middle_row > 50,
            "{white_in_middle_row} white pixels"
        );
    }

    #[test]
    fn the_cache_answers_the_same_text() {
        let first = base64_png(64, 48, 7);
        let second = base64_png(64, 48, 7);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(
            BASE64.decode(first.as_bytes()).unwrap(),
            png(64, 48, 7),
            "the cached text is the picture"
        );
    }
}
