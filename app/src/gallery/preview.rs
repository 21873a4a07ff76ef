//! Display-sized previews: what gallery and result cards load instead of the full PNG.
//!
//! A JPEG at most [`LONG_SIDE`] pixels on its long side: a card is at most about 300 CSS
//! pixels wide, and twelve of them must fit the first page's byte budget (docs/gallery.md).

use std::{
    collections::HashMap,
    io::Cursor,
    pin::pin,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use fast_image_resize::ResizeOptions;
use futures::{
    FutureExt,
    future::{BoxFuture, Either, Shared},
};
use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};
use object_store::path::Path;

use super::GalleryError;
use crate::{
    off_thread,
    storage::{Storage, StorageError},
};

/// A preview being made: its JPEG, or why it could not be made.
type Making = Shared<BoxFuture<'static, Result<Bytes, String>>>;

#[derive(Clone)]
struct UnderWay {
    made: Making,
    /// The picture, while its preview is made in the background: to make it again at once for
    /// someone who waits.
    in_background: Option<Bytes>,
}

impl UnderWay {
    /// Its JPEG, for someone who waits for it. One being made in the background is made at
    /// once as well, since on a busy machine the lowest priority may hold it up for tens of
    /// milliseconds; the first to finish answers, and the other only uses a core nobody wants.
    async fn wanted(self) -> Result<Bytes, String> {
        let Some(png) = self.in_background.filter(|_| self.made.peek().is_none()) else {
            return self.made.await;
        };
        let now = make_off_thread(png, Asked::Now).map(|made| made.map_err(|e| e.to_string()));
        match futures::future::select(self.made, pin!(now)).await {
            Either::Left((made, _)) | Either::Right((made, _)) => made,
        }
    }
}

/// Previews are made after their picture is stored, in the background, so a job never waits
/// for one; a card that asks for a preview still being made gets the first of that one and
/// one made for it at normal priority ([`UnderWay::wanted`]).
#[derive(Clone)]
pub(super) struct Previews {
    storage: Storage,
    making: Arc<Mutex<HashMap<Path, UnderWay>>>,
}

impl std::fmt::Debug for Previews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Previews").finish_non_exhaustive()
    }
}

impl Previews {
    pub(super) fn new(storage: &Storage) -> Self {
        Self {
            storage: storage.clone(),
            making: Arc::default(),
        }
    }

    /// Starts making the preview of `png`, to be stored at `key`.
    /// Nobody is waiting for it yet, so it leaves the CPU to those who wait for something.
    pub(super) fn start(&self, key: Path, png: Bytes) {
        let _spawned = self.under_way(key, png, Asked::Ahead);
    }

    /// Makes the preview of `png`, which a card is waiting for, and stores it at `key`.
    pub(super) async fn make(&self, key: Path, png: Bytes) -> Result<Bytes, String> {
        self.under_way(key, png, Asked::Now).await
    }

    /// The making of the preview at `key`: started now, unless it is already under way.
    fn under_way(&self, key: Path, png: Bytes, asked: Asked) -> Making {
        let mut making = self.making.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(under_way) = making.get(&key) {
            return under_way.made.clone();
        }
        let (storage, all, stored_at) = (self.storage.clone(), self.making.clone(), key.clone());
        let in_background = matches!(asked, Asked::Ahead).then(|| png.clone());
        let made = async move {
            let made = match make_off_thread(png, asked).await {
                Ok(jpeg) => storage
                    .put(&stored_at, jpeg.clone())
                    .await
                    .map(|()| jpeg)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            all.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&stored_at);
            made
        }
        .boxed()
        .shared();
        let under_way = UnderWay {
            made: made.clone(),
            in_background,
        };
        making.insert(key, under_way);
        // Made even when nobody waits for it.
        tokio::spawn(made.clone());
        made
    }

    /// Resolves once the preview at `key` is stored, or its making failed, if it is being made.
    pub(super) async fn settled(&self, key: &Path) {
        let under_way = self
            .making
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .map(|under_way| under_way.made.clone());
        if let Some(made) = under_way {
            let _ = made.await;
        }
    }

    /// The preview at `key`: the one being made, else the stored one.
    pub(super) async fn get(&self, key: &Path) -> Result<Option<Bytes>, StorageError> {
        let under_way = self
            .making
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        if let Some(Ok(jpeg)) = match under_way {
            Some(under_way) => Some(under_way.wanted().await),
            None => None,
        } {
            return Ok(Some(jpeg));
        }
        // A crash of the machine can leave a preview empty or cut short: that one is made again.
        Ok(self
            .storage
            .get(key)
            .await?
            .filter(|b| b.starts_with(JPEG) && b.ends_with(JPEG_END)))
    }
}

const JPEG: &[u8] = &[0xff, 0xd8];
/// The marker a whole JPEG ends with.
const JPEG_END: &[u8] = &[0xff, 0xd9];

/// Whether a preview is made before anyone asks for it, or because someone has.
#[derive(Clone, Copy)]
enum Asked {
    Ahead,
    Now,
}

async fn make_off_thread(png: Bytes, asked: Asked) -> Result<Bytes, GalleryError> {
    let work = move || make(&png);
    let made = match asked {
        Asked::Ahead => off_thread::run_in_background(work).await,
        Asked::Now => off_thread::run(work).await,
    };
    made.ok_or_else(|| GalleryError::Preview("making it stopped half-way".to_owned()))?
        .map(Bytes::from)
}

pub(super) const LONG_SIDE: u32 = 320;
const QUALITY: u8 = 75;

/// The preview of a stored PNG. CPU work: call it off the async threads.
fn make(png: &[u8]) -> Result<Vec<u8>, GalleryError> {
    let picture = ImageReader::with_format(Cursor::new(png), ImageFormat::Png)
        .decode()
        .map_err(|_| GalleryError::NotPng)?;
    let small = fitted(picture)?;
    let flat = on_checkerboard(&small);
    // Both sides are at most `LONG_SIDE`.
    let (width, height) = (flat.width() as u16, flat.height() as u16);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, QUALITY)
        .encode(flat.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| GalleryError::Preview(e.to_string()))?;
    Ok(jpeg)
}

/// The picture scaled down to fit [`LONG_SIDE`], keeping its shape; a smaller one as it is.
/// A SIMD resize (and a SIMD JPEG encoder in [`make`]): `DynamicImage::thumbnail` and
/// `image`'s JPEG encoder took most of a job's CPU time.
fn fitted(picture: DynamicImage) -> Result<DynamicImage, GalleryError> {
    let long = picture.width().max(picture.height());
    if long <= LONG_SIDE {
        return Ok(picture);
    }
    let scaled = |side: u32| (u64::from(side) * u64::from(LONG_SIDE) / u64::from(long)).max(1);
    let (width, height) = (scaled(picture.width()), scaled(picture.height()));
    let mut small = DynamicImage::new(width as u32, height as u32, picture.color());
    fast_image_resize::Resizer::new()
        .resize(&picture, &mut small, &ResizeOptions::new())
        .map_err(|e| GalleryError::Preview(e.to_string()))?;
    Ok(small)
}

/// The side of a checkerboard square, in preview pixels: the page's CSS checkerboard behind a
/// full-size picture has the same squares.
const SQUARE: u32 = 8;

/// JPEG has no transparency: what is transparent (a removed background) shows on the same
/// checkerboard the permalink and edit page put behind a see-through picture.
fn on_checkerboard(picture: &DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let behind: u16 = if (x / SQUARE + y / SQUARE).is_multiple_of(2) {
            0xcc
        } else {
            0xff
        };
        let over =
            |c: u8| ((u16::from(c) * u16::from(a) + behind * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::test_png;

    #[test]
    fn a_preview_is_a_small_jpeg_of_the_same_shape() {
        let png = test_png(1024, 512);
        let preview = make(&png).unwrap();
        let decoded = image::load_from_memory(&preview).unwrap();
        assert_eq!(image::guess_format(&preview).unwrap(), ImageFormat::Jpeg);
        assert_eq!(
            (decoded.width(), decoded.height()),
            (LONG_SIDE, LONG_SIDE / 2)
        );
        assert!(preview.len() < 40_000, "{} bytes", preview.len());
    }

    #[test]
    fn transparency_shows_on_a_checkerboard_at_any_size() {
        // A small picture keeps its size; a large one is scaled down first.
        for ((width, height), shown) in [((40, 30), (40, 30)), ((1024, 768), (320, 240))] {
            let transparent = DynamicImage::new_rgba8(width, height);
            let mut png = Vec::new();
            transparent
                .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
                .unwrap();
            let preview = image::load_from_memory(&make(&png).unwrap())
                .unwrap()
                .to_luma8();
            assert_eq!((preview.width(), preview.height()), shown);
            // The middle of a grey square, and of the white one beside it (JPEG blurs the edges).
            let grey = preview.get_pixel(SQUARE / 2, SQUARE / 2).0[0];
            let white = preview.get_pixel(SQUARE + SQUARE / 2, SQUARE / 2).0[0];
            assert!(
                (195..=213).contains(&grey),
                "{width}x{height}, grey square: {grey}"
            );
            assert!(white > 245, "{width}x{height}, white square: {white}");
        }
    }

    #[test]
    fn what_is_not_a_png_has_no_preview() {
        assert!(matches!(make(b"<html>"), Err(GalleryError::NotPng)));
    }
}
