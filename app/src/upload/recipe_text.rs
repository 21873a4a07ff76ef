//! The text a dropped picture carries, which may fill the form with its recipe. A picture may
//! carry megabytes of text, and what is read is shown again in the form, so a picture with far
//! more text than any recipe holds is refused rather than read.

use crate::gallery::read_text_chunks;

/// Two prompts at the longest any model takes, twice over (an edit keeps its form too), and
/// the settings around them.
const MAX_BYTES: usize = 128 * 1024;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "This picture carries more text than any recipe ({} KB at most), so Easel does not read it. \
     Choose another.",
    MAX_BYTES / 1024
)]
pub struct TooMuchText;

/// The picture's text chunks (keyword, text), or [`TooMuchText`].
pub fn recipe_text(png: &[u8]) -> Result<Vec<(String, String)>, TooMuchText> {
    let chunks = read_text_chunks(png);
    let bytes: usize = chunks
        .iter()
        .map(|(keyword, text)| keyword.len() + text.len())
        .sum();
    if bytes > MAX_BYTES {
        return Err(TooMuchText);
    }
    Ok(chunks)
}
