use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use super::{
    AppError, AppState,
    extract::{HxRequest, OwnedImage},
    views::GalleryTotal,
};

/// `GET /images/{id}/image.png`: the picture itself, full size.
pub async fn inline(
    State(state): State<AppState>,
    OwnedImage { owner, id }: OwnedImage,
) -> Result<Response, AppError> {
    let png = state.studio.picture(&owner, &id).await?;
    picture("image/png", png)
}

/// `GET /images/{id}/preview.jpg`: the display-sized picture that cards show.
pub async fn preview(
    State(state): State<AppState>,
    OwnedImage { owner, id }: OwnedImage,
) -> Result<Response, AppError> {
    let jpeg = state.studio.preview(&owner, &id).await?;
    picture("image/jpeg", jpeg)
}

/// Private: only this browser may hold it, never a shared cache such as CloudFront's;
/// immutable: an id never changes content.
const KEPT_PRIVATELY: &str = "private, max-age=31536000, immutable";

fn picture(content_type: &'static str, bytes: Option<bytes::Bytes>) -> Result<Response, AppError> {
    let bytes = bytes.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(KEPT_PRIVATELY),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /images/{id}/download`: the picture as a file named from its prompt and seed.
pub async fn download(
    State(state): State<AppState>,
    OwnedImage { owner, id }: OwnedImage,
) -> Result<Response, AppError> {
    let studio = &state.studio;
    let (record, png) =
        futures::try_join!(studio.record(&owner, &id), studio.picture(&owner, &id))?;
    let (Some(record), Some(png)) = (record, png) else {
        return Err(AppError::NotFound);
    };
    let name = file_name(&record.recipe.prompt, record.recipe.seed);
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"easel.png\""));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(KEPT_PRIVATELY),
            ),
        ],
        png,
    )
        .into_response())
}

/// `POST /images/{id}/delete`: removes the picture; htmx removes its card, a plain form goes home.
pub async fn delete(
    State(state): State<AppState>,
    HxRequest(htmx): HxRequest,
    OwnedImage { owner, id }: OwnedImage,
) -> Result<Response, AppError> {
    if !state.studio.delete(&owner, &id).await? {
        return Err(AppError::NotFound);
    }
    if htmx {
        // The card swaps itself out; the count says one fewer.
        let total = state.studio.gallery(&owner, 1, 1).await?.total;
        return Ok(Html(GalleryTotal { total }.to_string()).into_response());
    }
    Ok(Redirect::to("/").into_response())
}

/// `a-red-fox-in-snow-1234.png`: lowercase ASCII words of the prompt, then the seed.
fn file_name(prompt: &str, seed: u64) -> String {
    let words: Vec<String> = prompt
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut stem = String::new();
    for word in words {
        if stem.len() + word.len() > 60 {
            break;
        }
        if !stem.is_empty() {
            stem.push('-');
        }
        stem.push_str(&word);
    }
    if stem.is_empty() {
        stem.push_str("easel");
    }
    format!("{stem}-{seed}.png")
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn the_file_name_comes_from_the_prompt_and_seed() {
        assert_eq!(
            file_name("A red fox, in snow!", 42),
            "a-red-fox-in-snow-42.png"
        );
        assert_eq!(file_name("日本の庭", 7), "easel-7.png");
        assert!(file_name(&"word ".repeat(50), 1).len() < 80);
    }
}
