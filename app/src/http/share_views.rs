//! What the share links look like: the owner's list on a picture's page, and the page a
//! stranger opens.

use askama::Template;
use time::OffsetDateTime;

use crate::studio::{Share, Shared};

/// The owner's links to one picture, and the one just made, shown this once.
#[derive(Default)]
pub struct SharingView {
    pub new_link: Option<String>,
    pub links: Vec<ShareRow>,
}

pub struct ShareRow {
    pub id: String,
    pub hint: String,
    pub show_recipe: bool,
    pub made_at: String,
    /// `None`: it never expires.
    pub expires_at: Option<String>,
}

impl From<&Share> for ShareRow {
    fn from(share: &Share) -> Self {
        Self {
            id: share.id.as_str().to_owned(),
            hint: share.hint.clone(),
            show_recipe: share.show_recipe,
            made_at: shown(share.made_at),
            expires_at: share.expires_at.map(shown),
        }
    }
}

fn shown(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `/s/{link}`: the picture, its recipe when its owner allowed it, and the tags that let chat
/// apps unfurl the link. Nothing else of the owner's.
#[derive(Template)]
#[template(path = "shared.html")]
pub struct SharedPage {
    pub title: String,
    /// `/s/{link}`, for the page's own links.
    pub path: String,
    /// The same at the public origin, for the apps that unfurl it.
    pub url: String,
    pub shared: Shared,
}
