//! Big pictures, bounded memory: Easel's peak RSS while four Conservative Upscales run at once,
//! each answered with a true 4K picture (3840x2160), on a fresh process of its own so that the
//! high-water mark is theirs alone.

use std::{
    io::Cursor,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use image::{ImageFormat, Rgb, RgbImage};
use reqwest::{
    blocking::{Client, Response, multipart},
    header,
};

use super::Fresh;
use crate::processes::{self, Binaries};

pub const AT_ONCE: usize = 4;
/// A 16:9 photo under one megapixel, which 3x on each side makes 4K UHD.
const SOURCE: (u32, u32) = (1280, 720);
const UHD: (u32, u32) = (3840, 2160);
/// An operation that takes a prompt and any picture up to 9.4 megapixels.
pub const OPERATION: &str = "upscale-conservative";

pub struct Upscales {
    pub peak_rss: u64,
    pub idle_rss: u64,
    pub source_bytes: usize,
    /// The size of each answer as stored, and its pixel size.
    pub picture_bytes: u64,
    pub size: (u32, u32),
    /// From the first edit sent to the last job done.
    pub took: Duration,
}

pub fn run(binaries: &Binaries, work: &Path) -> Result<Upscales> {
    let uhd_pixels = (u64::from(UHD.0) * u64::from(UHD.1)).to_string();
    let double = processes::start_double(
        &binaries.double,
        &["--all-live", "--upscale-to-pixels", &uhd_pixels],
    )?;
    // Four at once, as the design's target says, not the default's two.
    let settings = [("EASEL_LARGE_PICTURE_JOBS", AT_ONCE.to_string())];
    let Fresh {
        easel, app, client, ..
    } = Fresh::start(
        binaries,
        double.url(),
        &work.join("upscales-gallery"),
        &settings,
    )?;
    let idle_rss = easel.rss_bytes()?;

    let source = photo(SOURCE);
    let source_bytes = source.len();
    let edit_path = upload(&client, &app, source)?;

    let started = Instant::now();
    let mut jobs = Vec::with_capacity(AT_ONCE);
    for _ in 0..AT_ONCE {
        let form = multipart::Form::new()
            .text("operation", OPERATION)
            .text("prompt", "a harbour at dusk, sharp detail");
        let card = client
            .post(format!("{app}{edit_path}"))
            .header("HX-Request", "true")
            // Read as text: the client is told to keep bodies compressed.
            .header(header::ACCEPT_ENCODING, "identity")
            .multipart(form)
            .send()
            .and_then(Response::error_for_status)
            .and_then(Response::text)
            .with_context(|| format!("POST {edit_path}"))?;
        jobs.push(job_id(&card)?);
    }
    let mut pictures = Vec::with_capacity(AT_ONCE);
    for job in &jobs {
        pictures.push(picture_of(&client, &app, job)?);
    }
    let took = started.elapsed();
    let peak_rss = easel.peak_rss_bytes()?;
    let (picture_bytes, size) = measure_picture(&client, &app, &pictures[0])?;
    ensure!(
        size == UHD,
        "the upscale came back {}x{}, not 4K",
        size.0,
        size.1
    );
    Ok(Upscales {
        peak_rss,
        idle_rss,
        source_bytes,
        picture_bytes,
        size,
        took,
    })
}

/// Uploads `png` as a picture of the browser's own; the path of its edit page.
pub fn upload(client: &Client, app: &str, png: Vec<u8>) -> Result<String> {
    let form = multipart::Form::new().part(
        "picture",
        multipart::Part::bytes(png).file_name("photo.png"),
    );
    let edit_page = client
        .post(format!("{app}/uploads"))
        .multipart(form)
        .send()
        .and_then(Response::error_for_status)
        .context("POST /uploads")?;
    Ok(edit_page.url().path().to_owned())
}

/// Noise, as a photo is to a compressor: its PNG is about as large as its pixels.
pub fn photo((width, height): (u32, u32)) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let picture = RgbImage::from_fn(width, height, |_, _| {
        // xorshift32: cheap, and deterministic from run to run.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        Rgb([r, g, b])
    });
    let mut png = Cursor::new(Vec::new());
    picture
        .write_to(&mut png, ImageFormat::Png)
        .expect("a PNG encodes into memory");
    png.into_inner()
}

/// The job id of a job card (`<article class="job" id="job-ID">`).
fn job_id(card: &str) -> Result<String> {
    let start = card
        .find("id=\"job-")
        .map(|at| at + "id=\"job-".len())
        .with_context(|| format!("no job card in the answer: {card:.300}"))?;
    let end = card[start..].find('"').context("an unclosed job id")?;
    Ok(card[start..start + end].to_owned())
}

/// The stored PNG of a done job's picture.
fn picture_of(client: &Client, app: &str, job: &str) -> Result<String> {
    let card = super::done_job_card(client, app, job)?;
    let start = card
        .find("/images/")
        .map(|at| at + "/images/".len())
        .context("a done upscale without its picture")?;
    let id = card[start..].split(['/', '"']).next().unwrap_or_default();
    Ok(format!("/images/{id}/image.png"))
}

/// The stored PNG's bytes and pixel size.
fn measure_picture(client: &Client, app: &str, path: &str) -> Result<(u64, (u32, u32))> {
    let png = client
        .get(format!("{app}{path}"))
        .send()
        .and_then(Response::error_for_status)
        .and_then(Response::bytes)
        .with_context(|| format!("GET {path}"))?;
    let size = image::ImageReader::with_format(Cursor::new(&png), ImageFormat::Png)
        .into_dimensions()
        .with_context(|| format!("{path} is not a PNG"))?;
    Ok((png.len() as u64, size))
}
