//! The recipe AUTOMATIC1111 (and its forks) write into a PNG's `parameters`
//! text chunk, so a picture made there can fill Easel's form.
//!
//! The text is the prompt, then an optional `Negative prompt: …` part, then one
//! line of `Key: value` pairs:
//!
//! ```text
//! a lighthouse at dusk
//! Negative prompt: blurry
//! Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, Model: sd15
//! ```
//!
//! Both prompts may span lines. The rules follow AUTOMATIC1111's own reader
//! (`parse_generation_parameters`): the last line holds the settings only if at
//! least three pairs are found in it, and a value may be a quoted string with
//! commas inside.

/// What Easel can reuse from an AUTOMATIC1111 picture. Everything else in the
/// settings line (sampler, steps, CFG scale, model) has no Bedrock equivalent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct A1111Recipe {
    pub prompt: String,
    /// Empty when none was written.
    pub negative_prompt: String,
    pub seed: Option<u64>,
    /// Width and height.
    pub size: Option<(u32, u32)>,
}

/// The recipe in a picture's `parameters` chunk, from its text chunks, or `None` when there
/// is no such chunk (not a PNG, or not from AUTOMATIC1111) or it is blank.
pub fn recipe(text_chunks: &[(String, String)]) -> Option<A1111Recipe> {
    let (_, text) = text_chunks
        .iter()
        .find(|(keyword, _)| keyword == "parameters")?;
    parse(text)
}

const NEGATIVE: &str = "Negative prompt:";

fn parse(text: &str) -> Option<A1111Recipe> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (before_last, last) = text.rsplit_once('\n').unwrap_or(("", text));
    let (body, settings) = match settings(last) {
        pairs if pairs.len() >= 3 => (before_last, pairs),
        _ => (text, Vec::new()),
    };
    // The negative prompt starts a line of its own.
    let (prompt, negative_prompt) = match body.strip_prefix(NEGATIVE) {
        Some(negative) => ("", negative),
        None => body
            .split_once(&format!("\n{NEGATIVE}"))
            .unwrap_or((body, "")),
    };
    let value = |key: &str| settings.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    Some(A1111Recipe {
        prompt: prompt.trim().to_owned(),
        negative_prompt: negative_prompt.trim().to_owned(),
        seed: value("Seed").and_then(|seed| seed.parse().ok()),
        size: value("Size").and_then(|size| {
            let (width, height) = size.split_once('x')?;
            Some((width.parse().ok()?, height.parse().ok()?))
        }),
    })
}

/// The `Key: value` pairs of a settings line, in order. A key starts with a
/// letter or digit and holds only those, spaces, `-`, `_` and `/`; a value runs
/// to the next comma, or is a double-quoted string that may hold commas.
fn settings(line: &str) -> Vec<(&str, &str)> {
    let mut pairs = Vec::new();
    let mut rest = line;
    while let Some((key, after)) = rest.split_once(':') {
        let key = key.trim();
        let is_key = key.starts_with(|c: char| c.is_alphanumeric())
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || " -_/".contains(c));
        if !is_key {
            break;
        }
        let after = after.trim_start();
        let end = match after.strip_prefix('"') {
            Some(quoted) => closing_quote(quoted).map_or(after.len(), |at| at + 2),
            None => after.find(',').unwrap_or(after.len()),
        };
        pairs.push((key, after[..end].trim()));
        rest = after[end..].strip_prefix(',').unwrap_or("");
    }
    pairs
}

/// Where the string's closing `"` is, skipping `\"`.
fn closing_quote(quoted: &str) -> Option<usize> {
    let mut escaped = false;
    quoted.char_indices().find_map(|(at, c)| {
        let closes = c == '"' && !escaped;
        escaped = c == '\\' && !escaped;
        closes.then_some(at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::read_text_chunks;

    fn recipe_in(png: &[u8]) -> Option<A1111Recipe> {
        recipe(&read_text_chunks(png))
    }

    /// A PNG as AUTOMATIC1111 saves it: the pixels and a `parameters` text chunk.
    fn png_with_text(keyword: &str, text: &str) -> Vec<u8> {
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 2, 2);
        encoder.set_color(png::ColorType::Rgb);
        encoder
            .add_text_chunk(keyword.to_owned(), text.to_owned())
            .unwrap();
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0; 12]).unwrap();
        writer.finish().unwrap();
        png
    }

    #[test]
    fn the_prompt_negative_prompt_seed_and_size_are_read() {
        let png = png_with_text(
            "parameters",
            "a lighthouse at dusk, (oil painting:1.2)\nwarm light\n\
             Negative prompt: blurry, text\n\
             Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3456789012, \
             Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, \
             Lora hashes: \"detail: 1a2b, style: 3c4d\", Version: v1.10.1",
        );
        assert_eq!(
            recipe_in(&png),
            Some(A1111Recipe {
                prompt: "a lighthouse at dusk, (oil painting:1.2)\nwarm light".to_owned(),
                negative_prompt: "blurry, text".to_owned(),
                seed: Some(3_456_789_012),
                size: Some((768, 512)),
            })
        );
    }

    #[test]
    fn a_prompt_without_settings_or_negative_prompt_is_read_whole() {
        let png = png_with_text("parameters", "a cat: sitting, on a mat\nin the sun");
        assert_eq!(
            recipe_in(&png),
            Some(A1111Recipe {
                prompt: "a cat: sitting, on a mat\nin the sun".to_owned(),
                negative_prompt: String::new(),
                seed: None,
                size: None,
            })
        );
    }

    #[test]
    fn a_quoted_value_with_commas_does_not_hide_the_seed_after_it() {
        let text = "fox\nSteps: 30, Template: \"a, b: \\\"c\\\"\", CFG scale: 5, Seed: 42";
        assert_eq!(
            recipe_in(&png_with_text("parameters", text)).unwrap().seed,
            Some(42)
        );
    }

    #[test]
    fn pictures_without_a_parameters_chunk_hold_no_recipe() {
        assert_eq!(
            recipe_in(&png_with_text("Comment", "Steps: 20, Seed: 1, Size: 1x1")),
            None
        );
        assert_eq!(recipe_in(&png_with_text("parameters", "  \n")), None);
        assert_eq!(recipe_in(b"\xff\xd8\xff\xe0 a JPEG"), None);
    }
}
