//! PNG text metadata, spliced into the chunk stream without decoding the image.
//!
//! A PNG is an 8-byte signature followed by chunks, each laid out as a
//! big-endian `u32` data length, a 4-byte type, the data, and a CRC-32 over
//! type + data. The first chunk must be `IHDR` and the last `IEND`; text
//! chunks may sit anywhere in between, so new ones go right after `IHDR`.
//! Copying bytes around is all it takes, which keeps saving a multi-megabyte
//! image cheap.

use super::GalleryError;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Signature, then the IHDR chunk: length, type, 13 data bytes, CRC.
const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
/// An IEND chunk is always these exact 12 bytes (empty data, fixed CRC).
const IEND: &[u8; 12] = b"\0\0\0\0IEND\xae\x42\x60\x82";

/// The width and height a PNG's header gives.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let number = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    (png.starts_with(SIGNATURE) && png.get(12..16) == Some(b"IHDR"))
        .then(|| Some((number(16)?, number(20)?)))
        .flatten()
}

/// Returns a copy of `png` with one text chunk per `(keyword, text)` inserted
/// right after `IHDR`.
///
/// Keywords must be short Latin-1 names (the PNG spec allows 1 to 79 bytes).
/// Text that fits in Latin-1 goes into a `tEXt` chunk, which every viewer
/// reads; anything else into an uncompressed `iTXt` chunk, the only text
/// chunk that holds UTF-8.
pub(crate) fn insert_text_chunks<'a>(
    png: &[u8],
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<u8>, GalleryError> {
    // Checking both ends also rejects a truncated download.
    let is_png = png.len() >= IHDR_END + IEND.len()
        && png.starts_with(SIGNATURE)
        && png[8..12] == 13u32.to_be_bytes()
        && &png[12..16] == b"IHDR"
        && png.ends_with(IEND);
    if !is_png {
        return Err(GalleryError::NotPng);
    }

    let (head, tail) = png.split_at(IHDR_END);
    let mut out = Vec::with_capacity(png.len() + 4096);
    out.extend_from_slice(head);
    for (keyword, text) in entries {
        write_text_chunk(&mut out, keyword, text);
    }
    out.extend_from_slice(tail);
    Ok(out)
}

fn write_text_chunk(out: &mut Vec<u8>, keyword: &str, text: &str) {
    // NUL separates the fields of a text chunk, so it cannot appear in the text.
    let text: String = text.chars().filter(|&c| c != '\0').collect();
    let mut data = Vec::with_capacity(keyword.len() + text.len() + 5);
    data.extend_from_slice(keyword.as_bytes());
    data.push(0);
    match latin1(&text) {
        Some(bytes) => {
            data.extend_from_slice(&bytes);
            write_chunk(out, b"tEXt", &data);
        }
        None => {
            // Not compressed, compression method 0, then an empty language
            // tag and an empty translated keyword, each NUL-terminated.
            data.extend_from_slice(&[0, 0, 0, 0]);
            data.extend_from_slice(text.as_bytes());
            write_chunk(out, b"iTXt", &data);
        }
    }
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Text comes from a size-limited request, far below the 2 GiB chunk limit.
    let len = u32::try_from(data.len()).expect("PNG chunk larger than 4 GiB");
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// Every char up to U+00FF is the Latin-1 byte of the same value.
fn latin1(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// All `(keyword, text)` pairs in the `tEXt` and uncompressed `iTXt` chunks
/// of `png`, in file order. Malformed input yields whatever was readable
/// before the damage, and a non-PNG yields nothing.
pub fn read_text_chunks(png: &[u8]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Some(mut rest) = png.strip_prefix(SIGNATURE) else {
        return found;
    };
    while let Some((len, after_len)) = rest.split_first_chunk::<4>() {
        let Some((kind, after_kind)) = after_len.split_first_chunk::<4>() else {
            break;
        };
        let len = u32::from_be_bytes(*len) as usize;
        // The chunk's data, then its 4-byte CRC.
        let Some(data) = after_kind.get(..len) else {
            break;
        };
        let Some(next) = after_kind.get(len + 4..) else {
            break;
        };
        match kind {
            b"tEXt" => found.extend(parse_text(data)),
            b"iTXt" => found.extend(parse_international_text(data)),
            b"IEND" => break,
            _ => {}
        }
        rest = next;
    }
    found
}

fn parse_text(data: &[u8]) -> Option<(String, String)> {
    let (keyword, text) = split_at_nul(data)?;
    Some((from_latin1(keyword), from_latin1(text)))
}

fn parse_international_text(data: &[u8]) -> Option<(String, String)> {
    let (keyword, rest) = split_at_nul(data)?;
    let [compressed, _method, rest @ ..] = rest else {
        return None;
    };
    // Only ever written uncompressed here; reading zlib text is not worth a dependency.
    if *compressed != 0 {
        return None;
    }
    let (_language, rest) = split_at_nul(rest)?;
    let (_translated_keyword, text) = split_at_nul(rest)?;
    Some((
        from_latin1(keyword),
        String::from_utf8_lossy(text).into_owned(),
    ))
}

fn split_at_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..nul], &bytes[nul + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::test_png;

    #[test]
    fn inserts_text_after_ihdr_and_reads_it_back() {
        let png = test_png(3, 2);
        let out = insert_text_chunks(
            &png,
            [
                ("Prompt", "café 🌅"),
                ("Size", "16:9"),
                ("Note", "naïve\nline two"),
            ],
        )
        .unwrap();

        assert_eq!(&out[..IHDR_END], &png[..IHDR_END]);
        assert_eq!(&out[IHDR_END + 4..IHDR_END + 8], b"iTXt");
        assert!(out.ends_with(&png[IHDR_END..]));
        assert_eq!(
            read_text_chunks(&out),
            [
                ("Prompt".to_owned(), "café 🌅".to_owned()),
                ("Size".to_owned(), "16:9".to_owned()),
                ("Note".to_owned(), "naïve\nline two".to_owned()),
            ]
        );

        let decoder = png::Decoder::new(std::io::Cursor::new(out));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width, frame.height), (3, 2));
        let latin1_text = &reader.info().uncompressed_latin1_text;
        assert!(
            latin1_text
                .iter()
                .any(|t| t.keyword == "Note" && t.text == "naïve\nline two")
        );
    }

    #[test]
    fn latin1_text_uses_text_chunks() {
        let out = insert_text_chunks(&test_png(1, 1), [("Size", "é")]).unwrap();
        let chunk = &out[IHDR_END..IHDR_END + 4 + 4 + 6 + 4];
        assert_eq!(&chunk[..8], b"\0\0\0\x06tEXt");
        assert_eq!(&chunk[8..14], b"Size\0\xe9");
        let crc = crc32fast::hash(&chunk[4..14]);
        assert_eq!(chunk[14..], crc.to_be_bytes());
    }

    #[test]
    fn nul_is_dropped_from_text() {
        let out = insert_text_chunks(&test_png(1, 1), [("Prompt", "a\0b")]).unwrap();
        assert_eq!(
            read_text_chunks(&out),
            [("Prompt".to_owned(), "ab".to_owned())]
        );
    }

    #[test]
    fn rejects_what_is_not_a_whole_png() {
        let png = test_png(2, 2);
        for bad in [&b""[..], b"GIF89a", &png[..IHDR_END], &png[..png.len() - 1]] {
            assert!(matches!(
                insert_text_chunks(bad, [("Size", "x")]),
                Err(GalleryError::NotPng)
            ));
        }
        let mut wrong_first_chunk = png.clone();
        wrong_first_chunk[12..16].copy_from_slice(b"IDAT");
        assert!(insert_text_chunks(&wrong_first_chunk, []).is_err());
    }

    #[test]
    fn reading_garbage_is_harmless() {
        assert!(read_text_chunks(b"not a png").is_empty());
        let out = insert_text_chunks(&test_png(1, 1), [("Seed", "7")]).unwrap();
        // Cut inside the image data: the text before the cut is still found.
        let cut = &out[..out.len() - 20];
        assert_eq!(read_text_chunks(cut), [("Seed".to_owned(), "7".to_owned())]);
    }
}
