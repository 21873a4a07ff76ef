//! The owner's pictures: reading, listing, lineage, deleting, and checking an edit of one
//! before it is accepted as a job.

use bytes::Bytes;

use super::{Studio, error::StoreFailed, sentences};
use crate::{
    catalogue::OperationSpec,
    domain::{EditPictures, EditRequest, Field, FieldErrors},
    gallery::{GalleryPage, ImageId, ImageRecord, png_size},
    identity::OwnerId,
    off_thread,
};

/// A picture with where it came from and what was made from it.
pub struct Lineage {
    pub record: ImageRecord,
    /// An edit's source is still in the gallery.
    pub source_kept: bool,
    /// The edits made from it, newest first.
    pub edits: Vec<ImageRecord>,
}

/// A picture to edit: its record and its size in pixels.
pub struct EditSource {
    pub record: ImageRecord,
    pub width: u32,
    pub height: u32,
}

impl Studio {
    /// The owner's picture, full size.
    pub async fn picture(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<Bytes>, StoreFailed> {
        Ok(self.inner.gallery.png(owner, id).await?)
    }

    /// The display-sized picture that cards show.
    pub async fn preview(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<Bytes>, StoreFailed> {
        Ok(self.inner.gallery.preview(owner, id).await?)
    }

    /// The owner's picture's record: how it was made.
    pub async fn record(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<ImageRecord>, StoreFailed> {
        Ok(self.inner.gallery.record(owner, id).await?)
    }

    /// The owner's picture with its source and its edits.
    pub async fn lineage(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<Lineage>, StoreFailed> {
        let gallery = &self.inner.gallery;
        let Some(record) = gallery.record(owner, id).await? else {
            return Ok(None);
        };
        let source_kept = match record.recipe.origin.edit() {
            Some(edit) => gallery.record(owner, &edit.source).await?.is_some(),
            None => false,
        };
        let edits = gallery.edits_of(owner, id).await?;
        Ok(Some(Lineage {
            record,
            source_kept,
            edits,
        }))
    }

    /// The owner's picture as an edit starts from it.
    pub async fn edit_source(
        &self,
        owner: &OwnerId,
        id: &ImageId,
    ) -> Result<Option<EditSource>, StoreFailed> {
        let gallery = &self.inner.gallery;
        let (record, png) = futures::try_join!(gallery.record(owner, id), gallery.png(owner, id))?;
        let (Some(record), Some(png)) = (record, png) else {
            return Ok(None);
        };
        let (width, height) = png_size(&png).unwrap_or_default();
        Ok(Some(EditSource {
            record,
            width,
            height,
        }))
    }

    /// Page `page` (1-based) of the owner's gallery, `per_page` pictures to a page.
    pub async fn gallery(
        &self,
        owner: &OwnerId,
        page: usize,
        per_page: usize,
    ) -> Result<GalleryPage, StoreFailed> {
        Ok(self.inner.gallery.page(owner, page, per_page).await?)
    }

    /// Removes the owner's picture and ends its share links; false if there was none.
    pub async fn delete(&self, owner: &OwnerId, id: &ImageId) -> Result<bool, StoreFailed> {
        let deleted = self.inner.gallery.delete(owner, id).await?;
        if deleted {
            self.end_shares(owner, id).await?;
        }
        Ok(deleted)
    }

    /// The edit of the owner's picture `source` as sent (`fields`, and the mask and style
    /// picture files), every picture checked against the chosen operation's limits, or what is
    /// wrong with it, field by field. `None`: there is no such picture.
    pub async fn prepare_edit(
        &self,
        owner: &OwnerId,
        source: &ImageId,
        fields: &[(String, String)],
        mask: Option<Bytes>,
        style: Option<Bytes>,
    ) -> Result<Option<Result<EditRequest, FieldErrors>>, StoreFailed> {
        let operations = &self.inner.operations;
        let operation = fields
            .iter()
            .find(|(name, _)| name == Field::Operation.name())
            .and_then(|(_, id)| operations.get(id.trim()));
        let Some(spec) = operation.cloned() else {
            let errors = FieldErrors::single(Field::Operation, sentences::CHOOSE_OPERATION);
            return Ok(Some(Err(errors)));
        };
        let Some(png) = self.inner.gallery.png(owner, source).await? else {
            return Ok(None);
        };
        let pictures = decode_edit(spec, png, mask, style)
            .await
            .unwrap_or_else(|| Err(FieldErrors::single(Field::Image, sentences::UNREADABLE)));
        Ok(Some(pictures.and_then(|pictures| {
            EditRequest::parse(fields, pictures, operations)
        })))
    }
}

/// Decodes an edit's pictures away from the request threads; `None` if a decoder gave up in a
/// way it should not have.
pub(super) async fn decode_edit(
    spec: OperationSpec,
    png: Bytes,
    mask: Option<Bytes>,
    style: Option<Bytes>,
) -> Option<Result<EditPictures, FieldErrors>> {
    off_thread::run(move || EditPictures::decode(&spec, &png, mask.as_deref(), style.as_deref()))
        .await
}
