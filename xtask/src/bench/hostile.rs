//! Hostile input: eight edit forms of 30 MB sent at once, each a prompt of 30 MB of `<` (a
//! character that grows to four bytes when escaped), to a fresh Easel of its own so that the
//! high-water mark of its memory is theirs alone. The design wants the process under 200 MB and
//! small 4xx answers.

use std::{io, path::Path, thread};

use anyhow::{Context, Result};
use reqwest::{blocking::multipart, header};

use super::{
    Fresh,
    upscales::{self, OPERATION},
};
use crate::processes::{self, Binaries};

pub const FORMS: usize = 8;
pub const FORM_BYTES: usize = 30_000_000;
/// The picture the forms ask to edit: small, since the forms' text is what is measured.
const SOURCE: (u32, u32) = (256, 256);

pub struct Hostile {
    pub idle_rss: u64,
    pub peak_rss: u64,
    /// Each form's answer: its status, or why none came.
    pub statuses: Vec<Result<u16, String>>,
    /// The largest answer's body, as sent (uncompressed).
    pub largest_answer: u64,
    pub alive_after: bool,
}

pub fn run(binaries: &Binaries, work: &Path) -> Result<Hostile> {
    let double = processes::start_double(&binaries.double, &["--all-live"])?;
    let fresh = Fresh::start(binaries, double.url(), &work.join("hostile-gallery"), &[])?;
    let idle_rss = fresh.easel.rss_bytes()?;
    let edit_path = upscales::upload(&fresh.client, &fresh.app, upscales::photo(SOURCE))?;
    let url = format!("{}{edit_path}", fresh.app);
    let prompt = "<".repeat(FORM_BYTES);

    let answers: Vec<Result<(u16, u64), String>> = thread::scope(|scope| {
        let sent: Vec<_> = (0..FORMS)
            .map(|_| scope.spawn(|| send(&fresh.client, &url, prompt.clone())))
            .collect();
        sent.into_iter()
            .map(|form| {
                form.join()
                    .unwrap_or_else(|_| Err("the sender panicked".to_owned()))
            })
            .collect()
    });
    let peak_rss = fresh
        .easel
        .peak_rss_bytes()
        .context("Easel's memory after the hostile forms")?;
    let alive_after = super::page_text(&fresh.client, &format!("{}/healthz", fresh.app)).is_ok();
    Ok(Hostile {
        idle_rss,
        peak_rss,
        largest_answer: answers
            .iter()
            .filter_map(|answer| answer.as_ref().ok().map(|(_, bytes)| *bytes))
            .max()
            .unwrap_or_default(),
        statuses: answers
            .into_iter()
            .map(|answer| answer.map(|(status, _)| status))
            .collect(),
        alive_after,
    })
}

/// One form, as a browser without JavaScript posts it; its answer's status and body size,
/// counted as it streams in rather than held.
fn send(
    client: &reqwest::blocking::Client,
    url: &str,
    prompt: String,
) -> Result<(u16, u64), String> {
    let form = multipart::Form::new()
        .text("operation", OPERATION)
        .text("prompt", prompt);
    let mut response = client
        .post(url)
        .header(header::ACCEPT_ENCODING, "identity")
        .multipart(form)
        .send()
        .map_err(|error| format!("{error:#}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .copy_to(&mut io::sink())
        .map_err(|error| format!("{error:#}"))?;
    Ok((status, bytes))
}
